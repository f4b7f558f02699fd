/*
 * hive.h - the library API every front end calls (the command line today,
 * `hive serve` later).  Front ends include this header and the bottom-layer
 * helpers (events/error.h, events/buf.h); never the store's keys, the
 * projections, resolve, spec, schedule or state internals.
 *
 * Every function that changes state validates its preconditions inside the
 * same LMDB write transaction that appends its events (so two processes can
 * never both do it), and returns 0 or a HIVE_E* code with hive_error_last()
 * set to one line a user can act on.  References (`*_ref`) are whatever a
 * user may type: an id, a unique id prefix, a name, a task key.
 *
 * Every query (the "reading" section) runs in ONE read transaction, so what
 * it returns is one consistent snapshot even while a runner commits.
 */
#ifndef HIVE_HIVE_H
#define HIVE_HIVE_H

#include <jansson.h>
#include <stdint.h>

#include "core/upgrade.h"
#include "events/store.h"

/* ---- input documents (nothing is written) ----------------------------------- */

struct hive_adapter_registry; /* core/adapter.h */

/* What the calls that read a spec or a task definition need from their
 * caller (a front end).  Zero-initialise: new fields are added at the end. */
typedef struct {
	/* The adapters a runtime may name; each runtime is validated by its
	 * adapter.  Borrowed; required (front ends pass adapters/registry.h's
	 * hive_registry_builtin()). */
	const struct hive_adapter_registry *adapters;
} hive_spec_opts;

/* Load and validate the flow spec file at path (SPEC section 5) whole,
 * before anything is written.  *out = new reference to the
 * normalized spec, for hive_flow_create_spec.  Errors: HIVE_ENOTFOUND
 * (cannot read the file), HIVE_EINVALID (the message names the field). */
int hive_spec_file_load(const char *path, const hive_spec_opts *o, json_t **out);

/* Validate one task definition written as in a spec's "tasks" array (raw
 * borrowed).  *out = new reference to the normalized
 * definition, for hive_task_create.  Errors: HIVE_EINVALID. */
int hive_task_def_load(const json_t *raw, const hive_spec_opts *o, json_t **out);

/* ---- who acts: every command a person gives (SPEC section 12) ------------
 *
 * Every event such a call appends carries "actor" (core/emit.h): the
 * front end resolves who acts (the command line: --actor, else
 * $HIVE_ACTOR, else the login name; hive serve: a body field) and passes
 * it in.  An actor is 1..64 bytes of printable UTF-8 (HIVE_EINVALID
 * otherwise, nothing written); NULL records none.
 */

/* Who acts and why.  Zero-initialise: new fields are added at the end. */
typedef struct {
	const char *actor;   /* NULL = not recorded */
	const char *reason;  /* why (abort); NULL = the command's default */
} hive_act_opts;

/* ---- projects, tasks, flows --------------------------------------------- */

/* repo must be a git repository with a commit; it is stored as an absolute path.
 * Errors: HIVE_EINVALID (bad name, not a repo), HIVE_ECONFLICT (name taken). */
int hive_project_create(hive_store *s, const char *name, const char *repo, const char *description,
			const hive_act_opts *who, hive_id *out);

/* def: a normalized task definition (hive_task_def_load) whose depends_on holds
 * task references (borrowed).  Errors: HIVE_ENOTFOUND (project or dependency). */
int hive_task_create(hive_store *s, const char *project_ref, const json_t *def, const hive_act_opts *who,
		     hive_id *out);

/* From a normalized spec (borrowed; hive_spec_file_load): creates the project when
 * given as {name, repo} and missing, every task, and the flow, in one
 * transaction. */
int hive_flow_create_spec(hive_store *s, const json_t *spec, const hive_act_opts *who, hive_id *out);
/* `flow create --dry-run`: every check hive_flow_create_spec makes (the
 * name free, the repo, the project's repo, the tasks), in the same write
 * transaction, which is then aborted: nothing is written.  s may be NULL
 * when there is no store yet (only the store-free checks run).
 * *project_new = 1 when the spec would create its project.  Errors: those
 * of hive_flow_create_spec. */
