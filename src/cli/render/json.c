/* JSON objects more than one command writes (see render.h). */
#include "cli/render/render.h"
#include "migsync/json.h"
#include "migsync/plan.h"

void render_json_checksum_mismatch(struct json_writer *jw, bool with_database,
				   const char *database, const struct checksum_mismatch *m)
{
	json_object_begin(jw);
	if (with_database)
		json_kv_string(jw, "database", database);
	json_kv_string(jw, "revision", m->revision);
	json_kv_string(jw, "file", m->file);
	json_kv_string(jw, "applied_sha256", m->applied_sha256);
	json_kv_string(jw, "file_sha256", m->file_sha256);
	json_object_end(jw);
}
