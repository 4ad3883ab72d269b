/*
 * hooks_names.c - name lookups, for names the SOCKS server is to resolve
 * (SOCKS4A; the remote-dns setting, socks4rc(5)).
 *
 * A name to be resolved remotely gets a fake address from the names
 * table (names.c) and never reaches the C library's resolver; connect()
 * to that address sends a SOCKS4A request with the name (the policy,
 * policy.c, finds it). Numeric strings, "localhost", names in
 * /etc/hosts and names the rules send direct go to the C library, as do
 * all lookups while remote-dns is off: then each hook costs one load and
 * a branch beyond the call itself.
 *
 * The answers are built by the C library itself wherever it can: a fake
 * address's getaddrinfo() result is the C library's answer for the fake
 * address written as a number, so services, socket types, protocols and
 * flags behave exactly as without us, and the result is freed by the
 * real freeaddrinfo(); only the canonical name is ours (malloc'd, as the
 * C library's own is).
 *
 * getaddrinfo() with AI_IDN turns a name with bytes outside ASCII, in
 * the locale's encoding, into its "xn--" form (idn.c) before anything
 * else, as the C library does: the rules, /etc/hosts, the fake address
 * and the SOCKS4A request all see that form.
 */
#include "idn.h"
#include "log.h"
#include "names.h"
#include "shim.h"

#include <arpa/inet.h>
#include <iconv.h>
#include <langinfo.h>
#include <netdb.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 until the settings say remote-dns is off: then these hooks pass
 * straight through. */
static int names_on = 1;

static inline bool names_active(void)
{
	return __builtin_expect(__atomic_load_n(&names_on, __ATOMIC_RELAXED), 0);
}

/* The range from the settings, set up once (names_setup is idempotent). */
static bool fake_ready(void)
{
	return names_setup(shim_cfg.fake_net, shim_cfg.fake_prefix) == 0;
}

/* The settings are there and remote-dns is not off; when it is off,
 * every hook here passes straight through from now on. */
static bool remote_dns_on(void)
{
	if (!shim_ready())
		return false; /* the settings being built: resolving the server */
	if (shim_cfg.remote_dns == CONFIG_DNS_OFF) {
		__atomic_store_n(&names_on, 0, __ATOMIC_RELAXED);
		return false;
	}
	return fake_ready();
}

/* How one lookup is answered: the policy's answer, once remote-dns is
 * known to be on. */
static SLOW enum policy_name_way classify(const char *name)
{
	int saved = errno;
	enum policy_name_way w;

	if (!remote_dns_on())
		return POLICY_NAME_LOCAL;
	w = policy_name(&shim_cfg, name, real.close, NULL, NULL);
	errno = saved;
	return w;
}

/* A name for the log, printable: other bytes as \xNN, cut at cap. */
static const char *shown(const char *name, char *buf, size_t cap)
{
	size_t j = 0, i;

	for (i = 0; name[i] && j + 8 < cap; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x21 && c < 0x7f && c != '\\')
			buf[j++] = (char)c;
		else
			j += (size_t)snprintf(buf + j, cap - j, "\\x%02x", c);
	}
	if (name[i]) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = '\0';
	return buf;
}

static SLOW void log_bad(const char *name)
{
	char b[96];
	size_t n = strlen(name);

	if (n > NAMES_LEN)
		log_msg(LOG_ERROR, "name %s: %zu bytes long, more than the %d a name can have; "
			"not looked up", shown(name, b, sizeof(b)), n, NAMES_LEN);
	else
		log_msg(LOG_ERROR, "name '%s': not a host name (letters, digits, '-', '.', '_'); "
			"not looked up", shown(name, b, sizeof(b)));
}

/* The fake address for name: 0, or the EAI_ error, logged. */
static int fake_for(const char *name, uint32_t *ip)
{
	int err = names_fake(name, strlen(name), ip);
	char a[INET_ADDRSTRLEN];

	if (err == -ENOSPC) {
		log_msg(LOG_ERROR, "name %s: every fake address is taken (%zu names, fake-range "
			"too small); lookup fails with EAI_AGAIN", name, names_capacity());
		return EAI_AGAIN;
	}
	if (err)
		return EAI_FAIL;
	log_msg(LOG_INFO, "name %s: left to the proxy (SOCKS4A), fake address %s", name,
		inet_ntop(AF_INET, ip, a, sizeof(a)));
	return 0;
}

/* Local DNS found nothing (or could not be asked): the proxy may know.
 * A timeout counts: a host with no working resolver is this mode's case. */