int hive_flow_create_spec_check(hive_store *s, const json_t *spec, int *project_new);
/* From existing tasks (each in no other flow that has not ended). name may be NULL. */
int hive_flow_create_tasks(hive_store *s, const char *project_ref, const char *name,
			   const char *const *task_refs, size_t n, const hive_act_opts *who, hive_id *out);


/* who may be NULL. */
int hive_flow_start(hive_store *s, const char *flow_ref, const hive_act_opts *who);
int hive_flow_pause(hive_store *s, const char *flow_ref, const hive_act_opts *who);
int hive_flow_resume(hive_store *s, const char *flow_ref, const hive_act_opts *who);
int hive_flow_abort(hive_store *s, const char *flow_ref, const hive_act_opts *who);
int hive_task_abort(hive_store *s, const char *task_ref, const hive_act_opts *who);

/* What `hive task retry` is given.  Zero-initialise. */
typedef struct {
	const char *actor;
	int reset_count;     /* give the task a fresh budget */
	const char *mode;    /* NULL, "clean", "continue" or "pristine" */
	/* Guidance for the next attempt (NULL = keep the task's current one):
	 * rendered at the top of its retry context under "Guidance from a
	 * person" and in input.json, and kept for later attempts until a new
	 * note replaces it.  UTF-8, not blank, at most 4096 bytes
	 * (HIVE_EINVALID otherwise, nothing written). */
	const char *note;
} hive_task_retry_opts;

/*
 * A note's rules (hive_task_retry checks them too): UTF-8 text without
 * control characters other than line breaks and tabs, not blank, at most
 * 4096 bytes.  `what` names the note in the message ("--note-file
 * notes.md", "the note").  Errors: HIVE_EINVALID ("<what> is empty; ...").
 */
int hive_steer_note_check(const char *note, const char *what);

/* `hive task retry`: on failed/retry/escalated tasks.  Without reset_count it
 * refuses a spent budget (HIVE_ECONFLICT).  o may be NULL (no options). */
int hive_task_retry(hive_store *s, const char *task_ref, const hive_task_retry_opts *o);

/* What `hive task edit` changes; NULL / 0 = leave as it is.  Zero-initialise. */
typedef struct {
	const char *actor;
	const char *reason;         /* why, recorded and shown in the next context */
	const char *title, *description;
	int clear_checks;           /* drop every check first */
	const char *const *remove_checks; /* check names to remove (each must exist) */
	size_t n_remove_checks;
	/* Checks written as in a spec ({name, command, required?, timeout?}),
	 * borrowed: one whose name the task has replaces it in place (fields
	 * it leaves out keep their value), any other is added at the end. */
	const json_t *set_checks;
	/* A runtime object as in a spec, merged field by field over the
	 * task's runtime (e.g. {"command": ["/bin/sh", "-c", "./agent.sh"]}). */
	const json_t *runtime;
	/* A retry policy as in a spec (SPEC section 4), merged over the
	 * task's policy: {"max_attempts": 5} changes only that. */
	const json_t *retry;
	/* validates the merged runtime (borrowed; required when runtime is set) */
	const struct hive_adapter_registry *adapters;
} hive_task_edit_opts;

/*
 * `hive task edit`: change a task for its future attempts.  The result is
 * validated whole as a task definition (the spec's rules, the runtime by
 * its adapter) before anything is written; task_edited records every
 * changed field's before and after, and the next attempt's retry context
 * says what changed (steer.h).  Not while an attempt runs, nor once the
 * task succeeded.  Errors: HIVE_EINVALID (a bad value, named; nothing to
 * change), HIVE_ENOTFOUND (task; a check to remove), HIVE_ECONFLICT (state).
 */
int hive_task_edit(hive_store *s, const char *task_ref, const hive_task_edit_opts *o);

