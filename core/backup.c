/*
 * backup.c - `hive backup PATH`: a consistent, compacted copy of the store
 * while runners go on writing (see hive_backup_write in core/hive.h).
 *
 * Everything hive knows is in data.mdb: events, blobs (outputs, diffs),
 * projections, the schema version.  The rest of the data dir is not state:
 * lock.mdb (LMDB's reader table, rebuilt on open), locks/ (flocks of
 * running runners), attempts/ (an attempt's scratch files: prompt, input,
 * raw output logs and verdict, whose content the log keeps as blobs and
 * events), worktrees/ (git checkouts registered in the user's repository:
 * copying them would make orphan worktrees; hive rebuilds a task's
 * worktree from its branch).  So the backup is data.mdb alone.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hive.h"
#include "events/buf.h"
#include "events/error.h"

/* 1 if dir holds no entry besides . and .., 0 if it holds one, -1 (errno) if unreadable. */
static int dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	int empty = 1;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* A new directory (0700) or an empty existing one; *made says which. */
static int prepare_dir(const char *dir, int *made)
{
	*made = 0;
	if (!*dir)
		return hive_error_set(HIVE_EINVALID, "backup: the backup directory is empty; give a new or empty directory");
	if (mkdir(dir, 0700) == 0) {
		*made = 1;
		return 0;
	}
	if (errno != EEXIST)
		return hive_error_set(HIVE_ESYSTEM, "backup: cannot create \"%s\": %s; check that its parent exists and is writable",
				      dir, strerror(errno));
	struct stat st;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return hive_error_set(HIVE_EINVALID, "backup: \"%s\" exists and is not a directory; give a new or empty directory",
				      dir);
	int empty = dir_empty(dir);
	if (empty < 0)
		return hive_error_set(HIVE_ESYSTEM, "backup: cannot read \"%s\": %s", dir, strerror(errno));
	if (!empty)
		return hive_error_set(HIVE_EINVALID, "backup: \"%s\" is not empty; give a new or empty directory "
				      "(a backup never overwrites)", dir);
	return 0;
}

/* Open the copy as hive would after a restore and read its last seq, so a
 * backup that reports success is known to open.  The lock.mdb this
 * creates is removed again: the backup is data.mdb alone. */
static int check_copy(const char *dir, hive_backup_info *out)
{
	hive_store *copy = NULL;
	int rc = hive_store_open(dir, NULL, &copy);
	if (!rc)
		rc = hive_store_last_seq(copy, &out->events);
	hive_store_close(copy);
	hive_buf p = {0};
	hive_buf_printf(&p, "%s/lock.mdb", dir);
	unlink(p.data);
	hive_buf_reset(&p);
	hive_buf_printf(&p, "%s/data.mdb", dir);
	struct stat st;
	if (!rc && stat(p.data, &st) == 0)
		out->bytes = (uint64_t)st.st_size;
	hive_buf_dispose(&p);
	if (rc)
		hive_error_prefix("backup: the copy in \"%s\" does not open", dir);
	return rc;
}

int hive_backup_write(hive_store *s, const char *dir, hive_backup_info *out)
{
	memset(out, 0, sizeof *out);
	int made, rc = prepare_dir(dir, &made);
	if (rc)
		return rc;
	rc = hive_store_backup(s, dir);
	if (!rc)
		rc = check_copy(dir, out);
	if (rc && made) {
		hive_buf p = {0};
		hive_buf_printf(&p, "%s/data.mdb", dir);
		unlink(p.data);
		hive_buf_dispose(&p);
		rmdir(dir);
	}
	return rc;
}
