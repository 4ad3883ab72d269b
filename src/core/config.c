/*
 * config.c - the socks4rc file and the environment into one struct (see
 * config.h). Pure, except config_load_file() (open, fstat and read, as
 * system calls: see sys_open) and config_resolve() (getaddrinfo).
 *
 * A socks4rc, line by line (socks4rc(5) is the user's version):
 *
 *	# a comment runs from a word that starts with '#' to the line's end
 *	server proxy.example:1080
 *	user "two words"		double quotes: blanks, a leading '#', or ""
 *	deny 0.0.0.0/0:25		rules: direct, proxy or deny, one a line
 *
 * A line is blank, or one word naming a setting or a rule and exactly
 * one value. Anything else stops the parse with "FILE:LINE: why".
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SOCKS4WRAP_SYSCONFDIR
#define SOCKS4WRAP_SYSCONFDIR "/usr/local/etc"
#endif

#define DEFAULT_TIMEOUT_MS (120 * 1000)
#define DEFAULT_DIRECT "127.0.0.0/8"

/* What a file line starts with: a setting, or a rule and its action. */
struct keyword {
	const char *word;
	const char *usage; /* the line's form, for messages */
	bool rule;
	int which; /* enum config_setting, or enum route_action for a rule */
};

static const struct keyword keywords[] = {
	{"server", "server HOST:PORT", false, CONFIG_SERVER},
	{"user", "user NAME", false, CONFIG_USER},
	{"timeout", "timeout SECONDS", false, CONFIG_TIMEOUT},
	{"bind-timeout", "bind-timeout SECONDS", false, CONFIG_BIND_TIMEOUT},
	{"bind", "bind on|off", false, CONFIG_BIND},
	{"ipv6", "ipv6 deny|direct", false, CONFIG_IPV6},
	{"debug", "debug 0|1|2", false, CONFIG_DEBUG},
	{"remote-dns", "remote-dns off|on|local-first", false, CONFIG_REMOTE_DNS},
	{"fake-range", "fake-range NETWORK/PREFIX", false, CONFIG_FAKE_RANGE},
	{"direct", "direct NETWORK[:PORT[-PORT]]", true, ROUTE_DIRECT},
	{"proxy", "proxy NETWORK[:PORT[-PORT]]", true, ROUTE_PROXY},
	{"deny", "deny NETWORK[:PORT[-PORT]]", true, ROUTE_DENY},
};

