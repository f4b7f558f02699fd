/*
 * fs.c - see fs.h.
 */
#include "events/fs.h"

#include "events/buf.h"
#include "events/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int hive_fs_mkdir_p(const char *dir, mode_t mode, const char *what)
{
	if (!dir[0])
		return hive_error_set(HIVE_ESYSTEM, "cannot create %s: the path is empty", what);
	char *p = hive_xstrdup(dir);
	int rc = 0;
	/* Each prefix ending before a '/' (and the whole path) in turn; the
	 * root "/" itself is never made. */
	for (char *c = p + 1; rc == 0; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char saved = *c;
		*c = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			rc = hive_error_set(HIVE_ESYSTEM, "cannot create %s %s: %s", what, p, strerror(errno));
		*c = saved;
		if (!saved)
			break;
	}
	free(p);
	return rc;
}

char *hive_fs_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	hive_buf b = {0};
	hive_buf_printf(&b, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
	return hive_buf_detach(&b);
}

char *hive_fs_absolute(const char *path)
{
	if (path[0] == '/')
		return hive_xstrdup(path);
	char *cwd = getcwd(NULL, 0);
	if (!cwd) {
		hive_error_set(HIVE_ESYSTEM, "cannot resolve \"%s\": current directory: %s", path,
			       strerror(errno));
		return NULL;
	}
	char *r = hive_fs_join(cwd, path);
	free(cwd);
	return r;
}
