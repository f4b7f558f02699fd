/*
 * hive.h - the library API the command line calls.
 *
 * Every function that changes state validates its preconditions inside the
 * same LMDB write transaction that appends its events (so two processes can
 * never both do it), and returns 0 or a HIVE_E* code with hive_error_last()
 * set to one line a user can act on.  References (`*_ref`) are whatever a
 * user may type: an id, a unique id prefix, a name, a task key.
 */
#ifndef HIVE_HIVE_H
#define HIVE_HIVE_H

#include <jansson.h>
#include <stdint.h>

#include "events/store.h"

/* ---- projects, tasks, flows --------------------------------------------- */

/* repo must be a git repository with a commit; it is stored as an absolute path.
 * Errors: HIVE_EINVALID (bad name, not a repo), HIVE_ECONFLICT (name taken). */
int hive_project_create(hive_store *s, const char *name, const char *repo, const char *description,
			hive_id *out);

/* def: a normalized task definition (core/spec.h) whose depends_on holds
 * task references (borrowed).  Errors: HIVE_ENOTFOUND (project or dependency). */
int hive_task_create(hive_store *s, const char *project_ref, const json_t *def, hive_id *out);

/* From a normalized spec (borrowed; core/spec.h): creates the project when
 * given as {name, repo} and missing, every task, and the flow, in one
 * transaction. */
int hive_flow_create_spec(hive_store *s, const json_t *spec, hive_id *out);
/* From existing tasks (each in no other flow that has not ended). name may be NULL. */
int hive_flow_create_tasks(hive_store *s, const char *project_ref, const char *name,
			   const char *const *task_refs, size_t n, hive_id *out);

int hive_flow_start(hive_store *s, const char *flow_ref);
int hive_flow_pause(hive_store *s, const char *flow_ref);
int hive_flow_resume(hive_store *s, const char *flow_ref);
int hive_flow_abort(hive_store *s, const char *flow_ref, const char *reason);
int hive_task_abort(hive_store *s, const char *task_ref, const char *reason);

/* `hive task retry`: on failed/retry/escalated tasks.  Without reset_count it
 * refuses a spent budget (HIVE_ECONFLICT).  mode: NULL, "clean" or "continue". */
int hive_task_retry(hive_store *s, const char *task_ref, int reset_count, const char *mode);

/* ---- running ----------------------------------------------------------------- */

struct hive_adapter_registry; /* core/adapter.h */

typedef struct {
	int max_parallel;              /* >= 1 */
	/* the runtimes attempts may use (borrowed; front ends pass
	 * adapters/registry.h's hive_registry_builtin()) */
	const struct hive_adapter_registry *adapters;
	volatile int *stop;            /* optional: set by a signal handler to stop promptly */
	uint64_t seed;                 /* jitter seed; 0 = from the clock */
	void (*progress)(const char *line, void *ctx); /* optional narration */
	void *progress_ctx;
} hive_run_opts;

typedef struct {
	int attempts_started;
	int attempts_failed;   /* attempts that did not succeed in this tick/run */
	int tasks_changed;     /* tasks that moved without an attempt (a failed worktree merge) */
	char flow_state[16];   /* the flow's state afterwards */
	int64_t next_due_ms;   /* earliest time a waiting retry/circuit allows work; 0 = none */
} hive_run_result;

/* One scheduling step: recover attempts a dead runner left, make tasks
 * ready, start up to max_parallel attempts and run them to completion.
 * Takes the per-flow lock (HIVE_ECONFLICT naming the holder when held). */
int hive_flow_tick(hive_store *s, const char *flow_ref, const hive_run_opts *o, hive_run_result *r);
/* Tick until the flow is completed/failed/paused/aborted, sleeping until
 * the earliest due retry; returns early when *o->stop is set. */
int hive_flow_run(hive_store *s, const char *flow_ref, const hive_run_opts *o, hive_run_result *r);

/* Where attempt files and worktrees live under the data dir. */
char *hive_attempt_dir(const hive_store *s, const char *attempt_id);
char *hive_worktree_dir(const hive_store *s, const char *flow_name, const char *task_key);

#endif
