/*
 * test_adapters.c - the runtime adapters against real processes: a shell
 * script plays the agent in a fresh temp "worktree" and writes what it saw
 * (environment, stdin, cwd, argv) to files the test then reads.  Nothing
 * depends on timing luck: the only clock involved is the runtime timeout,
 * and that test asserts what happened, not how fast.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "tests/unit/testutil.h"

#include "adapters/registry.h"
#include "adapters/prompt.h"
#include "events/error.h"
#include "events/sha256.h"
#include "events/store.h"
#include "events/strv.h"

#include <limits.h>
#include <sys/stat.h>

typedef struct {
	char *root;
	char wt[PATH_MAX], dir[PATH_MAX]; /* root/wt, root/attempt */
	json_t *task, *prior, *runtime;
	hive_exec_request req;
	hive_exec_result res;
	/* what on_started saw */
	int started_calls;
	pid_t pid, pgid;
	char sha[65];
	json_t *argv_seen;
} fixture;

static const char TASK_JSON[] =
	"{\"id\": \"T1\", \"key\": \"fix\", \"title\": \"Fix the login bug\","
	" \"description\": \"Login returns 401.\\n\","
	" \"checks\": [{\"name\": \"unit\", \"command\": \"make test\", \"required\": true, \"timeout_ms\": 120000},"
	"             {\"name\": \"lint\", \"command\": \"make lint\", \"required\": false, \"timeout_ms\": 60000}]}";

static const char RUNTIME_JSON[] =
	"{\"adapter\": \"exec\", \"command\": [\"./agent.sh\"], \"args\": [], \"model\": null,"
	" \"timeout_ms\": 20000, \"grace_ms\": 100, \"env\": {\"MODEL\": \"x\"}}";

static const char CONTEXT[] =
	"## Retry context\nThis is attempt 2 of 3 for task \"Fix the login bug\" (fix).\n\n"
	"### Attempt 1 failed: check_failed\nRuntime exited with code 0 after 4.2s.\n";

/* ---- helpers ------------------------------------------------------------ */

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return v;
}

/* The adapter of that name in hive's own registry, or NULL. */
static const hive_adapter *find(const char *name)
{
	return hive_adapter_registry_find(hive_registry_builtin(), name);
}

