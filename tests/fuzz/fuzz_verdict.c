/*
 * fuzz_verdict.c - the runtime verdict reader (hive_exec_verdict_parse):
 * the bytes a runtime leaves in $HIVE_RESULT_FILE.
 *
 * Properties: the result is always an object, and either exactly
 * {"malformed": reason} with a reason that is one line of printable ASCII
 * (it goes into an event and a status line), or only the accepted members,
 * each of its documented type: summary a string, retryable a boolean,
 * retry_after_ms an integer in [0, HIVE_DURATION_MAX_MS].
 */
#include <jansson.h>
#include <string.h>

#include "adapters/exec.h"
#include "core/duration.h"
#include "tests/fuzz/fuzz.h"

static void check_malformed(const json_t *v)
{
	const char *why = json_string_value(json_object_get(v, "malformed"));
	fuzz_require(json_object_size(v) == 1);
	fuzz_require(why && *why);
	for (const char *c = why; *c; c++)
		fuzz_require(*c >= 0x20 && *c <= 0x7e);
}

static void check_fields(const json_t *v)
{
	const char *key;
	const json_t *m;
	json_object_foreach((json_t *)v, key, m) {
		if (strcmp(key, "summary") == 0)
			fuzz_require(json_is_string(m));
		else if (strcmp(key, "retryable") == 0)
			fuzz_require(json_is_boolean(m));
		else if (strcmp(key, "retry_after_ms") == 0)
			fuzz_require(json_is_integer(m) && json_integer_value(m) >= 0 &&
			             json_integer_value(m) <= HIVE_DURATION_MAX_MS);
		else
			fuzz_require(!"an unknown member in a parsed verdict");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = hive_exec_verdict_parse((const char *)data, size);
	fuzz_require(json_is_object(v));
	if (json_object_get(v, "malformed"))
		check_malformed(v);
	else
		check_fields(v);
	json_decref(v);
	return 0;
}
