# tests/helpers/bang.awk - the `!`-negated commands that cannot fail.
#
#   awk -f tests/helpers/bang.awk tests/*.bats tests/helpers/*.bash
#
# Bash's errexit ignores the status of a command negated with `!`, so in
# a bats test (bats 1.8) `! cmd` fails the test only when it is the last
# command of the test, whose status is the test's: anywhere else it checks
# nothing. The same holds in a helper function, whose status is its last
# command's. This prints FILE:LINE: TEXT for every `!` command in a @test
# or a function that is not its last command at its top level (inside a
# loop or an if it is never last), and exits 1 if there was one.
# `! cmd || ...` is fine: what follows `||` fails when cmd succeeds. Write
# `run ! cmd` (or `run -1 cmd`, for grep) instead, or compare explicitly.
# tests/run-tests runs this as a test of its own.
function report(n, text) { printf "%s:%d: %s\n", FILENAME, n, text; bad++ }
FNR == 1 { inblk = 0; pend = 0; cont = 0 }
/^@test |^[A-Za-z_][A-Za-z0-9_]*\(\)[ \t]*\{|^function / { inblk = 1; pend = 0; cont = 0; next }
inblk && /^\}/ { inblk = 0; pend = 0; next }
!inblk || /^[ \t]*(#|$)/ { next }
{
	if (cont) { cont = ($0 ~ /(\\|\||&&)[ \t]*$/); next }
	if (pend) { report(pendline, pendtext); pend = 0 }
	if ($0 ~ /(^[ \t]*|;[ \t]*|&&[ \t]*|[ \t](then|do|else)[ \t]+)![ \t]/ && $0 !~ /\|\|/) {
		if ($0 ~ /^\t![ \t]/) { pend = 1; pendline = FNR; pendtext = $0 }
		else report(FNR, $0)
	}
	cont = ($0 ~ /(\\|\||&&)[ \t]*$/)
}
END { exit bad > 0 }
