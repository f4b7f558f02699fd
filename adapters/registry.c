/*
 * registry.c - the table of runtime adapters, and the memory helpers of
 * adapter.h.
 *
 * Adding an adapter: write adapters/<name>.c defining
 * `const hive_adapter hive_adapter_<ident>`, then add X(<ident>) below.
 */
#include "adapters/adapter.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define HIVE_ADAPTERS(X) X(exec) X(claude_code) X(codex) X(opencode) X(aider)

#define DECLARE(ident) extern const hive_adapter hive_adapter_##ident;
HIVE_ADAPTERS(DECLARE)
#undef DECLARE

#define ENTRY(ident) &hive_adapter_##ident,
static const hive_adapter *const adapters[] = { HIVE_ADAPTERS(ENTRY) };
#undef ENTRY

const hive_adapter *hive_adapter_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof adapters / sizeof adapters[0]; i++) {
		assert(adapters[i]->version == HIVE_ADAPTER_VERSION);
		if (strcmp(adapters[i]->name, name) == 0)
			return adapters[i];
	}
	return NULL;
}

void hive_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* Leaves *r zeroed, so disposing twice (or a never-filled result) is safe. */
void hive_exec_result_dispose(hive_exec_result *r)
{
	if (!r)
		return;
	free(r->error);
	json_decref(r->verdict);
	free(r->stdout_path);
	free(r->stderr_path);
	memset(r, 0, sizeof *r);
}
