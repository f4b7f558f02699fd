/*
 * follow.c - waiting for the next event without spinning.
 *
 * LMDB (without MDB_WRITEMAP, which hive does not use) writes every
 * commit's pages and meta page to data.mdb with write(2), so an inotify
 * IN_MODIFY watch on that file fires on every commit of any process.  The
 * watch is created before the seq is read, so a commit between the read
 * and poll() still wakes us.  A 1 s poll bound is only a safety net.
 *
 * One trap: LMDB publishes a commit to new readers (the txnid in
 * lock.mdb) only *after* the meta-page write that fired our event.  The
 * wake-up usually preempts the writer right there, so the first look
 * after the event still sees the old seq.  An event that showed nothing
 * new is therefore followed by quick re-checks (1 ms, doubling up to the
 * safety poll) instead of a 1 s sleep: a few extra wake-ups per commit,
 * never a spin.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "events/buf.h"
#include "events/error.h"
#include "events/store_impl.h"

static int ensure_watch(hive_store *s)
{
	if (s->inotify_fd >= 0)
		return 0;
	hive_buf path = {0};
	hive_buf_printf(&path, "%s/data.mdb", s->dir);
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		hive_buf_dispose(&path);
		return -1;
	}
	int wd = inotify_add_watch(fd, hive_buf_str(&path), IN_MODIFY | IN_CLOSE_WRITE);
	hive_buf_dispose(&path);
	if (wd < 0) {
		close(fd);
		return -1;
	}
	s->inotify_fd = fd;
	s->inotify_watch = wd;
	return 0;
}

static void drain(int fd)
{
	char buf[4096];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hive_store_wait(hive_store *s, uint64_t after_seq, int timeout_ms, int wake_fd)
{
	int have_watch = ensure_watch(s) == 0;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int recheck_ms = 0; /* > 0: an event came and showed nothing new yet */
	for (;;) {
		uint64_t last = 0;
		if (hive_store_last_seq(s, &last) == 0 && last > after_seq)
			return 1;
		int slice = !have_watch ? 20 : recheck_ms ? recheck_ms : 1000;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 0;
			if (left < slice)
				slice = (int)left;
		}
		struct pollfd p[2] = {{.fd = have_watch ? s->inotify_fd : -1, .events = POLLIN},
				      {.fd = wake_fd, .events = POLLIN}};
		int n = poll(p, 2, slice);
		if (n < 0 && errno != EINTR)
			return 0;
		if (n < 0 || (wake_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP))))
			return 0;
		if (have_watch && (p[0].revents & POLLIN)) {
			drain(s->inotify_fd);
			recheck_ms = 1;
		} else if (recheck_ms) {
			recheck_ms = recheck_ms >= 512 ? 0 : recheck_ms * 2;
		}
	}
}
