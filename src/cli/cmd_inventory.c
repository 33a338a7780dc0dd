/*
 * migsync inventory: load, validate and show the inventory, every secret
 * redacted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/inventory.h"
#include "migsync/json.h"
#include "migsync/project.h"
#include "migsync/strbuf.h"

static void print_help(void)
{
	printf("migsync inventory shows the inventory: environments in rollout order,\n"
	       "how their databases are reached, and the gates between them.\n"
	       "\n"
	       "Usage:\n"
	       "  migsync inventory [OPTION]...\n"
	       "\n"
	       "Options:\n"
	       "  -i, --inventory=PATH   inventory directory (default: $MIGSYNC_INVENTORY or environments/)\n"
	       "      --url=URL          one database instead of an inventory (also $DATABASE_URL)\n"
	       "      --scripts=DIR      versions directory (default: the inventory's migrations.scripts)\n"
	       "      --format=FORMAT    text (default) or json\n"
	       "  -h, --help             show this help, then exit\n"
	       "\n"
	       "Passwords are never shown: a password in a URL appears as ***, password_env\n"
	       "as the variable's name, and the value of a ${VAR} whose name contains\n"
	       "PASSWORD, PASSWD, SECRET, TOKEN, KEY or CREDENTIAL (any case) as ***.\n"
	       "\n"
	       "Exit status:\n"
	       "  0  the inventory is valid (warnings allowed)\n"
	       "  1  valid, but its revision scripts cannot be read (a scripts directory that\n"
	       "     does not exist, a revision file that cannot be parsed)\n"
	       "  2  could not run: an invalid inventory (every problem is listed), usage\n");
}

/*
 * What must not be shown: the values of secret-looking ${VAR}s, and of
 * the variables password_env and passphrase_env name (never interpolated,
 * but a value written elsewhere as ${VAR} of another name is caught).
 */
static void inventory_secrets(struct strvec *out, const struct inventory *inv)
{
	for (size_t i = 0; i < inv->secrets.nr; i++)
		strvec_push(out, inv->secrets.items[i]);
	for (size_t i = 0; i < inv->nr; i++) {
		const char *names[2] = { inv->envs[i].database.password_env,
					 inv->envs[i].ssh.passphrase_env };

		for (size_t k = 0; k < 2; k++) {
			const char *value = names[k] ? getenv(names[k]) : NULL;

			if (value && *value && !strvec_contains(out, value))
				strvec_push(out, value);
		}
	}
}

static void add_duration(struct strbuf *sb, const char *label, int64_t seconds)
{
	char *s = inventory_format_duration(seconds);

	strbuf_addf(sb, "%s %s", label, s);
	free(s);
}

