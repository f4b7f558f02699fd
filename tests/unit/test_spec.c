/*
 * test_spec.c - flow spec validation and normalization (SPEC section 5):
 * the section 5 example normalizes exactly, every kind of malformed spec is
 * rejected with one line naming the field, defaults are inherited, relative
 * repo paths become absolute, and one task normalizes on its own.
 * Files only in a fresh temp dir per test.
 */
#include "testutil.h"

#include "adapters/registry.h"
#include "core/policy.h"
#include "core/spec.h"
#include "events/buf.h"
#include "events/error.h"

#include <limits.h>
#include <sys/stat.h>

/* The adapters hive ships: every runtime below is validated through them. */
#define OPTS (&(hive_spec_opts){.adapters = hive_registry_builtin()})

/* Test JSON is written with ' for " (no test needs a literal apostrophe);
 * returns a new string. */
static char *Q(const char *text)
{
	char *s = strdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

/* Parse a JSON literal written with ' quotes; new reference. */
static json_t *J(const char *text)
{
	json_error_t err;
	char *s = Q(text);
	json_t *v = json_loads(s, JSON_DECODE_ANY, &err);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, err.text);
	free(s);
	return v;
}

/* hive_spec_parse on ' quoted text, labelled "spec.json", base dir /base. */
static int parse_q(const char *text, json_t **out)
{
	char *s = Q(text);
	int rc = hive_spec_parse(s, strlen(s), "spec.json", "/base", OPTS, out);
	free(s);
	return rc;
}

/* The value at "/a/0/b" under v (object keys and array indexes), borrowed;
 * NULL when absent. */
static json_t *P(const json_t *v, const char *path)
{
	char *copy = strdup(path), *save = NULL;
	json_t *cur = (json_t *)v;
	for (char *part = strtok_r(copy, "/", &save); part && cur; part = strtok_r(NULL, "/", &save))
		cur = json_is_array(cur) ? json_array_get(cur, strtoul(part, NULL, 10))
		                         : json_object_get(cur, part);
	free(copy);
	return cur;
}

static void assert_json_eq(const json_t *got, const json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
		fprintf(stderr, "got:  %s\nwant: %s\n", g, w);
		free(g);
		free(w);
		fail_msg("JSON differs");
	}
}

/* The canonical JSON of the built-in policy with two fields changed. */
static json_t *policy_json(int max_attempts, int64_t initial_ms)
{
	hive_retry_policy p;
	hive_retry_policy_default(&p);
	p.max_attempts = max_attempts;
	p.backoff.initial_ms = initial_ms;
	return hive_retry_policy_to_json(&p);
}

/* ------------------------------------------------------------------ */
/* The SPEC section 5 example                                         */
/* ------------------------------------------------------------------ */

static const char example[] =
	"{\n"
	"  'name': 'fix-login',\n"
	"  'project': 'webapp',\n"
	"  'defaults': {\n"
	"    'runtime': {'adapter': 'exec', 'command': ['./agent.sh'], 'timeout': '10m', 'env': {'MODEL': 'x'}},\n"
	"    'retry': {'max_attempts': 3},\n"
	"    'circuit_breaker': {'failure_threshold': 5, 'reset_timeout': '60s'}\n"
	"  },\n"
	"  'tasks': [\n"
	"    {'key': 'fix', 'title': 'Fix the login bug', 'description': '\xe2\x80\xa6',\n"
	"     'checks': [{'name': 'unit', 'command': 'make test', 'timeout': '2m'},\n"
	"                {'name': 'lint', 'command': 'make lint', 'required': false}],\n"
	"     'retry': {'max_attempts': 4, 'backoff': {'initial': '2s'}}},\n"
	"    {'key': 'docs', 'title': 'Document the fix', 'depends_on': ['fix']}\n"
	"  ]\n"
	"}\n";

