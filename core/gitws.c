/*
 * gitws.c - git workspaces with libgit2 (see gitws.h for the contracts).
 *
 * Every public function opens its own git_repository and frees it before
 * returning; nothing here is cached between calls, which is what makes the
 * module safe to use from several threads.  No call looks at every linked
 * worktree (see "Why hive does not trust libgit2 1.5 here" below), so the
 * cost of a task does not grow with the repository's history.
 */
#include "core/gitws.h"

#include "events/buf.h"
#include "events/error.h"
#include "events/fs.h"
#include "events/strv.h"

#include <git2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define GW_SIG_NAME  "hive"
#define GW_SIG_EMAIL "hive@localhost"
#define GW_HEXSZ     (HIVE_GIT_OID_HEXSZ + 1)

/* ---------------------------------------------------------------- init */

static pthread_once_t gw_once = PTHREAD_ONCE_INIT;
static int gw_init_rc;

static void gw_init_once(void)
{
	gw_init_rc = git_libgit2_init();
}

int hive_git_init(void)
{
	pthread_once(&gw_once, gw_init_once);
	if (gw_init_rc < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot initialise libgit2 (error %d); "
				      "check the libgit2 installation", gw_init_rc);
	return 0;
}

/* -------------------------------------------------------------- errors */

static int gw_code(int rc)
{
	switch (rc) {
	case GIT_ENOTFOUND: return HIVE_ENOTFOUND;
	case GIT_EAMBIGUOUS: return HIVE_EAMBIGUOUS;
	case GIT_EINVALIDSPEC:
	case GIT_EOWNER: return HIVE_EINVALID;
	case GIT_EEXISTS:
	case GIT_ECONFLICT:
	case GIT_ELOCKED:
	case GIT_EMERGECONFLICT:
	case GIT_EUNMERGED: return HIVE_ECONFLICT;
	default: return HIVE_ESYSTEM;
	}
}

/* Record the libgit2 failure `rc` as "<what>: <libgit2's message>" (one
 * line) with the matching hive code, and return that code. */
static int gw_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int gw_fail(int rc, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	hive_buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *what = hive_xmalloc((size_t)(n > 0 ? n : 0) + 1);
	va_start(ap, fmt);
	vsnprintf(what, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	va_end(ap);

	hive_buf_printf(&b, "%s: %s", what,
			e && e->message && *e->message ? e->message : "unknown libgit2 error");
	for (char *p = b.data; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	int code = hive_error_set(gw_code(rc), "%s", b.data);
	free(what);
	hive_buf_dispose(&b);
	return code;
}

static int gw_errno(int err, const char *what, const char *path)
{
	return hive_error_set(HIVE_ESYSTEM, "%s %s: %s", what, path, strerror(err));
}

/* ----------------------------------------------------- string vectors */

static int gw_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort, drop duplicates, and hand out the NULL-terminated array (never
 * NULL: an empty vector becomes {NULL}); *n_out gets the count. */
static char **gw_strv_finish(hive_strv *s, size_t *n_out)
{
	if (!s->v)
		s->v = hive_xcalloc(1, sizeof *s->v);
	qsort(s->v, s->n, sizeof *s->v, gw_strcmp_p);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (k && strcmp(s->v[k - 1], s->v[i]) == 0)
			free(s->v[i]);
		else
			s->v[k++] = s->v[i];
	}
	s->v[k] = NULL;
	if (n_out)
		*n_out = k;
	char **v = s->v;
	memset(s, 0, sizeof *s);
	return v;
}

/* ------------------------------------------------------- file system */

/* New string: `path` made absolute and symlink-free.  `path` need not
 * exist; then only its parent is resolved (and if that fails too, `path`
 * is returned as given). */
static char *gw_canon(const char *path)
{
	char *p = hive_xstrdup(path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	char *r = realpath(p, NULL);
	if (r) {
		free(p);
		return r;
	}
	char *slash = strrchr(p, '/');
	const char *dir = ".", *base = p;
	if (slash == p) {
		dir = "/";
		base = p + 1;
	} else if (slash) {
		*slash = '\0';
		dir = p;
		base = slash + 1;
	}
	char *rd = realpath(dir, NULL);
	hive_buf b = {0};
	if (rd)
		hive_buf_printf(&b, "%s%s%s", rd, strcmp(rd, "/") ? "/" : "", base);
	else
		hive_buf_puts(&b, path);
	free(rd);
	free(p);
	return hive_buf_detach(&b);
}

static int gw_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* rm -rf; best effort (used to undo what this module created). */
static void gw_rmrf(const char *path)
{
	nftw(path, gw_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int gw_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---------------------------------------------------- repos, commits */

/* Open the repository that contains `path` (searching upwards); bare
 * repositories are refused.  *out is NULL on error. */
static int gw_open_new(git_repository **out, const char *path)
{
	*out = NULL;
	int rc = git_repository_open_ext(out, path, 0, NULL);
	if (rc == GIT_ENOTFOUND)
		return hive_error_set(HIVE_EINVALID, "not a git repository: %s", path);
	if (rc < 0)
		return gw_fail(rc, "cannot open git repository %s", path);
	if (git_repository_is_bare(*out)) {
		git_repository_free(*out);
		*out = NULL;
		return hive_error_set(HIVE_EINVALID, "repository %s is bare; hive needs a "
				      "repository with a working tree", path);
	}
	return 0;
}

/*
 * The project repository is opened once and kept (issue 9: each open reads
 * .git/config, ~/.gitconfig and /etc/gitconfig, and a runner opened it
 * several times per task).  One handle for the process, for the last
 * absolute path opened, shared by all threads.  libgit2 objects are not
 * thread-safe, so the handle is used under a lock: gw_open takes gw_cache.mu
 * and gw_close releases it, which serialises work on the project
 * repository between a runner's attempt threads (the checkpoint works in
 * the worktree through its own handle and stays parallel).  The handle is
 * reused only while its git directory is the same one (same inode), so a
 * repository deleted and made again at the same path is opened afresh.
 * libgit2 rereads refs and objects from disk, so what other handles and
 * processes write is seen.
 */
static struct {
	pthread_mutex_t mu;
	char *path;
	git_repository *repo;
	dev_t dev;
	ino_t ino;
} gw_cache = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0};

static int gw_cache_valid(const char *path)
{
	struct stat st;
	return gw_cache.repo && strcmp(gw_cache.path, path) == 0 &&
	       stat(git_repository_commondir(gw_cache.repo), &st) == 0 &&
	       st.st_dev == gw_cache.dev && st.st_ino == gw_cache.ino;
}

/* Keep repo (opened from path) as the cached handle, dropping the old one. */
static void gw_cache_keep(git_repository *repo, const char *path)
{
	struct stat st;
	if (path[0] != '/' || stat(git_repository_commondir(repo), &st) != 0)
		return; /* relative paths depend on the cwd: not cached */
	git_repository_free(gw_cache.repo);
	free(gw_cache.path);
	gw_cache.repo = repo;
	gw_cache.path = hive_xstrdup(path);
	gw_cache.dev = st.st_dev;
	gw_cache.ino = st.st_ino;
}

/* The project repository containing `path` (see gw_open_new), from the
 * cache when possible.  On success the caller holds the cache lock until
 * gw_close(*out); *out is NULL on error (and the lock is not held). */
static int gw_open(git_repository **out, const char *path)
{
	*out = NULL;
	int rc = hive_git_init();
	if (rc)
		return rc;
	if (!path || !*path)
		return hive_error_set(HIVE_EINVALID, "no repository path given");
	pthread_mutex_lock(&gw_cache.mu);
	if (gw_cache_valid(path)) {
		*out = gw_cache.repo;
		return 0;
	}
	rc = gw_open_new(out, path);
	if (rc)
		pthread_mutex_unlock(&gw_cache.mu);
	else
		gw_cache_keep(*out, path);
	return rc;
}

/* Release a handle from gw_open (NULL: nothing to do). */
static void gw_close(git_repository *repo)
{
	if (!repo)
		return;
	if (repo != gw_cache.repo)
		git_repository_free(repo);
	pthread_mutex_unlock(&gw_cache.mu);
}

/* Open the linked worktree whose root is exactly `path`.  Anything else --
 * notably the user's main checkout or a subdirectory -- is refused, so the
 * destructive operations can never hit the user's files. */
static int gw_open_worktree(git_repository **out, const char *path)
{
	*out = NULL;
	int rc = hive_git_init();
	if (rc)
		return rc;
	if (!path || !*path)
		return hive_error_set(HIVE_EINVALID, "no worktree path given");
	rc = git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc == GIT_ENOTFOUND)
		return hive_error_set(HIVE_EINVALID, "not a git worktree: %s; pass the root "
				      "of a worktree made by hive", path);
	if (rc < 0)
		return gw_fail(rc, "cannot open worktree %s", path);
	if (!git_repository_is_worktree(*out) || git_repository_is_bare(*out)) {
		git_repository_free(*out);
		*out = NULL;
		return hive_error_set(HIVE_EINVALID, "%s is not a linked worktree; hive only "
				      "resets or commits its own worktrees, never a main checkout", path);
	}
	return 0;
}

/* Resolve `spec` to a commit of `repo`; `where` names the repo in errors. */
static int gw_commit(git_commit **out, git_repository *repo, const char *spec, const char *where)
{
	git_object *obj = NULL;
	*out = NULL;
	if (!spec || !*spec)
		return hive_error_set(HIVE_EINVALID, "no commit given for repository %s", where);
	int rc = git_revparse_single(&obj, repo, spec);
	if (rc == 0) {
		rc = git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT);
		git_object_free(obj);
	}
	if (rc == GIT_ENOTFOUND)
		return hive_error_set(HIVE_ENOTFOUND, "commit %s not found in repository %s; "
				      "check the id", spec, where);
	if (rc < 0)
		return gw_fail(rc, "cannot resolve commit %s in repository %s", spec, where);
	return 0;
}

static void gw_hex(char out[GW_HEXSZ], const git_oid *oid)
{
	git_oid_tostr(out, GW_HEXSZ, oid);
}

/* Write a commit object with hive as author and committer; update_ref may
 * be NULL (object only) or e.g. "HEAD". */
static int gw_make_commit(git_oid *out, git_repository *repo, const char *update_ref,
			  const char *message, const git_oid *tree_id,
			  const git_commit **parents, size_t n_parents)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	int rc = git_signature_now(&sig, GW_SIG_NAME, GW_SIG_EMAIL);
	if (rc == 0)
		rc = git_tree_lookup(&tree, repo, tree_id);
	if (rc == 0)
		rc = git_commit_create(out, repo, update_ref, sig, sig, NULL, message,
				       tree, n_parents, parents);
	if (rc < 0)
		rc = gw_fail(rc, "cannot write commit in repository %s",
			     git_repository_commondir(repo));
	git_tree_free(tree);
	git_signature_free(sig);
	return rc;
}

