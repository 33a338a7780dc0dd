#ifndef MIGSYNC_SCRIPTS_H
#define MIGSYNC_SCRIPTS_H

/*
 * Reading revision scripts without executing them.
 *
 * Two kinds live side by side in a versions directory and form one graph:
 *
 *  - Alembic .py files: the module-level assignments revision,
 *    down_revision, branch_labels and depends_on (string, None, tuple or
 *    list of strings, optionally type-annotated) and the module docstring,
 *    whose first paragraph is the message. Files are skipped exactly as
 *    Alembic 1.8 skips them: names starting with "__init__" or ".#", and
 *    anything not ending in ".py".
 *  - native .sql files, `<rev>_<slug>.sql`, with `-- migsync:` headers and
 *    `-- migsync:up` / `-- migsync:down` sections (see DESIGN.md).
 *
 * A revision or down_revision that is not a literal, a missing revision or
 * down_revision, or a malformed header is an error naming file and line.
 * A branch_labels or depends_on item may be a name (`(cli.EXPAND_BRANCH,)`):
 * it is resolved to a module-level string constant (see
 * scripts_read_dir_in). A value that is no literal, or a name that does
 * not resolve, is a warning naming file and line, and the value is left
 * out. A revision id with @, - or + (Alembic refuses them) is an error.
 *
 * Errors read `"versions/ab12_x.py", line 7: revision is not a string
 * literal` (no line part when there is none, e.g. a missing revision),
 * usually with a hint. Warnings go to the diag_list: "MS030" for a
 * non-literal branch_labels/depends_on, "MS031" for SQL before the first
 * section of a .sql file. Binary files (a NUL byte), files larger than
 * SCRIPTS_MAX_FILE_SIZE and lines longer than 1 MiB are errors.
 *
 * message and doc replicate Alembic 1.8 on Python 3.11: doc is the module
 * docstring's value (escapes decoded, source newlines as "\n") stripped as
 * str.strip() strips it, message its part before the first "\n\n". A
 * docstring is the file's first statement made only of (non-f, non-b)
 * string literals. For .sql files message is the migsync:message header
 * and doc is NULL.
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/diag.h"
#include "migsync/error.h"
#include "migsync/util.h"

enum script_kind {
	SCRIPT_PYTHON,
	SCRIPT_SQL,
};

struct script {
	enum script_kind kind;
	char *path;		/* directory + "/" + file name */
	char *filename;		/* the file name alone */
	char *revision;
	struct strvec down_revisions;	/* empty: a base */
	struct strvec branch_labels;
	struct strvec depends_on;
	char *message;		/* first paragraph of the docstring / migsync:message; NULL if none */
	char *doc;		/* the whole docstring (Alembic's "longdoc"), NULL if none */

	/* 1-based lines of the assignments / headers, 0 when absent. */
	unsigned revision_line;
	unsigned down_revision_line;
	unsigned branch_labels_line;
	unsigned depends_on_line;

	/* Facts for lint. */
	bool has_upgrade;		/* def upgrade() present (python) */
	bool has_downgrade;		/* def downgrade() present (python) / down section (sql) */
	bool downgrade_empty;		/* body is only pass, docstring, comments or ... */
	unsigned downgrade_line;
	bool upgrade_empty;
	unsigned upgrade_line;

	/* Native SQL only. */
	bool has_up_section;
	char *up_sql;		/* NULL when there is no up section */
	char *down_sql;		/* NULL when there is no down section */
	unsigned up_line;	/* line of the first line after "-- migsync:up" */
	unsigned down_line;
	bool transactional;	/* migsync:transaction, default true */
	bool has_allow;		/* a -- migsync:allow line (the safety review reads the file then) */

	/* Lowercase hex SHA-256 of the file's bytes; "" unless SCRIPTS_SHA256. */
	char sha256[65];

	/*
	 * The readers keep path, filename, revision, message, doc and the
	 * strings of the three lists in one allocation starting at path and
	 * ending at strings_end (NULL when the strings were allocated one by
	 * one, e.g. by a test). script_release frees either form, and a field
	 * replaced by an allocated string of its own is freed on its own.
	 */
	const char *strings_end;
};

struct script_set {
	struct script *items;
	size_t nr;
	size_t alloc;
};

#define SCRIPT_SET_INIT { NULL, 0, 0 }

enum scripts_flags {
	SCRIPTS_SHA256 = 1 << 0,	/* compute each file's SHA-256 */
	SCRIPTS_KEEP_SQL = 1 << 1,	/* keep up_sql / down_sql text */
	SCRIPTS_KEEP_GOING = 1 << 2,	/* scripts_read_dir: go on past a bad file */
	/*
	 * scripts_read_dir: alembic.ini says sourceless = true. A compiled
	 * revision Alembic 1.8 would load (a .pyc or .pyo without its .py,
	 * or one in __pycache__ no file of the directory shares a name
	 * with) is an error naming the file: migsync reads sources only.
	 */
	SCRIPTS_SOURCELESS = 1 << 3,
};

/* Largest revision file migsync reads; larger files are an error. */
#define SCRIPTS_MAX_FILE_SIZE (16u * 1024 * 1024)

void script_set_init(struct script_set *set);
void script_set_release(struct script_set *set);