/* What `hive task accept` is given.  Zero-initialise. */
typedef struct {
	const char *actor;
	const char *reason;  /* required: why this attempt is good enough */
	int attempt;         /* the task's attempt number; 0 = the latest with a checkpoint commit */
} hive_task_accept_opts;

/* What hive_task_accept did. */
typedef struct {
	int attempt;          /* the attempt number accepted */
	char commit[41];      /* its checkpoint commit, now the task's result */
	char branch[512];     /* the result branch, moved to commit */
	int flow_resumed;     /* the task's flow had failed and runs again */
} hive_task_accept_result;

/*
 * `hive task accept`: a person takes a completed attempt's checkpoint
 * commit as the result of a failed, escalated or retry task, which becomes
 * success (task_accepted, then task_state_changed, in one transaction).
 * A failed flow resumes and its dependants become ready (they run on the
 * next flow run); the result branch hive/<flow>/<key> is moved to the
 * commit and the task's worktree is released, as for any success.
 * A task in `retry` is refused while a runner holds its flow (it may be
 * starting that task's next attempt).  out may be NULL.
 * Errors: HIVE_EINVALID (no reason, bad actor), HIVE_ENOTFOUND (task, or
 * no such attempt in its current flow), HIVE_ECONFLICT (wrong state, the
 * attempt has no checkpoint commit, flow aborted or locked),
 * HIVE_ESYSTEM (storage; or git after the acceptance was recorded: the
 * message says the task is accepted and what is left to do).
 */
int hive_task_accept(hive_store *s, const char *task_ref, const hive_task_accept_opts *o,
		     hive_task_accept_result *out);

/* ---- getting results out, moving bases (core/land.c, docs/lifecycle.md) ------ */

/*
 * `hive flow land`: merge the results of the flow's leaf tasks (those no
 * other task of the flow depends on) on top of its base commit into the
 * branch hive/<flow>/landed, in memory (the user's checkout and every
 * other branch are untouched), and record flow_landed.  A leaf's result is
 * its result commit (else its last checkpoint; a leaf with neither adds
 * nothing).  Results built on each other are not merged again, so one leaf
 * lands as its own result commit.  The branch is only ever created: landing
 * again while it points at the landed commit changes nothing
 * (already_landed); a branch hive did not put there (or that was moved
 * since) is refused, never moved.
 * *out = new {"flow", "branch", "commit", "base_commit", "repo",
 * "leaves": [{task_id, key, commit}], "already_landed"}.  who (may be NULL):
 * its actor goes on flow_landed (a bad one: HIVE_EINVALID, nothing done).
 * Errors: HIVE_ENOTFOUND/HIVE_EAMBIGUOUS (flow), HIVE_ECONFLICT (the flow
 * is not completed; the results conflict -- the message lists the paths;
 * the branch exists elsewhere or is checked out; a task keyed "landed"),
 * HIVE_ESYSTEM.
 * Nothing is written when it is refused.
 */
int hive_flow_land(hive_store *s, const char *flow_ref, const hive_act_opts *who, json_t **out);

/*
 * `hive task retry --rebase`: hive_task_retry (o as there: note, actor,
 * reset_count, mode), and in the same write
 * transaction the task's base moves to the project repository's current
 * HEAD -- merged with its dependencies' results when it has any -- with a
 * task_rebased event {from, to, head, dependencies}; its next attempt
 * starts there whatever its retry mode, and its retry context says the base
 * moved.  Takes the flow's runner lock (no runner may pick the task while
 * its base moves).
 * *out (may be NULL) = new {"flow", "head", "tasks": [{task_id, key, from,
 * to, moved, retried, note?}]}.
 * Errors: those of hive_task_retry; HIVE_ECONFLICT when HEAD and the
 * dependencies' results conflict (the message lists the paths) or the
 * flow is locked.  Nothing is written when it is refused.
 */
int hive_task_retry_rebase(hive_store *s, const char *task_ref, const hive_task_retry_opts *o, json_t **out);