/* ---------------------------------------------------- repo check, head */

/* New string: the repo's working directory without its trailing slash. */
static char *gw_workdir(git_repository *repo)
{
	char *s = hive_xstrdup(git_repository_workdir(repo));
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '/')
		s[n - 1] = '\0';
	return s;
}

static int gw_no_commits(const char *path)
{
	return hive_error_set(HIVE_EINVALID, "repository %s has no commits yet; "
			      "commit something first", path);
}

int hive_git_repo_check(const char *path, char **toplevel_out)
{
	git_repository *repo;
	if (toplevel_out)
		*toplevel_out = NULL;
	int rc = gw_open(&repo, path);
	if (rc)
		return rc;
	rc = git_repository_head_unborn(repo);
	if (rc == 1)
		rc = gw_no_commits(path);
	else if (rc < 0)
		rc = gw_fail(rc, "cannot read HEAD of repository %s", path);
	else if (toplevel_out)
		*toplevel_out = gw_workdir(repo);
	gw_close(repo);
	return rc;
}

int hive_git_head(const char *repo_path, char out[GW_HEXSZ])
{
	git_repository *repo;
	git_oid oid;
	out[0] = '\0';
	int rc = gw_open(&repo, repo_path);
	if (rc)
		return rc;
	rc = git_reference_name_to_id(&oid, repo, "HEAD");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH)
		rc = gw_no_commits(repo_path);
	else if (rc < 0)
		rc = gw_fail(rc, "cannot read HEAD of repository %s", repo_path);
	else
		gw_hex(out, &oid);
	gw_close(repo);
	return rc;
}

/* ------------------------------------------------ .git/worktrees entries */

/*
 * Why hive does not trust libgit2 1.5 here: git_worktree_list() skips the
 * validity check of the entry after each invalid one, and
 * git_repository_foreach_worktree() turns a failed git_worktree_lookup()
 * into 1 -- which git_branch_is_checked_out(), and so git_worktree_add(),
 * read as "already checked out".  A half-written entry (another thread's
 * add in progress, or one left by a crash) therefore made adding *any*
 * branch fail.  And git_branch_is_checked_out() opens every linked
 * worktree as a repository (its .git file, config, HEAD) on each call, so
 * with git_worktree_add() creating a task's worktree cost grew with the
 * number of worktrees in the repository (issue 9: 8x slower after 1000
 * tasks).  So hive adds worktrees itself (gw_add): it writes the same
 * files git and libgit2 write, and the "already checked out" knowledge is
 * hive's own: a hive branch is only ever checked out in the entry whose
 * name is derived from the branch (gw_entry_name), so one entry is looked
 * at, never the whole list.  Changes to .git/worktrees are still
 * serialised by a lock, and hive's own broken entry is dropped first.
 */

/* Lock the repository's worktree list against other threads and processes:
 * flock() on the common git dir itself, so no file is created in the
 * user's .git.  *fd_out is released with gw_unlock(). */
static int gw_lock(git_repository *repo, int *fd_out)
{
	const char *dir = git_repository_commondir(repo);
	*fd_out = -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return gw_errno(errno, "cannot open git directory", dir);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int err = errno;
			close(fd);
			return gw_errno(err, "cannot lock git directory", dir);
		}
	}
	*fd_out = fd;
	return 0;
}

static void gw_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* New string: .git/worktrees/<name> (name NULL: .git/worktrees). */
static char *gw_entry_path(git_repository *repo, const char *name)
{
	char *dir = hive_fs_join(git_repository_commondir(repo), "worktrees");
	if (!name)
		return dir;
	char *p = hive_fs_join(dir, name);
	free(dir);
	return p;
}

typedef int (*gw_entry_fn)(git_repository *repo, const char *name, void *ctx);

/* Call fn for each entry of .git/worktrees (none if the directory does not
 * exist) until it returns non-zero.  Names are read first, so fn may
 * delete entries. */
