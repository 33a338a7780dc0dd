/*
 * probe_driver: probe targets given on the command line (or in a file)
 * with the probe module and print one line per result, in completion
 * order, for the integration tests:
 *
 *   NAME <tab> STATE <tab> ROWS <tab> SERVER_VERSION <tab> LEDGER <tab> MS <tab> ERROR <tab> HINT
 *
 * ROWS are the version rows joined by commas; empty fields are "-".
 * Exit status: 0 when every target is ok or uninitialized, 1 otherwise,
 * 2 on a usage error.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/observe.h"
#include "migsync/strbuf.h"
#include "migsync/tunnel.h"
#include "migsync/util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: probe_driver [OPTION]... NAME=CONNINFO...\n"
		"\n"
		"Options:\n"
		"  -f, --file=FILE              read NAME=CONNINFO lines from FILE (- for stdin)\n"
		"  -j, --jobs=N                 worker threads (default min(16, targets))\n"
		"  -t, --connect-timeout=S      connection timeout in seconds\n"
		"  -s, --statement-timeout=MS   statement timeout in milliseconds\n"
		"      --table=NAME             version table (default alembic_version)\n"
		"      --schema=NAME            version table schema (default: search_path)\n"
		"      --ledger-schema=NAME     ledger schema (default migsync)\n"
		"\n"
		"SSH tunnel:\n"
		"      --ssh-host=HOST, --ssh-port=PORT, --ssh-user=USER\n"
		"      --ssh-identity=FILE, --ssh-known-hosts=FILE\n"
		"      --ssh-passphrase-env=VAR, --ssh-timeout=S\n");
}

static void field(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\t');
	if (!s || !*s) {
		strbuf_addch(sb, '-');
		return;
	}
	for (; *s; s++)
		strbuf_addch(sb, *s == '\t' || *s == '\n' ? ' ' : *s);
}

static void print_result(size_t index, const struct observe_probe *target,
			 struct observation *res, void *ctx)
{
	struct strbuf sb = STRBUF_INIT, rows = STRBUF_INIT;
	int *failed = ctx;

	for (size_t i = 0; i < res->version_rows.nr; i++) {
		if (i)
			strbuf_addch(&rows, ',');
		strbuf_addstr(&rows, res->version_rows.items[i]);
	}
	strbuf_addstr(&sb, target->name);
	field(&sb, observe_state_name(res->state));
	field(&sb, rows.buf);
	strbuf_addf(&sb, "\t%d", res->server_version);
	field(&sb, res->ledger_applied_exists ? "applied" :
	      res->ledger_schema_exists ? "schema" : "none");
	strbuf_addf(&sb, "\t%lld", (long long)res->elapsed_ms);
	field(&sb, res->error.message);
	field(&sb, res->error.hint);
	printf("%s\n", sb.buf);
	fflush(stdout);
	if (res->state != OBSERVE_OK && res->state != OBSERVE_UNINITIALIZED)
		*failed = 1;
	strbuf_release(&sb);
	strbuf_release(&rows);
}

static int add_spec(struct strvec *names, struct strvec *conninfos, const char *spec)
{
	const char *eq = strchr(spec, '=');

	if (!eq || eq == spec)
		return -1;
	strvec_push_owned(names, xstrndup(spec, (size_t)(eq - spec)));
	strvec_push(conninfos, eq + 1);
	return 0;
}

static int read_specs(struct strvec *names, struct strvec *conninfos, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = 0;

	if (!f)
		return -1;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (add_spec(names, conninfos, line) < 0)
			ret = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	enum { OPT_TABLE = 256, OPT_SCHEMA, OPT_LEDGER, OPT_SSH_HOST, OPT_SSH_PORT,
	       OPT_SSH_USER, OPT_SSH_IDENTITY, OPT_SSH_KNOWN_HOSTS, OPT_SSH_PASSPHRASE_ENV,
	       OPT_SSH_TIMEOUT };
	static const struct option long_options[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "connect-timeout", required_argument, NULL, 't' },
		{ "statement-timeout", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "schema", required_argument, NULL, OPT_SCHEMA },
		{ "ledger-schema", required_argument, NULL, OPT_LEDGER },
		{ "ssh-host", required_argument, NULL, OPT_SSH_HOST },
		{ "ssh-port", required_argument, NULL, OPT_SSH_PORT },
		{ "ssh-user", required_argument, NULL, OPT_SSH_USER },
		{ "ssh-identity", required_argument, NULL, OPT_SSH_IDENTITY },
		{ "ssh-known-hosts", required_argument, NULL, OPT_SSH_KNOWN_HOSTS },
		{ "ssh-passphrase-env", required_argument, NULL, OPT_SSH_PASSPHRASE_ENV },
		{ "ssh-timeout", required_argument, NULL, OPT_SSH_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct strvec names = STRVEC_INIT, conninfos = STRVEC_INIT;
	struct tunnel_config ssh;
	struct observe_probe proto;
	struct observe_probe *targets = NULL;
	struct observation *results = NULL;
	struct ms_error err = MS_ERROR_INIT;
	unsigned jobs = 0;
	int c, failed = 0, ret = 2;

	memset(&ssh, 0, sizeof(ssh));
	memset(&proto, 0, sizeof(proto));
	while ((c = getopt_long(argc, argv, "f:j:t:s:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (read_specs(&names, &conninfos, optarg) < 0) {
				fprintf(stderr, "probe_driver: file \"%s\": could not read targets\n", optarg);
				goto done;
			}
			break;
		case 'j':
			jobs = (unsigned)atoi(optarg);
			break;
		case 't':
			proto.connect_timeout_s = atoi(optarg);
			break;
		case 's':
			proto.statement_timeout_ms = atoi(optarg);
			break;
		case OPT_TABLE:
			proto.version_table = optarg;
			break;
		case OPT_SCHEMA:
			proto.version_schema = optarg;
			break;
		case OPT_LEDGER:
			proto.ledger_schema = optarg;
			break;
		case OPT_SSH_HOST:
			ssh.host = optarg;
			break;
		case OPT_SSH_PORT:
			ssh.port = atoi(optarg);
			break;
		case OPT_SSH_USER:
			ssh.user = optarg;
			break;
		case OPT_SSH_IDENTITY:
			ssh.identity_file = optarg;
			break;
		case OPT_SSH_KNOWN_HOSTS:
			ssh.known_hosts = optarg;
			break;
		case OPT_SSH_PASSPHRASE_ENV:
			ssh.passphrase_env = optarg;
			break;
		case OPT_SSH_TIMEOUT:
			ssh.connect_timeout_s = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto done;
		default:
			fprintf(stderr, "Try 'probe_driver --help' for more information.\n");
			goto done;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (add_spec(&names, &conninfos, argv[i]) < 0) {
			fprintf(stderr, "probe_driver: argument %d: expected NAME=CONNINFO\n", i);
			goto done;
		}
	}
	if (!names.nr) {
		usage(stderr);
		goto done;
	}
	if (ssh.host)
		proto.ssh = &ssh;

	targets = xcalloc(names.nr, sizeof(*targets));
	results = xcalloc(names.nr, sizeof(*results));
	for (size_t i = 0; i < names.nr; i++) {
		targets[i] = proto;
		targets[i].name = names.items[i];
		targets[i].conninfo = conninfos.items[i];
		observation_init(&results[i]);
	}
	if (observe_probe_run(results, targets, names.nr, jobs, print_result, &failed, &err) < 0) {
		fprintf(stderr, "probe_driver: %s\n", err.message);
		goto done;
	}
	ret = failed;
done:
	for (size_t i = 0; results && i < names.nr; i++)
		observation_release(&results[i]);
	free(results);
	free(targets);
	strvec_release(&names);
	strvec_release(&conninfos);
	ms_error_release(&err);
	conn_global_cleanup();
	return ret;
}
