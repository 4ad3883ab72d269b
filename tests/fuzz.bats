#!/usr/bin/env bats
# fuzz.bats - a short smoke run of each libFuzzer harness (make fuzz runs
# them for as long as you like: make fuzz FUZZ_SECONDS=600).
#
# The harnesses need clang and its libFuzzer runtime, which Debian ships
# apart from clang (libclang-rt-dev, for the default clang): whether
# clang can link -fsanitize=fuzzer is asked of clang itself, so no
# version or path is named here.

load helpers/common

FUZZ_CC=${FUZZ_CC:-clang}

# fuzzer_ok: clang links a libFuzzer program.
fuzzer_ok() {
	command -v "$FUZZ_CC" >/dev/null 2>&1 || return 1
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }\n' |
		"$FUZZ_CC" -fsanitize=fuzzer -x c -o /dev/null - >/dev/null 2>&1
}

setup_file() {
	fuzzer_ok || return 0
	make -C "$S4_ROOT" -s fuzz-build FUZZ_CC="$FUZZ_CC" >/dev/null
}

smoke() {
	require_cmd "$FUZZ_CC" clang
	if ! fuzzer_ok; then
		[ -z "${CI:-}" ] ||
			s4_fail "$FUZZ_CC cannot link -fsanitize=fuzzer (libclang-rt-dev) and CI must" || return 1
		skip "$FUZZ_CC has no libFuzzer runtime (apt-get install libclang-rt-dev)"
	fi
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

@test "the program reader (elfinfo) survives 5 s of libFuzzer on files of any bytes" {
	smoke fuzz_elfinfo
}

@test "the host-name validator and the fake-address table survive 5 s of libFuzzer" {
	smoke fuzz_names
}

@test "the name converter for AI_IDN (Punycode) survives 5 s of libFuzzer" {
	smoke fuzz_idn
}
