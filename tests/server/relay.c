/*
 * relay.c - a granted session's bytes, both ways: client -> remote (up)
 * and remote -> client (down), each through a pipe and splice(2), or a
 * small buffer when splice cannot be used. Pipes are borrowed from a pool
 * for a burst and handed back when empty, so idle relays hold none.
 *
 * Data flows from session.c (relay_start, after the granting reply) and
 * loop.c's readiness (relay_step, through session_run); relay_step
 * closes the session when both directions are done or one fails.
 */
#include "socks4d.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void pipe_release(struct relay_pipe *p, bool empty)
{
	if (p->r < 0)
		return;
	if (empty && srv.pool_len < PIPE_POOL_MAX) {
		srv.pool[srv.pool_len++] = *p;
	} else {
		close(p->r);
		close(p->w);
	}
	p->r = p->w = -1;
}

/* Hands the pipe or buffer back; only an empty pipe goes to the pool. */
void flow_release(struct flow *f)
{
	pipe_release(&f->pipe, f->pending == 0);
	free(f->buf);
	f->buf = NULL;
}

static int pipe_get(struct relay_pipe *out)
{
	int p[2], cap;

	if (srv.pool_len) {
		*out = srv.pool[--srv.pool_len];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* Not always the default: past the per-user pipe quota the kernel
	 * hands out smaller pipes. */
	cap = fcntl(p[0], F_GETPIPE_SZ);
	out->r = p[0];
	out->w = p[1];
	out->cap = cap > 0 ? (size_t)cap : PIPE_DEFAULT_CAP;
	return 0;
}

/*
 * A pipe that fills is carrying bulk data: fewer, larger splices. 4 MiB
 * rather than 1 moved a 2 GB transfer on loopback from about 0.8x to
 * about 0.95x of a direct connection's rate (make bench): half the
 * splices and wakeups per byte. Beyond /proc/sys/fs/pipe-max-size (1 MiB
 * by default) only a privileged server may go; others get the 1 MiB.
 */
static void pipe_grow(struct flow *f)
{
	int cap;

	if (f->cannot_grow || f->pipe.cap >= PIPE_BULK_FALLBACK)
		return;
	cap = fcntl(f->pipe.w, F_SETPIPE_SZ, PIPE_BULK_CAP);
	if (cap < 0)
		cap = fcntl(f->pipe.w, F_SETPIPE_SZ, PIPE_BULK_FALLBACK);
	if (cap > 0)
		f->pipe.cap = (size_t)cap;
	else
		f->cannot_grow = true;
}

static void flow_init(struct flow *f, struct endpoint *src,
		      struct endpoint *dst, const struct flow *other)
{
	f->src = src;
	f->dst = dst;
	f->other = other;
}

/* A pipe for splice(2); a small buffer when no pipe can be had. */
static int flow_attach(struct flow *f)
{
	if (f->pipe.r >= 0 || f->buf)
		return 0;
	if (pipe_get(&f->pipe) == 0)
		return 0;
	f->buf = malloc(FLOW_BUF_SIZE);
	return f->buf ? 0 : -ENOMEM;
}

/* Falls back to the buffer when splice refuses these fds. */
static int flow_unsplice(struct flow *f)
{
	if (f->buf || f->pending)
		return -EINVAL;
	pipe_release(&f->pipe, false);
	f->buf = malloc(FLOW_BUF_SIZE);
	return f->buf ? 0 : -ENOMEM;
}

/* Bytes the client sent behind its request go first, ahead of the rest. */
static int flow_preload(struct flow *f, const uint8_t *data, size_t len)
{
	int r = flow_attach(f);

	if (r)
		return r;
	if (f->buf) {
		memcpy(f->buf, data, len);
	} else {
		/* A fresh, empty pipe takes at least a page without blocking. */
		ssize_t n = write(f->pipe.w, data, len);

		if (n < 0)
			return -errno;
		if ((size_t)n != len)
			return -EIO;
	}
	f->pending = len;
	return 0;
}

static size_t flow_room(const struct flow *f)
{
	if (f->buf)
		return FLOW_BUF_SIZE - f->off - f->pending;
	if (f->pipe.r < 0)
		return PIPE_DEFAULT_CAP; /* only asks for one to be attached */
	return f->pending < f->pipe.cap ? f->pipe.cap - f->pending : 0;
}

/* One round of moving bytes: >0 progress, 0 blocked, -errno on error. */
static int flow_step(struct flow *f)
{
	int moved = 0;
	ssize_t n;

	if (f->pending && f->dst->writable) {
		if (f->buf)
			n = send(f->dst->fd, f->buf + f->off, f->pending, MSG_NOSIGNAL);
		else
			n = splice(f->pipe.r, NULL, f->dst->fd, NULL, f->pending,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->pending -= (size_t)n;
			f->bytes += (unsigned long long)n;
			f->off = f->pending ? f->off + (size_t)n : 0;
			moved = 1;
		} else if (n < 0 && errno == EAGAIN) {
			f->dst->writable = false;
		} else if (n < 0 && errno != EINTR) {
			return -errno;
		}
	}
	if (!f->eof && !f->stop && f->src->readable && flow_room(f)) {
		int r = flow_attach(f);

		if (r)
			return r;
		if (f->buf)
			n = recv(f->src->fd, f->buf + f->off + f->pending,
				 flow_room(f), 0);
		else
			n = splice(f->src->fd, NULL, f->pipe.w, NULL, flow_room(f),
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->pending += (size_t)n;
			/* Grow only for a destination that keeps up: one that
			 * stalled would just have more held for it. */
			if (!f->buf && f->pending >= f->pipe.cap && f->dst->writable)
				pipe_grow(f);
			moved = 1;
		} else if (n == 0) {
			f->eof = true;
			moved = 1;
		} else if (errno == EAGAIN) {
			/* From splice, EAGAIN may mean a full pipe, not an empty
			 * socket; only an empty pipe makes it unambiguous. */
			if (f->buf || !f->pending)
				f->src->readable = false;
		} else if (errno == EINVAL && !f->buf) {
			r = flow_unsplice(f);
			if (r)
				return r;
			moved = 1;
		} else if (errno != EINTR) {
			/* src reset: what it sent before is ours to deliver. */
			f->err = errno;
			f->eof = true;
			moved = 1;
		}
	}
	/* A failed side is passed on as a reset, later, never as a FIN. */
	if (f->eof && !f->pending && !f->shut && !f->err && !f->other->err &&
	    !f->other->werr) {
		/* Half-close: pass the EOF on, keep the other way open. When
		 * the other way is over too, the close() that follows sends
		 * the FIN: both sockets have been read to EOF. */
		if (!f->other->shut && shutdown(f->dst->fd, SHUT_WR) < 0 &&
		    errno != ENOTCONN)
			return -errno;
		f->shut = true;
		moved = 1;
	}
	return moved;
}

/* Returns 1 when the round budget ran out with work left, 0, or -errno. */
static int flow_pump(struct flow *f)
{
	for (int i = 0; i < FLOW_ROUNDS; i++) {
		int r = flow_step(f);

		if (r < 0)
			return r;
		if (r == 0) {
			/* Blocked with nothing held: src is drained (or done),
			 * so the pipe or buffer can serve someone else. */
			if (!f->pending)
				flow_release(f);
			return 0;
		}
	}
	return 1;
}

/* flow_pump() for a flow whose destination may have failed already. */
static int relay_pump(struct flow *f)
{
	int r;

	if (f->werr)
		return 0;
	r = flow_pump(f);
	if (r < 0) {
		f->werr = -r;
		return 0;
	}
	return r;
}

/* Bytes written to dst that its peer has not acknowledged yet. */
static int unacked(const struct flow *f)
{
	int n = 0;

	if (f->werr || f->dst->fd < 0 || ioctl(f->dst->fd, SIOCOUTQ, &n) < 0)
		return 0;
	return n;
}

/* The flow writes to the side that failed: nothing more for it. */
static bool dst_failed(const struct flow *f)
{
	return f->werr || f->other->err;
}

/*
 * One side reset (or a write to it failed): what socks4d has taken from
 * that side, in its socket's queue or in the pipe, still goes to the
 * other side, and is acknowledged there, before both are reset (issue 13
 * item 15). Nothing more is read from the side still up. Bounded by
 * CUT_FLUSH_MS.
 */
static void relay_cut(struct session *s, bool more)
{
	struct flow *flows[2] = { &s->up, &s->down };
	int err = s->up.err ? s->up.err : s->down.err ? s->down.err
			    : s->up.werr ? s->up.werr : s->down.werr;
	int left = 0;
	bool reading = false;

	if (!s->cut_until)
		s->cut_until = srv.now + CUT_FLUSH_MS;
	for (int i = 0; i < 2; i++)
		flows[i]->stop = dst_failed(flows[i]);
	if (more) {
		ready_add(s);
		return;
	}
	for (int i = 0; i < 2; i++) {
		const struct flow *f = flows[i];

		if (f->stop)
			continue;
		left += (int)f->pending + unacked(f);
		reading = reading || !f->eof;
	}
	if ((left || reading) && srv.now < s->cut_until) {
		int64_t next = srv.now + CUT_POLL_MS;

		deadline_set(s, next < s->cut_until ? next : s->cut_until);
		return;
	}
	if (left || reading)
		log_sess(s, false, "closed (%s; %llu bytes up, %llu bytes down; "
			 "%d held bytes not delivered in time)", strerror(err),
			 s->up.bytes, s->down.bytes, left);
	else
		log_sess(s, false, "closed (%s; %llu bytes up, %llu bytes down)",
			 strerror(err), s->up.bytes, s->down.bytes);
	session_close(s, true); /* pass the reset on to both sides */
}

void relay_step(struct session *s)
{
	int up = relay_pump(&s->up);
	int down = relay_pump(&s->down);

	if (s->up.err || s->down.err || s->up.werr || s->down.werr) {
		relay_cut(s, up > 0 || down > 0);
		return;
	}
	if (s->up.shut && s->down.shut) {
		log_sess(s, false, "closed (%llu bytes up, %llu bytes down)",
			 s->up.bytes, s->down.bytes);
		session_close(s, false);
		return;
	}
	if (up > 0 || down > 0)
		ready_add(s);
}

/*
 * Bounded buffers (issue 13 item 17): with the kernel's autotuning a
 * stalled receiver had socks4d hold up to 6 MiB in the client's receive
 * buffer and 4 MiB in the remote's send buffer on top of the pipe. Fixed
 * sizes hold at most 1 MiB each; loopback bulk transfers do not miss the
 * rest (make bench).
 */
static void bound_buffers(int fd)
{
	int size = RELAY_SOCKBUF;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

void relay_start(struct session *s)
{
	size_t extra = s->req_len - s->req_size;

	s->state = SESS_RELAY;
	bound_buffers(s->client.fd);
	bound_buffers(s->remote.fd);
	flow_init(&s->up, &s->client, &s->remote, &s->down);
	flow_init(&s->down, &s->remote, &s->client, &s->up);
	if (extra) {
		int r = flow_preload(&s->up, s->req + s->req_size, extra);

		if (r) {
			log_sess(s, false, "closed (%s)", strerror(-r));
			session_close(s, true);
		}
	}
}

void pipe_pool_drain(void)
{
	for (size_t i = 0; i < srv.pool_len; i++) {
		close(srv.pool[i].r);
		close(srv.pool[i].w);
	}
	srv.pool_len = 0;
}
