/*
 * test_fs.c - events/fs.h: mkdir -p, path join, absolute paths.
 *
 * What it protects: mkdir -p makes every missing parent with the mode asked
 * for and accepts what exists; a failure names the component that failed
 * and what the caller was making; joins never double a '/'; relative paths
 * become absolute against the current directory.  Real directories in a
 * temp dir.
 */
#include "testutil.h"

#include <sys/stat.h>

#include "events/error.h"
#include "events/fs.h"

static void mkdir_p_makes_parents(void **state)
{
	(void)state;
	char *tmp = tu_tmpdir();
	char *deep = hive_fs_join(tmp, "a/b/c");
	mode_t old = umask(022);
	assert_int_equal(hive_fs_mkdir_p(deep, 0700, "data directory"), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* again: everything exists, still fine */
	assert_int_equal(hive_fs_mkdir_p(deep, 0700, "data directory"), 0);
	free(deep);
	tu_rmrf(tmp);
	free(tmp);
}

static void mkdir_p_names_the_failing_component(void **state)
{
	(void)state;
	char *tmp = tu_tmpdir();
	char *file = hive_fs_join(tmp, "plain");
	tu_write_file(file, "not a directory\n");
	char *below = hive_fs_join(file, "x/y");
	assert_int_equal(hive_fs_mkdir_p(below, 0700, "directory"), HIVE_ESYSTEM);
	/* the component that failed is <file>/x, not the whole path */
	char *want = hive_fs_join(file, "x");
	char msg[4096];
	snprintf(msg, sizeof msg, "cannot create directory %s: ", want);
	if (strncmp(hive_error_last(), msg, strlen(msg)) != 0)
		fail_msg("got \"%s\"", hive_error_last());
	assert_int_equal(hive_fs_mkdir_p("", 0700, "data directory"), HIVE_ESYSTEM);
	free(want);
	free(below);
	free(file);
	tu_rmrf(tmp);
	free(tmp);
}

static void join_never_doubles_slash(void **state)
{
	(void)state;
	static const struct { const char *dir, *name, *want; } cases[] = {
		{"/a", "b", "/a/b"},
		{"/a/", "b", "/a/b"},
		{"/", "b", "/b"},
		{"rel", "b/c", "rel/b/c"},
		{"", "b", "/b"}, /* an empty dir is the root, as "%s/%s" made it */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = hive_fs_join(cases[i].dir, cases[i].name);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void absolute_uses_the_current_directory(void **state)
{
	(void)state;
	char *abs = hive_fs_absolute("/already/there");
	assert_string_equal(abs, "/already/there");
	free(abs);
	char *tmp = tu_tmpdir();
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	char *here = getcwd(NULL, 0); /* tmp with its symlinks resolved */
	abs = hive_fs_absolute("sub/file");
	char *want = hive_fs_join(here, "sub/file");
	assert_string_equal(abs, want);
	assert_int_equal(chdir(cwd), 0);
	free(want);
	free(abs);
	free(here);
	free(cwd);
	tu_rmrf(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mkdir_p_makes_parents),
		cmocka_unit_test(mkdir_p_names_the_failing_component),
		cmocka_unit_test(join_never_doubles_slash),
		cmocka_unit_test(absolute_uses_the_current_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