/* The variables that set one setting each (the user id has fallbacks). */
static const struct {
	const char *var;
	enum config_setting setting;
} env_settings[] = {
	{"SOCKS4_SERVER", CONFIG_SERVER},
	{"SOCKS4_TIMEOUT", CONFIG_TIMEOUT},
	{"SOCKS4_BIND_TIMEOUT", CONFIG_BIND_TIMEOUT},
	{"SOCKS4_BIND", CONFIG_BIND},
	{"SOCKS4_IPV6", CONFIG_IPV6},
	{"SOCKS4_DEBUG", CONFIG_DEBUG},
	{"SOCKS4_REMOTE_DNS", CONFIG_REMOTE_DNS},
	{"SOCKS4_FAKE_RANGE", CONFIG_FAKE_RANGE},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int fail(struct config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct config *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->error[0]) { /* the first problem is the one worth saying */
		va_start(ap, fmt);
		vsnprintf(c->error, sizeof(c->error), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void config_defaults(struct config *c)
{
	struct route_rule r;

	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->bind_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->bind = true;
	c->ipv6 = ROUTE_DENY;
	c->routes.fallback = ROUTE_PROXY;
	c->remote_dns = CONFIG_DNS_OFF;
	c->fake_net = CONFIG_FAKE_NET;
	c->fake_prefix = CONFIG_FAKE_PREFIX;
	route_parse_cidr(DEFAULT_DIRECT, strlen(DEFAULT_DIRECT), ROUTE_DIRECT, &r);
	route_add(&c->routes, &r);
	c->builtin_direct = true;
}

static void drop_builtin(struct config *c)
{
	if (c->builtin_direct) {
		c->routes.n--;
		c->builtin_direct = false;
	}
}

/* --- values, the same for a file line and a variable ------------------ */

/* "host:port": the host is kept as text, resolved by config_resolve(). */
static int parse_server(struct config *c, const char *what, const char *v)
{
	const char *colon = strrchr(v, ':');
	size_t hlen;

	if (!colon || colon == v)
		return fail(c, "%s: '%s' is not HOST:PORT", what, v);
	hlen = (size_t)(colon - v);
	if (hlen >= sizeof(c->server_host))
		return fail(c, "%s: host name too long", what);
	if (strpbrk(v, " \t") || memchr(v, ':', hlen))
		return fail(c, "%s: '%s' is not HOST:PORT", what, v);
	if (addr_parse_port(colon + 1, strlen(colon + 1), &c->server_port) < 0)
		return fail(c, "%s: '%s' has no valid port (1-65535)", what, v);
	memcpy(c->server_host, v, hlen);
	c->server_host[hlen] = '\0';
	return 0;
}

static int parse_seconds(struct config *c, const char *what, const char *v,
			 unsigned *ms)
{
	unsigned long s = 0;
	size_t n = strlen(v);

	if (n == 0 || n > 5 || strspn(v, "0123456789") != n)
		goto bad;
	for (size_t i = 0; i < n; i++)
		s = s * 10 + (unsigned long)(v[i] - '0');
	if (s < 1 || s > CONFIG_TIMEOUT_MAX_S)
		goto bad;
	*ms = (unsigned)s * 1000;
	return 0;
bad:
	return fail(c, "%s: '%s' is not a whole number of seconds (1-%d)",
		    what, v, CONFIG_TIMEOUT_MAX_S);
}

static int parse_bool(struct config *c, const char *what, const char *v,
		      bool *out)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};

	for (size_t i = 0; i < COUNT(yes); i++) {
		if (!strcmp(v, yes[i]))
			return *out = true, 0;
		if (!strcmp(v, no[i]))
			return *out = false, 0;
	}
	return fail(c, "%s: '%s' is not on or off", what, v);
}

static int parse_userid(struct config *c, const char *what, const char *v)
{
	size_t n = strlen(v);

	if (n > SOCKS4_USERID_MAX)
		return fail(c, "%s: user id is %zu bytes long; at most %d fit a SOCKS4 request",
			    what, n, SOCKS4_USERID_MAX);
	memcpy(c->userid, v, n + 1);
	return 0;
}

static int parse_ipv6(struct config *c, const char *what, const char *v)
{
	if (!strcmp(v, "deny"))
		c->ipv6 = ROUTE_DENY;
	else if (!strcmp(v, "direct"))
		c->ipv6 = ROUTE_DIRECT;
	else
		return fail(c, "%s: '%s' is not deny or direct", what, v);
	return 0;
}

static int parse_debug(struct config *c, const char *what, const char *v)
{
	if (strlen(v) != 1 || v[0] < '0' || v[0] > '0' + CONFIG_DEBUG_MAX)
		return fail(c, "%s: '%s' is not a level 0-%d", what, v, CONFIG_DEBUG_MAX);
	c->debug = v[0] - '0';
	return 0;
}

static int parse_remote_dns(struct config *c, const char *what, const char *v)
{
	static const char *const modes[] = {"off", "on", "local-first"};

	for (size_t i = 0; i < COUNT(modes); i++)
		if (!strcmp(v, modes[i]))
			return c->remote_dns = (enum config_remote_dns)i, 0;
	return fail(c, "%s: '%s' is not off, on or local-first", what, v);
}

/*
 * The fake range must be one no packet can be meant for: inside
 * 240.0.0.0/4 (reserved, never routed) or inside 0.0.0.0/8 above
 * 0.0.0.255 (0.0.0.x is SOCKS4A's own marker), between /8 and /30.
 */
static int parse_fake_range(struct config *c, const char *what, const char *v)
{
	struct route_rule r;
	const char *why;
	unsigned bits;

	if (!strchr(v, '/') || route_parse_dest(v, strlen(v), ROUTE_PROXY, &r, &why) < 0 ||
	    strchr(v, ':'))
		return fail(c, "%s: '%s' is not a network a.b.c.d/n", what, v);
	bits = (unsigned)__builtin_popcount(r.mask);
	if (bits < 8 || bits > 30)
		return fail(c, "%s: '%s': the prefix must be /8 to /30", what, v);
	if ((r.net & 0xf0000000u) != 0xf0000000u &&
	    ((r.net & 0xff000000u) != 0 || (r.net & 0xffffff00u) == 0))
		return fail(c, "%s: '%s' is not inside 240.0.0.0/4 or 0.0.0.0/8 "
			    "(above 0.0.0.255): a fake address must never be routable", what, v);
	c->fake_net = r.net;
	c->fake_prefix = bits;
	return 0;
}

static int set_value(struct config *c, enum config_setting s, const char *what,
		     const char *v)
{
	switch (s) {
	case CONFIG_SERVER:
		return parse_server(c, what, v);
	case CONFIG_USER:
		return parse_userid(c, what, v);
	case CONFIG_TIMEOUT:
		return parse_seconds(c, what, v, &c->connect_timeout_ms);
	case CONFIG_BIND_TIMEOUT:
		return parse_seconds(c, what, v, &c->bind_timeout_ms);
	case CONFIG_BIND:
		return parse_bool(c, what, v, &c->bind);
	case CONFIG_IPV6:
		return parse_ipv6(c, what, v);
	case CONFIG_DEBUG:
		return parse_debug(c, what, v);
	case CONFIG_REMOTE_DNS:
		return parse_remote_dns(c, what, v);
	case CONFIG_FAKE_RANGE:
		return parse_fake_range(c, what, v);
	case CONFIG_NSETTINGS:
		break;
	}
	return -EINVAL;
}

/* --- the file ------------------------------------------------------- */

struct word {
	const char *s;
	size_t n;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * The next word of [*p, end): 1, or 0 at the line's end or a comment, or
 * -1 with *why. A word is a run of non-blanks, or "..." holding anything
 * but a '"'; '#' starts a comment only at the start of a word, so
 * "a#b" is a word.
 */
static int next_word(const char **p, const char *end, struct word *w,
		     const char **why)
{
	const char *s = *p;

	while (s < end && is_blank(*s))
		s++;
	if (s == end || *s == '#') {
		*p = end;
		return 0;
	}
	if (*s == '"') {
		const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));
		if (!q)
			return *why = "a quote is not closed", -1;
		if (q + 1 < end && !is_blank(q[1]))
			return *why = "text follows a closing quote without a blank", -1;
		w->s = s + 1;
		w->n = (size_t)(q - s - 1);
		*p = q + 1;
		return 1;
	}
	w->s = s;
	while (s < end && !is_blank(*s))
		s++;
	w->n = (size_t)(s - w->s);
	*p = s;
	return 1;
}

