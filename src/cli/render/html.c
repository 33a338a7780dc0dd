/*
 * The HTML page of `migsync check` (--html FILE): one self-contained file
 * that opens from a CI artifact or an e-mail. Everything is inside it:
 * the style sheet below, the graph as inline SVG (drawn by Graphviz, see
 * render/graph.c); no script, no font, nothing fetched.
 *
 * It reads the same nightly_report as the other renderers and decides
 * nothing: a header with the verdict, the matrix of environments, the
 * graph with every environment marked, and a details section per
 * problem that the matrix links to (ids "CHECK-ENV", "pending-ENV",
 * "safety-ENV" for the safety findings on its pending revisions, "lint"). States are written as words, so the page reads the
 * same printed in black and white; under 640 pixels the matrix becomes
 * one block per environment.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/drift_collect.h"
#include "cli/render/graph.h"
#include "cli/render/render.h"
#include "cli/status_collect.h"
#include "migsync/clock.h"
#include "migsync/lint.h"
#include "migsync/nightly.h"
#include "migsync_config.h"

/* At most this many heads are listed in a matrix cell (a fleet may have many). */
#define HTML_HEADS_SHOWN 4
/* At most this many differences are listed per database in the drift details. */
#define HTML_DIFFS_SHOWN 50

static const char html_style[] =
	":root{color-scheme:light;--ok:#1e7b34;--bad:#b00020;--warn:#8a5a00;--line:#c8c8c8}"
	"*{box-sizing:border-box}"
	"body{margin:0 auto;max-width:75rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,"
	"'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1a1a1a;background:#fff}"
	"h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;"
	"border-bottom:1px solid var(--line)}h3{font-size:1.05rem;margin:0 0 .4rem}"
	"code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.9em;"
	"overflow-wrap:anywhere}"
	".verdict{display:inline-block;padding:.3rem .7rem;border:2px solid;font-weight:700}"
	".verdict.passed{color:var(--ok)}.verdict.failed{color:var(--bad)}"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.6rem 0}"
	"dl.meta dt{font-weight:600}dl.meta dd{margin:0}"
	".scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}"
	"thead th{background:#f2f2f2}"
	"tbody th{white-space:nowrap}"
	".swatch{display:inline-block;width:.9em;height:.9em;margin-right:.35em;"
	"border:1px solid #000;vertical-align:-.1em}"
	".fleet{display:block;font-weight:400;font-size:.85em;white-space:normal}"
	".failed{color:var(--bad);font-weight:600}.passed{color:var(--ok)}"
	".skipped,.note{color:#555}.attention{color:var(--warn);font-weight:600}"
	"a{color:inherit}"
	".graph{overflow:auto;max-height:85vh;border:1px solid var(--line);padding:.5rem}"
	".graph svg{max-width:none;height:auto}"
	".legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}"
	"article{border:1px solid var(--line);border-left:4px solid var(--bad);"
	"padding:.6rem .8rem;margin:.8rem 0;break-inside:avoid}"
	"article.attention{border-left-color:var(--warn)}article.info{border-left-color:var(--line)}"
	"article :target,article:target{outline:3px solid #0072b2}"
	"ul{margin:.3rem 0;padding-left:1.3rem}"
	"@media (max-width:640px){"
	"table.matrix,table.matrix tbody,table.matrix tr,table.matrix th,table.matrix td{display:block;"
	"width:100%}"
	"table.matrix thead{display:none}"
	"table.matrix tr{margin:0 0 .8rem;border:1px solid var(--line)}"
	"table.matrix td,table.matrix th{border:0;border-top:1px solid #eee}"
	"table.matrix td::before{content:attr(data-label) \": \";font-weight:600}}"
	"@media print{body{max-width:none;font-size:11pt}.graph{max-height:none;overflow:visible;"
	"border:0}a{text-decoration:none}article{break-inside:avoid}}";

/* What the page is written from. */
struct html {
	struct strbuf *sb;
	const struct render_check *run;
	const struct strvec *secrets;
	struct strbuf tmp;
	struct strbuf id;
};

/* s, secrets replaced by "***" first (escaping would hide them from cli_scrub), escaped. */
static void add_text(struct html *h, const char *s)
{
	strbuf_reset(&h->tmp);
	strbuf_addstr(&h->tmp, s ? s : "");
	cli_scrub(&h->tmp, h->secrets);
	render_xml_escape(h->sb, h->tmp.buf);
}

