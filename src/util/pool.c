/*
 * The worker pool: a fixed number of threads take task indexes from a
 * shared counter; finished indexes go on a queue that the calling thread
 * drains, calling the done handler, so that handlers never run
 * concurrently and may print or collect without locking.
 */

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/pool.h"
#include "migsync/util.h"

void pool_block_sigpipe(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

unsigned pool_jobs(size_t nr, unsigned jobs)
{
	if (!jobs)
		jobs = POOL_DEFAULT_JOBS_MAX;
	if (nr < jobs)
		jobs = (unsigned)nr;
	return jobs;
}

struct pool_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t nr;
	size_t next;		/* next index to hand out */
	size_t *finished;	/* queue of finished indexes, nr slots */
	size_t finished_nr;	/* pushed by workers */
	pool_work_fn work;
	void *ctx;
};

static void *pool_worker(void *arg)
{
	struct pool_state *p = arg;

	pool_block_sigpipe();
	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		if (p->next >= p->nr) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->next++;
		pthread_mutex_unlock(&p->lock);

		p->work(i, p->ctx);

		pthread_mutex_lock(&p->lock);
		p->finished[p->finished_nr++] = i;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

int pool_run(size_t nr, unsigned jobs, pool_work_fn work, pool_done_fn done, void *ctx,
	     struct ms_error *err)
{
	struct pool_state p;
	pthread_t *threads = NULL;
	unsigned started = 0;
	size_t handled = 0;
	int ret = 0;

	(void)err;
	if (!nr)
		return 0;
	jobs = pool_jobs(nr, jobs);

	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	p.nr = nr;
	p.finished = xcalloc(nr, sizeof(*p.finished));
	p.work = work;
	p.ctx = ctx;

	threads = xcalloc(jobs, sizeof(*threads));
	for (unsigned j = 0; j < jobs; j++) {
		if (pthread_create(&threads[j], NULL, pool_worker, &p))
			break;
		started++;
	}

	if (!started) {
		/* No thread at all: do the work here rather than fail. */
		for (size_t i = 0; i < nr; i++) {
			work(i, ctx);
			if (done)
				done(i, ctx);
		}
		goto done;
	}

	pthread_mutex_lock(&p.lock);
	while (handled < nr) {
		size_t i;

		while (handled == p.finished_nr)
			pthread_cond_wait(&p.cond, &p.lock);
		i = p.finished[handled++];
		pthread_mutex_unlock(&p.lock);
		if (done)
			done(i, ctx);
		pthread_mutex_lock(&p.lock);
	}
	pthread_mutex_unlock(&p.lock);

done:
	for (unsigned j = 0; j < started; j++)
		pthread_join(threads[j], NULL);
	free(threads);
	free(p.finished);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	return ret;
}
