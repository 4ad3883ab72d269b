/*
 * misbehave.c - -M SPEC: what socks4d does wrong on purpose, for the
 * shim's robustness tests. Parses one spec into struct misbehaviour,
 * and answers session.c's questions at the points where a misbehaviour
 * applies: after a request, in the code of a reply, in a reply's shape.
 * Data flows one way: conf.mis (or, with -U, the client's own copy made
 * from its USERID) in, a changed session out.
 */
#include "socks4d.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* -M extra=TEXT: a shell cannot easily pass CR LF, so we unescape. */
static int parse_extra(const char *s, struct misbehaviour *m)
{
	size_t len = strlen(s), o = 0;
	uint8_t *buf;

	if (len == 0 || len > EXTRA_MAX)
		return -EINVAL;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			buf[o++] = (uint8_t)s[i];
			continue;
		}
		switch (s[++i]) {
		case 'n': buf[o++] = '\n'; break;
		case 'r': buf[o++] = '\r'; break;
		case 't': buf[o++] = '\t'; break;
		case '\\': buf[o++] = '\\'; break;
		case 'x':
			if (i + 2 >= len || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0) {
				free(buf);
				return -EINVAL;
			}
			buf[o++] = (uint8_t)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
			break;
		default:
			free(buf);
			return -EINVAL;
		}
	}
	free(m->extra);
	m->extra = buf;
	m->extra_len = o;
	return 0;
}

int parse_misbehaviour(const char *spec, struct misbehaviour *m)
{
	const char *eq = strchr(spec, '=');
	size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
	const char *val = eq ? eq + 1 : NULL;
	long v;

#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(spec, k, klen) == 0)
	if (!val) {
		if (KEY_IS("bytewise"))
			m->bytewise = true;
		else if (KEY_IS("stall"))
			m->stall = true;
		else if (KEY_IS("short"))
			m->short_reply = true;
		else if (KEY_IS("reset"))
			m->reset = true;
		else if (KEY_IS("close-after-first"))
			m->close_after_first = true;
		else if (KEY_IS("close-before-first"))
			m->close_before_first = true;
		else if (KEY_IS("echo-dst"))
			m->echo_dst = true;
		else
			return -EINVAL;
		return 0;
	}
	if (KEY_IS("extra"))
		return parse_extra(val, m);
	if (KEY_IS("delay")) {
		if (parse_long(val, 0, 3600 * 1000, &v) < 0)
			return -EINVAL;
		m->delay_ms = v;
		return 0;
	}
	if (parse_long(val, 0, 255, &v) < 0)
		return -EINVAL;
	if (KEY_IS("reply"))
		m->reply = (int)v;
	else if (KEY_IS("version"))
		m->version = (int)v;
	else if (KEY_IS("second"))
		m->second = (int)v;
	else
		return -EINVAL;
	return 0;
#undef KEY_IS
}

int mis_first_code(const struct session *s)
{
	const struct misbehaviour *m = sess_mis(s);

	return m->reply >= 0 ? m->reply : SOCKS4_REPLY_GRANTED;
}

int mis_second_code(const struct session *s)
{
	const struct misbehaviour *m = sess_mis(s);

	return m->second >= 0 ? m->second : SOCKS4_REPLY_GRANTED;
}

/* reset, stall, close-before-first: true when one took the session over. */
bool mis_after_request(struct session *s)
{
	const struct misbehaviour *m = sess_mis(s);

	if (m->reset) {
		log_sess(s, true, "misbehaving (reset)");
		session_close(s, true);
		return true;
	}
	if (m->stall) {
		log_sess(s, true, "misbehaving (stall)");
		s->state = SESS_STALL;
		return true;
	}
	if (s->command == SOCKS4_CMD_BIND && m->close_before_first) {
		log_sess(s, true, "misbehaving (close-before-first)");
		session_close(s, false);
		return true;
	}
	return false;
}

/*
 * A queued reply as -M wants it: version=N in every reply; short, extra
 * and delay only in the first (the CONNECT reply or BIND's first).
 */
void mis_shape_reply(struct session *s, uint8_t code, bool first)
{
	const struct misbehaviour *m = sess_mis(s);

	if (m->version >= 0)
		s->out[0] = (uint8_t)m->version;
	if (!first)
		return;
	if (m->short_reply) {
		s->out_len = SOCKS4_REPLY_LEN / 2;
		s->next = NEXT_CLOSE;
	}
	if (code == SOCKS4_REPLY_GRANTED && s->command == SOCKS4_CMD_CONNECT &&
	    m->extra_len)
		s->out_extra = true;
	if (m->delay_ms > 0) {
		s->state = SESS_REPLY_DELAY;
		deadline_set(s, srv.now + m->delay_ms);
	}
}

/*
 * -U: a USERID "m:SPEC[,SPEC]..." gives this client its own misbehaviour,
 * the server's -M plus these, so one server serves many tests. 0 when
 * the USERID asks for nothing, -EINVAL for a bad spec, -ENOMEM.
 */
int mis_from_userid(struct session *s, const char *uid, size_t len)
{
	char spec[SOCKS4_USERID_MAX + 1];
	struct misbehaviour *m;
	size_t start = 2;

	if (!conf.mis_from_user || len < 2 || memcmp(uid, "m:", 2) != 0)
		return 0;
	m = malloc(sizeof *m);
	if (!m)
		return -ENOMEM;
	*m = conf.mis;
	m->extra = NULL;
	if (conf.mis.extra_len) {
		m->extra = malloc(conf.mis.extra_len);
		if (!m->extra) {
			free(m);
			return -ENOMEM;
		}
		memcpy(m->extra, conf.mis.extra, conf.mis.extra_len);
	}
	s->mis = m; /* freed with the session, even half made */
	while (start <= len) {
		const char *comma = memchr(uid + start, ',', len - start);
		size_t end = comma ? (size_t)(comma - uid) : len;

		memcpy(spec, uid + start, end - start);
		spec[end - start] = '\0';
		if (parse_misbehaviour(spec, m) < 0)
			return -EINVAL;
		start = end + 1;
	}
	return 0;
}

void mis_free(struct session *s)
{
	if (!s->mis)
		return;
	free(s->mis->extra);
	free(s->mis);
	s->mis = NULL;
}