static int gw_each_entry(git_repository *repo, gw_entry_fn fn, void *ctx)
{
	char *dir = gw_entry_path(repo, NULL);
	DIR *d = opendir(dir);
	int rc = 0;
	if (!d) {
		if (errno != ENOENT)
			rc = gw_errno(errno, "cannot read directory", dir);
		free(dir);
		return rc;
	}
	hive_strv names = {0};
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			hive_strv_push(&names, e->d_name);
	closedir(d);
	size_t n;
	char **v = gw_strv_finish(&names, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = fn(repo, v[i], ctx);
	hive_strv_free(v);
	free(dir);
	return rc;
}

static int gw_has_file(const char *dir, const char *name)
{
	char *p = hive_fs_join(dir, name);
	int r = gw_exists(p);
	free(p);
	return r;
}

/* Drop entry `name` if hive began but never finished it (a crash inside
 * gw_add, which writes HEAD last).  Only called with hive's own names. */
static void gw_drop_debris(git_repository *repo, const char *name)
{
	char *entry = gw_entry_path(repo, name);
	if (gw_exists(entry) && (!gw_has_file(entry, "HEAD") || !gw_has_file(entry, "gitdir") ||
				 !gw_has_file(entry, "commondir")))
		gw_rmrf(entry);
	free(entry);
}

/* Does entry `name` have `branch` checked out?  Read from its HEAD file
 * directly, which works for stale entries too. */
static int gw_entry_holds(git_repository *repo, const char *name, const char *branch)
{
	char *entry = gw_entry_path(repo, name);
	char *head = hive_fs_join(entry, "HEAD");
	hive_buf want = {0}, got = {0};
	hive_buf_printf(&want, "ref: refs/heads/%s", branch);
	FILE *f = fopen(head, "r");
	if (f) {
		char chunk[512];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			hive_buf_append(&got, chunk, n);
		fclose(f);
	}
	while (got.len && (got.data[got.len - 1] == '\n' || got.data[got.len - 1] == '\r'))
		got.data[--got.len] = '\0';
	int holds = got.len && strcmp(got.data, want.data) == 0;
	hive_buf_dispose(&want);
	hive_buf_dispose(&got);
	free(head);
	free(entry);
	return holds;
}

/* Delete a worktree entry (and, with GIT_WORKTREE_PRUNE_WORKING_TREE, its
 * directory).  A locked worktree is a conflict: someone pinned it. */
static int gw_prune(git_worktree *wt, uint32_t flags)
{
	git_worktree_prune_options po = GIT_WORKTREE_PRUNE_OPTIONS_INIT;
	po.flags = flags;
	if (git_worktree_is_locked(NULL, wt) > 0)
		return hive_error_set(HIVE_ECONFLICT, "worktree %s is locked; unlock it "
				      "(git worktree unlock) and try again", git_worktree_path(wt));
	int rc = git_worktree_prune(wt, &po);
	if (rc < 0)
		return gw_fail(rc, "cannot remove worktree %s", git_worktree_path(wt));
	return 0;
}

/* If entry `name` holds `branch`: prune it when its directory is gone (a
 * crashed or hand-deleted earlier run), refuse when it is alive. */
static int gw_release_entry(git_repository *repo, const char *name, const char *branch)
{
	git_worktree *wt = NULL;
	if (!gw_entry_holds(repo, name, branch))
		return 0;
	if (git_worktree_lookup(&wt, repo, name) < 0)
		return 0; /* not a usable entry, so not a checkout */
	int rc;
	if (git_worktree_validate(wt) == 0)
		rc = hive_error_set(HIVE_ECONFLICT, "branch %s is already checked out in "
				    "worktree %s; remove that worktree first",
				    branch, git_worktree_path(wt));
	else
		rc = gw_prune(wt, 0);
	git_worktree_free(wt);
	return rc;
}

/* ---------------------------------------------------- worktree create */

static int gw_check_branch_name(const char *branch)
{
	int valid = 0;
	if (!branch || !*branch)
		return hive_error_set(HIVE_EINVALID, "no branch name given for the worktree");
	char *ref = hive_fs_join("refs/heads", branch);
	if (git_reference_name_is_valid(&valid, ref) < 0)
		valid = 0;
	free(ref);
	if (!valid)
		return hive_error_set(HIVE_EINVALID, "invalid branch name \"%s\"; use letters, "
				      "digits, '-', '_' and '/' separators", branch);
	return 0;
}

/* Create `branch` at `commit`, or force-move it there.  The user's current
 * branch is refused; linked worktrees were checked by gw_release_entry. */
static int gw_set_branch(git_reference **out, git_repository *repo, const char *branch,
			 const char *commit, const char *where)
{
	git_reference *old = NULL;
	git_commit *c = NULL;
	*out = NULL;
	int rc = git_branch_lookup(&old, repo, branch, GIT_BRANCH_LOCAL);
	if (rc == 0 && git_branch_is_head(old) == 1)
		rc = hive_error_set(HIVE_ECONFLICT, "branch %s is the current branch of "
				    "repository %s; hive will not move it", branch, where);
	else if (rc == 0 || rc == GIT_ENOTFOUND)
		rc = gw_commit(&c, repo, commit, where);
	else
		rc = gw_fail(rc, "cannot look up branch %s in repository %s", branch, where);
	if (rc == 0 && (rc = git_branch_create(out, repo, branch, c, 1)) < 0)
		rc = gw_fail(rc, "cannot point branch %s at %s in repository %s",
			     branch, commit, where);
	git_commit_free(c);
	git_reference_free(old);
	return rc;
}

static uint32_t gw_fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* New string: the name in .git/worktrees/ of branch's worktree: "hive-",
 * then the branch with every character outside [A-Za-z0-9_-] turned into
 * '-' (a leading "hive/" is not repeated), then a hash of the branch, then
 * "-N" for the N-th candidate (n > 1; only when an entry of that name holds
 * another branch).  Derived from the branch alone, so the entry that could
 * hold it is known without reading the others (see above). */
static char *gw_entry_name(const char *branch, int n)
{
	hive_buf name = {0};
	hive_buf_puts(&name, "hive-");
	const char *b = strncmp(branch, "hive/", 5) == 0 ? branch + 5 : branch;
	for (const char *p = b; *p && name.len < 64; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '_';
		hive_buf_putc(&name, ok ? c : '-');
	}
	hive_buf_printf(&name, "-%08" PRIx32, gw_fnv1a(branch));
	if (n > 1)
		hive_buf_printf(&name, "-%d", n);
	return hive_buf_detach(&name);
}

/* New string: the first candidate entry name for `branch` that is free
 * once hive's debris and a stale entry holding the branch are dropped;
 * NULL with HIVE_ECONFLICT when the branch is checked out in a live
 * worktree.  Candidates holding other branches (hash collisions) are
 * skipped, never touched. */
static char *gw_claim_entry(git_repository *repo, const char *branch)
{
	for (int n = 1;; n++) {
		char *name = gw_entry_name(branch, n);
		gw_drop_debris(repo, name);
		if (gw_release_entry(repo, name, branch) < 0) {
			free(name);
			return NULL;
		}
		char *path = gw_entry_path(repo, name);
		int taken = gw_exists(path);
		free(path);
		if (!taken)
			return name;
		free(name);
	}
}

/* Check that worktree_path does not exist, create its parents, and return
 * (in *abs_out, new string) its absolute spelling. */
static int gw_prepare_path(const char *worktree_path, char **abs_out)
{
	*abs_out = NULL;
	if (!worktree_path || !*worktree_path)
		return hive_error_set(HIVE_EINVALID, "no worktree path given");
	if (gw_exists(worktree_path))
		return hive_error_set(HIVE_ECONFLICT, "worktree path %s already exists; "
				      "remove it or choose another path", worktree_path);
	char *p = hive_xstrdup(worktree_path);
	char *slash = strrchr(p, '/');
	int rc = 0;
	if (slash && slash != p) {
		*slash = '\0';
		rc = hive_fs_mkdir_p(p, 0700, "directory"); /* private: worktrees hold the user's code */
	}
	free(p);
	if (rc == 0)
		*abs_out = gw_canon(worktree_path);
	return rc;
}

/* Write `text` to dir/name (a new file). */
static int gw_write_file(const char *dir, const char *name, const char *text)
{
	char *p = hive_fs_join(dir, name);
	int rc = 0;
	FILE *f = fopen(p, "wx");
	if (!f) {
		rc = gw_errno(errno, "cannot create", p);
	} else {
		int failed = fputs(text, f) < 0;
		int err = errno;
		/* fclose exactly once, whatever fputs did: a failed flush
		 * (ENOSPC) is reported by fclose itself */
		if (fclose(f) != 0 && !failed) {
			failed = 1;
			err = errno;
		}
		if (failed)
			rc = gw_errno(err ? err : EIO, "cannot write", p);
	}
	free(p);
	return rc;
}

/* The files `git worktree add` writes: entry/{commondir,gitdir}, the
 * worktree's .git file, and entry/HEAD last (an entry without HEAD is
 * debris, see gw_drop_debris). */
static int gw_write_entry(const char *entry, const char *abs, const char *branch)
{
	hive_buf b = {0};
	int rc = gw_write_file(entry, "commondir", "../..\n");
	if (rc == 0) {
		hive_buf_printf(&b, "%s/.git\n", abs);
		rc = gw_write_file(entry, "gitdir", hive_buf_str(&b));
	}
	if (rc == 0) {
		hive_buf_reset(&b);
		hive_buf_printf(&b, "gitdir: %s\n", entry);
		rc = gw_write_file(abs, ".git", hive_buf_str(&b));
	}
	if (rc == 0) {
		hive_buf_reset(&b);
		hive_buf_printf(&b, "ref: refs/heads/%s\n", branch);
		rc = gw_write_file(entry, "HEAD", hive_buf_str(&b));
	}
	hive_buf_dispose(&b);
	return rc;
}

/* Check the branch's files out into the new worktree at abs (and write
 * its index). */
static int gw_checkout_new(const char *abs)
{
	git_repository *wt = NULL;
	git_checkout_options co;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	int rc = git_repository_open_ext(&wt, abs, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc == 0)
		rc = git_checkout_head(wt, &co);
	git_repository_free(wt);
	return rc < 0 ? gw_fail(rc, "cannot check out worktree %s", abs) : 0;
}

/* Add the worktree entry `name` at abs on `branch`, as git_worktree_add
 * does but without its "already checked out" scan of every worktree (see
 * above), undoing its partial work on failure.  The caller holds the lock
 * and has checked that abs and the entry did not exist, so whatever is
 * there now is ours. */
static int gw_add(git_repository *repo, const char *name, const char *abs, const char *branch)
{
	char *dir = gw_entry_path(repo, NULL);
	char *entry = gw_entry_path(repo, name);
	int rc = hive_fs_mkdir_p(dir, 0755, "directory");
	if (rc == 0 && mkdir(entry, 0755) < 0)
		rc = gw_errno(errno, "cannot create directory", entry);
	if (rc == 0 && mkdir(abs, 0755) < 0)
		rc = gw_errno(errno, "cannot create directory", abs);
	if (rc == 0)
		rc = gw_write_entry(entry, abs, branch);
	if (rc == 0)
		rc = gw_checkout_new(abs);
	if (rc) {
		rc = hive_error_prefix("cannot create worktree %s for branch %s", abs, branch);
		gw_rmrf(entry);
		gw_rmrf(abs);
	}
	free(entry);
	free(dir);
	return rc;
}

/* The lock of hive's branch refs/heads/<branch>: a runner SIGKILLed inside
 * the checkpoint commit, or while hive_git_worktree_create moves the branch
 * for a rerun, leaves "<branch>.lock" behind, and every later reset or
 * create of that task failed ("failed to lock file"), failing the flow
 * (found by tests/crash).  Callers hold the flow's lock: no live hive
 * process writes the branch. */
static void gw_drop_stale_branch_lock(git_repository *repo, const char *branch)
{
	hive_buf lock = {0};
	hive_buf_printf(&lock, "%srefs/heads/%s.lock", git_repository_commondir(repo), branch);
	unlink(lock.data);
	hive_buf_dispose(&lock);
}

/* The locked part of hive_git_worktree_create.  Its cost does not depend
 * on how many worktrees or branches the repository has. */
static int gw_create_locked(git_repository *repo, const char *abs, const char *branch,
			    const char *commit, const char *where)
{
	git_reference *ref = NULL;
	int rc = 0;
	char *name = gw_claim_entry(repo, branch);
	if (!name)
		rc = hive_error_last_code();
	if (rc == 0) {
		gw_drop_stale_branch_lock(repo, branch);
		rc = gw_set_branch(&ref, repo, branch, commit, where);
	}
	if (rc == 0)
		rc = gw_add(repo, name, abs, branch);
	free(name);
	git_reference_free(ref);
	return rc;
}

int hive_git_worktree_create(const char *repo_path, const char *worktree_path,
			     const char *branch, const char *commit)
{
	git_repository *repo = NULL;
	char *abs = NULL;
	int fd = -1;
	int rc = gw_check_branch_name(branch);
	if (rc == 0)
		rc = gw_open(&repo, repo_path);
	if (rc == 0)
		rc = gw_prepare_path(worktree_path, &abs);
	if (rc == 0)
		rc = gw_lock(repo, &fd);
	if (rc == 0)
		rc = gw_create_locked(repo, abs, branch, commit, repo_path);
	gw_unlock(fd);
	free(abs);
	gw_close(repo);
	return rc;
}

/* ----------------------------------------------------- reset, commit */

/* Branch, index and files to `c`; then delete untracked files (and ignored
 * ones when wipe_ignored), which git_reset's own checkout leaves alone.
 * REMOVE_UNTRACKED alone skips ignored files, as `git clean -fd` does. */
static int gw_hard_reset(git_repository *repo, git_commit *c, const char *path, const char *spec,
			 int wipe_ignored)
{
	git_checkout_options co;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED |
			       (wipe_ignored ? GIT_CHECKOUT_REMOVE_IGNORED : 0);
	int rc = git_reset(repo, (const git_object *)c, GIT_RESET_HARD, NULL);
	if (rc == 0)
		rc = git_checkout_head(repo, &co);
	if (rc < 0)
		return gw_fail(rc, "cannot reset worktree %s to %s", path, spec);
	return 0;
}

/* A worktree's index.lock can only be stale when the reset runs: hive
 * holds the flow's lock, and the agent or runner that was writing the
 * index is dead (killed on timeout, or the runner was SIGKILLed). */
static void gw_drop_stale_index_lock(git_repository *repo)
{
	hive_buf lock = {0};
	hive_buf_printf(&lock, "%sindex.lock", git_repository_path(repo));
	unlink(lock.data);
	hive_buf_dispose(&lock);
}

/* 1 when the worktree's HEAD is the branch refs/heads/<branch>, 0 when it
 * is another branch or detached (*where_out: a new string naming it). */
static int gw_head_is(git_repository *repo, const char *branch, char **where_out)
{
	git_reference *head = NULL;
	char *want = hive_fs_join("refs/heads", branch);
	int on = 0;
	*where_out = NULL;
	if (git_reference_lookup(&head, repo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		on = strcmp(git_reference_symbolic_target(head), want) == 0;
		*where_out = hive_xstrdup(git_reference_symbolic_target(head));
	} else {
		*where_out = hive_xstrdup("a detached HEAD");
	}
	git_reference_free(head);
	free(want);
	return on;
}

/* Put a worktree whose HEAD something switched back onto hive's branch
 * (only HEAD moves: the branch it was switched to is left alone). */
static int gw_back_to_branch(git_repository *repo, const char *branch, const char *path)
{
	char *where;
	if (gw_head_is(repo, branch, &where)) {
		free(where);
		return 0;
	}
	free(where);
	char *ref = hive_fs_join("refs/heads", branch);
	int rc = git_repository_set_head(repo, ref);
	free(ref);
	return rc < 0 ? gw_fail(rc, "cannot put worktree %s back on its branch %s", path, branch) : 0;
}

int hive_git_worktree_drop_debris(const char *worktree_path)
{
	git_repository *repo = NULL;
	struct stat st;
	if (lstat(worktree_path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (gw_open_worktree(&repo, worktree_path) == 0) {
		git_repository_free(repo);
		return 0;
	}
	hive_error_clear();
	gw_rmrf(worktree_path);
	return 1;
}

int hive_git_worktree_reset(const char *worktree_path, const char *branch, const char *commit,
			    int wipe_ignored)
{
	git_repository *repo;
	git_commit *c = NULL;
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open_worktree(&repo, worktree_path)))
		return rc;
	gw_drop_stale_index_lock(repo);
	gw_drop_stale_branch_lock(repo, branch);
	rc = gw_back_to_branch(repo, branch, worktree_path);
	if (rc == 0)
		rc = gw_commit(&c, repo, commit, worktree_path);
	if (rc == 0)
		rc = gw_hard_reset(repo, c, worktree_path, commit, wipe_ignored);
	git_commit_free(c);
	git_repository_free(repo);
	return rc;
}

/* `git add -A` into the worktree's index, written to disk; *tree_out = the
 * index as a tree.  git_index_add_all also drops files deleted from disk. */
static int gw_stage_all(git_repository *repo, git_oid *tree_out, const char *path)
{
	git_index *idx = NULL;
	int rc = git_repository_index(&idx, repo);
	if (rc == 0)
		rc = git_index_add_all(idx, NULL, GIT_INDEX_ADD_DEFAULT, NULL, NULL);
	if (rc == 0)
		rc = git_index_write(idx);
	if (rc == 0)
		rc = git_index_write_tree(tree_out, idx);
	if (rc < 0)
		rc = gw_fail(rc, "cannot stage the changes in worktree %s", path);
	git_index_free(idx);
	return rc;
}

/* Commit `tree` on HEAD's branch unless it equals HEAD's tree. */
static int gw_commit_if_changed(git_repository *repo, const git_oid *tree, const char *message,
				git_oid *out, int *changed, const char *path)
{
	git_commit *head = NULL;
	git_oid head_id;
	int rc = git_reference_name_to_id(&head_id, repo, "HEAD");
	if (rc == 0)
		rc = git_commit_lookup(&head, repo, &head_id);
	if (rc < 0)
		return gw_fail(rc, "cannot read HEAD of worktree %s", path);
	if (git_oid_equal(git_commit_tree_id(head), tree)) {
		git_oid_cpy(out, &head_id);
	} else {
		const git_commit *parents[1] = {head};
		rc = gw_make_commit(out, repo, "HEAD", message, tree, parents, 1);
		*changed = rc == 0;
	}
	git_commit_free(head);
	return rc;
}

/* Commit only on hive's own branch: a runtime that ran `git switch main`
 * in its worktree must not make the checkpoint advance the user's main. */
static int gw_check_head(git_repository *repo, const char *branch, const char *path)
{
	char *where;
	if (gw_head_is(repo, branch, &where)) {
		free(where);
		return 0;
	}
	int rc = hive_error_set(HIVE_ECONFLICT, "worktree %s is on %s, not on hive's branch %s: something "
				"in the worktree switched branches; hive commits only on its own branch and "
				"left %s alone", path, where, branch, where);
	free(where);
	return rc;
}

int hive_git_checkpoint(const char *worktree_path, const char *branch, const char *message,
			char out[GW_HEXSZ], int *changed_out)
{
	git_repository *repo;
	git_oid tree, result;
	int changed = 0;
	out[0] = '\0';
	if (changed_out)
		*changed_out = 0;
	if (!message || !*message)
		message = "hive checkpoint";
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open_worktree(&repo, worktree_path)))
		return rc;
	/* the runtime's group is gone (hive_proc_wait), so an index.lock
	 * it left can only be stale */
	gw_drop_stale_index_lock(repo);
	rc = gw_check_head(repo, branch, worktree_path);
	if (rc == 0)
		rc = gw_stage_all(repo, &tree, worktree_path);
	if (rc == 0)
		rc = gw_commit_if_changed(repo, &tree, message, &result, &changed, worktree_path);
	if (rc == 0) {
		gw_hex(out, &result);
		if (changed_out)
			*changed_out = changed;
	}
	git_repository_free(repo);
	return rc;
}