/* The id of a check's details: "drift-staging", "pending-prod"; valid until the next call. */
static const char *anchor(struct html *h, const char *what, const char *env)
{
	strbuf_reset(&h->id);
	render_add_anchor(&h->id, what, "");
	render_add_anchor(&h->id, "-", env);
	return h->id.buf;
}

static const struct status_env *env_of(const struct html *h, size_t i)
{
	return &h->run->status->report.envs[i];
}

/* The gate's approvals before environment i's stage (0 when none or unknown). */
static int approvals_of(const struct html *h, size_t i)
{
	const struct cli_status *c = h->run->status;

	return i < c->envs_nr ? c->envs[i]->gate.approvals : 0;
}

static void add_time(struct html *h, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[64];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	strbuf_addf(h->sb, "<time datetime=\"%.10sT%.8sZ\">%s</time>", buf, buf + 11, buf);
}

static void add_header(struct html *h)
{
	const struct nightly_report *r = h->run->report;
	const struct cli_status *c = h->run->status;
	const char *project = c->inv && c->inv->project ? c->inv->project : "migsync";
	bool failed = r->verdict == NIGHTLY_FAIL;

	strbuf_addstr(h->sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	add_text(h, project);
	strbuf_addf(h->sb, ": migsync check %s</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>",
		    failed ? "failed" : "passed", html_style);
	add_text(h, project);
	strbuf_addf(h->sb, ": migsync check</h1>\n<p id=\"verdict\" class=\"verdict %s\">",
		    failed ? "failed" : "passed");
	if (failed)
		strbuf_addf(h->sb, "FAILED: %zu problem%s", r->problems, r->problems == 1 ? "" : "s");
	else
		strbuf_addf(h->sb, "PASSED: %zu environment%s consistent", r->envs_nr,
			    r->envs_nr == 1 ? "" : "s");
	strbuf_addstr(h->sb, "</p>\n<dl class=\"meta\"><dt>Project</dt><dd>");
	add_text(h, project);
	strbuf_addstr(h->sb, "</dd><dt>Checked</dt><dd>");
	add_time(h, clock_wall_ms());
	strbuf_addstr(h->sb, "</dd><dt>migsync</dt><dd>" MIGSYNC_VERSION "</dd><dt>Target</dt><dd><code>");
	strbuf_reset(&h->tmp);
	cli_add_joined(&h->tmp, &c->report.goal, ", ", "base");
	render_xml_escape(h->sb, h->tmp.buf);
	strbuf_addstr(h->sb, "</code></dd></dl>\n</header>\n<main>\n");
}

/* "50 databases: 48 current, 2 behind" for a fleet's row. */
static void add_fleet_summary(struct html *h, const struct status_env *env)
{
	size_t counts[STATUS_UNREACHABLE + 1] = { 0 };
	bool first = true;

	for (size_t t = 0; t < env->targets_nr; t++)
		counts[env->targets[t].result.state]++;
	strbuf_addf(h->sb, "<span class=\"fleet\">fleet of %zu database%s:", env->targets_nr,
		    env->targets_nr == 1 ? "" : "s");
	for (int s = STATUS_CURRENT; s <= STATUS_UNREACHABLE; s++) {
		if (!counts[s])
			continue;
		strbuf_addf(h->sb, "%s %zu %s", first ? "" : ",", counts[s],
			    status_state_name((enum status_state)s));
		first = false;
	}
	strbuf_addstr(h->sb, "</span>");
}

/* A matrix cell for one check: its summary, and when it failed a link to its details. */
static void add_case_cell(struct html *h, size_t i, const char *label, enum nightly_check check)
{
	const struct nightly_case *k = &h->run->report->envs[i].cases[check];
	const char *word = nightly_outcome_name(k->outcome);

	strbuf_addf(h->sb, "<td data-label=\"%s\" class=\"%s\">", label, word);
	if (k->outcome == NIGHTLY_FAILED) {
		strbuf_addf(h->sb, "<a href=\"#%s\">failed: ",
			    anchor(h, nightly_check_name(check), env_of(h, i)->name));
		add_text(h, k->summary);
		strbuf_addstr(h->sb, "</a>");
	} else if (k->outcome == NIGHTLY_SKIPPED) {
		strbuf_addstr(h->sb, "skipped");
	} else {
		strbuf_addstr(h->sb, "passed: ");
		add_text(h, k->summary);
	}
	strbuf_addstr(h->sb, "</td>");
}

static void add_state_cell(struct html *h, size_t i)
{
	const struct status_env *env = env_of(h, i);
	const struct nightly_env *ne = &h->run->report->envs[i];
	const char *state = status_state_name(env->state);
	enum nightly_check link = NIGHTLY_ENV_CHECK_NR;

	if (h->run->status->graph_error && !env->error && env->state != STATUS_UNREACHABLE)
		state = "not run";
	if (ne->cases[NIGHTLY_REACHABLE].outcome == NIGHTLY_FAILED)
		link = NIGHTLY_REACHABLE;
	else if (ne->cases[NIGHTLY_STATUS].outcome == NIGHTLY_FAILED)
		link = NIGHTLY_STATUS;
	strbuf_addf(h->sb, "<td data-label=\"State\" class=\"state state-%s%s\">",
		    status_state_name(env->state), link != NIGHTLY_ENV_CHECK_NR ? " failed" : "");
	if (link != NIGHTLY_ENV_CHECK_NR)
		strbuf_addf(h->sb, "<a href=\"#%s\">%s</a>",
			    anchor(h, nightly_check_name(link), env->name), state);
	else
		strbuf_addstr(h->sb, state);
	strbuf_addstr(h->sb, "</td>");
}

static void add_heads_cell(struct html *h, const struct status_env *env)
{
	strbuf_addstr(h->sb, "<td data-label=\"Current heads\">");
	if (!env->heads.nr)
		strbuf_addstr(h->sb, "none");
	for (size_t k = 0; k < env->heads.nr && k < HTML_HEADS_SHOWN; k++) {
		strbuf_addstr(h->sb, k ? ", <code>" : "<code>");
		add_text(h, env->heads.items[k]);
		strbuf_addstr(h->sb, "</code>");
	}
	if (env->heads.nr > HTML_HEADS_SHOWN)
		strbuf_addf(h->sb, " and %zu more", env->heads.nr - HTML_HEADS_SHOWN);
	strbuf_addstr(h->sb, "</td>");
}

static void add_pending_cell(struct html *h, size_t i)
{
	const struct status_env *env = env_of(h, i);
	int approvals = approvals_of(h, i);

	if (!env->pending.nr) {
		strbuf_addstr(h->sb, "<td data-label=\"Pending\" class=\"passed\">none</td>");
		return;
	}
	strbuf_addf(h->sb, "<td data-label=\"Pending\" class=\"attention\"><a href=\"#%s\">%zu pending",
		    anchor(h, "pending", env->name), env->pending.nr);
	if (approvals > 0)
		strbuf_addf(h->sb, ", awaiting approval (%d needed)", approvals);
	strbuf_addstr(h->sb, "</a></td>");
}

/* Is d a safety finding (MS100-MS114) on a revision env still needs? */
static bool safety_pending(const struct diag *d, const struct status_env *env)
{
	/* only the safety review's findings carry a rule name */
	return d->rule && d->revision && strvec_contains(&env->pending, d->revision);
}

/* The safety review's findings on the revisions environment i still needs. */
static void add_safety_cell(struct html *h, size_t i)
{
	const struct status_env *env = env_of(h, i);
	const struct diag_list *f = &h->run->lint->findings;
	size_t nr = 0;

	for (size_t k = 0; k < f->nr; k++)
		nr += safety_pending(&f->items[k], env);
	if (!nr) {
		strbuf_addstr(h->sb, "<td data-label=\"Safety\" class=\"passed\">none pending</td>");
		return;
	}
	strbuf_addf(h->sb, "<td data-label=\"Safety\" class=\"attention\"><a href=\"#%s\">%zu finding%s</a></td>",
		    anchor(h, "safety", env->name), nr, nr == 1 ? "" : "s");
}

static void add_matrix(struct html *h)
{
	const struct nightly_report *r = h->run->report;

	strbuf_addstr(h->sb, "<section id=\"matrix\">\n<h2>Environments</h2>\n<div class=\"scroll\">"
		      "<table class=\"matrix\">\n<thead><tr><th scope=\"col\">Environment</th>"
		      "<th scope=\"col\">State</th><th scope=\"col\">Current heads</th>"
		      "<th scope=\"col\">Pending</th><th scope=\"col\">Order</th>"
		      "<th scope=\"col\">Drift</th><th scope=\"col\">Checksums</th>"
		      "<th scope=\"col\">Safety</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < r->envs_nr; i++) {
		const struct status_env *env = env_of(h, i);

		strbuf_addf(h->sb, "<tr id=\"%s\" data-state=\"%s\"><th scope=\"row\" data-label=\"Environment\">"
			    "<span class=\"swatch\" style=\"background:%s\"></span>",
			    anchor(h, "env", env->name), status_state_name(env->state),
			    render_env_colour(i));
		add_text(h, env->name);
		if (env->fleet)
			add_fleet_summary(h, env);
		strbuf_addstr(h->sb, "</th>");
		add_state_cell(h, i);
		add_heads_cell(h, env);
		add_pending_cell(h, i);
		add_case_cell(h, i, "Order", NIGHTLY_ORDER);
		add_case_cell(h, i, "Drift", NIGHTLY_DRIFT);
		add_case_cell(h, i, "Checksums", NIGHTLY_CHECKSUMS);
		add_safety_cell(h, i);
		strbuf_addstr(h->sb, "</tr>\n");
	}
	strbuf_addstr(h->sb, "</tbody></table></div>\n<p id=\"scripts\">Revision scripts: lint ");
	if (r->lint.outcome == NIGHTLY_FAILED) {
		strbuf_addstr(h->sb, "<a class=\"failed\" href=\"#lint\">failed: ");
		add_text(h, r->lint.summary);
		strbuf_addstr(h->sb, "</a>");
	} else {
		strbuf_addf(h->sb, "<span class=\"%s\">%s: ", nightly_outcome_name(r->lint.outcome),
			    nightly_outcome_name(r->lint.outcome));
		add_text(h, r->lint.summary);
		strbuf_addstr(h->sb, "</span>");
	}
	strbuf_addstr(h->sb, ".</p>\n</section>\n");
}

/*
 * Graphviz's SVG document inside the page: from "<svg" on (no XML
 * declaration, doctype or comment before it), without the namespace
 * declarations, which HTML does not need and which would be the page's
 * only URLs.
 */
static void add_inline_svg(struct html *h, const char *svg)
{
	const char *start = strstr(svg, "<svg");
	static const char *const drop[] = {
		" xmlns=\"http://www.w3.org/2000/svg\"",
		" xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
	};
	const char *end = start ? strchr(start, '>') : NULL;

	if (!start || !end)
		return;
	strbuf_reset(&h->tmp);
	strbuf_add(&h->tmp, start, (size_t)(end - start));
	for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++) {
		char *at = strstr(h->tmp.buf, drop[d]);
		size_t len = strlen(drop[d]);

		if (at) {
			memmove(at, at + len, h->tmp.len - (size_t)(at - h->tmp.buf) - len + 1);
			strbuf_setlen(&h->tmp, h->tmp.len - len);
		}
	}
	strbuf_add(h->sb, h->tmp.buf, h->tmp.len);
	strbuf_addstr(h->sb, " role=\"img\" aria-label=\"revision graph\"");
	strbuf_addstr(h->sb, end);
}

