#include <stdlib.h>
#include <time.h>

#include "migsync/clock.h"

static int64_t system_wall_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t system_mono_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct clock_source system_clock = {
	system_wall_ms, system_mono_ms, NULL
};
static const struct clock_source *current = &system_clock;

int64_t clock_wall_ms(void)
{
	return current->wall_ms(current->ctx);
}

int64_t clock_mono_ms(void)
{
	return current->mono_ms(current->ctx);
}

void clock_set(const struct clock_source *src)
{
	current = src ? src : &system_clock;
}

#ifdef MIGSYNC_TEST_HOOKS
static int64_t offset_ms;

static int64_t shifted_wall_ms(void *ctx)
{
	return system_wall_ms(ctx) + offset_ms;
}

static const struct clock_source shifted_clock = {
	shifted_wall_ms, system_mono_ms, NULL
};

int clock_init_from_env(void)
{
	const char *v = getenv("MIGSYNC_TEST_CLOCK_OFFSET");
	char *end = NULL;
	long long seconds;

	if (!v || !*v)
		return 0;
	seconds = strtoll(v, &end, 10);
	if (*end && (end[0] != 's' || end[1]))
		return -1;
	offset_ms = (int64_t)seconds * 1000;
	clock_set(&shifted_clock);
	return 0;
}
#else
int clock_init_from_env(void)
{
	return 0;
}
#endif
