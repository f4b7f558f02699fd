/*
 * datadir.c - private, unfollowed directories in the data dir.  See
 * datadir.h.
 */
#include "core/datadir.h"

#include "events/buf.h"
#include "events/error.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int not_ours(const char *path, const char *what)
{
	return hive_error_set(HIVE_ESYSTEM, "%s is %s, not a directory of hive's; something replaced "
	                      "it (a runtime?): remove it and run again", path, what);
}

static int check_st(const char *path, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return not_ours(path, "a symbolic link");
	if (!S_ISDIR(st->st_mode))
		return not_ours(path, "not a directory");
	if (st->st_uid != geteuid())
		return not_ours(path, "owned by another user");
	return 0;
}

int hive_datadir_check_dir(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : hive_error_set(HIVE_ESYSTEM, "cannot inspect %s: %s", path,
		                                            strerror(errno));
	return check_st(path, &st);
}

/* One component: create it 0700 or check what is there. */
static int one_dir(const char *path)
{
	struct stat st;
	if (mkdir(path, 0700) == 0)
		return 0; /* the umask can only take bits away: never wider than 0700 */
	if (errno != EEXIST)
		return hive_error_set(HIVE_ESYSTEM, "cannot create directory %s: %s; check that the data "
		                      "dir is writable", path, strerror(errno));
	if (lstat(path, &st) != 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot inspect %s: %s", path, strerror(errno));
	return check_st(path, &st);
}

int hive_datadir_mkdirs(const char *data_dir, const char *rel)
{
	hive_buf path = {0};
	int rc = 0;

	hive_buf_puts(&path, data_dir);
	while (!rc && *rel) {
		size_t n = strcspn(rel, "/");
		if (n) {
			hive_buf_putc(&path, '/');
			hive_buf_append(&path, rel, n);
			rc = one_dir(path.data);
		}
		rel += n + (rel[n] == '/');
	}
	hive_buf_dispose(&path);
	return rc;
}