/* --------------------------------------------------------------- merge */

/* Collect the conflicting paths of `idx` into a HIVE_ECONFLICT error. */
static int gw_conflicts(git_index *idx, char ***conflicts_out)
{
	git_index_conflict_iterator *it = NULL;
	const git_index_entry *anc, *ours, *theirs;
	hive_strv s = {0};
	if (git_index_conflict_iterator_new(&it, idx) == 0) {
		while (git_index_conflict_next(&anc, &ours, &theirs, it) == 0) {
			const git_index_entry *e = ours ? ours : theirs ? theirs : anc;
			hive_strv_push(&s, e->path);
		}
		git_index_conflict_iterator_free(it);
	}
	size_t n;
	char **paths = gw_strv_finish(&s, &n);
	hive_buf msg = {0};
	hive_buf_puts(&msg, "merge conflict in: ");
	for (size_t i = 0; i < n; i++)
		hive_buf_printf(&msg, "%s%s", i ? ", " : "", paths[i]);
	int rc = hive_error_set(HIVE_ECONFLICT, "%s", hive_buf_str(&msg));
	hive_buf_dispose(&msg);
	if (conflicts_out)
		*conflicts_out = paths;
	else
		hive_strv_free(paths);
	return rc;
}

static int gw_merge_pair(git_repository *repo, const git_commit *a, const git_commit *b,
			 git_oid *tree, char ***conflicts_out, const char *where)
{
	git_merge_options mo;
	git_index *idx = NULL;
	char ha[GW_HEXSZ], hb[GW_HEXSZ];
	git_merge_options_init(&mo, GIT_MERGE_OPTIONS_VERSION);
	int rc = git_merge_commits(&idx, repo, a, b, &mo);
	if (rc < 0) {
		gw_hex(ha, git_commit_id(a));
		gw_hex(hb, git_commit_id(b));
		return gw_fail(rc, "cannot merge %s and %s in repository %s", ha, hb, where);
	}
	if (git_index_has_conflicts(idx))
		rc = gw_conflicts(idx, conflicts_out);
	else if ((rc = git_index_write_tree_to(tree, idx, repo)) < 0)
		rc = gw_fail(rc, "cannot write merged tree in repository %s", where);
	git_index_free(idx);
	return rc;
}

/* Look the commits up, dropping exact duplicates; cs must hold n. */
static int gw_lookup_distinct(git_repository *repo, const char *const *commits, size_t n,
			      git_commit **cs, size_t *k, const char *where)
{
	*k = 0;
	for (size_t i = 0; i < n; i++) {
		git_commit *c;
		int rc = gw_commit(&c, repo, commits[i], where);
		if (rc)
			return rc;
		int dup = 0;
		for (size_t j = 0; j < *k && !dup; j++)
			dup = git_oid_equal(git_commit_id(cs[j]), git_commit_id(c));
		if (dup)
			git_commit_free(c);
		else
			cs[(*k)++] = c;
	}
	return 0;
}

