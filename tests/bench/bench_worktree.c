/*
 * bench_worktree.c - what a task's worktree costs hive, fresh or recycled
 * (docs/lifecycle.md "Spare worktrees", docs/benchmarks.md).
 *
 * For a repository of N files (40, as tests/bench/history_bench.sh, and
 * 2000), K tasks one after another, each: get a worktree on its own branch
 * at the base, write a small build output (ignored files), checkpoint,
 * let it go.  "fresh" creates each worktree (libgit2 checkout) and removes
 * it (directory + .git/worktrees entry); "recycled" adopts the previous
 * task's spare (reset to the base: only differing files written, the
 * build output deleted) and parks it again.  Prints the median CPU time
 * (user + system) of each step in ms.  Never fails on a number.
 *
 *   make bench   (or: build/bench/bench_worktree [K])
 */
#include "core/gitws.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/fs.h"

#include <git2.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this process (user + system), not wall time: the machine
 * this runs on is shared, and the wall clock measures the others' load. */
static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n ? v[n / 2] : 0;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_worktree: %s: %s\n", what, hive_error_last());
	exit(1);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = hive_fs_join(dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	hive_fs_mkdir_p(p, 0755, "directory");
	*slash = '/';
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench_worktree: cannot write %s\n", p);
		exit(1);
	}
	free(p);
}

/* A repository of n files in a few directories, one commit; out = it. */
static void make_repo(const char *dir, int n, char out[41])
{
	git_repository *repo;
	git_index *idx;
	git_signature *sig;
	git_oid tree_id, id;
	git_tree *tree;
	hive_buf rel = {0}, text = {0};
	if (git_repository_init(&repo, dir, 0) < 0)
		die("git init");
	for (int i = 0; i < n; i++) {
		hive_buf_reset(&rel);
		hive_buf_reset(&text);
		hive_buf_printf(&rel, "src/d%d/f%d.c", i % 20, i);
		hive_buf_printf(&text, "int f%d(void) { return %d; }\n", i, i);
		put(dir, rel.data, text.data);
	}
	put(dir, ".gitignore", "build/\n");
	if (git_repository_index(&idx, repo) < 0 || git_index_add_all(idx, NULL, 0, NULL, NULL) < 0 ||
	    git_index_write(idx) < 0 || git_index_write_tree(&tree_id, idx) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_signature_new(&sig, "bench", "bench@hive.invalid", 1700000000, 0) < 0 ||
	    git_commit_create(&id, repo, "HEAD", sig, sig, NULL, "base", tree, 0, NULL) < 0)
		die("git commit");
	git_oid_tostr(out, 41, &id);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	git_repository_free(repo);
	hive_buf_dispose(&rel);
	hive_buf_dispose(&text);
}

/* What a task does in its worktree: a build output of 20 ignored files
 * and one changed tracked file, then the checkpoint. */
static void task_work(const char *wt, const char *branch, int k)
{
	hive_buf rel = {0};
	char out[41];
	for (int i = 0; i < 20; i++) {
		hive_buf_reset(&rel);
		hive_buf_printf(&rel, "build/obj/o%d.o", i);
		put(wt, rel.data, "object\n");
	}
	hive_buf_reset(&rel);
	hive_buf_printf(&rel, "result-%d.txt", k);
	put(wt, rel.data, "done\n");
	if (hive_git_checkpoint(wt, branch, "task", out, NULL))
		die("checkpoint");
	hive_buf_dispose(&rel);
}

static void run(const char *root, int files, int k_tasks)
{
	char base[41];
	char *repo = hive_fs_join(root, files > 100 ? "repo-big" : "repo-small");
	make_repo(repo, files, base);
	double *get_f = calloc((size_t)k_tasks, sizeof *get_f), *put_f = calloc((size_t)k_tasks, sizeof *put_f);
	double *get_r = calloc((size_t)k_tasks, sizeof *get_r), *put_r = calloc((size_t)k_tasks, sizeof *put_r);
	hive_buf wt = {0}, branch = {0};
	char *spare = hive_fs_join(root, files > 100 ? "spare-big" : "spare-small");
	for (int k = 0; k < k_tasks; k++) {
		for (int mode = 0; mode < 2; mode++) { /* interleaved: the same load for both */
			hive_buf_reset(&wt);
			hive_buf_reset(&branch);
			hive_buf_printf(&wt, "%s/wt/%s/t%d", root, mode ? "r" : "f", k);
			hive_buf_printf(&branch, "hive/%s/t%d", mode ? "r" : "f", k);
			double t0 = now_ms();
			int rc = mode && k > 0 ? hive_git_worktree_adopt(repo, spare, wt.data, branch.data, base)
					       : hive_git_worktree_create(repo, wt.data, branch.data, base);
			if (rc)
				die("get a worktree");
			double t1 = now_ms();
			task_work(wt.data, branch.data, k);
			double t2 = now_ms();
			rc = mode ? hive_git_worktree_park(repo, wt.data, spare) : hive_git_worktree_remove(repo, wt.data);
			if (rc)
				die("let the worktree go");
			double t3 = now_ms();
			(mode ? get_r : get_f)[k] = t1 - t0;
			(mode ? put_r : put_f)[k] = t3 - t2;
		}
	}
	/* the first recycled task had no spare yet: leave it out */
	printf("%5d files, %d tasks: fresh: create %.2f ms + remove %.2f ms; recycled: adopt %.2f ms + park %.2f ms\n",
	       files, k_tasks, median(get_f, k_tasks), median(put_f, k_tasks), median(get_r + 1, k_tasks - 1),
	       median(put_r, k_tasks));
	hive_git_spare_discard(repo, spare);
	free(get_f);
	free(put_f);
	free(get_r);
	free(put_r);
	free(spare);
	free(repo);
	hive_buf_dispose(&wt);
	hive_buf_dispose(&branch);
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

int main(int argc, char **argv)
{
	int k = argc > 1 ? atoi(argv[1]) : 40;
	if (k < 2)
		k = 2;
	const char *tmp = getenv("TMPDIR");
	hive_buf root = {0};
	hive_buf_printf(&root, "%s/hive-bench-worktree-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root.data) || hive_git_init())
		die("temp dir");
	printf("== worktree per task, fresh vs recycled (median CPU time, user + system)\n");
	run(root.data, 40, k);
	run(root.data, 2000, k / 2 > 2 ? k / 2 : 2);
	nftw(root.data, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
	hive_buf_dispose(&root);
	return 0;
}
