/* test_idn.c - Punycode (RFC 3492's own samples) and names to "xn--" form. */
#include "idn.h"
#include "check.h"

#include <errno.h>
#include <string.h>

static const char *puny(const uint32_t *cp, size_t n)
{
	static char out[256];

	if (idn_punycode_encode(cp, n, out, sizeof(out)) < 0)
		return "(error)";
	return out;
}

#define PUNY(arr) puny(arr, sizeof(arr) / sizeof(arr[0]))

/* RFC 3492 section 7.1, samples A, B, L and S. */
TEST(rfc3492_samples)
{
	static const uint32_t arabic[] = {0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628,
					  0x062A, 0x0643, 0x0644, 0x0645, 0x0648, 0x0634,
					  0x0639, 0x0631, 0x0628, 0x064A, 0x061F};
	static const uint32_t chinese[] = {0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48,
					   0x4E0D, 0x8BF4, 0x4E2D, 0x6587};
	static const uint32_t kinpachi[] = {'3', 0x5E74, 'B', 0x7D44, 0x91D1,
					    0x516B, 0x5148, 0x751F};
	static const uint32_t dollar[] = {'-', '>', ' ', '$', '1', '.', '0', '0', ' ', '<', '-'};

	CHECK_EQ_STR(PUNY(arabic), "egbpdaj6bu4bxfgehfvwxn");
	CHECK_EQ_STR(PUNY(chinese), "ihqwcrb4cv8a8dqg056pqjye");
	CHECK_EQ_STR(PUNY(kinpachi), "3B-ww4c5e180e575a65lsy2b");
	CHECK_EQ_STR(PUNY(dollar), "-> $1.00 <--");
}

TEST(punycode_limits)
{
	static const uint32_t bucher[] = {'b', 0xFC, 'c', 'h', 'e', 'r'};
	static const uint32_t past[] = {'a', 0x110000};
	char out[10];

	CHECK_EQ_STR(PUNY(bucher), "bcher-kva");
	/* "bcher-kva" and its NUL: 10 bytes, not 9 */
	CHECK_EQ_INT(idn_punycode_encode(bucher, 6, out, 9), -ENAMETOOLONG);
	CHECK_EQ_INT(idn_punycode_encode(bucher, 6, out, sizeof(out)), 9);
	CHECK_EQ_INT(idn_punycode_encode(past, 2, out, sizeof(out)), -EINVAL);
}

static const char *ascii(const char *name)
{
	static char out[300];
	int r = idn_to_ascii(name, strlen(name), out, sizeof(out));

	if (r < 0)
		snprintf(out, sizeof(out), "error %d", -r);
	return out;
}

TEST(names_to_ascii)
{
	CHECK_EQ_STR(ascii("b\xc3\xbc" "cher.example"), "xn--bcher-kva.example");
	/* uppercase in a label that is converted: lowercased, Latin-1 too */
	CHECK_EQ_STR(ascii("B\xc3\x9c" "CHER.Example"), "xn--bcher-kva.Example");
	CHECK_EQ_STR(ascii("www.m\xc3\xbcnchen.example."), "www.xn--mnchen-3ya.example.");
	/* the ideographic full stop separates labels */
	CHECK_EQ_STR(ascii("\xe4\xbb\x96\xe4\xbb\xac\xe3\x80\x82" "example"),
		     "xn--8mqxb.example");
	/* outside the BMP */
	CHECK_EQ_STR(ascii("\xf0\x9f\x98\x80.example"), "xn--e28h.example");
	CHECK_EQ_STR(ascii("plain.example"), "plain.example");
}

TEST(bad_names)
{
	char lab[80];

	CHECK_EQ_STR(ascii("b\xfc" "cher.example"), "error 84");     /* Latin-1, not UTF-8 */
	CHECK_EQ_STR(ascii("b\xc0\xbc" "cher.example"), "error 84"); /* overlong */
	CHECK_EQ_STR(ascii("\xed\xa0\x80.example"), "error 84");     /* a surrogate */
	CHECK_EQ_STR(ascii("b\xc3"), "error 84");                    /* cut short */
	CHECK_EQ_STR(ascii("b\xc3\xbc..example"), "error 22");       /* an empty label */
	/* a label whose "xn--" form passes 63 bytes */
	memset(lab, 'a', 60);
	memcpy(lab + 60, "\xc3\xbc", 3);
	CHECK_EQ_STR(ascii(lab), "error 22");
	{
		char out[8];
		CHECK_EQ_INT(idn_to_ascii("b\xc3\xbc" "cher", 7, out, sizeof(out)), -ENAMETOOLONG);
	}
}

int main(void)
{
	RUN(rfc3492_samples);
	RUN(punycode_limits);
	RUN(names_to_ascii);
	RUN(bad_names);
	return check_done();
}
