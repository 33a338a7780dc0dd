/*
 * Reading an alembic.ini as Alembic does with Python's configparser
 * (strict mode, BasicInterpolation) and ScriptDirectory.from_config: the
 * versions directories, prepend_sys_path and sourceless of its main
 * section. See alembic_config_parse in scripts.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "migsync/scripts.h"
#include "migsync/strbuf.h"

/* configparser's MAX_INTERPOLATION_DEPTH */
#define INTERPOLATION_DEPTH_MAX 10

/* An option of the main section or [DEFAULT], the two sections get_main_option sees. */
struct ini_option {
	char *key;		/* lowercased, as configparser's optionxform does */
	struct strbuf value;	/* continuation lines joined with "\n" */
	unsigned line;
	bool is_default;	/* from [DEFAULT] */
};

struct ini {
	const char *path;
	const char *here;
	const char *section;	/* the main section: "alembic", or Alembic's -n NAME */
	struct ini_option *items;
	size_t nr;
	size_t alloc;
	bool has_section;	/* the main section was seen */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static void ini_release(struct ini *ini)
{
	for (size_t i = 0; i < ini->nr; i++) {
		free(ini->items[i].key);
		strbuf_release(&ini->items[i].value);
	}
	free(ini->items);
}

/* The option get_main_option would return: the main section's, else [DEFAULT]'s. */
static const struct ini_option *ini_find(const struct ini *ini, const char *key)
{
	const struct ini_option *dflt = NULL;

	for (size_t i = 0; i < ini->nr; i++) {
		if (strcmp(ini->items[i].key, key))
			continue;
		if (!ini->items[i].is_default)
			return &ini->items[i];
		dflt = &ini->items[i];
	}
	return dflt;
}

static char *lowercase(const char *s, size_t len)
{
	char *out = xstrndup(s, len);

	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/*
 * Append value to sb with configparser's BasicInterpolation: "%%" is "%",
 * "%(name)s" the (interpolated) value of option name of the main section
 * or [DEFAULT], or the directory of the file for "here".
 */
static int interpolate(struct strbuf *sb, const struct ini *ini, const struct ini_option *opt,
		       const char *value, unsigned depth, struct ms_error *err)
{
	const char *p = value;

	if (depth > INTERPOLATION_DEPTH_MAX) {
		ms_error_set(err, MS_ERR_CONFIG,
			     "\"%s\", line %u: %s: interpolation nested more than %d deep",
			     ini->path, opt->line, opt->key, INTERPOLATION_DEPTH_MAX);
		ms_error_hint(err, "an option that refers to itself through %%(name)s never ends");
		return MS_ERR_CONFIG;
	}
	while (*p) {
		const char *pct = strchr(p, '%'), *name, *close;
		const struct ini_option *ref;
		char *key;
		int ret;

		if (!pct) {
			strbuf_addstr(sb, p);
			break;
		}
		strbuf_add(sb, p, (size_t)(pct - p));
		if (pct[1] == '%') {
			strbuf_addch(sb, '%');
			p = pct + 2;
			continue;
		}
		if (pct[1] != '(') {
			ms_error_set(err, MS_ERR_CONFIG,
				     "\"%s\", line %u: %s: \"%%\" must be followed by \"%%\" or \"(\"",
				     ini->path, opt->line, opt->key);
			ms_error_hint(err, "write %%%% for a literal \"%%\"");
			return MS_ERR_CONFIG;
		}
		name = pct + 2;
		close = strchr(name, ')');
		if (!close || close == name || close[1] != 's') {
			ms_error_set(err, MS_ERR_CONFIG,
				     "\"%s\", line %u: %s: bad interpolation reference",
				     ini->path, opt->line, opt->key);
			ms_error_hint(err, "write %%(name)s, e.g. %%(here)s, or %%%% for a literal \"%%\"");
			return MS_ERR_CONFIG;
		}
		key = lowercase(name, (size_t)(close - name));
		ref = ini_find(ini, key);
		if (ref) {
			ret = interpolate(sb, ini, ref, ref->value.buf, depth + 1, err);
		} else if (!strcmp(key, "here")) {
			strbuf_addstr(sb, ini->here);
			ret = 0;
		} else {
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "\"%s\", line %u: %s: %%(%s)s names no option of [%s] or [DEFAULT]",
					   ini->path, opt->line, opt->key, key, ini->section);
		}
		free(key);
		if (ret < 0)
			return ret;
		p = close + 2;
	}
	return 0;
}

/* The interpolated value of key (*out NULL when there is none). */
static int ini_get(char **out, const struct ini_option **opt, const struct ini *ini,
		   const char *key, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	*out = NULL;
	*opt = ini_find(ini, key);
	if (!*opt)
		return 0;
	ret = interpolate(&sb, ini, *opt, (*opt)->value.buf, 1, err);
	if (ret < 0)
		strbuf_release(&sb);
	else
		*out = strbuf_detach(&sb, NULL);
	return ret;
}

static int parse_error(struct ms_error *err, const struct ini *ini, unsigned line,
		       const char *what)
{
	ms_error_set(err, MS_ERR_CONFIG, "\"%s\", line %u: %s", ini->path, line, what);
	return MS_ERR_CONFIG;
}

/*
 * Read the file's sections the way configparser's strict mode does and
 * keep the options of the main section and [DEFAULT]. A line indented deeper
 * than its option's line continues the value; comment lines (# or ; as
 * the first non-blank) are skipped without ending a value; an empty line
 * inside a value is kept, trailing ones are not.
 */
static int ini_parse(struct ini *ini, const char *text, size_t len, struct ms_error *err)
{
	struct strvec sections = STRVEC_INIT, keys = STRVEC_INIT;
	const char *p = text, *end = text + len;
	struct ini_option *cur = NULL;	/* the option continuation lines go to */
	bool in_section = false, has_option = false, keep = false, is_default = false;
	size_t indent_level = 0;
	unsigned lineno = 0;
	int ret = 0;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *eol = p, *s, *e, *rb;
		size_t indent;

		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		lineno++;
		if (memchr(p, '\0', (size_t)(eol - p))) {
			ret = parse_error(err, ini, lineno, "a NUL byte: not a text file");
			goto done;
		}
		s = p;
		while (s < eol && is_space(*s))
			s++;
		indent = (size_t)(s - p);
		e = eol;
		while (e > s && is_space(e[-1]))
			e--;
		p = eol < end && *eol == '\r' && eol + 1 < end && eol[1] == '\n' ? eol + 2 :
			eol < end ? eol + 1 : eol;

		if (s < e && (*s == '#' || *s == ';'))
			continue;
		if (s == e) {
			if (cur)
				strbuf_addch(&cur->value, '\n');
			continue;
		}
		if (in_section && has_option && indent > indent_level) {
			if (cur) {
				strbuf_addch(&cur->value, '\n');
				strbuf_add(&cur->value, s, (size_t)(e - s));
			}
			continue;
		}
		indent_level = indent;
		cur = NULL;
		rb = e;
		while (*s == '[' && rb > s + 2 && rb[-1] != ']')
			rb--;
		if (*s == '[' && rb > s + 2) {
			/* configparser's \[(?P<header>.+)\]: up to the last "]" */
			char *name = xstrndup(s + 1, (size_t)(rb - 1 - (s + 1)));

			if (strcmp(name, "DEFAULT") && strvec_contains(&sections, name)) {
				ms_error_set(err, MS_ERR_CONFIG, "\"%s\", line %u: section [%s] given twice",
					     ini->path, lineno, name);
				ms_error_hint(err, "Python's configparser refuses this file too: merge the two sections");
				free(name);
				ret = MS_ERR_CONFIG;
				goto done;
			}
			is_default = !strcmp(name, "DEFAULT");
			keep = is_default || !strcmp(name, ini->section);
			ini->has_section = ini->has_section || !strcmp(name, ini->section);
			strvec_push_owned(&sections, name);
			strvec_release(&keys);
			in_section = true;
			has_option = false;
			continue;
		}
		if (!in_section) {
			ret = parse_error(err, ini, lineno, "text before the first [section] header");
			goto done;
		}
		{
			const char *delim = s, *k;
			char *key;

			while (delim < e && *delim != '=' && *delim != ':')
				delim++;
			k = delim;
			while (k > s && is_space(k[-1]))
				k--;
			if (delim == e || k == s) {
				ret = parse_error(err, ini, lineno,
						  "expected \"key = value\" or \"key: value\"");
				goto done;
			}
			key = lowercase(s, (size_t)(k - s));
			if (strvec_contains(&keys, key)) {
				ms_error_set(err, MS_ERR_CONFIG,
					     "\"%s\", line %u: option \"%s\" given twice in section [%s]",
					     ini->path, lineno, key, sections.items[sections.nr - 1]);
				ms_error_hint(err, "Python's configparser refuses this file too: keep one");
				free(key);
				ret = MS_ERR_CONFIG;
				goto done;
			}
			strvec_push(&keys, key);
			has_option = true;
			delim++;
			while (delim < e && is_space(*delim))
				delim++;
			if (!keep) {
				free(key);
				continue;
			}
			ALLOC_GROW(ini->items, ini->nr + 1, ini->alloc);
			cur = &ini->items[ini->nr++];
			cur->key = key;
			strbuf_init(&cur->value, 0);
			strbuf_add(&cur->value, delim, (size_t)(e - delim));
			cur->line = lineno;
			cur->is_default = is_default;
		}
	}
	/* configparser joins the lines, then strips trailing empty ones */
	for (size_t i = 0; i < ini->nr; i++) {
		struct strbuf *v = &ini->items[i].value;

		while (v->len && (v->buf[v->len - 1] == '\n' || is_space(v->buf[v->len - 1])))
			strbuf_setlen(v, v->len - 1);
	}
done:
	strvec_release(&sections);
	strvec_release(&keys);
	return ret;
}

