/* JUnit XML (see render.h): the shape CI systems read, one suite. */
#include "cli/render/render.h"

void render_xml_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '"':
			strbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			strbuf_addstr(sb, "&apos;");
			break;
		case '\n':
			strbuf_addstr(sb, "&#10;");
			break;
		case '\t':
			strbuf_addstr(sb, "&#9;");
			break;
		case '\r':
			strbuf_addstr(sb, "&#13;");
			break;
		default:
			strbuf_addch(sb, ch < 0x20 || ch == 0x7f ? '?' : ch);
		}
	}
}

/* ` name="NAME" tests=... skipped="N">` and a newline. */
static void suite_attributes(struct strbuf *sb, const char *name, size_t tests,
			     size_t failures, size_t skipped)
{
	strbuf_addstr(sb, " name=\"");
	render_xml_escape(sb, name);
	strbuf_addf(sb, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
		    tests, failures, skipped);
}

void render_junit_begin(struct strbuf *sb, const char *name, size_t tests,
			size_t failures, size_t skipped)
{
	strbuf_addstr(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	suite_attributes(sb, name, tests, failures, skipped);
	strbuf_addstr(sb, "  <testsuite");
	suite_attributes(sb, name, tests, failures, skipped);
}

void render_junit_case(struct strbuf *sb, const char *classname, const char *name,
		       enum render_outcome outcome, const char *type,
		       const char *const *messages, size_t nr)
{
	strbuf_addstr(sb, "    <testcase classname=\"");
	render_xml_escape(sb, classname);
	strbuf_addstr(sb, "\" name=\"");
	render_xml_escape(sb, name);
	strbuf_addch(sb, '"');
	if (outcome == RENDER_PASSED) {
		strbuf_addstr(sb, "/>\n");
		return;
	}
	strbuf_addstr(sb, ">\n      <");
	strbuf_addstr(sb, outcome == RENDER_FAILED ? "failure" : "skipped");
	strbuf_addstr(sb, " message=\"");
	render_xml_escape(sb, nr ? messages[0] : "");
	if (outcome == RENDER_SKIPPED) {
		strbuf_addstr(sb, "\"/>\n    </testcase>\n");
		return;
	}
	strbuf_addstr(sb, "\" type=\"");
	render_xml_escape(sb, type);
	strbuf_addstr(sb, "\">");
	for (size_t m = 0; m < nr; m++) {
		if (m)
			strbuf_addch(sb, '\n');
		render_xml_escape(sb, messages[m]);
	}
	strbuf_addstr(sb, "</failure>\n    </testcase>\n");
}

void render_junit_end(struct strbuf *sb)
{
	strbuf_addstr(sb, "  </testsuite>\n</testsuites>\n");
}
