/*
 * exec.c - the `exec` runtime adapter (SPEC sections 6 and 7): run the
 * runtime's argv in the attempt's worktree, and the engine the presets share.
 *
 * One attempt, in order:
 *   1. self->prepare validates the runtime object and turns it into an argv
 *      template (for exec: command; a preset builds its own), so one execute
 *      serves every adapter built on exec;
 *   2. prompt.md and input.json are written (0600) to the attempt directory
 *      and a stale result.json is removed, so a verdict can only come from
 *      this attempt;
 *   3. "{prompt_file}", "{input_file}", "{result_file}" and "{worktree}" in
 *      any argv element become absolute paths: argv cannot expand $VARS;
 *   4. the program runs through core/proc.h in its own process group, with
 *      a scrubbed environment, prompt.md on stdin and stdout/stderr in files;
 *      on_started hears about it before the wait, so the caller can record
 *      the pgid durably (crash recovery) while the program runs;
 *   5. after exit, the optional verdict in result.json is read.
 */
#include "adapters/exec.h"

#include "adapters/prompt.h"
#include "core/duration.h"
#include "core/jsoncheck.h"
#include "core/proc.h"
#include "events/error.h"
#include "events/fs.h"
#include "events/json.h"
#include "events/sha256.h"
#include "events/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERDICT_MAX_BYTES (64 * 1024)
#define MALFORMED_MAX_CHARS 200
#define DEFAULT_GRACE_MS 2000L

/* ------------------------------------------------------------------ */
/* The runtime object: the one validator of its fields                */
/* ------------------------------------------------------------------ */

/* rt.key must be an array of NUL-free strings: `min` elements at least,
 * and with `program`, a non-empty first element. */
static int check_strings(const json_t *rt, const char *where, const char *key, size_t min,
                         int program)
{
	const json_t *v = json_object_get(rt, key);
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return hive_jsoncheck_fail(where, key, "must be an array of strings such as [\"./agent.sh\"], got %s",
		           hive_json_type_name(v));
	if (json_array_size(v) < min)
		return hive_jsoncheck_fail(where, key, "must not be empty; give the program and its arguments");
	json_array_foreach(v, i, item) {
		hive_buf at = {0};
		int rc = 0;
		hive_buf_printf(&at, "%s[%zu]", key, i);
		if (!json_is_string(item))
			rc = hive_jsoncheck_fail(where, hive_buf_str(&at), "must be a string, got %s", hive_json_type_name(item));
		else if (!hive_json_is_clean_string(item))
			rc = hive_jsoncheck_fail(where, hive_buf_str(&at), "must be a string without NUL bytes");
		else if (program && i == 0 && !json_string_value(item)[strspn(json_string_value(item), " \t\n\r\v\f")])
			rc = hive_jsoncheck_fail(where, hive_buf_str(&at), "must be a non-empty program name");
		hive_buf_dispose(&at);
		if (rc)
			return rc;
	}
	return 0;
}

/* A variable name of env or env_passthrough.  HIVE_* names are hive's:
 * letting a runtime override HIVE_RESULT_FILE would silently lose its
 * verdict. */
static int check_var_name(const char *where, const char *key, const char *name)
{
	if (!hive_env_name_valid(name))
		return hive_jsoncheck_fail_value(where, key, "invalid variable name", name,
		                "; use letters, digits and '_', not starting with a digit");
	if (strncmp(name, "HIVE_", 5) == 0)
		return hive_jsoncheck_fail_value(where, key, "variable", name,
		                " is reserved: names starting with HIVE_ are set by hive; rename it");
	return 0;
}

/* env: absent/null, or {NAME: "value"}. */
static int check_env(const json_t *rt, const char *where)
{
	const json_t *env = json_object_get(rt, "env");
	const char *name;
	json_t *value;

	if (!env || json_is_null(env))
		return 0;
	if (!json_is_object(env))
		return hive_jsoncheck_fail(where, "env", "must be an object of NAME: \"value\" strings, got %s",
		           hive_json_type_name(env));
	json_object_foreach((json_t *)env, name, value) {
		int rc = check_var_name(where, "env", name);
		if (rc)
			return rc;
		if (hive_json_is_clean_string(value))
			continue;
		/* the name passed check_var_name: safe to print as it is */
		hive_buf at = {0};
		hive_buf_printf(&at, "env.%s", name);
		rc = hive_jsoncheck_fail(where, hive_buf_str(&at), "must be a string without NUL bytes, got %s",
		         json_is_string(value) ? "one holding a NUL byte" : hive_json_type_name(value));
		hive_buf_dispose(&at);
		return rc;
	}
	return 0;
}