static void add_graph(struct html *h, const char *svg, const char *why_none)
{
	const struct status_report *r = &h->run->status->report;

	strbuf_addstr(h->sb, "<section id=\"graph\">\n<h2>Revision graph</h2>\n");
	if (!svg) {
		strbuf_addstr(h->sb, "<p class=\"note\">No graph: ");
		add_text(h, why_none);
		strbuf_addstr(h->sb, ".</p>\n</section>\n");
		return;
	}
	strbuf_addstr(h->sb, "<p>Each environment is a badge in its colour on the revisions its databases"
		      " stand at (with a fleet, how many); revisions some environment still needs are"
		      " shaded and say which. Dashed edges are depends_on.</p>\n<ul class=\"legend\">");
	for (size_t i = 0; i < r->envs_nr; i++) {
		strbuf_addf(h->sb, "<li><span class=\"swatch\" style=\"background:%s\"></span>",
			    render_env_colour(i));
		add_text(h, r->envs[i].name);
		strbuf_addstr(h->sb, "</li>");
	}
	strbuf_addstr(h->sb, "</ul>\n<div class=\"graph\">\n");
	add_inline_svg(h, svg);
	strbuf_addstr(h->sb, "</div>\n</section>\n");
}

/* <article id=ID class=kind><h3>ENV: TITLE</h3> */
static void article_begin(struct html *h, const char *id, const char *kind, const char *env,
			  const char *title)
{
	strbuf_addf(h->sb, "<article id=\"%s\" class=\"%s\"><h3>", id, kind);
	if (env) {
		add_text(h, env);
		strbuf_addstr(h->sb, ": ");
	}
	strbuf_addf(h->sb, "%s</h3>\n", title);
}

