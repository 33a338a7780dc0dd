#ifndef MIGSYNC_SAFETY_INT_H
#define MIGSYNC_SAFETY_INT_H

/* Shared by the files of the safety review (src/lint/safety*.c). */

#include "migsync/safety.h"

/* Append a finding of rule (by name); message is taken over. */
struct safety_finding *safety_add(struct safety_list *list, const char *rule,
				  const char *revision, const char *file,
				  unsigned line, unsigned column, char *message);

/*
 * The migsync:allow comments of in->comments: findings [from, out->nr)
 * of an allowed rule are marked allowed; a bad allowance is a finding.
 */
void safety_apply_allowances(struct safety_list *out, size_t from,
			     const struct safety_input *in);

#endif