static void on_started(void *ctx, pid_t pid, pid_t pgid, const char *const *argv, const char *sha)
{
	fixture *f = ctx;
	f->started_calls++;
	f->pid = pid;
	f->pgid = pgid;
	snprintf(f->sha, sizeof f->sha, "%s", sha);
	json_decref(f->argv_seen);
	f->argv_seen = json_array();
	for (; *argv; argv++)
		json_array_append_new(f->argv_seen, json_string(*argv));
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->root = tu_tmpdir();
	snprintf(f->wt, sizeof f->wt, "%s/wt", f->root);
	snprintf(f->dir, sizeof f->dir, "%s/attempt", f->root);
	assert_int_equal(mkdir(f->wt, 0700), 0);
	f->task = parse(TASK_JSON);
	f->prior = json_array();
	f->runtime = parse(RUNTIME_JSON);
	f->req = (hive_exec_request){
		.task = f->task, .attempt_number = 1, .max_attempts = 3, .context = NULL,
		.prior_attempts = f->prior, .runtime = f->runtime, .task_id = "T1",
		.attempt_id = "A1", .worktree = f->wt, .attempt_dir = f->dir,
		.on_started = on_started, .on_started_ctx = f,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	hive_exec_result_dispose(&f->res);
	json_decref(f->task);
	json_decref(f->prior);
	json_decref(f->runtime);
	json_decref(f->argv_seen);
	tu_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

/* dir/name, written to out. */
static const char *in(const char *dir, const char *name, char out[PATH_MAX])
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		fail_msg("path too long: %s/%s", dir, name);
	return out;
}

/* The agent: wt/agent.sh with body after a shebang. */
static void agent(fixture *f, const char *body)
{
	char path[PATH_MAX], *script;
	assert_true(asprintf(&script, "#!/bin/sh\n%s\n", body) > 0);
	tu_write_file(in(f->wt, "agent.sh", path), script);
	assert_int_equal(chmod(path, 0755), 0);
	free(script);
}

static int execute(fixture *f)
{
	const hive_adapter *a = find(json_string_value(json_object_get(f->runtime, "adapter")));
	assert_non_null(a);
	hive_exec_result_dispose(&f->res);
	return a->execute(a, &f->req, &f->res);
}

static char *read_in(const char *dir, const char *name)
{
	char path[PATH_MAX];
	char *s = tu_read_file(in(dir, name, path));
	if (!s)
		fail_msg("%s/%s was not written", dir, name);
	return s;
}

/* Does the `env` output hold exactly this NAME=value line? */
static int env_has(const char *env, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = env; (p = strstr(p, line)); p++)
		if ((p == env || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

static void assert_env_has(const char *env, const char *name, const char *value)
{
	char line[PATH_MAX + 64];
	snprintf(line, sizeof line, "%s=%s", name, value);
	if (!env_has(env, line))
		fail_msg("environment lacks %s; it was:\n%s", line, env);
}

/* argv (NULL-terminated) joined with spaces, for one-line comparisons. */
static char *joined(char **argv)
{
	hive_buf b = {0};
	for (char **a = argv; *a; a++) {
		if (a != argv)
			hive_buf_putc(&b, ' ');
		hive_buf_puts(&b, *a);
	}
	return hive_buf_detach(&b);
}

static void assert_mode_0600(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* ---- registry ------------------------------------------------------------ */

static void test_registry_finds_every_adapter(void **state)
{
	(void)state;
	const char *names[] = {"exec", "claude-code", "codex", "opencode", "aider"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const hive_adapter *a = find(names[i]);
		assert_non_null(a);
		assert_string_equal(a->name, names[i]);
		assert_int_equal(a->version, HIVE_ADAPTER_VERSION);
		assert_non_null(a->validate);
		assert_non_null(a->prepare);
		assert_non_null(a->execute);
		assert_non_null(a->describe);
	}
	assert_null(find("shell"));
	assert_null(find(""));
	assert_null(find(NULL));
}

/* A runtime adapter of another port version: never handed out. */
static const hive_adapter old_exec = {.version = HIVE_ADAPTER_VERSION - 1, .name = "exec"};

static void test_registry_skips_other_versions(void **state)
{
	(void)state;
	const hive_adapter *list[] = {&old_exec};
	hive_adapter_registry r = {list, 1};
	assert_null(hive_adapter_registry_find(&r, "exec"));
}

/* ---- the port: validate ---------------------------------------------------- */

/* Test JSON is written with ' for " (no case needs an apostrophe). */
static json_t *parse_q(const char *text)
{
	char *s = strdup(text);
	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	json_error_t e;
	json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	free(s);
	return v;
}

typedef struct {
	const char *runtime;  /* ' quoted */
	const char *message;  /* NULL: valid; else the start of the one-line error */
} validate_case;

static const validate_case validate_cases[] = {
	/* exec */
	{"{'adapter': 'exec', 'command': ['./agent.sh', '-q'], 'args': [], 'model': null,"
	 " 'timeout_ms': 600000, 'env': {'A': 'b'}, 'env_passthrough': ['API_KEY']}", NULL},
	{"{'adapter': 'exec', 'command': ['./agent.sh']}", NULL},
	{"{'adapter': 'exec', 'command': null}",
	 "tasks[0].runtime.command: required for the exec adapter; set it here or in defaults.runtime"},
	{"{'adapter': 'exec', 'command': []}",
	 "tasks[0].runtime.command: must not be empty; give the program and its arguments"},
	{"{'adapter': 'exec', 'command': ['', 'x']}",
	 "tasks[0].runtime.command[0]: must be a non-empty program name"},
	{"{'adapter': 'exec', 'command': ['a', 1]}", "tasks[0].runtime.command[1]: must be a string, got an integer"},
	{"{'adapter': 'exec', 'command': ['a', 'b\\u0000c']}",
	 "tasks[0].runtime.command[1]: must be a string without NUL bytes"},
	{"{'adapter': 'exec', 'command': ['a'], 'model': 'opus'}",
	 "tasks[0].runtime.model: only preset adapters take a model; remove it (here or in defaults.runtime)"},
	{"{'adapter': 'exec', 'command': ['a'], 'args': ['-v']}",
	 "tasks[0].runtime.args: only preset adapters take extra args; for exec put them in command"},
	{"{'adapter': 'exec', 'command': ['a'], 'env': {'OK': '1', 'HIVE_X': '1'}}",
	 "tasks[0].runtime.env: variable \"HIVE_X\" is reserved: names starting with HIVE_ are set by hive"},
	{"{'adapter': 'exec', 'command': ['a'], 'env': {'1X': 'y'}}",
	 "tasks[0].runtime.env: invalid variable name \"1X\"; use letters, digits and '_'"},
	{"{'adapter': 'exec', 'command': ['a'], 'env': {'X': 1}}",
	 "tasks[0].runtime.env.X: must be a string without NUL bytes, got an integer"},
	{"{'adapter': 'exec', 'command': ['a'], 'env': ['X=1']}",
	 "tasks[0].runtime.env: must be an object of NAME: \"value\" strings, got an array"},
	{"{'adapter': 'exec', 'command': ['a'], 'env_passthrough': ['HIVE_X']}",
	 "tasks[0].runtime.env_passthrough: variable \"HIVE_X\" is reserved"},
	{"{'adapter': 'exec', 'command': ['a'], 'env_passthrough': 'KEY'}",
	 "tasks[0].runtime.env_passthrough: must be an array of strings"},
	{"{'adapter': 'exec', 'command': ['a'], 'timeout_ms': -5}",
	 "tasks[0].runtime.timeout_ms: must be a whole number of milliseconds from 0 to "},
	{"['./agent.sh']", "tasks[0].runtime: must be an object such as"},
	/* the presets: each good with defaults and with every member, then a
	 * bad member each (the checks exec's engine shares name the field) */
	{"{'adapter': 'claude-code', 'command': null, 'args': [], 'model': null}", NULL},
	{"{'adapter': 'claude-code', 'command': ['./wrap.sh', 'claude'], 'args': ['--verbose'],"
	 " 'model': 'sonnet', 'timeout_ms': 60000, 'env': {'A': 'b'}, 'env_passthrough': ['ANTHROPIC_API_KEY']}", NULL},
	{"{'adapter': 'claude-code', 'model': ''}",
	 "tasks[0].runtime.model: must be a non-empty string (or null for the preset's default), got an empty"},
	{"{'adapter': 'claude-code', 'env': {'HIVE_RESULT_FILE': 'x'}}",
	 "tasks[0].runtime.env: variable \"HIVE_RESULT_FILE\" is reserved"},
	{"{'adapter': 'codex', 'command': [], 'model': 'o3', 'args': ['--full-auto']}", NULL},
	{"{'adapter': 'codex', 'args': [true]}", "tasks[0].runtime.args[0]: must be a string, got true"},
	{"{'adapter': 'codex', 'model': 3}",
	 "tasks[0].runtime.model: must be a non-empty string (or null for the preset's default), got an integer"},
	{"{'adapter': 'opencode', 'model': 'anthropic/claude-sonnet-4', 'args': ['--agent', 'build']}", NULL},
	{"{'adapter': 'opencode', 'command': [7]}", "tasks[0].runtime.command[0]: must be a string, got an integer"},
	{"{'adapter': 'opencode', 'timeout_ms': 'ten'}", "tasks[0].runtime.timeout_ms: must be a whole number"},
	{"{'adapter': 'aider', 'model': 'gpt-4o', 'env_passthrough': ['OPENAI_API_KEY']}", NULL},
	{"{'adapter': 'aider', 'env': {'X': 1}}", "tasks[0].runtime.env.X: must be a string without NUL bytes"},
	{"{'adapter': 'aider', 'command': ['']}", "tasks[0].runtime.command[0]: must be a non-empty program name"},
	{"7", "tasks[0].runtime: must be an object such as"},
	/* the registry */
	{"{'adapter': 'shell', 'command': ['a']}",
	 "tasks[0].runtime.adapter: unknown adapter \"shell\"; use one of exec, claude-code, codex, opencode, aider"},
	{"{'adapter': 7}", "tasks[0].runtime.adapter: unknown adapter an integer; use one of exec, "},
	{"{'command': ['a']}", "tasks[0].runtime.adapter: missing; use one of exec, "},
};

static void test_validate_through_the_port(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof validate_cases / sizeof validate_cases[0]; i++) {
		const validate_case *c = &validate_cases[i];
		json_t *rt = parse_q(c->runtime);
		const hive_adapter *a = NULL;
		hive_error_clear();
		int rc = hive_adapter_validate(hive_registry_builtin(), rt, "tasks[0].runtime", 0, &a);
		if (!c->message && rc != 0)
			fail_msg("%s: refused: %s", c->runtime, hive_error_last());
		if (!c->message)
			assert_string_equal(a->name, json_string_value(json_object_get(rt, "adapter")));
		if (c->message && rc != HIVE_EINVALID)
			fail_msg("%s: accepted (rc %d), want \"%s\"", c->runtime, rc, c->message);
		if (c->message && strncmp(hive_error_last(), c->message, strlen(c->message)) != 0)
			fail_msg("%s:\n  said: %s\n  want: %s...", c->runtime, hive_error_last(), c->message);
		if (c->message && strchr(hive_error_last(), '\n'))
			fail_msg("%s: message is not one line: %s", c->runtime, hive_error_last());
		json_decref(rt);
	}
}

/* A default (defaults.runtime) may lack what a task supplies, nothing else. */
static void test_validate_partial_runtime(void **state)
{
	(void)state;
	const hive_adapter *exec = find("exec");
	json_t *rt = parse_q("{'adapter': 'exec', 'command': null, 'env': {'A': 'b'}}");
	assert_int_equal(exec->validate(exec, rt, NULL, HIVE_ADAPTER_VALIDATE_PARTIAL), 0);
	assert_int_equal(exec->validate(exec, rt, NULL, 0), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "runtime.command: required for the exec adapter; set it here"
	                                       " or in defaults.runtime");
	json_object_set_new(rt, "model", json_string("opus"));
	assert_int_equal(exec->validate(exec, rt, "defaults.runtime", HIVE_ADAPTER_VALIDATE_PARTIAL),
	                 HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "defaults.runtime.model: only preset adapters take a model;"
	                                       " remove it (here or in defaults.runtime)");
	json_decref(rt);
}

/* A registry is just a list: one without the presets knows only exec. */
static void test_registry_of_ones_own(void **state)
{
	(void)state;
	const hive_adapter *list[] = {find("exec")};
	hive_adapter_registry r = {list, 1};
	json_t *rt = parse_q("{'adapter': 'codex'}");
	assert_int_equal(hive_adapter_validate(&r, rt, NULL, 0, NULL), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "runtime.adapter: unknown adapter \"codex\"; use one of exec");
	hive_adapter_registry none = {NULL, 0};
	assert_int_equal(hive_adapter_validate(&none, rt, NULL, 0, NULL), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "runtime.adapter: unknown adapter \"codex\"; no runtime adapters"
	                                       " are registered");
	json_decref(rt);
}

/* ---- delivery: env, stdin, cwd, files ------------------------------------ */

static void test_exec_delivers_env_stdin_and_cwd(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX], *wt_real = realpath(f->wt, NULL);

	setenv("HIVE_TEST_PARENT_SECRET", "must-not-leak", 1);
	agent(f, "env > env.out; cat > stdin.out; pwd > pwd.out");
	assert_int_equal(execute(f), 0);
	unsetenv("HIVE_TEST_PARENT_SECRET");

	assert_int_equal(f->res.started, 1);
	assert_int_equal(f->res.exit_code, 0);
	assert_string_equal(f->res.termination_reason, "exited");
	assert_null(f->res.verdict);
	assert_null(f->res.error);
	assert_string_equal(f->res.stdout_path, in(f->dir, "stdout.log", path));
	assert_string_equal(f->res.stderr_path, in(f->dir, "stderr.log", path));

	char *env = read_in(f->wt, "env.out");
	assert_env_has(env, "HIVE_TASK_ID", "T1");
	assert_env_has(env, "HIVE_ATTEMPT_ID", "A1");
	assert_env_has(env, "HIVE_ATTEMPT_NUMBER", "1");
	assert_env_has(env, "HIVE_MAX_ATTEMPTS", "3");
	assert_env_has(env, "HIVE_WORKTREE", f->wt);
	assert_env_has(env, "HIVE_PROMPT_FILE", in(f->dir, "prompt.md", path));
	assert_env_has(env, "HIVE_INPUT_FILE", in(f->dir, "input.json", path));
	assert_env_has(env, "HIVE_RESULT_FILE", in(f->dir, "result.json", path));
	assert_env_has(env, "MODEL", "x"); /* runtime.env */
	assert_null(strstr(env, "HIVE_TEST_PARENT_SECRET"));
	assert_null(strstr(env, "must-not-leak"));

	char *got_stdin = read_in(f->wt, "stdin.out"), *prompt = read_in(f->dir, "prompt.md");
	assert_string_equal(got_stdin, prompt);
	char *pwd = read_in(f->wt, "pwd.out");
	assert_non_null(wt_real);
	pwd[strcspn(pwd, "\n")] = '\0';
	assert_string_equal(pwd, wt_real);

	assert_mode_0600(in(f->dir, "prompt.md", path));
	assert_mode_0600(in(f->dir, "input.json", path));
	free(env), free(got_stdin), free(prompt), free(pwd), free(wt_real);
}

/* env_passthrough copies named variables from hive's own environment at
 * spawn time (API keys), without their values ever being in the runtime
 * object; a listed but unset variable stays unset. */
static void test_env_passthrough_copies_named_variables(void **state)
{
	fixture *f = *state;
	/* not HIVE_*: those names are hive's, and validate refuses them */
	json_object_set_new(f->runtime, "env_passthrough", parse("[\"HIVETEST_API_KEY\", \"HIVETEST_UNSET_KEY\"]"));
	setenv("HIVETEST_API_KEY", "sekrit-123", 1);
	unsetenv("HIVETEST_UNSET_KEY");
	agent(f, "env > env.out");
	assert_int_equal(execute(f), 0);
	unsetenv("HIVETEST_API_KEY");
	char *env = read_in(f->wt, "env.out");
	assert_env_has(env, "HIVETEST_API_KEY", "sekrit-123");
	assert_null(strstr(env, "HIVETEST_UNSET_KEY"));
	free(env);
}

static void test_relative_paths_become_absolute(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX], *cwd = getcwd(NULL, 0);

	assert_int_equal(chdir(f->root), 0);
	f->req.worktree = "wt";
	f->req.attempt_dir = "attempt";
	agent(f, "echo \"$HIVE_WORKTREE $HIVE_PROMPT_FILE\" > paths.out");
	assert_int_equal(execute(f), 0);
	assert_int_equal(chdir(cwd), 0);

	char *got = read_in(f->wt, "paths.out"), *want;
	assert_true(asprintf(&want, "%s %s\n", f->wt, in(f->dir, "prompt.md", path)) > 0);
	assert_string_equal(got, want);
	free(got), free(want), free(cwd);
}

/* ---- prompt.md and input.json -------------------------------------------- */

static void test_first_attempt_prompt_has_no_retry_section(void **state)
{
	fixture *f = *state;
	agent(f, "exit 0");
	assert_int_equal(execute(f), 0);

	char *prompt = read_in(f->dir, "prompt.md");
	assert_string_equal(prompt,
		"# Task: Fix the login bug (fix)\n"
		"\n"
		"Login returns 401.\n"
		"\n"
		"## Success criteria\n"
		"When you exit, hive runs these checks in the worktree; the task succeeds when you "
		"exit with status 0 and every required check passes.\n"
		"- `unit` (required): `make test` must exit 0\n"
		"- `lint` (optional): `make lint` must exit 0\n");
	assert_null(strstr(prompt, "Retry context"));
	free(prompt);
}

static void test_retry_prompt_ends_with_the_context(void **state)
{
	fixture *f = *state;
	f->req.attempt_number = 2;
	f->req.context = CONTEXT;
	agent(f, "exit 0");
	assert_int_equal(execute(f), 0);

	char *prompt = read_in(f->dir, "prompt.md");
	size_t n = strlen(prompt), c = strlen(CONTEXT);
	assert_true(n > c);
	assert_string_equal(prompt + n - c, CONTEXT);
	assert_non_null(strstr(prompt, "- `lint` (optional): `make lint` must exit 0\n\n## Retry context"));
	free(prompt);
}

static void test_input_json_carries_the_attempt(void **state)
{
	fixture *f = *state;
	json_decref(f->prior);
	f->prior = parse("[{\"attempt_id\": \"A0\", \"attempt_number\": 1, \"outcome\": \"check_failed\"}]");
	f->req.prior_attempts = f->prior;
	f->req.attempt_number = 2;
	f->req.context = CONTEXT;
	agent(f, "exit 0");
	assert_int_equal(execute(f), 0);

	char *text = read_in(f->dir, "input.json");
	json_t *in_json = parse(text);
	assert_int_equal(json_integer_value(json_object_get(in_json, "attempt_number")), 2);
	assert_int_equal(json_integer_value(json_object_get(in_json, "max_attempts")), 3);
	assert_string_equal(json_string_value(json_object_get(in_json, "context")), CONTEXT);
	assert_true(json_equal(json_object_get(in_json, "task"), f->task));
	assert_true(json_equal(json_object_get(in_json, "prior_attempts"), f->prior));
	/* Pretty and sorted: the first key line is "attempt_number". */
	assert_int_equal(strncmp(text, "{\n  \"attempt_number\": 2,\n", 25), 0);
	json_decref(in_json);
	free(text);

	/* A first attempt: context is null, not "". */
	f->req.context = "";
	assert_int_equal(execute(f), 0);
	text = read_in(f->dir, "input.json");
	in_json = parse(text);
	assert_true(json_is_null(json_object_get(in_json, "context")));
	json_decref(in_json);
	free(text);
}

static void test_prompt_quotes_awkward_text(void **state)
{
	(void)state;
	json_t *task = parse("{\"key\": \"k\", \"title\": \"two\\nlines\", \"description\": null,"
	                     " \"checks\": [{\"name\": \"t\", \"command\": \"test `date` = x\"},"
	                     "            {\"name\": \"u\", \"command\": \"echo ``\"}]}");
	hive_exec_request req = {.task = task};
	hive_buf b = {0};

	hive_prompt_render(&req, &b);
	assert_string_equal(hive_buf_str(&b),
		"# Task: two lines (k)\n"
		"\n"
		"## Success criteria\n"
		"When you exit, hive runs these checks in the worktree; the task succeeds when you "
		"exit with status 0 and every required check passes.\n"
		"- `t` (required): ``test `date` = x`` must exit 0\n"
		"- `u` (required): ``` echo `` ``` must exit 0\n");
	hive_buf_dispose(&b);

	json_object_set_new(task, "checks", json_array());
	hive_prompt_render(&req, &b);
	assert_non_null(strstr(hive_buf_str(&b), "no checks"));
	hive_buf_dispose(&b);
	json_decref(task);
}

/* ---- the verdict ---------------------------------------------------------- */

/* Run an agent that copies wt/verdict.src to $HIVE_RESULT_FILE. */
static json_t *verdict_of(fixture *f, const char *content)
{
	char path[PATH_MAX];
	tu_write_file(in(f->wt, "verdict.src", path), content);
	agent(f, "cp verdict.src \"$HIVE_RESULT_FILE\"; exit 1");
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.exit_code, 1);
	return f->res.verdict;
}