static void article_end(struct html *h, const char *env)
{
	if (env)
		strbuf_addf(h->sb, "<p><a href=\"#%s\">Back to the environments</a></p>", anchor(h, "env", env));
	strbuf_addstr(h->sb, "</article>\n");
}

static void add_messages(struct html *h, const struct nightly_case *k)
{
	strbuf_addstr(h->sb, "<ul>");
	for (size_t m = 0; m < k->nr; m++) {
		strbuf_addstr(h->sb, "<li>");
		add_text(h, h->run->report->findings[k->first + m].message);
		strbuf_addstr(h->sb, "</li>");
	}
	strbuf_addstr(h->sb, "</ul>\n");
}

static void add_drift_details(struct html *h, const char *name)
{
	const struct drift_report *dr = &h->run->drift->report;

	for (size_t t = 0; t < dr->targets_nr; t++) {
		const struct drift_target *d = &dr->targets[t];

		if (strcmp(d->environment, name) || (!d->diff.nr && !d->invalid_indexes.nr))
			continue;
		strbuf_addstr(h->sb, "<p>Database <code>");
		add_text(h, d->database);
		strbuf_addstr(h->sb, "</code>, compared with the reference at the same revision:</p><ul>");
		for (size_t k = 0; k < d->diff.nr && k < HTML_DIFFS_SHOWN; k++) {
			strbuf_addf(h->sb, "<li>%s %s <code>", drift_kind_name(d->diff.items[k].kind),
				    drift_change_name(d->diff.items[k].change));
			add_text(h, d->diff.items[k].object);
			strbuf_addstr(h->sb, "</code></li>");
		}
		if (d->diff.nr > HTML_DIFFS_SHOWN)
			strbuf_addf(h->sb, "<li>and %zu more</li>", d->diff.nr - HTML_DIFFS_SHOWN);
		for (size_t k = 0; k < d->invalid_indexes.nr; k++) {
			strbuf_addstr(h->sb, "<li>index <code>");
			add_text(h, d->invalid_indexes.items[k]);
			strbuf_addstr(h->sb, "</code> is INVALID</li>");
		}
		strbuf_addstr(h->sb, "</ul>\n");
	}
}

