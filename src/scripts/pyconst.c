/*
 * Names in branch_labels and depends_on resolved without running Python:
 * OpenStack and others write `branch_labels = (cli.EXPAND_BRANCH,)` with
 * `from neutron.db.migration import cli`. The name is looked up among the
 * revision file's own module-level string constants, then through its
 * imports in the imported module's file, read the same way (only literal
 * assignments count; nothing is executed). Modules are searched for in
 * Alembic's prepend_sys_path, then in the directories above the revision
 * file, nearest first, which is where a project's root usually is.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "migsync/scripts.h"
#include "migsync/strbuf.h"
#include "scripts_int.h"

/* How many modules deep a name may be re-exported, and how far up to look. */
#define RESOLVE_DEPTH_MAX 4
#define ANCESTORS_MAX 8
#define MODULE_SIZE_MAX (4u * 1024 * 1024)

void py_scope_init(struct py_scope *sc)
{
	strvec_init(&sc->const_names);
	strvec_init(&sc->const_values);
	strvec_init(&sc->imp_names);
	strvec_init(&sc->imp_modules);
	strvec_init(&sc->imp_attrs);
}

void py_scope_release(struct py_scope *sc)
{
	strvec_release(&sc->const_names);
	strvec_release(&sc->const_values);
	strvec_release(&sc->imp_names);
	strvec_release(&sc->imp_modules);
	strvec_release(&sc->imp_attrs);
}

static ssize_t find(const struct strvec *v, const char *s)
{
	for (size_t i = v->nr; i > 0; i--)
		if (!strcmp(v->items[i - 1], s))
			return (ssize_t)(i - 1);
	return -1;
}

void py_scope_set(struct py_scope *sc, const char *name, const char *value)
{
	ssize_t i = find(&sc->const_names, name);

	if (i >= 0) {
		free(sc->const_values.items[i]);
		sc->const_values.items[i] = xstrdup(value);
		return;
	}
	strvec_push(&sc->const_names, name);
	strvec_push(&sc->const_values, value);
}

static void bind(struct py_scope *sc, const char *name, const char *module, const char *attr)
{
	strvec_push(&sc->imp_names, name);
	strvec_push(&sc->imp_modules, module);
	strvec_push(&sc->imp_attrs, attr);
}

/*
 * `import a.b [as c], d` and `from [.]a import b [as c], d`, as tokens
 * separated by spaces ("." and "..." are tokens of their own; brackets
 * are left out by the parser).
 */
void py_scope_import(struct py_scope *sc, const char *stmt)
{
	struct strvec t = STRVEC_INIT;
	struct strbuf module = STRBUF_INIT, dotted = STRBUF_INIT;
	size_t i = 1;
	const char *p = stmt;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n)
			strvec_push_owned(&t, xstrndup(p, n));
		p += n + (p[n] == ' ');
	}
	if (!t.nr)
		goto done;
	if (!strcmp(t.items[0], "from")) {
		/* the module: dots and dotted names up to "import" */
		for (; i < t.nr && strcmp(t.items[i], "import"); i++)
			strbuf_addstr(&module, t.items[i]);
		for (i++; i < t.nr; i++) {
			const char *name = t.items[i], *as = name;

			if (!strcmp(name, ","))
				continue;
			if (i + 2 < t.nr && !strcmp(t.items[i + 1], "as")) {
				as = t.items[i + 2];
				i += 2;
			}
			bind(sc, as, module.buf, name);
		}
		goto done;
	}
	/* import a.b.c [as d]: d is a.b.c; without as, a is the package a */
	while (i < t.nr) {
		strbuf_reset(&dotted);
		for (; i < t.nr && strcmp(t.items[i], ",") && strcmp(t.items[i], "as"); i++)
			strbuf_addstr(&dotted, t.items[i]);
		if (i + 1 < t.nr && !strcmp(t.items[i], "as")) {
			bind(sc, t.items[i + 1], dotted.buf, "");
			i += 2;
		} else if (dotted.len) {
			char *first = xstrndup(dotted.buf, strcspn(dotted.buf, "."));

			bind(sc, first, first, "");
			free(first);
		}
		while (i < t.nr && !strcmp(t.items[i], ","))
			i++;
	}
done:
	strvec_release(&t);
	strbuf_release(&module);
	strbuf_release(&dotted);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* base/a/b.py or base/a/b/__init__.py for module "a.b" (NULL when neither is there). */
static char *module_file(const char *base, const char *module)
{
	char *rel = xstrdup(module), *path;

	for (char *p = rel; *p; p++)
		if (*p == '.')
			*p = '/';
	path = xstrfmt("%s/%s.py", base, rel);
	if (!is_file(path)) {
		free(path);
		path = xstrfmt("%s/%s/__init__.py", base, rel);
		if (!is_file(path)) {
			free(path);
			path = NULL;
		}
	}
	free(rel);
	return path;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
}

