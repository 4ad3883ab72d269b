// s4dial.go - a Go program for the syscall mode's tests: the Go runtime
// makes its socket calls as raw system calls, which no preload can see.
//
//	s4dial dial HOST:PORT N   N goroutines each net.Dial an echo server,
//	                          send a line and read it back; prints
//	                          "dial: K of N echoed" and the first
//	                          connection's "local:"/"remote:" addresses
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

func dial(addr string, n int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	good := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				fmt.Println("dial error:", err)
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("goroutine %d\n", i)
			buf := make([]byte, len(msg))
			if _, err := c.Write([]byte(msg)); err != nil {
				fmt.Println("write error:", err)
				return
			}
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
				fmt.Println("read error:", err)
				return
			}
			mu.Lock()
			good++
			if i == 0 {
				fmt.Println("local:", c.LocalAddr())
				fmt.Println("remote:", c.RemoteAddr())
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	fmt.Printf("dial: %d of %d echoed\n", good, n)
	if good != n {
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "dial" {
		n, err := strconv.Atoi(os.Args[3])
		if err == nil {
			os.Exit(dial(os.Args[2], n))
		}
	}
	fmt.Fprintln(os.Stderr, "usage: s4dial dial HOST:PORT N")
	os.Exit(2)
}
