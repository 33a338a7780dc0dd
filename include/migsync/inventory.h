#ifndef MIGSYNC_INVENTORY_H
#define MIGSYNC_INVENTORY_H

/*
 * The inventory: which environments exist, how to reach their databases,
 * in which order migrations are promoted through them and what gates
 * protect each stage.
 *
 * An inventory is a directory (default "environments/", or -i PATH, or
 * $MIGSYNC_INVENTORY) holding inventory.yaml and one YAML file per
 * environment (*.yaml or *.yml; hidden files are skipped):
 *
 *   # inventory.yaml
 *   project: stock-assistant
 *   migrations:
 *     scripts: ../examples/stock-assistant/versions   # or a list; relative to inventory.yaml
 *     executor: sql                                   # sql or alembic
 *     alembic_ini: ../alembic.ini                     # default: ../alembic.ini, ./alembic.ini
 *     alembic_section: alembic                        # the ini's section (alembic -n NAME)
 *     python: .venv/bin/python                        # default: $VIRTUAL_ENV, python3 on PATH
 *   rollout: [dev, staging, prod]
 *   defaults:                                         # merged under every environment
 *     database: { connect_timeout: 5 }
 *     ssh: { known_hosts: ~/.ssh/known_hosts }
 *     gate: { soak: 30m }
 *
 *   # prod.yaml
 *   name: prod                       # default: the file name without .yaml
 *   before_apply: ./scripts/backup.sh prod
 *   database: { url | host/port/dbname/user | service, password_env, sslmode,
 *               application_name, connect_timeout, statement_timeout,
 *               lock_wait, version_table, version_table_schema }
 *   ssh: { host, port, user, identity, agent, passphrase_env, known_hosts,
 *          connect_timeout, run, workdir }
 *   gate: { approvals, approvers, soak, risky_approvals }
 *   targets: { databases: [...] | discover: "SELECT datname ..."
 *              | schemas: [...] | discover_schemas: "SELECT nspname ..." }
 *   fleet: { canary: 1 | "2%", batch: 25% | N, parallel: 8, max_failures: 0 }
 *
 * Every scalar value may use ${VAR} and ${VAR:-default} (read from the
 * process environment; an unset ${VAR} without default is an error) and
 * "$$" for a literal "$". Durations are "30s", "5m", "1h30m", "2d" or a
 * plain number of seconds.
 *
 * Secrets are never stored in a struct inventory: passwords come from the
 * variable named by password_env (read only by inventory_conninfo), from
 * .pgpass or from a service file. A password written into a URL is kept in
 * database.url (libpq needs it) but every function here that produces text
 * for humans or JSON redacts it.
 * Values of ${VAR} whose name looks secret (a token in before_apply, ...)
 * are listed in inventory.secrets for the code that prints them.
 */

#include <stdbool.h>
#include <stdint.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/util.h"

/*
 * Codes of the validation problems inventory_load appends to problems.
 * Each diagnostic carries file, line and column (1-based).
 */
#define INV_E_SYNTAX	"MS201"	/* YAML syntax error */
#define INV_E_UNKNOWN	"MS202"	/* unknown key (hint: did you mean ...) */
#define INV_E_TYPE	"MS203"	/* wrong type */
#define INV_E_MISSING	"MS204"	/* missing required key */
#define INV_E_DUPLICATE	"MS205"	/* duplicate key or environment name */
#define INV_E_ROLLOUT	"MS206"	/* rollout names an environment with no file, or the reverse */
#define INV_E_DURATION	"MS207"	/* unparseable duration */
#define INV_E_URL	"MS208"	/* a URL or conninfo libpq cannot parse */
#define INV_E_VARIABLE	"MS209"	/* unset ${VAR}, or a malformed ${...} */
#define INV_E_VALUE	"MS210"	/* a value out of range or not allowed */
#define INV_W_SECRET	"MS211"	/* warning: a password written into the inventory */

/* Where a value was written. file is borrowed from the inventory. */
struct inventory_pos {
	const char *file;
	unsigned line;
	unsigned column;
};

enum inventory_executor {
	EXECUTOR_SQL,		/* migsync applies native .sql revisions itself */
	EXECUTOR_ALEMBIC,	/* migsync runs `alembic upgrade` */
};

struct inventory_database {
	char *url;		/* postgresql://... or "key=value ..."; may carry a password: never print it raw */
	char *host;
	int port;		/* 0: libpq's default */
	char *dbname;
	char *user;
	char *service;		/* a pg_service.conf entry */
	char *password_env;	/* name of the variable holding the password */
	char *sslmode;
	char *application_name;	/* default: "migsync" as fallback_application_name */
	int64_t connect_timeout;	/* seconds; default 5 */
	int64_t statement_timeout;	/* seconds; 0: the server's setting */
	int64_t lock_wait;		/* seconds to wait for migsync's advisory lock; default 300 */
	char *version_table;		/* default "alembic_version" */
	char *version_table_schema;	/* NULL: the search_path's first schema */
	struct inventory_pos pos;	/* the database: key */
	struct inventory_pos url_pos;
};