static void text_environment(struct strbuf *sb, const struct environment *env, size_t stages)
{
	const struct inventory_database *db = &env->database;
	const struct inventory_ssh *ssh = &env->ssh;
	const struct inventory_gate *gate = &env->gate;
	char *target = inventory_describe_target(env, NULL);

	strbuf_addf(sb, "\nenvironment %s (stage %zu of %zu, %s)\n", env->name,
		    env->stage + 1, stages, env->file);
	strbuf_addf(sb, "  database:      %s\n", target);
	if (db->url) {
		char *url = inventory_redact_url(db->url);

		strbuf_addf(sb, "  url:           %s\n", url);
		free(url);
	}
	if (db->service)
		strbuf_addf(sb, "  service:       %s\n", db->service);
	if (db->password_env)
		strbuf_addf(sb, "  password:      from $%s\n", db->password_env);
	else
		strbuf_addstr(sb, "  password:      .pgpass, service file or none\n");
	if (db->sslmode)
		strbuf_addf(sb, "  sslmode:       %s\n", db->sslmode);
	strbuf_addstr(sb, "  timeouts:      ");
	add_duration(sb, "connect", db->connect_timeout);
	if (db->statement_timeout)
		add_duration(sb, ", statement", db->statement_timeout);
	add_duration(sb, ", lock wait", db->lock_wait);
	strbuf_addch(sb, '\n');
	strbuf_addf(sb, "  version table: %s%s%s\n",
		    db->version_table_schema ? db->version_table_schema : "",
		    db->version_table_schema ? "." : "", db->version_table);
	if (ssh->enabled) {
		strbuf_addf(sb, "  ssh:           %s%s%s:%d", ssh->user ? ssh->user : "",
			    ssh->user ? "@" : "", ssh->host, ssh->port);
		if (ssh->agent)
			strbuf_addstr(sb, ", agent");
		if (ssh->identity)
			strbuf_addf(sb, ", identity %s", ssh->identity);
		if (ssh->passphrase_env)
			strbuf_addf(sb, " (passphrase from $%s)", ssh->passphrase_env);
		if (ssh->run)
			strbuf_addf(sb, ", runs there%s%s", ssh->workdir ? " in " : "",
				    ssh->workdir ? ssh->workdir : "");
		strbuf_addch(sb, '\n');
		strbuf_addf(sb, "  known hosts:   %s\n", ssh->known_hosts);
	}
	strbuf_addf(sb, "  gate:          %d approval%s", gate->approvals,
		    gate->approvals == 1 ? "" : "s");
	if (gate->approvers.nr) {
		strbuf_addstr(sb, " from ");
		for (size_t i = 0; i < gate->approvers.nr; i++)
			strbuf_addf(sb, "%s%s", i ? ", " : "", gate->approvers.items[i]);
	}
	if (gate->soak)
		add_duration(sb, ", soak", gate->soak);
	strbuf_addch(sb, '\n');
	for (int k = 0; k < 2; k++) {
		const struct strvec *v = k ? &env->targets.schemas : &env->targets.databases;

		if (!v->nr)
			continue;
		strbuf_addstr(sb, k ? "  schemas:       " : "  targets:       ");
		for (size_t i = 0; i < v->nr; i++)
			strbuf_addf(sb, "%s%s", i ? ", " : "", v->items[i]);
		strbuf_addch(sb, '\n');
	}
	if (env->targets.discover)
		strbuf_addf(sb, "  discover:      %s\n", env->targets.discover);
	if (env->targets.discover_schemas)
		strbuf_addf(sb, "  discover schemas: %s\n", env->targets.discover_schemas);
	if (env->before_apply)
		strbuf_addf(sb, "  before apply:  %s\n", env->before_apply);
	free(target);
}

/* The interpreter that would run Alembic, and the Alembic it imports. */
struct interpreter {
	char *python;		/* NULL: none found */
	char *version;		/* NULL: it cannot import alembic */
	struct ms_error why;	/* why python or version is NULL */
};

static void find_interpreter(struct interpreter *it, const struct inventory *inv)
{
	if (project_python_find(&it->python, inv->migrations.python, &it->why) == 0)
		project_alembic_version(&it->version, it->python, &it->why);
}

static void text_inventory(struct strbuf *sb, const struct inventory *inv,
			   const struct project *p, const struct interpreter *it)
{
	const struct inventory_migrations *m = &inv->migrations;

	strbuf_addf(sb, "project:   %s\n", inv->project);
	strbuf_addf(sb, "inventory: %s\n", inv->file);
	for (size_t i = 0; i < p->script_dirs.nr; i++)
		strbuf_addf(sb, "scripts:   %s%s\n", p->script_dirs.items[i],
			    m->scripts.nr ? "" : " (from alembic.ini)");
	strbuf_addf(sb, "executor:  %s%s\n", inventory_executor_name(m->executor),
		    m->executor_given ? "" : " (from the revisions)");
	if (m->executor == EXECUTOR_ALEMBIC) {
		strbuf_addf(sb, "alembic:   %s\n", m->alembic_ini ? m->alembic_ini : "none found");
		if (m->alembic_section)
			strbuf_addf(sb, "section:   %s\n", m->alembic_section);
		if (it->python && it->version)
			strbuf_addf(sb, "python:    %s (Alembic %s)\n", it->python, it->version);
		else
			strbuf_addf(sb, "python:    %s: %s\n", it->python ? it->python : "none",
				    it->why.message ? it->why.message : "not found");
	}
	strbuf_addstr(sb, "rollout:   ");
	for (size_t i = 0; i < inv->nr; i++)
		strbuf_addf(sb, "%s%s", i ? " -> " : "", inv->envs[i].name);
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < inv->nr; i++)
		text_environment(sb, &inv->envs[i], inv->nr);
}

