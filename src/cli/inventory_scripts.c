/*
 * migrations.scripts from the inventory, for the graph commands: the real
 * loader, so that they see exactly what every other command sees.
 */
#include "cli/cli.h"
#include "migsync/inventory.h"

int cli_inventory_script_dirs(struct strvec *dirs, const char *inventory_dir,
			      struct ms_error *err)
{
	struct diag_list problems = DIAG_LIST_INIT;
	struct inventory *inv = NULL;
	int ret = inventory_load(&inv, inventory_dir, &problems, err);

	if (ret) {
		if (ret == MS_ERR_IO)
			ms_error_hint(err, "pass -i PATH to an inventory directory, or --scripts DIR");
		else if (diag_list_count(&problems, DIAG_ERROR) > 1)
			ms_error_hint(err, "'migsync inventory -i %s' lists every problem", inventory_dir);
		goto done;
	}
	for (size_t i = 0; i < inv->migrations.scripts.nr; i++)
		strvec_push(dirs, inv->migrations.scripts.items[i]);
done:
	inventory_free(inv);
	diag_list_release(&problems);
	return ret;
}