static void test_example_normalizes_exactly(void **state)
{
	(void)state;
	json_t *spec = NULL;
	if (parse_q(example, &spec) != 0)
		fail_msg("example rejected: %s", hive_error_last());

	json_t *want = J("{'name': 'fix-login', 'project': {'name': 'webapp'},"
	                 " 'defaults': {'circuit_breaker': {'failure_threshold': 5, 'reset_timeout_ms': 60000}},"
	                 " 'tasks': ["
	                 "  {'key': 'fix', 'title': 'Fix the login bug', 'description': '\xe2\x80\xa6',"
	                 "   'checks': [{'name': 'unit', 'command': 'make test', 'required': true, 'timeout_ms': 120000},"
	                 "              {'name': 'lint', 'command': 'make lint', 'required': false, 'timeout_ms': 600000}],"
	                 "   'runtime': {'adapter': 'exec', 'command': ['./agent.sh'], 'args': [], 'model': null, 'env_passthrough': [],"
	                 "               'timeout_ms': 600000, 'env': {'MODEL': 'x'}},"
	                 "   'retry': null, 'depends_on': []},"
	                 "  {'key': 'docs', 'title': 'Document the fix', 'description': '', 'checks': [],"
	                 "   'runtime': {'adapter': 'exec', 'command': ['./agent.sh'], 'args': [], 'model': null, 'env_passthrough': [],"
	                 "               'timeout_ms': 600000, 'env': {'MODEL': 'x'}},"
	                 "   'retry': null, 'depends_on': ['fix']}]}");
	json_t *tasks = json_object_get(want, "tasks");
	json_object_set_new(json_array_get(tasks, 0), "retry", policy_json(4, 2000));
	json_object_set_new(json_array_get(tasks, 1), "retry", policy_json(3, 0));
	assert_json_eq(spec, want);

	/* The same facts spelled out, so a wrong policy_json cannot hide them. */
	json_t *fix = json_array_get(json_object_get(spec, "tasks"), 0);
	json_t *retry = json_object_get(fix, "retry");
	assert_int_equal(json_integer_value(json_object_get(retry, "max_attempts")), 4);
	assert_int_equal(json_integer_value(P(retry, "/backoff/initial_ms")), 2000);
	assert_int_equal(json_integer_value(P(retry, "/backoff/max_ms")), 60000);
	assert_string_equal(json_string_value(P(fix, "/runtime/env/MODEL")), "x");
	json_decref(want);
	json_decref(spec);
}

/* ------------------------------------------------------------------ */
/* Malformed specs                                                    */
/* ------------------------------------------------------------------ */

#define RT "'defaults': {'runtime': {'command': ['./a.sh']}}"
#define HEAD "'name': 'f', 'project': 'p', " RT
/* A spec with the given tasks array body. */
#define SPEC(tasks) "{" HEAD ", 'tasks': [" tasks "]}"
/* A spec with one task holding extra members. */
#define TASK1(extra) SPEC("{'key': 'a', 'title': 'A'" extra "}")