/* env_passthrough: absent/null, or an array of variable names. */
static int check_passthrough(const json_t *rt, const char *where)
{
	const json_t *v = json_object_get(rt, "env_passthrough");
	size_t i;
	json_t *name;

	if (!v || json_is_null(v))
		return 0;
	int rc = check_strings(rt, where, "env_passthrough", 0, 0);
	json_array_foreach(v, i, name) {
		if (rc)
			break;
		rc = check_var_name(where, "env_passthrough", json_string_value(name));
	}
	return rc;
}

/* Limits the process runner enforces.  grace_ms is not part of the flow
 * spec format; it exists so tests need not wait 2 s for a SIGKILL. */
typedef struct {
	long timeout_ms; /* 0 = none */
	long grace_ms;
	long stall_timeout_ms; /* 0 = none (runtime.stall_timeout) */
} run_limits;

static int read_ms(const json_t *rt, const char *where, const char *key, long dflt, long *out)
{
	const json_t *v = json_object_get(rt, key);
	json_int_t max = HIVE_DURATION_MAX_MS < LONG_MAX ? HIVE_DURATION_MAX_MS : LONG_MAX;

	if (!v || json_is_null(v)) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return hive_jsoncheck_fail(where, key, "must be a whole number of milliseconds from 0 to %lld",
		           (long long)max);
	*out = (long)json_integer_value(v);
	return 0;
}

static int read_limits(const json_t *rt, const char *where, run_limits *lim)
{
	int rc = read_ms(rt, where, "timeout_ms", 0, &lim->timeout_ms);
	if (!rc)
		rc = read_ms(rt, where, "stall_timeout_ms", 0, &lim->stall_timeout_ms);
	return rc ? rc : read_ms(rt, where, "grace_ms", DEFAULT_GRACE_MS, &lim->grace_ms);
}

int hive_exec_fields_check(const json_t *rt, const char *where)
{
	const json_t *cmd = json_object_get(rt, "command"), *args = json_object_get(rt, "args");
	run_limits lim;
	int rc = 0;

	if (cmd && !json_is_null(cmd))
		rc = check_strings(rt, where, "command", 1, 1);
	if (!rc && args && !json_is_null(args))
		rc = check_strings(rt, where, "args", 0, 0);
	if (!rc)
		rc = check_env(rt, where);
	if (!rc)
		rc = check_passthrough(rt, where);
	return rc ? rc : read_limits(rt, where, &lim);
}

/* exec runs command + args exactly as given, so the preset-only members
 * must be empty, and command must be there (unless a task will still
 * supply it). */
static int exec_validate(const hive_adapter *self, const json_t *rt, const char *where,
                         unsigned flags)
{
	(void)self; /* a vtable slot: exec has no state */
	const char *at = where ? where : "runtime";
	int rc;

	if (!json_is_object(rt))
		return hive_jsoncheck_fail(at, NULL, "must be an object such as {\"adapter\": \"exec\", \"command\": "
		           "[\"./agent.sh\"]}, got %s", hive_json_type_name(rt));
	if ((rc = hive_exec_fields_check(rt, at)))
		return rc;
	const json_t *cmd = json_object_get(rt, "command"), *model = json_object_get(rt, "model");
	if (!(flags & HIVE_ADAPTER_VALIDATE_PARTIAL) && (!cmd || json_is_null(cmd)))
		return hive_jsoncheck_fail(at, "command", "required for the exec adapter; set it here or in"
		           " defaults.runtime");
	if (model && !json_is_null(model))
		return hive_jsoncheck_fail(at, "model", "only preset adapters take a model; remove it (here or in"
		           " defaults.runtime)");
	if (json_array_size(json_object_get(rt, "args")) > 0)
		return hive_jsoncheck_fail(at, "args", "only preset adapters take extra args; for exec put them in"
		           " command (here or in defaults.runtime)");
	return 0;
}