static const struct keyword *find_keyword(struct word w)
{
	for (size_t i = 0; i < COUNT(keywords); i++)
		if (strlen(keywords[i].word) == w.n && !memcmp(keywords[i].word, w.s, w.n))
			return &keywords[i];
	return NULL;
}

static int add_rule(struct config *c, const char *where, const struct keyword *k,
		    struct word w, unsigned line)
{
	char fix[ROUTE_DEST_STRLEN];
	struct route_rule r;
	const char *why;
	size_t at = c->routes.n - (c->builtin_direct ? 1 : 0);
	int err;

	if (route_is_name(w.s, w.n)) {
		err = route_insert_name(&c->routes, at, w.s, w.n, (enum route_action)k->which,
					line, &why);
		if (err == -ENOSPC)
			return fail(c, "%s: one rule too many: %d in all, %d name rules, is the limit",
				    where, ROUTE_MAX, ROUTE_NAMES_MAX);
		if (err)
			return fail(c, "%s: %s: '%.*s' %s", where, k->word, (int)w.n, w.s, why);
		return 0;
	}
	if (route_parse_dest(w.s, w.n, (enum route_action)k->which, &r, &why) < 0) {
		if (strstr(why, "host bits"))
			return fail(c, "%s: %s: '%.*s' %s; did you mean %s?", where, k->word,
				    (int)w.n, w.s, why, route_fmt_dest(&r, fix));
		return fail(c, "%s: %s: '%.*s' %s", where, k->word, (int)w.n, w.s, why);
	}
	r.line = line;
	if (route_insert(&c->routes, at, &r) < 0)
		return fail(c, "%s: one rule too many: %d in all is the limit", where, ROUTE_MAX);
	return 0;
}

