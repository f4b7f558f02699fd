/*
 * test_gitws.c - git workspaces against real repositories.
 *
 * Each test builds a fresh "user" repository with libgit2 in a temp dir:
 * one commit (base), then a dirty checkout on top of it -- an uncommitted
 * edit, a staged new file and an untracked file -- so any operation that
 * leaks into the user's checkout (HEAD, index, files, branches) is caught
 * by comparing a snapshot taken before with one taken after every step.
 */
#include "tests/unit/testutil.h"

#include "core/gitws.h"
#include "events/buf.h"
#include "events/fs.h"
#include "events/error.h"
#include "events/strv.h"

#include <git2.h>

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

typedef struct {
	char *head_file;      /* .git/HEAD as text */
	char head_oid[41];
	char *branches;       /* non-hive local branches, "name=oid\n" each */
	char *index;          /* .git/index bytes */
	size_t index_len;
	char *a_txt;          /* the uncommitted edit */
	char *untracked;      /* the untracked file */
	char *status;         /* git status, "path:flags\n" each */
} snapshot;

typedef struct {
	char *dir;            /* temp root, removed at teardown */
	char *repo;           /* the user's checkout: dir/user */
	char *data;           /* hive's data dir: dir/data (outside the repo) */
	char base[41];        /* the user's one commit */
	snapshot user;        /* the user's checkout before any hive call */
} fixture;

/* ------------------------------------------------------------ helpers */

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);
	snprintf(s, n, "%s/%s", a, b);
	return s;
}

static void write_at(const char *dir, const char *rel, const char *content)
{
	char *p = path_join(dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0777);
	*slash = '/';
	tu_write_file(p, content);
	free(p);
}

static char *read_at(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	char *s = tu_read_file(p);
	free(p);
	return s;
}

static int exists_at(const char *dir, const char *rel)
{
	struct stat st;
	char *p = path_join(dir, rel);
	int r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static void assert_file(const char *dir, const char *rel, const char *want)
{
	char *got = read_at(dir, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static char *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return s;
}

/* Commit everything in the user's checkout as the user would (test setup
 * only; hive never does this). */
static void user_commit_all(const char *repo_path, const char *msg, char out[41])
{
	git_repository *repo;
	git_index *idx;
	git_signature *sig;
	git_oid tree_id, id, head_id;
	git_tree *tree;
	git_commit *parent = NULL;
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(git_repository_index(&idx, repo), 0);
	assert_int_equal(git_index_add_all(idx, NULL, 0, NULL, NULL), 0);
	assert_int_equal(git_index_write(idx), 0);
	assert_int_equal(git_index_write_tree(&tree_id, idx), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tree_id), 0);
	assert_int_equal(git_signature_new(&sig, "User", "user@example.com", 1700000000, 0), 0);
	if (git_reference_name_to_id(&head_id, repo, "HEAD") == 0)
		assert_int_equal(git_commit_lookup(&parent, repo, &head_id), 0);
	const git_commit *parents[1] = {parent};
	assert_int_equal(git_commit_create(&id, repo, "HEAD", sig, sig, NULL, msg, tree,
					   parent ? 1 : 0, parents), 0);
	git_oid_tostr(out, 41, &id);
	git_commit_free(parent);
	git_tree_free(tree);
	git_signature_free(sig);
	git_index_free(idx);
	git_repository_free(repo);
}

static void user_stage(const char *repo_path, const char *rel)
{
	git_repository *repo;
	git_index *idx;
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(git_repository_index(&idx, repo), 0);
	assert_int_equal(git_index_add_bypath(idx, rel), 0);
	assert_int_equal(git_index_write(idx), 0);
	git_index_free(idx);
	git_repository_free(repo);
}

static void append_str(char **s, const char *add)
{
	size_t a = *s ? strlen(*s) : 0, b = strlen(add);
	*s = realloc(*s, a + b + 1);
	memcpy(*s + a, add, b + 1);
}

static char *user_branches(git_repository *repo)
{
	git_branch_iterator *it;
	git_reference *ref;
	git_branch_t type;
	char *s = strdup("");
	assert_int_equal(git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL), 0);
	while (git_branch_next(&ref, &type, it) == 0) {
		const char *name = git_reference_name(ref);
		if (strncmp(name, "refs/heads/hive/", 16) != 0) {
			char line[512], hex[41];
			git_oid_tostr(hex, sizeof hex, git_reference_target(ref));
			snprintf(line, sizeof line, "%s=%s\n", name, hex);
			append_str(&s, line);
		}
		git_reference_free(ref);
	}
	git_branch_iterator_free(it);
	return s;
}

static char *user_status(git_repository *repo)
{
	git_status_options o;
	git_status_list *list;
	char *s = strdup("");
	git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION);
	o.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
	assert_int_equal(git_status_list_new(&list, repo, &o), 0);
	for (size_t i = 0; i < git_status_list_entrycount(list); i++) {
		const git_status_entry *e = git_status_byindex(list, i);
		const git_diff_delta *d = e->head_to_index ? e->head_to_index : e->index_to_workdir;
		char line[512];
		snprintf(line, sizeof line, "%s:%x\n", d->new_file.path, (unsigned)e->status);
		append_str(&s, line);
	}
	git_status_list_free(list);
	return s;
}

static void snap_take(snapshot *s, const char *repo_path)
{
	git_repository *repo;
	git_oid oid;
	char *p;
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	s->head_file = read_at(repo_path, ".git/HEAD");
	assert_int_equal(git_reference_name_to_id(&oid, repo, "HEAD"), 0);
	git_oid_tostr(s->head_oid, sizeof s->head_oid, &oid);
	s->branches = user_branches(repo);
	s->status = user_status(repo);
	p = path_join(repo_path, ".git/index");
	s->index = read_bytes(p, &s->index_len);
	free(p);
	s->a_txt = read_at(repo_path, "a.txt");
	s->untracked = read_at(repo_path, "notes.untracked");
	git_repository_free(repo);
}

static void snap_free(snapshot *s)
{
	free(s->head_file);
	free(s->branches);
	free(s->status);
	free(s->index);
	free(s->a_txt);
	free(s->untracked);
	memset(s, 0, sizeof *s);
}

/* The user's checkout is exactly as it was before hive ran. */
static void assert_user_untouched(fixture *f)
{
	snapshot now = {0};
	snap_take(&now, f->repo);
	assert_string_equal(now.head_file, f->user.head_file);
	assert_string_equal(now.head_oid, f->user.head_oid);
	assert_string_equal(now.branches, f->user.branches);
	assert_string_equal(now.status, f->user.status);
	assert_int_equal(now.index_len, f->user.index_len);
	assert_memory_equal(now.index, f->user.index, now.index_len);
	assert_non_null(now.a_txt);
	assert_string_equal(now.a_txt, f->user.a_txt);
	assert_non_null(now.untracked);
	assert_string_equal(now.untracked, f->user.untracked);
	snap_free(&now);
}

/* Worktree path dir/data/<name> (new string). */
static char *wt_path(fixture *f, const char *name)
{
	return path_join(f->data, name);
}