static void add_order_details(struct html *h, const char *name)
{
	const struct status_report *r = &h->run->status->report;

	for (size_t v = 0; v < r->violations_nr; v++) {
		if (strcmp(r->violations[v].environment, name))
			continue;
		strbuf_addstr(h->sb, "<p>Ahead of <strong>");
		add_text(h, r->violations[v].earlier);
		strbuf_addstr(h->sb, "</strong>, an earlier stage of the rollout, with <code>");
		strbuf_reset(&h->tmp);
		cli_add_joined(&h->tmp, &r->violations[v].revisions, ", ", "");
		render_xml_escape(h->sb, h->tmp.buf);
		strbuf_addstr(h->sb, "</code>.</p>\n");
	}
}

static void add_pending_details(struct html *h, size_t i)
{
	const struct status_env *env = env_of(h, i);
	int approvals = approvals_of(h, i);

	article_begin(h, anchor(h, "pending", env->name), approvals > 0 ? "attention" : "info",
		      env->name, approvals > 0 ? "pending, awaiting approval" : "pending");
	strbuf_addf(h->sb, "<p>%zu revision%s of the target not applied yet, in apply order:</p><ul>",
		    env->pending.nr, env->pending.nr == 1 ? "" : "s");
	for (size_t p = 0; p < env->pending.nr; p++) {
		strbuf_addstr(h->sb, "<li><code>");
		add_text(h, env->pending.items[p]);
		strbuf_addstr(h->sb, "</code></li>");
	}
	strbuf_addstr(h->sb, "</ul>\n");
	if (approvals > 0)
		strbuf_addf(h->sb, "<p>This stage's gate needs %d approval%s of the plan before they are"
			    " applied: <code>migsync plan</code>, then <code>migsync approve</code>.</p>\n",
			    approvals, approvals == 1 ? "" : "s");
	article_end(h, env->name);
}

