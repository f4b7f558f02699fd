/*
 * adapter.c - the port's own code: looking adapters up in a registry,
 * validating a runtime through the adapter it names, and releasing what
 * the port's calls hand out.  The adapters themselves live in adapters/.
 */
#include "core/adapter.h"

#include <stdlib.h>
#include <string.h>

#include "core/jsoncheck.h"
#include "events/error.h"

const hive_adapter *hive_adapter_registry_find(const hive_adapter_registry *r, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		const hive_adapter *a = r->adapters[i];
		if (a->version == HIVE_ADAPTER_VERSION && strcmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

void hive_adapter_registry_names(const hive_adapter_registry *r, hive_buf *out)
{
	for (size_t i = 0; i < r->n; i++)
		hive_buf_printf(out, "%s%s", i ? ", " : "", r->adapters[i]->name);
}

/* "<where>.adapter: unknown adapter "x"; use one of exec, ..." (or
 * "missing; ..." when the runtime names none). */
static int unknown_adapter(const hive_adapter_registry *r, const json_t *name, const char *where)
{
	hive_buf m = {0};
	hive_buf_printf(&m, "%s.adapter: ", where);
	if (!name) {
		hive_buf_puts(&m, "missing");
	} else if (json_is_string(name)) {
		hive_buf_puts(&m, "unknown adapter \"");
		hive_put_shown(&m, json_string_value(name));
		hive_buf_putc(&m, '"');
	} else {
		hive_buf_printf(&m, "unknown adapter %s", hive_json_type_name(name));
	}
	if (r->n) {
		hive_buf_puts(&m, "; use one of ");
		hive_adapter_registry_names(r, &m);
	} else {
		hive_buf_puts(&m, "; no runtime adapters are registered");
	}
	int rc = hive_error_set(HIVE_EINVALID, "%s", hive_buf_str(&m));
	hive_buf_dispose(&m);
	return rc;
}

int hive_adapter_validate(const hive_adapter_registry *r, const json_t *runtime, const char *where,
			  unsigned flags, const hive_adapter **out)
{
	const char *at = where ? where : "runtime";
	if (!json_is_object(runtime))
		return hive_error_set(HIVE_EINVALID, "%s: must be an object such as {\"adapter\": \"exec\","
				      " \"command\": [\"./agent.sh\"]}, got %s", at, hive_json_type_name(runtime));
	const json_t *name = json_object_get(runtime, "adapter");
	const hive_adapter *a = hive_adapter_registry_find(r, json_string_value(name));
	if (!a)
		return unknown_adapter(r, name, at);
	int rc = a->validate(a, runtime, at, flags);
	if (rc == 0 && out)
		*out = a;
	return rc;
}

void hive_exec_result_dispose(hive_exec_result *r)
{
	if (!r)
		return;
	free(r->error);
	json_decref(r->verdict);
	free(r->stdout_path);
	free(r->stderr_path);
	hive_output_dispose(&r->stdout_kept);
	hive_output_dispose(&r->stderr_kept);
	memset(r, 0, sizeof *r);
}
