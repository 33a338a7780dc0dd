#include <stdlib.h>

#include "migsync/revgraph.h"
#include "internal.h"

void revgraph_path_release(struct revgraph_path *path)
{
	for (size_t i = 0; i < path->nr; i++) {
		strvec_release(&path->steps[i].rows_removed);
		strvec_release(&path->steps[i].rows_added);
	}
	free(path->steps);
	path->steps = NULL;
	path->nr = path->alloc = 0;
	strvec_release(&path->final_rows);
}

int revgraph_upgrade_path(struct revgraph_path *out, const struct revgraph *g,
			  const struct strvec *current, const char *target,
			  struct ms_error *err)
{
	return ms_error_set(err, MS_ERR_GENERIC, "target \"%s\": not implemented yet", target);
}

int revgraph_downgrade_path(struct revgraph_path *out, const struct revgraph *g,
			    const struct strvec *current, const char *target,
			    struct ms_error *err)
{
	return ms_error_set(err, MS_ERR_GENERIC, "target \"%s\": not implemented yet", target);
}
