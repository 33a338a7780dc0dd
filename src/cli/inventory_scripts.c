/*
 * migrations.scripts from inventory.yaml, for the graph commands.
 * Interim reader: the inventory module replaces it with inventory_load().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "cli/cli.h"

static char *join_dir(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	return xstrfmt("%s/%s", dir, rel);
}

int cli_inventory_script_dirs(struct strvec *dirs, const char *inventory_dir,
			      struct ms_error *err)
{
	char *path = xstrfmt("%s/inventory.yaml", inventory_dir);
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *migrations = NULL, *scripts = NULL;
	bool have_doc = false, have_parser = false;
	int ret = 0;

	if (!f) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "\"%s\": could not open: %s", path, strerror(errno));
		ms_error_hint(err, "pass -i PATH to an inventory directory, or --scripts DIR");
		goto done;
	}
	yaml_parser_initialize(&parser);
	have_parser = true;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "%s:%zu:%zu: %s", path,
				   parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				   parser.problem ? parser.problem : "invalid YAML");
		goto done;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);

			if (k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, "migrations"))
				migrations = yaml_document_get_node(&doc, p->value);
		}
	}
	if (migrations && migrations->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = migrations->data.mapping.pairs.start; p < migrations->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);

			if (k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, "scripts"))
				scripts = yaml_document_get_node(&doc, p->value);
		}
	}
	if (!scripts) {
		ret = ms_error_set(err, MS_ERR_CONFIG, "\"%s\": no migrations.scripts", path);
		ms_error_hint(err, "add migrations: { scripts: DIR } to inventory.yaml, or pass --scripts DIR");
		goto done;
	}
	if (scripts->type == YAML_SCALAR_NODE) {
		strvec_push_owned(dirs, join_dir(inventory_dir, (char *)scripts->data.scalar.value));
	} else if (scripts->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = scripts->data.sequence.items.start; i < scripts->data.sequence.items.top; i++) {
			yaml_node_t *n = yaml_document_get_node(&doc, *i);

			if (n->type != YAML_SCALAR_NODE) {
				ret = ms_error_set(err, MS_ERR_CONFIG, "%s:%zu:%zu: migrations.scripts: expected a directory name",
						   path, n->start_mark.line + 1, n->start_mark.column + 1);
				goto done;
			}
			strvec_push_owned(dirs, join_dir(inventory_dir, (char *)n->data.scalar.value));
		}
	} else {
		ret = ms_error_set(err, MS_ERR_CONFIG, "%s:%zu:%zu: migrations.scripts: expected a directory or a list of directories",
				   path, scripts->start_mark.line + 1, scripts->start_mark.column + 1);
	}
done:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (f)
		fclose(f);
	free(path);
	return ret;
}
