/*
 * testutil.h - small helpers shared by the cmocka unit tests.
 * Every test builds its fixtures fresh in a temp dir it removes itself.
 */
#ifndef HIVE_TESTUTIL_H
#define HIVE_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int testutil_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* Remove a directory tree (like rm -rf). */
static inline void tu_rmrf(const char *path)
{
	nftw(path, testutil_rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temp dir; caller frees the string and removes the tree. */
static inline char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/hive-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

/* Parse a JSON literal the test wrote (any JSON value); new reference.
 * A typo in the test fails it with jansson's message. */
static inline json_t *tu_json(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
	if (!v)
		fail_msg("bad test JSON %s: %s", text, err.text);
	return v;
}

/* Write a whole file; asserts on failure. */
static inline void tu_write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* Read a whole file into a new NUL-terminated string (caller frees), or NULL. */
static inline char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t n;
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	s[len] = '\0';
	return s;
}

/* ---- child processes (store, follow tests) ---- */

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

/* Children still running when a test fails (an assertion longjmps past
 * the test's own cleanup) are killed by the teardown, so a failure can
 * never leave a process blocking the run. */
static pid_t children[16] __attribute__((unused));
static int n_children __attribute__((unused));

static inline pid_t spawn(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_true(n_children < 16);
	children[n_children++] = pid;
	return pid;
}

static inline int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	for (int i = 0; i < n_children; i++)
		if (children[i] == pid)
			children[i] = children[--n_children];
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void kill_children(void)
{
	while (n_children > 0) {
		pid_t pid = children[0];
		kill(pid, SIGKILL);
		wait_child(pid);
	}
}

#endif