static void json_environment(struct json_writer *jw, const struct environment *env)
{
	const struct inventory_database *db = &env->database;
	const struct inventory_ssh *ssh = &env->ssh;
	char *url = inventory_redact_url(db->url);
	char *target = inventory_describe_target(env, NULL);

	json_object_begin(jw);
	json_kv_string(jw, "environment", env->name);
	json_kv_string(jw, "file", env->file);
	json_kv_int(jw, "stage", (int64_t)env->stage + 1);
	json_kv_string(jw, "before_apply", env->before_apply);

	/* database: the address, as every document names a database; connection: its settings */
	json_kv_string(jw, "database", target);
	json_key(jw, "connection");
	json_object_begin(jw);
	json_kv_string(jw, "url", url);
	json_kv_string(jw, "host", db->host);
	json_key(jw, "port");
	if (db->port)
		json_int(jw, db->port);
	else
		json_null(jw);
	json_kv_string(jw, "dbname", db->dbname);
	json_kv_string(jw, "user", db->user);
	json_kv_string(jw, "service", db->service);
	json_kv_string(jw, "password_env", db->password_env);
	json_kv_string(jw, "sslmode", db->sslmode);
	json_kv_string(jw, "application_name", db->application_name);
	json_kv_int(jw, "connect_timeout", db->connect_timeout);
	json_kv_int(jw, "statement_timeout", db->statement_timeout);
	json_kv_int(jw, "lock_wait", db->lock_wait);
	json_kv_string(jw, "version_table", db->version_table);
	json_kv_string(jw, "version_table_schema", db->version_table_schema);
	json_object_end(jw);

	json_key(jw, "ssh");
	if (ssh->enabled) {
		json_object_begin(jw);
		json_kv_string(jw, "host", ssh->host);
		json_kv_int(jw, "port", ssh->port);
		json_kv_string(jw, "user", ssh->user);
		json_kv_string(jw, "identity", ssh->identity);
		json_kv_bool(jw, "agent", ssh->agent);
		json_kv_string(jw, "passphrase_env", ssh->passphrase_env);
		json_kv_string(jw, "known_hosts", ssh->known_hosts);
		json_kv_int(jw, "connect_timeout", ssh->connect_timeout);
		json_kv_bool(jw, "run", ssh->run);
		json_kv_string(jw, "workdir", ssh->workdir);
		json_object_end(jw);
	} else {
		json_null(jw);
	}

	json_key(jw, "gate");
	json_object_begin(jw);
	json_kv_int(jw, "approvals", env->gate.approvals);
	cli_json_strvec(jw, "approvers", &env->gate.approvers);
	json_kv_int(jw, "soak", env->gate.soak);
	json_object_end(jw);

	json_key(jw, "fleet");
	json_object_begin(jw);
	cli_json_strvec(jw, "databases", &env->targets.databases);
	json_kv_string(jw, "discover", env->targets.discover);
	cli_json_strvec(jw, "schemas", &env->targets.schemas);
	json_kv_string(jw, "discover_schemas", env->targets.discover_schemas);
	json_object_end(jw);

	json_object_end(jw);
	free(url);
	free(target);
}

