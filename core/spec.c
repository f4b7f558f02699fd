/*
 * spec.c - validate and normalize flow spec files.  See spec.h for the
 * contracts and the normalized shapes.
 *
 * Every function that builds JSON owns what it creates until it hands it
 * out: outputs are new references, inputs are borrowed, and json_pack's
 * "o" and json_*_set_new steal.  Allocation failure aborts (as in buf.h).
 */
#include "core/circuit.h"
#include "core/duration.h"
#include "core/jsoncheck.h"
#include "core/policy.h"
#include "core/resolve.h"
#include "core/spec.h"

#include "events/buf.h"
#include "events/error.h"
#include "events/fs.h"
#include "events/utf8.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Messages and small helpers                                         */
/* ------------------------------------------------------------------ */

#define KEYS_SHOWN_MAX 10
#define CYCLE_SHOWN_MAX 12

#define CHECK_TIMEOUT_MS (10 * 60 * 1000)
#define RUNTIME_TIMEOUT_MS (30 * 60 * 1000)

/* A JSON value we just asked jansson for; NULL only on out-of-memory. */
static json_t *need(json_t *v)
{
	if (!v) {
		fputs("hive: out of memory\n", stderr);
		abort();
	}
	return v;
}

/* String field `key`: absent → *out unchanged, or an error when required. */
static int get_string(const json_t *obj, const char *path, const char *key, int required,
                      int nonempty, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	const char *want = nonempty ? "a non-empty string" : "a string";
	if (!v)
		return required ? hive_jsoncheck_fail(path, key, "missing; add %s", want) : 0;
	if (!hive_json_is_clean_string(v))
		return hive_jsoncheck_fail(path, key, "must be %s, got %s", want,
		           json_is_string(v) ? "one holding a NUL byte" : hive_json_type_name(v));
	if (nonempty && !*json_string_value(v))
		return hive_jsoncheck_fail(path, key, "must not be empty");
	*out = json_string_value(v);
	return 0;
}

/* A timeout: a duration string such as "2m" that must be more than 0. */
static int parse_timeout(const json_t *v, const char *path, int64_t *ms)
{
	int64_t n;
	if (!hive_json_is_clean_string(v))
		return hive_jsoncheck_fail(path, NULL, "must be a duration string such as \"10m\", got %s",
		           json_is_string(v) ? "one holding a NUL byte" : hive_json_type_name(v));
	if (hive_duration_parse(json_string_value(v), &n) < 0)
		return hive_error_prefix("%s", path);
	if (n == 0)
		return hive_jsoncheck_fail(path, NULL, "must be more than 0 (use e.g. 30s, 10m, 1h)");
	*ms = n;
	return 0;
}

/* Optional timeout field `key`; absent → *ms unchanged. */
static int get_timeout(const json_t *obj, const char *path, const char *key, int64_t *ms)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char *at = hive_jsoncheck_path(path, key, -1);
	int rc = parse_timeout(v, at, ms);
	free(at);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Names                                                              */