static const struct {
	const char *what, *text, *want;
} malformed[] = {
	{"JSON syntax error", "{\n  'name': 'f',\n  'tasks': [,]\n}",
	 "spec.json:3:13: invalid JSON: unexpected token near ','"},
	{"duplicate JSON key", "{'name': 'f', 'name': 'g'}", "spec.json:1:"},
	{"top level not an object", "['x']", "spec.json: must be a JSON object"},
	{"unknown top-level key", "{" HEAD ", 'tasks': [{'key': 'a', 'title': 'A'}], 'owner': 'me'}",
	 "spec.json: owner: unknown key (allowed: name, project, defaults, tasks)"},
	{"missing name", "{'project': 'p', 'tasks': [{'key': 'a', 'title': 'A'}]}",
	 "spec.json: name: missing"},
	{"bad name characters", "{'name': 'fix login', 'project': 'p', " RT ", 'tasks': [{'key': 'a', 'title': 'A'}]}",
	 "spec.json: name: invalid name \"fix login\""},
	{"name too long", "{'name': '" "0123456789012345678901234567890123456789012345678901234567890123" "4',"
	 " 'project': 'p', " RT ", 'tasks': [{'key': 'a', 'title': 'A'}]}", "name: invalid name"},
	{"project wrong type", "{'name': 'f', 'project': 7, 'tasks': [{'key': 'a', 'title': 'A'}]}",
	 "spec.json: project: must be a project name or an object"},
	{"project object without repo", "{'name': 'f', 'project': {'name': 'p'}, 'tasks': [{'key': 'a', 'title': 'A'}]}",
	 "spec.json: project.repo: missing"},
	{"unknown key in defaults", "{'name': 'f', 'project': 'p', 'defaults': {'retries': 1}, 'tasks': []}",
	 "spec.json: defaults.retries: unknown key"},
	{"bad defaults.retry", "{'name': 'f', 'project': 'p', 'defaults': {'retry': {'mode': 'dirty'}}, 'tasks': []}",
	 "defaults.retry.mode: must be one of clean, continue"},
	{"bad circuit breaker duration",
	 "{'name': 'f', 'project': 'p', 'defaults': {'circuit_breaker': {'reset_timeout': '1y'}}, 'tasks': []}",
	 "defaults.circuit_breaker.reset_timeout: invalid duration \"1y\""},
	{"tasks not an array", "{" HEAD ", 'tasks': {'key': 'a'}}", "spec.json: tasks: must be an array"},
	{"empty tasks", "{" HEAD ", 'tasks': []}", "spec.json: tasks: must not be empty"},
	{"task not an object", SPEC("'a'"), "spec.json: tasks[0]: must be an object, got a string"},
	{"unknown task key", SPEC("{'key': 'a', 'title': 'A'}, {'key': 'b', 'title': 'B'},"
	                          " {'key': 'c', 'title': 'C', 'frobnicate': 1}"),
	 "spec.json: tasks[2].frobnicate: unknown key"},
	{"missing key", SPEC("{'title': 'A'}"), "tasks[0].key: missing"},
	{"bad key characters", SPEC("{'key': 'a/b', 'title': 'A'}"), "tasks[0].key: invalid name \"a/b\""},
	{"key with ..", SPEC("{'key': 'a..b', 'title': 'A'}"), "tasks[0].key: invalid name"},
	{"missing title", SPEC("{'key': 'a'}"), "spec.json: tasks[0].title: missing"},
	{"duplicate key inside a task", TASK1(", 'title': 5"), "invalid JSON: duplicate object key"},
	{"title an integer", SPEC("{'key': 'a', 'title': 5}"),
	 "tasks[0].title: must be a non-empty string, got an integer"},
	{"empty title", SPEC("{'key': 'a', 'title': ''}"), "tasks[0].title: must not be empty"},
	{"description wrong type", TASK1(", 'description': ['x']"), "tasks[0].description: must be a string"},
	{"duplicate task key", SPEC("{'key': 'a', 'title': 'A'}, {'key': 'a', 'title': 'B'}"),
	 "spec.json: tasks[1].key: duplicate task key \"a\" (also tasks[0])"},
	{"unknown depends_on", SPEC("{'key': 'fix', 'title': 'A'}, {'key': 'docs', 'title': 'B', 'depends_on': ['fixx']}"),
	 "spec.json: tasks[1].depends_on[0]: unknown task key \"fixx\" (keys: fix, docs)"},
	{"depends_on not an array", TASK1(", 'depends_on': 'b'"), "tasks[0].depends_on: must be an array"},
	{"depends_on element not a string", TASK1(", 'depends_on': [1]"),
	 "tasks[0].depends_on[0]: must be a task key"},
	{"self dependency", TASK1(", 'depends_on': ['a']"),
	 "spec.json: tasks[0].depends_on[0]: task \"a\" cannot depend on itself"},
	{"duplicate dependency", SPEC("{'key': 'a', 'title': 'A'}, {'key': 'b', 'title': 'B', 'depends_on': ['a', 'a']}"),
	 "tasks[1].depends_on[1]: duplicate dependency \"a\""},
	{"2-cycle", SPEC("{'key': 'a', 'title': 'A', 'depends_on': ['b']}, {'key': 'b', 'title': 'B', 'depends_on': ['a']}"),
	 "spec.json: tasks: dependency cycle: a -> b -> a;"},
	{"3-cycle behind an acyclic prefix",
	 SPEC("{'key': 'x', 'title': 'X', 'depends_on': ['a']},"
	      " {'key': 'a', 'title': 'A', 'depends_on': ['b']}, {'key': 'b', 'title': 'B', 'depends_on': ['c']},"
	      " {'key': 'c', 'title': 'C', 'depends_on': ['a']}"),
	 "spec.json: tasks: dependency cycle: a -> b -> c -> a;"},
	{"checks not an array", TASK1(", 'checks': {'name': 'unit'}"), "tasks[0].checks: must be an array"},
	{"check without command", TASK1(", 'checks': [{'name': 'unit'}]"), "tasks[0].checks[0].command: missing"},
	{"unknown key in check", TASK1(", 'checks': [{'name': 'unit', 'cmd': 'make'}]"),
	 "tasks[0].checks[0].cmd: unknown key"},
	{"check required not a bool", TASK1(", 'checks': [{'name': 'u', 'command': 'c', 'required': 'yes'}]"),
	 "tasks[0].checks[0].required: must be true or false, got a string"},
	{"bad duration in check timeout", TASK1(", 'checks': [{'name': 'u', 'command': 'c', 'timeout': '5x'}]"),
	 "spec.json: tasks[0].checks[0].timeout: invalid duration \"5x\" (use e.g."},
	{"zero check timeout", TASK1(", 'checks': [{'name': 'u', 'command': 'c', 'timeout': '0s'}]"),
	 "tasks[0].checks[0].timeout: must be more than 0"},
	{"duplicate check name",
	 TASK1(", 'checks': [{'name': 'unit', 'command': 'a'}, {'name': 'unit', 'command': 'b'}]"),
	 "spec.json: tasks[0].checks[1].name: duplicate check name \"unit\" (also checks[0])"},
	{"bad check name", TASK1(", 'checks': [{'name': 'unit tests', 'command': 'a'}]"),
	 "tasks[0].checks[0].name: invalid name"},
	{"retry.max_attempts 0", TASK1(", 'retry': {'max_attempts': 0}"),
	 "spec.json: tasks[0].retry.max_attempts: must be from 1 to 10000, got 0"},
	{"unknown jitter", TASK1(", 'retry': {'backoff': {'jitter': 'some'}}"),
	 "tasks[0].retry.backoff.jitter: must be one of none, full, equal"},
	{"bad retry backoff duration", TASK1(", 'retry': {'backoff': {'initial': '5x'}}"),
	 "spec.json: tasks[0].retry.backoff.initial: invalid duration \"5x\" (use e.g. 500ms, 2s, 1m, 1h)"},
	{"unknown outcome in retry_on", TASK1(", 'retry': {'retry_on': ['timeout', 'oops']}"),
	 "tasks[0].retry.retry_on[1]: unknown outcome \"oops\""},
	{"budget on success", TASK1(", 'retry': {'budgets': [{'on': ['success']}]}"),
	 "tasks[0].retry.budgets[0].on[0]: outcome \"success\" is never retried"},
	{"retry not an object", TASK1(", 'retry': 3"), "tasks[0].retry: must be an object"},
	{"bad adapter name", TASK1(", 'runtime': {'adapter': 'gpt'}"),
	 "spec.json: tasks[0].runtime.adapter: unknown adapter \"gpt\"; use one of exec, claude-code"},
	{"unknown key in runtime", TASK1(", 'runtime': {'cmd': ['x']}"), "tasks[0].runtime.cmd: unknown key"},
	{"runtime not an object", TASK1(", 'runtime': ['./a.sh']"), "tasks[0].runtime: must be an object"},
	{"empty command", TASK1(", 'runtime': {'command': []}"), "tasks[0].runtime.command: must not be empty"},
	{"command element not a string", TASK1(", 'runtime': {'command': ['a', 1]}"),
	 "tasks[0].runtime.command[1]: must be a string, got an integer"},
	{"empty program name", TASK1(", 'runtime': {'command': ['', 'x']}"),
	 "tasks[0].runtime.command[0]: must be a non-empty program name"},
	{"env key HIVE_X", TASK1(", 'runtime': {'env': {'OK': '1', 'HIVE_X': '1'}}"),
	 "spec.json: tasks[0].runtime.env: variable \"HIVE_X\" is reserved"},
	{"env bad name", TASK1(", 'runtime': {'env': {'1X': 'y'}}"),
	 "tasks[0].runtime.env: invalid variable name \"1X\""},
	{"env value not a string", TASK1(", 'runtime': {'env': {'X': 1}}"),
	 "tasks[0].runtime.env.X: must be a string"},
	{"env not an object", TASK1(", 'runtime': {'env': ['X=1']}"), "tasks[0].runtime.env: must be an object"},
	{"zero runtime timeout", TASK1(", 'runtime': {'timeout': '0'}"),
	 "tasks[0].runtime.timeout: must be more than 0"},
	{"runtime timeout a number", TASK1(", 'runtime': {'timeout': 60}"),
	 "tasks[0].runtime.timeout: must be a duration string"},
	{"passthrough of a HIVE_ name", TASK1(", 'runtime': {'env_passthrough': ['HIVE_X']}"),
	 "tasks[0].runtime.env_passthrough: variable \"HIVE_X\" is reserved"},
	{"passthrough of a bad name", TASK1(", 'runtime': {'env_passthrough': ['1KEY']}"),
	 "tasks[0].runtime.env_passthrough: invalid variable name"},
	{"passthrough not a list", TASK1(", 'runtime': {'env_passthrough': 'KEY'}"),
	 "tasks[0].runtime.env_passthrough: must be an array"},
	{"model with exec", TASK1(", 'runtime': {'model': 'opus'}"),
	 "tasks[0].runtime.model: only preset adapters"},
	{"args with exec", TASK1(", 'runtime': {'args': ['-v']}"), "tasks[0].runtime.args: only preset adapters"},
	{"missing command for exec", "{'name': 'f', 'project': 'p', 'tasks': [{'key': 'a', 'title': 'A'}]}",
	 "spec.json: tasks[0].runtime.command: required for the exec adapter; set it here or in defaults.runtime"},
	{"command cleared with null", TASK1(", 'runtime': {'command': null}"),
	 "tasks[0].runtime.command: required for the exec adapter"},
};