static void test_valid_verdict_is_recorded(void **state)
{
	fixture *f = *state;
	json_t *v = verdict_of(f, "{\"summary\": \"gave up: needs a DB\", \"retryable\": false,"
	                          " \"retry_after\": \"30s\", \"note\": \"unknown keys are ignored\"}");
	json_t *want = parse("{\"summary\": \"gave up: needs a DB\", \"retryable\": false,"
	                     " \"retry_after_ms\": 30000}");
	assert_non_null(v);
	assert_true(json_equal(v, want));
	json_decref(want);

	v = verdict_of(f, "{}");
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 0);
}

static void test_malformed_verdicts_are_marked(void **state)
{
	fixture *f = *state;
	const char *bad[] = {
		"not json", "", "[1, 2]", "{\"summary\": 3}", "{\"retryable\": \"no\"}",
		"{\"retry_after\": 30}", "{\"retry_after\": \"5x\"}", "{\"a\": 1} trailing",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *v = verdict_of(f, bad[i]);
		if (!v || json_object_size(v) != 1 || !json_is_string(json_object_get(v, "malformed")))
			fail_msg("verdict %s was not marked malformed", bad[i]);
		const char *why = json_string_value(json_object_get(v, "malformed"));
		assert_true(*why);
		assert_null(strchr(why, '\n'));
	}
	json_t *v = verdict_of(f, "{\"retry_after\": \"5x\"}");
	assert_non_null(strstr(json_string_value(json_object_get(v, "malformed")), "5x"));
}

