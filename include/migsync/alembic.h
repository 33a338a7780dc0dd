#ifndef MIGSYNC_ALEMBIC_H
#define MIGSYNC_ALEMBIC_H

/*
 * What migsync asks the project's own Python about Alembic revisions
 * without a database: the SQL Alembic generates offline (`alembic
 * upgrade RANGE --sql`, one process for the whole range, split back per
 * revision by its `-- Running upgrade A -> B` comments), and whether each
 * .py revision compiles (compile() only: nothing of the module runs).
 * Used by the safety review (lint, plan, check) and `plan --sql`.
 *
 * The child gets stdin from /dev/null, the ini's directory as working
 * directory, the caller's environment plus DATABASE_URL=postgresql://
 * when that is unset (env.py files that read it need a URL even offline;
 * nothing connects), and ALEMBIC_DEADLINE_MS to finish before it is
 * killed with its process group.
 */

#include <stddef.h>

#include "migsync/error.h"
#include "migsync/util.h"

#define ALEMBIC_DEFAULT_PYTHON "/usr/bin/python3"
#define ALEMBIC_DEADLINE_MS 120000

/*
 * The interpreter that runs Alembic: configured (migrations.python) when
 * set, else the default. The one place the choice is made, so that other
 * ways of finding it plug in here.
 */
const char *alembic_python(const char *configured);

struct alembic_offline_step {
	char *from;		/* as Alembic wrote it: "" for a base, "a, b" for a merge */
	char *revision;
	char *sql;		/* the SQL after its comment, up to the next one */
};

struct alembic_offline {
	char *preamble;		/* SQL before the first revision (BEGIN, the version table) */
	char *epilogue;		/* unused (kept with the last step); NULL */
	struct alembic_offline_step *steps;	/* in the order Alembic runs them */
	size_t nr;
	size_t alloc;
};

void alembic_offline_init(struct alembic_offline *o);
void alembic_offline_release(struct alembic_offline *o);
/* The step of revision, or NULL. */
const struct alembic_offline_step *alembic_offline_find(const struct alembic_offline *o,
							const char *revision);

/*
 * Run `PYTHON -m alembic -c INI upgrade RANGE --sql` (RANGE: "heads",
 * "A:B", ...) and split its output into out (released first). A failure
 * (no interpreter, no Alembic, env.py that cannot run offline) is
 * MS_ERR_GENERIC with err naming the command and Python's last line.
 */
int alembic_offline_sql(struct alembic_offline *out, const char *python, const char *ini,
			const char *range, struct ms_error *err);

/*
 * The same with `downgrade RANGE --sql` ("heads:base"): a step is the
 * downgrade of its revision (from: where it goes), split at Alembic's
 * `-- Running downgrade B -> A` comments.
 */
int alembic_offline_down_sql(struct alembic_offline *out, const char *python, const char *ini,
			     const char *range, struct ms_error *err);

/* Split offline SQL text into out (released first); for tests and callers with the text. */
void alembic_offline_split(struct alembic_offline *out, const char *text);

struct alembic_compile_error {
	char *path;
	unsigned line;
	unsigned column;	/* 1-based */
	char *message;		/* Python's, e.g. "invalid syntax" */
};

void alembic_compile_errors_free(struct alembic_compile_error *list, size_t nr);

/*
 * compile() every file of paths in one Python process, without running
 * any of them; *out (caller frees) lists those that do not compile.
 * Returns 0, or MS_ERR_GENERIC when Python could not run.
 */
int alembic_compile_check(struct alembic_compile_error **out, size_t *nr, const char *python,
			  const struct strvec *paths, struct ms_error *err);

#endif