/*
 * `hive flow rebase`: for every task of the flow that has not succeeded,
 * what hive_task_retry_rebase does -- failed, retry and escalated tasks
 * are also sent back to pending (refused, like task retry, when a budget
 * is spent and reset_count is 0); pending, ready or running tasks only get
 * their new base; a task whose dependencies have not all succeeded is
 * left to take its base from their results, an aborted task is left
 * alone -- and the flow's base commit moves to HEAD (flow_rebased {from,
 * to, tasks}).  All in one write transaction, under the flow's lock.
 * Only a running, paused or failed flow can be rebased.  *out as above;
 * who (may be NULL): its actor goes on every event.
 * Errors: HIVE_ENOTFOUND/HIVE_EAMBIGUOUS (flow), HIVE_ECONFLICT (flow
 * state, locked, a conflict, a spent budget), HIVE_ESYSTEM.
 */
int hive_flow_rebase(hive_store *s, const char *flow_ref, int reset_count, const hive_act_opts *who,
		     json_t **out);

/* ---- housekeeping (core/lifecycle.c, docs/lifecycle.md) ------------------------ */

/* What hive_gc removed. */
typedef struct {
	int flows;          /* ended flows that had something left */
	int worktrees;
	int attempt_dirs;
	int branches;
	uint64_t bytes;     /* disk space of the removed worktrees and attempt dirs */
	/* one line per branch kept because someone moved it since hive left it
	 * ("<branch> moved since hive left it (now at <commit>): not deleted");
	 * NULL when none; new: release it with hive_gc_result_dispose */
	char **skipped;
} hive_gc_result;

/*
 * `hive gc`: for every ended flow (completed or aborted) whose name no flow
 * that has not ended holds now, remove its remaining worktrees and its
 * attempts' directories (<data dir>/attempts/<id>: the runtime's exchange
 * files; everything hive recorded is in the log), and with branches != 0
 * its result branches hive/<flow>/<key> and hive/<flow>/landed (a branch
 * checked out somewhere is kept and reported; a branch that no longer
 * points where hive left it -- the task's result, the landed commit -- is
 * kept, listed in out->skipped, and no event is written for it).  A flow
 * whose name a newer flow took has no branches left to delete: they are the
 * newer flow's.  Failed, paused and running flows are never touched.
 * Each removal is an event (worktree_released, branch_deleted,
 * flow_collected).  Idempotent: a second call finds nothing.
 * Errors: storage errors; the first git or file system error (the rest is
 * still collected and recorded, *out counts it).
 */
int hive_gc(hive_store *s, int branches, const hive_act_opts *who, hive_gc_result *out);

/* Free what hive_gc put in *r (skipped); NULL-safe, r stays usable. */
void hive_gc_result_dispose(hive_gc_result *r);

/* ---- running ----------------------------------------------------------------- */

/* What a runner is doing, for a front end's live display (flow run's
 * progress): the three moments a person waits on, as data.  Strings are
 * borrowed for the call. */
typedef enum {
	HIVE_RUN_NOTE_STARTED, /* an attempt started */
	HIVE_RUN_NOTE_ENDED,   /* an attempt ended (outcome; error when it stopped without one) */
	HIVE_RUN_NOTE_WAITING, /* nothing can start before due_ms: a retry's backoff or an open circuit */
} hive_run_note_kind;

typedef struct {
	hive_run_note_kind kind;
	const char *line;          /* the narration line progress() gets otherwise (absolute times none) */
	const char *task_key;      /* STARTED, ENDED */
	const char *attempt_id;    /* STARTED, ENDED: for hive_attempt_show (its current step, its checks) */
	int number, max_attempts;  /* STARTED, ENDED */
	const char *outcome;       /* ENDED: the outcome's name; NULL when it stopped without one */
	const char *error;         /* ENDED: hive's own failure, or NULL */
	int64_t due_ms;            /* WAITING: when something can start (epoch ms) */
	const char *waiting_for;   /* WAITING: "retry" or "circuit" */
	const char *what;          /* WAITING: the task's key (retry) or the runtime (circuit) */
	int64_t since_ms;          /* WAITING circuit: when it opened; else 0 */
} hive_run_note;

