#ifndef MIGSYNC_POOL_H
#define MIGSYNC_POOL_H

/*
 * A pool of worker threads for independent tasks, as PostgreSQL's
 * fe_utils/parallel_slot: work(index, ctx) runs in a worker thread for
 * each index in [0, nr); done(index, ctx), when not NULL, runs in the
 * calling thread after work(index) has returned, in completion order, so
 * that done handlers never run concurrently and may print or collect
 * without locking. Workers never stop early: work() must put its errors
 * on its task. Worker threads block SIGPIPE (a closed socket must not
 * kill the process).
 */

#include <stddef.h>

#include "migsync/error.h"

/* The number of workers when the caller asks for 0. */
#define POOL_DEFAULT_JOBS_MAX 16

typedef void (*pool_work_fn)(size_t index, void *ctx);
typedef void (*pool_done_fn)(size_t index, void *ctx);

/*
 * Run work() for every index in [0, nr) on jobs workers (0: min(16, nr)).
 * If no thread can be started the tasks run in the calling thread.
 * Returns 0 or a negative code with err set.
 */
int pool_run(size_t nr, unsigned jobs, pool_work_fn work, pool_done_fn done, void *ctx,
	     struct ms_error *err);

/* The number of workers pool_run() starts for nr tasks and jobs. */
unsigned pool_jobs(size_t nr, unsigned jobs);

/*
 * Block SIGPIPE in the calling thread, as the pool's workers do: for other
 * threads that write to sockets (a closed socket must not kill us).
 */
void pool_block_sigpipe(void);

#endif