/* The safety findings on environment i's pending revisions, when there are any. */
static void add_safety_details(struct html *h, size_t i)
{
	const struct status_env *env = env_of(h, i);
	const struct diag_list *f = &h->run->lint->findings;
	bool any = false;

	for (size_t k = 0; k < f->nr; k++) {
		const struct diag *d = &f->items[k];

		if (!safety_pending(d, env))
			continue;
		if (!any)
			article_begin(h, anchor(h, "safety", env->name), "attention", env->name,
				      "safety findings on pending revisions");
		strbuf_addf(h->sb, "%s<li><strong>%s</strong> ", any ? "" : "<ul>", d->code);
		add_text(h, d->rule ? d->rule : "");
		strbuf_addstr(h->sb, " in <code>");
		add_text(h, d->file);
		strbuf_addf(h->sb, ":%u</code>: ", d->line);
		add_text(h, d->message);
		if (d->statement) {
			strbuf_addstr(h->sb, "<br><code>");
			add_text(h, d->statement);
			strbuf_addstr(h->sb, "</code>");
		}
		strbuf_addstr(h->sb, "</li>");
		any = true;
	}
	if (!any)
		return;
	strbuf_addstr(h->sb, "</ul>\n");
	if (i < h->run->status->envs_nr && h->run->status->envs[i]->gate.risky_approvals > 0)
		strbuf_addf(h->sb, "<p>With these, the stage's gate needs %d approvals"
			    " (<code>migsync plan</code> lists them under each step).</p>\n",
			    h->run->status->envs[i]->gate.risky_approvals);
	article_end(h, env->name);
}

static void add_details(struct html *h)
{
	const struct nightly_report *r = h->run->report;

	strbuf_addstr(h->sb, "<section id=\"details\">\n<h2>Details</h2>\n");
	if (!r->problems)
		strbuf_addstr(h->sb, "<p class=\"passed\">No problem found.</p>\n");
	for (size_t i = 0; i < r->envs_nr; i++) {
		const char *name = env_of(h, i)->name;

		for (size_t k = 0; k < NIGHTLY_ENV_CHECK_NR; k++) {
			const struct nightly_case *c = &r->envs[i].cases[k];
			const char *check = nightly_check_name((enum nightly_check)k);

			if (c->outcome != NIGHTLY_FAILED)
				continue;
			article_begin(h, anchor(h, check, name), "problem", name, check);
			add_messages(h, c);
			if (k == NIGHTLY_DRIFT)
				add_drift_details(h, name);
			else if (k == NIGHTLY_ORDER)
				add_order_details(h, name);
			article_end(h, name);
		}
		if (env_of(h, i)->pending.nr) {
			add_pending_details(h, i);
			add_safety_details(h, i);
		}
	}
	article_begin(h, "lint", r->lint.outcome == NIGHTLY_FAILED ? "problem" : "info", NULL,
		      "lint of the revision scripts");
	if (r->lint.nr)
		add_messages(h, &r->lint);
	else
		strbuf_addf(h->sb, "<p>%s.</p>\n", nightly_outcome_name(r->lint.outcome));
	article_end(h, NULL);
	strbuf_addstr(h->sb, "</section>\n");
}

void render_check_html(struct strbuf *sb, const struct render_check *run)
{
	struct html h = { sb, run, &run->status->secrets, STRBUF_INIT, STRBUF_INIT };
	struct render_html_graph own = { NULL, NULL };
	const struct render_html_graph *graph = run->html_graph;

	if (!graph) {
		render_html_graph_draw(&own, run->status);
		graph = &own;
	}

	add_header(&h);
	add_matrix(&h);
	add_graph(&h, graph->svg, graph->why);
	add_details(&h);
	strbuf_addstr(sb, "</main>\n<footer><p class=\"note\">Written by migsync " MIGSYNC_VERSION
		      " (migsync check --html).</p></footer>\n</body>\n</html>\n");
	strbuf_release(&h.tmp);
	strbuf_release(&h.id);
	render_html_graph_release(&own);
}