static void json_inventory(struct strbuf *sb, const struct inventory *inv,
			   const struct project *p, const struct interpreter *it)
{
	const struct inventory_migrations *m = &inv->migrations;
	struct json_writer jw;

	json_init(&jw, sb);
	render_json_begin(&jw, "inventory");
	json_kv_string(&jw, "project", inv->project);
	json_kv_string(&jw, "inventory", inv->file);
	json_key(&jw, "migrations");
	json_object_begin(&jw);
	cli_json_strvec(&jw, "scripts", &p->script_dirs);
	json_kv_string(&jw, "executor", inventory_executor_name(m->executor));
	json_kv_string(&jw, "alembic_ini", m->alembic_ini);
	json_kv_string(&jw, "alembic_section", m->alembic_section);
	json_kv_string(&jw, "python", it->python);
	json_kv_string(&jw, "alembic_version", it->version);
	json_object_end(&jw);
	json_key(&jw, "rollout");
	json_array_begin(&jw);
	for (size_t i = 0; i < inv->nr; i++)
		json_string(&jw, inv->envs[i].name);
	json_array_end(&jw);
	json_key(&jw, "environments");
	json_array_begin(&jw);
	for (size_t i = 0; i < inv->nr; i++)
		json_environment(&jw, &inv->envs[i]);
	json_array_end(&jw);
	json_object_end(&jw);
	strbuf_addch(sb, '\n');
}

int cmd_inventory(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common common;
	struct project project;
	struct project_options o = { NULL, NULL, PROJECT_INVENTORY | PROJECT_SCRIPTS | PROJECT_KEEP_GOING, 0,
				     NULL };
	struct interpreter it = { NULL, NULL, MS_ERROR_INIT };
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	struct strvec secrets = STRVEC_INIT;
	bool scripts_unreadable = false;
	int opt, ret = EXIT_OK;

	cli_common_init(&common);
	project_init(&project);
	optind = 1;
	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int r;

		if (opt == OPT_HELP) {
			print_help();
			goto done;
		}
		r = cli_common_option(&common, "inventory", opt, optarg);
		if (r < 0) {
			ret = EXIT_CANNOT_RUN;
			goto done;
		}
		if (r == 0) {
			ret = cli_usage_error("inventory", "unknown option");
			goto done;
		}
	}
	ret = cli_extra_arguments("inventory", argc, argv, optind);
	if (ret != EXIT_OK)
		goto done;
	o.inventory = common.inventory;
	o.url = common.url;
	o.scripts = &common.scripts_dirs;
	/* revisions that cannot be read do not hide the inventory */
	if (project_open(&project, &o, &err) < 0 && project.inv) {
		cli_print_warnings(&project.diags);
		cli_print_error(&err);
		diag_list_release(&project.diags);
		ms_error_release(&err);
		scripts_unreadable = true;
	} else if (!project.inv) {
		cli_print_warnings(&project.diags);
		if (!project.diags.nr || err.code != MS_ERR_CONFIG)
			cli_print_error(&err);
		else {
			ms_error_set(&err, MS_ERR_CONFIG, "inventory \"%s\": %zu problem%s",
				     inventory_choose_dir(common.inventory),
				     diag_list_count(&project.diags, DIAG_ERROR),
				     diag_list_count(&project.diags, DIAG_ERROR) == 1 ? "" : "s");
			cli_print_error(&err);
		}
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	cli_print_warnings(&project.diags);
	/* only this command and those that run Alembic start Python */
	if (project.inv->migrations.executor == EXECUTOR_ALEMBIC)
		find_interpreter(&it, project.inv);
	if (common.format == FORMAT_JSON)
		json_inventory(&out, project.inv, &project, &it);
	else
		text_inventory(&out, project.inv, &project, &it);
	inventory_secrets(&secrets, project.inv);
	cli_scrub(&out, &secrets);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && scripts_unreadable)
		ret = EXIT_PROBLEMS;
done:
	free(it.python);
	free(it.version);
	ms_error_release(&it.why);
	strvec_release(&secrets);
	strbuf_release(&out);
	project_release(&project);
	ms_error_release(&err);
	cli_common_release(&common);
	return ret;
}