/* Branch a worktree's HEAD points to, and the commit it resolves to. */
static void assert_wt_head(const char *wt, const char *branch_ref, const char *commit)
{
	git_repository *repo;
	git_reference *head;
	char hex[41];
	assert_int_equal(git_repository_open(&repo, wt), 0);
	assert_int_equal(git_repository_head(&head, repo), 0);
	assert_string_equal(git_reference_name(head), branch_ref);
	git_oid_tostr(hex, sizeof hex, git_reference_target(head));
	assert_string_equal(hex, commit);
	git_reference_free(head);
	git_repository_free(repo);
}

/* Content of `path` in commit `hex` of the repo, or NULL (new string). */
static char *commit_file(const char *repo_path, const char *hex, const char *path)
{
	git_repository *repo;
	git_oid oid;
	git_commit *c;
	git_tree *t;
	git_tree_entry *e;
	git_blob *b;
	char *s = NULL;
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(git_oid_fromstr(&oid, hex), 0);
	assert_int_equal(git_commit_lookup(&c, repo, &oid), 0);
	assert_int_equal(git_commit_tree(&t, c), 0);
	if (git_tree_entry_bypath(&e, t, path) == 0) {
		assert_int_equal(git_blob_lookup(&b, repo, git_tree_entry_id(e)), 0);
		s = strndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
		git_blob_free(b);
		git_tree_entry_free(e);
	}
	git_tree_free(t);
	git_commit_free(c);
	git_repository_free(repo);
	return s;
}

static void assert_commit_file(const char *repo, const char *hex, const char *path, const char *want)
{
	char *got = commit_file(repo, hex, path);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Parents of commit `hex` as "p1 p2 ..." (new string). */
static char *commit_parents(const char *repo_path, const char *hex)
{
	git_repository *repo;
	git_oid oid;
	git_commit *c;
	char *s = strdup("");
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(git_oid_fromstr(&oid, hex), 0);
	assert_int_equal(git_commit_lookup(&c, repo, &oid), 0);
	for (unsigned i = 0; i < git_commit_parentcount(c); i++) {
		char p[42];
		git_oid_tostr(p, 41, git_commit_parent_id(c, i));
		if (i)
			append_str(&s, " ");
		append_str(&s, p);
	}
	git_commit_free(c);
	git_repository_free(repo);
	return s;
}

static size_t worktree_count(const char *repo_path)
{
	git_repository *repo;
	git_strarray names;
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	assert_int_equal(git_worktree_list(&names, repo), 0);
	size_t n = names.count;
	git_strarray_dispose(&names);
	git_repository_free(repo);
	return n;
}

static int branch_target(const char *repo_path, const char *branch, char hex[41])
{
	git_repository *repo;
	git_reference *ref;
	assert_int_equal(git_repository_open(&repo, repo_path), 0);
	int rc = git_branch_lookup(&ref, repo, branch, GIT_BRANCH_LOCAL);
	if (rc == 0) {
		git_oid_tostr(hex, 41, git_reference_target(ref));
		git_reference_free(ref);
	}
	git_repository_free(repo);
	return rc;
}

/* Create a worktree on `branch` from base, write `rel`=`content` in it and
 * checkpoint; out = the checkpoint commit. */
static void branch_with_change(fixture *f, const char *name, const char *branch,
			       const char *rel, const char *content, char out[41])
{
	char *wt = wt_path(f, name);
	int changed = 0;
	assert_int_equal(hive_git_worktree_create(f->repo, wt, branch, f->base), 0);
	write_at(wt, rel, content);
	assert_int_equal(hive_git_checkpoint(wt, branch, "change", out, &changed), 0);
	assert_int_equal(changed, 1);
	free(wt);
}

/* ------------------------------------------------------------ fixture */

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	git_repository *repo;
	assert_int_equal(hive_git_init(), 0);
	f->dir = tu_tmpdir();
	f->repo = path_join(f->dir, "user");
	f->data = path_join(f->dir, "data");
	assert_int_equal(git_repository_init(&repo, f->repo, 0), 0);
	git_repository_free(repo);
	write_at(f->repo, "a.txt", "line1\nline2\nline3\n");
	write_at(f->repo, "b.txt", "bye\n");
	write_at(f->repo, ".gitignore", "*.log\n");
	write_at(f->repo, "sub/keep.txt", "keep\n");
	user_commit_all(f->repo, "base", f->base);
	/* the user's work in progress, which hive must leave alone */
	write_at(f->repo, "a.txt", "user edit, not committed\n");
	write_at(f->repo, "staged.txt", "staged by the user\n");
	user_stage(f->repo, "staged.txt");
	write_at(f->repo, "notes.untracked", "user's untracked notes\n");
	snap_take(&f->user, f->repo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_rmrf(f->dir);
	snap_free(&f->user);
	free(f->dir);
	free(f->repo);
	free(f->data);
	free(f);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	git_libgit2_shutdown(); /* balances hive_git_init's one git_libgit2_init */
	return 0;
}

/* ------------------------------------------------------------- tests */

/* repo_check accepts a repo (and a subdir of it, giving the top level),
 * rejects a plain directory and a repository without commits. */
static void test_repo_check(void **state)
{
	fixture *f = *state;
	char *top = NULL, *sub = path_join(f->repo, "sub");
	char *real = realpath(f->repo, NULL);
	char head[41];

	assert_int_equal(hive_git_repo_check(f->repo, &top), 0);
	assert_string_equal(top, real);
	free(top);
	assert_int_equal(hive_git_repo_check(sub, &top), 0);
	assert_string_equal(top, real);
	free(top);
	assert_int_equal(hive_git_repo_check(f->repo, NULL), 0);
	assert_int_equal(hive_git_head(sub, head), 0);
	assert_string_equal(head, f->base);

	char *plain = path_join(f->dir, "plain");
	assert_int_equal(mkdir(plain, 0777), 0);
	top = (char *)"sentinel";
	assert_int_equal(hive_git_repo_check(plain, &top), HIVE_EINVALID);
	assert_null(top);
	assert_non_null(strstr(hive_error_last(), "not a git repository: "));
	assert_non_null(strstr(hive_error_last(), plain));

	char *empty = path_join(f->dir, "empty");
	git_repository *repo;
	assert_int_equal(git_repository_init(&repo, empty, 0), 0);
	git_repository_free(repo);
	assert_int_equal(hive_git_repo_check(empty, NULL), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "has no commits yet; commit something first"));
	assert_int_equal(hive_git_head(empty, head), HIVE_EINVALID);

	assert_user_untouched(f);
	free(empty);
	free(plain);
	free(real);
	free(sub);
}

/* A worktree gets the committed files (not the user's edits) on its own
 * branch, and the user's checkout stays as it was. */
