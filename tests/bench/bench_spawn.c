/*
 * bench_spawn.c - what starting a program costs a process of hive's size:
 * hive_proc_spawn (clone(CLONE_VM | CLONE_VFORK), core/proc.c) next to a
 * plain fork() + execve() of the same program, side by side in one run,
 * with a heap of HEAP_MB touched pages and a second thread (hive runs
 * attempts on threads).  Each figure is the time from the call to the
 * moment the program has exec'd (what an attempt waits before its
 * runtime_started), median and 90th percentile.  Never fails on a number.
 *
 *   make OPT=-O2 build/bench/bench_spawn && build/bench/bench_spawn [N] [HEAP_MB]
 */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 5000

static int cmp_ms(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* fork + execve with the same exec-error pipe hive uses: returns once the
 * child has exec'd. */
static int64_t fork_once(char *const argv[])
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	int64_t t0 = now_us();
	pid_t pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, (char *[]){NULL});
		_exit(127);
	}
	close(p[1]);
	char c;
	while (read(p[0], &c, 1) < 0 && errno == EINTR)
		;
	int64_t t = now_us() - t0;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return t;
}

static int64_t spawn_once(char *const argv[])
{
	hive_proc_spec spec = {.argv = argv, .cwd = "/"};
	hive_proc p;
	hive_proc_result r;
	int64_t t0 = now_us();
	if (hive_proc_spawn(&spec, &p) != 0)
		return -1;
	int64_t t = now_us() - t0;
	hive_proc_wait(&p, &spec, &r);
	return t;
}

static void report(const char *what, int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_ms);
	printf("  %-40s median %.3f ms, p90 %.3f ms\n", what, v[n / 2] / 1000.0, v[n * 9 / 10] / 1000.0);
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;
	size_t mb = argc > 2 ? (size_t)atoi(argv[2]) : 10;
	if (n < 10 || n > MAX_RUNS) {
		fprintf(stderr, "bench_spawn: N must be 10..%d\n", MAX_RUNS);
		return 2;
	}
	char *heap = malloc(mb << 20);
	memset(heap, 1, mb << 20); /* touched: mapped pages, as a running hive has */
	pthread_t th;
	pthread_create(&th, NULL, idle, NULL);
	char *prog[] = {"/bin/true", NULL};
	static int64_t fk[MAX_RUNS], sp[MAX_RUNS];
	for (int i = 0; i < n; i++) { /* interleaved: both see the same load */
		fk[i] = fork_once(prog);
		sp[i] = spawn_once(prog);
	}
	printf("== starting /bin/true, %d runs each, %zu MB heap, 2 threads\n", n, mb);
	report("fork + execve", fk, n);
	report("hive_proc_spawn (clone CLONE_VM|VFORK)", sp, n);
	free(heap);
	return 0;
}