static char *gw_merge_message(const git_commit **cs, size_t k)
{
	hive_buf b = {0};
	char hex[GW_HEXSZ];
	hive_buf_printf(&b, "hive: merge %zu commits\n\n", k);
	for (size_t i = 0; i < k; i++) {
		gw_hex(hex, git_commit_id(cs[i]));
		hive_buf_printf(&b, "%s\n", hex);
	}
	return hive_buf_detach(&b);
}

/* Merge cs[0..k) left to right.  Between steps the partial result becomes
 * an unreferenced two-parent commit, so the next step's merge base is
 * computed from the real history. */
static int gw_merge_all(git_repository *repo, const git_commit **cs, size_t k, const char *message,
			git_oid *out, char ***conflicts_out, const char *where)
{
	git_commit *step = NULL;
	const git_commit *acc = cs[0];
	git_oid tree, mid;
	int rc = 0;
	for (size_t i = 1; rc == 0 && i < k; i++) {
		rc = gw_merge_pair(repo, acc, cs[i], &tree, conflicts_out, where);
		if (rc || i + 1 == k)
			break;
		const git_commit *two[2] = {acc, cs[i]};
		rc = gw_make_commit(&mid, repo, NULL, "hive: partial merge", &tree, two, 2);
		git_commit_free(step);
		step = NULL;
		if (rc == 0 && (rc = git_commit_lookup(&step, repo, &mid)) < 0)
			rc = gw_fail(rc, "cannot read back merge commit in repository %s", where);
		acc = step;
	}
	if (rc == 0) {
		char *msg = message && *message ? hive_xstrdup(message) : gw_merge_message(cs, k);
		rc = gw_make_commit(out, repo, NULL, msg, &tree, cs, k);
		free(msg);
	}
	git_commit_free(step);
	return rc;
}

/* Drop from cs[0..*k) every commit that another one descends from (it
 * adds nothing to the merge); the order of the rest is kept. */
static int gw_drop_ancestors(git_repository *repo, git_commit **cs, size_t *k, const char *where)
{
	size_t w = 0;
	for (size_t i = 0; i < *k; i++) {
		int covered = 0;
		for (size_t j = 0; j < *k && !covered; j++) {
			if (j == i || !cs[j])
				continue;
			int d = git_graph_descendant_of(repo, git_commit_id(cs[j]), git_commit_id(cs[i]));
			if (d < 0)
				return gw_fail(d, "cannot compare the history of two commits in repository %s", where);
			covered = d == 1;
		}
		if (covered) {
			git_commit_free(cs[i]);
			cs[i] = NULL;
		} else {
			cs[w++] = cs[i];
		}
	}
	*k = w;
	return 0;
}

/* Both merges: look the commits up (once each), with reduce drop those
 * another one descends from, then merge what is left (one commit: itself). */
static int gw_merge_commits(const char *repo_path, const char *const *commits, size_t n, const char *message,
			    int reduce, char out[GW_HEXSZ], char ***conflicts_out)
{
	git_repository *repo;
	git_oid oid;
	size_t k = 0;
	out[0] = '\0';
	if (conflicts_out)
		*conflicts_out = NULL;
	if (n == 0 || !commits)
		return hive_error_set(HIVE_EINVALID, "nothing to merge: no commits given");
	int rc = gw_open(&repo, repo_path);
	if (rc)
		return rc;
	git_commit **cs = hive_xcalloc(n, sizeof *cs);
	rc = gw_lookup_distinct(repo, commits, n, cs, &k, repo_path);
	if (rc == 0 && reduce)
		rc = gw_drop_ancestors(repo, cs, &k, repo_path);
	if (rc == 0 && k == 1)
		gw_hex(out, git_commit_id(cs[0]));
	else if (rc == 0 && (rc = gw_merge_all(repo, (const git_commit **)cs, k, message, &oid,
					       conflicts_out, repo_path)) == 0)
		gw_hex(out, &oid);
	for (size_t i = 0; i < k; i++)
		git_commit_free(cs[i]);
	free(cs);
	gw_close(repo);
	return rc;
}

int hive_git_merge(const char *repo_path, const char *const *commits, size_t n,
		   char out[GW_HEXSZ], char ***conflicts_out)
{
	return gw_merge_commits(repo_path, commits, n, NULL, 0, out, conflicts_out);
}

int hive_git_merge_reduced(const char *repo_path, const char *const *commits, size_t n, const char *message,
			   char out[GW_HEXSZ], char ***conflicts_out)
{
	return gw_merge_commits(repo_path, commits, n, message, 1, out, conflicts_out);
}

/* ---------------------------------------------------------------- diff */

static int gw_tree_of(git_tree **out, git_repository *repo, const char *spec, const char *where)
{
	git_commit *c = NULL;
	*out = NULL;
	int rc = gw_commit(&c, repo, spec, where);
	if (rc == 0 && (rc = git_commit_tree(out, c)) < 0)
		rc = gw_fail(rc, "cannot read the tree of commit %s in repository %s", spec, where);
	git_commit_free(c);
	return rc;
}

static int gw_tree_diff(git_diff **out, git_repository *repo, const char *from,
			const char *to, size_t max_bytes, const char *where)
{
	git_diff_options o;
	git_tree *a = NULL, *b = NULL;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	/* one "modified" delta for a file that became a symlink, not two */
	o.flags |= GIT_DIFF_INCLUDE_TYPECHANGE;
	/* a file larger than the whole patch may be is diffed as binary:
	 * libgit2 then reads only its size, never its content (memory stays
	 * bounded whatever a runtime generates) */
	o.max_size = (git_off_t)max_bytes;
	*out = NULL;
	int rc = gw_tree_of(&a, repo, from, where);
	if (rc == 0)
		rc = gw_tree_of(&b, repo, to, where);
	if (rc == 0 && (rc = git_diff_tree_to_tree(out, repo, a, b, &o)) < 0)
		rc = gw_fail(rc, "cannot diff %s..%s in repository %s", from, to, where);
	git_tree_free(a);
	git_tree_free(b);
	return rc;
}

static int gw_diff_counts(git_diff *diff, hive_diff_stats *out, const char *where)
{
	git_diff_stats *st = NULL;
	hive_strv paths = {0};
	size_t n = git_diff_num_deltas(diff);
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status == GIT_DELTA_ADDED)
			out->files_created++;
		else if (d->status == GIT_DELTA_DELETED)
			out->files_deleted++;
		else
			out->files_modified++;
		hive_strv_push(&paths, d->new_file.path ? d->new_file.path : d->old_file.path);
	}
	out->paths = gw_strv_finish(&paths, &out->n_paths);
	int rc = git_diff_get_stats(&st, diff);
	if (rc < 0)
		return gw_fail(rc, "cannot count diff lines in repository %s", where);
	out->insertions = (int)git_diff_stats_insertions(st);
	out->deletions = (int)git_diff_stats_deletions(st);
	git_diff_stats_free(st);
	return 0;
}

typedef struct {
	hive_buf text;
	size_t max;
	hive_diff_stats *st;
} gw_patch_ctx;

/* Append one line as `git diff` prints it, while it fits in max; count
 * every byte. */
static int gw_patch_line(const git_diff_delta *d, const git_diff_hunk *h, const git_diff_line *l, void *vctx)
{
	gw_patch_ctx *c = vctx;
	int prefix = l->origin == GIT_DIFF_LINE_CONTEXT || l->origin == GIT_DIFF_LINE_ADDITION ||
		     l->origin == GIT_DIFF_LINE_DELETION;
	size_t n = l->content_len + (size_t)prefix;
	(void)d; (void)h;
	c->st->patch_bytes += n;
	if (c->st->patch_truncated || c->text.len + n > c->max) {
		c->st->patch_truncated = 1;
		return 0;
	}
	if (prefix)
		hive_buf_putc(&c->text, l->origin);
	hive_buf_append(&c->text, l->content, l->content_len);
	return 0;
}

static int gw_diff_patch(git_diff *diff, size_t max_bytes, hive_diff_stats *st, char **patch_out,
			 const char *where)
{
	gw_patch_ctx c = {.max = max_bytes, .st = st};
	int rc = git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, gw_patch_line, &c);
	if (rc < 0) {
		hive_buf_dispose(&c.text);
		return gw_fail(rc, "cannot format diff in repository %s", where);
	}
	if (st->patch_truncated)
		hive_buf_printf(&c.text, "[... diff cut: %llu of %llu bytes kept (HIVE_MAX_DIFF_BYTES) ...]\n",
				(unsigned long long)c.text.len, (unsigned long long)st->patch_bytes);
	*patch_out = hive_buf_detach(&c.text);
	return 0;
}

int hive_git_diff(const char *repo_path, const char *from, const char *to, size_t max_patch_bytes,
		  hive_diff_stats *out, char **patch_out)
{
	git_repository *repo;
	git_diff *diff = NULL;
	memset(out, 0, sizeof *out);
	if (patch_out)
		*patch_out = NULL;
	int rc = gw_open(&repo, repo_path);
	if (rc)
		return rc;
	if (!max_patch_bytes)
		max_patch_bytes = HIVE_GIT_DIFF_MAX_DEFAULT;
	rc = gw_tree_diff(&diff, repo, from, to, max_patch_bytes, repo_path);
	if (rc == 0)
		rc = gw_diff_counts(diff, out, repo_path);
	if (rc == 0 && patch_out)
		rc = gw_diff_patch(diff, max_patch_bytes, out, patch_out, repo_path);
	if (rc)
		hive_diff_stats_dispose(out);
	git_diff_free(diff);
	gw_close(repo);
	return rc;
}