static void test_malformed_specs_name_the_field(void **state)
{
	(void)state;
	assert_true(sizeof malformed / sizeof malformed[0] >= 20);
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		json_t *sentinel = json_null(), *out = sentinel;
		int rc = parse_q(malformed[i].text, &out);
		const char *msg = hive_error_last();
		if (rc != HIVE_EINVALID)
			fail_msg("%s: rc %d, want HIVE_EINVALID (message: %s)", malformed[i].what, rc, msg);
		if (!strstr(msg, malformed[i].want))
			fail_msg("%s:\n  got  %s\n  want %s", malformed[i].what, msg, malformed[i].want);
		if (strncmp(msg, "spec.json", 9) != 0 || strchr(msg, '\n'))
			fail_msg("%s: not one line starting with the label: %s", malformed[i].what, msg);
		if (out != sentinel)
			fail_msg("%s: *out was written on error", malformed[i].what);
	}
}

/* A value quoted back from the input cannot break the one-line message. */
static void test_error_quotes_are_sanitized(void **state)
{
	(void)state;
	json_t *out = NULL;
	assert_int_equal(parse_q(TASK1(", 'bad\\nkey\\u0007': 1"), &out), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "tasks[0].bad?key?: unknown key"));

	char long_name[300];
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	char *text = NULL;
	assert_true(asprintf(&text, "{'name': '%s', 'project': 'p', 'tasks': []}", long_name) > 0);
	assert_int_equal(parse_q(text, &out), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "xxx...\""));
	assert_true(strlen(hive_error_last()) < 400);
	free(text);
}

