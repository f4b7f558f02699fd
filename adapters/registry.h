/*
 * registry.h - the runtime adapters hive ships, as one registry.
 *
 * Front ends (cli/, later `hive serve`) pass this registry into core through
 * the options of each call that needs adapters (core/spec.h's
 * hive_spec_opts, core/hive.h's hive_run_opts); core itself never names a
 * concrete adapter.
 */
#ifndef HIVE_REGISTRY_H
#define HIVE_REGISTRY_H

#include "core/adapter.h"

/* exec, claude-code, codex, opencode and aider, in that order.  Borrowed,
 * static storage: valid for the life of the process, never freed. */
const hive_adapter_registry *hive_registry_builtin(void);

#endif
