/* Markdown tables (see render.h). */
#include "cli/render/render.h"

void render_md_cell(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, ' ');
	for (; *s; s++) {
		if (*s == '|')
			strbuf_addstr(sb, "\\|");
		else if (*s == '\n' || *s == '\r')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addstr(sb, " |");
}

void render_md_table(struct strbuf *sb, const char *const *headers,
		     char *const *cells, size_t rows, size_t cols)
{
	strbuf_addch(sb, '|');
	for (size_t c = 0; c < cols; c++)
		render_md_cell(sb, headers[c]);
	strbuf_addstr(sb, "\n|");
	for (size_t c = 0; c < cols; c++)
		strbuf_addstr(sb, " --- |");
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < rows; i++) {
		strbuf_addch(sb, '|');
		for (size_t c = 0; c < cols; c++)
			render_md_cell(sb, cells[i * cols + c]);
		strbuf_addch(sb, '\n');
	}
}