/* A long cycle is found without recursion and printed in bounded form. */
static void test_long_cycle_message_is_bounded(void **state)
{
	(void)state;
	enum { N = 2000 };
	hive_buf b = {0};
	hive_buf_puts(&b, "{" HEAD ", 'tasks': [");
	for (int i = 0; i < N; i++)
		hive_buf_printf(&b, "%s{'key': 't%d', 'title': 'T', 'depends_on': ['t%d']}", i ? ", " : "",
		                i, (i + 1) % N);
	hive_buf_puts(&b, "]}");
	json_t *out = NULL;
	assert_int_equal(parse_q(hive_buf_str(&b), &out), HIVE_EINVALID);
	const char *msg = hive_error_last();
	assert_non_null(strstr(msg, "tasks: dependency cycle: t0 -> t1 -> "));
	assert_non_null(strstr(msg, "-> ... (1988 more) -> t0; remove one of these dependencies"));
	hive_buf_dispose(&b);
}

/* A diamond shares dependencies without being a cycle. */
static void test_diamond_is_not_a_cycle(void **state)
{
	(void)state;
	json_t *out = NULL;
	int rc = parse_q(SPEC("{'key': 'd', 'title': 'D', 'depends_on': ['b', 'c']},"
	                      " {'key': 'b', 'title': 'B', 'depends_on': ['a']},"
	                      " {'key': 'c', 'title': 'C', 'depends_on': ['a']}, {'key': 'a', 'title': 'A'}"),
	                 &out);
	if (rc)
		fail_msg("diamond rejected: %s", hive_error_last());
	/* Tasks keep the spec's order. */
	assert_string_equal(json_string_value(P(out, "/tasks/0/key")), "d");
	assert_string_equal(json_string_value(P(out, "/tasks/3/key")), "a");
	json_decref(out);
}

/* ------------------------------------------------------------------ */
/* Inheritance from defaults                                          */
/* ------------------------------------------------------------------ */

/* retry: the task's keys override defaults.retry, which overrides built-ins. */
static void test_retry_inherits_defaults_then_overrides(void **state)
{
	(void)state;
	json_t *out = NULL;
	int rc = parse_q("{'name': 'f', 'project': 'p', 'defaults': {'runtime': {'command': ['x']},"
	                 " 'retry': {'max_attempts': 5, 'mode': 'continue', 'backoff': {'initial': '1s', 'jitter': 'full'}}},"
	                 " 'tasks': [{'key': 'a', 'title': 'A', 'retry': {'backoff': {'initial': '2s'}}},"
	                 "           {'key': 'b', 'title': 'B'}]}", &out);
	if (rc)
		fail_msg("rejected: %s", hive_error_last());
	json_t *a = P(out, "/tasks/0/retry"), *b = P(out, "/tasks/1/retry");
	assert_int_equal(json_integer_value(json_object_get(a, "max_attempts")), 5);
	assert_string_equal(json_string_value(json_object_get(a, "mode")), "continue");
	assert_int_equal(json_integer_value(P(a, "/backoff/initial_ms")), 2000);
	assert_string_equal(json_string_value(P(a, "/backoff/jitter")), "full");
	assert_int_equal(json_integer_value(P(a, "/backoff/max_ms")), 60000);
	assert_int_equal(json_integer_value(P(b, "/backoff/initial_ms")), 1000);
	/* The canonical form parses back strictly. */
	hive_retry_policy p;
	assert_int_equal(hive_retry_policy_from_json(a, &p), 0);
	json_decref(out);
}

