/*
 * gitws.h - git workspaces: everything git that hive does, via libgit2 only.
 *
 * Per task hive creates a branch `hive/<flow>/<task-key>` and a linked
 * worktree for it under hive's data dir, commits the worktree after each
 * runtime exit (checkpoint), diffs attempts, and merges the results of
 * several dependencies (SPEC section 11).
 *
 * The user's own checkout -- its HEAD, index, working tree, current branch
 * -- is never touched.  The only writes to the user's repository are: new or
 * force-moved branches that callers name (hive uses `hive/...`), entries in
 * .git/worktrees/, and new objects in the object database (checkpoint and
 * merge commits, including unreferenced intermediate merge commits).
 * hive_git_worktree_reset() and hive_git_checkpoint() refuse any path that
 * is not a linked worktree, so a wrong path can never reset or commit the
 * user's checkout.
 *
 * Threads and processes: every function opens its own git_repository and
 * frees it before returning, so any function may be called from several
 * threads at once, also on the same repository, as long as no two threads
 * work on the same worktree path or branch at the same time (the caller's
 * job: one task, one worktree).  Creating and removing worktrees is
 * serialised per repository by an flock() on its .git directory (threads
 * and processes alike; no file is created), because libgit2 1.5's
 * worktree code misreports "already checked out" while another worktree is
 * half-written.  Error messages are per thread (events/error.h).
 *
 * Commit ids: outputs are always 40-char lowercase hex, NUL-terminated in a
 * caller-provided char[41] (HIVE_GIT_OID_HEXSZ + 1).  Commit inputs may be
 * anything git can resolve to a commit (full or unique short hex, a branch
 * name, "HEAD"), but hive should pass the full ids it got from here.
 *
 * Errors: 0 on success or a negative HIVE_E* code with the message set
 * (hive_error_last()).  libgit2 failures keep libgit2's own explanation at
 * the end of the message.  Codes used: HIVE_EINVALID (bad argument, not a
 * repository/worktree), HIVE_ENOTFOUND (commit or worktree not found),
 * HIVE_ECONFLICT (merge conflict, path already exists, branch checked out
 * elsewhere, lock held), HIVE_ESYSTEM (file system or other libgit2 error).
 */
#ifndef HIVE_GITWS_H
#define HIVE_GITWS_H

#include <stddef.h>

#define HIVE_GIT_OID_HEXSZ 40

/* Initialise libgit2 exactly once per process (pthread_once).  Every other
 * function here calls it too, so calling it first is optional; it exists so
 * that main() can fail early.  libgit2 is never shut down by hive.
 * Errors: HIVE_ESYSTEM. */
int hive_git_init(void);

/* Is `path` (or a directory above it) inside a non-bare git repository that
 * has at least one commit?  On success, if toplevel_out is non-NULL, it gets
 * a new string (caller frees) with the working-directory root, without a
 * trailing slash.
 * Errors: HIVE_EINVALID "not a git repository: PATH",
 *         HIVE_EINVALID "repository PATH has no commits yet; ...",
 *         HIVE_EINVALID for a bare repository. */
int hive_git_repo_check(const char *path, char **toplevel_out);

/* The commit HEAD points at (symbolic HEAD resolved), as 40-char hex.
 * repo_path may be any directory inside the repository (or a worktree).
 * Errors: HIVE_EINVALID (not a repository, no commits yet). */
int hive_git_head(const char *repo_path, char out[HIVE_GIT_OID_HEXSZ + 1]);

/*
 * Create a linked worktree at worktree_path on branch `branch` (short name,
 * e.g. "hive/fix-login/fix"), pointing at `commit`, and check the files out
 * into it.
 *
 * - worktree_path must not exist (HIVE_ECONFLICT); its parent directories
 *   are created.  Relative paths are made absolute.
 * - If the branch exists it is force-moved to `commit` (a re-run).  A stale
 *   worktree entry that still holds the branch (its directory was deleted,
 *   e.g. after a crash) is pruned first.  If the branch is checked out in a
 *   worktree that still exists, or is the user's current branch, nothing is
 *   changed and HIVE_ECONFLICT is returned: remove that worktree first.
 * - The entry name in .git/worktrees/ is "hive-" + the branch (a leading
 *   "hive/" dropped, other characters outside [A-Za-z0-9_-] as '-') + a
 *   hash of the branch, e.g. "hive-fix-login-fix-1a2b3c4d" ("-N" appended
 *   when an entry of that name holds another branch).  Only that entry is
 *   looked at -- hive's branches are checked out nowhere else -- so the
 *   cost does not grow with the number of worktrees (issue 9).  If it lacks
 *   HEAD, gitdir or commondir (debris of a crash inside this call) it is
 *   deleted first; other entries are never touched.
 * - On failure, whatever this call created on disk is removed again (the
 *   branch, if it was created or moved, stays).
 * Errors: HIVE_EINVALID (bad branch name, not a repository),
 *         HIVE_ENOTFOUND (commit), HIVE_ECONFLICT (see above),
 *         HIVE_ESYSTEM.
 */