static void test_worktree_create(void **state)
{
	fixture *f = *state;
	char *wt = path_join(f->data, "flows/fix-login/fix");  /* parents do not exist */

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/fix-login/fix", f->base), 0);
	assert_user_untouched(f);
	assert_file(wt, "a.txt", "line1\nline2\nline3\n");
	assert_file(wt, "b.txt", "bye\n");
	assert_file(wt, "sub/keep.txt", "keep\n");
	assert_false(exists_at(wt, "staged.txt"));
	assert_false(exists_at(wt, "notes.untracked"));
	assert_wt_head(wt, "refs/heads/hive/fix-login/fix", f->base);
	assert_int_equal(worktree_count(f->repo), 1);

	char head[41];
	assert_int_equal(hive_git_head(wt, head), 0);
	assert_string_equal(head, f->base);

	/* an existing path is refused, and nothing is created for it */
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/fix-login/other", f->base),
			 HIVE_ECONFLICT);
	assert_non_null(strstr(hive_error_last(), "already exists"));
	char hex[41];
	assert_int_equal(branch_target(f->repo, "hive/fix-login/other", hex), GIT_ENOTFOUND);

	/* bad inputs */
	char *wt2 = wt_path(f, "bad");
	assert_int_equal(hive_git_worktree_create(f->repo, wt2, "bad..name", f->base), HIVE_EINVALID);
	assert_int_equal(hive_git_worktree_create(f->repo, wt2, "hive/x/y",
						  "0123456789012345678901234567890123456789"),
			 HIVE_ENOTFOUND);
	assert_false(exists_at(f->data, "bad"));
	assert_int_equal(worktree_count(f->repo), 1);
	assert_user_untouched(f);
	free(wt2);
	free(wt);
}

/* Checkpoint stages new, modified, deleted files (not ignored ones) and the
 * diff against the start reports them exactly. */
static void test_checkpoint_and_diff(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t1");
	char out[41];
	int changed = -1;

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t1", f->base), 0);
	write_at(wt, "a.txt", "line1\nLINE2\nline3\nline4\n");  /* +2 -1 */
	char *b = path_join(wt, "b.txt");
	assert_int_equal(unlink(b), 0);                         /* -1 */
	free(b);
	write_at(wt, "new.txt", "n1\nn2\n");                    /* +2 */
	write_at(wt, "sub/deep.txt", "deep\n");                 /* +1 */
	char *bin = path_join(wt, "bin.dat");
	FILE *fp = fopen(bin, "wb");
	assert_non_null(fp);
	fwrite("\0\1\2\0binary\0", 1, 12, fp);
	fclose(fp);
	free(bin);
	write_at(wt, "debug.log", "ignored\n");

	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t1", "attempt 1", out, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(strlen(out), 40);
	assert_string_not_equal(out, f->base);
	assert_wt_head(wt, "refs/heads/hive/f/t1", out);
	char *parents = commit_parents(f->repo, out);
	assert_string_equal(parents, f->base);
	free(parents);
	assert_null(commit_file(f->repo, out, "debug.log"));
	assert_user_untouched(f);

	hive_diff_stats st;
	char *patch = NULL;
	assert_int_equal(hive_git_diff(f->repo, f->base, out, 0, &st, &patch), 0);
	assert_int_equal(st.files_created, 3);
	assert_int_equal(st.files_modified, 1);
	assert_int_equal(st.files_deleted, 1);
	assert_int_equal(st.insertions, 5);
	assert_int_equal(st.deletions, 2);
	assert_int_equal(st.n_paths, 5);
	const char *want[] = {"a.txt", "b.txt", "bin.dat", "new.txt", "sub/deep.txt"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(st.paths[i], want[i]);
	assert_null(st.paths[5]);
	assert_non_null(strstr(patch, "diff --git a/a.txt b/a.txt\n"));
	assert_non_null(strstr(patch, "@@ -1,3 +1,4 @@\n line1\n-line2\n+LINE2\n line3\n+line4\n"));
	assert_non_null(strstr(patch, "diff --git a/b.txt b/b.txt\ndeleted file mode 100644\n"));
	assert_non_null(strstr(patch, "-bye\n"));
	assert_non_null(strstr(patch, "diff --git a/new.txt b/new.txt\nnew file mode 100644\n"));
	assert_non_null(strstr(patch, "+n1\n+n2\n"));
	assert_non_null(strstr(patch, "Binary files /dev/null and b/bin.dat differ"));
	assert_null(strstr(patch, "debug.log"));
	hive_diff_stats_dispose(&st);
	assert_null(st.paths);
	free(patch);

	/* no patch wanted, empty diff */
	assert_int_equal(hive_git_diff(f->repo, out, out, 0, &st, NULL), 0);
	assert_int_equal(st.n_paths, 0);
	assert_non_null(st.paths);
	assert_null(st.paths[0]);
	assert_int_equal(st.insertions + st.deletions + st.files_created, 0);
	hive_diff_stats_dispose(&st);

	/* unknown commit */
	assert_int_equal(hive_git_diff(f->repo, f->base, "feedfacefeedfacefeedfacefeedfacefeedface", 0,
				       &st, &patch), HIVE_ENOTFOUND);
	assert_null(st.paths);
	assert_null(patch);
	assert_non_null(strstr(hive_error_last(), "feedface"));
	assert_user_untouched(f);
	free(wt);
}

/* Without changes (or with only ignored files) no commit is made. */
/* A patch is cut at the limit and says so; a file larger than the limit is
 * diffed as binary (its content is never loaded). */
static void test_diff_is_bounded(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "big");
	char out[HIVE_GIT_OID_HEXSZ + 1];
	hive_diff_stats st;
	char *patch = NULL;
	hive_buf lines = {0}, huge = {0};
	for (int i = 0; i < 40; i++)
		hive_buf_printf(&lines, "line %d of a generated file\n", i);
	for (int i = 0; i < 4000; i++)
		hive_buf_printf(&huge, "a huge generated line %d\n", i);
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/big", f->base), 0);
	for (int i = 0; i < 10; i++) {
		char name[32];
		snprintf(name, sizeof name, "a-lines-%d.txt", i);
		write_at(wt, name, lines.data); /* 1.2 KB each */
	}
	write_at(wt, "z-huge.txt", huge.data); /* 100 KB */
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/big", "big", out, NULL), 0);
	assert_int_equal(hive_git_diff(f->repo, f->base, out, 65536, &st, &patch), 0);
	assert_int_equal(st.files_created, 11);
	assert_int_equal(st.insertions, 400); /* z-huge.txt counts as binary */
	assert_true(st.patch_truncated == 0);
	assert_non_null(strstr(patch, "Binary files /dev/null and b/z-huge.txt differ"));
	free(patch);
	hive_diff_stats_dispose(&st);
	assert_int_equal(hive_git_diff(f->repo, f->base, out, 2048, &st, &patch), 0);
	assert_true(st.patch_truncated);
	assert_true(st.patch_bytes > 10000);
	assert_true(strlen(patch) < 2048 + 100);
	assert_non_null(strstr(patch, "[... diff cut: "));
	assert_memory_equal(patch, "diff --git a/a-lines-0.txt b/a-lines-0.txt\n", 43);
	free(patch);
	hive_diff_stats_dispose(&st);
	hive_buf_dispose(&lines);
	hive_buf_dispose(&huge);
	free(wt);
}