/* True for the "package:resource" form Alembic hands to pkg_resources. */
static bool is_resource(const char *loc)
{
	return loc[0] != '/' && strchr(loc, ':');
}

static int refuse_resource(struct ms_error *err, const struct ini *ini,
			   const struct ini_option *opt, const char *loc)
{
	ms_error_set(err, MS_ERR_CONFIG,
		     "\"%s\", line %u: %s: package resource locations (\"%s\") are not supported",
		     ini->path, opt->line, opt->key, loc);
	ms_error_hint(err, "give a directory path, or pass --scripts DIR");
	return MS_ERR_CONFIG;
}

/*
 * The characters a path list is split on, as Alembic 1.16 chooses them:
 * the first of names that is set ("path_separator", then for
 * version_locations the older "version_path_separator") must be "space",
 * "newline", "os" (":" on POSIX), ":" or ";" (anything else is an error,
 * as in Alembic); none set means legacy, the characters of Alembic's
 * regular expression. A newline always separates: a value continued on
 * the next line lists one path per line.
 */
static int separators(const char **out, const struct ini *ini, const char *const *names,
		      const char *legacy, struct ms_error *err)
{
	const struct ini_option *opt = NULL;
	char *sep = NULL;
	int ret = 0;

	*out = legacy;
	for (; *names && !sep && ret == 0; names++)
		ret = ini_get(&sep, &opt, ini, *names, err);
	if (ret < 0 || !sep)
		goto done;
	if (!strcmp(sep, "space"))
		*out = " \n";
	else if (!strcmp(sep, "newline"))
		*out = "\n";
	else if (!strcmp(sep, "os") || !strcmp(sep, ":"))
		*out = ":\n";
	else if (!strcmp(sep, ";"))
		*out = ";\n";
	else {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "\"%s\", line %u: %s: \"%s\" is not one of "
				   "space, newline, os, \":\", \";\"",
				   ini->path, opt->line, opt->key, sep);
		if (strchr(sep, '#'))
			ms_error_hint(err, "the ini format has no comments after a value (Alembic "
				      "reads the whole line too): put the comment on a line of its own");
		else
			ms_error_hint(err, "Alembic refuses this value too; \"os\" is \":\" on POSIX");
	}
