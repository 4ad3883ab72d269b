/*
 * check.h - the unit tests' whole framework: TAP lines, no counted plans.
 *
 *	TEST(name) { CHECK(expr); CHECK_EQ_INT(a, b); }
 *	int main(void) { RUN(name); ...; return check_done(); }
 *
 * Each RUN prints "ok N - name" or "not ok N - name" with the failed
 * checks as "# ..." lines before it; check_done() prints the plan last.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int check_count, check_failed_tests, check_cur_failed;

#define TEST(name) static void name(void)

#define CHECK(expr)                                                          \
	do {                                                                 \
		if (!(expr)) {                                               \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__,      \
			       __LINE__, #expr);                             \
			check_cur_failed = 1;                                \
		}                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                   \
	do {                                                                 \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ != check_b_) {                                  \
			printf("# %s:%d: %s == %s failed: %lld != %lld\n",   \
			       __FILE__, __LINE__, #a, #b, check_a_, check_b_); \
			check_cur_failed = 1;                                \
		}                                                            \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                   \
	do {                                                                 \
		const char *check_a_ = (a), *check_b_ = (b);                 \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_)) {  \
			printf("# %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
			       __FILE__, __LINE__, #a, #b,                   \
			       check_a_ ? check_a_ : "(null)",               \
			       check_b_ ? check_b_ : "(null)");              \
			check_cur_failed = 1;                                \
		}                                                            \
	} while (0)

#define RUN(name)                                                            \
	do {                                                                 \
		check_cur_failed = 0;                                        \
		name();                                                      \
		check_count++;                                               \
		check_failed_tests += check_cur_failed;                      \
		printf("%sok %d - %s\n", check_cur_failed ? "not " : "",     \
		       check_count, #name);                                  \
		fflush(stdout);                                              \
	} while (0)

static inline int check_done(void)
{
	printf("1..%d\n", check_count);
	return check_failed_tests ? 1 : 0;
}

#endif
