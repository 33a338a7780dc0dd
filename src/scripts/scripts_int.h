#ifndef MIGSYNC_SCRIPTS_INT_H
#define MIGSYNC_SCRIPTS_INT_H

/* Helpers shared by the .py and .sql readers; not part of the public API. */

#include <stddef.h>

#include "migsync/error.h"
#include "migsync/util.h"

/* Longest physical line a revision file may have. */
#define SCRIPTS_MAX_LINE (1024u * 1024)

/*
 * Set err to `"path", line N: message` (no line part when line is 0) and
 * return code.
 */
int scripts_error_at(struct ms_error *err, int code, const char *path,
		     unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Refuse what is not a text file we can scan: too large, a NUL byte (a
 * binary file), a line longer than SCRIPTS_MAX_LINE. Returns 0 or
 * MS_ERR_PARSE with err set.
 */
int scripts_check_text(const char *path, const char *buf, size_t len,
		       struct ms_error *err);

/*
 * Move the script's small strings (path, filename, revision, message,
 * doc, list items) into one allocation, and size its lists exactly.
 * The readers call it on success.
 */
struct script;
void scripts_compact(struct script *s);

/* Length of the UTF-8 byte order mark at buf, or 0. */
size_t scripts_bom_len(const char *buf, size_t len);

/*
 * Names in branch_labels / depends_on, resolved statically (pyconst.c):
 * a value item that is a name is kept as PY_NAME_MARK + "a.b.c".
 */
#define PY_NAME_MARK '\x01'
#define PY_CONST_SEP '\x1f'	/* between the strings of a tuple constant */


/* What a module defines at its top level, as far as names in labels need it. */
struct py_scope {
	struct strvec const_names;	/* NAME = "s" or ("s", "t") */
	struct strvec const_values;	/* the strings, joined by PY_CONST_SEP */
	struct strvec imp_names;	/* the name an import binds */
	struct strvec imp_modules;	/* the module, dotted; relative ones keep their dots */
	struct strvec imp_attrs;	/* from M import A: "A"; import M: "" */
};

void py_scope_init(struct py_scope *sc);
void py_scope_release(struct py_scope *sc);
/* Set constant name (a later assignment replaces an earlier one). */
void py_scope_set(struct py_scope *sc, const char *name, const char *value);
/* Record the bindings of an import statement, its tokens space-separated. */
void py_scope_import(struct py_scope *sc, const char *stmt);

/*
 * Append the string(s) the dotted name stands for in scope to out: a
 * constant of the file, or of a module it imports (searched in
 * import_path, then in the directories above file, nearest first),
 * read with py_scan_module; depth bounds chains of re-exports. False
 * when it does not resolve to a literal.
 */
bool py_resolve(struct strvec *out, const struct py_scope *scope, const char *dotted,
		const char *file, const struct strvec *import_path, unsigned depth);

/*
 * The Python source buf as UTF-8 (PEP 263, pycoding.c): *text is buf itself
 * unless a coding line on line 1 or 2 declares another encoding, in which
 * case the file is decoded into out. Returns 0, or MS_ERR_PARSE with err
 * naming the line (an unknown encoding, a byte it cannot decode).
 */
struct strbuf;
int py_source_utf8(struct strbuf *out, const char **text, size_t *text_len,
		   const char *path, const char *buf, size_t len, struct ms_error *err);

/* The module-level constants and imports of a Python file (python.c). */
int py_scan_module(struct py_scope *out, const char *path, const char *buf, size_t len);

/* script_parse_python, resolving imported names on import_path (may be NULL). */
struct script;
struct diag_list;
int script_parse_python_in(struct script *out, const char *path,
			   const char *buf, size_t len, unsigned flags,
			   const struct strvec *import_path,
			   struct diag_list *warnings, struct ms_error *err);

#endif