int hive_git_worktree_create(const char *repo_path, const char *worktree_path,
			     const char *branch, const char *commit);

/*
 * Hard-reset a linked worktree to `commit`: its branch, index and files, and
 * delete every untracked file that .gitignore does not ignore, as
 * `git reset --hard && git clean -fd` (retry modes "clean" and "continue":
 * build caches such as an ignored build/ survive).  With wipe_ignored != 0
 * ignored files are deleted too, so the worktree looks exactly like a fresh
 * checkout of `commit` (`git clean -fdx`, retry mode "pristine").  `branch` is the
 * worktree's own branch ("hive/<flow>/<key>"): if something switched the
 * worktree's HEAD to another branch or detached it, HEAD is first put back
 * on `branch`, so only `branch` moves, never the branch it was switched to.
 * Errors: HIVE_EINVALID if worktree_path is not the root of a linked
 * worktree (the user's main checkout is refused), HIVE_ENOTFOUND (commit),
 * HIVE_ESYSTEM.
 */
int hive_git_worktree_reset(const char *worktree_path, const char *branch, const char *commit,
			    int wipe_ignored);

/*
 * Delete worktree_path when it is a directory that git cannot open as a
 * linked worktree: the debris of a runner killed inside
 * hive_git_worktree_create (no .git file yet, or a partial one), or a
 * worktree whose .git a runtime removed.  Returns 1 when it deleted it,
 * 0 otherwise (no such directory, or a usable worktree).  Only for paths
 * hive owns (<data dir>/worktrees/...): the directory is deleted with
 * whatever is in it (symlinks are not followed).
 */
int hive_git_worktree_drop_debris(const char *worktree_path);

/*
 * Stage everything in a linked worktree -- new, modified and deleted files,
 * honouring .gitignore like `git add -A` -- and commit it on the worktree's
 * branch with author and committer "hive <hive@localhost>" and `message`
 * (NULL or "" means "hive checkpoint").  If the staged tree equals HEAD's
 * tree no commit is made and `out` is the current HEAD.  `out` gets the
 * resulting commit; *changed_out (if non-NULL) is 1 if a commit was made,
 * else 0.  The worktree's index is rewritten either way.  A stale
 * index.lock (the caller guarantees nothing else runs in the worktree) is
 * removed first.  The worktree's HEAD must be `branch` ("hive/<flow>/<key>",
 * the worktree's own branch): a HEAD that something switched to another
 * branch or detached is refused, so no other branch is ever committed on.
 * Errors: HIVE_EINVALID (not a linked worktree, bad branch name),
 * HIVE_ECONFLICT (HEAD is not on `branch`; the message names both),
 * HIVE_ESYSTEM.
 */
int hive_git_checkpoint(const char *worktree_path, const char *branch, const char *message,
			char out[HIVE_GIT_OID_HEXSZ + 1], int *changed_out);

/*
 * Merge n >= 1 commits into one merge commit whose parents are the commits
 * in the given order (exact duplicates dropped), without touching any
 * working tree, index or ref: the merge runs in memory (git_merge_commits,
 * pairwise left to right, each step through an unreferenced intermediate
 * commit so later merge bases are right), and only objects are written.
 * If one distinct commit remains, `out` is that commit and nothing is
 * written.  The merge commit's author/committer is hive with the current
 * time, so two calls may return different ids for the same inputs.
 *
 * On conflict: HIVE_ECONFLICT with message "merge conflict in: a.txt, b.txt"
 * and, if conflicts_out is non-NULL, *conflicts_out = new NULL-terminated,
 * sorted array of the conflicting paths (free with hive_strv_free).
 * *conflicts_out is NULL in every other case.
 * Errors: HIVE_EINVALID (n == 0, not a repository), HIVE_ENOTFOUND (a
 * commit), HIVE_ECONFLICT, HIVE_ESYSTEM.
 */
