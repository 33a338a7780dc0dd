#ifndef MIGSYNC_PROBE_INT_H
#define MIGSYNC_PROBE_INT_H

/*
 * Internals shared by the files of src/probe (and their unit tests):
 * deadlines on the monotonic clock, in milliseconds.
 */

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t probe_now_ms(void);

/* The deadline timeout_ms from now; timeout_ms <= 0 means "now". */
int64_t probe_deadline(int timeout_ms);

/* Milliseconds left until deadline, clamped to [0, INT_MAX], for poll(). */
int probe_remaining_ms(int64_t deadline);

/* The earlier of two deadlines. */
int64_t probe_deadline_min(int64_t a, int64_t b);

/*
 * Wait until fd is ready for events (POLLIN, POLLOUT) or deadline passes.
 * Returns 1 when ready, 0 on timeout, -1 on error (errno set). EINTR is
 * retried.
 */
int probe_wait_fd(int fd, short events, int64_t deadline);

#endif