static bool local_found_nothing(int rc)
{
	return rc == EAI_NONAME || rc == EAI_AGAIN || rc == EAI_FAIL
#ifdef EAI_NODATA
	       || rc == EAI_NODATA
#endif
		;
}

static bool h_found_nothing(int h)
{
	return h == HOST_NOT_FOUND || h == NO_DATA || h == TRY_AGAIN || h == NO_RECOVERY;
}

/* --- getaddrinfo ------------------------------------------------------------ */

/* The name in the locale's encoding to UTF-8 in out (cap bytes): 0, or
 * -EILSEQ for bytes the locale does not have. */
static int to_utf8(const char *name, char *out, size_t cap)
{
	const char *cs = nl_langinfo(CODESET);
	size_t inleft = strlen(name), outleft = cap - 1;
	char *in = (char *)name, *o = out;
	iconv_t cd;
	int err = 0;

	if (!strcmp(cs, "UTF-8")) {
		if (inleft >= cap)
			return -ENAMETOOLONG;
		memcpy(out, name, inleft + 1);
		return 0;
	}
	if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1)
		return -EILSEQ;
	if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1)
		err = errno == E2BIG ? -ENAMETOOLONG : -EILSEQ;
	iconv_close(cd);
	*o = '\0';
	return err;
}

/*
 * AI_IDN (getaddrinfo(3)): name, in the locale's encoding, to its ASCII
 * form in ace (NAMES_LEN + 1 bytes). 0, or EAI_IDN_ENCODE, logged, as
 * the C library fails a name it cannot convert.
 */
static int gai_idn(const char *name, char *ace)
{
	char utf8[4 * NAMES_LEN + 1], b[96];
	int r;

	if ((r = to_utf8(name, utf8, sizeof(utf8))) == 0 &&
	    (r = idn_to_ascii(utf8, strlen(utf8), ace, NAMES_LEN + 1)) >= 0)
		return 0;
	log_msg(LOG_ERROR, "name %s: AI_IDN: no \"xn--\" form (%s, locale's encoding %s); "
		"lookup fails with EAI_IDN_ENCODE", shown(name, b, sizeof(b)),
		r == -EILSEQ ? "not a name in that encoding"
		: r == -EINVAL ? "an empty label, or a label over 63 bytes" : "too long",
		nl_langinfo(CODESET));
	return EAI_IDN_ENCODE;
}

/*
 * The answer for a fake address: the C library's own for the address as
 * a number, with the program's service, socket type, protocol and flags;
 * AF_INET6 only with AI_V4MAPPED (SOCKS4A carries IPv4 only: a program
 * asking for IPv6 alone is told the name has none, EAI_ADDRFAMILY).
 */
static int gai_fake(const char *node, const char *canon, const char *service,
		    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h = {0};
	char num[INET6_ADDRSTRLEN];
	uint32_t ip;
	int rc;

	if (hints)
		h = *hints;
	h.ai_addr = NULL;
	h.ai_canonname = NULL;
	h.ai_next = NULL;
	if (h.ai_family == AF_INET6 && !(h.ai_flags & AI_V4MAPPED)) {
		log_msg(LOG_INFO, "name %s: an IPv6-only lookup of a name the proxy resolves "
			"fails with EAI_ADDRFAMILY: SOCKS4A carries IPv4 only", node);
		return EAI_ADDRFAMILY;
	}
	if ((rc = fake_for(node, &ip)))
		return rc;
	inet_ntop(AF_INET, &ip, num, sizeof(num));
	if (h.ai_family == AF_INET6) {
		char mapped[INET6_ADDRSTRLEN + 8];
		snprintf(mapped, sizeof(mapped), "::ffff:%s", num);
		strcpy(num, mapped);
	} else {
		h.ai_family = AF_INET; /* AF_UNSPEC too: the proxy's answer is IPv4 */
	}
	/* The proxy carries the connection over IPv4 whatever this host's
	 * interfaces are, so AI_ADDRCONFIG has nothing to filter. */
	h.ai_flags = (h.ai_flags & ~(AI_CANONNAME | AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL)) |
		     AI_NUMERICHOST;
	if ((rc = real.getaddrinfo(num, service, &h, res)))
		return rc;
	if (hints && (hints->ai_flags & AI_CANONNAME) && !((*res)->ai_canonname = strdup(canon))) {
		freeaddrinfo(*res);
		*res = NULL;
		return EAI_MEMORY;
	}
	return 0;
}