struct inventory_ssh {
	bool enabled;		/* an ssh: section with a host */
	char *host;
	int port;		/* default 22 */
	char *user;
	char *identity;		/* private key file, ~ expanded */
	bool agent;		/* authenticate with ssh-agent */
	char *passphrase_env;	/* variable holding the key's passphrase */
	char *known_hosts;	/* default ~/.ssh/known_hosts, ~ expanded */
	int64_t connect_timeout;	/* seconds; default 10 */
	bool run;		/* run the executor on the bastion instead of tunnelling */
	char *workdir;		/* working directory on the bastion for run: true */
	struct inventory_pos pos;
};

struct inventory_gate {
	int approvals;			/* distinct approvers needed before this stage */
	struct strvec approvers;	/* who may approve; empty: anyone */
	int64_t soak;			/* seconds the previous stage must have held the target */
	/*
	 * distinct approvers needed instead of approvals when a step of the
	 * stage carries a safety finding no comment allows; 0: approvals
	 */
	int risky_approvals;
	struct inventory_pos pos;
};

struct inventory_targets {
	struct strvec databases;	/* empty: the environment's own dbname */
	char *discover;			/* SQL returning one datname per row, or NULL */
	/*
	 * Schema-per-tenant: each schema of the environment's database (or
	 * of each of its databases, with databases or discover) is a
	 * target, with its version table in that schema (never with
	 * database.version_table_schema).
	 */
	struct strvec schemas;
	char *discover_schemas;		/* SQL returning one nspname per row, or NULL */
	struct inventory_pos pos;
};

struct inventory;

/* A number of databases: a count, or a percentage of the fleet (rounded up). */
struct inventory_amount {
	int64_t value;
	bool percent;
};

/*
 * How a fleet is rolled out (fleet: in an environment file): the canary
 * databases first, each alone; then batches, parallel databases at once
 * inside a batch; past max_failures failed databases the run stops at the
 * end of the batch. Defaults: no canary, batches of 1, parallel 1,
 * max_failures 0 (one database after the other, stopping at the first
 * failure).
 */
struct inventory_fleet {
	struct inventory_amount canary;
	struct inventory_amount batch;
	int parallel;
	int max_failures;
	struct inventory_pos pos;	/* the fleet: key; file NULL when not written */
};

/*
 * A share of the targets (--shard K/N, or a Kubernetes Indexed Job):
 * count 0 or 1 is every target.
 */
struct inventory_shard {
	unsigned index;		/* K, 0 .. count-1 */
	unsigned count;		/* N */
};

/* Give every environment of inv the shard (the targets expand to its share only). */
void inventory_set_shard(struct inventory *inv, const struct inventory_shard *shard);

/* The size of amount a for a fleet of nr databases (a percentage rounded up). */
size_t inventory_amount_of(const struct inventory_amount *a, size_t nr);

struct environment {
	char *name;
	char *file;		/* the environment's YAML file */
	size_t stage;		/* index in rollout, 0-based */
	char *before_apply;	/* shell command run before applying, or NULL */
	struct inventory_database database;
	struct inventory_ssh ssh;
	struct inventory_gate gate;
	struct inventory_targets targets;
	struct inventory_fleet fleet;
	struct inventory_shard shard;	/* set by inventory_set_shard, not read from the file */
	struct inventory_pos pos;	/* the name: key, else the file's start */
};

/* Whether env stands for many targets: databases, discover, schemas or discover_schemas. */
bool inventory_env_is_fleet(const struct environment *env);
/* Whether expanding env's targets runs a query (discover or discover_schemas). */
bool inventory_env_discovers(const struct environment *env);

/*
 * Every key is optional. project_open completes what the file leaves
 * out: alembic_ini (the one found beside the inventory or in the current
 * directory), scripts (alembic.ini's version locations) and executor
 * (alembic when the revisions are .py files, else sql).
 */
struct inventory_migrations {
	struct strvec scripts;	/* versions directories, resolved relative to inventory.yaml */
	enum inventory_executor executor;
	bool executor_given;	/* executor: was in the file */
	char *executor_invalid;	/* an unknown executor: value (a warning at load), or NULL */
	char *alembic_ini;	/* resolved relative to inventory.yaml, or NULL */
	char *alembic_section;	/* the ini's main section (Alembic's -n NAME), or NULL: alembic */
	char *python;		/* the interpreter for Alembic, or NULL: found (see project_python_find) */
	struct strvec pass_env;	/* names of variables Alembic gets besides its allowlist */
	struct inventory_pos scripts_pos;
};

struct inventory {
	char *dir;
	char *file;		/* dir/inventory.yaml */
	char *project;
	struct inventory_migrations migrations;
	struct environment *envs;	/* in rollout order */
	size_t nr;
	/*
	 * The values ${VAR} put into the inventory for variables whose names
	 * look secret (inventory_name_is_secret): whatever shows inventory
	 * values to people replaces them with "***" (see docs/guides/inventory.md).
	 */
	struct strvec secrets;
};