/*
 * Read every revision file in dir (not recursive) and append them to set,
 * sorted by file name so that results never depend on directory order.
 * Warnings (non-literal labels, ...) are appended to warnings.
 * Returns 0, or a negative ms_error_code with err naming the file and line
 * of the first error (files read before it stay in set).
 *
 * With SCRIPTS_KEEP_GOING a file that cannot be read or parsed does not
 * stop the reading: it becomes a DIAG_ERROR "MS040" in warnings (which
 * must not be NULL then) naming the file and, when the reader's message
 * has one, the line, with the message `file "x.py": <what>` and the
 * reader's hint; the other files are read. The return value is then an
 * error only when the directory itself cannot be listed.
 */
int scripts_read_dir(struct script_set *set, const char *dir, unsigned flags,
		     struct diag_list *warnings, struct ms_error *err);

/*
 * scripts_read_dir, where a name in branch_labels or depends_on (e.g.
 * `(cli.EXPAND_BRANCH,)`) may refer to a module-level string constant of
 * the file or of a module it imports: modules are looked for in
 * import_path (Alembic's prepend_sys_path; may be NULL), then in the
 * directories above the revision file. Nothing is executed; a name that
 * does not resolve to a literal stays an MS030 warning naming it.
 */
int scripts_read_dir_in(struct script_set *set, const char *dir, unsigned flags,
			const struct strvec *import_path, struct diag_list *warnings,
			struct ms_error *err);

/*
 * Parse one file's contents (len bytes; buf need not be NUL-terminated).
 * path is used for messages and to fill out->path / out->filename. out is
 * initialized here (it need not be); on error it is released, so the
 * caller only releases it after a success. warnings may be NULL.
 * SCRIPTS_SHA256 fills out->sha256; SCRIPTS_KEEP_SQL keeps the sections.
 */
int script_parse_python(struct script *out, const char *path,
			const char *buf, size_t len, unsigned flags,
			struct diag_list *warnings, struct ms_error *err);
int script_parse_sql(struct script *out, const char *path,
		     const char *buf, size_t len, unsigned flags,
		     struct diag_list *warnings, struct ms_error *err);

/* True when Alembic (or migsync, for .sql) would read a file of this name. */
bool scripts_is_revision_file(const char *filename);

void script_init(struct script *s);
void script_release(struct script *s);

/*
 * What migsync takes from an alembic.ini: the main section's (Alembic's
 * config_ini_section: [alembic], or the section -n NAME names) options as
 * ScriptDirectory.from_config reads them.
 */
struct alembic_config {
	char *script_location;		/* interpolated */
	struct strvec version_dirs;	/* the version locations, in order */
	struct strvec prepend_sys_path;	/* where env.py and revisions import from */
	bool sourceless;		/* sourceless = true: .pyc revisions count */
};

void alembic_config_init(struct alembic_config *c);
void alembic_config_release(struct alembic_config *c);

/*
 * Read an alembic.ini from text (len bytes, need not be NUL-terminated)
 * as Alembic reads it: Python's configparser in strict mode (sections,
 * "key = value" or "key: value", keys case-insensitive, # and ; comment
 * lines, values continued on lines indented deeper than their key,
 * %(name)s and %% interpolation; [DEFAULT] under the main section; a
 * duplicate section or key, or text that is no section, comment or
 * option, is an error), then ScriptDirectory.from_config. section is the
 * main section (NULL: "alembic").
 *
 *  - version_dirs: version_locations, when set and not empty, split as
 *    Alembic 1.16 splits it: by path_separator, else by the older
 *    version_path_separator, else (legacy) on spaces and commas; a
 *    separator is "space", "newline", "os" (":"), ":" or ";" (any other
 *    value is an error, as in Alembic). A newline always separates, and
 *    each location is stripped of blanks; empty ones are left out.
 *    Otherwise (or when no location is left) script_location +
 *    "/versions"; script_location is one path, blanks and blank lines
 *    around it left out.
 *  - prepend_sys_path: split by path_separator, else (legacy) on spaces,
 *    commas and colons.
 *  - sourceless: the value is exactly "true".
 *
 * %(here)s is here (the ini file's absolute directory) unless the file
 * defines "here" itself. ini_path names the file in messages, which read
 * `"alembic.ini", line 7: ...`. Refused with a hint: a package:resource
 * location, no main section or no script_location, and
 * recursive_version_locations = true (Alembic 1.10: subdirectories too),
 * which migsync does not follow. Returns 0 with c replaced, or
 * MS_ERR_CONFIG with err set and c unchanged.
 */
int alembic_config_parse(struct alembic_config *c, const char *text, size_t len,
			 const char *ini_path, const char *here, const char *section,
			 struct ms_error *err);

/*
 * What env.py says, read as text (never run): the first string literal
 * passed as version_table= / version_table_schema= to a .configure(...)
 * call (context.configure), with its 1-based line; NULL when there is
 * none, or the value is not a plain literal (a name, an f-string).
 */
struct env_py_facts {
	char *version_table;
	unsigned version_table_line;
	char *version_table_schema;
	unsigned version_table_schema_line;
};

void env_py_facts_init(struct env_py_facts *f);
void env_py_facts_release(struct env_py_facts *f);
void env_py_scan(struct env_py_facts *out, const char *text, size_t len);

/* alembic_config_parse's version_dirs of [alembic], appended to dirs. */
int alembic_ini_script_dirs(struct strvec *dirs, const char *text, size_t len,
			    const char *ini_path, const char *here, struct ms_error *err);

#endif