static SLOW int gai_slow(const char *node, const char *service,
			 const struct addrinfo *hints, struct addrinfo **res)
{
	int saved = errno, rc;
	const char *canon = node;
	char ace[NAMES_LEN + 1];

	if (hints && (hints->ai_flags & AI_NUMERICHOST))
		return real.getaddrinfo(node, service, hints, res);
	if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET &&
	    hints->ai_family != AF_INET6)
		return real.getaddrinfo(node, service, hints, res); /* EAI_FAMILY */
	if (hints && (hints->ai_flags & AI_IDN) && idn_has_nonascii(node, strlen(node)) &&
	    remote_dns_on()) {
		if ((rc = gai_idn(node, ace)))
			return rc;
		/* the canonical name: the "xn--" form, as the C library gives
		 * it, or with AI_CANONIDN the name as the program wrote it */
		canon = hints->ai_flags & AI_CANONIDN ? node : ace;
		node = ace;
		errno = saved;
	}
	switch (classify(node)) {
	case POLICY_NAME_LOCAL:
		return real.getaddrinfo(node, service, hints, res);
	case POLICY_NAME_BAD:
		log_bad(node);
		return EAI_NONAME;
	case POLICY_NAME_LOCAL_FIRST:
		rc = real.getaddrinfo(node, service, hints, res);
		if (!local_found_nothing(rc))
			return rc;
		log_msg(LOG_INFO, "name %s: local DNS: %s; asking the proxy", node, gai_strerror(rc));
		break;
	case POLICY_NAME_REMOTE:
		break;
	}
	rc = gai_fake(node, canon, service, hints, res);
	errno = saved;
	return rc;
}

HOOK int getaddrinfo(const char *node, const char *service,
		     const struct addrinfo *hints, struct addrinfo **res)
{
	shim_real();
	if (!real.getaddrinfo)
		return errno = ENOSYS, EAI_SYSTEM;
	if (names_active() && node)
		return gai_slow(node, service, hints, res);
	return real.getaddrinfo(node, service, hints, res);
}

/* --- gethostbyname and its kin ---------------------------------------------- */

/*
 * A hostent for name at fake ip, laid out in buf as the C library does:
 * the address, the two pointer lists, then the name. 0 or -ERANGE.
 */
static int fill_hostent(struct hostent *he, char *buf, size_t len, const char *name,
			uint32_t ip)
{
	size_t nlen = strlen(name) + 1;
	uintptr_t p = (uintptr_t)buf, end = p + len;
	char **lists, *addr;

	p = (p + alignof(char *) - 1) & ~(uintptr_t)(alignof(char *) - 1);
	if (p > end || end - p < 4 * sizeof(char *) + sizeof(ip) + nlen)
		return -ERANGE;
	lists = (char **)p;
	addr = (char *)(lists + 4);
	memcpy(addr, &ip, sizeof(ip));
	memcpy(addr + sizeof(ip), name, nlen);
	lists[0] = NULL;  /* h_aliases */
	lists[1] = addr;  /* h_addr_list */
	lists[2] = NULL;
	lists[3] = NULL;
	he->h_name = addr + sizeof(ip);
	he->h_aliases = &lists[0];
	he->h_addrtype = AF_INET;
	he->h_length = sizeof(ip);
	he->h_addr_list = &lists[1];
	return 0;
}

/* What the non-reentrant calls return: one per thread (the C library's
 * is one per process). */
static __thread struct {
	struct hostent he;
	char buf[NAMES_LEN + 64];
} tls_host;

/*
 * The common part of the gethostbyname family. af AF_INET or AF_INET6;
 * the result goes to he/buf/len. Returns 1 when the C library should
 * answer (the caller calls it), 2 for local first (the caller calls it,
 * then comes back with local_done), 0 with *herr = 0 when he is filled,
 * 0 with *herr set when the lookup fails, -ERANGE when buf is short.
 */
static int hostent_fake(const char *name, int af, struct hostent *he, char *buf,
			size_t len, int *herr)
{
	uint32_t ip;

	*herr = 0;
	if (af == AF_INET6) {
		log_msg(LOG_INFO, "name %s: an IPv6 lookup of a name the proxy resolves finds "
			"nothing: SOCKS4A carries IPv4 only", name);
		*herr = NO_DATA;
		return 0;
	}
	if (fake_for(name, &ip)) {
		*herr = TRY_AGAIN;
		return 0;
	}
	return fill_hostent(he, buf, len, name, ip);
}

/* The way for a gethostbyname-family lookup of name with family af. */
static SLOW enum policy_name_way host_way(const char *name, int af)
{
	if (!name || (af != AF_INET && af != AF_INET6))
		return POLICY_NAME_LOCAL;
	return classify(name);
}