/* runtime: merged field by field over defaults.runtime, env key by key. */
static void test_runtime_merges_over_defaults(void **state)
{
	(void)state;
	json_t *out = NULL;
	int rc = parse_q("{'name': 'f', 'project': 'p', 'defaults': {'runtime': {'command': ['./agent.sh', '-q'],"
	                 " 'timeout': '10m', 'env': {'MODEL': 'x', 'A': '1'}}},"
	                 " 'tasks': [{'key': 'a', 'title': 'A', 'runtime': {'timeout': '1m', 'env': {'A': '2', 'B': ''}}},"
	                 "           {'key': 'b', 'title': 'B', 'runtime': {'adapter': 'claude-code', 'command': null,"
	                 "            'model': 'opus', 'args': ['--verbose']}}]}", &out);
	if (rc)
		fail_msg("rejected: %s", hive_error_last());
	json_t *want_a = J("{'adapter': 'exec', 'command': ['./agent.sh', '-q'], 'args': [], 'model': null, 'env_passthrough': [],"
	                   " 'timeout_ms': 60000, 'env': {'MODEL': 'x', 'A': '2', 'B': ''}}");
	json_t *want_b = J("{'adapter': 'claude-code', 'command': null, 'args': ['--verbose'], 'model': 'opus',"
	                   " 'timeout_ms': 600000, 'env': {'MODEL': 'x', 'A': '1'}, 'env_passthrough': []}");
	assert_json_eq(P(out, "/tasks/0/runtime"), want_a);
	assert_json_eq(P(out, "/tasks/1/runtime"), want_b);
	json_decref(want_a);
	json_decref(want_b);
	json_decref(out);
}

static void test_defaults_normalize_alone(void **state)
{
	(void)state;
	json_t *out = NULL, *raw = J("{'runtime': {'adapter': 'codex'}, 'circuit_breaker': {'failure_threshold': 2}}");
	assert_int_equal(hive_spec_defaults_normalize(raw, NULL, OPTS, &out), 0);
	assert_true(json_is_null(P(out, "/runtime/command")));
	assert_string_equal(json_string_value(P(out, "/runtime/adapter")), "codex");
	assert_int_equal(json_integer_value(P(out, "/circuit_breaker/failure_threshold")), 2);
	assert_int_equal(json_integer_value(P(out, "/retry/max_attempts")), 3);
	json_decref(out);
	json_decref(raw);

	/* Defaults may leave the exec command out; tasks must then give it. */
	out = NULL;
	assert_int_equal(hive_spec_defaults_normalize(NULL, NULL, OPTS, &out), 0);
	assert_true(json_is_null(P(out, "/runtime/command")));
	json_decref(out);
}

/* ------------------------------------------------------------------ */
/* Project                                                            */
/* ------------------------------------------------------------------ */

static void test_repo_relative_to_spec_becomes_absolute(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), path[PATH_MAX], repo[PATH_MAX], *real;
	snprintf(path, sizeof path, "%s/specs", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(repo, sizeof repo, "%s/repo", dir);
	assert_int_equal(mkdir(repo, 0700), 0);
	snprintf(path, sizeof path, "%s/specs/spec.json", dir);
	char *text = Q("{'name': 'f', 'project': {'name': 'webapp', 'repo': '../repo'}, " RT ","
	               " 'tasks': [{'key': 'a', 'title': 'A'}]}");
	tu_write_file(path, text);
	free(text);

	json_t *out = NULL;
	if (hive_spec_load(path, OPTS, &out) != 0)
		fail_msg("rejected: %s", hive_error_last());
	real = realpath(repo, NULL);
	assert_string_equal(json_string_value(P(out, "/project/repo")), real);
	assert_string_equal(json_string_value(P(out, "/project/name")), "webapp");
	assert_string_equal(json_string_value(P(out, "/project/description")), "");
	free(real);
	json_decref(out);

	/* A repo that does not exist yet is still made absolute (checked later). */
	out = NULL;
	text = Q("{'name': 'f', 'project': {'name': 'w', 'repo': 'later', 'description': 'd'}, " RT ","
	         " 'tasks': [{'key': 'a', 'title': 'A'}]}");
	tu_write_file(path, text);
	free(text);
	assert_int_equal(hive_spec_load(path, OPTS, &out), 0);
	const char *got = json_string_value(P(out, "/project/repo"));
	assert_true(got[0] == '/');
	assert_non_null(strstr(got, "/specs/later"));
	assert_string_equal(json_string_value(P(out, "/project/description")), "d");
	json_decref(out);

	tu_rmrf(dir);
	free(dir);
}

/* A relative base_dir that does not exist is joined to the current directory. */
static void test_repo_with_relative_missing_base_is_absolute(void **state)
{
	(void)state;
	char *s = Q("{'name': 'f', 'project': {'name': 'w', 'repo': 'r'}, " RT ", 'tasks': [{'key': 'a', 'title': 'A'}]}");
	char *cwd = getcwd(NULL, 0), *want = NULL;
	json_t *out = NULL;
	assert_int_equal(hive_spec_parse(s, strlen(s), NULL, "no-such-dir-for-hive-test", OPTS, &out), 0);
	assert_true(asprintf(&want, "%s/no-such-dir-for-hive-test/r", strcmp(cwd, "/") ? cwd : "") > 0);
	assert_string_equal(json_string_value(P(out, "/project/repo")), want);
	free(want);
	free(cwd);
	free(s);
	json_decref(out);
}

