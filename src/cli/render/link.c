/*
 * Links between the files `migsync check` writes: the JUnit file and the
 * Markdown summary point at the HTML page by a path relative to
 * themselves, so the three can be moved together (a CI artifact) and the
 * link still works.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/render/render.h"
#include "migsync/util.h"

/* path's components, made absolute against the working directory, "." and ".." resolved. */
static void path_components(struct strvec *out, const char *path)
{
	struct strbuf full = STRBUF_INIT;
	char *save = NULL;

	if (path[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		strbuf_addstr(&full, cwd ? cwd : ".");
		strbuf_addch(&full, '/');
		free(cwd);
	}
	strbuf_addstr(&full, path);
	for (char *part = strtok_r(full.buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (!strcmp(part, "..")) {
			if (out->nr)
				free(out->items[--out->nr]);
		} else if (strcmp(part, ".")) {
			strvec_push(out, part);
		}
	}
	strbuf_release(&full);
}

/* A path component in a URL: unreserved characters kept, the others %XX. */
static void add_url_component(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

char *render_relative_link(const char *from_file, const char *target)
{
	struct strvec from = STRVEC_INIT, to = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	size_t common = 0, from_dirs;

	path_components(&from, from_file);
	path_components(&to, target);
	from_dirs = from.nr ? from.nr - 1 : 0;	/* the file's own name is not a directory */
	while (common < from_dirs && common + 1 < to.nr &&
	       !strcmp(from.items[common], to.items[common]))
		common++;
	for (size_t i = common; i < from_dirs; i++)
		strbuf_addstr(&sb, "../");
	for (size_t i = common; i < to.nr; i++) {
		if (i > common)
			strbuf_addch(&sb, '/');
		add_url_component(&sb, to.items[i]);
	}
	strvec_release(&from);
	strvec_release(&to);
	return strbuf_detach(&sb, NULL);
}