typedef struct {
	int max_parallel;              /* >= 1 */
	/* the runtimes attempts may use (borrowed; front ends pass
	 * adapters/registry.h's hive_registry_builtin()) */
	const struct hive_adapter_registry *adapters;
	volatile int *stop;            /* optional: set by a signal handler to stop promptly */
	uint64_t seed;                 /* jitter seed; 0 = from the clock */
	void (*progress)(const char *line, void *ctx); /* optional narration */
	void *progress_ctx;
	/* optional: the notes above, with progress_ctx, on the runner's own
	 * thread (never two at once); a note's line then does not also go to
	 * progress.  Every other line still does. */
	void (*on_note)(const hive_run_note *n, void *ctx);
} hive_run_opts;

typedef struct {
	int attempts_started;
	int attempts_failed;   /* attempts that did not succeed in this tick/run */
	int tasks_changed;     /* tasks that moved without an attempt (a failed worktree merge) */
	char flow_state[16];   /* the flow's state afterwards */
	int64_t next_due_ms;   /* earliest time a waiting retry/circuit allows work; 0 = none */
	const char *due_for;   /* what next_due_ms waits for: "retry" or "circuit" (static), or NULL */
	char due_what[80];     /* ... the task's key or the runtime */
	int64_t due_since_ms;  /* ... an open circuit: when it opened */
} hive_run_result;

/* One scheduling step: recover attempts a dead runner left, make tasks
 * ready, start up to max_parallel attempts and run them to completion.
 * Takes the per-flow lock (HIVE_ECONFLICT naming the holder when held). */
int hive_flow_tick(hive_store *s, const char *flow_ref, const hive_run_opts *o, hive_run_result *r);
/* Tick until the flow is completed/failed/paused/aborted, sleeping until
 * the earliest due retry; returns early when *o->stop is set. */
int hive_flow_run(hive_store *s, const char *flow_ref, const hive_run_opts *o, hive_run_result *r);

/* ---- reading ------------------------------------------------------------------
 *
 * Documents are the projections (fields: docs/events.md).  *out is a new
 * reference, untouched on error.  Errors: HIVE_ENOTFOUND, HIVE_EAMBIGUOUS
 * or HIVE_EINVALID for a reference (the message names it), HIVE_ESYSTEM
 * for storage errors.
 */

/* Every project, in id (= creation) order: a new array. */
int hive_project_list(hive_store *s, json_t **out);
int hive_project_show(hive_store *s, const char *project_ref, json_t **out);

/* Every flow (of project_ref, when not NULL), in id order. */
int hive_flow_list(hive_store *s, const char *project_ref, json_t **out);
int hive_flow_show(hive_store *s, const char *flow_ref, json_t **out);

/*
 * A flow and its tasks as one snapshot:
 *   {"flow": <flow>, "tasks": [<task> + {"note": "..."}, ...]}
 * in the flow's task order.  The note says why a task is where it is: the
 * reason it is blocked (only while a dependency is still failed, escalated,
 * aborted or blocked itself), "waiting for its dependencies", when its
 * next retry is due, its state's reason, and, for a ready or retry task,
 * until when its runtime's open circuit holds it back.
 */
int hive_flow_status(hive_store *s, const char *flow_ref, json_t **out);
/* The flow's tasks counted by state: {"success": 998, "failed": 2}, the
 * states in the order they first appear in the flow's task order (a new
 * object).  What flow run's summary needs, without the documents. */
int hive_flow_task_counts(hive_store *s, const char *flow_ref, json_t **out);

/* Filters of hive_task_list: references, NULL = any.  New fields are added
 * at the end; zero-initialise. */
typedef struct {
	const char *project_ref, *flow_ref;
	const char *state;  /* a task state name ("failed"); HIVE_EINVALID for an unknown one */
} hive_task_filter;