static void test_load_errors_name_the_file(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), path[PATH_MAX];
	json_t *out = NULL;
	snprintf(path, sizeof path, "%s/missing.json", dir);
	assert_int_equal(hive_spec_load(path, OPTS, &out), HIVE_ENOTFOUND);
	assert_non_null(strstr(hive_error_last(), "cannot read spec file "));
	assert_non_null(strstr(hive_error_last(), "missing.json: No such file or directory"));

	assert_int_equal(hive_spec_load(dir, OPTS, &out), HIVE_EINVALID); /* a directory: a wrong argument, not "not found" */
	assert_non_null(strstr(hive_error_last(), "Is a directory"));

	snprintf(path, sizeof path, "%s/bad.json", dir);
	tu_write_file(path, "{\"name\": \"f\",\n \"tasks\": [}\n");
	assert_int_equal(hive_spec_load(path, OPTS, &out), HIVE_EINVALID);
	char *want = NULL;
	assert_true(asprintf(&want, "%s:2:12: invalid JSON: ", path) > 0);
	if (strncmp(hive_error_last(), want, strlen(want)) != 0)
		fail_msg("got %s, want prefix %s", hive_error_last(), want);
	free(want);
	assert_null(out);
	tu_rmrf(dir);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* One task alone                                                     */
/* ------------------------------------------------------------------ */

static void test_task_def_alone_with_null_defaults(void **state)
{
	(void)state;
	json_t *raw = J("{'key': 'fix', 'title': 'Fix it', 'runtime': {'command': ['sh', '-c', 'make']},"
	                " 'checks': [{'name': 'unit', 'command': 'make test'}], 'depends_on': ['other']}");
	json_t *out = NULL;
	if (hive_task_def_normalize(raw, NULL, "tasks[0]", OPTS, &out) != 0)
		fail_msg("rejected: %s", hive_error_last());
	json_t *want = J("{'key': 'fix', 'title': 'Fix it', 'description': '',"
	                 " 'checks': [{'name': 'unit', 'command': 'make test', 'required': true, 'timeout_ms': 600000}],"
	                 " 'runtime': {'adapter': 'exec', 'command': ['sh', '-c', 'make'], 'args': [], 'model': null, 'env_passthrough': [],"
	                 "             'timeout_ms': 1800000, 'env': {}},"
	                 " 'retry': null, 'depends_on': ['other']}");
	json_object_set_new(want, "retry", policy_json(3, 0));
	assert_json_eq(out, want);
	json_decref(want);
	json_decref(out);
	json_decref(raw);

	/* Without defaults an exec task must name its command; where NULL → "task". */
	raw = J("{'key': 'fix', 'title': 'Fix it'}");
	out = NULL;
	assert_int_equal(hive_task_def_normalize(raw, NULL, NULL, OPTS, &out), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "task.runtime.command: required for the exec adapter;"
	                                       " set it here or in defaults.runtime");
	assert_null(out);
	json_decref(raw);
}

/* The caller's objects are borrowed: normalizing must not change them. */
static void test_task_def_leaves_inputs_alone(void **state)
{
	(void)state;
	json_t *defaults = NULL, *raw_defaults = J("{'runtime': {'command': ['x'], 'env': {'A': '1'}}}");
	assert_int_equal(hive_spec_defaults_normalize(raw_defaults, NULL, OPTS, &defaults), 0);
	json_t *before = json_deep_copy(defaults);
	json_t *raw = J("{'key': 'k', 'title': 'T', 'runtime': {'env': {'B': '2'}}}");
	json_t *raw_before = json_deep_copy(raw), *out = NULL;
	assert_int_equal(hive_task_def_normalize(raw, defaults, "tasks[0]", OPTS, &out), 0);
	assert_json_eq(defaults, before);
	assert_json_eq(raw, raw_before);
	assert_int_equal(json_object_size(P(out, "/runtime/env")), 2);
	json_decref(out);
	json_decref(raw);
	json_decref(raw_before);
	json_decref(before);
	json_decref(defaults);
	json_decref(raw_defaults);
}

static void test_name_rule(void **state)
{
	(void)state;
	static const char *const good[] = {"a", "fix-login", "v1.2_rc-3", "A9",
	                                   "0123456789012345678901234567890123456789012345678901234567890123"};
	static const char *const badn[] = {"", ".hidden", "-flag", "_x", "a..b", "end.", "x.lock", "a b",
	                                   "a/b", "caf\xc3\xa9", "tab\t",
	                                   "01234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (hive_spec_name_check(good[i], "key") != 0)
			fail_msg("\"%s\" rejected: %s", good[i], hive_error_last());
	for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++) {
		if (hive_spec_name_check(badn[i], "key") != HIVE_EINVALID)
			fail_msg("\"%s\" accepted", badn[i]);
		assert_int_equal(strncmp(hive_error_last(), "key: invalid name \"", 19), 0);
	}
}