/* ------------------------------------------------------------------ */

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > HIVE_NAME_MAX || !is_alnum(s[0]) || strstr(s, ".."))
		return 0;
	if (s[n - 1] == '.' || (n >= 5 && strcmp(s + n - 5, ".lock") == 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int hive_spec_name_check(const char *value, const char *where)
{
	if (name_ok(value))
		return 0;
	return hive_jsoncheck_fail_value(where ? where : "name", NULL, "invalid name", value,
	                 "; use up to 64 letters, digits, '.', '_' or '-', starting with a letter"
	                 " or digit, with no \"..\" and no trailing \".\" or \".lock\" (names"
	                 " become part of git branch names)");
}

/* Required name field `key`. */
static int get_name(const json_t *obj, const char *path, const char *key, const char **out)
{
	const char *s = NULL;
	int rc = get_string(obj, path, key, 1, 1, &s);
	if (rc == 0) {
		char *at = hive_jsoncheck_path(path, key, -1);
		rc = hive_spec_name_check(s, at);
		free(at);
	}
	if (rc == 0)
		*out = s;
	return rc;
}

/* A name for something being created (flow, task key): the name rule,
 * and names are not ids (core/resolve.h). */
static int get_new_name(const json_t *obj, const char *path, const char *key, const char **out)
{
	int rc = get_name(obj, path, key, out);
	if (rc == 0) {
		char *at = hive_jsoncheck_path(path, key, -1);
		rc = hive_resolve_name_check(*out, at);
		free(at);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Runtime                                                            */
/* ------------------------------------------------------------------ */

static const char *const runtime_keys[] = {"adapter", "command", "args", "model", "timeout",
                                           "env", "env_passthrough", "stall_timeout", NULL};

/* The built-in runtime: new reference. */
static json_t *runtime_builtin(void)
{
	return need(json_pack("{s:s, s:n, s:[], s:n, s:I, s:{}, s:[]}", "adapter", "exec", "command",
	                      "args", "model", "timeout_ms", (json_int_t)RUNTIME_TIMEOUT_MS,
	                      "env", "env_passthrough"));
}

/* The runtime a task starts from: the built-in one with the members of
 * `inherited` (borrowed, normalized, may be NULL) copied over it.  New. */
static json_t *runtime_base(const json_t *inherited)
{
	json_t *rt = runtime_builtin();
	if (json_is_object(inherited)) {
		json_t *copy = need(json_deep_copy(inherited));
		json_object_update_existing(rt, copy);
		/* optional members the built-in runtime leaves out (so runtimes
		 * stored without them read the same) */
		json_t *stall = json_object_get(copy, "stall_timeout_ms");
		if (stall)
			json_object_set(rt, "stall_timeout_ms", stall);
		json_decref(copy);
	}
	return rt;
}

/* `env` merges key by key over the inherited one; anything else replaces
 * it (and the adapter's validate says what is wrong with it). */
static void rt_env(const json_t *v, json_t *rt)
{
	const char *name;
	json_t *value, *env = json_object_get(rt, "env");
	if (!json_is_object(v) || !json_is_object(env)) {
		json_object_set_new(rt, "env", need(json_deep_copy(v)));
		return;
	}
	json_object_foreach((json_t *)v, name, value)
		json_object_set_new(env, name, need(json_deep_copy(value)));
}

/* Apply each member of the raw `runtime` object (borrowed) to rt.  Only
 * the spec's syntax is checked here (known keys, the timeout); what the
 * members mean is the adapter's to check, once they are merged. */
static int runtime_overlay(const json_t *raw, const char *path, json_t *rt)
{
	const char *key;
	json_t *v;
	int rc = hive_jsoncheck_keys(raw, path, runtime_keys, 0);
	json_object_foreach((json_t *)raw, key, v) {
		if (rc)
			break;
		/* the spec's own syntax: a duration string, stored as ms */
		if (strcmp(key, "timeout") == 0 || strcmp(key, "stall_timeout") == 0) {
			char *at = hive_jsoncheck_path(path, key, -1);
			int64_t ms = 0;
			rc = parse_timeout(v, at, &ms); /* runtime.stall_timeout: off unless set */
			if (rc == 0)
				json_object_set_new(rt, key[0] == 't' ? "timeout_ms" : "stall_timeout_ms",
				                    need(json_integer(ms)));
			free(at);
		} else if (strcmp(key, "env") == 0) {
			rt_env(v, rt);
		} else {
			json_object_set_new(rt, key, need(json_deep_copy(v)));
		}
	}
	return rc;
}

/* Normalize a raw runtime (borrowed, may be NULL) over `inherited`, then
 * validate it through the port: the adapter it names checks it.  A
 * `partial` runtime is a default tasks merge over (defaults.runtime). */
static int runtime_normalize(const json_t *raw, const json_t *inherited, const char *path,
                             int partial, const hive_spec_opts *o, json_t **out)
{
	json_t *rt = runtime_base(inherited);
	int rc = raw ? runtime_overlay(raw, path, rt) : 0;
	if (rc == 0)
		rc = hive_adapter_validate(o->adapters, rt, path,
		                           partial ? HIVE_ADAPTER_VALIDATE_PARTIAL : 0, NULL);
	if (rc) {
		json_decref(rt);
		return rc;
	}
	*out = rt;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Task parts                                                         */
/* ------------------------------------------------------------------ */

static const char *const task_keys[] = {"key",   "title", "description", "checks", "runtime",
                                        "retry", "depends_on", NULL};
static const char *const check_keys_allowed[] = {"name", "command", "required", "timeout", "retries", NULL};
/* checks[].retries: re-runs of a failed check, at most this many. */
#define CHECK_RETRIES_MAX 10

/* One check; `seen` (an object used as a set) catches duplicate names. */
static int check_one(const json_t *raw, const char *path, json_t *seen, json_t **out)
{
	const char *name = NULL, *command = NULL;
	const json_t *req = json_object_get(raw, "required");
	int64_t timeout = CHECK_TIMEOUT_MS;
	int retries = 0, rc;
	if ((rc = hive_jsoncheck_keys(raw, path, check_keys_allowed, 0)) ||
	    (rc = get_name(raw, path, "name", &name)) ||
	    (rc = get_string(raw, path, "command", 1, 1, &command)) ||
	    (rc = get_timeout(raw, path, "timeout", &timeout)) ||
	    (rc = hive_jsoncheck_int(raw, path, "retries", 0, CHECK_RETRIES_MAX, &retries)))
		return rc;
	if (req && !json_is_boolean(req))
		return hive_jsoncheck_fail(path, "required", "must be true or false, got %s", hive_json_type_name(req));
	json_t *first = json_object_get(seen, name);
	if (first)
		return hive_jsoncheck_fail(path, "name", "duplicate check name \"%s\" (also checks[%" JSON_INTEGER_FORMAT
		           "]); give each check its own name", name, json_integer_value(first));
	*out = need(json_pack("{s:s, s:s, s:b, s:I}", "name", name, "command", command, "required",
	                      req ? json_is_true(req) : 1, "timeout_ms", (json_int_t)timeout));
	if (retries > 0) /* absent otherwise: checks stored before it read the same */
		json_object_set_new(*out, "retries", need(json_integer(retries)));
	return 0;
}

/* `checks` → new array of normalized checks ([] when absent). */
static int task_checks(const json_t *task, const char *path, json_t **out)
{
	const json_t *raw = json_object_get(task, "checks");
	json_t *list = need(json_array()), *seen = need(json_object()), *item, *c = NULL;
	char *at = hive_jsoncheck_path(path, "checks", -1);
	size_t i;
	int rc = 0;
	if (raw && !json_is_array(raw))
		rc = hive_jsoncheck_fail(at, NULL, "must be an array of check objects, got %s", hive_json_type_name(raw));
	if (rc == 0) json_array_foreach(raw, i, item) {
		char *at_i = hive_jsoncheck_path(at, NULL, (long)i);
		rc = check_one(item, at_i, seen, &c);
		free(at_i);
		if (rc)
			break;
		json_object_set_new(seen, json_string_value(json_object_get(c, "name")),
		                    need(json_integer((json_int_t)i)));
		json_array_append_new(list, c);
	}
	free(at);
	json_decref(seen);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

static int task_runtime(const json_t *task, const json_t *defaults, const char *path,
                        const hive_spec_opts *o, json_t **out)
{
	char *at = hive_jsoncheck_path(path, "runtime", -1);
	const json_t *inherited = defaults ? json_object_get(defaults, "runtime") : NULL;
	int rc = runtime_normalize(json_object_get(task, "runtime"), inherited, at, 0, o, out);
	free(at);
	return rc;
}

/* `retry` over the defaults' canonical policy → new canonical JSON. */
static int task_retry(const json_t *task, const json_t *defaults, const char *path,
                      json_t **out)
{
	const json_t *canon = defaults ? json_object_get(defaults, "retry") : NULL;
	hive_retry_policy base, p;
	int rc;
	if (canon && hive_retry_policy_from_json(canon, &base) < 0)
		return hive_error_prefix("%s: defaults are not in normalized form", path);
	char *at = hive_jsoncheck_path(path, "retry", -1);
	rc = hive_retry_policy_parse(json_object_get(task, "retry"), canon ? &base : NULL, at, &p);
	free(at);
	if (rc == 0)
		*out = need(hive_retry_policy_to_json(&p));
	return rc;
}

/* 1 when one of the normalized checks is required. */
static int has_required_check(const json_t *checks)
{
	size_t i;
	json_t *c;
	json_array_foreach(checks, i, c)
		if (json_is_true(json_object_get(c, "required")))
			return 1;
	return 0;
}

/* A budget of the task's own `retry` for an outcome the task cannot have
 * can never apply (docs/retry-context.md, "Honest policy"): check_failed
 * without a required check.  Budgets inherited from defaults serve many
 * tasks and are not judged per task. */
static int task_budgets_reachable(const json_t *task, const json_t *checks, const char *path)
{
	const json_t *budgets = json_object_get(json_object_get(task, "retry"), "budgets"), *b, *o;
	size_t i, j;
	if (has_required_check(checks))
		return 0;
	json_array_foreach(budgets, i, b) {
		json_array_foreach(json_object_get(b, "on"), j, o) {
			if (strcmp(json_string_value(o), "check_failed") != 0)
				continue;
			hive_buf at = {0};
			hive_buf_printf(&at, "%s.retry.budgets[%zu].on[%zu]", path, i, j);
			int rc = hive_jsoncheck_fail(at.data, NULL, "check_failed cannot occur: the task has no required"
			                             " check, so this never applies; add a required check or remove it");
			hive_buf_dispose(&at);
			return rc;
		}
	}
	return 0;
}

/* One depends_on element: a string, not `key`, not already in `list`. */
static int depend_one(const json_t *item, const char *path, const char *key,
                      const json_t *list)
{
	size_t j;
	json_t *prev;
	if (!hive_json_is_clean_string(item) || !*json_string_value(item))
		return hive_jsoncheck_fail(path, NULL, "must be a task key (a non-empty string), got %s",
		           json_is_string(item) ? "an empty or NUL-holding string" : hive_json_type_name(item));
	const char *dep = json_string_value(item);
	if (strcmp(dep, key) == 0)
		return hive_jsoncheck_fail_value(path, NULL, "task", key, " cannot depend on itself; remove this entry");
	json_array_foreach(list, j, prev) {
		if (json_equal(prev, item))
			return hive_jsoncheck_fail_value(path, NULL, "duplicate dependency", dep, "; list each task once");
	}
	return 0;
}

/* `depends_on` → new array of key strings ([] when absent). */
static int task_depends(const json_t *task, const char *path, const char *key, json_t **out)
{
	const json_t *raw = json_object_get(task, "depends_on");
	json_t *list = need(json_array()), *item;
	char *at = hive_jsoncheck_path(path, "depends_on", -1);
	size_t i;
	int rc = 0;
	if (raw && !json_is_array(raw))
		rc = hive_jsoncheck_fail(at, NULL, "must be an array of task keys such as [\"fix\"], got %s",
		         hive_json_type_name(raw));
	if (rc == 0) json_array_foreach(raw, i, item) {
		char *at_i = hive_jsoncheck_path(at, NULL, (long)i);
		rc = depend_one(item, at_i, key, list);
		free(at_i);
		if (rc)
			break;
		json_array_append_new(list, need(json_string(json_string_value(item))));
	}
	free(at);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Task                                                               */
/* ------------------------------------------------------------------ */

int hive_task_def_normalize(const json_t *raw, const json_t *defaults, const char *where,
                            const hive_spec_opts *o, json_t **out)
{
	assert(o && o->adapters);
	const char *path = where ? where : "task", *key = NULL, *title = NULL, *desc = "";
	json_t *checks = NULL, *rt = NULL, *retry = NULL, *deps = NULL;
	int rc;
	if ((rc = hive_jsoncheck_keys(raw, path, task_keys, 0)) ||
	    (rc = get_new_name(raw, path, "key", &key)) ||
	    (rc = get_string(raw, path, "title", 1, 1, &title)) ||
	    (rc = get_string(raw, path, "description", 0, 0, &desc)) ||
	    (rc = task_checks(raw, path, &checks)) ||
	    (rc = task_runtime(raw, defaults, path, o, &rt)) ||
	    (rc = task_retry(raw, defaults, path, &retry)) ||
	    (rc = task_budgets_reachable(raw, checks, path)) ||
	    (rc = task_depends(raw, path, key, &deps))) {
		json_decref(checks);
		json_decref(rt);
		json_decref(retry);
		return rc;
	}
	/* "o" steals checks, rt, retry and deps. */
	*out = need(json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "key", key, "title", title,
	                      "description", desc, "checks", checks, "runtime", rt, "retry", retry,
	                      "depends_on", deps));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Defaults                                                           */
/* ------------------------------------------------------------------ */

static const char *const defaults_keys[] = {"runtime", "retry", "circuit_breaker", NULL};

static int defaults_retry(const json_t *raw, const char *path, json_t **out)
{
	hive_retry_policy p;
	char *at = hive_jsoncheck_path(path, "retry", -1);
	int rc = hive_retry_policy_parse(raw ? json_object_get(raw, "retry") : NULL, NULL, at, &p);
	free(at);
	if (rc == 0)
		*out = need(hive_retry_policy_to_json(&p));
	return rc;
}

/* The circuit breaker is off unless configured (SPEC 12): absent or null
 * normalizes to null. */
static int defaults_circuit(const json_t *raw, const char *path, json_t **out)
{
	const json_t *cb = raw ? json_object_get(raw, "circuit_breaker") : NULL;
	if (!cb || json_is_null(cb)) {
		*out = json_null();
		return 0;
	}
	hive_circuit_config c;
	char *at = hive_jsoncheck_path(path, "circuit_breaker", -1);
	int rc = hive_circuit_config_parse(cb, at, &c);
	free(at);
	if (rc == 0)
		*out = need(hive_circuit_config_to_json(&c));
	return rc;
}

static int defaults_runtime(const json_t *raw, const char *path, const hive_spec_opts *o,
                            json_t **out)
{
	char *at = hive_jsoncheck_path(path, "runtime", -1);
	int rc = runtime_normalize(raw ? json_object_get(raw, "runtime") : NULL, NULL, at, 1, o, out);
	free(at);
	return rc;
}

int hive_spec_defaults_normalize(const json_t *raw, const char *where, const hive_spec_opts *o,
                                 json_t **out)
{
	assert(o && o->adapters);
	const char *path = where ? where : "defaults";
	json_t *rt = NULL, *retry = NULL, *circuit = NULL;
	int rc = raw ? hive_jsoncheck_keys(raw, path, defaults_keys, 0) : 0;
	if (rc || (rc = defaults_runtime(raw, path, o, &rt)) ||
	    (rc = defaults_retry(raw, path, &retry)) ||
	    (rc = defaults_circuit(raw, path, &circuit))) {
		json_decref(rt);
		json_decref(retry);
		return rc;
	}
	*out = need(json_pack("{s:o, s:o, s:o}", "runtime", rt, "retry", retry, "circuit_breaker",
	                      circuit));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Project                                                            */
/* ------------------------------------------------------------------ */

static const char *const project_keys[] = {"name", "repo", "description", NULL};

/* base_dir as an absolute path (new string): resolved when it exists,
 * else joined to the current directory. */
static char *absolute_dir(const char *base_dir)
{
	char *real = realpath(base_dir, NULL), *abs;
	if (real)
		return real;
	if ((abs = hive_fs_absolute(base_dir)))
		return abs;
	hive_error_clear(); /* no current directory: keep it as given */
	return hive_xstrdup(base_dir);
}

/* `repo` joined to base_dir unless absolute, then resolved with realpath
 * when it exists.  New string. */
static char *repo_path(const char *repo, const char *base_dir)
{
	char *joined;
	if (repo[0] == '/') {
		joined = hive_xstrdup(repo);
	} else {
		char *base = absolute_dir(base_dir ? base_dir : ".");
		joined = hive_fs_join(base, repo);
		free(base);
	}
	char *real = realpath(joined, NULL);
	if (!real)
		return joined;
	free(joined);
	return real;
}

static int project_object(const json_t *v, const char *base_dir, json_t **out)
{
	const char *name = NULL, *repo = NULL, *desc = "";
	int rc;
	if ((rc = hive_jsoncheck_keys(v, "project", project_keys, 0)) ||
	    (rc = get_name(v, "project", "name", &name)) ||
	    (rc = get_string(v, "project", "repo", 1, 1, &repo)) ||
	    (rc = get_string(v, "project", "description", 0, 0, &desc)))
		return rc;
	char *abs = repo_path(repo, base_dir);
	*out = need(json_pack("{s:s, s:s, s:s}", "name", name, "repo", abs, "description", desc));
	free(abs);
	return 0;
}

static int project_normalize(const json_t *v, const char *base_dir, json_t **out)
{
	int rc;
	if (!v)
		return hive_jsoncheck_fail("project", NULL, "missing; name an existing project or give"
		           " {\"name\": ..., \"repo\": ...}");
	if (json_is_object(v))
		return project_object(v, base_dir, out);
	if (!hive_json_is_clean_string(v))
		return hive_jsoncheck_fail("project", NULL, "must be a project name or an object {\"name\", \"repo\"},"
		           " got %s", hive_json_type_name(v));
	if ((rc = hive_spec_name_check(json_string_value(v), "project")))
		return rc;
	*out = need(json_pack("{s:s}", "name", json_string_value(v)));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tasks across the spec: unique keys, known dependencies, no cycles  */
/* ------------------------------------------------------------------ */

static const char *task_key(const json_t *tasks, size_t i)
{
	return json_string_value(json_object_get(json_array_get(tasks, i), "key"));
}

/* Index of task `key` through `index` (key → integer). */
static size_t key_index(const json_t *index, const char *key)
{
	return (size_t)json_integer_value(json_object_get(index, key));
}

static int unknown_dep(const json_t *tasks, const char *path, const char *dep)
{
	hive_buf m = {0};
	size_t n = json_array_size(tasks);
	hive_buf_printf(&m, "%s: unknown task key \"", path);
	hive_put_shown(&m, dep);
	hive_buf_puts(&m, "\" (keys: ");
	for (size_t i = 0; i < n && i < KEYS_SHOWN_MAX; i++)
		hive_buf_printf(&m, "%s%s", i ? ", " : "", task_key(tasks, i));
	hive_buf_puts(&m, n > KEYS_SHOWN_MAX ? ", ...)" : ")");
	return hive_jsoncheck_fail_buf(&m);
}

/* Every depends_on entry names a task of the spec. */
static int check_deps(const json_t *tasks, const json_t *index)
{
	size_t i, j;
	json_t *task, *dep;
	json_array_foreach(tasks, i, task) {
		json_array_foreach(json_object_get(task, "depends_on"), j, dep) {
			if (json_object_get(index, json_string_value(dep)))
				continue;
			hive_buf at = {0};
			hive_buf_printf(&at, "tasks[%zu].depends_on[%zu]", i, j);
			int rc = unknown_dep(tasks, hive_buf_str(&at), json_string_value(dep));
			hive_buf_dispose(&at);
			return rc;
		}
	}
	return 0;
}

typedef struct {
	size_t node, edge;
} dfs_frame;

enum { WHITE, GRAY, BLACK };

/* The cycle is stack[from..top) followed by stack[from] again. */
static int cycle_error(const json_t *tasks, const dfs_frame *stack, size_t from, size_t top)
{
	hive_buf m = {0};
	size_t len = top - from;
	hive_buf_puts(&m, "tasks: dependency cycle: ");
	for (size_t k = from; k < top && k - from < CYCLE_SHOWN_MAX; k++)
		hive_buf_printf(&m, "%s -> ", task_key(tasks, stack[k].node));
	if (len > CYCLE_SHOWN_MAX)
		hive_buf_printf(&m, "... (%zu more) -> ", len - CYCLE_SHOWN_MAX);
	hive_buf_printf(&m, "%s; remove one of these dependencies", task_key(tasks, stack[from].node));
	return hive_jsoncheck_fail_buf(&m);
}

/* Depth-first from `start` with an explicit stack (a long chain of tasks
 * must not exhaust the C stack).  `stack` holds room for every task. */
static int dfs_from(const json_t *tasks, const json_t *index, size_t start,
                    unsigned char *color, dfs_frame *stack)
{
	size_t top = 0;
	stack[top++] = (dfs_frame){start, 0};
	color[start] = GRAY;
	while (top) {
		dfs_frame *f = &stack[top - 1];
		const json_t *deps = json_object_get(json_array_get(tasks, f->node), "depends_on");
		if (f->edge == json_array_size(deps)) {
			color[f->node] = BLACK;
			top--;
			continue;
		}
		size_t v = key_index(index, json_string_value(json_array_get(deps, f->edge++)));
		if (color[v] == GRAY) {
			size_t from = 0;
			while (stack[from].node != v)
				from++;
			return cycle_error(tasks, stack, from, top);
		}
		if (color[v] == WHITE) {
			color[v] = GRAY;
			stack[top++] = (dfs_frame){v, 0};
		}
	}
	return 0;
}

static int check_cycles(const json_t *tasks, const json_t *index)
{
	size_t n = json_array_size(tasks);
	unsigned char *color = hive_xcalloc(n, 1);
	dfs_frame *stack = hive_xmalloc(n * sizeof *stack);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (color[i] == WHITE)
			rc = dfs_from(tasks, index, i, color, stack);
	free(color);
	free(stack);
	return rc;
}

/* Normalize task i and record its key in `index`; duplicate keys fail. */
static int add_task(const json_t *item, size_t i, const json_t *defaults,
                    const hive_spec_opts *o, json_t *list, json_t *index)
{
	json_t *task = NULL;
	char *at = hive_jsoncheck_path("tasks", NULL, (long)i);
	int rc = hive_task_def_normalize(item, defaults, at, o, &task);
	if (rc == 0) {
		const char *key = json_string_value(json_object_get(task, "key"));
		json_t *first = json_object_get(index, key);
		if (first) {
			rc = hive_jsoncheck_fail(at, "key", "duplicate task key \"%s\" (also tasks[%" JSON_INTEGER_FORMAT
			         "]); give each task its own key", key, json_integer_value(first));
			json_decref(task);
		} else {
			json_object_set_new(index, key, need(json_integer((json_int_t)i)));
			json_array_append_new(list, task);
		}
	}
	free(at);
	return rc;
}

static int tasks_normalize(const json_t *raw, const json_t *defaults, const hive_spec_opts *o,
                           json_t **out)
{
	json_t *list, *index, *item;
	size_t i;
	int rc = 0;
	if (!raw)
		return hive_jsoncheck_fail("tasks", NULL, "missing; add a non-empty array of tasks");
	if (!json_is_array(raw))
		return hive_jsoncheck_fail("tasks", NULL, "must be an array of task objects, got %s", hive_json_type_name(raw));
	if (json_array_size(raw) == 0)
		return hive_jsoncheck_fail("tasks", NULL, "must not be empty; add at least one task");
	list = need(json_array());
	index = need(json_object());
	json_array_foreach(raw, i, item) {
		if ((rc = add_task(item, i, defaults, o, list, index)))
			break;
	}
	if (rc == 0 && (rc = check_deps(list, index)) == 0)
		rc = check_cycles(list, index);
	json_decref(index);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The spec                                                           */
/* ------------------------------------------------------------------ */

static const char *const spec_keys[] = {"name", "project", "defaults", "tasks", NULL};

/* The validated parts of a spec: each a new reference or NULL. */
typedef struct {
	json_t *project, *defaults, *tasks;
} spec_parts;

static void spec_parts_dispose(spec_parts *p)
{
	json_decref(p->project);
	json_decref(p->defaults);
	json_decref(p->tasks);
}

/* Validate the decoded document; errors carry no label yet. */
static int spec_normalize(const json_t *doc, const char *base_dir, const hive_spec_opts *o,
                          json_t **out)
{
	spec_parts p = {0};
	const char *name = NULL;
	int rc;
	if (!json_is_object(doc))
		return hive_jsoncheck_fail("", NULL, "must be a JSON object with name, project and tasks, got %s",
		           hive_json_type_name(doc));
	if ((rc = hive_jsoncheck_keys(doc, "", spec_keys, 0)) ||
	    (rc = get_new_name(doc, "", "name", &name)) ||
	    (rc = project_normalize(json_object_get(doc, "project"), base_dir, &p.project)) ||
	    (rc = hive_spec_defaults_normalize(json_object_get(doc, "defaults"), NULL, o,
	                                       &p.defaults)) ||
	    (rc = tasks_normalize(json_object_get(doc, "tasks"), p.defaults, o, &p.tasks))) {
		spec_parts_dispose(&p);
		return rc;
	}
	*out = need(json_pack("{s:s, s:o, s:{s:O}, s:o}", "name", name, "project", p.project,
	                      "defaults", "circuit_breaker",
	                      json_object_get(p.defaults, "circuit_breaker"), "tasks", p.tasks));
	json_decref(p.defaults);
	return 0;
}

/* "<label>:<line>:<column>: invalid JSON: <jansson's text>", one line. */
static int syntax_error(const char *label, const json_error_t *err)
{
	hive_buf m = {0};
	hive_buf_puts(&m, label);
	if (err->line > 0)
		hive_buf_printf(&m, ":%d:%d", err->line, err->column);
	hive_buf_puts(&m, ": invalid JSON: ");
	/* jansson quotes the offending bytes raw: anything but printable ASCII
	 * becomes '?' (found by tests/fuzz: DEL and C1 controls got through) */
	for (const char *s = err->text; *s; s++)
		hive_buf_putc(&m, (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s);
	return hive_jsoncheck_fail_buf(&m);
}

#define REPLACEMENT_CHAR "\xEF\xBF\xBD" /* U+FFFD, what hive_utf8_sanitize puts */

/* The path of the first key or string in v holding U+FFFD, appended to b;
 * 1 when found. */
static int find_replaced(const json_t *v, const char *path, hive_buf *b)
{
	if (json_is_string(v) && strstr(json_string_value(v), REPLACEMENT_CHAR)) {
		hive_buf_puts(b, *path ? path : "(top level)");
		return 1;
	}
	int found = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m) {
			char *sub = hive_jsoncheck_path(path, k, -1);
			if (strstr(k, REPLACEMENT_CHAR))
				found = (hive_buf_printf(b, "a key in %s", *path ? path : "the top level"), 1);
			else
				found = find_replaced(m, sub, b);
			free(sub);
			if (found)
				return 1;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && !found; i++) {
			char *sub = hive_jsoncheck_path(path, NULL, (long)i);
			found = find_replaced(json_array_get(v, i), sub, b);
			free(sub);
		}
	}
	return found;
}

/* A spec that is not UTF-8: name the field holding the bad bytes (found by
 * parsing a repaired copy) rather than only jansson's byte position. */
static int not_utf8_error(const char *label, const char *text, size_t len, const json_error_t *err)
{
	hive_buf m = {0};
	hive_buf_printf(&m, "%s:%d:%d: ", label, err->line, err->column);
	size_t fixed_len;
	char *fixed = hive_utf8_sanitize(text, len, &fixed_len);
	json_t *doc = memmem(text, len, REPLACEMENT_CHAR, 3) ? NULL : json_loadb(fixed, fixed_len, 0, NULL);
	if (!find_replaced(doc, "", &m))
		hive_buf_puts(&m, "the spec");
	json_decref(doc);
	free(fixed);
	hive_buf_puts(&m, " must be UTF-8 text");
	return hive_jsoncheck_fail_buf(&m);
}

int hive_spec_parse(const char *text, size_t len, const char *label, const char *base_dir,
                    const hive_spec_opts *o, json_t **out)
{
	assert(o && o->adapters);
	json_error_t err;
	const char *lbl = label ? label : "spec";
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!doc && json_error_code(&err) == json_error_invalid_utf8)
		return not_utf8_error(lbl, text, len, &err);
	if (!doc)
		return syntax_error(lbl, &err);
	int rc = spec_normalize(doc, base_dir, o, out);
	json_decref(doc);
	if (rc)
		return hive_error_prefix("%s", lbl);
	return 0;
}

/* Read the whole file into b; errno set on failure. */
static int read_file(const char *path, hive_buf *b)
{
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b->len <= HIVE_SPEC_MAX_BYTES)
		hive_buf_append(b, chunk, n);
	int failed = ferror(f), saved = errno;
	fclose(f);
	errno = saved;
	return failed ? -1 : 0;
}

/* The directory part of `path` ("." when none); new string. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return hive_xstrdup(".");
	if (slash == path)
		return hive_xstrdup("/");
	return hive_xstrndup(path, (size_t)(slash - path));
}

int hive_spec_load(const char *path, const hive_spec_opts *o, json_t **out)
{
	hive_buf b = {0};
	int rc;
	if (read_file(path, &b) < 0) {
		/* only a missing file is "not found"; a directory or an
		 * unreadable file is a wrong argument */
		int err = errno;
		rc = hive_error_set(err == ENOENT || err == ENOTDIR ? HIVE_ENOTFOUND : HIVE_EINVALID,
		                    "cannot read spec file %s: %s%s", path, strerror(err),
		                    err == EISDIR ? "; give the path of a JSON file" : "");
	} else if (b.len > HIVE_SPEC_MAX_BYTES) {
		rc = hive_error_set(HIVE_EINVALID, "spec file %s is larger than %u MiB; split the flow"
		                    " into smaller specs", path, HIVE_SPEC_MAX_BYTES >> 20);
	} else {
		char *dir = dir_of(path);
		rc = hive_spec_parse(b.data ? b.data : "", b.len, path, dir, o, out);
		free(dir);
	}
	hive_buf_dispose(&b);
	return rc;
}
