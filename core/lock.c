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

#include "events/buf.h"
#include "events/error.h"
#include "events/id.h"

int hive_lock_acquire(hive_store *s, const char *flow_id, const char *flow_name, const char *what, int *fd_out)
{
	hive_buf path = {0};
	hive_buf_printf(&path, "%s/locks", hive_store_dir(s));
	mkdir(path.data, 0700);
	hive_buf_printf(&path, "/%s.lock", flow_id);
	int fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = hive_error_set(HIVE_ESYSTEM, "cannot open lock file %s: %s", path.data, strerror(errno));
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
