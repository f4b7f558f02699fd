/*
 * enospc_shim.c - an LD_PRELOAD shim for test_disk_full.sh: every write to
 * a file under $HIVE_TEST_ENOSPC_UNDER fails with ENOSPC, as it does on a
 * full disk (the test's other variant fills a real tmpfs; this one runs
 * where mounting is not allowed).  Writes elsewhere go through untouched.
 *
 *   cc -shared -fPIC -o enospc_shim.so enospc_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* 1 when fd is a file under the prefix the test named. */
static int full(int fd)
{
	const char *under = getenv("HIVE_TEST_ENOSPC_UNDER");
	if (!under || !*under)
		return 0;
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, under, strlen(under)) == 0;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);

#define REAL(name, type) \
	static type real_##name; \
	if (!real_##name) \
		real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write, write_fn);
	if (full(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite, pwrite_fn);
	if (full(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite64, pwrite_fn);
	if (full(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev, writev_fn);
	if (full(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return real_writev(fd, iov, n);
}