static void test_oversized_verdict_is_malformed(void **state)
{
	fixture *f = *state;
	hive_buf big = {0};
	hive_buf_puts(&big, "{\"summary\": \"");
	for (int i = 0; i < 66 * 1024; i++)
		hive_buf_putc(&big, 'a');
	hive_buf_puts(&big, "\"}");

	json_t *v = verdict_of(f, hive_buf_str(&big));
	assert_non_null(strstr(json_string_value(json_object_get(v, "malformed")), "64 KiB"));
	hive_buf_dispose(&big);
}

static void test_stale_result_file_is_not_a_verdict(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	tu_write_file(in(f->dir, "result.json", path), "{\"retryable\": false}");
	agent(f, "exit 0");
	assert_int_equal(execute(f), 0);
	assert_null(f->res.verdict);
}

static void test_symlinked_result_file_is_not_followed(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX];
	tu_write_file(in(f->wt, "secret.json", path), "{\"summary\": \"secret\"}");
	agent(f, "ln -s \"$PWD/secret.json\" \"$HIVE_RESULT_FILE\"");
	assert_int_equal(execute(f), 0);
	assert_non_null(json_object_get(f->res.verdict, "malformed"));
	assert_null(json_object_get(f->res.verdict, "summary"));
}

/* ---- how the runtime ended ------------------------------------------------ */

