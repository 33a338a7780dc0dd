#ifndef MIGSYNC_FUZZ_DIR_H
#define MIGSYNC_FUZZ_DIR_H

/*
 * For the targets whose code under test reads files, not a buffer: a
 * fresh directory for the inputs, in memory where there is /dev/shm, else
 * $TMPDIR or /tmp; named migsync-fuzz-NAME.XXXXXX. NULL when none can be
 * made.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_make_dir(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	const char *bases[] = { "/dev/shm", tmp && *tmp ? tmp : "/tmp", "/tmp" };

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		char *d = malloc(strlen(bases[i]) + strlen(name) + 32);

		if (!d)
			abort();
		sprintf(d, "%s/migsync-fuzz-%s.XXXXXX", bases[i], name);
		if (mkdtemp(d))
			return d;
		free(d);
	}
	return NULL;
}

#endif
