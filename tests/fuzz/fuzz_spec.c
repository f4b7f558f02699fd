/*
 * fuzz_spec.c - the flow-spec parser (hive_spec_parse), the first thing a
 * user's file meets.
 *
 * Properties: a rejected spec gets one error line (no newline, no terminal
 * escape: spec.h promises quoted values with control bytes shown as '?');
 * an accepted spec is normalized as spec.h documents: a valid name, a
 * non-empty task list whose keys are valid names, each task with its
 * checks, runtime, retry and depends_on arrays, and every dependency a key
 * of the same spec.
 *
 * Relative project.repo paths are resolved against "/" so that what
 * resolves does not depend on the directory the fuzzer runs in.
 */
#include <string.h>

#include "adapters/registry.h"
#include "core/spec.h"
#include "events/error.h"
#include "tests/fuzz/check_text.h"
#include "tests/fuzz/fuzz.h"

static int has_key(const json_t *tasks, const char *key)
{
	size_t i;
	const json_t *t;
	json_array_foreach(tasks, i, t)
		if (strcmp(json_string_value(json_object_get(t, "key")), key) == 0)
			return 1;
	return 0;
}

static void check_task(const json_t *t, const json_t *tasks)
{
	const char *key = json_string_value(json_object_get(t, "key"));
	const json_t *deps = json_object_get(t, "depends_on");
	size_t i;
	const json_t *d;

	fuzz_require(key && hive_spec_name_check(key, NULL) == 0);
	fuzz_require(json_is_string(json_object_get(t, "title")));
	fuzz_require(json_is_array(json_object_get(t, "checks")));
	fuzz_require(json_is_object(json_object_get(t, "runtime")));
	fuzz_require(json_is_object(json_object_get(t, "retry")));
	fuzz_require(json_is_array(deps));
	json_array_foreach(deps, i, d) {
		fuzz_require(json_is_string(d));
		fuzz_require(strcmp(json_string_value(d), key) != 0);
		fuzz_require(has_key(tasks, json_string_value(d)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const hive_spec_opts opts = {.adapters = hive_registry_builtin()};
	json_t *spec = NULL;
	if (hive_spec_parse((const char *)data, size, "spec.json", "/", &opts, &spec) != 0) {
		fuzz_require(spec == NULL);
		fuzz_require_msg(fuzz_one_line(hive_error_last()), hive_error_last());
		return 0;
	}
	const char *name = json_string_value(json_object_get(spec, "name"));
	const json_t *tasks = json_object_get(spec, "tasks");
	size_t i;
	const json_t *t;

	fuzz_require(name && hive_spec_name_check(name, NULL) == 0);
	fuzz_require(json_is_object(json_object_get(spec, "project")));
	fuzz_require(json_is_array(tasks) && json_array_size(tasks) > 0);
	json_array_foreach(tasks, i, t)
		check_task(t, tasks);
	json_decref(spec);
	return 0;
}