static void test_missing_binary_is_not_started(void **state)
{
	fixture *f = *state;
	json_object_set_new(f->runtime, "command", parse("[\"./no-such-agent\"]"));
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.started, 0);
	assert_int_equal(f->res.exit_code, -1);
	assert_string_equal(f->res.termination_reason, "not_started");
	assert_non_null(f->res.error);
	assert_non_null(strstr(f->res.error, "no-such-agent"));
	assert_int_equal(f->started_calls, 0);
}

static void test_invalid_runtime_is_not_started(void **state)
{
	fixture *f = *state;
	json_object_set_new(f->runtime, "command", json_null());
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.started, 0);
	assert_string_equal(f->res.termination_reason, "not_started");
	assert_non_null(strstr(f->res.error, "runtime.command"));
}

static void test_exit_code_and_signal_are_reported(void **state)
{
	fixture *f = *state;
	agent(f, "exit 3");
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.started, 1);
	assert_int_equal(f->res.exit_code, 3);
	assert_int_equal(f->res.signal, 0);
	assert_string_equal(f->res.termination_reason, "exited");

	agent(f, "kill -KILL $$");
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.exit_code, -1);
	assert_int_equal(f->res.signal, 9);
	assert_string_equal(f->res.termination_reason, "signal");
}

static void test_timeout_kills_the_runtime(void **state)
{
	fixture *f = *state;
	json_object_set_new(f->runtime, "timeout_ms", json_integer(200));
	agent(f, "sleep 30 & sleep 30; echo finished > done.out");
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.started, 1);
	assert_int_equal(f->res.timed_out, 1);
	assert_int_equal(f->res.exit_code, -1);
	assert_string_equal(f->res.termination_reason, "timeout");
	assert_true(f->res.duration_ms >= 200 && f->res.duration_ms < 10000);
	char path[PATH_MAX];
	assert_int_equal(access(in(f->wt, "done.out", path), F_OK), -1);
}