/* The tasks that match f (NULL = every task), in id order.  Each document
 * also carries "flow_name" (the name of its flow_id), as an attempt's (in
 * hive_attempt_list and _show) carries "task_key" and "flow_name". */
int hive_task_list(hive_store *s, const hive_task_filter *f, json_t **out);
int hive_task_show(hive_store *s, const char *task_ref, json_t **out);

typedef struct {
	const char *task_ref, *flow_ref;
} hive_attempt_filter;

/* The attempts that match f (NULL = every attempt), by task id then
 * attempt number.  With a task or flow filter only that task's or flow's
 * events are read (the log's indexes), never every attempt in the store. */
int hive_attempt_list(hive_store *s, const hive_attempt_filter *f, json_t **out);
int hive_attempt_show(hive_store *s, const char *attempt_ref, json_t **out);

/* Bytes of a stored blob: data is a new NUL-terminated copy, NULL when the
 * attempt has no such blob. */
typedef struct {
	char *data;
	size_t len;
} hive_bytes;

/* What hive_attempt_inspect reads besides the document. */
enum { HIVE_INSPECT_DIFF = 1, HIVE_INSPECT_OUTPUT = 2 };

/* An attempt with the blobs asked for; caller-owned, release with
 * hive_attempt_detail_dispose.  Its retry context is the document's
 * "context" member (absent for a first attempt). */
typedef struct {
	json_t *attempt;            /* the attempt document (new reference) */
	hive_bytes diff;            /* HIVE_INSPECT_DIFF: the unified diff of its changes */
	hive_bytes runtime_stdout;  /* HIVE_INSPECT_OUTPUT: full runtime output ... */
	hive_bytes runtime_stderr;
	hive_bytes *check_output;   /* ... and one per element of attempt["checks"] */
	size_t n_checks;
} hive_attempt_detail;

int hive_attempt_inspect(hive_store *s, const char *attempt_ref, unsigned what, hive_attempt_detail *out);
void hive_attempt_detail_dispose(hive_attempt_detail *d);

/* A filtered read of the log: references and type names, NULL/0 = any. */
typedef struct {
	const char *flow_ref, *task_ref, *attempt_ref;
	const char *const *types;   /* n_types names: any of them */
	size_t n_types;
	uint64_t after;             /* exclusive */
	uint64_t limit;             /* 0 = unlimited */
	uint64_t tail;              /* 0 = all; else only the last N matches */
} hive_events_query;

/*
 * Call fn for each matching event in seq order with its stored bytes
 * (borrowed, valid during the call).  fn returns 0 to go on; a positive
 * value stops quietly (0 is returned), a HIVE_E* code stops and is
 * returned.  *last_seq (may be NULL) = the last seq of the snapshot: every
 * event up to it has been considered, so a follower waits for later ones.
 * A type must be in the catalog or already in the log (HIVE_EINVALID).
 */
int hive_events_list(hive_store *s, const hive_events_query *q, hive_event_fn fn, void *ctx,
		     uint64_t *last_seq);

/*
 * `hive events verify`: the log's integrity (hive_txn_verify) and the
 * stored projections against a replay of the whole log, in one snapshot
 * and one pass over the log (hive_projection_verify).
 * Each problem is reported (one line) and counted.  Returns 0 when it
 * could read everything, whatever it found.
 */
int hive_events_verify(hive_store *s, void (*report)(const char *msg, void *ctx), void *ctx,
		       uint64_t *events, uint64_t *problems);

/* ---- documents (core/doc.c) ------------------------------------------------------
 *
 * What front ends print: every `--json` output of the CLI and every JSON
 * body of `hive serve`, so both emit the same bytes (json_dumps with
 * JSON_COMPACT | JSON_PRESERVE_ORDER).  A document is an object whose
 * first member is "schema": HIVE_DOC_SCHEMA.  Lists are summaries
 * {"schema": 2, "projects"|"flows"|"tasks"|"attempts": [...]}; a show
 * document is the whole object plus "schema".  Field names are stable
 * (docs/json.md).  Events are never documents: they are printed byte for
 * byte as stored.  *out: a new reference; errors as the query's.
 */
