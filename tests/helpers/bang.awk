# tests/helpers/bang.awk - the checks in bats files that cannot fail.
#
#   awk -f tests/helpers/bang.awk tests/*.bats tests/helpers/*.bash
#
# Bash's errexit ignores the status of a command negated with `!`, so in
# a bats test (bats 1.8) `! cmd` fails the test only when it is the last
# command of the test, whose status is the test's: anywhere else it checks
# nothing. The same holds in a helper function, whose status is its last
# command's. Errexit also ignores every command of an `a && b` list but
# the last, so `[ x ] && [ y ]` in a test never fails on x.
#
# This prints FILE:LINE: TEXT for every such line and exits 1 if there
# was one:
# - a `!` command in a @test or a function that is not its last command
#   at its top level (inside a loop or an if it is never the last);
# - an `a && b` list in a @test that is not its last command (the words
#   in quotes and in $(...) aside; `&& break`, `&& continue`, `&& return`
#   and lists in if/while/until/for or [[ ]] are what they mean).
# `! cmd || ...` and `a && b || ...` are fine: what follows `||` fails.
# Write `run ! cmd` (or `run -1 cmd`, for grep), one check a line, or an
# explicit comparison instead. tests/run-tests runs this as a test.

function report(n, text) { printf "%s:%d: %s\n", FILENAME, n, text; bad++ }
# the line without quoted words and $(...)
function bare(l) {
	gsub(/'[^']*'/, "", l)
	gsub(/"[^"]*"/, "", l)
	while (match(l, /\$\([^()]*\)/))
		l = substr(l, 1, RSTART - 1) substr(l, RSTART + RLENGTH)
	return l
}
# the line ends in the middle of a command
function continues(l) { return l ~ /(\\|\||&&)[ \t]*$/ }

FNR == 1 { inblk = 0 }
/^@test |^[A-Za-z_][A-Za-z0-9_]*\(\)[ \t]*\{|^function / {
	inblk = 1; intest = /^@test /; pend = 0; cont = 0
	next
}
inblk && /^\}/ { inblk = 0; next }
!inblk || /^[ \t]*(#|$)/ { next }
{
	if (cont) {
		cont = continues($0)
		next
	}
	if (pend) {
		report(pendline, pendtext)
		pend = 0
	}
	l = bare($0)
	if (l !~ /\|\|/) {
		if (l ~ /(^[ \t]*|;[ \t]*|&&[ \t]*|[ \t](then|do|else)[ \t]+)![ \t]/) {
			if ($0 ~ /^\t![ \t]/) {
				pend = 1; pendline = FNR; pendtext = $0
			} else {
				report(FNR, $0)
			}
		} else if (intest && l ~ /&&/ && l !~ /&&[ \t]*(break|continue|return)/ &&
			   l !~ /^[ \t]*(if|elif|while|until|for|\[\[)[ \t]/) {
			pend = 1; pendline = FNR; pendtext = $0
		}
	}
	cont = continues($0)
}
END { exit bad > 0 }