static void test_cancel_stops_the_runtime(void **state)
{
	fixture *f = *state;
	volatile int cancel = 1;
	f->req.cancel = &cancel;
	agent(f, "sleep 30");
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.cancelled, 1);
	assert_string_equal(f->res.termination_reason, "cancelled");
}

static void test_on_started_gets_the_group_argv_and_prompt_hash(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX], want[65];
	agent(f, "echo $$ > pid.out");
	assert_int_equal(execute(f), 0);

	assert_int_equal(f->started_calls, 1);
	assert_true(f->pgid > 0);
	assert_int_equal(f->pgid, f->pid);
	char *pid = read_in(f->wt, "pid.out");
	assert_int_equal(atoi(pid), f->pid);
	json_t *want_argv = parse("[\"./agent.sh\"]");
	assert_true(json_equal(f->argv_seen, want_argv));

	char *prompt = tu_read_file(in(f->dir, "prompt.md", path));
	hive_sha256_hex(prompt, strlen(prompt), want);
	assert_string_equal(f->sha, want);
	json_decref(want_argv);
	free(pid), free(prompt);
}

static void test_tokens_in_argv_are_substituted(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX], *want;
	/* exec takes its whole argv in command (args are for presets) */
	json_object_set_new(f->runtime, "command",
	                    parse("[\"./agent.sh\", \"{prompt_file}\", \"--in={input_file}\", \"{worktree}\","
	                          " \"{result_file}\", \"{unknown}\", \"{prompt_file\"]"));
	agent(f, "printf '%s\\n' \"$@\" > args.out");
	assert_int_equal(execute(f), 0);

	char *got = read_in(f->wt, "args.out");
	char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	assert_true(asprintf(&want, "%s\n--in=%s\n%s\n%s\n{unknown}\n{prompt_file\n",
	                     in(f->dir, "prompt.md", p1), in(f->dir, "input.json", p2), f->wt,
	                     in(f->dir, "result.json", p3)) > 0);
	assert_string_equal(got, want);
	free(want);
	/* on_started hears the argv that really ran. */
	assert_string_equal(json_string_value(json_array_get(f->argv_seen, 1)),
	                    in(f->dir, "prompt.md", path));
	free(got);
}

