#ifndef MIGSYNC_CLI_APPROVE_H
#define MIGSYNC_CLI_APPROVE_H

/*
 * What approve and approvals share beyond cmd_approve.c: the connection
 * to where an environment's approvals live, withdrawing an approval
 * (approve --revoke), and the plan now, against which approvals go stale.
 */

#include "cli/cli.h"
#include "migsync/inventory.h"
#include "migsync/target.h"

/* Open the project's inventory and find env (an exit code; *inv is the caller's to free). */
int approve_load_env(struct inventory **inv, const struct environment **env,
		     const struct cli_common *c, const char *name);

/* Connect to env's first target database (where approvals live). */
int approve_connect_first(PGconn **conn, struct tunnel **tunnel, const struct environment *env,
			  struct ms_error *err);

/*
 * migsync approve --revoke: mark env's approval of the plan hash (a
 * unique prefix of 12 or more digits) as revoked by by, with reason (may
 * be NULL); the row stays in the ledger. Prints what it did; returns the
 * exit code (1: no such approval, or the database refused).
 */
int approve_revoke(const struct cli_common *common, const struct environment *env,
		   const char *hash, const char *by, const char *reason);

/*
 * The hash of env's plan to the heads now, made as `migsync plan` makes
 * it (caller frees), or NULL with a warning on stderr when it cannot be
 * made (scripts, a database that cannot be read).
 */
char *approve_plan_now(struct cli_common *common, const char *env);

#endif