int hive_git_merge(const char *repo_path, const char *const *commits, size_t n,
		   char out[HIVE_GIT_OID_HEXSZ + 1], char ***conflicts_out);

/*
 * As hive_git_merge, but first every commit that another given commit
 * descends from is dropped: it adds nothing.  So merging a base with
 * results built on it gives the one result that holds them all (a
 * fast-forward: `out` is that commit and nothing is written), and a merge
 * commit is made only for what diverged.  message (NULL = hive_git_merge's)
 * is the merge commit's message.  Used by `hive flow land` and the rebase
 * commands (core/land.c).
 * Errors: as hive_git_merge.
 */
int hive_git_merge_reduced(const char *repo_path, const char *const *commits, size_t n, const char *message,
			   char out[HIVE_GIT_OID_HEXSZ + 1], char ***conflicts_out);


/* Diff statistics between two commits; filled by hive_git_diff, released
 * with hive_diff_stats_dispose.  Binary files count as created/modified/
 * deleted with 0 insertions and 0 deletions; a type or mode change counts
 * as modified. */
typedef struct {
	int files_created, files_modified, files_deleted;
	int insertions, deletions;
	char **paths;   /* NULL-terminated, strcmp-sorted, every changed path; owned by the struct */
	size_t n_paths;
	unsigned long long patch_bytes; /* the whole patch's size (when a patch was asked for) */
	int patch_truncated;            /* 1 if the patch text was cut at max_patch_bytes */
} hive_diff_stats;

/* The patch kept when hive_git_diff is given 0 (HIVE_MAX_DIFF_BYTES default). */
#define HIVE_GIT_DIFF_MAX_DEFAULT ((size_t)4 << 20)

/*
 * Diff tree `from` -> tree `to` (no rename detection, so a rename is a
 * delete plus a create).  `out` is always initialised (zeroed on error).
 * If patch_out is non-NULL it gets a new string (caller frees) with the full
 * unified diff in `git diff` patch format ("diff --git a/x b/x ...", binary
 * files as "Binary files a/x and b/x differ"); "" when nothing changed.
 * The patch is bounded: lines stop being added once it would pass
 * max_patch_bytes (0 = HIVE_GIT_DIFF_MAX_DEFAULT), a last line
 * "[... diff cut: K of N bytes kept (HIVE_MAX_DIFF_BYTES) ...]" says so,
 * and out->patch_truncated is set.  A file larger than max_patch_bytes is
 * diffed as binary (only its size is read, so memory stays bounded), and
 * its lines are not counted in insertions/deletions.
 * Errors: HIVE_EINVALID (not a repository), HIVE_ENOTFOUND (a commit),
 * HIVE_ESYSTEM.
 */
int hive_git_diff(const char *repo_path, const char *from, const char *to, size_t max_patch_bytes,
		  hive_diff_stats *out, char **patch_out);
void hive_diff_stats_dispose(hive_diff_stats *s);

/*
 * Remove a linked worktree: its directory (with any untracked files in it)
 * and its .git/worktrees entry.  The branch stays.  Idempotent: if no entry
 * points at worktree_path and the directory does not exist, returns 0.  A
 * directory that exists but is not a registered worktree of the repository
 * is never deleted: HIVE_ENOTFOUND.
 * Errors: HIVE_EINVALID (not a repository), HIVE_ENOTFOUND,
 *         HIVE_ECONFLICT (worktree is locked), HIVE_ESYSTEM.
 */
int hive_git_worktree_remove(const char *repo_path, const char *worktree_path);

/*
 * Spare worktrees (docs/lifecycle.md): a worktree whose task succeeded is
 * kept, detached, as a spare, and the next task adopts it instead of a
 * fresh checkout.
 *
 * hive_git_worktree_park: turn the linked worktree at worktree_path (made
 * by hive_git_worktree_create or _adopt) into a spare at spare_path (must
 * not exist; parents are created): its HEAD is detached at the commit it
 * was on, so it holds no branch; its .git/worktrees entry is renamed
 * "hive-spare-<hash of spare_path>"; worktree_path no longer exists.  Its
 * files are left as they are.  On failure nothing was moved unless the
 * message says so; the caller removes the worktree instead.
 * Errors: HIVE_EINVALID (not a worktree hive made), HIVE_ECONFLICT
 * (locked, spare path or entry taken), HIVE_ESYSTEM.
 */
int hive_git_worktree_park(const char *repo_path, const char *worktree_path, const char *spare_path);