/* ---- presets ---------------------------------------------------------------- */

static void assert_prepares(const char *runtime, const char *want)
{
	json_t *rt = parse(runtime);
	const hive_adapter *a = find(json_string_value(json_object_get(rt, "adapter")));
	char **argv = NULL;
	assert_non_null(a);
	if (a->prepare(a, rt, &argv) != 0)
		fail_msg("%s: %s", runtime, hive_error_last());
	char *got = joined(argv);
	if (strcmp(got, want) != 0)
		fail_msg("%s\n  gave: %s\n  want: %s", runtime, got, want);
	free(got);
	hive_strv_free(argv);
	json_decref(rt);
}

static void test_presets_build_their_argv(void **state)
{
	(void)state;
	assert_prepares("{\"adapter\": \"exec\", \"command\": [\"./agent.sh\", \"--fast\", \"x\"], \"args\": []}",
	                "./agent.sh --fast x");
	assert_prepares("{\"adapter\": \"claude-code\", \"command\": null, \"args\": [], \"model\": null}",
	                "claude -p --output-format json");
	assert_prepares("{\"adapter\": \"claude-code\", \"model\": \"sonnet\","
	                " \"args\": [\"--permission-mode\", \"acceptEdits\"]}",
	                "claude -p --output-format json --model sonnet --permission-mode acceptEdits");
	assert_prepares("{\"adapter\": \"claude-code\", \"command\": [\"./wrap.sh\", \"claude\"]}",
	                "./wrap.sh claude -p --output-format json");
	assert_prepares("{\"adapter\": \"codex\", \"model\": \"o3\", \"args\": [\"--full-auto\"]}",
	                "codex exec --model o3 --full-auto -");
	assert_prepares("{\"adapter\": \"codex\", \"command\": []}", "codex exec -");
	assert_prepares("{\"adapter\": \"opencode\", \"model\": \"anthropic/claude-sonnet-4\","
	                " \"args\": [\"--agent\", \"build\"]}",
	                "opencode run --model anthropic/claude-sonnet-4 --agent build");
	assert_prepares("{\"adapter\": \"aider\", \"model\": \"gpt-4o\", \"args\": [\"--no-pretty\"]}",
	                "aider --yes-always --no-auto-commits --message-file {prompt_file}"
	                " --model gpt-4o --no-pretty");
}

static void test_preset_runs_with_prompt_file_substituted(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX], *want;
	json_decref(f->runtime);
	f->runtime = parse("{\"adapter\": \"aider\", \"command\": [\"./agent.sh\"], \"args\": [],"
	                   " \"model\": \"m\", \"timeout_ms\": 20000, \"env\": {}}");
	f->req.runtime = f->runtime;
	agent(f, "printf '%s\\n' \"$@\" > args.out");
	assert_int_equal(execute(f), 0);
	assert_int_equal(f->res.exit_code, 0);

	char *got = read_in(f->wt, "args.out");
	assert_true(asprintf(&want, "--yes-always\n--no-auto-commits\n--message-file\n%s\n--model\nm\n",
	                     in(f->dir, "prompt.md", path)) > 0);
	assert_string_equal(got, want);
	free(got), free(want);
}