static void test_checkpoint_no_changes(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t2");
	char out[41];
	int changed = -1;

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t2", f->base), 0);
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t2", "nothing", out, &changed), 0);
	assert_int_equal(changed, 0);
	assert_string_equal(out, f->base);
	write_at(wt, "build.log", "only ignored output\n");
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t2", NULL, out, NULL), 0);
	assert_string_equal(out, f->base);
	assert_wt_head(wt, "refs/heads/hive/f/t2", f->base);
	assert_user_untouched(f);
	free(wt);
}

/* Reset drops committed and uncommitted changes, untracked and ignored
 * files; it refuses the user's checkout. */
static void test_worktree_reset(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t3");
	char out[41];

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t3", f->base), 0);
	write_at(wt, "a.txt", "attempt 1\n");
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t3", "attempt 1", out, NULL), 0);
	write_at(wt, "b.txt", "uncommitted\n");
	write_at(wt, "untracked.txt", "x\n");
	write_at(wt, "newdir/deeper.txt", "y\n");
	write_at(wt, "out.log", "ignored\n");
	char *keep = path_join(wt, "sub/keep.txt");
	assert_int_equal(unlink(keep), 0);
	free(keep);

	assert_int_equal(hive_git_worktree_reset(wt, "hive/f/t3", f->base, 1), 0);
	assert_file(wt, "a.txt", "line1\nline2\nline3\n");
	assert_file(wt, "b.txt", "bye\n");
	assert_file(wt, "sub/keep.txt", "keep\n");
	assert_false(exists_at(wt, "untracked.txt"));
	assert_false(exists_at(wt, "newdir"));
	assert_false(exists_at(wt, "out.log"));
	assert_true(exists_at(wt, ".git"));
	assert_wt_head(wt, "refs/heads/hive/f/t3", f->base);
	/* the index matches too: nothing to checkpoint */
	int changed = -1;
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t3", "after reset", out, &changed), 0);
	assert_int_equal(changed, 0);
	assert_string_equal(out, f->base);
	assert_user_untouched(f);

	/* never the user's checkout, nor a directory inside a worktree */
	assert_int_equal(hive_git_worktree_reset(f->repo, "hive/f/t3", f->base, 1), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "not a linked worktree"));
	assert_int_equal(hive_git_checkpoint(f->repo, "hive/f/t3", "no", out, NULL), HIVE_EINVALID);
	char *sub = path_join(wt, "sub");
	assert_int_equal(hive_git_worktree_reset(sub, "hive/f/t3", f->base, 1), HIVE_EINVALID);
	free(sub);
	assert_user_untouched(f);
	free(wt);
}

/* Without wipe_ignored (retry modes clean and continue) the reset works as
 * `git clean -fd`: ignored files and directories (build caches) stay,
 * untracked ones go. */
static void test_worktree_reset_keeps_ignored(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t3k");

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t3k", f->base), 0);
	write_at(wt, "a.txt", "changed\n");
	write_at(wt, "untracked.txt", "x\n");
	write_at(wt, "out.log", "ignored\n");
	write_at(wt, "newdir/cache.log", "ignored in an untracked dir\n");
	assert_int_equal(hive_git_worktree_reset(wt, "hive/f/t3k", f->base, 0), 0);
	assert_file(wt, "a.txt", "line1\nline2\nline3\n");
	assert_false(exists_at(wt, "untracked.txt"));
	assert_file(wt, "out.log", "ignored\n");
	assert_file(wt, "newdir/cache.log", "ignored in an untracked dir\n");
	assert_int_equal(hive_git_worktree_reset(wt, "hive/f/t3k", f->base, 1), 0);
	assert_false(exists_at(wt, "out.log"));
	assert_false(exists_at(wt, "newdir"));
	assert_user_untouched(f);
	free(wt);
}

/* A runner SIGKILLed inside the checkpoint commit leaves the lock of the
 * task's branch behind (tests/crash found it): the next reset removes it
 * and succeeds, where it failed with "failed to lock file".  A lock on a
 * branch that is not hive's is left alone. */
static void test_reset_after_stale_branch_lock(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t4");
	char out[41];

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t4", f->base), 0);
	write_at(wt, "a.txt", "attempt 1\n");
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t4", "attempt 1", out, NULL), 0);
	write_at(f->repo, ".git/refs/heads/hive/f/t4.lock", "");
	write_at(f->repo, ".git/refs/heads/user-branch.lock", "");

	assert_int_equal(hive_git_worktree_reset(wt, "hive/f/t4", f->base, 1), 0);
	assert_wt_head(wt, "refs/heads/hive/f/t4", f->base);
	assert_false(exists_at(f->repo, ".git/refs/heads/hive/f/t4.lock"));
	assert_true(exists_at(f->repo, ".git/refs/heads/user-branch.lock"));
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t4", "attempt 2", out, NULL), 0);
	assert_user_untouched(f);
	free(wt);
}

/* A runner SIGKILLed while hive_git_worktree_create force-moves an
 * existing branch (a task's rerun) leaves that branch's lock: the next
 * create removes it and succeeds (tests/crash found it). */
static void test_create_after_stale_branch_lock(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t5");
	char out[41];

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t5", f->base), 0);
	write_at(wt, "a.txt", "attempt 1\n");
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/t5", "attempt 1", out, NULL), 0);
	assert_int_equal(hive_git_worktree_remove(f->repo, wt), 0);
	write_at(f->repo, ".git/refs/heads/hive/f/t5.lock", "");

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t5", f->base), 0);
	assert_wt_head(wt, "refs/heads/hive/f/t5", f->base);
	assert_false(exists_at(f->repo, ".git/refs/heads/hive/f/t5.lock"));
	assert_user_untouched(f);
	free(wt);
}

/* What a runner killed inside hive_git_worktree_create leaves (a
 * directory without .git, or with a partial .git file) is deleted, and the
 * worktree can be created there; a usable worktree and a missing path are
 * left alone (tests/crash found the debris failing the task for good). */
static void test_drop_worktree_debris(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t6");

	assert_int_equal(hive_git_worktree_drop_debris(wt), 0);
	assert_int_equal(hive_fs_mkdir_p(wt, 0700, "worktree"), 0);
	write_at(wt, "half-checked-out.txt", "x\n");
	assert_int_equal(hive_git_worktree_drop_debris(wt), 1);
	assert_false(exists_at(wt, ""));
	assert_int_equal(hive_fs_mkdir_p(wt, 0700, "worktree"), 0);
	write_at(wt, ".git", "");
	write_at(wt, "a.txt", "x\n");
	assert_int_equal(hive_git_worktree_drop_debris(wt), 1);
	assert_false(exists_at(wt, ""));

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/t6", f->base), 0);
	write_at(wt, "work.txt", "in progress\n");
	assert_int_equal(hive_git_worktree_drop_debris(wt), 0);
	assert_file(wt, "work.txt", "in progress\n");
	assert_wt_head(wt, "refs/heads/hive/f/t6", f->base);
	assert_user_untouched(f);
	free(wt);
}

/* Two branches changing different files merge into one commit with both
 * changes and the parents in order; n == 1 is the commit itself. */
