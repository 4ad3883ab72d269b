/*
 * options.c - socks4d's command line into conf, the read-only settings
 * every other file consults. Bad input exits 2 with the usage text; -M
 * specs go to misbehave.c.
 */
#include "socks4d.h"

struct config conf;

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs(
"usage: socks4d [-l ADDR:PORT] [-a CIDR]... [-t SECONDS] [-b SECONDS]\n"
"               [-r SECONDS] [-e ADDR] [-z] [-Z] [-m N] [-p FILE]\n"
"               [-d DEST]... [-N] [-M SPEC]... [-U] [-v] [-h]\n"
"\n"
"A SOCKS4 server for tests: CONNECT and BIND as in draft-vance-socks-v4-09,\n"
"and SOCKS 4A (a name for the server to resolve, off the event loop).\n"
"\n"
"  -l ADDR:PORT  listen there (default " DEFAULT_LISTEN "; port 0 picks one)\n"
"  -a CIDR       allow clients from CIDR (repeatable; default " DEFAULT_ALLOW ")\n"
"  -t SECONDS    CONNECT: give up on the destination after this (default 120)\n"
"  -b SECONDS    BIND: wait this long for the inbound connection (default 120)\n"
"  -r SECONDS    drop a client whose request is incomplete by then (default 10)\n"
"  -e ADDR       BIND: listen on ADDR (default: the address the client reached)\n"
"  -z            BIND: put 0.0.0.0 in the first reply's DSTIP\n"
"  -Z            CONNECT: put 0.0.0.0:0 in the reply\n"
"  -m N          serve at most N clients at once (default 1024)\n"
"  -d DEST       refuse requests to DEST: a.b.c.d[/n][:PORT[-PORT]]\n"
"                (repeatable; a 4A name is judged by its address)\n"
"  -N            refuse SOCKS 4A requests (91) instead of resolving them\n"
"  -p FILE       write the port to FILE once listening\n"
"  -v            log one line per event to stderr\n"
"  -h            show this help\n"
"  -M SPEC       misbehave on purpose, for the shim's tests (repeatable):\n"
"      reply=N             code N instead of 90 in each first (or CONNECT)\n"
"                          reply, then close unless N is 90\n"
"      version=N           VN byte N in every reply\n"
"      bytewise            write replies a byte at a time, 20 ms apart\n"
"      delay=MS            wait MS milliseconds before the first reply\n"
"      stall               read the request, never reply, keep the connection\n"
"      short               send only 4 bytes of the first reply, then close\n"
"      reset               read the request, then close with a TCP reset\n"
"      extra=TEXT          CONNECT: send TEXT in the same write as a granted\n"
"                          reply (\\n \\r \\t \\\\ \\xHH understood)\n"
"      echo-dst            CONNECT: the destination (the address resolved,\n"
"                          for 4A) in a granted reply, as Twisted's server\n"
"                          does, not the address it connected from\n"
"      close-before-first  BIND: close without any reply\n"
"      close-after-first   BIND: close right after the first reply\n"
"      second=N            BIND: code N instead of 90 in the second reply,\n"
"                          then close both unless N is 90\n"
"  -U            a client whose USERID is m:SPEC[,SPEC]... gets those -M\n"
"                specs on top of the server's (one server, many tests)\n",
	      out);
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, long *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > SECONDS_MAX)
		return -EINVAL;
	v *= 1000.0;
	*ms = (long)v;
	if (*ms < v) /* round up: -r 0.0001 must not mean "no time at all" */
		(*ms)++;
	return 0;
}

static int parse_ipv4(const char *s, struct in_addr *out)
{
	return addr_parse_ip(s, strlen(s), &out->s_addr);
}