void hive_diff_stats_dispose(hive_diff_stats *s)
{
	if (!s)
		return;
	hive_strv_free(s->paths);
	memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------ worktree remove */

typedef struct {
	const char *abs;
	git_worktree *found;
} gw_find_ctx;

/* Stop at the entry whose directory is ctx->abs. */
static int gw_match_entry(git_repository *repo, const char *name, void *ctx)
{
	gw_find_ctx *fc = ctx;
	git_worktree *wt = NULL;
	if (git_worktree_lookup(&wt, repo, name) < 0)
		return 0;
	char *p = gw_canon(git_worktree_path(wt));
	int match = strcmp(p, fc->abs) == 0;
	free(p);
	if (!match) {
		git_worktree_free(wt);
		return 0;
	}
	fc->found = wt;
	return 1;
}

/* The locked part of hive_git_worktree_remove. */
static int gw_remove_locked(git_repository *repo, const char *abs, const char *path,
			    const char *where)
{
	gw_find_ctx fc = {abs, NULL};
	int rc = gw_each_entry(repo, gw_match_entry, &fc);
	if (rc < 0)
		return rc;
	if (fc.found) {
		rc = gw_prune(fc.found, GIT_WORKTREE_PRUNE_VALID | GIT_WORKTREE_PRUNE_WORKING_TREE);
		/* prune skips the directory when its .git file is gone; the
		 * entry pointed here, so the directory is still ours */
		if (rc == 0 && gw_exists(abs))
			gw_rmrf(abs);
		git_worktree_free(fc.found);
		return rc;
	}
	if (gw_exists(abs))
		return hive_error_set(HIVE_ENOTFOUND, "%s is not a worktree of repository %s; "
				      "not deleting it", path, where);
	return 0;
}

/* A locked operation on one worktree path: abs canonical, path as the
 * caller gave it, where the repository. */
typedef int (*gw_path_op)(git_repository *repo, const char *abs, const char *path, const char *where);

/* Open repo_path, take its lock, run op on path, undo all of it. */
static int gw_on_path(const char *repo_path, const char *path, const char *what, gw_path_op op)
{
	git_repository *repo;
	int fd = -1;
	if (!path || !*path)
		return hive_error_set(HIVE_EINVALID, "no %s path given", what);
	int rc = gw_open(&repo, repo_path);
	if (rc)
		return rc;
	char *abs = gw_canon(path);
	rc = gw_lock(repo, &fd);
	if (rc == 0)
		rc = op(repo, abs, path, repo_path);
	gw_unlock(fd);
	free(abs);
	gw_close(repo);
	return rc;
}

int hive_git_worktree_remove(const char *repo_path, const char *worktree_path)
{
	return gw_on_path(repo_path, worktree_path, "worktree", gw_remove_locked);
}

/* ----------------------------------------------------- branches */

int hive_git_branch_delete(const char *repo_path, const char *branch, char out[GW_HEXSZ])
{
	return hive_git_branch_delete_at(repo_path, branch, NULL, out, NULL);
}

int hive_git_branch_delete_at(const char *repo_path, const char *branch, const char *expect, char out[GW_HEXSZ],
			      int *moved)
{
	git_repository *repo;
	git_reference *ref = NULL;
	out[0] = '\0';
	if (moved)
		*moved = 0;
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open(&repo, repo_path)))
		return rc;
	int grc = git_branch_lookup(&ref, repo, branch, GIT_BRANCH_LOCAL);
	if (grc == GIT_ENOTFOUND)
		rc = hive_error_set(HIVE_ENOTFOUND, "no branch %s in %s", branch, repo_path);
	else if (grc < 0)
		rc = gw_fail(grc, "cannot look up branch %s", branch);
	else if (git_branch_is_checked_out(ref) == 1)
		rc = hive_error_set(HIVE_ECONFLICT, "branch %s is checked out; not deleting it", branch);
	if (rc == 0 && git_reference_target(ref))
		gw_hex(out, git_reference_target(ref));
	/* SPEC section 12: a branch someone moved is theirs now, not hive's */
	if (rc == 0 && expect && strcmp(out, expect) != 0) {
		if (moved)
			*moved = 1;
		git_reference_free(ref);
		gw_close(repo);
		return 0;
	}
	/* the ref alone: hive's branches have no config section, and
	 * git_branch_delete's config scan leaks in libgit2 1.5 (valgrind) */
	if (rc == 0 && (grc = git_reference_delete(ref)) < 0)
		rc = gw_fail(grc, "cannot delete branch %s", branch);
	git_reference_free(ref);
	gw_close(repo);
	return rc;
}

int hive_git_branch_exists(const char *repo_path, const char *branch)
{
	git_repository *repo;
	git_reference *ref = NULL;
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open(&repo, repo_path)))
		return rc;
	int grc = git_branch_lookup(&ref, repo, branch, GIT_BRANCH_LOCAL);
	rc = grc == 0 ? 1 : grc == GIT_ENOTFOUND ? 0 : gw_fail(grc, "cannot look up branch %s", branch);
	git_reference_free(ref);
	gw_close(repo);
	return rc;
}

int hive_git_branch_set(const char *repo_path, const char *branch, const char *commit)
{
	git_repository *repo;
	git_reference *ref = NULL, *moved = NULL;
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open(&repo, repo_path)))
		return rc;
	int grc = git_branch_lookup(&ref, repo, branch, GIT_BRANCH_LOCAL);
	if (grc < 0 && grc != GIT_ENOTFOUND)
		rc = gw_fail(grc, "cannot look up branch %s", branch);
	else if (grc == 0 && git_branch_is_checked_out(ref) == 1)
		rc = hive_error_set(HIVE_ECONFLICT, "branch %s is checked out in repository %s or one of its "
				    "worktrees; hive will not move it: switch that checkout to another branch first",
				    branch, repo_path);
	if (rc == 0)
		rc = gw_set_branch(&moved, repo, branch, commit, repo_path);
	git_reference_free(moved);
	git_reference_free(ref);
	gw_close(repo);
	return rc;
}

int hive_git_branch_commit(const char *repo_path, const char *branch, char out[GW_HEXSZ])
{
	git_repository *repo;
	git_object *obj = NULL;
	out[0] = '\0';
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open(&repo, repo_path)))
		return rc;
	char *ref = hive_fs_join("refs/heads", branch);
	int grc = git_revparse_single(&obj, repo, ref);
	if (grc == GIT_ENOTFOUND)
		rc = hive_error_set(HIVE_ENOTFOUND, "no branch %s in %s", branch, repo_path);
	else if (grc < 0)
		rc = gw_fail(grc, "cannot read branch %s", branch);
	else
		gw_hex(out, git_object_id(obj));
	git_object_free(obj);
	free(ref);
	gw_close(repo);
	return rc;
}

/* ------------------------------------------------------------- spares */

/*
 * Recycling (docs/lifecycle.md, "Spare worktrees").  A worktree whose task
 * succeeded is parked as a spare instead of being deleted: its directory
 * moves under the data dir, its HEAD is detached (so it holds no branch),
 * and its .git/worktrees entry is renamed "hive-spare-<hash of the spare's
 * path>", so the rule that a hive branch is only ever checked out in the
 * entry named after it (gw_entry_name) still holds.  Adopting a spare
 * resets it in place to the new base (only files that differ are written;
 * untracked and ignored files go), then moves it and its entry to the
 * task's path and branch.  Each step that git reads is one rename or an
 * atomic file replacement, and every state a crash can leave is either a
 * consistent spare, a task worktree, or debris that hive_git_spare_discard,
 * hive_git_worktree_drop_debris, gw_claim_entry or
 * hive_git_worktree_prune_dead removes.
 */

/* Tests only: HIVE_TEST_KILL_AT="park:N" or "adopt:N" SIGKILLs this
 * process right after step N of parking or adopting a spare, so that
 * tests/cli/test_lifecycle_spares.sh can check that every state a crash
 * leaves is cleaned up by the next run, the flow's end or `hive gc`. */
static void gw_test_kill(const char *op, int step)
{
	const char *at = getenv("HIVE_TEST_KILL_AT");
	char want[32];
	snprintf(want, sizeof want, "%s:%d", op, step);
	if (at && strcmp(at, want) == 0)
		kill(getpid(), SIGKILL);
}

/* rm -rf that also gets through what a runtime may leave: directories
 * without permissions or read-only (ours: made writable first), FIFOs and
 * sockets (unlinked, never opened).  Symlinks are not followed. */
static int gw_rm_force(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
	if ((st.st_mode & 0700) != 0700)
		chmod(path, st.st_mode | 0700);
	DIR *d = opendir(path);
	int rc = 0;
	if (d) {
		hive_strv names = {0};
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				hive_strv_push(&names, e->d_name);
		closedir(d);
		for (size_t i = 0; i < names.n; i++) {
			char *p = hive_fs_join(path, names.v[i]);
			rc |= gw_rm_force(p);
			free(p);
		}
		hive_strv_free(names.v);
	}
	return rmdir(path) == 0 || errno == ENOENT ? rc : -1;
}

/* New string: the whole small file dir/name with trailing newlines cut;
 * NULL when it cannot be read. */
