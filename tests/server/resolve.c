/*
 * resolve.c - SOCKS 4A names, resolved off the event loop.
 *
 * getaddrinfo() blocks for as long as DNS takes, so it runs in a small
 * pool of threads. Data flows one way round a loop: session.c hands a
 * name in (resolver_submit), a worker resolves it, the answer goes on a
 * done list and the worker writes the eventfd; loop.c sees the eventfd
 * readable and calls resolver_collect(), which gives each answer back to
 * its session (session_resolved) on the loop's thread. Workers touch no
 * session: only jobs, under one mutex. A session that ends while its
 * name is out cancels the job; the answer is then dropped.
 */
#include "socks4d.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct resolve_job {
	struct resolve_job *next;
	struct session *sess; /* NULL once cancelled */
	char name[SOCKS4_HOST_MAX + 1];
	int gai_err;		      /* getaddrinfo()'s result, 0 on success */
	int sys_err;		      /* errno for EAI_SYSTEM */
	uint32_t addrs[RESOLVE_ADDRS_MAX]; /* IPv4, network order, in DNS order */
	size_t n_addrs;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct resolve_job *todo, **todo_tail;
	struct resolve_job *done;
	pthread_t threads[RESOLVE_THREADS];
	size_t n_threads;
	unsigned busy; /* workers inside getaddrinfo() */
	bool stop;
} rs = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void resolve_one(struct resolve_job *job)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;

	job->gai_err = getaddrinfo(job->name, NULL, &hints, &res);
	if (job->gai_err == EAI_SYSTEM)
		job->sys_err = errno;
	for (struct addrinfo *ai = res; ai && job->n_addrs < RESOLVE_ADDRS_MAX;
	     ai = ai->ai_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;

		if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof *sin)
			job->addrs[job->n_addrs++] = sin->sin_addr.s_addr;
	}
	if (res)
		freeaddrinfo(res);
	if (!job->gai_err && !job->n_addrs)
		job->gai_err = EAI_NONAME;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rs.lock);
	for (;;) {
		struct resolve_job *job;
		uint64_t one = 1;

		while (!rs.todo && !rs.stop)
			pthread_cond_wait(&rs.wake, &rs.lock);
		if (rs.stop)
			break;
		job = rs.todo;
		rs.todo = job->next;
		if (!rs.todo)
			rs.todo_tail = &rs.todo;
		rs.busy++;
		pthread_mutex_unlock(&rs.lock);

		resolve_one(job);

		pthread_mutex_lock(&rs.lock);
		rs.busy--;
		job->next = rs.done;
		rs.done = job;
		if (write(srv.resolver.fd, &one, sizeof one) < 0) {
			/* the counter is far from full: cannot happen */
		}
	}
	pthread_mutex_unlock(&rs.lock);
	return NULL;
}

int resolver_start(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), r;

	if (fd < 0) {
		log_msg(LOG_ERROR, "eventfd: %s", strerror(errno));
		return -errno;
	}
	r = ep_add(&srv.resolver, fd, EP_RESOLVER, NULL);
	if (r)
		return r;
	rs.todo_tail = &rs.todo;
	for (size_t i = 0; i < RESOLVE_THREADS; i++) {
		r = pthread_create(&rs.threads[i], NULL, worker, NULL);
		if (r) {
			log_msg(LOG_ERROR, "cannot start a resolver thread: %s", strerror(r));
			return -r;
		}
		rs.n_threads++;
	}
	return 0;
}

int resolver_submit(struct session *s)
{
	struct resolve_job *job = calloc(1, sizeof *job);

	if (!job)
		return -ENOMEM;
	job->sess = s;
	memcpy(job->name, s->host, s->host_len);
	job->name[s->host_len] = '\0';
	s->job = job;
	pthread_mutex_lock(&rs.lock);
	*rs.todo_tail = job;
	rs.todo_tail = &job->next;
	pthread_cond_signal(&rs.wake);
	pthread_mutex_unlock(&rs.lock);
	return 0;
}

void resolver_cancel(struct session *s)
{
	if (!s->job)
		return;
	pthread_mutex_lock(&rs.lock);
	s->job->sess = NULL;
	pthread_mutex_unlock(&rs.lock);
	s->job = NULL;
}

void resolver_collect(void)
{
	struct resolve_job *list;
	uint64_t n;

	if (read(srv.resolver.fd, &n, sizeof n) < 0) {
		/* EAGAIN: another wakeup already took the count */
	}
	pthread_mutex_lock(&rs.lock);
	list = rs.done;
	rs.done = NULL;
	pthread_mutex_unlock(&rs.lock);
	while (list) {
		struct resolve_job *job = list;
		struct session *s = job->sess; /* stable: only we cancel */

		list = job->next;
		if (s) {
			const char *why = job->gai_err == EAI_SYSTEM
						  ? strerror(job->sys_err)
						  : gai_strerror(job->gai_err);

			s->job = NULL;
			session_resolved(s, job->gai_err ? why : NULL, job->addrs,
					 job->n_addrs);
		}
		free(job);
	}
}

/*
 * Idle workers are joined; one still waiting on DNS cannot be stopped
 * politely, so then none are and the process leaves without them.
 */
void resolver_stop(void)
{
	bool busy;

	pthread_mutex_lock(&rs.lock);
	rs.stop = true;
	busy = rs.busy > 0;
	pthread_cond_broadcast(&rs.wake);
	pthread_mutex_unlock(&rs.lock);
	if (busy)
		return;
	for (size_t i = 0; i < rs.n_threads; i++)
		pthread_join(rs.threads[i], NULL);
	rs.n_threads = 0;
	while (rs.todo) {
		struct resolve_job *job = rs.todo;

		rs.todo = job->next;
		free(job);
	}
	while (rs.done) {
		struct resolve_job *job = rs.done;

		rs.done = job->next;
		free(job);
	}
	if (srv.resolver.fd >= 0)
		close(srv.resolver.fd);
	srv.resolver.fd = -1;
}
