#!/usr/bin/env bats
# fuzz.bats - a short smoke run of each libFuzzer harness (make fuzz runs
# them for as long as you like: make fuzz FUZZ_SECONDS=600).

load helpers/common

setup_file() {
	command -v clang >/dev/null 2>&1 || return 0
	make -C "$S4_ROOT" -s fuzz-build >/dev/null
}

smoke() {
	require_cmd clang clang
	[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] ||
		[ -x "$S4_BUILD/fuzz/$1" ] || require_cmd libfuzzer-is-missing libclang-rt-14-dev
	run env FUZZ_DIR="$BATS_FILE_TMPDIR" sh "$S4_ROOT/tests/fuzz/run" 5 "$S4_BUILD/fuzz/$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$1: "*" inputs in 5 s, no finding"* ]]
}

@test "the reply parser survives 5 s of libFuzzer" {
	smoke fuzz_reply
}

@test "the server's request parser survives 5 s of libFuzzer" {
	smoke fuzz_request
}

@test "the socks4rc parser survives 5 s of libFuzzer" {
	smoke fuzz_config
}