/*
 * The inventory directory to use: option (from -i) when not NULL, else
 * $MIGSYNC_INVENTORY when set and not empty, else "environments".
 */
const char *inventory_choose_dir(const char *option);

/*
 * Load and validate the inventory in dir. On success *out is the
 * inventory (the caller frees it with inventory_free) and warnings may
 * have been appended to problems. On failure returns MS_ERR_CONFIG (bad
 * content; every problem found is appended to problems as a DIAG_ERROR
 * with file, line, column, one of the INV_E_* codes and often a hint) or
 * MS_ERR_IO (dir or inventory.yaml unreadable), err says what failed in
 * one line, and *out is NULL. problems may be NULL.
 */
int inventory_load(struct inventory **out, const char *dir,
		   struct diag_list *problems, struct ms_error *err);
void inventory_free(struct inventory *inv);

/* The environment called name, or NULL. */
const struct environment *inventory_find(const struct inventory *inv, const char *name);

const char *inventory_executor_name(enum inventory_executor executor);

/*
 * An inventory of one database given by a URL or conninfo (--url,
 * $DATABASE_URL): project name, one environment env_name, no gate. Its
 * password goes into secrets. Returns 0, or MS_ERR_CONFIG when libpq
 * cannot parse url (the message never shows it).
 */
int inventory_for_url(struct inventory **out, const char *project, const char *env_name,
		      const char *url, struct ms_error *err);

/*
 * Parse a duration: "30s", "5m", "1h30m", "2d", or a plain number of
 * seconds. Returns 0 and sets *seconds, or -1 when s is not a duration.
 */
int inventory_parse_duration(const char *s, int64_t *seconds);

/* Format seconds as the shortest duration string ("1h30m", "0s"); caller frees. */
char *inventory_format_duration(int64_t seconds);

/*
 * Expand ${VAR}, ${VAR:-default} and $$ in s from the process
 * environment. Returns 0 and sets *out (caller frees), or -1 with
 * *bad_offset set to the offset of the offending "${" in s and err saying
 * which variable is unset or what is malformed.
 */
int inventory_interpolate(char **out, const char *s, size_t *bad_offset,
			  struct ms_error *err);

/*
 * inventory_interpolate, and when secrets is not NULL the value of every
 * variable whose name looks secret (inventory_name_is_secret) that was
 * put into s is appended to secrets (once; empty values and defaults
 * written in the file are not).
 */
int inventory_interpolate_secrets(char **out, const char *s, size_t *bad_offset,
				  struct strvec *secrets, struct ms_error *err);

/*
 * True when a variable's name says it holds a secret: it contains
 * PASSWORD, PASSWD, SECRET, TOKEN, KEY or CREDENTIAL, in any case.
 */
bool inventory_name_is_secret(const char *name);

/* Levenshtein distance between a and b (for "did you mean"). */
unsigned inventory_levenshtein(const char *a, const char *b);

/*
 * libpq connection parameters for one target of an environment, for
 * PQconnectdbParams(keywords, values, 0). keywords and values are
 * NULL-terminated; values may hold a password (from password_env or the
 * URL): never print them; inventory_conninfo_release wipes it.
 */
struct inventory_conninfo {
	char **keywords;
	char **values;
	size_t nr;
	size_t alloc;
};
#define INVENTORY_CONNINFO_INIT { NULL, NULL, 0, 0 }

/*
 * Fill out for env and dbname (NULL: the environment's own database).
 * The URL (if any) is split into parameters first; host, port, dbname,
 * user, service, sslmode, connect_timeout and application_name override
 * it; statement_timeout becomes options=-c statement_timeout=...; the
 * password is read from password_env's variable (an unset variable is
 * MS_ERR_CONFIG naming the variable, never the value); otherwise libpq
 * itself looks at .pgpass, PGPASSWORD and the service file.
 */
int inventory_conninfo(struct inventory_conninfo *out, const struct environment *env,
		       const char *dbname, struct ms_error *err);
/* Set (or replace) one parameter, e.g. host/port for an SSH tunnel. */
void inventory_conninfo_set(struct inventory_conninfo *ci, const char *keyword,
			    const char *value);
/* The value of keyword, or NULL. */
const char *inventory_conninfo_get(const struct inventory_conninfo *ci, const char *keyword);
void inventory_conninfo_release(struct inventory_conninfo *ci);

/*
 * A copy of a connection string safe to show: the password of a
 * postgresql:// URL (user:PASSWORD@) and any password= parameter (in the
 * URL query or a "key=value" conninfo) become "***". When in doubt it
 * redacts more, never less. Caller frees.
 */
char *inventory_redact_url(const char *url);

/*
 * "user@host:port/dbname" for env and dbname (NULL: the environment's
 * own database), with parts libpq would default left out, or
 * "service=NAME/dbname". Never contains a password. Caller frees.
 */
char *inventory_describe_target(const struct environment *env, const char *dbname);

#endif