static void test_merge_clean(void **state)
{
	fixture *f = *state;
	char c1[41], c2[41], c3[41], m[41];
	char **conflicts = (char **)1;

	branch_with_change(f, "m1", "hive/f/m1", "x.txt", "from m1\n", c1);
	branch_with_change(f, "m2", "hive/f/m2", "b.txt", "bye from m2\n", c2);
	const char *two[] = {c1, c2};
	assert_int_equal(hive_git_merge(f->repo, two, 2, m, &conflicts), 0);
	assert_null(conflicts);
	assert_commit_file(f->repo, m, "x.txt", "from m1\n");
	assert_commit_file(f->repo, m, "b.txt", "bye from m2\n");
	assert_commit_file(f->repo, m, "a.txt", "line1\nline2\nline3\n");
	char want[83];
	snprintf(want, sizeof want, "%s %s", c1, c2);
	char *parents = commit_parents(f->repo, m);
	assert_string_equal(parents, want);
	free(parents);

	/* three-way: parents in the given order, all changes */
	branch_with_change(f, "m3", "hive/f/m3", "sub/m3.txt", "m3\n", c3);
	const char *three[] = {c3, c1, c2};
	assert_int_equal(hive_git_merge(f->repo, three, 3, m, NULL), 0);
	parents = commit_parents(f->repo, m);
	char want3[140];
	snprintf(want3, sizeof want3, "%s %s %s", c3, c1, c2);
	assert_string_equal(parents, want3);
	free(parents);
	assert_commit_file(f->repo, m, "sub/m3.txt", "m3\n");
	assert_commit_file(f->repo, m, "x.txt", "from m1\n");
	assert_commit_file(f->repo, m, "b.txt", "bye from m2\n");

	const char *one[] = {c1};
	assert_int_equal(hive_git_merge(f->repo, one, 1, m, NULL), 0);
	assert_string_equal(m, c1);
	const char *dup[] = {c1, c1};
	assert_int_equal(hive_git_merge(f->repo, dup, 2, m, NULL), 0);
	assert_string_equal(m, c1);
	assert_int_equal(hive_git_merge(f->repo, one, 0, m, NULL), HIVE_EINVALID);
	assert_user_untouched(f);
}

/* hive_git_merge_reduced (flow land, rebase): a commit another one contains
 * is dropped, so a base with one result built on it is a fast-forward (no
 * new commit); diverged results get one merge commit with the message. */
static void test_merge_reduced(void **state)
{
	fixture *f = *state;
	char c1[41], c2[41], m[41];
	char **conflicts = (char **)1;

	branch_with_change(f, "r1", "hive/f/r1", "x.txt", "from r1\n", c1);
	branch_with_change(f, "r2", "hive/f/r2", "y.txt", "from r2\n", c2);
	const char *base_one[] = {f->base, c1};
	assert_int_equal(hive_git_merge_reduced(f->repo, base_one, 2, NULL, m, &conflicts), 0);
	assert_null(conflicts);
	assert_string_equal(m, c1);
	const char *one_base[] = {c1, f->base};
	assert_int_equal(hive_git_merge_reduced(f->repo, one_base, 2, NULL, m, NULL), 0);
	assert_string_equal(m, c1);

	const char *three[] = {f->base, c1, c2};
	assert_int_equal(hive_git_merge_reduced(f->repo, three, 3, "hive: land flow f", m, NULL), 0);
	char want[83];
	snprintf(want, sizeof want, "%s %s", c1, c2);
	char *parents = commit_parents(f->repo, m);
	assert_string_equal(parents, want);
	free(parents);
	assert_commit_file(f->repo, m, "x.txt", "from r1\n");
	assert_commit_file(f->repo, m, "y.txt", "from r2\n");
	git_repository *repo;
	git_oid oid;
	git_commit *c;
	assert_int_equal(git_repository_open(&repo, f->repo), 0);
	assert_int_equal(git_oid_fromstr(&oid, m), 0);
	assert_int_equal(git_commit_lookup(&c, repo, &oid), 0);
	assert_string_equal(git_commit_message(c), "hive: land flow f");
	git_commit_free(c);
	git_repository_free(repo);
	assert_int_equal(hive_git_merge_reduced(f->repo, three, 0, NULL, m, NULL), HIVE_EINVALID);
	assert_user_untouched(f);
}

/* hive_git_branch_set / _commit: create, force-move, read; a branch checked
 * out anywhere (a worktree, the user's current branch) is never moved. */
static void test_branch_set(void **state)
{
	fixture *f = *state;
	char c1[41], out[41];
	char *wt = wt_path(f, "bs");

	assert_int_equal(hive_git_branch_commit(f->repo, "hive/f/landed", out), HIVE_ENOTFOUND);
	branch_with_change(f, "s1", "hive/f/s1", "x.txt", "s1\n", c1);
	assert_int_equal(hive_git_branch_set(f->repo, "hive/f/landed", f->base), 0);
	assert_int_equal(hive_git_branch_commit(f->repo, "hive/f/landed", out), 0);
	assert_string_equal(out, f->base);
	assert_int_equal(hive_git_branch_set(f->repo, "hive/f/landed", c1), 0);
	assert_int_equal(hive_git_branch_commit(f->repo, "hive/f/landed", out), 0);
	assert_string_equal(out, c1);

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/busy", f->base), 0);
	assert_int_equal(hive_git_branch_set(f->repo, "hive/f/busy", c1), HIVE_ECONFLICT);
	assert_non_null(strstr(hive_error_last(), "checked out"));
	assert_int_equal(hive_git_branch_commit(f->repo, "hive/f/busy", out), 0);
	assert_string_equal(out, f->base);

	git_repository *repo;
	git_reference *head;
	assert_int_equal(git_repository_open(&repo, f->repo), 0);
	assert_int_equal(git_repository_head(&head, repo), 0);
	char *user_branch = strdup(git_reference_shorthand(head));
	git_reference_free(head);
	git_repository_free(repo);
	assert_int_equal(hive_git_branch_set(f->repo, user_branch, c1), HIVE_ECONFLICT);
	assert_int_equal(hive_git_branch_set(f->repo, "bad..name", c1), HIVE_EINVALID);
	assert_int_equal(hive_git_branch_set(f->repo, "hive/f/x", "0123456789012345678901234567890123456789"),
			 HIVE_ENOTFOUND);
	free(user_branch);
	assert_user_untouched(f);
	free(wt);
}