static struct hostent *ghbn_common(const char *name, int af, bool two)
{
	int saved = errno, herr;
	struct hostent *r;

	switch (host_way(name, af)) {
	case POLICY_NAME_LOCAL:
		return two ? real.gethostbyname2(name, af) : real.gethostbyname(name);
	case POLICY_NAME_BAD:
		log_bad(name);
		h_errno = HOST_NOT_FOUND;
		return NULL;
	case POLICY_NAME_LOCAL_FIRST:
		r = two ? real.gethostbyname2(name, af) : real.gethostbyname(name);
		if (r || !h_found_nothing(h_errno))
			return r;
		log_msg(LOG_INFO, "name %s: local DNS: %s; asking the proxy", name, hstrerror(h_errno));
		break;
	case POLICY_NAME_REMOTE:
		break;
	}
	errno = saved;
	if (hostent_fake(name, af, &tls_host.he, tls_host.buf, sizeof(tls_host.buf), &herr) < 0)
		herr = NO_RECOVERY; /* cannot happen: the buffer holds any name */
	if (herr) {
		h_errno = herr;
		return NULL;
	}
	return &tls_host.he;
}

static SLOW struct hostent *ghbn_slow(const char *name, int af, bool two)
{
	return ghbn_common(name, af, two);
}

HOOK struct hostent *gethostbyname(const char *name)
{
	shim_real();
	if (!real.gethostbyname)
		return h_errno = NO_RECOVERY, errno = ENOSYS, NULL;
	if (names_active())
		return ghbn_slow(name, AF_INET, false);
	return real.gethostbyname(name);
}

HOOK struct hostent *gethostbyname2(const char *name, int af)
{
	shim_real();
	if (!real.gethostbyname2)
		return h_errno = NO_RECOVERY, errno = ENOSYS, NULL;
	if (names_active())
		return ghbn_slow(name, af, true);
	return real.gethostbyname2(name, af);
}

/* gethostbyname_r and gethostbyname2_r, as the C library answers: 0
 * with *result set; 0 with *result NULL and *h_errnop for a name with no
 * answer; EAGAIN (TRY_AGAIN) for a full table; ERANGE for a short buffer. */
static SLOW int ghbn_r_slow(const char *name, int af, bool two, struct hostent *ret,
			    char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	int saved = errno, rc, herr;

#define REAL_R() (two ? real.gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop) \
		      : real.gethostbyname_r(name, ret, buf, buflen, result, h_errnop))
	switch (host_way(name, af)) {
	case POLICY_NAME_LOCAL:
		return REAL_R();
	case POLICY_NAME_BAD:
		log_bad(name);
		*result = NULL;
		*h_errnop = HOST_NOT_FOUND;
		return 0; /* as the C library says "not found" */
	case POLICY_NAME_LOCAL_FIRST:
		rc = REAL_R();
		if (rc == ERANGE || *result || !h_found_nothing(*h_errnop))
			return rc;
		log_msg(LOG_INFO, "name %s: local DNS: %s; asking the proxy", name,
			hstrerror(*h_errnop));
		break;
	case POLICY_NAME_REMOTE:
		break;
	}
#undef REAL_R
	*result = NULL;
	if (hostent_fake(name, af, ret, buf, buflen, &herr) < 0) {
		*h_errnop = NETDB_INTERNAL;
		return errno = ERANGE, ERANGE;
	}
	errno = saved;
	if (herr) { /* as the C library: 0 for "not found", EAGAIN to try again */
		*h_errnop = herr;
		return herr == TRY_AGAIN ? EAGAIN : 0;
	}
	*result = ret;
	return 0;
}

HOOK int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			 struct hostent **result, int *h_errnop)
{
	shim_real();
	if (!real.gethostbyname_r)
		return *result = NULL, *h_errnop = NO_RECOVERY, ENOSYS;
	if (names_active())
		return ghbn_r_slow(name, AF_INET, false, ret, buf, buflen, result, h_errnop);
	return real.gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

HOOK int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
			  size_t buflen, struct hostent **result, int *h_errnop)
{
	shim_real();
	if (!real.gethostbyname2_r)
		return *result = NULL, *h_errnop = NO_RECOVERY, ENOSYS;
	if (names_active())
		return ghbn_r_slow(name, af, true, ret, buf, buflen, result, h_errnop);
	return real.gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}

/* --- the way back: an address to its name ------------------------------------ */

