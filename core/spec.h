/*
 * spec.h - the flow spec file (SPEC section 5): validate it whole, before
 * anything is written, and turn it into one normalized JSON document.
 *
 * Pure validation: no event is appended, no project is looked up, no git
 * repository is opened.  Each runtime is validated through the adapter port
 * (core/adapter.h): the adapter it names, found in the registry the caller
 * passes in hive_spec_opts, checks it (adapters/ is never called
 * directly).  The only I/O is reading the file (hive_spec_load) and
 * resolving the project's `repo` path with realpath(3).
 *
 * Errors: HIVE_EINVALID with one line in hive_error_last() that names the
 * field by its full path and says what to do, e.g.
 *   spec.json: tasks[1].depends_on[0]: unknown task key "fixx" (keys: fix, docs)
 *   spec.json: tasks: dependency cycle: a -> b -> a; remove one of these dependencies
 *   spec.json:3:14: invalid JSON: unexpected token near ','
 *   spec.json:3:38: tasks[0].title must be UTF-8 text   (bytes that are not UTF-8)
 * Values quoted from the input are cut at 64 bytes, control bytes shown as '?'.
 * On error *out is left untouched.
 *
 * Normalized spec (every field always present, tasks in the spec's order):
 *   {"name": "fix-login",
 *    "project": {"name": "webapp"}                      (string form: must exist)
 *             | {"name": "webapp", "repo": "/abs/path", "description": ""},
 *    "defaults": {"circuit_breaker": <hive_circuit_config_to_json>},
 *    "tasks": [<normalized task>, ...]}
 *
 * Normalized task (hive_task_def_normalize):
 *   {"key": "fix", "title": "...", "description": "",
 *    "checks": [{"name": "unit", "command": "make test", "required": true,
 *                "timeout_ms": 120000}],
 *    "runtime": <normalized runtime>,
 *    "retry": <hive_retry_policy_to_json>,
 *    "depends_on": ["fix"]}
 *
 * Normalized runtime:
 *   {"adapter": "exec", "command": ["./agent.sh"] | null, "args": [],
 *    "model": null | "name", "timeout_ms": 1800000, "env": {"MODEL": "x"}}
 * `command` is null only for a preset adapter given no command (the preset
 * supplies its own program); for exec it is always a non-empty array.
 *
 * Rules the spec cannot show by example:
 *  - Names (spec name, project name, task keys, check names): 1 to 64 of
 *    [A-Za-z0-9._-], starting with a letter or digit, not containing "..",
 *    not ending in "." or ".lock" (they become git branch name components).
 *  - A task's `runtime` is merged field by field over defaults.runtime, and
 *    `env` key by key.  `command` or `model` set to null drops an inherited
 *    value.  The merged runtime (and defaults.runtime, as a partial one) is
 *    then checked by its adapter's validate: e.g. exec requires `command`
 *    and refuses `model` and non-empty `args` (even inherited); see
 *    docs/adapters.md.  An adapter the registry lacks is refused naming the
 *    field: tasks[0].runtime.adapter: unknown adapter "x"; use one of ...
 *  - A task's `retry` is parsed with hive_retry_policy_parse over
 *    defaults.retry (else the built-in policy): see policy.h.
 *  - Timeouts (runtime and checks) must be more than 0.
 *  - JSON objects with a duplicate key are a syntax error.
 */
#ifndef HIVE_SPEC_H
#define HIVE_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "core/adapter.h"
#include "core/hive.h"

/* Longest name (spec, project, task key, check). */
#define HIVE_NAME_MAX 64
/* Largest spec file hive_spec_load reads. */
#define HIVE_SPEC_MAX_BYTES (16u << 20)

/* What every call below needs from its caller (a front end):
 * hive_spec_opts, defined with the library API in core/hive.h. */

/*
 * Load and validate the spec file at `path`.  Relative `project.repo` paths
 * are taken from the spec file's directory; error messages start with `path`
 * as given.  *out = new reference to the normalized spec.
 * Errors: HIVE_ENOTFOUND "cannot read spec file X: <strerror>" when the file
 * cannot be opened or read; HIVE_EINVALID for a file above
 * HIVE_SPEC_MAX_BYTES and everything hive_spec_parse rejects.
 */
int hive_spec_load(const char *path, const hive_spec_opts *o, json_t **out);

/*
 * Validate the spec in text[0..len) (need not be NUL-terminated).  `label`
 * starts every error message (NULL → "spec"); `base_dir` is the directory a
 * relative `project.repo` is joined to (NULL → the current directory).
 * *out = new reference to the normalized spec.  Errors: HIVE_EINVALID only.
 */
int hive_spec_parse(const char *text, size_t len, const char *label, const char *base_dir,
                    const hive_spec_opts *o, json_t **out);

/*
 * Normalize the spec's `defaults` object (borrowed; NULL = no defaults) into
 * the form hive_task_def_normalize takes: a new reference to
 *   {"runtime": <normalized runtime, command may be null>,
 *    "retry": <hive_retry_policy_to_json>,
 *    "circuit_breaker": <hive_circuit_config_to_json>}
 * Error paths start with `where` (NULL → "defaults").  Errors: HIVE_EINVALID.
 */
int hive_spec_defaults_normalize(const json_t *raw, const char *where, const hive_spec_opts *o,
                                 json_t **out);

/*
 * Normalize ONE task definition: used for each task of a spec and by
 * `hive task create`.  `raw` is the task object as written in a spec
 * (borrowed).  `defaults` (borrowed, may be NULL) is the output of
 * hive_spec_defaults_normalize, or any object holding some of its "runtime"
 * and "retry" members; what is missing falls back to the built-in defaults.
 * `where` prefixes error paths, e.g. "tasks[0]" (NULL → "task").
 * *out = new reference.  depends_on stays a list of key strings: it is
 * checked for type, duplicates and self-dependency here; whether the keys
 * exist is for the caller (hive_spec_parse checks them against the spec).
 * Errors: HIVE_EINVALID.
 */
int hive_task_def_normalize(const json_t *raw, const json_t *defaults, const char *where,
                            const hive_spec_opts *o, json_t **out);

/*
 * Check `value` against the name rule above.  0, or HIVE_EINVALID with
 * "<where>: invalid name ..." (where NULL → "name").  For command-line
 * layers that take names outside a spec (`--key`, project names).
 */
int hive_spec_name_check(const char *value, const char *where);

#endif