done:
	free(sep);
	return ret;
}

/* Split a path list on delims; empty pieces are left out. */
static int split_paths(struct strvec *dirs, const struct ini *ini, const struct ini_option *opt,
		       const char *value, const char *delims, bool refuse_resources,
		       struct ms_error *err)
{
	const char *p = value;
	int ret = 0;

	while (ret == 0 && *p) {
		size_t n = strcspn(p, delims);
		const char *s = p, *e = p + n;
		char *loc;

		p = *e ? e + 1 : e;
		while (s < e && (is_space(*s) || *s == '\n'))
			s++;
		while (e > s && (is_space(e[-1]) || e[-1] == '\n'))
			e--;
		if (s == e)
			continue;
		loc = xstrndup(s, (size_t)(e - s));
		if (refuse_resources && is_resource(loc))
			ret = refuse_resource(err, ini, opt, loc);
		else
			strvec_push(dirs, loc);
		free(loc);
	}
	return ret;
}

void alembic_config_init(struct alembic_config *c)
{
	c->script_location = NULL;
	strvec_init(&c->version_dirs);
	strvec_init(&c->prepend_sys_path);
	c->sourceless = false;
}

void alembic_config_release(struct alembic_config *c)
{
	free(c->script_location);
	strvec_release(&c->version_dirs);
	strvec_release(&c->prepend_sys_path);
	alembic_config_init(c);
}