/* Both sides change the same lines: HIVE_ECONFLICT with the paths, sorted. */
static void test_merge_conflict(void **state)
{
	fixture *f = *state;
	char c1[41], c2[41], m[41];
	char **conflicts = NULL;
	char *wt1 = wt_path(f, "k1"), *wt2 = wt_path(f, "k2");
	int changed;

	assert_int_equal(hive_git_worktree_create(f->repo, wt1, "hive/f/k1", f->base), 0);
	assert_int_equal(hive_git_worktree_create(f->repo, wt2, "hive/f/k2", f->base), 0);
	write_at(wt1, "b.txt", "one\n");
	write_at(wt1, "a.txt", "line1\nfrom k1\nline3\n");
	write_at(wt1, "ok.txt", "no conflict\n");
	write_at(wt2, "a.txt", "line1\nfrom k2\nline3\n");
	write_at(wt2, "b.txt", "two\n");
	assert_int_equal(hive_git_checkpoint(wt1, "hive/f/k1", "k1", c1, &changed), 0);
	assert_int_equal(hive_git_checkpoint(wt2, "hive/f/k2", "k2", c2, &changed), 0);

	const char *two[] = {c1, c2};
	m[0] = 'x';
	assert_int_equal(hive_git_merge(f->repo, two, 2, m, &conflicts), HIVE_ECONFLICT);
	assert_string_equal(hive_error_last(), "merge conflict in: a.txt, b.txt");
	assert_non_null(conflicts);
	assert_string_equal(conflicts[0], "a.txt");
	assert_string_equal(conflicts[1], "b.txt");
	assert_null(conflicts[2]);
	assert_string_equal(m, "");
	hive_strv_free(conflicts);
	/* conflicts_out is optional */
	assert_int_equal(hive_git_merge(f->repo, two, 2, m, NULL), HIVE_ECONFLICT);
	/* the worktrees were not touched by the merge */
	assert_file(wt1, "a.txt", "line1\nfrom k1\nline3\n");
	assert_file(wt2, "a.txt", "line1\nfrom k2\nline3\n");
	assert_user_untouched(f);
	free(wt1);
	free(wt2);
}

/* Re-running a task: the same branch gets a new worktree, force-moved back
 * to the start commit; a crashed run's stale entry is pruned; a live one
 * blocks. */
static void test_worktree_rerun(void **state)
{
	fixture *f = *state;
	char *p1 = wt_path(f, "run1"), *p2 = wt_path(f, "run2"), *p3 = wt_path(f, "run3");
	char c[41], hex[41];

	branch_with_change(f, "run1", "hive/f/re", "a.txt", "run 1\n", c);
	assert_int_equal(branch_target(f->repo, "hive/f/re", hex), 0);
	assert_string_equal(hex, c);

	/* the branch is live in run1: refused, nothing created */
	assert_int_equal(hive_git_worktree_create(f->repo, p2, "hive/f/re", f->base), HIVE_ECONFLICT);
	assert_non_null(strstr(hive_error_last(), "already checked out"));
	assert_false(exists_at(f->data, "run2"));
	assert_int_equal(branch_target(f->repo, "hive/f/re", hex), 0);
	assert_string_equal(hex, c);

	/* after a proper removal, a re-run at the same path */
	assert_int_equal(hive_git_worktree_remove(f->repo, p1), 0);
	assert_int_equal(hive_git_worktree_create(f->repo, p1, "hive/f/re", f->base), 0);
	assert_file(p1, "a.txt", "line1\nline2\nline3\n");
	assert_wt_head(p1, "refs/heads/hive/f/re", f->base);

	/* crash: the directory vanished but the entry stayed */
	tu_rmrf(p1);
	assert_int_equal(worktree_count(f->repo), 1);
	assert_int_equal(hive_git_worktree_create(f->repo, p3, "hive/f/re", f->base), 0);
	assert_int_equal(worktree_count(f->repo), 1);
	assert_wt_head(p3, "refs/heads/hive/f/re", f->base);
	assert_file(p3, "b.txt", "bye\n");

	/* the user's current branch is never moved */
	git_repository *repo;
	git_reference *head;
	assert_int_equal(git_repository_open(&repo, f->repo), 0);
	assert_int_equal(git_repository_head(&head, repo), 0);
	char *user_branch = strdup(git_reference_shorthand(head));
	git_reference_free(head);
	git_repository_free(repo);
	assert_int_equal(hive_git_worktree_create(f->repo, p2, user_branch, c), HIVE_ECONFLICT);
	assert_false(exists_at(f->data, "run2"));
	free(user_branch);

	assert_user_untouched(f);
	free(p1);
	free(p2);
	free(p3);
}

/* Branches of ended flows (hive gc --branches): deleted only when no
 * checkout holds them; the commit they pointed at is returned. */
static void test_branch_exists_and_delete(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "bd");
	char out[41];

	assert_int_equal(hive_git_branch_exists(f->repo, "hive/f/bd"), 0);
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/bd", f->base), 0);
	assert_int_equal(hive_git_branch_exists(f->repo, "hive/f/bd"), 1);
	assert_int_equal(hive_git_branch_delete(f->repo, "hive/f/bd", out), HIVE_ECONFLICT);
	assert_non_null(strstr(hive_error_last(), "checked out"));
	assert_int_equal(hive_git_branch_exists(f->repo, "hive/f/bd"), 1);
	assert_int_equal(hive_git_worktree_remove(f->repo, wt), 0);
	assert_int_equal(hive_git_branch_delete(f->repo, "hive/f/bd", out), 0);
	assert_string_equal(out, f->base);
	assert_int_equal(hive_git_branch_exists(f->repo, "hive/f/bd"), 0);
	assert_int_equal(hive_git_branch_delete(f->repo, "hive/f/bd", out), HIVE_ENOTFOUND);
	assert_int_equal(hive_git_branch_delete(f->repo, "bad..name", out), HIVE_EINVALID);
	assert_user_untouched(f);
	free(wt);
}

/* Remove deletes the directory and the entry, keeps the branch, is
 * idempotent, and never deletes a directory that is not a worktree. */
static void test_worktree_remove(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "gone"), *other = wt_path(f, "not-a-worktree");
	char c[41], hex[41];

	branch_with_change(f, "gone", "hive/f/gone", "new.txt", "x\n", c);
	write_at(wt, "untracked.txt", "y\n");
	assert_int_equal(worktree_count(f->repo), 1);
	assert_int_equal(hive_git_worktree_remove(f->repo, wt), 0);
	assert_false(exists_at(f->data, "gone"));
	assert_int_equal(worktree_count(f->repo), 0);
	assert_int_equal(branch_target(f->repo, "hive/f/gone", hex), 0);
	assert_string_equal(hex, c);
	assert_int_equal(hive_git_worktree_remove(f->repo, wt), 0);

	write_at(other, "precious.txt", "keep me\n");
	assert_int_equal(hive_git_worktree_remove(f->repo, other), HIVE_ENOTFOUND);
	assert_file(other, "precious.txt", "keep me\n");
	assert_int_equal(hive_git_worktree_remove(f->repo, f->repo), HIVE_ENOTFOUND);
	assert_user_untouched(f);
	free(wt);
	free(other);
}

/* The name of the only entry in .git/worktrees starting with prefix (new
 * string), NULL if none. */
static char *entry_named(const char *repo_path, const char *prefix)
{
	char *dir = path_join(repo_path, ".git/worktrees");
	DIR *d = opendir(dir);
	char *found = NULL;
	struct dirent *e;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			assert_null(found);
			found = strdup(e->d_name);
		}
	closedir(d);
	free(dir);
	return found;
}

/* An entry left half-written by a crash made libgit2 1.5's
 * git_worktree_add report every branch as "already checked out".  hive
 * adds worktrees itself and looks only at the entry of the branch it adds:
 * other broken entries (hive's or the user's) neither block it nor are
 * touched; its own branch's half-written entry is dropped and made again.
 * The result is a worktree git and libgit2 accept. */
