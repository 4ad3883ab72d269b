// s4dial.go - a Go program for the syscall mode's tests: the Go runtime
// makes its socket calls as raw system calls, which no preload can see.
//
//	s4dial dial HOST:PORT N   N goroutines each net.Dial an echo server,
//	                          send a line and read it back; prints
//	                          "dial: K of N echoed" and the first
//	                          connection's "local:"/"remote:" addresses
//	s4dial listen HOST:PORT N N goroutines each take the active-FTP path
//	                          with tests/helpers/callback.py at HOST:PORT:
//	                          dial it, net.Listen("tcp", ":0") (a
//	                          dual-stack [::] socket), send "CALL IP
//	                          PORT" for the listener's address, Accept,
//	                          read the greeting, answer "pong", and read
//	                          "GOT pong" on the first connection; prints
//	                          "listen: K of N called back" and the first
//	                          listener's "advertised:" address
package main

import (
	"bufio"
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

func callback(addr string, first bool) error {
	ctl, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer ctl.Close()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return err
	}
	defer ln.Close()
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return err
	}
	if first {
		fmt.Println("advertised:", ln.Addr())
	}
	if _, err := fmt.Fprintf(ctl, "CALL %s %s\n", host, port); err != nil {
		return err
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	data, err := ln.Accept()
	if err != nil {
		return err
	}
	defer data.Close()
	hello, err := bufio.NewReader(data).ReadString('\n')
	if err != nil || hello != "hello from the application server\n" {
		return fmt.Errorf("greeting %q: %v", hello, err)
	}
	if _, err := data.Write([]byte("pong\n")); err != nil {
		return err
	}
	got, err := bufio.NewReader(ctl).ReadString('\n')
	if err != nil || got != "GOT pong\n" {
		return fmt.Errorf("control %q: %v", got, err)
	}
	return nil
}

func listen(addr string, n int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	good := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := callback(addr, i == 0); err != nil {
				fmt.Println("listen error:", err)
				return
			}
			mu.Lock()
			good++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	fmt.Printf("listen: %d of %d called back\n", good, n)
	if good != n {
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "listen" {
		n, err := strconv.Atoi(os.Args[3])
		if err == nil {
			os.Exit(listen(os.Args[2], n))
		}
	}
	if len(os.Args) == 4 && os.Args[1] == "dial" {
		n, err := strconv.Atoi(os.Args[3])
		if err == nil {
			os.Exit(dial(os.Args[2], n))
		}
	}
	fmt.Fprintln(os.Stderr, "usage: s4dial dial|listen HOST:PORT N")
	os.Exit(2)
}
