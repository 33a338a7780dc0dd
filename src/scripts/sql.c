/*
 * Reading a native SQL revision: `-- migsync:KEY value` header lines, then
 * the `-- migsync:up` and `-- migsync:down` sections (DESIGN.md). A
 * directive is a line that starts, at column 0, with `--`, optional blanks
 * and `migsync:`. Everything else is SQL or an ordinary comment.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migsync/scripts.h"
#include "migsync/sha256.h"
#include "migsync/strbuf.h"
#include "scripts_int.h"

enum sql_key {
	KEY_REVISION,
	KEY_DOWN_REVISION,
	KEY_DEPENDS_ON,
	KEY_BRANCH_LABELS,
	KEY_MESSAGE,
	KEY_TRANSACTION,
	KEY_UP,
	KEY_DOWN,
	KEY_NR,
};

static const char *const key_names[KEY_NR] = {
	"revision", "down_revision", "depends_on", "branch_labels",
	"message", "transaction", "up", "down",
};

#define KNOWN_KEYS "revision, down_revision, depends_on, branch_labels, message, transaction, up, down"

struct section {
	const char *start;	/* first byte after the marker line */
	const char *end;	/* start of the next marker line, or end of file */
	unsigned first_line;
	bool empty;		/* only blank lines and comments */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Split value into ids at blanks and commas. */
static void split_ids(struct strvec *out, const char *v, size_t len)
{
	const char *p = v, *end = v + len;

	while (p < end) {
		const char *s;

		while (p < end && (is_blank(*p) || *p == ','))
			p++;
		s = p;
		while (p < end && !is_blank(*p) && *p != ',')
			p++;
		if (p > s)
			strvec_push_owned(out, xstrndup(s, (size_t)(p - s)));
	}
}

static int set_header(struct script *s, enum sql_key key, const char *path,
		      unsigned line, const char *v, size_t len,
		      struct ms_error *err)
{
	int ret = 0;

	switch (key) {
	case KEY_REVISION:
		s->revision_line = line;
		split_ids(&s->down_revisions, v, len);	/* scratch, emptied below */
		if (s->down_revisions.nr != 1) {
			ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
					       s->down_revisions.nr ? "revision has more than one id"
								    : "revision is empty");
			ms_error_hint(err, "write one id: -- migsync:revision 3f2a9c1d0b7e");
			strvec_release(&s->down_revisions);
			goto done;
		}
		s->revision = s->down_revisions.items[0];
		s->down_revisions.items[0] = NULL;
		strvec_release(&s->down_revisions);
		break;
	case KEY_DOWN_REVISION:
		s->down_revision_line = line;
		if (len == 4 && !strncasecmp(v, "none", 4))
			break;
		split_ids(&s->down_revisions, v, len);
		if (!s->down_revisions.nr) {
			ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
					       "down_revision is empty");
			ms_error_hint(err, "write \"none\" (or leave the header out) for a base revision");
			goto done;
		}
		for (size_t i = 0; i < s->down_revisions.nr; i++) {
			if (!strcasecmp(s->down_revisions.items[i], "none")) {
				ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
						       "down_revision mixes \"none\" with revision ids");
				goto done;
			}
		}
		break;
	case KEY_DEPENDS_ON:
		s->depends_on_line = line;
		split_ids(&s->depends_on, v, len);
		break;
	case KEY_BRANCH_LABELS:
		s->branch_labels_line = line;
		split_ids(&s->branch_labels, v, len);
		break;
	case KEY_MESSAGE:
		s->message = xstrndup(v, len);
		break;
	case KEY_TRANSACTION:
		if (len == 4 && !strncasecmp(v, "true", 4)) {
			s->transactional = true;
		} else if (len == 5 && !strncasecmp(v, "false", 5)) {
			s->transactional = false;
		} else {
			ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
					       "transaction must be true or false, not \"%.*s\"",
					       (int)(len > 64 ? 64 : len), v);
			goto done;
		}
		break;
	default:
		break;
	}
done:
	return ret;
}

/* Does the line hold SQL (not only blanks and `--` comments)? */
static bool line_has_sql(const char *p, const char *eol)
{
	while (p < eol && is_blank(*p))
		p++;
	return p < eol && !(eol - p >= 2 && p[0] == '-' && p[1] == '-');
}

int script_parse_sql(struct script *out, const char *path,
		     const char *buf, size_t len, unsigned flags,
		     struct diag_list *warnings, struct ms_error *err)
{
	unsigned seen[KEY_NR] = { 0 };
	struct section sec[2] = { { NULL, NULL, 0, true }, { NULL, NULL, 0, true } };
	int cur = -1;		/* section being read: 0 up, 1 down */
	unsigned stray_line = 0;
	const char *p, *end = buf + len, *slash;
	unsigned line = 0;
	int ret;

