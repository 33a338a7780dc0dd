/*
 * The width of drawn text, computed here rather than by a font library:
 * Graphviz asks its text-layout plugin how large each label's text is,
 * and this file is that plugin (see layout.c for why not pango).
 *
 * The drawings name a monospace family ("Courier,monospace" in the SVG).
 * A character one terminal column wide is 0.6 em, as in Courier, DejaVu
 * Sans Mono, Liberation Mono and Menlo (bold alike); a character two
 * columns wide (Chinese, Japanese, Korean, most emoji) comes from the
 * viewer's CJK font, 1 em wide in all of them; a combining mark adds
 * nothing. Columns are glibc's wcwidth() in the C.UTF-8 locale, which
 * glibc always has; a byte that is not UTF-8 counts one column.
 */
#define _GNU_SOURCE	/* uselocale, newlocale */
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <gvplugin_textlayout.h>

#include "layout_int.h"

#define METRICS_NARROW_EM 0.6
#define METRICS_WIDE_EM 1.0
/* Graphviz's own line height and centre line for its built-in metrics */
#define METRICS_LINE_SPACING 1.2
#define METRICS_CENTERLINE_EM 0.1

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;
static locale_t metrics_locale;		/* C.UTF-8, or (locale_t)0 */

static void open_locale(void)
{
	metrics_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Width in em of one character: a column's or two, per wcwidth(). */
static double char_em(wchar_t wc)
{
	int cols = wcwidth(wc);

	if (cols < 0)		/* a control character: drawn as nothing, counted as one */
		return METRICS_NARROW_EM;
	return cols == 2 ? METRICS_WIDE_EM : cols * METRICS_NARROW_EM;
}

double layout_text_em(const char *text)
{
	const char *p = text;
	size_t left = strlen(text);
	mbstate_t st;
	locale_t old = (locale_t)0;
	double em = 0;

	pthread_once(&metrics_once, open_locale);
	if (metrics_locale)
		old = uselocale(metrics_locale);
	memset(&st, 0, sizeof(st));
	while (left) {
		wchar_t wc;
		size_t n = 1;

		if (!metrics_locale) {
			/* no tables: ASCII one column, any other character as wide as CJK */
			if ((unsigned char)*p >= 0xc0)
				while (n < left && ((unsigned char)p[n] & 0xc0) == 0x80)
					n++;
			em += (unsigned char)*p < 0x80 ? METRICS_NARROW_EM : METRICS_WIDE_EM;
		} else if ((n = mbrtowc(&wc, p, left, &st)) == (size_t)-1 || n == (size_t)-2 ||
			   n == 0) {
			/* not UTF-8 (or a cut sequence): one column for the byte */
			em += METRICS_NARROW_EM;
			memset(&st, 0, sizeof(st));
			n = 1;
		} else {
			em += char_em(wc);
		}
		p += n;
		left -= n;
	}
	if (metrics_locale)
		uselocale(old);
	return em;
}

/* Graphviz's textlayout entry: the span's size in points. */
static boolean metrics_textlayout(textspan_t *span, char **fontpath)
{
	double size = span->font && span->font->size > 0 ? span->font->size : 14.0;

	span->size.x = layout_text_em(span->str ? span->str : "") * size;
	span->size.y = size * METRICS_LINE_SPACING;
	span->yoffset_layout = 0.0;
	span->yoffset_centerline = METRICS_CENTERLINE_EM * size;
	span->layout = NULL;
	span->free_layout = NULL;
	if (fontpath)
		*fontpath = "[migsync monospace metrics]";
	return TRUE;
}

static gvtextlayout_engine_t metrics_engine = { metrics_textlayout };

static gvplugin_installed_t metrics_types[] = {
	{ 0, "textlayout", 10, &metrics_engine, NULL },
	{ 0, NULL, 0, NULL, NULL },
};

static gvplugin_api_t metrics_apis[] = {
	{ API_textlayout, metrics_types },
	{ (api_t)0, NULL },
};

gvplugin_library_t layout_metrics_library = { "migsync_metrics", metrics_apis };