/* script_location: one path, blanks and blank lines around it left out. */
static int read_script_location(char **out, const struct ini *ini, struct ms_error *err)
{
	const struct ini_option *opt = NULL;
	char *loc = NULL, *s, *e;
	int ret = ini_get(&loc, &opt, ini, "script_location", err);

	if (ret < 0)
		goto done;
	if (loc) {
		s = loc;
		e = s + strlen(s);
		while (*s && (is_space(*s) || *s == '\n'))
			s++;
		while (e > s && (is_space(e[-1]) || e[-1] == '\n'))
			e--;
		memmove(loc, s, (size_t)(e - s));
		loc[e - s] = '\0';
		if (strchr(loc, '\n')) {
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "\"%s\", line %u: script_location spans several lines",
					   ini->path, opt->line);
			ms_error_hint(err, "script_location is one directory; list more in version_locations");
			goto done;
		}
	}
	if (!loc || !*loc) {
		if (loc)
			ret = ms_error_set(err, MS_ERR_CONFIG, "\"%s\", line %u: script_location is empty",
					   ini->path, opt->line);
		else
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "\"%s\": no script_location in the [%s] section",
					   ini->path, ini->section);
		ms_error_hint(err, "set script_location, or pass --scripts DIR");
		goto done;
	}
	if (is_resource(loc))
		ret = refuse_resource(err, ini, opt, loc);
done:
	if (ret < 0) {
		free(loc);
		loc = NULL;
	}
	*out = loc;
	return ret;
}

int alembic_config_parse(struct alembic_config *c, const char *text, size_t len,
			 const char *ini_path, const char *here, const char *section,
			 struct ms_error *err)
{
	static const char *const version_seps[] = { "path_separator", "version_path_separator", NULL };
	static const char *const path_seps[] = { "path_separator", NULL };
	struct ini ini = { ini_path, here, section ? section : "alembic", NULL, 0, 0, false };
	const struct ini_option *versions_opt = NULL, *rec_opt = NULL, *sys_opt = NULL, *src_opt = NULL;
	char *version_locations = NULL, *recursive = NULL, *sys_path = NULL, *sourceless = NULL;
	const char *delims = NULL;
	struct alembic_config found;
	int ret = ini_parse(&ini, text, len, err);

	alembic_config_init(&found);
	if (ret < 0)
		goto done;
	if (!ini.has_section) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "\"%s\": no [%s] section", ini_path, ini.section);
		if (section && strcmp(section, "alembic"))
			ms_error_hint(err, "check migrations.alembic_section (Alembic's -n NAME)");
		else
			ms_error_hint(err, "run where the project's alembic.ini is, or pass --scripts DIR");
		goto done;
	}
	if ((ret = read_script_location(&found.script_location, &ini, err)) < 0 ||
	    (ret = ini_get(&version_locations, &versions_opt, &ini, "version_locations", err)) < 0 ||
	    (ret = ini_get(&recursive, &rec_opt, &ini, "recursive_version_locations", err)) < 0 ||
	    (ret = ini_get(&sys_path, &sys_opt, &ini, "prepend_sys_path", err)) < 0 ||
	    (ret = ini_get(&sourceless, &src_opt, &ini, "sourceless", err)) < 0)
		goto done;
	/* Alembic 1.10 and later read subdirectories when the value is exactly "true" */
	if (recursive && !strcmp(recursive, "true")) {
		ret = ms_error_set(err, MS_ERR_CONFIG,
				   "\"%s\", line %u: recursive_version_locations = true is not supported",
				   ini_path, rec_opt->line);
		ms_error_hint(err, "migsync reads each versions directory without its subdirectories: "
			      "list them in version_locations, or pass --scripts DIR for each");
		goto done;
	}
	if (version_locations && *version_locations &&
	    ((ret = separators(&delims, &ini, version_seps, " ,\n", err)) < 0 ||
	     (ret = split_paths(&found.version_dirs, &ini, versions_opt, version_locations, delims,
				true, err)) < 0))
		goto done;
	/* no location at all (e.g. ";" split on ";"): Alembic uses script_location too */
	if (!found.version_dirs.nr)
		strvec_push_owned(&found.version_dirs, xstrfmt("%s/versions", found.script_location));
	if (sys_path && *sys_path &&
	    ((ret = separators(&delims, &ini, path_seps, " ,:\n", err)) < 0 ||
	     (ret = split_paths(&found.prepend_sys_path, &ini, sys_opt, sys_path, delims,
				false, err)) < 0))
		goto done;
	/* ScriptDirectory.from_config: get_main_option("sourceless") == "true" */
	found.sourceless = sourceless && !strcmp(sourceless, "true");
	alembic_config_release(c);
	*c = found;
	alembic_config_init(&found);
done:
	alembic_config_release(&found);
	free(version_locations);
	free(recursive);
	free(sys_path);
	free(sourceless);
	ini_release(&ini);
	return ret;
}

int alembic_ini_script_dirs(struct strvec *dirs, const char *text, size_t len,
			    const char *ini_path, const char *here, struct ms_error *err)
{
	struct alembic_config c;
	int ret;

	alembic_config_init(&c);
	ret = alembic_config_parse(&c, text, len, ini_path, here, NULL, err);
	for (size_t i = 0; ret == 0 && i < c.version_dirs.nr; i++)
		strvec_push(dirs, c.version_dirs.items[i]);
	alembic_config_release(&c);
	return ret;
}