static void test_crash_debris(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "after-crash");
	char *dir = path_join(f->repo, ".git/worktrees");
	assert_int_equal(mkdir(dir, 0777), 0);
	free(dir);
	write_at(f->repo, ".git/worktrees/hive-f-dead-00000000/gitdir", "/nowhere/.git\n");
	char *empty = path_join(f->repo, ".git/worktrees/hive-f-dead-00000001");
	assert_int_equal(mkdir(empty, 0777), 0);
	write_at(f->repo, ".git/worktrees/users-own/gitdir", "/elsewhere/.git\n");

	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/after", f->base), 0);
	assert_file(wt, "b.txt", "bye\n");
	assert_true(exists_at(f->repo, ".git/worktrees/hive-f-dead-00000000/gitdir"));
	assert_true(exists_at(f->repo, ".git/worktrees/hive-f-dead-00000001"));
	assert_true(exists_at(f->repo, ".git/worktrees/users-own/gitdir"));
	assert_wt_head(wt, "refs/heads/hive/f/after", f->base);

	/* a crash inside the next create of the same branch: the entry lacks
	 * HEAD (written last) and the directory is half made */
	char *name = entry_named(f->repo, "hive-f-after-");
	assert_non_null(name);
	char head[512];
	snprintf(head, sizeof head, ".git/worktrees/%s/HEAD", name);
	char *headp = path_join(f->repo, head);
	assert_int_equal(unlink(headp), 0);
	tu_rmrf(wt);
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/after", f->base), 0);
	assert_true(exists_at(f->repo, head));
	assert_wt_head(wt, "refs/heads/hive/f/after", f->base);
	assert_file(wt, "b.txt", "bye\n");

	/* git itself sees a valid worktree on the branch */
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "git -C '%s' worktree list --porcelain | grep -qx 'branch refs/heads/hive/f/after'", f->repo);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "git -C '%s' status --porcelain | grep -q .", wt);
	assert_int_not_equal(system(cmd), 0); /* clean: index and files match */

	assert_int_equal(hive_git_worktree_remove(f->repo, wt), 0);
	assert_false(exists_at(f->repo, head));
	assert_true(exists_at(f->repo, ".git/worktrees/users-own/gitdir"));
	assert_user_untouched(f);
	free(headp);
	free(name);
	free(empty);
	free(wt);
}

/* ------------------------------------------------------ parallel tasks */

#define N_PAR 8

typedef struct {
	fixture *f;
	int i;
	int rc;
	char err[256];
	char commit[41];
	int created;
} par_job;

static int par_step(par_job *j, int rc)
{
	if (rc && !j->rc) {
		j->rc = rc;
		snprintf(j->err, sizeof j->err, "%s", hive_error_last());
	}
	return rc;
}

/* No cmocka asserts here: they are not thread-safe. */
static void *par_task(void *arg)
{
	par_job *j = arg;
	char name[32], branch[64], file[32], wt[4096];
	hive_diff_stats st;
	snprintf(name, sizeof name, "p%d", j->i);
	snprintf(branch, sizeof branch, "hive/par/t%d", j->i);
	snprintf(file, sizeof file, "f%d.txt", j->i);
	snprintf(wt, sizeof wt, "%s/%s", j->f->data, name);
	if (par_step(j, hive_git_worktree_create(j->f->repo, wt, branch, j->f->base)))
		return NULL;
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", wt, file);
	FILE *fp = fopen(path, "w");
	if (!fp)
		return par_step(j, -100), NULL;
	fprintf(fp, "task %d\n", j->i);
	fclose(fp);
	if (par_step(j, hive_git_checkpoint(wt, branch, "par", j->commit, NULL)))
		return NULL;
	if (par_step(j, hive_git_diff(j->f->repo, j->f->base, j->commit, 0, &st, NULL)))
		return NULL;
	j->created = st.files_created;
	hive_diff_stats_dispose(&st);
	return NULL;
}

/* Another hive process creating and removing worktrees in the same repo;
 * exit status 0 when all its calls succeeded. */
static void par_other_process(fixture *f)
{
	int bad = 0;
	for (int i = 0; i < 4; i++) {
		char wt[4096], branch[64];
		snprintf(wt, sizeof wt, "%s/proc%d", f->data, i);
		snprintf(branch, sizeof branch, "hive/proc/t%d", i);
		bad |= hive_git_worktree_create(f->repo, wt, branch, f->base) != 0;
		bad |= hive_git_worktree_remove(f->repo, wt) != 0;
	}
	if (bad)
		fprintf(stderr, "other process: %s\n", hive_error_last());
	_exit(bad);
}

/* Eight tasks at once on one repository (in libgit2 1.5, unserialised
 * worktree adds fail here almost every run), while another process adds
 * and removes worktrees too; then one merge of all results. */