static void append_strings(char **argv, size_t *n, const json_t *arr)
{
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item)
		argv[(*n)++] = hive_xstrdup(json_string_value(item));
}

char **hive_exec_argv(const json_t *rt)
{
	const json_t *cmd = json_object_get(rt, "command"), *args = json_object_get(rt, "args");
	size_t n = 0;
	char **argv = hive_xcalloc(json_array_size(cmd) + json_array_size(args) + 1, sizeof *argv);

	append_strings(argv, &n, cmd);
	append_strings(argv, &n, args); /* json_array_size(NULL or null) is 0 */
	argv[n] = NULL;
	return argv;
}

/* argv = command (args are empty for exec). */
static int exec_prepare(const hive_adapter *self, const json_t *rt, char ***argv_out)
{
	int rc = self->validate(self, rt, NULL, 0);
	if (rc)
		return rc;
	*argv_out = hive_exec_argv(rt);
	return 0;
}

/* ------------------------------------------------------------------ */
/* describe                                                           */
/* ------------------------------------------------------------------ */

/* A word as a shell would need it, for humans to read (and paste). */
static void put_word(hive_buf *out, const char *w)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "0123456789-_./=:,+@%{}";
	if (*w && strspn(w, safe) == strlen(w)) {
		hive_buf_puts(out, w);
		return;
	}
	hive_buf_putc(out, '\'');
	for (; *w; w++) {
		if (*w == '\'')
			hive_buf_puts(out, "'\\''"); /* close, escaped quote, reopen */
		else
			hive_buf_putc(out, *w);
	}
	hive_buf_putc(out, '\'');
}

/* "exec: ./agent.sh --fast (timeout 10m)".  The label is the runtime's
 * "adapter" member, so the presets can describe through this function. */
static void exec_describe(const hive_adapter *self, const json_t *rt, hive_buf *out)
{
	const char *label = hive_json_str(rt, "adapter");
	char **argv;
	run_limits lim;

	hive_buf_printf(out, "%s:", label ? label : "exec");
	if (exec_prepare(self, rt, &argv) != 0) {
		hive_buf_printf(out, " invalid runtime (%s)", hive_error_last());
		return;
	}
	for (char **a = argv; *a; a++) {
		hive_buf_putc(out, ' ');
		put_word(out, *a);
	}
	hive_strv_free(argv);
	read_limits(rt, "runtime", &lim); /* checked by exec_prepare */
	if (lim.timeout_ms) {
		char d[HIVE_DURATION_FMT_MAX];
		hive_duration_format(lim.timeout_ms, d, sizeof d);
		hive_buf_printf(out, " (timeout %s)", d);
	} else {
		hive_buf_puts(out, " (no timeout)");
	}
}

/* ------------------------------------------------------------------ */
/* The attempt's files                                                */
/* ------------------------------------------------------------------ */

/* Absolute paths: they go into HIVE_* variables and argv, which the program
 * reads from the worktree, not from hive's cwd. */
typedef struct {
	char *worktree, *dir, *prompt, *input, *result, *out, *err;
} attempt_paths;

static void paths_dispose(attempt_paths *p)
{
	char **all[] = {&p->worktree, &p->dir, &p->prompt, &p->input, &p->result, &p->out, &p->err};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		free(*all[i]);
		*all[i] = NULL;
	}
}

static int paths_init(const hive_exec_request *req, attempt_paths *p)
{
	if (!req->worktree || !*req->worktree || !req->attempt_dir || !*req->attempt_dir)
		return hive_error_set(HIVE_EINVALID, "cannot run an attempt without a worktree and an "
		                      "attempt directory");
	if (!(p->worktree = hive_fs_absolute(req->worktree)) || !(p->dir = hive_fs_absolute(req->attempt_dir)))
		return HIVE_ESYSTEM;
	p->prompt = hive_fs_join(p->dir, "prompt.md");
	p->input = hive_fs_join(p->dir, "input.json");
	p->result = hive_fs_join(p->dir, "result.json");
	p->out = hive_fs_join(p->dir, "stdout.log");
	p->err = hive_fs_join(p->dir, "stderr.log");
	return 0;
}

/* Create or replace path with data, readable by its owner only (the prompt
 * may quote private code).  fchmod because O_CREAT's mode does not apply to
 * a file that already exists. */