static int parse_line(struct config *c, const char *p, size_t n,
		      const char *filename, unsigned line)
{
	char where[sizeof(c->error)], what[sizeof(where) + 16];
	char value[CONFIG_LINE_MAX + 1];
	const char *end, *why = NULL;
	const struct keyword *k;
	struct word key, val, extra;
	int r;

	snprintf(where, sizeof(where), "%s:%u", filename, line);
	if (n > CONFIG_LINE_MAX)
		return fail(c, "%s: line is longer than %d bytes", where, CONFIG_LINE_MAX);
	if (n > 0 && p[n - 1] == '\r')
		n--; /* written on Windows */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '\0')
			return fail(c, "%s: contains a NUL byte", where);
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(c, "%s: contains a control character (0x%02x)", where, ch);
	}
	end = p + n;

	if ((r = next_word(&p, end, &key, &why)) <= 0)
		return r < 0 ? fail(c, "%s: %s", where, why) : 0;
	if (!(k = find_keyword(key)))
		return fail(c, "%s: unknown setting '%.*s'", where, (int)key.n, key.s);
	if ((r = next_word(&p, end, &val, &why)) <= 0)
		return r < 0 ? fail(c, "%s: %s", where, why)
			     : fail(c, "%s: '%s' needs a value (%s)", where, k->word, k->usage);
	if ((r = next_word(&p, end, &extra, &why)) != 0)
		return r < 0 ? fail(c, "%s: %s", where, why)
			     : fail(c, "%s: '%s' takes one value, but '%.*s' follows it (%s)",
				    where, k->word, (int)extra.n, extra.s, k->usage);

	if (k->rule)
		return add_rule(c, where, k, val, line);
	if (c->origin[k->which].line)
		return fail(c, "%s: '%s' is set twice; line %u set it already", where,
			    k->word, c->origin[k->which].line);
	memcpy(value, val.s, val.n);
	value[val.n] = '\0';
	snprintf(what, sizeof(what), "%s: %s", where, k->word);
	if (set_value(c, (enum config_setting)k->which, what, value) < 0)
		return -EINVAL;
	c->origin[k->which] = (struct config_origin){NULL, line};
	return 0;
}

int config_parse(struct config *c, const char *buf, size_t len,
		 const char *filename)
{
	unsigned line = 0;
	size_t pos = 0;
	int err = 0;

	snprintf(c->file, sizeof(c->file), "%s", filename);
	while (pos < len && !err) {
		const char *p = buf + pos;
		const char *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos;

		pos += n + (nl ? 1 : 0);
		err = parse_line(c, p, n, filename, ++line);
	}
	if (err)
		drop_builtin(c);
	return err;
}

/*
 * The file's I/O goes to the kernel directly. This code also runs inside
 * the preloaded library, in the first hooked call, where close() is the
 * shim's own close hook (and read() may become one): the library must
 * never call its own hooks. syscall(2) serves the library, socks4wrap and
 * the fuzzers alike with no table to pass around, and does not depend on
 * the real functions having been looked up first. fstat() is a pure query
 * no shim takes over.
 */
static int sys_open(const char *path, int flags)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, flags);

	return fd < 0 ? -errno : (int)fd;
}

