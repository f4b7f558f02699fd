/*
 * lifecycle.h - releasing what tasks and flows leave in the project
 * repository and the data dir (docs/lifecycle.md, SPEC section 12).
 *
 * A task's worktree (<data dir>/worktrees/<flow>/<key>) is released when
 * the task ends success (its result stays on branch hive/<flow>/<key>, and
 * dependants start from the result commit) and when its flow ends
 * (completed or aborted).  A failed or escalated task keeps its worktree
 * while its flow has not ended, so a person can look at it; a failed flow
 * can be revived and keeps all of them.  `hive gc` removes what is left of
 * ended flows.  Every removal is recorded as an event (worktree_released,
 * branch_deleted, flow_collected: docs/events.md).
 *
 * Git work runs outside any transaction; the events are appended after it
 * (one write transaction per call), so an event is only written for
 * something that is gone.  Whether a worktree exists is asked of the file
 * system under hive's own data dir (one stat per task of the flow), never
 * by scanning the repository's worktrees.
 */
#ifndef HIVE_LIFECYCLE_H
#define HIVE_LIFECYCLE_H

#include <stddef.h>

#include <jansson.h>

#include "events/store.h"

/*
 * Release the worktrees of flow flow_id that may go now: those of tasks
 * that ended success, or all of them when the flow has ended.  While the
 * flow has not ended only task_ids[0..n) are looked at when task_ids is
 * not NULL (the runner passes the tasks of its tick, so the cost does not
 * grow with the flow).  Called by the runner after each tick and by
 * `flow abort`.  Worktrees whose removal
 * fails are kept (a later call or `hive gc` tries again); the first such
 * error is returned after the others were released and recorded.
 * *released_out (may be NULL) = how many were released.
 * Errors: HIVE_ENOTFOUND (flow), those of hive_git_worktree_remove,
 * storage errors.
 */
int hive_lifecycle_release(hive_store *s, const char *flow_id, const char *const *task_ids, size_t n,
			   int *released_out);

/*
 * hive_lifecycle_release, keeping up to max_spares worktrees of tasks
 * that succeeded as spares (hive_git_worktree_park) in
 * hive_lifecycle_spares_dir instead of deleting them; the runner passes
 * its parallelism + 1.  Their worktree_released event carries "spare" (the
 * spare's path).  When the flow has ended, its spares are deleted
 * (spare_removed) and hive's entries in .git/worktrees that point at
 * nothing are pruned.  Errors: those of hive_lifecycle_release.
 */
int hive_lifecycle_release_keep(hive_store *s, const char *flow_id, const char *const *task_ids, size_t n,
				int max_spares, int *released_out);

/* New string: <data dir>/spares/<flow id>, where the flow's spare
 * worktrees live (one directory per spare, named 0, 1, ...). */
char *hive_lifecycle_spares_dir(const hive_store *s, const char *flow_id);

/*
 * Make worktree_path the worktree of `branch` at `commit` from one of the
 * flow's spares (hive_git_worktree_adopt).  Returns 1 when a spare was
 * adopted, 0 when there was none or adopting failed (then *error_out =
 * why, new string, and the spare is gone; the caller creates a fresh
 * worktree).  *spare_out = the spare's path (new string) when one was
 * tried, else NULL.  Never an error: a spare can only save work, not fail
 * a task.
 */
int hive_lifecycle_adopt(const hive_store *s, const char *flow_id, const char *repo, const char *worktree_path,
			 const char *branch, const char *commit, char **spare_out, char **error_out);

/* The commit at which hive left task's result branch hive/<flow>/<key>
 * (the task's projection document): its result, else its last attempt's
 * commit, else its base; NULL when none is recorded.  Borrowed from task.
 * `hive gc --branches` deletes the branch only while it points there. */
const char *hive_lifecycle_branch_commit(const json_t *task);

/* hive_gc is declared in core/hive.h (front ends call it). */

#endif
