/* Aligned text tables (see render.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/render/render.h"
#include "migsync/util.h"

void render_text_table(struct strbuf *sb, const char *const *headers,
		       char *const *cells, size_t rows, size_t cols)
{
	size_t *width = xcalloc(cols ? cols : 1, sizeof(*width));

	for (size_t c = 0; c < cols; c++) {
		width[c] = strlen(headers[c]);
		for (size_t i = 0; i < rows; i++)
			if (strlen(cells[i * cols + c]) > width[c])
				width[c] = strlen(cells[i * cols + c]);
	}
	for (size_t i = 0; i <= rows; i++) {
		size_t start = sb->len;

		for (size_t c = 0; c < cols; c++) {
			size_t cell_start = sb->len;

			strbuf_addf(sb, "%-*s  ", (int)width[c], i ? cells[(i - 1) * cols + c] : headers[c]);
			for (size_t p = cell_start; !i && p < sb->len; p++)
				if (sb->buf[p] >= 'a' && sb->buf[p] <= 'z')
					sb->buf[p] = (char)(sb->buf[p] - 'a' + 'A');
		}
		while (sb->len > start && sb->buf[sb->len - 1] == ' ')
			strbuf_setlen(sb, sb->len - 1);
		strbuf_addch(sb, '\n');
	}
	free(width);
}