/*
 * The file of module (dotted; leading dots: relative to file's package),
 * searched in import_path, then file's directory and those above it.
 */
static char *find_module(const char *module, const char *file, const struct strvec *import_path)
{
	char *dir = dir_of(file), *ret = NULL;

	if (module[0] == '.') {
		/* from . import x: file's own package; each further dot one up */
		for (module++; *module == '.'; module++) {
			char *up = dir_of(dir);

			free(dir);
			dir = up;
		}
		ret = *module ? module_file(dir, module) : NULL;
		goto done;
	}
	for (size_t i = 0; import_path && !ret && i < import_path->nr; i++)
		ret = module_file(import_path->items[i], module);
	for (unsigned n = 0; !ret && n < ANCESTORS_MAX; n++) {
		char *up;

		ret = module_file(dir, module);
		if (!strcmp(dir, "/") || !strcmp(dir, "."))
			break;
		up = dir_of(dir);
		free(dir);
		dir = up;
	}
done:
	free(dir);
	return ret;
}

/* The strings of a constant's value, appended to out. */
static void add_value(struct strvec *out, const char *value)
{
	const char *p = value;

	for (;;) {
		size_t n = strcspn(p, "\x1f");

		strvec_push_owned(out, xstrndup(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
}

/* name (dotted) in the module at path. */
static bool resolve_in_file(struct strvec *out, const char *path, const char *dotted,
			    const struct strvec *import_path, unsigned depth)
{
	struct strbuf sb = STRBUF_INIT;
	struct py_scope sc;
	bool ok = false;

	py_scope_init(&sc);
	if (strbuf_read_file(&sb, path, MODULE_SIZE_MAX) >= 0 &&
	    py_scan_module(&sc, path, sb.buf, sb.len) == 0)
		ok = py_resolve(out, &sc, dotted, path, import_path, depth + 1);
	py_scope_release(&sc);
	strbuf_release(&sb);
	return ok;
}

/* rest (may be empty: the attribute itself) of attr in module, imported from file. */
static bool resolve_imported(struct strvec *out, const char *module, const char *attr,
			     const char *rest, const char *file, const struct strvec *import_path,
			     unsigned depth)
{
	struct strbuf sub = STRBUF_INIT, name = STRBUF_INIT;
	char *path = NULL;
	bool ok = false;

	/* from M import A: A may be a submodule of M; import M: the module */
	if (*attr) {
		strbuf_addf(&sub, "%s%s%s", module, module[strlen(module) - 1] == '.' ? "" : ".", attr);
		path = *rest ? find_module(sub.buf, file, import_path) : NULL;
		if (path) {
			ok = resolve_in_file(out, path, rest, import_path, depth);
			goto done;
		}
		strbuf_addstr(&name, attr);
		if (*rest)
			strbuf_addf(&name, ".%s", rest);
	} else {
		strbuf_addstr(&name, rest);
	}
	if (!name.len)
		goto done;
	if (!*attr && strchr(name.buf, '.')) {
		/* import a: a.b.C may be the module a.b's C */
		size_t n = strcspn(name.buf, ".");

		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s.%.*s", module, (int)n, name.buf);
		path = find_module(sub.buf, file, import_path);
		if (path) {
			ok = resolve_in_file(out, path, name.buf + n + 1, import_path, depth);
			goto done;
		}
	}
	path = find_module(module, file, import_path);
	if (path)
		ok = resolve_in_file(out, path, name.buf, import_path, depth);
done:
	free(path);
	strbuf_release(&sub);
	strbuf_release(&name);
	return ok;
}

bool py_resolve(struct strvec *out, const struct py_scope *scope, const char *dotted,
		const char *file, const struct strvec *import_path, unsigned depth)
{
	size_t n = strcspn(dotted, ".");
	char *first = xstrndup(dotted, n);
	const char *rest = dotted[n] ? dotted + n + 1 : "";
	ssize_t i;
	bool ok = false;

	if (depth > RESOLVE_DEPTH_MAX)
		goto done;
	if (!*rest && (i = find(&scope->const_names, first)) >= 0) {
		add_value(out, scope->const_values.items[i]);
		ok = true;
		goto done;
	}
	i = find(&scope->imp_names, first);
	if (i >= 0)
		ok = resolve_imported(out, scope->imp_modules.items[i], scope->imp_attrs.items[i], rest,
				      file, import_path, depth);
done:
	free(first);
	return ok;
}