/* ------------------------------------------------------------------ */
/* Runtimes are validated through the registry the caller passes      */
/* ------------------------------------------------------------------ */

/* A registry without the presets: a spec naming one is refused, naming
 * the field and the adapters this front end offers; nothing is written. */
static void test_registry_lacking_an_adapter_refuses_it(void **state)
{
	(void)state;
	const hive_adapter *only_exec[] = {hive_adapter_registry_find(hive_registry_builtin(), "exec")};
	hive_adapter_registry r = {only_exec, 1};
	hive_spec_opts o = {.adapters = &r};
	json_t *out = NULL;
	char *s = Q(TASK1(", 'runtime': {'adapter': 'codex'}"));
	assert_int_equal(hive_spec_parse(s, strlen(s), "spec.json", "/base", &o, &out), HIVE_EINVALID);
	assert_null(out);
	assert_string_equal(hive_error_last(), "spec.json: tasks[0].runtime.adapter: unknown adapter"
	                                       " \"codex\"; use one of exec");
	free(s);
	/* the same spec is fine with hive's own registry */
	assert_int_equal(parse_q(TASK1(", 'runtime': {'adapter': 'codex'}"), &out), 0);
	json_decref(out);
	/* and so is an exec task with the smaller one */
	s = Q(TASK1(""));
	assert_int_equal(hive_spec_parse(s, strlen(s), "spec.json", "/base", &o, &out), 0);
	json_decref(out);
	free(s);
}

/* A front end's own adapter: its validate is what judges its runtimes
 * (spec.c knows no adapter by name), for tasks and for defaults. */
static int fake_validated;
static int fake_validate(const hive_adapter *self, const json_t *rt, const char *where, unsigned flags)
{
	fake_validated++;
	if (json_is_null(json_object_get(rt, "model")) && !(flags & HIVE_ADAPTER_VALIDATE_PARTIAL))
		return hive_error_set(HIVE_EINVALID, "%s.model: the %s adapter needs one", where, self->name);
	return 0;
}
static const hive_adapter fake = {.version = HIVE_ADAPTER_VERSION, .name = "fake", .validate = fake_validate};

static void test_spec_validates_through_the_port(void **state)
{
	(void)state;
	const hive_adapter *list[] = {&fake};
	hive_adapter_registry r = {list, 1};
	hive_spec_opts o = {.adapters = &r};
	json_t *out = NULL;
	char *s = Q("{'name': 'f', 'project': 'p', 'defaults': {'runtime': {'adapter': 'fake'}},"
	            " 'tasks': [{'key': 'a', 'title': 'A', 'runtime': {'model': 'm1'}},"
	            "           {'key': 'b', 'title': 'B'}]}");
	fake_validated = 0;
	assert_int_equal(hive_spec_parse(s, strlen(s), "spec.json", "/base", &o, &out), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "spec.json: tasks[1].runtime.model: the fake adapter needs one");
	assert_int_equal(fake_validated, 3); /* defaults (partial), tasks[0], tasks[1] */
	free(s);
	s = Q("{'name': 'f', 'project': 'p', 'defaults': {'runtime': {'adapter': 'fake', 'model': 'm'}},"
	      " 'tasks': [{'key': 'a', 'title': 'A'}]}");
	assert_int_equal(hive_spec_parse(s, strlen(s), "spec.json", "/base", &o, &out), 0);
	assert_string_equal(json_string_value(P(out, "/tasks/0/runtime/adapter")), "fake");
	json_decref(out);
	free(s);
	/* task definitions outside a spec (`hive task create`) go the same way */
	json_t *raw = J("{'key': 'k', 'title': 'T', 'runtime': {'adapter': 'fake'}}");
	assert_int_equal(hive_task_def_normalize(raw, NULL, NULL, &o, &out), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "task.runtime.model: the fake adapter needs one");
	json_decref(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_normalizes_exactly),
		cmocka_unit_test(test_malformed_specs_name_the_field),
		cmocka_unit_test(test_error_quotes_are_sanitized),
		cmocka_unit_test(test_long_cycle_message_is_bounded),
		cmocka_unit_test(test_diamond_is_not_a_cycle),
		cmocka_unit_test(test_retry_inherits_defaults_then_overrides),
		cmocka_unit_test(test_runtime_merges_over_defaults),
		cmocka_unit_test(test_defaults_normalize_alone),
		cmocka_unit_test(test_repo_relative_to_spec_becomes_absolute),
		cmocka_unit_test(test_repo_with_relative_missing_base_is_absolute),
		cmocka_unit_test(test_load_errors_name_the_file),
		cmocka_unit_test(test_task_def_alone_with_null_defaults),
		cmocka_unit_test(test_task_def_leaves_inputs_alone),
		cmocka_unit_test(test_name_rule),
		cmocka_unit_test(test_registry_lacking_an_adapter_refuses_it),
		cmocka_unit_test(test_spec_validates_through_the_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