static long sys_read(int fd, void *buf, size_t len)
{
	long n;

	do
		n = syscall(SYS_read, fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void sys_close(int fd)
{
	syscall(SYS_close, fd);
}

const char *config_file_type(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	}
	return "not a file";
}

bool config_file_usable(const struct stat *st)
{
	/* /dev/null (1, 3) is the documented way to read no file. */
	return S_ISREG(st->st_mode) ||
	       (S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3);
}

static int not_regular(struct config *c, const char *path, const char *by,
		       unsigned mode)
{
	if (by)
		return fail(c, "settings file %s (%s): not a regular file (%s)", path, by,
			    config_file_type(mode));
	return fail(c, "settings file %s: not a regular file (%s)", path,
		    config_file_type(mode));
}

/*
 * Opens a settings file that may be missing: an fd on a regular file,
 * -ENOENT when it is not there, or -EINVAL with c->error set. O_NONBLOCK,
 * so that a FIFO (or a device) named as the settings file never blocks
 * the open; only a regular file (or /dev/null) is read.
 */
static int open_settings(struct config *c, const char *path, const char *by,
			 bool required)
{
	int fd = sys_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd == -ENXIO && stat(path, &st) == 0)
		return not_regular(c, path, by, st.st_mode); /* a socket */
	if (fd < 0) {
		if (!required && (fd == -ENOENT || fd == -ENOTDIR))
			return -ENOENT;
		if (by)
			return fail(c, "settings file %s (%s): %s", path, by, strerror(-fd));
		return fail(c, "settings file %s: %s", path, strerror(-fd));
	}
	if (fstat(fd, &st) == 0 && !config_file_usable(&st)) {
		sys_close(fd);
		return not_regular(c, path, by, st.st_mode);
	}
	return fd;
}

