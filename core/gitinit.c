/*
 * gitinit.c - create a repository with one commit of everything in it
 * (used by `hive demo` and by tests that need a throwaway repo).
 */
#include <git2.h>
#include <stdio.h>

#include "core/hive.h"
#include "core/gitws.h"
#include "events/error.h"

static int git_fail(const char *what, const char *path)
{
	const git_error *e = git_error_last();
	return hive_error_set(HIVE_ESYSTEM, "%s %s: %s", what, path, e && e->message ? e->message : "libgit2 error");
}

int hive_git_init_commit(const char *path, const char *message)
{
	hive_git_init();
	git_repository *repo = NULL;
	git_index *idx = NULL;
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_oid tree_id, commit_id;
	int rc = 0;
	if (git_repository_init(&repo, path, 0) < 0 || git_repository_index(&idx, repo) < 0 ||
	    git_index_add_all(idx, NULL, 0, NULL, NULL) < 0 || git_index_write(idx) < 0 ||
	    git_index_write_tree(&tree_id, idx) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0 ||
	    git_signature_now(&sig, "hive demo", "demo@hive.invalid") < 0 ||
	    git_commit_create_v(&commit_id, repo, "HEAD", sig, sig, NULL, message, tree, 0) < 0)
		rc = git_fail("cannot create a repository in", path);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	git_repository_free(repo);
	return rc;
}