/* -l: "a.b.c.d:PORT", port 0 allowed (the kernel picks one). */
static int parse_hostport(const char *s, struct sockaddr_in *sin)
{
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon)
		return -EINVAL;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	if (addr_parse_ip(s, (size_t)(colon - s), &sin->sin_addr.s_addr) < 0 ||
	    parse_long(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}



static void bad_usage(const char *fmt, const char *arg)
{
	log_msg(LOG_ERROR, fmt, arg);
	usage(stderr);
	free(conf.mis.extra);
	exit(2);
}

/*
 * -a (ROUTE_PROXY: serve) and -d (ROUTE_DENY): a rule as src/core/route.c
 * reads it, host bits refused; -a takes no port. Exits 2 on bad input.
 */
static void add_rule(char opt, const char *arg, struct route_table *t,
		     enum route_action action)
{
	const char *why = "is one too many (the limit is 64)";
	struct route_rule r;
	char msg[160];

	if (t->n < MAX_CIDRS) {
		if (action == ROUTE_PROXY && strchr(arg, ':'))
			why = "has a port; -a takes ADDR[/BITS]";
		else if (route_parse_dest(arg, strlen(arg), action, &r, &why) == 0 &&
			 route_add(t, &r) == 0)
			return;
	}
	snprintf(msg, sizeof msg, "-%c '%%s' %s", opt, why);
	bad_usage(msg, arg);
}

void parse_args(int argc, char **argv)
{
	char opt[3] = "-?";
	int c;
	long v;

	conf.connect_ms = DEFAULT_CONNECT_MS;
	conf.bind_ms = DEFAULT_BIND_MS;
	conf.request_ms = DEFAULT_REQUEST_MS;
	conf.max_clients = DEFAULT_MAX_CLIENTS;
	conf.mis.reply = conf.mis.version = conf.mis.second = -1;
	conf.allow.fallback = ROUTE_DENY;
	conf.deny.fallback = ROUTE_PROXY;
	parse_hostport(DEFAULT_LISTEN, &conf.listen_addr);

	while ((c = getopt(argc, argv, ":l:a:t:b:r:e:zZm:p:d:NM:Uvh")) != -1) {
		switch (c) {
		case 'l':
			if (parse_hostport(optarg, &conf.listen_addr) < 0)
				bad_usage("-l wants ADDR:PORT, not '%s'", optarg);
			break;
		case 'a':
			add_rule('a', optarg, &conf.allow, ROUTE_PROXY);
			break;
		case 't':
			if (parse_seconds(optarg, &conf.connect_ms) < 0)
				bad_usage("-t wants seconds, not '%s'", optarg);
			break;
		case 'b':
			if (parse_seconds(optarg, &conf.bind_ms) < 0)
				bad_usage("-b wants seconds, not '%s'", optarg);
			break;
		case 'r':
			if (parse_seconds(optarg, &conf.request_ms) < 0)
				bad_usage("-r wants seconds, not '%s'", optarg);
			break;
		case 'e':
			if (parse_ipv4(optarg, &conf.bind_addr) < 0)
				bad_usage("-e wants an IPv4 address, not '%s'", optarg);
			conf.have_bind_addr = true;
			break;
		case 'z':
			conf.bind_reply_zero = true;
			break;
		case 'Z':
			conf.connect_reply_zero = true;
			break;
		case 'm':
			if (parse_long(optarg, 1, 1000000, &v) < 0)
				bad_usage("-m wants a positive number, not '%s'", optarg);
			conf.max_clients = (unsigned)v;
			break;
		case 'p':
			conf.port_file = optarg;
			break;
		case 'd':
			add_rule('d', optarg, &conf.deny, ROUTE_DENY);
			break;
		case 'N':
			conf.no_4a = true;
			break;
		case 'U':
			conf.mis_from_user = true;
			break;
		case 'M':
			if (parse_misbehaviour(optarg, &conf.mis) < 0)
				bad_usage("unknown or bad -M '%s'", optarg);
			break;
		case 'v':
			conf.verbose = true;
			break;
		case 'h':
			usage(stdout);
			free(conf.mis.extra);
			exit(0);
		case ':':
			opt[1] = (char)optopt;
			bad_usage("option %s needs a value", opt);
			break;
		default:
			opt[1] = (char)optopt;
			bad_usage("unknown option '%s'", opt);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!conf.allow.n)
		add_rule('a', DEFAULT_ALLOW, &conf.allow, ROUTE_PROXY);
}
