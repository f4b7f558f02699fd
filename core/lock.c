/*
 * lock.c - the exclusive per-flow runner lock (see lock.h).
 */
#include "core/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/datadir.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/id.h"

int hive_lock_acquire(hive_store *s, const char *flow_id, const char *flow_name, const char *what, int *fd_out)
{
	hive_buf path = {0};
	int rc = hive_datadir_mkdirs(hive_store_dir(s), "locks");
	if (rc)
		return rc;
	hive_buf_printf(&path, "%s/locks/%s.lock", hive_store_dir(s), flow_id);
	/* Never through a planted symlink, never a file with other names
	 * (a hard link): the holder line below truncates the file. */
	int fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		rc = hive_error_set(HIVE_ESYSTEM, "cannot use lock file %s: %s; remove it and run again", path.data,
				    fd < 0 ? strerror(errno) : "not a plain file of hive's (a link or a special file)");
		if (fd >= 0)
			close(fd);
		hive_buf_dispose(&path);
		return rc;
	}
	hive_buf_dispose(&path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char holder[256] = "";
		ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		close(fd);
		return hive_error_set(HIVE_ECONFLICT, "flow %s is locked by another runner (%s); wait for it to finish or stop it",
				      flow_name, *holder ? holder : "unknown holder");
	}
	char now[40], line[256];
	hive_time_now(now, sizeof now);
	int n = snprintf(line, sizeof line, "pid %d, hive flow %s, since %s\n", (int)getpid(), what, now);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		/* the lock is held either way; the holder line is only informative */
	}
	*fd_out = fd;
	return 0;
}

void hive_lock_release(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}