#define HIVE_DOC_SCHEMA 2

int hive_doc_project_list(hive_store *s, json_t **out);
int hive_doc_project_show(hive_store *s, const char *project_ref, json_t **out);
int hive_doc_flow_list(hive_store *s, const char *project_ref, json_t **out);
int hive_doc_flow_show(hive_store *s, const char *flow_ref, json_t **out);
int hive_doc_flow_status(hive_store *s, const char *flow_ref, json_t **out);
int hive_doc_task_list(hive_store *s, const hive_task_filter *f, json_t **out);
int hive_doc_task_show(hive_store *s, const char *task_ref, json_t **out);
int hive_doc_attempt_list(hive_store *s, const hive_attempt_filter *f, json_t **out);
/* The whole attempt (= `attempt inspect --json`). */
int hive_doc_attempt_show(hive_store *s, const char *attempt_ref, json_t **out);
/* Steals doc; returns a new object: "schema" first, then doc's members
 * (an existing "schema" member is replaced).  A non-object is returned as is. */
json_t *hive_doc_wrap(json_t *doc);
/* {"schema": 2, "error": {"code": hive_error_name(rc), "message": message}}: new. */
json_t *hive_doc_error(int rc, const char *message);

/* Id display (SPEC section 12): the shortest prefix of id, at least 13
 * characters, that no other object of its kind shares in the store, so the
 * prefix printed resolves to it.  kind: "project", "flow", "task" or
 * "attempt".  out: at least HIVE_ID_LEN + 1 bytes; the whole id on error
 * (or when it is not a stored id). */
void hive_id_display(hive_store *s, const char *kind, const char *id, char *out);
/* The full id a reference names now (SPEC section 1), into out (at least
 * HIVE_ID_LEN + 1 bytes): for a front end that must keep following the
 * same object even if its name or key is reused later (hive serve's event
 * filters).  kind: "flow", "task" or "attempt".  Errors: HIVE_ENOTFOUND,
 * HIVE_EAMBIGUOUS, HIVE_EINVALID (as resolving does; a bad kind too). */
int hive_ref_resolve(hive_store *s, const char *kind, const char *ref, char *out);

/* ---- helpers for front ends ------------------------------------------------- */

/* git init path; stage every file; commit it on HEAD with message (how
 * `hive demo` makes its throwaway repository; core/gitinit.c).
 * Errors: HIVE_ESYSTEM with the path and libgit2's message. */
int hive_git_init_commit(const char *path, const char *message);

/* Where attempt files and worktrees live under the data dir. */
char *hive_attempt_dir(const hive_store *s, const char *attempt_id);
char *hive_worktree_dir(const hive_store *s, const char *flow_name, const char *task_key);

/* ---- backups ------------------------------------------------------------------ */

typedef struct {
	uint64_t events; /* the last seq in the copy */
	uint64_t bytes;  /* size of the copy's data.mdb */
} hive_backup_info;

/*
 * `hive backup DIR`: write a consistent, compacted copy of the store into
 * DIR, which must not exist (it is created 0700; its parent must) or be an
 * empty directory, while runners in other processes go on writing.  The
 * copy is one snapshot: every event committed before it began, none after.
 * DIR then holds data.mdb alone (0600, fsynced): hive's whole state (see
 * core/backup.c for why attempts/, worktrees/ and locks/ are not copied).
 * Restore: use DIR as a data dir (--dir, HIVE_DIR), or copy its data.mdb
 * into an empty one.  The copy is opened once to check it.
 * Errors: HIVE_EINVALID (DIR not empty or not a directory; nothing
 * written), HIVE_ESYSTEM (cannot create or write; a DIR this call created
 * is removed again).
 */
int hive_backup_write(hive_store *s, const char *dir, hive_backup_info *out);

#endif