/* The fake IPv4 address in sa (AF_INET, or v4-mapped AF_INET6), else 0. */
static uint32_t fake_in(const struct sockaddr *sa, socklen_t len)
{
	struct v4 v;

	if (!sa || !addr_to_v4(sa, len, &v) || !shim_is_fake(v.ip))
		return 0;
	return v.ip;
}

static SLOW int gni_slow(const struct sockaddr *sa, socklen_t salen, char *host,
			 socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	char name[NAMES_LEN + 1];
	int saved = errno, rc;
	uint32_t ip;

	if (!remote_dns_on() || !(ip = fake_in(sa, salen)) || !host || !hostlen ||
	    (flags & NI_NUMERICHOST))
		return real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
	if (names_lookup(ip, name, sizeof(name)) < 0) {
		/* a fake address no name has: never asked of DNS */
		if (flags & NI_NAMEREQD)
			return EAI_NONAME;
		return real.getnameinfo(sa, salen, host, hostlen, serv, servlen,
					flags | NI_NUMERICHOST);
	}
	if (serv && servlen &&
	    (rc = real.getnameinfo(sa, salen, NULL, 0, serv, servlen, flags)))
		return rc;
	if (strlen(name) >= hostlen)
		return EAI_OVERFLOW;
	strcpy(host, name);
	errno = saved;
	return 0;
}

HOOK int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
		     socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	shim_real();
	if (!real.getnameinfo)
		return errno = ENOSYS, EAI_SYSTEM;
	if (names_active())
		return gni_slow(sa, salen, host, hostlen, serv, servlen, flags);
	return real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}

/*
 * gethostbyaddr() and gethostbyaddr_r() of a fake address: 1 when it is
 * not one (the C library answers), else 0 with he filled, or with *herr
 * HOST_NOT_FOUND for a fake address no name has; -ERANGE for a short
 * buffer.
 */
static int ghba_fake(const void *addr, socklen_t len, int type, struct hostent *he,
		     char *buf, size_t buflen, int *herr)
{
	char name[NAMES_LEN + 1];
	uint32_t ip;

	*herr = 0;
	if (!remote_dns_on() || !addr || type != AF_INET || len != sizeof(ip))
		return 1;
	memcpy(&ip, addr, sizeof(ip));
	if (!shim_is_fake(ip))
		return 1;
	if (names_lookup(ip, name, sizeof(name)) < 0) {
		*herr = HOST_NOT_FOUND;
		return 0;
	}
	return fill_hostent(he, buf, buflen, name, ip);
}

static SLOW struct hostent *ghba_slow(const void *addr, socklen_t len, int type)
{
	int saved = errno, herr, rc;

	rc = ghba_fake(addr, len, type, &tls_host.he, tls_host.buf, sizeof(tls_host.buf), &herr);
	if (rc > 0)
		return real.gethostbyaddr(addr, len, type);
	errno = saved;
	if (rc < 0 || herr) {
		h_errno = rc < 0 ? NO_RECOVERY : herr;
		return NULL;
	}
	return &tls_host.he;
}

static SLOW int ghba_r_slow(const void *addr, socklen_t len, int type, struct hostent *ret,
			    char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	int saved = errno, herr, rc;

	rc = ghba_fake(addr, len, type, ret, buf, buflen, &herr);
	if (rc > 0)
		return real.gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
	*result = NULL;
	if (rc < 0) {
		*h_errnop = NETDB_INTERNAL;
		return errno = ERANGE, ERANGE;
	}
	errno = saved;
	if (herr) {
		*h_errnop = herr;
		return 0;
	}
	*result = ret;
	return 0;
}

HOOK int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
			 char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	shim_real();
	if (!real.gethostbyaddr_r)
		return *result = NULL, *h_errnop = NO_RECOVERY, ENOSYS;
	if (names_active())
		return ghba_r_slow(addr, len, type, ret, buf, buflen, result, h_errnop);
	return real.gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}

HOOK struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	shim_real();
	if (!real.gethostbyaddr)
		return h_errno = NO_RECOVERY, errno = ENOSYS, NULL;
	if (names_active())
		return ghba_slow(addr, len, type);
	return real.gethostbyaddr(addr, len, type);
}

/* --- for connect() ------------------------------------------------------------- */

void shim_fake_failed(const struct hs *h)
{
	if (h->err == HS_ERR_REFUSED)
		log_msg(LOG_ERROR, "%s:%u: the SOCKS server could not resolve the name, or does "
			"not speak SOCKS4A (Dante's sockd does not; remote-dns off, or a 'direct %s' "
			"rule, has it resolved here instead)", h->host, ntohs(h->dst.port), h->host);
}
