/*
 * Unit tests of src/layout: DOT text laid out and drawn by Graphviz's
 * libraries. Each case hands layout_svg a graph and checks either the SVG
 * (an XML document with one <g class="node"> per node and the texts
 * asked for) or the error (its code and Graphviz's words in it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/layout.h"
#include "src/layout/layout_int.h"

struct layout_case {
	const char *name;
	const char *dot;
	int code;		/* what layout_svg returns */
	size_t nodes;		/* <g ... class="node ...">: one per node */
	const char *contains;	/* in the SVG, or in the error message */
};

static const struct layout_case cases[] = {
	{ "a line", "digraph g { a -> b -> c; }", 0, 3, "<title>a&#45;&gt;b</title>" },
	{ "a merge with a class and an HTML label",
	  "digraph g { node [shape=plain];"
	  " m [class=\"rev head\", label=<<TABLE><TR><TD ID=\"b1\" HREF=\"#env-dev\" BGCOLOR=\"#0072b2\">dev</TD></TR></TABLE>>];"
	  " a -> m; b -> m [style=dashed]; }",
	  0, 3, "id=\"a_b1\"" },
	{ "the class attribute", "digraph g { x [class=\"rev pending\"]; }", 0, 1,
	  "class=\"node rev pending\"" },
	{ "an empty graph", "digraph g { }", 0, 0, "<svg" },
	/* text sized by monospace metrics (metrics.c): a box as wide as its text */
	{ "ASCII: 0.6 em a character",
	  "digraph g { node [shape=box, margin=0, width=0, height=0, fontname=\"Courier\","
	  " fontsize=10]; a [label=\"abcde\"]; }",
	  0, 1, "points=\"30,-12 0,-12 0,0 30,0 30,-12\"" },
	{ "Chinese: 1 em a character, not 0.6 a byte",
	  "digraph g { node [shape=box, margin=0, width=0, height=0, fontname=\"Courier\","
	  " fontsize=10]; a [label=\"\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87"
	  "\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\"]; }",
	  0, 1, "points=\"80,-12 0,-12 0,0 80,0 80,-12\"" },
	{ "not DOT", "digraph g { a -> ; }", MS_ERR_GRAPH, 0, "syntax error" },
	{ "an unclosed HTML label", "digraph g { a [label=<<B>x>]; }", MS_ERR_GRAPH, 0, "graphviz" },
};

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct layout_case *c = &cases[i];
		struct strbuf svg = STRBUF_INIT;
		struct ms_error err = MS_ERROR_INIT;
		int ret = layout_svg(&svg, c->dot, &err);

		print_message("case: %s\n", c->name);
		assert_int_equal(ret, c->code);
		if (ret == 0) {
			assert_null(err.message);
			assert_non_null(strstr(svg.buf, "<?xml"));
			assert_non_null(strstr(svg.buf, "</svg>"));
			assert_int_equal(count(svg.buf, "class=\"node"), c->nodes);
			assert_non_null(strstr(svg.buf, c->contains));
		} else {
			assert_non_null(err.message);
			assert_non_null(strstr(err.message, c->contains));
			assert_int_equal(svg.len, 0);
		}
		ms_error_release(&err);
		strbuf_release(&svg);
	}
}

/* A failure leaves nothing behind: the next layout gets no old message. */
static void test_error_then_success(void **state)
{
	struct strbuf svg = STRBUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(layout_svg(&svg, "digraph {", &err), MS_ERR_GRAPH);
	ms_error_release(&err);
	assert_int_equal(layout_svg(&svg, "digraph { a; }", &err), 0);
	assert_null(err.message);
	assert_int_equal(count(svg.buf, "class=\"node"), 1);
	strbuf_release(&svg);
}

/* Warming up, twice, leaves Graphviz ready: the next layout draws as the first would. */
static void test_warm_up(void **state)
{
	struct strbuf svg = STRBUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	layout_warm_up();
	layout_warm_up();
	assert_int_equal(layout_svg(&svg, "digraph g { a -> b; }", &err), 0);
	assert_null(err.message);
	assert_int_equal(count(svg.buf, "class=\"node"), 2);
	strbuf_release(&svg);
	ms_error_release(&err);
}

/* Widths in em: columns as glibc's wcwidth counts them. */
static void test_text_em(void **state)
{
	static const struct {
		const char *text;
		double em;
	} widths[] = {
		{ "", 0 },
		{ "abc", 1.8 },
		{ "c0ff00000001 (head)", 19 * 0.6 },
		{ "\xe4\xb8\xad\xe6\x96\x87", 2.0 },		/* two Chinese characters */
		{ "a\xe4\xb8\xad", 1.6 },			/* mixed */
		{ "\xc3\xa9", 0.6 },				/* precomposed e acute */
		{ "e\xcc\x81", 0.6 },				/* e, then a combining acute */
		{ "\xc3\x97" "3", 1.2 },			/* the fleet badge's multiplication sign */
		{ "\xf0\x9f\x99\x82", 1.0 },			/* an emoji, two columns */
		{ "\xff", 0.6 },					/* not UTF-8: a column a byte */
		{ "a\xe4\xb8", 1.8 },				/* a cut sequence: likewise */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		print_message("text %zu\n", i);
		assert_float_equal(layout_text_em(widths[i].text), widths[i].em, 1e-9);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_error_then_success),
		cmocka_unit_test(test_warm_up),
		cmocka_unit_test(test_text_em),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
