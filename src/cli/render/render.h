#ifndef MIGSYNC_CLI_RENDER_H
#define MIGSYNC_CLI_RENDER_H

/*
 * Writers the commands share: aligned text tables, Markdown tables,
 * JUnit XML and JSON objects more than one command writes, each appending to a strbuf (the command scrubs secrets and
 * writes it). Then the renderers of `migsync check`, which read a
 * nightly_report and what it was judged from.
 */

#include <stdbool.h>
#include <stddef.h>

#include "migsync/status.h"
#include "migsync/strbuf.h"

/*
 * A table of rows x cols cells (cells[row * cols + col]) under headers,
 * each column as wide as its widest cell, two spaces between columns, no
 * trailing blanks; headers are written in upper case.
 */
void render_text_table(struct strbuf *sb, const char *const *headers,
		       char *const *cells, size_t rows, size_t cols);

/* A Markdown table cell: " s |", on one line, "|" escaped. */
void render_md_cell(struct strbuf *sb, const char *s);

/* A Markdown table of rows x cols cells (as render_text_table's) under headers. */
void render_md_table(struct strbuf *sb, const char *const *headers,
		     char *const *cells, size_t rows, size_t cols);

/* s escaped for XML text or a double-quoted attribute; characters XML 1.0 forbids become "?". */
void render_xml_escape(struct strbuf *sb, const char *s);

enum render_outcome {
	RENDER_PASSED,
	RENDER_FAILED,
	RENDER_SKIPPED,
};

/* <testsuites> with one <testsuite>, both named name and carrying the counts. */
void render_junit_begin(struct strbuf *sb, const char *name, size_t tests,
			size_t failures, size_t skipped);

/*
 * One <testcase>: nothing inside when passed; <skipped message=...> with
 * the first message when skipped; <failure message=... type=type> with the
 * first message as its message and every message, one a line, as its text
 * when failed.
 */
void render_junit_case(struct strbuf *sb, const char *classname, const char *name,
		       enum render_outcome outcome, const char *type,
		       const char *const *messages, size_t nr);

/* Close what render_junit_begin opened. */
void render_junit_end(struct strbuf *sb);

struct json_writer;
struct checksum_mismatch;

/*
 * A checksum mismatch as a JSON object: database (when with_database),
 * revision, file, applied_sha256, file_sha256.
 */
void render_json_checksum_mismatch(struct json_writer *jw, bool with_database,
				   const char *database, const struct checksum_mismatch *m);

/*
 * The envelope of every JSON document (docs/json/README.md). Open a
 * command's document: "{" and format, migsync, generated_at; the command
 * writes its keys and closes it. Also marks that a document was written.
 */
void render_json_begin(struct json_writer *jw, const char *command);

/* The "code" of the error object for an ms_error code: "usage", "config", ... */
const char *render_json_error_code(int code);

/*
 * "error": {"code", "message", "hint", "where"} inside an open object.
 * where NULL: the subject the message starts with (FILE:LINE:COL,
 * environment "E", file "F", line N), or null.
 */
void render_json_error(struct json_writer *jw, const char *code, const char *message,
		       const char *hint, const char *where);
/*
 * "error" of err: the error object at the top level of a document, its
 * message (a string) inside a stage or a target, as everywhere else.
 */
struct ms_error;
void render_json_ms_error(struct json_writer *jw, const struct ms_error *err);

/*
 * Remember the first error the command reports (cli_print_error and
 * cli_usage_error call this), for render_json_finish.
 */
void render_json_note(const char *code, const char *message, const char *hint,
		      const char *where);

/*
 * "pending": the revisions of pending, or null when they cannot be known:
 * the database could not be read (error set; missing, unreachable) or
 * holds a revision the scripts do not have (unknown). [] means nothing
 * is pending.
 */
void render_json_pending(struct json_writer *jw, enum status_state state, const char *error,
			 const struct strvec *pending);

/*
 * Inside an open object, what status and check say of one database
 * (c->report.envs[env].targets[k]): database (its address), dbname,
 * schema (null: the whole database), state, heads, pending, error, note.
 */
struct cli_status;
void render_json_status_target(struct json_writer *jw, const struct cli_status *c,
			       size_t env, size_t k);

/* "error" from the noted error, or with message and code "failed" when none was noted. */
void render_json_error_noted(struct json_writer *jw, const char *message);

/* Remember the first error among the problems a command prints (a diag of DIAG_ERROR). */
struct diag;
void render_json_note_diag(const struct diag *d);

/*
 * After a command: when it failed (ret not 0), was asked for --format
 * json and wrote no document, write one with the noted error, so that a
 * script reading stdout always gets a document. Returns ret.
 */
int render_json_finish(const char *command, int argc, char **argv, int ret);

/* What `migsync check` renders: the judgement and what it judged (all borrowed). */
struct cli_status;
struct render_html_graph;
struct cli_drift;
struct lint_report;
struct nightly_report;

struct render_check {
	const struct nightly_report *report;
	const struct cli_status *status;
	const struct cli_drift *drift;
	const struct lint_report *lint;
	/* the HTML page as a link relative to the file being written, or NULL (--html) */
	const char *html_link;
	/* the HTML page's graph, drawn ahead; NULL: render_check_html draws it */
	const struct render_html_graph *html_graph;
	/*
	 * The shard the run read (count 0: every target). A shard's JSON also
	 * carries the graph and the schemas read, for `migsync report merge`.
	 */
	unsigned shard_index;
	unsigned shard_count;
	bool fail_on_pending;	/* --fail-on-pending */
};

void render_check_text(struct strbuf *sb, const struct render_check *run);
void render_check_markdown(struct strbuf *sb, const struct render_check *run);
void render_check_junit(struct strbuf *sb, const struct render_check *run);
void render_check_json(struct strbuf *sb, const struct render_check *run);

/*
 * The HTML page (html.c): header and verdict, the matrix of environments,
 * the graph drawn with the environments (render/graph.c; when it cannot
 * be drawn, a note says why) and the details of each problem. Every text
 * is scrubbed of run->status's secrets before it is escaped.
 */
void render_check_html(struct strbuf *sb, const struct render_check *run);

/* The graph of the HTML page, drawn (with Graphviz) apart from the page. */
struct render_html_graph {
	char *svg;	/* the SVG document, or NULL */
	char *why;	/* why there is none, or NULL */
};
/*
 * Draw the graph of status (its graph, every environment marked) into
 * out. It only reads status, so it may run in a worker thread while the
 * rest of the check is gathered.
 */
void render_html_graph_draw(struct render_html_graph *out, const struct cli_status *status);
void render_html_graph_release(struct render_html_graph *g);
/*
 * target as a relative URL from the directory of from_file, both taken
 * against the working directory ("check.html", "../html/check.html");
 * caller frees.
 */
char *render_relative_link(const char *from_file, const char *target);

#endif
