/*
 * exec.h - the exec adapter, and the parts of it the presets build on
 * (adapters/presets.c).  Not for core/: core reaches adapters only through
 * a registry (core/adapter.h).
 */
#ifndef HIVE_EXEC_H
#define HIVE_EXEC_H

#include <jansson.h>

#include "core/adapter.h"

/* The exec adapter: runs runtime.command as given (docs/adapters.md). */
extern const hive_adapter hive_adapter_exec;

/*
 * Check the members exec's engine reads, whatever the adapter: command
 * (when not null: a non-empty array of strings starting with a program),
 * args, env, env_passthrough, timeout_ms and grace_ms.  rt (borrowed) must
 * be an object; `where` names it in messages ("tasks[0].runtime").
 * Errors: HIVE_EINVALID, one line naming the field.  No I/O.
 */
int hive_exec_fields_check(const json_t *rt, const char *where);

/* command + args of a runtime that passed hive_exec_fields_check, as a new
 * NULL-terminated argv (free with hive_strv_free). */
char **hive_exec_argv(const json_t *rt);

/* The verdict a runtime wrote to $HIVE_RESULT_FILE, from its bytes
 * data[0..len): a new reference to {summary?, retryable?, retry_after_ms?}
 * with only the members given, or to {"malformed": reason} (one line of
 * printable ASCII) when the bytes are not such an object.  Never NULL.
 * Exposed for tests/fuzz; the exec adapter reads the file itself. */
json_t *hive_exec_verdict_parse(const char *data, size_t len);

#endif