	script_init(out);
	out->kind = SCRIPT_SQL;
	out->path = xstrdup(path);
	slash = strrchr(path, '/');
	out->filename = xstrdup(slash ? slash + 1 : path);

	ret = scripts_check_text(path, buf, len, err);
	if (ret)
		goto done;
	if (flags & SCRIPTS_SHA256)
		sha256_hex(buf, len, out->sha256);

	for (p = buf + scripts_bom_len(buf, len); p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *next = nl ? nl + 1 : end;
		const char *k, *v, *ve;
		int key = -1;

		line++;
		k = p;
		if (eol - k >= 2 && k[0] == '-' && k[1] == '-') {
			k += 2;
			while (k < eol && (*k == ' ' || *k == '\t'))
				k++;
			if (eol - k < 8 || memcmp(k, "migsync:", 8))
				k = NULL;
			else
				k += 8;
		} else {
			k = NULL;
		}
		/* -- migsync:allow RULE: reason is the safety review's, anywhere: a comment here */
		if (k && eol - k >= 5 && !memcmp(k, "allow", 5) && (eol - k == 5 || is_blank(k[5]))) {
			out->has_allow = true;
			k = NULL;
		}
		if (!k) {
			if (cur >= 0) {
				if (sec[cur].empty && line_has_sql(p, eol))
					sec[cur].empty = false;
			} else if (!stray_line && line_has_sql(p, eol)) {
				stray_line = line;
			}
			p = next;
			continue;
		}

		v = k;
		while (v < eol && (*v == '_' || (*v >= 'a' && *v <= 'z') ||
				   (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9')))
			v++;
		for (int i = 0; i < KEY_NR; i++) {
			if ((size_t)(v - k) == strlen(key_names[i]) &&
			    !memcmp(k, key_names[i], (size_t)(v - k))) {
				key = i;
				break;
			}
		}
		if (key < 0 || (v < eol && !is_blank(*v))) {
			ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
					       "unknown header \"-- migsync:%.*s\"",
					       (int)((eol - k) > 40 ? 40 : (eol - k)), k);
			ms_error_hint(err, "known headers: " KNOWN_KEYS);
			goto done;
		}
		if (seen[key]) {
			ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
					       "duplicate \"-- migsync:%s\" (first on line %u)",
					       key_names[key], seen[key]);
			goto done;
		}
		seen[key] = line;
		while (v < eol && is_blank(*v))
			v++;
		ve = eol;
		while (ve > v && is_blank(ve[-1]))
			ve--;

		if (key == KEY_UP || key == KEY_DOWN) {
			int which = key == KEY_UP ? 0 : 1;

			if (ve > v) {
				ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
						       "unexpected text after \"-- migsync:%s\"",
						       key_names[key]);
				ms_error_hint(err, "put the SQL on the lines after the marker");
				goto done;
			}
			if (cur >= 0)
				sec[cur].end = p;
			cur = which;
			sec[cur].start = next;
			sec[cur].end = end;
			sec[cur].first_line = line + 1;
		} else {
			if (cur >= 0) {
				ret = scripts_error_at(err, MS_ERR_PARSE, path, line,
						       "header \"-- migsync:%s\" inside the %s section",
						       key_names[key], cur ? "down" : "up");
				ms_error_hint(err, "put every -- migsync: header before -- migsync:up");
				goto done;
			}
			ret = set_header(out, (enum sql_key)key, path, line,
					 v, (size_t)(ve - v), err);
			if (ret)
				goto done;
		}
		p = next;
	}

	if (!out->revision) {
		ret = scripts_error_at(err, MS_ERR_PARSE, path, 0,
				       "no \"-- migsync:revision\" header");
		ms_error_hint(err, "start the file with -- migsync:revision <id>");
		goto done;
	}
	out->has_up_section = out->has_upgrade = seen[KEY_UP] != 0;
	out->upgrade_line = out->up_line = seen[KEY_UP] ? sec[0].first_line : 0;
	out->upgrade_empty = seen[KEY_UP] && sec[0].empty;
	out->has_downgrade = seen[KEY_DOWN] != 0;
	out->downgrade_line = out->down_line = seen[KEY_DOWN] ? sec[1].first_line : 0;
	out->downgrade_empty = seen[KEY_DOWN] && sec[1].empty;
	if (flags & SCRIPTS_KEEP_SQL) {
		for (int i = 0; i < 2; i++) {
			if (!sec[i].start)
				continue;
			*(i ? &out->down_sql : &out->up_sql) =
				xstrndup(sec[i].start, (size_t)(sec[i].end - sec[i].start));
		}
	}
	if (stray_line && warnings)
		diag_add(warnings, DIAG_WARNING, "MS031", path, stray_line, out->revision,
			 "put SQL after -- migsync:up or -- migsync:down",
			 "SQL before the first section is ignored");
	scripts_compact(out);
done:
	if (ret)
		script_release(out);
	return ret;
}
