/*
 * clock: the only place migsync reads the time.
 *
 * Every module asks this clock instead of calling clock_gettime() itself, so
 * that tests can make time pass instead of sleeping: unit tests install
 * their own clock with clock_set(); integration tests of a build configured
 * with -Dtest_hooks=true may shift the wall clock with
 * MIGSYNC_TEST_CLOCK_OFFSET (whole seconds, "5" or "-7200", an "s" may
 * follow; read once, by clock_init_from_env()). Release builds have no such hook, so no
 * variable of a user's environment can move an approval's expiry or a soak.
 */
#ifndef MIGSYNC_CLOCK_H
#define MIGSYNC_CLOCK_H

#include <stdint.h>

/* A source of time; ctx is handed back to both functions. */
struct clock_source {
	int64_t (*wall_ms)(void *ctx);	/* milliseconds since the Unix epoch */
	int64_t (*mono_ms)(void *ctx);	/* milliseconds on a monotonic clock */
	void *ctx;
};

/* The wall clock: milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

/* A monotonic clock in milliseconds, for deadlines and durations. */
int64_t clock_mono_ms(void);

/*
 * Install src as the clock of the whole process (NULL: the system clock
 * again). Not thread-safe: call it before any worker starts. src must
 * outlive its use.
 */
void clock_set(const struct clock_source *src);

/*
 * In builds with test hooks, read MIGSYNC_TEST_CLOCK_OFFSET and shift the
 * wall clock by it; returns -1 when the value is not a number of seconds. Without
 * test hooks it does nothing and returns 0.
 */
int clock_init_from_env(void);

#endif