int config_load_file(struct config *c, config_getenv_fn get)
{
	static char buf[CONFIG_FILE_MAX + 1]; /* one more: to see a longer file */
	char path[CONFIG_PATH_MAX];
	const char *v;
	size_t len = 0;
	long n = 0;
	int fd = -ENOENT;

	if ((v = get("SOCKS4_CONF")) && *v) {
		if (strlen(v) >= sizeof(path))
			return fail(c, "SOCKS4_CONF: path too long");
		strcpy(path, v);
		fd = open_settings(c, path, "SOCKS4_CONF", true);
	} else {
		if ((v = get("HOME")) && *v) {
			if ((size_t)snprintf(path, sizeof(path), "%s/.socks4rc", v) >= sizeof(path))
				return fail(c, "HOME: path too long");
			fd = open_settings(c, path, NULL, false);
		}
		if (fd == -ENOENT) {
			snprintf(path, sizeof(path), "%s", config_system_file());
			fd = open_settings(c, path, NULL, false);
		}
	}
	if (fd == -ENOENT)
		return 0; /* no file: the defaults and the environment */
	if (fd < 0)
		return fd;

	while (len < sizeof(buf) && (n = sys_read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	sys_close(fd);
	if (n < 0)
		return fail(c, "settings file %s: %s", path, strerror((int)-n));
	if (len > CONFIG_FILE_MAX)
		return fail(c, "settings file %s: longer than %d bytes", path, CONFIG_FILE_MAX);
	return config_parse(c, buf, len, path);
}

/* --- the environment ----------------------------------------------------- */

int config_apply_env(struct config *c, config_getenv_fn get)
{
	static const char *const user_vars[] = {"SOCKS4_USER", "USER", "LOGNAME"};
	const char *v;
	int err = 0;

	for (size_t i = 0; i < COUNT(env_settings); i++) {
		enum config_setting s = env_settings[i].setting;
		if (!(v = get(env_settings[i].var)) || !*v)
			continue;
		if (set_value(c, s, env_settings[i].var, v) < 0)
			err = -EINVAL;
		else
			c->origin[s] = (struct config_origin){env_settings[i].var, 0};
	}

	/* SOCKS4_USER, even empty; else the file's; else the login name. */
	for (size_t i = 0; i < COUNT(user_vars); i++) {
		if (i > 0 && c->origin[CONFIG_USER].line)
			break;
		if (!(v = get(user_vars[i])))
			continue;
		if (parse_userid(c, user_vars[i], v) < 0)
			err = -EINVAL;
		else
			c->origin[CONFIG_USER] = (struct config_origin){user_vars[i], 0};
		break;
	}

	/* SOCKS4_DIRECT's networks go first, and replace the built-in
	 * 127.0.0.0/8; set but empty, it only removes that. */
	if ((v = get("SOCKS4_DIRECT"))) {
		struct route_table t = {.n = 0};
		const char *bad, *why;
		size_t bad_len;

		drop_builtin(c);
		if (route_parse_list(&t, v, ROUTE_DIRECT, &bad, &bad_len, &why) < 0)
			err = fail(c, "SOCKS4_DIRECT: '%.*s' %s", (int)bad_len, bad, why);
		for (size_t i = 0; i < t.n && c->env_rules == i; i++)
			if (route_insert(&c->routes, i, &t.rules[i]) == 0)
				c->env_rules++;
			else
				err = fail(c, "SOCKS4_DIRECT: one rule too many: %d in all is the limit",
					   ROUTE_MAX);
	}

	if ((v = get("SOCKS4_QUIET")) && *v && parse_bool(c, "SOCKS4_QUIET", v, &c->quiet) < 0)
		err = -EINVAL;
	if ((v = get("SOCKS4_LOG")) && *v) {
		if (strlen(v) >= sizeof(c->log_path))
			err = fail(c, "SOCKS4_LOG: path too long");
		else
			strcpy(c->log_path, v);
	}
	return err;
}

/* --- all of it ------------------------------------------------------------- */

static int no_server(struct config *c)
{
	if (c->file[0])
		return fail(c, "no SOCKS4 server configured: %s has no 'server' line, "
			    "and neither socks4wrap -s nor SOCKS4_SERVER gives one", c->file);
	return fail(c, "no SOCKS4 server configured: use socks4wrap -s HOST:PORT, "
		    "set SOCKS4_SERVER, or write ~/.socks4rc (see socks4rc(5))");
}

int config_build(struct config *c, config_getenv_fn get)
{
	config_defaults(c);
	config_load_file(c, get);
	config_apply_env(c, get);
	if (!c->error[0] && !c->server_host[0])
		no_server(c);
	return c->error[0] ? -EINVAL : 0;
}

int config_resolve_with(struct config *c, config_gai_fn gai)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	int rc;

	if (!c->server_host[0])
		return no_server(c);
	c->server.port = c->server_port;
	if (addr_parse_ip(c->server_host, strlen(c->server_host), &c->server.ip) == 0)
		return 0;
	if (!gai)
		return fail(c, "SOCKS server '%s': no getaddrinfo() to resolve it", c->server_host);
	rc = gai(c->server_host, NULL, &hints, &res);
	if (rc != 0)
		return fail(c, "SOCKS server '%s': %s", c->server_host, gai_strerror(rc));
	c->server.ip = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return 0;
}

/* --- for messages and socks4wrap --dry-run ----------------------------------- */

const char *config_system_file(void)
{
	return SOCKS4WRAP_SYSCONFDIR "/socks4rc";
}

const char *config_setting_name(enum config_setting s)
{
	for (size_t i = 0; i < COUNT(keywords); i++)
		if (!keywords[i].rule && keywords[i].which == (int)s)
			return keywords[i].word;
	return "?";
}

const char *config_origin_str(const struct config *c, enum config_setting s,
			      char *buf, size_t len)
{
	const struct config_origin *o = &c->origin[s];

	if (o->var)
		snprintf(buf, len, "%s", o->var);
	else if (o->line)
		snprintf(buf, len, "%s:%u", c->file, o->line);
	else
		snprintf(buf, len, "default");
	return buf;
}

const char *config_rule_str(const struct config *c, const struct route_rule *r,
			    char buf[CONFIG_RULE_STRLEN])
{
	char dest[ROUTE_DEST_STRLEN], origin[CONFIG_PATH_MAX + 16];

	snprintf(buf, CONFIG_RULE_STRLEN, "%s, %s", route_fmt_dest(r, dest),
		 config_rule_origin(c, r, origin, sizeof(origin)));
	return buf;
}

const char *config_rule_origin(const struct config *c,
			       const struct route_rule *r, char *buf, size_t len)
{
	size_t i = (size_t)(r - c->routes.rules);

	if (i < c->env_rules)
		snprintf(buf, len, "SOCKS4_DIRECT");
	else if (r->line)
		snprintf(buf, len, "%s:%u", c->file, r->line);
	else if (c->builtin_direct && i + 1 == c->routes.n)
		snprintf(buf, len, "built-in");
	else
		snprintf(buf, len, "?");
	return buf;
}

enum route_action config_route_ipv6(const struct config *c,
				    const struct sockaddr *sa, socklen_t len,
				    const struct route_rule **hit)
{
	*hit = NULL;
	if (c->ipv6 == ROUTE_DIRECT)
		return ROUTE_DIRECT;
	if (addr_is_v6_loopback(sa, len) &&
	    route_lookup(&c->routes, htonl(INADDR_LOOPBACK),
			 ((const struct sockaddr_in6 *)sa)->sin6_port, hit) == ROUTE_DIRECT)
		return ROUTE_DIRECT;
	*hit = NULL;
	return ROUTE_DENY;
}

const char *config_remote_dns_str(enum config_remote_dns m)
{
	switch (m) {
	case CONFIG_DNS_OFF:
		return "off";
	case CONFIG_DNS_ON:
		return "on";
	case CONFIG_DNS_LOCAL_FIRST:
		return "local-first";
	}
	return "?";
}

static bool is_localhost(const char *name)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	return (n == 9 && !strncasecmp(name, "localhost", 9)) ||
	       (n > 10 && !strncasecmp(name + n - 10, ".localhost", 10));
}

