/*
 * Writing a judged nightly report, for `migsync check` and `migsync
 * report merge`. See check_output.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check_output.h"
#include "cli/drift_collect.h"
#include "migsync/strbuf.h"

/*
 * The ledgers' answers, one per database of c's report in report order,
 * as nightly_input.checksums reads them (borrowing from c); free().
 */
static struct nightly_checksums *checksums_of(const struct cli_status *c)
{
	const struct status_report *r = &c->report;
	struct nightly_checksums *out;
	size_t nr = 0;

	for (size_t e = 0; e < r->envs_nr; e++)
		nr += r->envs[e].targets_nr;
	out = xcalloc(nr ? nr : 1, sizeof(*out));
	nr = 0;
	for (size_t e = 0; e < r->envs_nr; e++)
		for (size_t t = 0; t < r->envs[e].targets_nr; t++, nr++) {
			const struct cli_checksums *cs = cli_status_checksums(c, e, t);

			out[nr].items = cs->items;
			out[nr].nr = cs->nr;
			out[nr].error = cs->error;
		}
	return out;
}

/*
 * Write what print makes of run, secrets scrubbed, to path, linking to the
 * HTML page html (NULL: none) relative to path; returns 0 or MS_ERR_IO
 * with err set.
 */
static int write_report(const char *path,
			void (*print)(struct strbuf *, const struct render_check *),
			struct render_check *run, const char *html, const struct strvec *secrets,
			struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char *link = html ? render_relative_link(path, html) : NULL;
	FILE *f = fopen(path, "w");
	int ret = 0;

	run->html_link = link;

	if (!f) {
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not open for writing: %s",
				   path, strerror(errno));
		goto done;
	}
	print(&sb, run);
	cli_scrub(&sb, secrets);
	if (fwrite(sb.buf, 1, sb.len, f) != sb.len)
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not write: %s", path, strerror(errno));
	if (fclose(f) != 0 && ret == 0)
		ret = ms_error_set(err, MS_ERR_IO, "\"%s\": could not write: %s", path, strerror(errno));
done:
	run->html_link = NULL;
	free(link);
	strbuf_release(&sb);
	return ret;
}

int cli_check_finish(struct nightly_report *report, struct render_check *run,
		     enum cli_format format, const struct cli_check_files *files)
{
	const struct strvec *secrets = &run->status->secrets;
	struct nightly_checksums *checksums = checksums_of(run->status);
	struct nightly_input in;
	struct ms_error err = MS_ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	const char *html = files->html;
	int ret = EXIT_OK;

	nightly_input_init(&in);
	in.status = &run->status->report;
	in.graph_error = run->status->graph_error;
	in.drift = &run->drift->report;
	in.lint = run->lint;
	in.checksums = checksums;
	in.fail_on_pending = run->fail_on_pending;
	nightly_judge(report, &in);

	if ((html && write_report(html, render_check_html, run, NULL, secrets, &err) < 0) ||
	    (files->junit &&
	     write_report(files->junit, render_check_junit, run, html, secrets, &err) < 0) ||
	    (files->markdown &&
	     write_report(files->markdown, render_check_markdown, run, html, secrets, &err) < 0)) {
		cli_print_error_scrubbed(&err, secrets);
		ret = EXIT_CANNOT_RUN;
		goto done;
	}
	if (format == FORMAT_JSON)
		render_check_json(&out, run);
	else
		render_check_text(&out, run);
	cli_scrub(&out, secrets);
	ret = cli_write_stdout(out.buf, out.len);
	if (ret == EXIT_OK && run->report->verdict == NIGHTLY_FAIL)
		ret = EXIT_PROBLEMS;
done:
	free(checksums);
	ms_error_release(&err);
	strbuf_release(&out);
	return ret;
}
