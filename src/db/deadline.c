/*
 * Deadlines on the monotonic clock, in milliseconds, waiting for a socket
 * within one, and resolving host names within one: what keeps every
 * network step of a connection bounded.
 */

#define _GNU_SOURCE	/* getaddrinfo_a, gai_suspend, gai_cancel */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migsync/clock.h"
#include "migsync/conn.h"

int64_t conn_deadline(int timeout_ms)
{
	return clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
}

int conn_remaining_ms(int64_t deadline)
{
	int64_t left = deadline - clock_mono_ms();

	if (left <= 0)
		return 0;
	if (left > INT_MAX)
		return INT_MAX;
	return (int)left;
}

int64_t conn_deadline_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int conn_wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, conn_remaining_ms(deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		return rc > 0 ? 1 : 0;
	}
}

/*
 * A lookup given up at its deadline that the resolver could not cancel
 * (glibc is already asking the name server): its request must stay valid
 * until glibc is done with it, so it is kept here and freed once it is.
 */
struct abandoned {
	struct gaicb cb;
	struct addrinfo hints;
	char *host, *port;
	struct abandoned *next;
};

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct abandoned *abandoned;

static void abandoned_free(struct abandoned *a)
{
	if (a->cb.ar_result)
		freeaddrinfo(a->cb.ar_result);
	free(a->host);
	free(a->port);
	free(a);
}

/* Free the abandoned lookups that have finished since. */
static void reap_abandoned(void)
{
	struct abandoned **p, *done = NULL;

	pthread_mutex_lock(&abandoned_lock);
	for (p = &abandoned; *p;) {
		struct abandoned *a = *p;

		if (gai_error(&a->cb) == EAI_INPROGRESS) {
			p = &a->next;
			continue;
		}
		*p = a->next;
		a->next = done;
		done = a;
	}
	pthread_mutex_unlock(&abandoned_lock);
	while (done) {
		struct abandoned *next = done->next;

		abandoned_free(done);
		done = next;
	}
}

void conn_resolve_cleanup(void)
{
	reap_abandoned();
}

int conn_resolve_many(struct addrinfo **out, int *rc, const char *const *hosts,
		      const char *const *ports, size_t nr, int64_t deadline)
{
	struct abandoned **req = calloc(nr ? nr : 1, sizeof(*req));
	struct gaicb **list = calloc(nr ? nr : 1, sizeof(*list));
	size_t pending = nr;
	int ret = 0;

	reap_abandoned();
	if (!req || !list) {
		ret = -1;
		goto done;
	}
	for (size_t i = 0; i < nr; i++) {
		struct abandoned *a = calloc(1, sizeof(*a));

		out[i] = NULL;
		rc[i] = EAI_MEMORY;
		if (!a)
			continue;
		a->hints.ai_family = AF_UNSPEC;
		a->hints.ai_socktype = SOCK_STREAM;
		a->host = strdup(hosts[i]);
		a->port = ports && ports[i] ? strdup(ports[i]) : NULL;
		a->cb.ar_name = a->host;
		a->cb.ar_service = a->port;
		a->cb.ar_request = &a->hints;
		req[i] = a;
		list[i] = &a->cb;
	}
	/* each request on its own, so that one that cannot be queued fails alone */
	for (size_t i = 0; i < nr; i++) {
		struct gaicb *one[1] = { list[i] };
		struct sigevent sev;

		if (!list[i] || !req[i]->host)
			continue;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_NONE;
		if (getaddrinfo_a(GAI_NOWAIT, one, 1, &sev))
			list[i] = NULL;
	}
	while (pending) {
		int left = conn_remaining_ms(deadline);
		struct timespec ts = { left / 1000, (long)(left % 1000) * 1000000 };
		int src;

		pending = 0;
		for (size_t i = 0; i < nr; i++)
			pending += list[i] && gai_error(list[i]) == EAI_INPROGRESS;
		if (!pending || !left)
			break;
		src = gai_suspend((const struct gaicb *const *)list, (int)nr, &ts);
		if (src == EAI_AGAIN && !conn_remaining_ms(deadline))
			break;
	}
	for (size_t i = 0; i < nr; i++) {
		struct abandoned *a = req[i];
		int e;

		if (!a)
			continue;
		if (!list[i]) {
			abandoned_free(a);
			continue;
		}
		e = gai_error(&a->cb);
		if (e == EAI_INPROGRESS && gai_cancel(&a->cb) != EAI_ALLDONE &&
		    gai_error(&a->cb) == EAI_INPROGRESS) {
			/* still running in glibc's resolver: kept until it is done */
			rc[i] = CONN_RESOLVE_TIMED_OUT;
			pthread_mutex_lock(&abandoned_lock);
			a->next = abandoned;
			abandoned = a;
			pthread_mutex_unlock(&abandoned_lock);
			continue;
		}
		e = gai_error(&a->cb);
		rc[i] = e == EAI_CANCELED || e == EAI_INPROGRESS ? CONN_RESOLVE_TIMED_OUT : e;
		if (!e) {
			out[i] = a->cb.ar_result;
			a->cb.ar_result = NULL;
		}
		abandoned_free(a);
	}
done:
	free(req);
	free(list);
	return ret;
}

const char *conn_resolve_strerror(int rc)
{
	if (rc == CONN_RESOLVE_TIMED_OUT)
		return "no answer from the name server in time";
	return gai_strerror(rc);
}
