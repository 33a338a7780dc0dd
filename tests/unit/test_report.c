#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migsync/report.h"
#include "migsync/strbuf.h"
#include "migsync/util.h"

/*
 * report_merge_files on small shard documents: which shards merge, into
 * what order of databases, and the message of each refusal.
 */

/* One shard's document: a fleet "tenants" holding the databases dbs ("a,b"). */
struct shard {
	int index;		/* -1: no more shards */
	unsigned count;
	const char *dbs;
	const char *project;
	const char *raw;	/* the file's whole text instead, or NULL */
	const char *dir;	/* where its runner read the revision files (NULL: "v") */
};

struct merge_case {
	const char *name;
	struct shard shards[5];
	int code;
	const char *expect;	/* the databases in merged order, or a part of the error message */
};

#define END { -1, 0, NULL, NULL, NULL, NULL }

static const struct merge_case merge_cases[] = {
	{ "two shards, put back in name order",
	  { { 1, 2, "tenant_a,tenant_c", "p", NULL, NULL }, { 0, 2, "tenant_b", "p", NULL, NULL }, END },
	  0, "tenant_a,tenant_b,tenant_c" },
	{ "a shard with no database of the fleet",
	  { { 0, 3, "", "p", NULL, NULL }, { 2, 3, "tenant_b", "p", NULL, NULL }, { 1, 3, "tenant_a", "p", NULL, NULL }, END },
	  0, "tenant_a,tenant_b" },
	{ "one shard of one",
	  { { 0, 1, "tenant_a", "p", NULL, NULL }, END },
	  0, "tenant_a" },
	{ "tenant schemas of one database in two shards",
	  { { 0, 2, "tenant_a:s2,tenant_b:s1", "p", NULL, NULL }, { 1, 2, "tenant_a:s1", "p", NULL, NULL }, END },
	  0, "tenant_a,tenant_a,tenant_b" },
	{ "runners that read the files from different directories",
	  { { 0, 2, "tenant_a", "p", NULL, "/runner-1/work/v" }, { 1, 2, "tenant_b", "p", NULL, "/runner-2/v" }, END },
	  0, "tenant_a,tenant_b" },
	{ "a missing shard",
	  { { 0, 4, "tenant_a", "p", NULL, NULL }, { 3, 4, "tenant_b", "p", NULL, NULL }, END },
	  MS_ERR_CONFIG, "shards 1, 2 of 4 are missing: 2 of 4 files given" },
	{ "the missing shard's job to rerun",
	  { { 0, 2, "tenant_a", "p", NULL, NULL }, END },
	  MS_ERR_CONFIG, "shard 1 of 2 is missing" },
	{ "a shard twice",
	  { { 0, 2, "tenant_a", "p", NULL, NULL }, { 1, 2, "tenant_b", "p", NULL, NULL }, { 1, 2, "tenant_c", "p", NULL, NULL }, END },
	  MS_ERR_CONFIG, "shard 1 of 2 again" },
	{ "another count",
	  { { 0, 2, "tenant_a", "p", NULL, NULL }, { 1, 3, "tenant_b", "p", NULL, NULL }, END },
	  MS_ERR_CONFIG, "shard 1 of 3, but" },
	{ "a database in two shards",
	  { { 0, 2, "tenant_a,tenant_b", "p", NULL, NULL }, { 1, 2, "tenant_b", "p", NULL, NULL }, END },
	  MS_ERR_CONFIG, "environment \"tenants\" (tenant_b): in two shards" },
	{ "a tenant schema in two shards",
	  { { 0, 2, "tenant_a:s1", "p", NULL, NULL }, { 1, 2, "tenant_a:s1", "p", NULL, NULL }, END },
	  MS_ERR_CONFIG, "in two shards" },
	{ "another project",
	  { { 0, 2, "tenant_a", "p", NULL, NULL }, { 1, 2, "tenant_b", "q", NULL, NULL }, END },
	  MS_ERR_CONFIG, "\"project\" differs" },
	{ "not JSON",
	  { { 0, 1, NULL, NULL, "{\n  \"format\": \n", NULL }, END },
	  MS_ERR_PARSE, ":3:0: not JSON" },
	{ "JSON of something else",
	  { { 0, 1, NULL, NULL, "[1, 2]\n", NULL }, END },
	  MS_ERR_PARSE, "not a document of migsync check (format missing)" },
	{ "a status document",
	  { { 0, 1, NULL, NULL, "{\"format\": \"migsync.status/1\"}", NULL }, END },
	  MS_ERR_PARSE, "a document of migsync status" },
	{ "a check without --shard",
	  { { 0, 1, NULL, NULL, "{\"format\": \"migsync.check/1\", \"shard\": null, \"graph\": []}", NULL }, END },
	  MS_ERR_PARSE, "not a shard's document (written without --shard)" },
	{ "a shard whose check failed",
	  { { 0, 1, NULL, NULL, "{\"format\": \"migsync.check/1\", \"error\": {\"message\": \"no inventory\"}}", NULL }, END },
	  MS_ERR_CONFIG, "this shard's check could not run: no inventory" },
	{ "a state that is none",
	  { { 0, 1, "tenant_?", "p", NULL, NULL }, END },
	  MS_ERR_PARSE, "targets: \"state\" is not a state" },
};

