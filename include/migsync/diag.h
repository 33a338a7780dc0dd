#ifndef MIGSYNC_DIAG_H
#define MIGSYNC_DIAG_H

/*
 * Diagnostics that do not stop the work: warnings from the script reader
 * and findings of the lint rules. Each one names a place (file and line,
 * 0 when unknown), carries a stable code (e.g. "MS101"), a message in the
 * error style and a one-line hint.
 */

#include <stdbool.h>
#include <stddef.h>

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
	DIAG_INFO,
};

struct diag {
	enum diag_severity severity;
	char *code;
	char *file;
	unsigned line;
	unsigned column;
	char *revision;	/* the revision concerned, or NULL */
	char *message;
	char *hint;
	char *rule;	/* a safety finding's rule name (safety.h), or NULL */
	char *statement;	/* a safety finding's statement, or NULL */
	bool down;	/* a safety finding of a downgrade */
};

struct diag_list {
	struct diag *items;
	size_t nr;
	size_t alloc;
};

#define DIAG_LIST_INIT { NULL, 0, 0 }

void diag_list_init(struct diag_list *list);
void diag_list_release(struct diag_list *list);

/* Append a diagnostic; every string is copied. file, revision, hint may be NULL. */
struct diag *diag_add(struct diag_list *list, enum diag_severity severity,
		      const char *code, const char *file, unsigned line,
		      const char *revision, const char *hint,
		      const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

/* Sort by file, line, code (stable output regardless of read order). */
void diag_list_sort(struct diag_list *list);
size_t diag_list_count(const struct diag_list *list, enum diag_severity severity);
const char *diag_severity_name(enum diag_severity severity);

#endif
