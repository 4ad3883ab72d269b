/*
 * idn.h - internationalized names to the form DNS and SOCKS4A carry:
 * each label with a byte outside ASCII becomes "xn--" and its Punycode
 * (RFC 3492), as getaddrinfo(3) does for AI_IDN.
 *
 * Plain code, no tables and no library: the C library's own AI_IDN step
 * dlopen()s libidn2, which a library inside another program must not
 * depend on. What is left out of IDNA2008/UTS 46 for want of tables:
 * NFC normalization and case mapping beyond ASCII and Latin-1, so a name
 * should come as it is usually written (lowercase, composed).
 */
#ifndef IDN_H
#define IDN_H

#include <stddef.h>
#include <stdint.h>

/* Whether the len bytes at s hold a byte outside ASCII. */
int idn_has_nonascii(const char *s, size_t len);

/*
 * Punycode (RFC 3492 section 6.3) of n code points cp into out (cap
 * bytes, NUL-terminated), without the "xn--" prefix: the length written,
 * or -ENAMETOOLONG when it does not fit, -EOVERFLOW for input the
 * algorithm cannot count (section 6.4), -EINVAL for a code point past
 * U+10FFFF.
 */
int idn_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap);

/*
 * The name in UTF-8 (len bytes) to its ASCII form in out (cap bytes,
 * NUL-terminated): labels of ASCII alone are copied as they are, the
 * others lowercased (ASCII and Latin-1 letters) and written "xn--"
 * Punycode; the ideographic full stops (U+3002, U+FF0E, U+FF61) separate
 * labels as '.' does. The length written, or -EILSEQ for bytes that are
 * not UTF-8 (or a NUL), -EINVAL for an encoded label longer than 63
 * bytes or empty, -ENAMETOOLONG when out is short.
 */
int idn_to_ascii(const char *name, size_t len, char *out, size_t cap);

#endif
