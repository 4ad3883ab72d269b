/*
 * idn.c - names with bytes outside ASCII to "xn--" labels (see idn.h):
 * a UTF-8 decoder, Punycode's encoder (RFC 3492), and the label loop.
 */
#include "idn.h"

#include <errno.h>
#include <string.h>

/* RFC 3492 section 5: the parameters for IDNA. */
enum {
	PUNY_BASE = 36,
	PUNY_TMIN = 1,
	PUNY_TMAX = 26,
	PUNY_SKEW = 38,
	PUNY_DAMP = 700,
	PUNY_INITIAL_BIAS = 72,
	PUNY_INITIAL_N = 0x80,
};

#define IDN_LABEL_MAX 63 /* RFC 1035 2.3.4 */
#define IDN_ACE "xn--"
#define CP_MAX 0x10ffffu

int idn_has_nonascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* Section 6.1. */
static uint32_t adapt(uint32_t delta, uint32_t points, int first)
{
	uint32_t k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

/* 0..25 as a..z, 26..35 as 0..9 (section 5). */
static char digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

int idn_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap)
{
	uint32_t cur = PUNY_INITIAL_N, delta = 0, bias = PUNY_INITIAL_BIAS, h, b;
	size_t o = 0;

#define PUT(ch)                               \
	do {                                  \
		if (o + 1 >= cap)             \
			return -ENAMETOOLONG; \
		out[o++] = (ch);              \
	} while (0)
	if (!cap)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		if (cp[i] > CP_MAX)
			return -EINVAL;
		if (cp[i] < 0x80)
			PUT((char)cp[i]);
	}
	h = b = (uint32_t)o;
	if (b > 0)
		PUT('-');
	while (h < n) {
		uint32_t m = UINT32_MAX;

		for (size_t i = 0; i < n; i++)
			if (cp[i] >= cur && cp[i] < m)
				m = cp[i];
		if (m - cur > (UINT32_MAX - delta) / (h + 1))
			return -EOVERFLOW;
		delta += (m - cur) * (h + 1);
		cur = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < cur && ++delta == 0)
				return -EOVERFLOW;
			if (cp[i] != cur)
				continue;
			uint32_t q = delta;
			for (uint32_t k = PUNY_BASE;; k += PUNY_BASE) {
				uint32_t t = k <= bias ? PUNY_TMIN
					     : k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
				if (q < t)
					break;
				PUT(digit(t + (q - t) % (PUNY_BASE - t)));
				q = (q - t) / (PUNY_BASE - t);
			}
			PUT(digit(q));
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		cur++;
	}
#undef PUT
	out[o] = '\0';
	return (int)o;
}

/* One code point from s (len bytes left): its length, or -EILSEQ for an
 * ill-formed sequence (overlong, a surrogate, past U+10FFFF, a NUL). */
static int utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	int n;
	uint32_t c = s[0];

	if (c == 0)
		return -EILSEQ;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, c &= 0x07;
	else
		return -EILSEQ;
	if ((size_t)n > len)
		return -EILSEQ;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -EILSEQ;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[n] || c > CP_MAX || (c >= 0xd800 && c <= 0xdfff))
		return -EILSEQ;
	*cp = c;
	return n;
}

/* The lowercase of c, as far as no table is needed: ASCII and Latin-1. */
static uint32_t lower(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7))
		return c + 0x20;
	return c;
}

static int is_dot(uint32_t c)
{
	return c == '.' || c == 0x3002 || c == 0xff0e || c == 0xff61;
}

/* One label of n code points to out + *o: copied when all ASCII, else
 * "xn--" and Punycode of its lowercase. */
static int put_label(uint32_t *cp, size_t n, const char *src, size_t srclen, char *out,
		     size_t cap, size_t *o)
{
	int ascii = !idn_has_nonascii(src, srclen), r;
	size_t len;

	if (ascii) {
		if (srclen > IDN_LABEL_MAX)
			return -EINVAL;
		if (*o + srclen >= cap)
			return -ENAMETOOLONG;
		memcpy(out + *o, src, srclen);
		*o += srclen;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		cp[i] = lower(cp[i]);
	if (*o + sizeof(IDN_ACE) - 1 >= cap)
		return -ENAMETOOLONG;
	memcpy(out + *o, IDN_ACE, sizeof(IDN_ACE) - 1);
	*o += sizeof(IDN_ACE) - 1;
	if ((r = idn_punycode_encode(cp, n, out + *o, cap - *o)) < 0)
		return r;
	len = (size_t)r + sizeof(IDN_ACE) - 1;
	if (len > IDN_LABEL_MAX)
		return -EINVAL;
	*o += (size_t)r;
	return 0;
}

int idn_to_ascii(const char *name, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)name;
	uint32_t cp[IDN_LABEL_MAX + 1];
	size_t i = 0, o = 0, n = 0, start = 0;
	int r;

	if (!cap)
		return -ENAMETOOLONG;
	while (i <= len) {
		uint32_t c = '.';
		int step = 1;

		if (i < len && (step = utf8_next(s + i, len - i, &c)) < 0)
			return step;
		if (!is_dot(c)) {
			if (n == sizeof(cp) / sizeof(cp[0]))
				return -EINVAL; /* more than a label can hold */
			cp[n++] = c;
			i += (size_t)step;
			continue;
		}
		if (i == len && n == 0 && o > 0)
			break; /* the root's trailing dot, written already */
		if (n == 0)
			return -EINVAL;
		if ((r = put_label(cp, n, name + start, i - start, out, cap, &o)) < 0)
			return r;
		if (i < len) {
			if (o + 1 >= cap)
				return -ENAMETOOLONG;
			out[o++] = '.';
		}
		i += (size_t)step;
		start = i;
		n = 0;
	}
	out[o] = '\0';
	return (int)o;
}