static int write_private(const char *path, const hive_buf *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t off = 0;

	if (fd < 0 || fchmod(fd, 0600) != 0)
		goto fail;
	while (off < data->len) {
		ssize_t n = write(fd, data->data + off, data->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:;
	int err = errno;
	if (fd >= 0)
		close(fd);
	return hive_error_set(HIVE_ESYSTEM, "cannot write \"%s\": %s; check that the attempt "
	                      "directory is writable", path, strerror(err));
}

static int files_write(const attempt_paths *p, const hive_buf *prompt, const hive_buf *input)
{
	int rc;
	if (mkdir(p->dir, 0700) != 0 && errno != EEXIST)
		return hive_error_set(HIVE_ESYSTEM, "cannot create attempt directory \"%s\": %s",
		                      p->dir, strerror(errno));
	if ((rc = write_private(p->prompt, prompt)) || (rc = write_private(p->input, input)))
		return rc;
	if (unlink(p->result) != 0 && errno != ENOENT)
		return hive_error_set(HIVE_ESYSTEM, "cannot remove the stale verdict \"%s\": %s",
		                      p->result, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ */
/* argv tokens and environment                                        */
/* ------------------------------------------------------------------ */

/* arg with every token replaced (new string).  Unknown "{...}" text is left
 * as it is: only these four names are tokens. */
static char *substitute(const char *arg, const attempt_paths *p)
{
	const struct { const char *token, *value; } map[] = {
		{"{prompt_file}", p->prompt}, {"{input_file}", p->input},
		{"{result_file}", p->result}, {"{worktree}", p->worktree},
	};
	hive_buf b = {0};

	while (*arg) {
		size_t i = 0, n = sizeof map / sizeof map[0];
		while (i < n && strncmp(arg, map[i].token, strlen(map[i].token)) != 0)
			i++;
		if (i < n) {
			hive_buf_puts(&b, map[i].value);
			arg += strlen(map[i].token);
		} else {
			hive_buf_putc(&b, *arg++);
		}
	}
	return hive_buf_detach(&b);
}

static void argv_substitute(char **argv, const attempt_paths *p)
{
	for (; *argv; argv++) {
		if (!strchr(*argv, '{'))
			continue;
		char *s = substitute(*argv, p);
		free(*argv);
		*argv = s;
	}
}

static char *env_entry(const char *name, const char *value)
{
	hive_buf b = {0};
	hive_buf_printf(&b, "%s=%s", name, value ? value : "");
	return hive_buf_detach(&b);
}

static char *env_entry_int(const char *name, int value)
{
	char num[24];
	snprintf(num, sizeof num, "%d", value);
	return env_entry(name, num);
}

/* The program's whole environment (new, hive_strv_free): the scrubbed
 * parent variables, then runtime.env_passthrough, then runtime.env, then
 * HIVE_* (last, so they win). */
static char **env_build(const hive_exec_request *req, const attempt_paths *p)
{
	const json_t *env = json_object_get(req->runtime, "env");
	const json_t *pass = json_object_get(req->runtime, "env_passthrough");
	char **extra = hive_xcalloc(json_object_size(env) + json_array_size(pass) + 9, sizeof *extra);
	size_t n = 0, i;
	const char *name;
	json_t *value;

	/* Passed-through variables come from hive's own environment now, so
	 * their values (API keys) are never written to the spec or the log. */
	json_array_foreach(pass, i, value) {
		const char *v = json_string_value(value) ? getenv(json_string_value(value)) : NULL;
		if (v)
			extra[n++] = env_entry(json_string_value(value), v);
	}
	json_object_foreach((json_t *)env, name, value)
		extra[n++] = env_entry(name, json_string_value(value));
	extra[n++] = env_entry("HIVE_TASK_ID", req->task_id);
	extra[n++] = env_entry("HIVE_ATTEMPT_ID", req->attempt_id);
	extra[n++] = env_entry_int("HIVE_ATTEMPT_NUMBER", req->attempt_number);
	extra[n++] = env_entry_int("HIVE_MAX_ATTEMPTS", req->max_attempts);
	extra[n++] = env_entry("HIVE_WORKTREE", p->worktree);
	extra[n++] = env_entry("HIVE_PROMPT_FILE", p->prompt);
	extra[n++] = env_entry("HIVE_INPUT_FILE", p->input);
	extra[n++] = env_entry("HIVE_RESULT_FILE", p->result);
	extra[n] = NULL;

	char **envp = hive_env_scrubbed(extra);
	hive_strv_free(extra);
	return envp;
}

/* ------------------------------------------------------------------ */
/* The verdict                                                        */
/* ------------------------------------------------------------------ */

/* {"malformed": reason} (new).  The reason goes into an event and a status
 * line, so it is kept to one line of printable ASCII of bounded length
 * (jansson's error text may quote the file's raw bytes). */
static json_t *malformed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *malformed(const char *fmt, ...)
{
	char reason[MALFORMED_MAX_CHARS + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	for (char *c = reason; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	return json_pack("{s:s}", "malformed", reason);
}

/* The accepted members of a verdict object, checked and normalized. */
static json_t *verdict_fields(const json_t *v)
{
	const json_t *summary = json_object_get(v, "summary");
	const json_t *retryable = json_object_get(v, "retryable");
	const json_t *after = json_object_get(v, "retry_after");
	int64_t after_ms = 0;

	if (summary && !json_is_string(summary))
		return malformed("\"summary\" must be a string, got %s", hive_json_type_name(summary));
	if (retryable && !json_is_boolean(retryable))
		return malformed("\"retryable\" must be true or false, got %s", hive_json_type_name(retryable));
	if (after && !json_is_string(after))
		return malformed("\"retry_after\" must be a duration string such as \"30s\", got %s",
		                 hive_json_type_name(after));
	if (after && hive_duration_parse(json_string_value(after), &after_ms) != 0)
		return malformed("\"retry_after\": %s", hive_error_last());

	json_t *out = json_object();
	if (summary)
		json_object_set_new(out, "summary", json_deep_copy(summary));
	if (retryable)
		json_object_set_new(out, "retryable", json_boolean(json_is_true(retryable)));
	if (after)
		json_object_set_new(out, "retry_after_ms", json_integer((json_int_t)after_ms));
	return out;
}

json_t *hive_exec_verdict_parse(const char *data, size_t len)
{
	json_error_t e;
	json_t *v = json_loadb(data, len, 0, &e);
	json_t *out;

	if (!v)
		return malformed("invalid JSON at line %d column %d: %s", e.line, e.column, e.text);
	out = json_is_object(v) ? verdict_fields(v)
	                        : malformed("expected a JSON object, got %s", hive_json_type_name(v));
	json_decref(v);
	return out;
}

/* Read at most VERDICT_MAX_BYTES + 1 bytes of fd into buf; -1 on error. */
static ssize_t read_capped(int fd, char *buf)
{
	size_t len = 0;
	while (len <= VERDICT_MAX_BYTES) {
		ssize_t n = read(fd, buf + len, VERDICT_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* The verdict at path (new reference), or NULL when there is none.  The
 * runtime controls the file, so: no following symlinks (it could point at
 * any file hive can read), no blocking on a FIFO, a size cap. */
static json_t *verdict_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	json_t *v;

	if (fd < 0 && errno == ENOENT)
		return NULL;
	if (fd < 0)
		return malformed("cannot open the result file: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return malformed("the result file is not a regular file");
	}
	char *buf = hive_xmalloc(VERDICT_MAX_BYTES + 1);
	ssize_t len = read_capped(fd, buf);
	int err = errno;
	close(fd);
	if (len < 0)
		v = malformed("cannot read the result file: %s", strerror(err));
	else if (len > VERDICT_MAX_BYTES)
		v = malformed("the result file is larger than %d KiB", VERDICT_MAX_BYTES / 1024);
	else
		v = hive_exec_verdict_parse(buf, (size_t)len);
	free(buf);
	return v;
}

/* ------------------------------------------------------------------ */
/* execute                                                            */
/* ------------------------------------------------------------------ */

static void set_reason(hive_exec_result *res, const char *reason)
{
	snprintf(res->termination_reason, sizeof res->termination_reason, "%s", reason);
}

static void result_not_started(hive_exec_result *res, const char *why)
{
	res->started = 0;
	res->exit_code = -1;
	set_reason(res, "not_started");
	res->error = hive_xstrdup(why);
}

/* Cancelled and timed out are decided by hive before the kill, so they
 * outrank the SIGTERM the program then dies of. */
static void result_finished(hive_exec_result *res, const hive_proc_result *r)
{
	res->exit_code = r->exit_code;
	res->signal = r->signal;
	res->timed_out = r->timed_out;
	res->cancelled = r->cancelled;
	res->duration_ms = r->duration_ms;
	set_reason(res, r->cancelled ? "cancelled" : r->stalled ? "stalled" : r->timed_out ? "timeout"
	                : r->signal ? "signal" : "exited");
}

/* Spawn, report, wait, read the verdict.  Returns hive_proc_wait's error
 * (the child could not be waited for), else 0. */
static int run(const hive_exec_request *req, const attempt_paths *p, char **argv,
               const char *prompt_sha, hive_exec_result *res)
{
	run_limits lim;
	hive_proc proc;
	hive_proc_result pr;
	hive_capture out, err;
	char **envp;
	int rc;

	/* hive creates the logs and reads the program's output from pipes it
	 * holds: nothing the program does to these paths can block hive or
	 * make it read another file. */
	if ((rc = hive_capture_init(&out, p->out, req->max_output_bytes)))
		return rc;
	if ((rc = hive_capture_init(&err, p->err, req->max_output_bytes))) {
		hive_capture_dispose(&out);
		return rc;
	}
	envp = env_build(req, p);
	read_limits(req->runtime, "runtime", &lim); /* checked by prepare */
	hive_proc_spec spec = {
		.argv = argv, .cwd = p->worktree, .envp = envp, .stdin_path = p->prompt,
		.stdout_capture = &out, .stderr_capture = &err,
		.timeout_ms = lim.timeout_ms, .grace_ms = lim.grace_ms, .cancel = req->cancel,
		.stall_timeout_ms = lim.stall_timeout_ms,
	};
	if (hive_proc_spawn(&spec, &proc) != 0) {
		result_not_started(res, hive_error_last());
		hive_strv_free(envp);
		hive_capture_dispose(&out);
		hive_capture_dispose(&err);
		return 0;
	}
	res->started = 1;
	if (req->on_started)
		req->on_started(req->on_started_ctx, proc.pid, proc.pgid,
		                (const char *const *)argv, prompt_sha);
	rc = hive_proc_wait(&proc, &spec, &pr);
	hive_strv_free(envp);
	result_finished(res, &pr);
	hive_capture_finish(&out, &res->stdout_kept);
	hive_capture_finish(&err, &res->stderr_kept);
	hive_capture_dispose(&out);
	hive_capture_dispose(&err);
	/* hive_proc_wait killed what was left of the group: nothing is still
	 * writing the file. */
	res->verdict = verdict_read(p->result);
	return rc;
}

static int exec_execute(const hive_adapter *self, const hive_exec_request *req,
                        hive_exec_result *res)
{
	attempt_paths p = {0};
	hive_buf prompt = {0}, input = {0};
	char **argv = NULL;
	char sha[65];
	int rc;

	memset(res, 0, sizeof *res);
	res->exit_code = -1;
	if ((rc = paths_init(req, &p)))
		goto out;
	res->stdout_path = hive_xstrdup(p.out);
	res->stderr_path = hive_xstrdup(p.err);
	hive_prompt_render(req, &prompt);
	hive_input_render(req, &input);
	if ((rc = files_write(&p, &prompt, &input)))
		goto out;
	if (self->prepare(self, req->runtime, &argv) != 0) {
		/* Normally caught at flow creation; here it is the runtime's
		 * fault, not hive's: report it as "could not start". */
		result_not_started(res, hive_error_last());
		goto out;
	}
	argv_substitute(argv, &p);
	hive_sha256_hex(hive_buf_str(&prompt), prompt.len, sha);
	rc = run(req, &p, argv, sha, res);
out:
	if (rc && !res->termination_reason[0])
		set_reason(res, "not_started");
	hive_strv_free(argv);
	hive_buf_dispose(&prompt);
	hive_buf_dispose(&input);
	paths_dispose(&p);
	return rc;
}

const hive_adapter hive_adapter_exec = {
	.version = HIVE_ADAPTER_VERSION,
	.name = "exec",
	.validate = exec_validate,
	.prepare = exec_prepare,
	.execute = exec_execute,
	.describe = exec_describe,
};