static char *gw_read_text(const char *dir, const char *name)
{
	char *p = name ? hive_fs_join(dir, name) : hive_xstrdup(dir);
	/* a runtime may have replaced a worktree's .git with a FIFO (open
	 * and read would block for ever, holding the repository's lock), a
	 * device or a symlink: only a regular file is read */
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(p);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	hive_buf b = {0};
	char chunk[512];
	ssize_t n;
	while (b.len < 65536 && ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			hive_buf_append(&b, chunk, (size_t)n);
	close(fd);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (!b.data)
		hive_buf_puts(&b, "");
	return hive_buf_detach(&b);
}

/* Replace dir/name with `text` atomically (a sibling temp file renamed
 * over it): git never sees half a gitdir or HEAD. */
static int gw_replace_file(const char *dir, const char *name, const char *text)
{
	hive_buf tmp = {0};
	hive_buf_printf(&tmp, "%s.hive-tmp", name);
	char *t = hive_fs_join(dir, tmp.data), *p = hive_fs_join(dir, name);
	unlink(t);
	int rc = gw_write_file(dir, tmp.data, text);
	if (rc == 0 && rename(t, p) != 0)
		rc = gw_errno(errno, "cannot replace", p);
	if (rc)
		unlink(t);
	free(t);
	free(p);
	hive_buf_dispose(&tmp);
	return rc;
}

/* New string: the entry a spare at abs is registered under. */
static char *gw_spare_entry(git_repository *repo, const char *abs)
{
	hive_buf name = {0};
	hive_buf_printf(&name, "hive-spare-%08" PRIx32, gw_fnv1a(abs));
	char *p = gw_entry_path(repo, name.data);
	hive_buf_dispose(&name);
	return p;
}

/* 1 when entry (a .git/worktrees/<name> path) belongs to the worktree at
 * abs, or to nothing that exists any more (its gitdir names a missing
 * .git, or it has none): either way it is safe to delete for abs. */
static int gw_entry_is_for(const char *entry, const char *abs)
{
	char *gitdir = gw_read_text(entry, "gitdir");
	hive_buf want = {0};
	hive_buf_printf(&want, "%s/.git", abs);
	int mine = !gitdir || strcmp(gitdir, want.data) == 0 || !gw_exists(gitdir);
	free(gitdir);
	hive_buf_dispose(&want);
	return mine;
}

/* New string: the entry a worktree's .git file at abs points at; NULL
 * when there is none or it is not one of hive's entries of this repo. */
static char *gw_entry_of(git_repository *repo, const char *abs)
{
	char *dotgit = gw_read_text(abs, ".git");
	char *dir = gw_entry_path(repo, NULL);
	char *entry = NULL;
	size_t n = strlen(dir);
	if (dotgit && strncmp(dotgit, "gitdir: ", 8) == 0 && strncmp(dotgit + 8, dir, n) == 0 &&
	    strncmp(dotgit + 8 + n, "/hive-", 6) == 0 && !strchr(dotgit + 8 + n + 1, '/'))
		entry = hive_xstrdup(dotgit + 8);
	free(dotgit);
	free(dir);
	return entry;
}

/* 1 when abs is a spare registered as entry: its .git names the entry and
 * the entry's gitdir names its .git, with HEAD and commondir present. */
static int gw_spare_consistent(const char *abs, const char *entry)
{
	char *dotgit = gw_read_text(abs, ".git");
	hive_buf want = {0};
	hive_buf_printf(&want, "gitdir: %s", entry);
	int ok = dotgit && strcmp(dotgit, want.data) == 0 && gw_has_file(entry, "HEAD") &&
		 gw_has_file(entry, "commondir");
	hive_buf_reset(&want);
	hive_buf_printf(&want, "%s/.git", abs);
	char *gitdir = gw_read_text(entry, "gitdir");
	ok = ok && gitdir && strcmp(gitdir, want.data) == 0;
	free(gitdir);
	free(dotgit);
	hive_buf_dispose(&want);
	return ok;
}

/* The locked part of hive_git_spare_discard: the spare's entry (by its
 * name, and the one its .git names, when they are for it or for nothing),
 * then its directory. */
static int gw_discard_locked(git_repository *repo, const char *abs, const char *path, const char *where)
{
	(void)path;
	(void)where;
	char *named = gw_spare_entry(repo, abs), *pointed = gw_entry_of(repo, abs);
	if (gw_exists(named) && gw_entry_is_for(named, abs))
		gw_rm_force(named);
	if (pointed && gw_exists(pointed) && gw_entry_is_for(pointed, abs))
		gw_rm_force(pointed);
	free(named);
	free(pointed);
	if (gw_rm_force(abs) != 0)
		return gw_errno(errno, "cannot delete spare worktree", abs);
	return 0;
}

int hive_git_spare_discard(const char *repo_path, const char *spare_path)
{
	return gw_on_path(repo_path, spare_path, "spare worktree", gw_discard_locked);
}

/* Drop what a finished task's git left in its entry (ORIG_HEAD, reflogs,
 * rebase state, temp files): a spare's entry holds HEAD, commondir,
 * gitdir and index, as a fresh one does after its checkout. */
static void gw_scrub_entry(const char *entry)
{
	static const char *const keep[] = {"HEAD", "commondir", "gitdir", "index"};
	DIR *d = opendir(entry);
	if (!d)
		return;
	hive_strv drop = {0};
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int k = e->d_name[0] == '.';
		for (size_t i = 0; i < sizeof keep / sizeof *keep && !k; i++)
			k = strcmp(e->d_name, keep[i]) == 0;
		if (!k)
			hive_strv_push(&drop, e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < drop.n; i++) {
		char *p = hive_fs_join(entry, drop.v[i]);
		gw_rm_force(p);
		free(p);
	}
	hive_strv_free(drop.v);
}

/* HEAD of entry as "<hex>\n": the commit its branch (or detached HEAD)
 * is at, read through the shared refs of repo. */
static int gw_detached_head(git_repository *repo, const char *entry, hive_buf *out)
{
	char *head = gw_read_text(entry, "HEAD");
	git_oid oid;
	int rc = -1;
	if (head && strncmp(head, "ref: ", 5) == 0)
		rc = git_reference_name_to_id(&oid, repo, head + 5);
	else if (head)
		rc = git_oid_fromstr(&oid, head);
	if (rc < 0) {
		rc = hive_error_set(HIVE_ESYSTEM, "cannot read HEAD of worktree entry %s (%s)", entry,
				    head ? head : "missing");
	} else {
		char hex[GW_HEXSZ];
		gw_hex(hex, &oid);
		hive_buf_printf(out, "%s\n", hex);
	}
	free(head);
	return rc;
}

/* The locked part of hive_git_worktree_park; see the order above. */
static int gw_park_locked(git_repository *repo, const char *wt, const char *spare)
{
	char *old = gw_entry_of(repo, wt), *entry = gw_spare_entry(repo, spare);
	hive_buf head = {0}, text = {0};
	int rc = 0;
	if (!old || !gw_spare_consistent(wt, old))
		rc = hive_error_set(HIVE_EINVALID, "%s is not a worktree hive made; not keeping it as a spare", wt);
	else if (gw_has_file(old, "locked"))
		rc = hive_error_set(HIVE_ECONFLICT, "worktree %s is locked; not keeping it as a spare", wt);
	else if (gw_exists(spare))
		rc = hive_error_set(HIVE_ECONFLICT, "spare worktree path %s already exists", spare);
	else if (gw_exists(entry) && !gw_entry_is_for(entry, spare))
		rc = hive_error_set(HIVE_ECONFLICT, "worktree entry %s belongs to another worktree", entry);
	if (rc == 0 && gw_exists(entry))
		gw_rm_force(entry);
	if (rc == 0)
		rc = gw_detached_head(repo, old, &head);
	if (rc == 0) {
		gw_scrub_entry(old);
		rc = gw_replace_file(old, "HEAD", head.data);
	}
	if (rc == 0)
		gw_test_kill("park", 1);
	if (rc == 0 && rename(wt, spare) != 0)
		rc = gw_errno(errno, "cannot move worktree to", spare);
	if (rc == 0)
		gw_test_kill("park", 2);
	if (rc == 0 && rename(old, entry) != 0)
		rc = gw_errno(errno, "cannot rename worktree entry", old);
	if (rc == 0) {
		gw_test_kill("park", 3);
		hive_buf_printf(&text, "%s/.git\n", spare);
		rc = gw_replace_file(entry, "gitdir", text.data);
	}
	if (rc == 0) {
		gw_test_kill("park", 4);
		hive_buf_reset(&text);
		hive_buf_printf(&text, "gitdir: %s\n", entry);
		rc = gw_replace_file(spare, ".git", text.data);
	}
	hive_buf_dispose(&head);
	hive_buf_dispose(&text);
	free(old);
	free(entry);
	return rc;
}

int hive_git_worktree_park(const char *repo_path, const char *worktree_path, const char *spare_path)
{
	git_repository *repo;
	int fd = -1;
	char *spare = NULL;
	if (!worktree_path || !*worktree_path || !spare_path || !*spare_path)
		return hive_error_set(HIVE_EINVALID, "no worktree or spare path given");
	int rc = gw_open(&repo, repo_path);
	if (rc)
		return rc;
	char *wt = gw_canon(worktree_path);
	rc = gw_prepare_path(spare_path, &spare);
	if (rc == 0)
		rc = gw_lock(repo, &fd);
	if (rc == 0)
		rc = gw_park_locked(repo, wt, spare);
	gw_unlock(fd);
	free(spare);
	free(wt);
	gw_close(repo);
	return rc;
}

/* Is the symlink at path (rel inside the worktree) in the index, as a
 * symlink to the same target?  Only then does the checkout know it is a
 * link: one the index does not know (a tracked file or directory swapped
 * for a link after hive staged the worktree, e.g. by a check, or an
 * ignored link where the next base has a directory) would be followed,
 * and the base's content written wherever it points. */
static int gw_link_known(git_index *idx, const char *path, const char *rel)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof target);
	const git_index_entry *e = idx ? git_index_get_bypath(idx, rel, 0) : NULL;
	git_oid oid;
	return n >= 0 && (size_t)n < sizeof target && e && e->mode == GIT_FILEMODE_LINK &&
	       git_odb_hash(&oid, target, (size_t)n, GIT_OBJECT_BLOB) == 0 && git_oid_equal(&oid, &e->id);
}