/*
 * Adopt the spare at spare_path as the worktree of `branch` at
 * worktree_path (must not exist), with `branch` created or force-moved to
 * `commit` as hive_git_worktree_create does.  The result is what a fresh
 * checkout would be: HEAD on `branch`, index and tracked files = commit's
 * tree (only files that differ are written), every untracked and ignored
 * file deleted.  A spare holding something the reset cannot handle (a
 * FIFO, socket or device; a directory without owner rwx; a nested
 * repository) or failing in any other way is discarded
 * (hive_git_spare_discard) and the error returned: the caller then
 * creates a fresh worktree.  worktree_path does not exist after a failure.
 * Errors: HIVE_ENOTFOUND (no usable spare there), HIVE_ECONFLICT (as
 * hive_git_worktree_create, or the spare's content), HIVE_EINVALID,
 * HIVE_ESYSTEM.
 */
int hive_git_worktree_adopt(const char *repo_path, const char *spare_path, const char *worktree_path,
			    const char *branch, const char *commit);

/*
 * Delete the spare at spare_path, whatever its state (a crash in
 * _park or _adopt, or files a runtime made undeletable: directories are
 * made writable first, FIFOs unlinked), and its .git/worktrees entry when
 * it is the spare's or belongs to nothing that exists.  Idempotent.  Only
 * for paths hive owns (<data dir>/spares/...).
 * Errors: HIVE_EINVALID (not a repository), HIVE_ESYSTEM.
 */
int hive_git_spare_discard(const char *repo_path, const char *spare_path);

/*
 * Delete every .git/worktrees entry of hive's ("hive-*") whose worktree no
 * longer exists (its gitdir names a missing .git) or that lacks HEAD or
 * commondir, as `git worktree prune` would; locked entries are kept.
 * Reads the whole list: for flow ends and `hive gc`, not per task.
 * *pruned_out (may be NULL) = how many were deleted.
 * Errors: HIVE_EINVALID (not a repository), HIVE_ESYSTEM.
 */
int hive_git_worktree_prune_dead(const char *repo_path, int *pruned_out);

/*
 * Delete the local branch `branch` (short name, e.g. "hive/f/fix"); `out`
 * gets the commit it pointed at, so the event recording the deletion can
 * name it.  A branch checked out anywhere (the user's checkout or a linked
 * worktree) is never deleted.
 * Errors: HIVE_EINVALID (bad branch name, not a repository),
 *         HIVE_ENOTFOUND (no such branch), HIVE_ECONFLICT (checked out),
 *         HIVE_ESYSTEM.
 */
int hive_git_branch_delete(const char *repo_path, const char *branch, char out[HIVE_GIT_OID_HEXSZ + 1]);

/*
 * hive_git_branch_delete, but only while the branch still points at
 * `expect` (full hex; NULL = any commit): a branch someone moved since hive
 * left it is not hive's to delete (SPEC section 12).  Then nothing is
 * deleted, *moved (may be NULL) = 1, out = where it points now, and 0 is
 * returned.  Errors: those of hive_git_branch_delete.
 */
int hive_git_branch_delete_at(const char *repo_path, const char *branch, const char *expect,
			      char out[HIVE_GIT_OID_HEXSZ + 1], int *moved);

/* 1 when the local branch `branch` (short name) exists, 0 when not.
 * Errors: HIVE_EINVALID (bad branch name, not a repository), HIVE_ESYSTEM. */
int hive_git_branch_exists(const char *repo_path, const char *branch);

/*
 * Point the local branch `branch` (short name) at `commit`: create it or
 * force-move it.  A branch checked out anywhere -- the user's current
 * branch, or in any worktree (this call looks at every worktree, so it is
 * for one-off commands such as `hive flow land`, not for per-task work) --
 * is never moved.
 * Errors: HIVE_EINVALID (bad branch name, not a repository),
 *         HIVE_ENOTFOUND (commit), HIVE_ECONFLICT (checked out),
 *         HIVE_ESYSTEM.
 */
int hive_git_branch_set(const char *repo_path, const char *branch, const char *commit);

/* The commit the local branch `branch` (short name) points at.
 * Errors: HIVE_EINVALID (bad branch name, not a repository),
 *         HIVE_ENOTFOUND (no such branch), HIVE_ESYSTEM. */
int hive_git_branch_commit(const char *repo_path, const char *branch, char out[HIVE_GIT_OID_HEXSZ + 1]);

#endif