static void test_parallel_tasks(void **state)
{
	fixture *f = *state;
	pthread_t th[N_PAR];
	par_job jobs[N_PAR];
	const char *commits[N_PAR];
	char m[41];
	int status;

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		par_other_process(f);
	for (int i = 0; i < N_PAR; i++) {
		jobs[i] = (par_job){.f = f, .i = i};
		assert_int_equal(pthread_create(&th[i], NULL, par_task, &jobs[i]), 0);
	}
	for (int i = 0; i < N_PAR; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (int i = 0; i < N_PAR; i++) {
		if (jobs[i].rc)
			fail_msg("task %d: %d %s", i, jobs[i].rc, jobs[i].err);
		assert_int_equal(jobs[i].created, 1);
		commits[i] = jobs[i].commit;
	}
	assert_int_equal(worktree_count(f->repo), N_PAR);
	assert_int_equal(hive_git_merge(f->repo, commits, N_PAR, m, NULL), 0);
	char *parents = commit_parents(f->repo, m);
	assert_int_equal(strlen(parents), N_PAR * 41 - 1);
	assert_memory_equal(parents, commits[0], 40);
	free(parents);
	for (int i = 0; i < N_PAR; i++) {
		char file[32], want[32];
		snprintf(file, sizeof file, "f%d.txt", i);
		snprintf(want, sizeof want, "task %d\n", i);
		assert_commit_file(f->repo, m, file, want);
	}
	assert_user_untouched(f);
}

/* ------------------------------------------------------------- spares */

/* write_at, with every missing parent directory made */
static void write_deep(const char *dir, const char *rel, const char *content)
{
	char *p = path_join(dir, rel);
	*strrchr(p, '/') = '\0';
	assert_int_equal(hive_fs_mkdir_p(p, 0755, "directory"), 0);
	free(p);
	write_at(dir, rel, content);
}

static ino_t inode_at(const char *dir, const char *rel)
{
	struct stat st;
	char *p = path_join(dir, rel);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st.st_ino;
}

/* A succeeded task's worktree parked as a spare holds no branch; adopted
 * for the next task it is exactly a fresh checkout of that task's base:
 * committed, untracked and ignored files of the first task gone, deleted
 * and modified files back, modes back, index matching (nothing to
 * checkpoint), HEAD on the new branch; a file that did not change is not
 * rewritten (same inode). */
static void test_spare_park_and_adopt(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "t1"), *spare = wt_path(f, "spares/0"), *wt2 = wt_path(f, "t2");
	char out[41], hex[41];
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/s1", f->base), 0);
	write_at(wt, "a.txt", "changed by task 1\n");
	write_at(wt, "added.txt", "committed by task 1\n");
	char *b = path_join(wt, "b.txt");
	assert_int_equal(unlink(b), 0);
	free(b);
	char *k = path_join(wt, "sub/keep.txt");
	assert_int_equal(chmod(k, 0755), 0);
	free(k);
	assert_int_equal(hive_git_checkpoint(wt, "hive/f/s1", "task 1", out, NULL), 0);
	write_at(wt, "untracked.txt", "after the checkpoint\n");
	write_deep(wt, "build/deep/nested/out.log", "ignored\n");

	assert_int_equal(hive_git_worktree_park(f->repo, wt, spare), 0);
	assert_false(exists_at(wt, ""));
	assert_true(exists_at(spare, "untracked.txt"));
	/* the spare holds no branch: the task's result branch can be deleted */
	assert_int_equal(hive_git_branch_set(f->repo, "hive/f/s1", out), 0);
	assert_int_equal(worktree_count(f->repo), 1);

	assert_int_equal(hive_git_worktree_adopt(f->repo, spare, wt2, "hive/f/s2", f->base), 0);
	assert_false(exists_at(spare, ""));
	assert_file(wt2, "a.txt", "line1\nline2\nline3\n");
	assert_file(wt2, "b.txt", "bye\n");
	assert_false(exists_at(wt2, "added.txt"));
	assert_false(exists_at(wt2, "untracked.txt"));
	assert_false(exists_at(wt2, "build"));
	struct stat st;
	char *k2 = path_join(wt2, "sub/keep.txt");
	assert_int_equal(stat(k2, &st), 0);
	free(k2);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_wt_head(wt2, "refs/heads/hive/f/s2", f->base);
	assert_int_equal(branch_target(f->repo, "hive/f/s2", hex), 0);
	assert_string_equal(hex, f->base);
	int changed = -1;
	assert_int_equal(hive_git_checkpoint(wt2, "hive/f/s2", "nothing", out, &changed), 0);
	assert_int_equal(changed, 0);
	/* adopted again at the same base: a file that does not differ is
	 * not rewritten (the checkout only writes what differs) */
	ino_t a_ino = inode_at(wt2, "a.txt");
	assert_int_equal(hive_git_worktree_park(f->repo, wt2, spare), 0);
	assert_int_equal(hive_git_worktree_adopt(f->repo, spare, wt, "hive/f/s3", f->base), 0);
	assert_int_equal(inode_at(wt, "a.txt"), a_ino);
	assert_int_equal(hive_git_branch_delete(f->repo, "hive/f/s1", hex), 0);
	assert_int_equal(hive_git_branch_delete(f->repo, "hive/f/s2", hex), 0);
	/* removed like any worktree; nothing left for git to prune */
	assert_int_equal(hive_git_worktree_remove(f->repo, wt), 0);
	assert_int_equal(worktree_count(f->repo), 0);
	assert_user_untouched(f);
	free(wt);
	free(wt2);
	free(spare);
}

/* A spare holding what the reset cannot handle is not adopted: it is
 * deleted (through a FIFO and a directory without permissions), the
 * task's path stays free for a fresh worktree, and no entry is left. */
static void test_spare_unusable_is_discarded(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "u1"), *spare = wt_path(f, "spares/1"), *wt2 = wt_path(f, "u2");
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/u1", f->base), 0);
	char *fifo = path_join(wt, "pipe.log");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	free(fifo);
	write_deep(wt, "locked/inner/f.txt", "x\n");
	char *locked = path_join(wt, "locked");
	assert_int_equal(chmod(locked, 0), 0);
	free(locked);
	assert_int_equal(hive_git_worktree_park(f->repo, wt, spare), 0);
	int rc = hive_git_worktree_adopt(f->repo, spare, wt2, "hive/f/u2", f->base);
	assert_true(rc < 0);
	assert_non_null(strstr(hive_error_last(), "neither a file nor a directory"));
	assert_false(exists_at(spare, ""));
	assert_false(exists_at(wt2, ""));
	assert_int_equal(worktree_count(f->repo), 0);
	assert_int_equal(hive_git_worktree_create(f->repo, wt2, "hive/f/u2", f->base), 0);
	assert_file(wt2, "b.txt", "bye\n");
	/* a path that is no spare: refused, nothing created */
	assert_int_equal(hive_git_worktree_adopt(f->repo, spare, wt, "hive/f/u3", f->base), HIVE_ENOTFOUND);
	assert_false(exists_at(wt, ""));
	assert_int_equal(hive_git_spare_discard(f->repo, spare), 0);
	assert_user_untouched(f);
	free(wt);
	free(wt2);
	free(spare);
}

/* What a crash between park's steps leaves (the directory moved, the
 * entry not yet renamed) is removed by hive_git_spare_discard; an entry
 * whose worktree is gone is pruned by hive_git_worktree_prune_dead, which
 * leaves entries that are not hive's alone. */
static void test_spare_crash_debris(void **state)
{
	fixture *f = *state;
	char *wt = wt_path(f, "c1"), *spare = wt_path(f, "spares/2"), *wt2 = wt_path(f, "c2");
	assert_int_equal(hive_git_worktree_create(f->repo, wt, "hive/f/c1", f->base), 0);
	char *spares = wt_path(f, "spares");
	assert_int_equal(mkdir(spares, 0700), 0);
	free(spares);
	assert_int_equal(rename(wt, spare), 0); /* park's second step, then the kill */
	assert_int_equal(worktree_count(f->repo), 1);
	assert_int_equal(hive_git_spare_discard(f->repo, spare), 0);
	assert_false(exists_at(spare, ""));
	assert_int_equal(worktree_count(f->repo), 0);

	/* a worktree deleted behind git's back, and a user's own worktree */
	assert_int_equal(hive_git_worktree_create(f->repo, wt2, "hive/f/c2", f->base), 0);
	git_repository *repo;
	git_worktree *uwt;
	char *user_wt = path_join(f->dir, "userwt");
	assert_int_equal(git_repository_open(&repo, f->repo), 0);
	assert_int_equal(git_worktree_add(&uwt, repo, "userwt", user_wt, NULL), 0);
	git_worktree_free(uwt);
	git_repository_free(repo);
	tu_rmrf(wt2);
	tu_rmrf(user_wt);
	int pruned = -1;
	assert_int_equal(hive_git_worktree_prune_dead(f->repo, &pruned), 0);
	assert_int_equal(pruned, 1);
	assert_int_equal(worktree_count(f->repo), 1); /* the user's: not hive's to prune */
	free(user_wt);
	free(wt);
	free(wt2);
	free(spare);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_repo_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_and_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_no_changes, setup, teardown),

		cmocka_unit_test_setup_teardown(test_diff_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_reset_keeps_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_reduced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_rerun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_exists_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_debris, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_after_stale_branch_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_after_stale_branch_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_worktree_debris, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_tasks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spare_park_and_adopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spare_unusable_is_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spare_crash_debris, setup, teardown),
	};
	return cmocka_run_group_tests_name("gitws", tests, NULL, group_teardown);
}
