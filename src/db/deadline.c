/*
 * Deadlines on the monotonic clock, in milliseconds, and waiting for a
 * socket within one: what keeps every network step of a connection bounded.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
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