enum config_name_way config_name_way(const struct config *c, const char *name,
				     const struct route_rule **hit)
{
	*hit = NULL;
	if (c->remote_dns == CONFIG_DNS_OFF || is_localhost(name))
		return CONFIG_NAME_LOCAL;
	if (route_lookup_name(&c->routes, name, hit) == ROUTE_DIRECT && *hit)
		return CONFIG_NAME_LOCAL;
	if (*hit) /* proxy or deny: the proxy's business, or nobody's */
		return CONFIG_NAME_REMOTE;
	return c->remote_dns == CONFIG_DNS_ON ? CONFIG_NAME_REMOTE : CONFIG_NAME_LOCAL_FIRST;
}

bool config_hosts_line_has(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name), i = 0;
	const char *hash = memchr(line, '#', len);
	int word = 0;

	if (nlen > 1 && name[nlen - 1] == '.')
		nlen--;
	if (hash)
		len = (size_t)(hash - line);
	while (i < len) {
		size_t start;
		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			i++;
		if (i == start)
			break;
		/* the first word is the address */
		if (word++ > 0 && i - start == nlen && !strncasecmp(line + start, name, nlen))
			return true;
	}
	return false;
}

bool config_hosts_has(const char *path, const char *name, int (*closefn)(int))
{
	char buf[8192];
	size_t have = 0;
	bool found = false, skipping = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return false;
	while (!found) {
		ssize_t n = sys_read(fd, buf + have, sizeof(buf) - have);
		size_t start = 0;
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (have && !skipping)
				found = config_hosts_line_has(buf, have, name);
			break;
		}
		have += (size_t)n;
		while (!found && (nl = memchr(buf + start, '\n', have - start))) {
			if (!skipping)
				found = config_hosts_line_has(buf + start,
							      (size_t)(nl - buf - start), name);
			skipping = false;
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == sizeof(buf)) { /* a line longer than the buffer: not a hosts line */
			have = 0;
			skipping = true;
		}
	}
	closefn(fd);
	return found;
}
