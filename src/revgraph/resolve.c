#include "migsync/revgraph.h"
#include "internal.h"

int revgraph_resolve(struct revgraph_set *out, const struct revgraph *g,
		     const char *ident, const struct strvec *current,
		     struct ms_error *err)
{
	return ms_error_set(err, MS_ERR_GENERIC, "identifier \"%s\": not implemented yet", ident);
}