static void assert_rejected(const char *runtime, const char *field)
{
	json_t *rt = parse(runtime);
	const hive_adapter *a = find(json_string_value(json_object_get(rt, "adapter")));
	char **argv = NULL;
	assert_non_null(a);
	if (a->prepare(a, rt, &argv) != HIVE_EINVALID)
		fail_msg("%s was accepted", runtime);
	assert_null(argv);
	if (!strstr(hive_error_last(), field))
		fail_msg("%s: message \"%s\" does not name %s", runtime, hive_error_last(), field);
	json_decref(rt);
}

static void test_prepare_rejects_bad_runtimes(void **state)
{
	(void)state;
	assert_rejected("{\"adapter\": \"exec\", \"command\": null}", "runtime.command");
	assert_rejected("{\"adapter\": \"exec\", \"command\": []}", "runtime.command");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"\"]}", "runtime.command");
	assert_rejected("{\"adapter\": \"exec\", \"command\": \"./agent.sh\"}", "runtime.command");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"a\"], \"args\": [\"b\", 1]}", "runtime.args[1]");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"a\"], \"env\": {\"HIVE_TASK_ID\": \"x\"}}",
	                "HIVE_TASK_ID");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"a\"], \"env\": {\"1X\": \"x\"}}", "1X");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"a\"], \"env\": {\"X\": 1}}", "runtime.env.X");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"a\"], \"timeout_ms\": -1}", "runtime.timeout_ms");
	assert_rejected("{\"adapter\": \"exec\", \"command\": [\"a\"], \"timeout_ms\": \"10m\"}", "runtime.timeout_ms");
	assert_rejected("{\"adapter\": \"claude-code\", \"model\": \"\"}", "runtime.model");
	assert_rejected("{\"adapter\": \"codex\", \"args\": [true]}", "runtime.args[0]");
	assert_rejected("{\"adapter\": \"aider\", \"command\": [7]}", "runtime.command[0]");

	char **argv = NULL;
	assert_int_equal(find("exec")->prepare(find("exec"), NULL, &argv), HIVE_EINVALID);
	assert_int_equal(find("opencode")->prepare(find("opencode"), NULL, &argv), HIVE_EINVALID);
}

static void assert_describes(const char *runtime, const char *want)
{
	json_t *rt = parse(runtime);
	const hive_adapter *a = find(json_string_value(json_object_get(rt, "adapter")));
	hive_buf b = {0};
	a->describe(a, rt, &b);
	assert_string_equal(hive_buf_str(&b), want);
	hive_buf_dispose(&b);
	json_decref(rt);
}

static void test_describe_is_one_line(void **state)
{
	(void)state;
	assert_describes("{\"adapter\": \"exec\", \"command\": [\"./agent.sh\", \"--fast\"], \"timeout_ms\": 600000}",
	                 "exec: ./agent.sh --fast (timeout 10m)");
	assert_describes("{\"adapter\": \"exec\", \"command\": [\"./agent.sh\", \"it's here\"]}",
	                 "exec: ./agent.sh 'it'\\''s here' (no timeout)");
	assert_describes("{\"adapter\": \"claude-code\", \"model\": \"sonnet\", \"timeout_ms\": 90000}",
	                 "claude-code: claude -p --output-format json --model sonnet (timeout 1m30s)");
	assert_describes("{\"adapter\": \"exec\", \"command\": null}",
	                 "exec: invalid runtime (runtime.command: required for the exec adapter; set it"
	                 " here or in defaults.runtime)");
	assert_describes("{\"adapter\": \"aider\", \"model\": 3}",
	                 "aider: invalid runtime (runtime.model: must be a non-empty string (or null "
	                 "for the preset's default), got an integer)");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_registry_finds_every_adapter),
		T(test_registry_skips_other_versions),
		T(test_registry_of_ones_own),
		T(test_validate_through_the_port),
		T(test_validate_partial_runtime),
		T(test_exec_delivers_env_stdin_and_cwd),
		T(test_env_passthrough_copies_named_variables),
		T(test_relative_paths_become_absolute),
		T(test_first_attempt_prompt_has_no_retry_section),
		T(test_retry_prompt_ends_with_the_context),
		T(test_input_json_carries_the_attempt),
		T(test_prompt_quotes_awkward_text),
		T(test_valid_verdict_is_recorded),
		T(test_malformed_verdicts_are_marked),
		T(test_oversized_verdict_is_malformed),
		T(test_stale_result_file_is_not_a_verdict),
		T(test_symlinked_result_file_is_not_followed),
		T(test_missing_binary_is_not_started),
		T(test_invalid_runtime_is_not_started),
		T(test_exit_code_and_signal_are_reported),
		T(test_timeout_kills_the_runtime),
		T(test_cancel_stops_the_runtime),
		T(test_on_started_gets_the_group_argv_and_prompt_hash),
		T(test_tokens_in_argv_are_substituted),
		T(test_presets_build_their_argv),
		T(test_preset_runs_with_prompt_file_substituted),
		T(test_prepare_rejects_bad_runtimes),
		T(test_describe_is_one_line),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
