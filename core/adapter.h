/*
 * adapter.h - the runtime adapter port (SPEC section 7).
 *
 * An adapter turns a task's runtime object into a running program.  core
 * defines this port and calls it; adapters/ fills it, like libgit2's
 * git_odb_backend: the library owns the versioned vtable, each backend is
 * one file that defines a `hive_adapter`, and adapters/registry.c lists
 * them in one `hive_adapter_registry`.  core never names a concrete
 * adapter: a front end passes the registry in through the options of each
 * call that needs one (spec loading and task definitions to validate
 * runtimes, hive_run_opts to run them), so `hive flow run` and `hive serve`
 * see the same adapters.
 *
 * Versioning: an adapter sets `version` to the HIVE_ADAPTER_VERSION it was
 * written against.  The number changes whenever a slot is added, removed or
 * changes meaning; hive_adapter_registry_find never returns an adapter of
 * another version (its slots would be called with the wrong shape).
 *   1: name, prepare, execute, describe (prepare/describe without self)
 *   2: validate added; prepare and describe take self
 */
#ifndef HIVE_ADAPTER_H
#define HIVE_ADAPTER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/capture.h"
#include "events/buf.h"

#define HIVE_ADAPTER_VERSION 2

/* What an attempt is given (SPEC section 6, "Delivery"). All borrowed. */
typedef struct {
	const json_t *task;        /* {id, key, title, description, checks[]} */
	int attempt_number, max_attempts;
	const char *context;       /* rendered retry context; NULL/"" for a first attempt */
	const json_t *prior_attempts; /* array (may be empty) */
	const json_t *runtime;     /* the task's normalized runtime object */
	const char *task_id, *attempt_id;
	const char *worktree;      /* cwd of the runtime */
	const char *attempt_dir;   /* where prompt.md, input.json, stdout/stderr, result.json go */
	volatile int *cancel;      /* optional: set to stop the runtime (group kill) */
	size_t max_output_bytes;   /* kept of stdout and of stderr each; 0 = default (capture.h) */
	/* Called once the program runs, before waiting for it, so the caller
	 * can record pid/pgid durably (crash recovery). */
	void (*on_started)(void *ctx, pid_t pid, pid_t pgid, const char *const *argv,
			   const char *prompt_sha256);
	void *on_started_ctx;
	/* A person's guidance for this attempt ({note, actor, time,
	 * before_attempt}, core/steer.h), also rendered in the context; NULL
	 * = none.  Goes into input.json as "guidance". */
	const json_t *guidance;
} hive_exec_request;

typedef struct {
	int started;            /* 0: could not start (runtime_unavailable) */
	int exit_code;          /* -1 when killed by a signal or not started */
	int signal;
	int timed_out;
	int cancelled;
	int64_t duration_ms;
	char termination_reason[32]; /* "exited", "signal", "timeout", "stalled",
	                              * "cancelled", "not_started"; stalled = timed_out by
	                              * runtime.stall_timeout */
	char *error;            /* when !started: why (new string) */
	json_t *verdict;        /* new reference: {summary?, retryable?, retry_after_ms?} or {malformed: "..."}; NULL = none */
	char *stdout_path, *stderr_path; /* new strings: captured output files */
	/* What hive read from the program's stdout and stderr pipes (bounded,
	 * capture.h): the caller stores these, never the files at the paths
	 * above, which the program may have replaced. */
	hive_output stdout_kept, stderr_kept;
} hive_exec_result;

/* Release what *r holds and zero it, so disposing twice (or a result that
 * was never filled) is safe.  The caller of execute always calls this,
 * whatever execute returned.  r may be NULL. */
void hive_exec_result_dispose(hive_exec_result *r);

/* validate's flags. */
enum {
	/* The runtime is a default other runtimes are merged over (a spec's
	 * defaults.runtime): a field a task may still supply (exec's command)
	 * may be missing; what is present is checked as usual. */
	HIVE_ADAPTER_VALIDATE_PARTIAL = 1u << 0,
};

typedef struct hive_adapter {
	unsigned version;       /* HIVE_ADAPTER_VERSION */
	const char *name;       /* "exec", "claude-code", ...: runtime.adapter */
	/*
	 * Check a normalized runtime object (borrowed) before anything is
	 * written: the spec loader and task definitions call it, so a bad
	 * runtime is refused at flow/task creation, never mid-attempt.
	 * `where` names the runtime object in messages (NULL → "runtime"), e.g.
	 * "tasks[0].runtime"; flags: HIVE_ADAPTER_VALIDATE_*.
	 * Errors: HIVE_EINVALID with one line that names the field by its full
	 * path and says what to do ("tasks[0].runtime.args[1]: must be a
	 * string, got an integer").  Pure: no I/O.
	 */
	int (*validate)(const struct hive_adapter *self, const json_t *runtime, const char *where,
			unsigned flags);
	/*
	 * The argv this runtime would run: a new NULL-terminated array (free
	 * with hive_strv_free), tokens such as {prompt_file} still in it.
	 * Validates first (as validate with where NULL), so a runtime from
	 * anywhere is safe to pass.  Errors: HIVE_EINVALID as validate.
	 */
	int (*prepare)(const struct hive_adapter *self, const json_t *runtime, char ***argv_out);
	/*
	 * Run one attempt to completion (blocking).  Overwrites *res first.
	 * Returns 0 when the program ran or could not start (res->started ==
	 * 0, res->error says why); an error code only for hive's own failures
	 * (cannot write the attempt dir).  The caller disposes *res either way.
	 */
	int (*execute)(const struct hive_adapter *self, const hive_exec_request *req, hive_exec_result *res);
	/* Append one line for humans: "exec: ./agent.sh --fast (timeout 10m)";
	 * an invalid runtime is described as such, never refused. */
	void (*describe)(const struct hive_adapter *self, const json_t *runtime, hive_buf *out);
} hive_adapter;

/* The adapters a front end offers: `n` borrowed pointers to adapters with
 * static lifetime.  Filled by adapters/registry.c (hive_registry_builtin);
 * a test may build its own. */
typedef struct hive_adapter_registry {
	const hive_adapter *const *adapters;
	size_t n;
} hive_adapter_registry;

/* The adapter registered under name, or NULL (also for a NULL name, and
 * for an adapter of another HIVE_ADAPTER_VERSION).  r must not be NULL. */
const hive_adapter *hive_adapter_registry_find(const hive_adapter_registry *r, const char *name);

/* Append the names of r's adapters, "exec, claude-code, ...", to out. */
void hive_adapter_registry_names(const hive_adapter_registry *r, hive_buf *out);

/*
 * Validate a runtime object (borrowed) through the port: find the adapter
 * its "adapter" member names in r, then call that adapter's validate.
 * where/flags as validate.  *out (may be NULL) = the adapter, borrowed.
 * Errors: HIVE_EINVALID, e.g.
 *   tasks[0].runtime.adapter: unknown adapter "gpt"; use one of exec, codex
 * or whatever the adapter's validate says.
 */
int hive_adapter_validate(const hive_adapter_registry *r, const json_t *runtime, const char *where,
			  unsigned flags, const hive_adapter **out);

/* Free a NULL-terminated array of strings (prepare's argv).  NULL is fine. */

#endif