/* The document of s, as migsync check --shard writes it (the keys the merge reads). */
static char *shard_json(const struct shard *s)
{
	struct strbuf sb = STRBUF_INIT, targets = STRBUF_INIT, drift = STRBUF_INIT;
	struct strvec dbs = STRVEC_INIT;

	if (s->raw)
		return xstrdup(s->raw);
	for (const char *p = s->dbs, *comma; *p; p = *comma ? comma + 1 : comma) {
		comma = strchr(p, ',') ? strchr(p, ',') : p + strlen(p);
		strvec_push_owned(&dbs, xstrndup(p, (size_t)(comma - p)));
	}
	for (size_t i = 0; i < dbs.nr; i++) {
		bool bad = strchr(dbs.items[i], '?') != NULL;
		char *schema = strchr(dbs.items[i], ':');	/* "db:schema": a tenant schema */
		struct strbuf quoted = STRBUF_INIT;

		if (schema)
			*schema++ = '\0';
		strbuf_addf(&quoted, schema ? "\"%s\"" : "null", schema);
		strbuf_addf(&targets, "%s{\"database\": \"u@h:5432/%s\", \"dbname\": \"%s\", "
			    "\"schema\": %s, \"state\": \"%s\", \"heads\": [\"a1b2c3d4e5f6\"], "
			    "\"pending\": [], \"error\": null, \"note\": null, \"position\": null, "
			    "\"ledger_error\": null}", i ? ", " : "", dbs.items[i], dbs.items[i],
			    quoted.buf, bad ? "sideways" : "current");
		strbuf_release(&quoted);
		strbuf_addf(&drift, "%s{\"database\": \"u@h:5432/%s\", \"dbname\": \"%s\", "
			    "\"state\": \"unreachable\", \"fingerprint\": null, \"version_rows\": null, "
			    "\"error\": \"no schema\", \"differences\": [], \"invalid_indexes\": []}",
			    i ? ", " : "", dbs.items[i], dbs.items[i]);
	}
	strbuf_addf(&sb, "{\"format\": \"migsync.check/1\", \"migsync\": \"0.1.0\", "
		    "\"generated_at\": \"2026-12-05T00:00:00Z\", \"project\": \"%s\", "
		    "\"shard\": {\"index\": %d, \"count\": %u}, \"fail_on_pending\": false, "
		    "\"target\": [\"a1b2c3d4e5f6\"], \"graph_error\": null, "
		    "\"environments\": [{\"environment\": \"tenants\", \"fleet\": true, "
		    "\"error\": null, \"gate\": {\"approvals\": 1, \"risky_approvals\": 0}, "
		    "\"targets\": [%s], \"checksum_mismatches\": [], \"drift\": [%s]}], "
		    "\"lint\": {\"revisions\": 1, \"findings\": []}, "
		    "\"graph\": [{\"revision\": \"a1b2c3d4e5f6\", \"file\": \"%s/a1b2c3d4e5f6_x.sql\", "
		    "\"kind\": \"sql\", \"down_revisions\": [], \"depends_on\": [], "
		    "\"branch_labels\": [], \"message\": \"x\", \"doc\": null}], \"schemas\": []}\n",
		    s->project, s->index, s->count, targets.buf, drift.buf, s->dir ? s->dir : "v");
	strvec_release(&dbs);
	strbuf_release(&targets);
	strbuf_release(&drift);
	return strbuf_detach(&sb, NULL);
}

/* The merged databases of the first environment, joined by ",". */
static char *merged_dbs(const struct report_merge *m)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t t = 0; m->status.envs_nr && t < m->status.envs[0].targets_nr; t++) {
		strbuf_addf(&sb, "%s%s", t ? "," : "", m->status.envs[0].targets[t].database);
		/* a tenant schema's target comes after the one of a lower name */
		if (t && m->envs[0].targets[t].schema && m->envs[0].targets[t - 1].schema &&
		    !strcmp(m->envs[0].targets[t].dbname, m->envs[0].targets[t - 1].dbname))
			assert_true(strcmp(m->envs[0].targets[t - 1].schema,
					   m->envs[0].targets[t].schema) < 0);
	}
	return strbuf_detach(&sb, NULL);
}

static void test_merge_cases(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(merge_cases) / sizeof(*merge_cases); c++) {
		const struct merge_case *mc = &merge_cases[c];
		struct report_merge m;
		struct ms_error err = MS_ERROR_INIT;
		char *files[5] = { NULL };
		size_t nr = 0;
		int ret;

		report_merge_init(&m);
		for (; nr < 5 && mc->shards[nr].index >= 0; nr++) {
			char *text = shard_json(&mc->shards[nr]);
			int fd;

			files[nr] = xstrdup("/tmp/migsync-test-report.XXXXXX");
			fd = mkstemp(files[nr]);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
			close(fd);
			free(text);
		}
		ret = report_merge_files(&m, (const char *const *)files, nr, &err);
		if (ret != mc->code || (ret < 0 && !strstr(err.message, mc->expect)))
			fail_msg("%s: returned %d (%s), expected %d (%s)", mc->name, ret,
				 err.message ? err.message : "no error", mc->code, mc->expect);
		if (ret == 0) {
			char *got = merged_dbs(&m);

			if (strcmp(got, mc->expect))
				fail_msg("%s: merged \"%s\", expected \"%s\"", mc->name, got, mc->expect);
			assert_int_equal(m.drift.targets_nr, m.status.envs[0].targets_nr);
			assert_int_equal(m.envs[0].approvals, 1);
			free(got);
		}
		for (size_t i = 0; i < nr; i++) {
			unlink(files[i]);
			free(files[i]);
		}
		ms_error_release(&err);
		report_merge_release(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
