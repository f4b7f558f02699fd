/*
 * adapter.h - the runtime adapter interface (SPEC section 7).
 *
 * An adapter turns a task's runtime description into a running program.
 * It is a versioned vtable, like libgit2's backends: a new adapter is one
 * file that fills a `hive_adapter` and one line in adapters/registry.c.
 * core/ sees only this header's types; the concrete adapters are linked
 * by the caller and reached through hive_adapter_find().
 */
#ifndef HIVE_ADAPTER_H
#define HIVE_ADAPTER_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "events/buf.h"

#define HIVE_ADAPTER_VERSION 1

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
	/* Called once the program runs, before waiting for it, so the caller
	 * can record pid/pgid durably (crash recovery). */
	void (*on_started)(void *ctx, pid_t pid, pid_t pgid, const char *const *argv,
			   const char *prompt_sha256);
	void *on_started_ctx;
} hive_exec_request;

typedef struct {
	int started;            /* 0: could not start (runtime_unavailable) */
	int exit_code;          /* -1 when killed by a signal or not started */
	int signal;
	int timed_out;
	int cancelled;
	int64_t duration_ms;
	char termination_reason[32]; /* "exited", "signal", "timeout", "cancelled", "not_started" */
	char *error;            /* when !started: why (new string) */
	json_t *verdict;        /* new reference: {summary?, retryable?, retry_after_ms?} or {malformed: "..."}; NULL = none */
	char *stdout_path, *stderr_path; /* new strings: captured output files */
} hive_exec_result;

void hive_exec_result_dispose(hive_exec_result *r);

typedef struct hive_adapter {
	unsigned version;       /* HIVE_ADAPTER_VERSION */
	const char *name;       /* "exec", "claude-code", ... */
	/* The argv this runtime would run (new NULL-terminated array, free with
	 * hive_argv_free).  HIVE_EINVALID when the runtime object is unusable. */
	int (*prepare)(const json_t *runtime, char ***argv_out);
	/* Run one attempt to completion (blocking).  Returns 0 when it ran or
	 * could not start (see res->started); an error code only for hive's
	 * own failures (cannot write the attempt dir). */
	int (*execute)(const struct hive_adapter *self, const hive_exec_request *req, hive_exec_result *res);
	/* One line for humans: "exec: ./agent.sh --fast (timeout 10m)". */
	void (*describe)(const json_t *runtime, hive_buf *out);
} hive_adapter;

/* The adapter registered under name, or NULL. */
const hive_adapter *hive_adapter_find(const char *name);
void hive_argv_free(char **argv);

#endif
