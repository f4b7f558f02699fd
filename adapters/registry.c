/*
 * registry.c - the one list of runtime adapters.
 *
 * Adding an adapter: write adapters/<name>.c defining
 * `const hive_adapter hive_adapter_<ident>` (see core/adapter.h and
 * docs/adapters.md), then add X(<ident>) below.  Nothing else names it.
 */
#include "adapters/registry.h"

#define HIVE_ADAPTERS(X) X(exec) X(claude_code) X(codex) X(opencode) X(aider)

#define DECLARE(ident) extern const hive_adapter hive_adapter_##ident;
HIVE_ADAPTERS(DECLARE)
#undef DECLARE

#define ENTRY(ident) &hive_adapter_##ident,
static const hive_adapter *const adapters[] = {HIVE_ADAPTERS(ENTRY)};
#undef ENTRY

static const hive_adapter_registry builtin = {adapters, sizeof adapters / sizeof adapters[0]};

const hive_adapter_registry *hive_registry_builtin(void)
{
	return &builtin;
}
