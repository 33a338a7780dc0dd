#ifndef MIGSYNC_LINT_H
#define MIGSYNC_LINT_H

/*
 * Lint rules over a set of revision scripts, and a health summary in the
 * spirit of a "migration health report": per category, how many
 * revisions are clean.
 *
 * The rules work on a broken set too (duplicate ids, cycles, dangling
 * references): graph problems come from revgraph_build (MS002-MS006),
 * every per-file rule still runs, and "multiple heads" is computed from
 * down_revision alone.
 *
 * Codes are a contract; severities in brackets:
 *
 *   MS001 multiple heads [error]
 *   MS002 dangling down_revision [error]        (revgraph)
 *   MS003 duplicate revision id [error]         (revgraph)
 *   MS004 cycle or self-loop [error]            (revgraph)
 *   MS005 branch label reused [error]           (revgraph)
 *   MS006 dangling depends_on [error]           (revgraph)
 *   MS010 placeholder-looking revision id [warning]
 *   MS011 revision id breaks the id pattern [warning]
 *   MS012 file name breaks the file pattern [warning]
 *   MS013 file name does not start with its revision id [warning]
 *   MS020 downgrade() is empty [warning]
 *   MS021 no downgrade() [warning]
 *   MS022 upgrade is empty [warning]
 *   MS023 no message [warning]
 *   MS024 native SQL revision without an up section [error]
 *   MS030 reader warning (non-literal branch_labels / depends_on) [warning]
 *   MS031 native SQL outside the up/down sections, ignored [warning]
 *   MS040 file that could not be read or parsed [error]
 *   MS100-MS114 the safety rules (safety.h): syntax-error [error], the
 *         others [warning]; findings a migsync:allow comment allows are left out
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/safety.h"
#include "migsync/scripts.h"
#include "migsync/util.h"

/*
 * The default id pattern accepts what `alembic revision` generates (12
 * lowercase hex characters), a full 32-character uuid hex, and the
 * common custom schemes passed with --rev-id: a plain counter or a date
 * ("0001", "20250824") optionally followed by "_" and a counter
 * ("20250824_001").
 */
#define LINT_DEFAULT_ID_PATTERN \
	"^([0-9a-f]{12}|[0-9a-f]{32}|[0-9]{3,14}(_[0-9]{1,6})?)$"

/*
 * The default file pattern accepts Alembic's default file_template
 * "<rev>_<slug>" and its dated variant "<date>-<rev>_<slug>" (the
 * template Alembic's documentation suggests), for .py and .sql, with a
 * lowercase slug of letters, digits and underscores.
 */
#define LINT_DEFAULT_FILE_PATTERN \
	"^([0-9_]+-)?[0-9A-Za-z]+(_[0-9a-z]+)+\\.(py|sql)$"

enum lint_category {
	LINT_INTEGRITY,		/* MS002-MS004, MS006, MS020-MS022, MS024, MS031, MS040 */
	LINT_NAMING,		/* MS010-MS013 */
	LINT_DEPENDENCIES,	/* MS001, MS005, MS030 */
	LINT_DOCUMENTATION,	/* MS023 */
	LINT_SAFETY,		/* the safety rules (safety.h, MS100-MS114) */
	LINT_CATEGORY_NR,
};

struct lint_rule {
	const char *code;
	enum diag_severity severity;
	enum lint_category category;
	const char *summary;
};

/* The rule with this code, or NULL. */
const struct lint_rule *lint_rule_find(const char *code);
/* Every rule, in code order; *nr receives the count. */
const struct lint_rule *lint_rules(size_t *nr);
const char *lint_category_name(enum lint_category category);

struct lint_options {
	const char *id_pattern;		/* POSIX ERE; NULL: LINT_DEFAULT_ID_PATTERN */
	const char *file_pattern;	/* POSIX ERE; NULL: LINT_DEFAULT_FILE_PATTERN */
	struct strvec disabled;		/* codes (or safety rule names) whose findings are dropped */
	const struct safety_list *safety;	/* the safety review's findings, or NULL */
};

void lint_options_init(struct lint_options *opts);
void lint_options_release(struct lint_options *opts);

struct lint_category_count {
	size_t clean;	/* revisions with no finding of the category */
	size_t total;
};

struct lint_report {
	struct diag_list findings;	/* sorted by file, line, code */
	size_t revisions;		/* scripts read, plus files that could not be */
	size_t errors;
	size_t warnings;
	struct lint_category_count categories[LINT_CATEGORY_NR];
};

void lint_report_init(struct lint_report *report);
void lint_report_release(struct lint_report *report);

/* Percentage of revisions clean in a category, one decimal; 100 when there are none. */
double lint_category_percent(const struct lint_category_count *count);

/*
 * Read the revision files of dir like scripts_read_dir, but go on past a
 * file that cannot be read or parsed: such a file becomes an MS040
 * DIAG_ERROR in reader (with its line when the reader's message names
 * one), and reader warnings are appended to reader as they come.
 * import_path is where imported constants are looked for, as in
 * scripts_read_dir_in (Alembic's prepend_sys_path; may be NULL).
 * Returns 0, or MS_ERR_IO when the directory itself cannot be listed.
 */
int lint_read_dir(struct script_set *set, struct diag_list *reader,
		  const char *dir, unsigned flags, const struct strvec *import_path,
		  struct ms_error *err);

/*
 * Run every rule over scripts. reader (may be NULL) holds what the
 * script reader said: its warnings keep their code when it is one of
 * ours (MS030, MS031) and become MS030 otherwise; its errors become MS040
 * findings (each such file counts as a revision that is not
 * clean). out must be initialized; findings are appended to it, minus
 * the disabled codes, and the counts filled in.
 * Returns 0, or MS_ERR_USAGE for an invalid pattern or unknown code in
 * opts (err says which); a broken graph is not an error here.
 */
int lint_run(struct lint_report *out, const struct script_set *scripts,
	     const struct diag_list *reader, const struct lint_options *opts,
	     struct ms_error *err);

/*
 * Why an id looks like a placeholder ("one repeated character", "a
 * counting sequence", ...), or NULL when it looks real. Random ids such
 * as Alembic generates are flagged with a probability below 1 in 5,000.
 */
const char *lint_placeholder_reason(const char *id);

#endif