/* Is everything under dir (rel inside the worktree, NULL at its top)
 * something the checkout can reset: regular files, symlinks the index
 * knows (gw_link_known), and directories the owner may read, write and
 * enter, with no repository of their own inside?  A FIFO, socket or
 * device (git neither tracks nor removes them), an unknown symlink, a
 * locked-down directory or a nested .git are refused: such a spare is
 * not reused. */
static int gw_spare_sane(const char *dir, const char *rel, git_index *idx)
{
	int top = rel == NULL;
	DIR *d = opendir(dir);
	if (!d)
		return hive_error_set(HIVE_ECONFLICT, "cannot read %s: %s", dir, strerror(errno));
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || (top && strcmp(e->d_name, ".git") == 0))
			continue;
		char *p = hive_fs_join(dir, e->d_name);
		char *r = top ? hive_xstrdup(e->d_name) : hive_fs_join(rel, e->d_name);
		struct stat st;
		if (lstat(p, &st) != 0)
			rc = hive_error_set(HIVE_ECONFLICT, "cannot stat %s: %s", p, strerror(errno));
		else if (!top && strcmp(e->d_name, ".git") == 0)
			rc = hive_error_set(HIVE_ECONFLICT, "%s is a nested repository", p);
		else if (S_ISDIR(st.st_mode) && (st.st_mode & 0700) != 0700)
			rc = hive_error_set(HIVE_ECONFLICT, "directory %s is not writable", p);
		else if (S_ISDIR(st.st_mode))
			rc = gw_spare_sane(p, r, idx);
		else if (S_ISLNK(st.st_mode) && !gw_link_known(idx, p, r))
			rc = hive_error_set(HIVE_ECONFLICT, "symlink %s is not in the index as a symlink", p);
		else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			rc = hive_error_set(HIVE_ECONFLICT, "%s is neither a file nor a directory", p);
		free(r);
		free(p);
	}
	closedir(d);
	return rc;
}

/* Reset the spare at abs, in place and still detached, to exactly
 * commit's tree: index and tracked files (only those that differ are
 * written), untracked and ignored files deleted. */
static int gw_spare_reset(const char *abs, const char *commit)
{
	git_repository *wt = NULL;
	git_commit *c = NULL;
	git_checkout_options co;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED | GIT_CHECKOUT_REMOVE_IGNORED;
	git_index *idx = NULL;
	char *dotgit = hive_fs_join(abs, ".git");
	struct stat st;
	int rc = 0;
	/* checked before libgit2 opens it: it would follow a symlink */
	if (lstat(dotgit, &st) != 0 || !S_ISREG(st.st_mode))
		rc = hive_error_set(HIVE_ECONFLICT, "%s is not a worktree's .git file", dotgit);
	free(dotgit);
	if (rc == 0)
		rc = gw_open_worktree(&wt, abs);
	if (rc == 0) {
		gw_drop_stale_index_lock(wt);
		if (git_repository_index(&idx, wt) < 0)
			rc = gw_fail(-1, "cannot read the index of spare worktree %s", abs);
	}
	if (rc == 0)
		rc = gw_spare_sane(abs, NULL, idx);
	git_index_free(idx);
	if (rc == 0)
		rc = gw_commit(&c, wt, commit, abs);
	if (rc == 0 && (rc = git_checkout_tree(wt, (const git_object *)c, &co)) < 0)
		rc = gw_fail(rc, "cannot reset spare worktree %s to %s", abs, commit);
	git_commit_free(c);
	git_repository_free(wt);
	return rc;
}

/* The locked part of hive_git_worktree_adopt, after the reset: branch at
 * commit, the entry renamed after the branch, the directory moved, and
 * the links between them rewritten.  HEAD names the branch before the
 * entry gets its name, so a crash in between leaves an entry that
 * gw_claim_entry prunes (it holds the branch, and its directory is gone
 * once the spare is discarded). */
static int gw_adopt_locked(git_repository *repo, const char *spare, const char *entry, const char *abs,
			   const char *branch, const char *commit, const char *where)
{
	git_reference *ref = NULL;
	hive_buf text = {0};
	char *target = NULL;
	int rc = 0;
	char *name = gw_claim_entry(repo, branch);
	if (!name)
		rc = hive_error_last_code();
	if (rc == 0) {
		gw_drop_stale_branch_lock(repo, branch);
		rc = gw_set_branch(&ref, repo, branch, commit, where);
	}
	if (rc == 0) {
		gw_test_kill("adopt", 2);
		target = gw_entry_path(repo, name);
		hive_buf_printf(&text, "ref: refs/heads/%s\n", branch);
		rc = gw_replace_file(entry, "HEAD", text.data);
	}
	if (rc == 0)
		gw_test_kill("adopt", 3);
	if (rc == 0 && rename(entry, target) != 0)
		rc = gw_errno(errno, "cannot rename worktree entry", entry);
	int renamed = rc == 0 && target;
	if (rc == 0)
		gw_test_kill("adopt", 4);
	if (rc == 0 && rename(spare, abs) != 0)
		rc = gw_errno(errno, "cannot move spare worktree to", abs);
	if (rc == 0) {
		gw_test_kill("adopt", 5);
		hive_buf_reset(&text);
		hive_buf_printf(&text, "%s/.git\n", abs);
		rc = gw_replace_file(target, "gitdir", text.data);
	}
	if (rc == 0) {
		hive_buf_reset(&text);
		gw_test_kill("adopt", 6);
		hive_buf_printf(&text, "gitdir: %s\n", target);
		rc = gw_replace_file(abs, ".git", text.data);
	}
	if (rc && renamed) { /* undo: target did not exist before, abs neither */
		if (!gw_exists(spare))
			gw_rm_force(abs);
		gw_rm_force(target);
	}
	hive_buf_dispose(&text);
	git_reference_free(ref);
	free(target);
	free(name);
	return rc;
}

int hive_git_worktree_adopt(const char *repo_path, const char *spare_path, const char *worktree_path,
			    const char *branch, const char *commit)
{
	git_repository *repo;
	int fd = -1;
	char *abs = NULL;
	int rc = gw_check_branch_name(branch);
	if (rc || (rc = gw_open(&repo, repo_path)))
		return rc;
	char *spare = gw_canon(spare_path), *entry = gw_spare_entry(repo, spare);
	rc = gw_prepare_path(worktree_path, &abs);
	if (rc)
		goto out; /* the caller's path: the spare stays as it is */
	if (!gw_spare_consistent(spare, entry)) {
		rc = hive_error_set(HIVE_ENOTFOUND, "%s is not a usable spare worktree", spare);
	} else {
		/* the reset works in the spare alone, through its own handle:
		 * the shared one (and its lock) is free meanwhile, so other
		 * attempts' git work goes on */
		gw_close(repo);
		repo = NULL;
		rc = gw_spare_reset(spare, commit);
		int orc = gw_open(&repo, repo_path);
		if (orc) {
			rc = rc ? rc : orc;
			goto out;
		}
	}
	if (rc == 0)
		gw_test_kill("adopt", 1);
	int lrc = gw_lock(repo, &fd);
	if (lrc) {
		rc = rc ? rc : lrc;
		goto out;
	}
	if (rc == 0)
		rc = gw_adopt_locked(repo, spare, entry, abs, branch, commit, repo_path);
	if (rc && gw_exists(spare)) { /* a spare that failed once is never reused */
		char *why = hive_xstrdup(hive_error_last());
		gw_discard_locked(repo, spare, spare, repo_path);
		rc = hive_error_set(rc, "%s", why);
		free(why);
	}
out:
	gw_unlock(fd);
	free(abs);
	free(entry);
	free(spare);
	gw_close(repo);
	return rc;
}

/* Delete entry `name` when it is hive's and dead: its gitdir names a
 * .git that no longer exists (or it lacks one of its files: debris). */
static int gw_prune_if_dead(git_repository *repo, const char *name, void *ctx)
{
	int *pruned = ctx;
	if (strncmp(name, "hive-", 5) != 0)
		return 0;
	char *entry = gw_entry_path(repo, name);
	char *gitdir = gw_read_text(entry, "gitdir");
	int dead = !gw_has_file(entry, "locked") &&
		   (!gitdir || !gw_exists(gitdir) || !gw_has_file(entry, "HEAD") || !gw_has_file(entry, "commondir"));
	if (dead && gw_rm_force(entry) == 0)
		(*pruned)++;
	free(gitdir);
	free(entry);
	return 0;
}

int hive_git_worktree_prune_dead(const char *repo_path, int *pruned_out)
{
	git_repository *repo;
	int fd = -1, pruned = 0;
	int rc = gw_open(&repo, repo_path);
	if (rc)
		return rc;
	rc = gw_lock(repo, &fd);
	if (rc == 0)
		rc = gw_each_entry(repo, gw_prune_if_dead, &pruned);
	gw_unlock(fd);
	gw_close(repo);
	if (pruned_out)
		*pruned_out = pruned;
	return rc;
}
