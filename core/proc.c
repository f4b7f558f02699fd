/*
 * proc.c - process runner: spawn in a new group, wait with timeout/cancel,
 * kill groups, scrubbed environments.  See proc.h for the contracts.
 *
 * Shape of a spawn: the parent opens the stream files, an exec-error pipe
 * and builds every candidate path for execve() (all allocation happens
 * here); it starts the child with clone(CLONE_VM | CLONE_VFORK) and all
 * signals blocked; the child resets signals, joins its own group, chdirs,
 * dup2s and execs, and on failure writes {stage, errno} to the pipe.  EOF
 * on the pipe (closed by O_CLOEXEC at execve) is how the parent knows the
 * program started.
 *
 * Why clone and not fork: hive has threads and ~10 MB mapped, and fork()
 * copies the page tables and then takes a copy-on-write fault for every
 * page either side touches before the exec (0.41 ms to exec /bin/true
 * with a 10 MB heap, 0.17 ms with 1 MB; tests/bench/spawn notes in
 * docs/benchmarks.md).  With CLONE_VM the child shares the parent's memory
 * until it execs, as glibc's posix_spawn does; CLONE_VFORK suspends the
 * calling thread until then.  So the child runs on its own stack, reads
 * only what the parent prepared, and writes no memory of the parent: the
 * one exception is errno, which lives in the suspended calling thread and
 * which the parent does not read after a successful clone.  posix_spawn
 * itself cannot report which step failed (a missing cwd reads as a missing
 * program) nor run a script without "#!" through /bin/sh as execvp does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "core/proc.h"

#include "events/buf.h"
#include "events/error.h"
#include "events/strv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROC_DEFAULT_GRACE_MS 2000
#define PROC_CANCEL_SLICE_MS  50   /* how often *cancel is looked at */
#define PROC_POLL_SLICE_MS    10   /* sleep when there is no pidfd; group_kill checks */
#define PROC_AFTER_KILL_MS    1000 /* how long group_kill waits after SIGKILL */
#define PROC_DEFAULT_PATH     "/bin:/usr/bin"
#define PROC_PUMP_MAX         ((size_t)1 << 20) /* read per pipe per wake-up */
#define PROC_DRAIN_MS         1000 /* reading leftovers after the group is gone */
#define PROC_CHILD_STACK      (64 * 1024) /* the clone child's stack, until it execs */

/* AddressSanitizer keeps a shadow of every stack frame, and the clone child
 * shares it with the parent: the child's code is left uninstrumented (no
 * redzones poisoned, no frames on ASan's heap-allocated fake stacks), and
 * its stack's shadow is cleared before the stack is unmapped, else a later
 * mapping at that address inherits stale poison (a false report). */
#if defined(__SANITIZE_ADDRESS__)
#define PROC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROC_ASAN 1
#endif
#endif
#ifdef PROC_ASAN
#include <sanitizer/asan_interface.h>
#define CHILD_CODE __attribute__((no_sanitize_address, noinline))
#define child_stack_release(p, n) (__asan_unpoison_memory_region((p), (n)), munmap((p), (n)))
#else
#define CHILD_CODE __attribute__((noinline))
#define child_stack_release(p, n) munmap((p), (n))
#endif

/* Everything the child needs, built before the clone so the child allocates
 * nothing and touches no lock. */
struct launch {
	char *const *argv;     /* borrowed from the spec */
	char *const *envp;     /* borrowed: spec->envp or environ */
	const char *cwd;       /* borrowed */
	char **cands;          /* new: execve candidates, NULL-terminated */
	/* new array, borrowed strings: for candidate k, at k * sh_stride,
	 * {"/bin/sh", cands[k], argv[1..], NULL}: one array per candidate, so
	 * the child (sharing the parent's memory) never writes one */
	char **sh_argv;
	size_t sh_stride;
	int fd[3];             /* stdin, stdout, stderr: all >= 3 and O_CLOEXEC */
	int rd[2];             /* read ends of capture pipes for stdout, stderr; -1 = none */
	int err_r, err_w;      /* exec-error pipe, O_CLOEXEC */
};

/* What a child that failed to start writes to the pipe (8 bytes, atomic). */
struct child_report {
	int stage;
	int err;
};

enum { STAGE_CWD = 1, STAGE_FDS, STAGE_EXEC };
enum { PH_RUNNING, PH_TERM_SENT, PH_KILL_SENT };

int64_t hive_clock_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* strerror() may use a shared buffer; this is the thread-safe form. */
static const char *errstr(int err, char *buf, size_t n)
{
	return strerror_r(err, buf, n);
}

/* ---- the child (async-signal-safe calls only) ---------------------------- */

CHILD_CODE static _Noreturn void child_fail(int fd, int stage, int err)
{
	struct child_report r = { stage, err };
	while (write(fd, &r, sizeof r) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Handlers and SIG_IGN dispositions of the parent must not leak into the
 * program (SIG_IGN survives execve), nor the blocked mask set around the clone. */
CHILD_CODE static void child_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL); /* EINVAL for libc-reserved ones */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* fd[i] >= 3, so dup2 always makes a new, non-CLOEXEC fd i. */
CHILD_CODE static void child_setup_fds(const struct launch *l)
{
	for (int i = 0; i < 3; i++)
		if (dup2(l->fd[i], i) < 0)
			child_fail(l->err_w, STAGE_FDS, errno);
#ifdef CLOSE_RANGE_CLOEXEC
	/* Whatever else this process had open (other threads' files, library
	 * fds opened without O_CLOEXEC) must not reach the program. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
}

/* execvp()'s rules: keep searching past ENOENT-like errors, remember
 * EACCES, run a file without "#!" through /bin/sh. */
CHILD_CODE static _Noreturn void child_exec(const struct launch *l)
{
	int err = ENOENT, saw_eacces = 0;

	for (size_t k = 0; l->cands[k]; k++) {
		execve(l->cands[k], l->argv, l->envp);
		if ((err = errno) == ENOEXEC) {
			execve("/bin/sh", l->sh_argv + k * l->sh_stride, l->envp);
			err = errno;
		}
		if (err == EACCES)
			saw_eacces = 1;
		else if (err != ENOENT && err != ENOTDIR && err != ESTALE &&
		         err != ENODEV && err != ETIMEDOUT)
			break;
	}
	if (saw_eacces && (err == ENOENT || err == ENOTDIR))
		err = EACCES;
	child_fail(l->err_w, STAGE_EXEC, err);
}

CHILD_CODE static _Noreturn void child_main(struct launch *l)
{
	child_reset_signals();
	setpgid(0, 0);
	if (chdir(l->cwd) < 0)
		child_fail(l->err_w, STAGE_CWD, errno);
	child_setup_fds(l);
	child_exec(l);
}

/* ---- preparing a launch (parent, before the clone) -------------------- */

/* Move fd above 0..2 so the child's dup2 onto 0..2 cannot clobber it (this
 * happens when the parent itself runs with a closed stdin, say). */
static int fd_above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;
	close(fd);
	errno = saved;
	return high;
}

static int open_stream(const char *name, const char *path, int for_output, int *fd)
{
	char eb[128];
	int flags = for_output ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;

	*fd = fd_above_stdio(open(path ? path : "/dev/null",
	                          flags | O_CLOEXEC | O_NOCTTY, 0600));
	if (*fd >= 0)
		return 0;
	int code = (!for_output && errno == ENOENT) ? HIVE_ENOTFOUND : HIVE_ESYSTEM;
	return hive_error_set(code, "cannot open %s file \"%s\": %s; check the path and "
	                      "that its directory exists and is accessible",
	                      name, path ? path : "/dev/null", errstr(errno, eb, sizeof eb));
}

/* A capture pipe for stream i (1 or 2): the child's end in l->fd[i], hive's
 * non-blocking read end in l->rd[i - 1]. */
static int open_capture_pipe(struct launch *l, int i)
{
	int p[2];
	char eb[128];

	if (pipe2(p, O_CLOEXEC) < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\": output pipe: %s",
		                      l->argv[0], errstr(errno, eb, sizeof eb));
	l->rd[i - 1] = fd_above_stdio(p[0]);
	l->fd[i] = fd_above_stdio(p[1]);
	if (l->rd[i - 1] < 0 || l->fd[i] < 0 || fcntl(l->rd[i - 1], F_SETFL, O_NONBLOCK) < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\": output pipe: %s",
		                      l->argv[0], errstr(errno, eb, sizeof eb));
	return 0;
}

static int open_output(const hive_proc_spec *spec, struct launch *l, int i)
{
	hive_capture *cap = i == 1 ? spec->stdout_capture : spec->stderr_capture;
	const char *path = i == 1 ? spec->stdout_path : spec->stderr_path;

	if (i == 2 && cap && cap == spec->stdout_capture) {
		/* One pipe for both: the order of writes is kept. */
		l->fd[2] = fcntl(l->fd[1], F_DUPFD_CLOEXEC, 3);
		if (l->fd[2] >= 0)
			return 0;
		char eb[128];
		return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\": output pipe: %s",
		                      l->argv[0], errstr(errno, eb, sizeof eb));
	}
	if (cap)
		return open_capture_pipe(l, i);
	return open_stream(i == 1 ? "stdout" : "stderr", path, 1, &l->fd[i]);
}

static int open_streams(const hive_proc_spec *spec, struct launch *l)
{
	int rc = open_stream("stdin", spec->stdin_path, 0, &l->fd[0]);
	if (!rc)
		rc = open_output(spec, l, 1);
	if (rc)
		return rc;
	if (spec->stderr_capture)
		return open_output(spec, l, 2);
	if (!spec->stdout_capture && spec->stdout_path && spec->stderr_path &&
	    strcmp(spec->stdout_path, spec->stderr_path) == 0) {
		/* One open file description: one offset, so 2>&1 ordering. */
		l->fd[2] = fcntl(l->fd[1], F_DUPFD_CLOEXEC, 3);
		if (l->fd[2] >= 0)
			return 0;
		char eb[128];
		return hive_error_set(HIVE_ESYSTEM, "cannot share \"%s\" as stdout and stderr: %s",
		                      spec->stderr_path, errstr(errno, eb, sizeof eb));
	}
	return open_output(spec, l, 2);
}

static int open_error_pipe(struct launch *l)
{
	int p[2];
	char eb[128];

	if (pipe2(p, O_CLOEXEC) < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\": pipe: %s",
		                      l->argv[0], errstr(errno, eb, sizeof eb));
	l->err_r = fd_above_stdio(p[0]);
	l->err_w = fd_above_stdio(p[1]);
	if (l->err_r >= 0 && l->err_w >= 0)
		return 0;
	return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\": pipe: %s",
	                      l->argv[0], errstr(errno, eb, sizeof eb));
}

/* Borrowed value of `key` in envp, or NULL. */
static const char *env_lookup(char *const *envp, const char *key)
{
	size_t n = strlen(key);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* New NULL-terminated list of paths to try with execve(), in order. */
static char **exec_candidates(const char *file, char *const *envp)
{
	const char *path = env_lookup(envp, "PATH");
	size_t n = 1, i = 0;

	if (strchr(file, '/')) {
		char **one = hive_xcalloc(2, sizeof *one);
		one[0] = hive_xstrdup(file); /* relative: resolved after chdir */
		return one;
	}
	if (!path)
		path = getenv("PATH");
	if (!path)
		path = PROC_DEFAULT_PATH;
	for (const char *s = path; *s; s++)
		n += *s == ':';
	char **c = hive_xcalloc(n + 1, sizeof *c);
	for (const char *dir = path;; dir++) {
		size_t len = strcspn(dir, ":");
		hive_buf b = {0};
		hive_buf_printf(&b, "%.*s/%s", (int)len, len ? dir : ".", file);
		c[i++] = hive_buf_detach(&b);
		if (!dir[len])
			break;
		dir += len;
	}
	return c;
}

/* For each candidate k: {"/bin/sh", cands[k], argv[1], ..., NULL} at
 * k * *stride (strings borrowed): execvp's fallback for a file without
 * "#!", built here so the child writes nothing. */
static char **script_argv(char *const *argv, char **cands, size_t *stride)
{
	size_t argc = 0, n = 0;
	while (argv[argc])
		argc++;
	while (cands[n])
		n++;
	*stride = argc + 2;
	char **a = hive_xcalloc(n * *stride + 1, sizeof *a);
	for (size_t k = 0; k < n; k++) {
		char **one = a + k * *stride;
		one[0] = "/bin/sh";
		one[1] = cands[k];
		for (size_t i = 1; i < argc; i++)
			one[i + 1] = argv[i];
	}
	return a;
}

static void launch_dispose(struct launch *l)
{
	for (int i = 0; i < 3; i++)
		if (l->fd[i] >= 0)
			close(l->fd[i]);
	for (int i = 0; i < 2; i++)
		if (l->rd[i] >= 0)
			close(l->rd[i]);
	if (l->err_r >= 0)
		close(l->err_r);
	if (l->err_w >= 0)
		close(l->err_w);
	for (char **c = l->cands; c && *c; c++)
		free(*c);
	free(l->cands);
	free(l->sh_argv);
}

static int launch_prepare(const hive_proc_spec *spec, struct launch *l)
{
	memset(l, 0, sizeof *l);
	l->fd[0] = l->fd[1] = l->fd[2] = l->err_r = l->err_w = -1;
	l->rd[0] = l->rd[1] = -1;
	l->argv = spec->argv;
	l->cwd = spec->cwd;
	l->envp = spec->envp ? spec->envp : environ;
	int rc = open_streams(spec, l);
	if (!rc)
		rc = open_error_pipe(l);
	if (rc) {
		launch_dispose(l);
		return rc;
	}
	l->cands = exec_candidates(spec->argv[0], l->envp);
	l->sh_argv = script_argv(spec->argv, l->cands, &l->sh_stride);
	return 0;
}

/* ---- spawn ------------------------------------------------------------- */

static int check_spec(const hive_proc_spec *spec)
{
	if (!spec->argv || !spec->argv[0] || !spec->argv[0][0])
		return hive_error_set(HIVE_EINVALID, "cannot start a process: argv[0] is "
		                      "missing or empty; give the program to run");
	if (!spec->cwd || !spec->cwd[0])
		return hive_error_set(HIVE_EINVALID, "cannot start \"%s\": no working "
		                      "directory given; set the spec's cwd", spec->argv[0]);
	if (spec->timeout_ms < 0 || spec->grace_ms < 0 || spec->stall_timeout_ms < 0)
		return hive_error_set(HIVE_EINVALID, "cannot start \"%s\": negative timeout "
		                      "(%ld ms) or grace (%ld ms); use 0 for the default",
		                      spec->argv[0], spec->timeout_ms, spec->grace_ms);
	return 0;
}

CHILD_CODE static int child_entry(void *l)
{
	child_main(l);
}

/* Signals are blocked across the clone so that no handler of the parent
 * runs in the child (on the parent's memory) before child_reset_signals().
 * Without CLONE_SIGHAND the child's dispositions are its own copy.  The
 * calling thread resumes once the child has exec'd or exited, so its
 * stack can go at once. */
static pid_t clone_child(struct launch *l)
{
	sigset_t all, old;
	void *stack = mmap(NULL, PROC_CHILD_STACK, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid_t pid = clone(child_entry, (char *)stack + PROC_CHILD_STACK,
	                  CLONE_VM | CLONE_VFORK | SIGCHLD, l);
	int saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	child_stack_release(stack, PROC_CHILD_STACK);
	errno = saved;
	return pid;
}

static void reap_quietly(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int start_error(const struct launch *l, const struct child_report *r)
{
	char eb[128];
	const char *why = errstr(r->err, eb, sizeof eb);

	if (r->stage == STAGE_CWD)
		return hive_error_set(HIVE_ENOTFOUND, "cannot start \"%s\": working directory "
		                      "%s: %s; check that it exists", l->argv[0], l->cwd, why);
	if (r->stage == STAGE_FDS)
		return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\" in %s: redirecting "
		                      "its standard streams: %s", l->argv[0], l->cwd, why);
	/* a relative program missing from a worktree was not committed at
	 * the commit the worktree was made from */
	int uncommitted = r->err == ENOENT && l->argv[0][0] != '/' && strchr(l->argv[0], '/');
	return hive_error_set(HIVE_ENOTFOUND, "cannot start \"%s\" in %s: %s%s",
	                      l->argv[0], l->cwd, why,
	                      uncommitted ? " \xe2\x80\x94 is it committed at the flow's base?" : "");
}

/* Block until the child has exec'd (EOF) or reported why it could not.
 * On failure the child is reaped here, so no zombie is left; *busy says
 * the exec failed with ETXTBSY (see hive_proc_spawn). */
static int await_exec(struct launch *l, pid_t pid, int *busy)
{
	struct child_report r;
	ssize_t n;

	close(l->err_w);
	l->err_w = -1;
	do
		n = read(l->err_r, &r, sizeof r);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n == (ssize_t)sizeof r) {
		reap_quietly(pid); /* it _exit()s right after writing */
		*busy = r.stage == STAGE_EXEC && r.err == ETXTBSY;
		return start_error(l, &r);
	}
	char eb[128];
	int err = errno;
	kill(pid, SIGKILL); /* unknown state: make sure it is gone */
	reap_quietly(pid);
	return hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\" in %s: lost track of the "
	                      "child: %s", l->argv[0], l->cwd,
	                      n < 0 ? errstr(err, eb, sizeof eb) : "short read");
}

/* Set once pidfd_open() says ENOSYS (kernel < 5.3, or valgrind), so later
 * spawns skip the doomed call.  Atomic: spawns run on several threads. */
static atomic_int pidfd_unsupported;

static int pidfd_for(pid_t pid)
{
#ifdef SYS_pidfd_open
	if (atomic_load_explicit(&pidfd_unsupported, memory_order_relaxed))
		return -1;
	long fd = syscall(SYS_pidfd_open, pid, 0); /* always O_CLOEXEC */
	if (fd < 0 && errno == ENOSYS)
		atomic_store_explicit(&pidfd_unsupported, 1, memory_order_relaxed);
	return fd < 0 ? -1 : (int)fd;
#else
	(void)pid;
	return -1;
#endif
}

/* One try: prepare, clone, wait for the exec.  On success *pid runs and
 * l holds hive's ends of its pipes; on failure l is disposed. */
static int spawn_once(const hive_proc_spec *spec, struct launch *l, pid_t *pid, int *busy)
{
	char eb[128];
	int rc = launch_prepare(spec, l);

	if (rc)
		return rc;
	*pid = clone_child(l);
	if (*pid < 0) {
		rc = hive_error_set(HIVE_ESYSTEM, "cannot start \"%s\" in %s: clone: %s",
		                    spec->argv[0], spec->cwd, errstr(errno, eb, sizeof eb));
		launch_dispose(l);
		return rc;
	}
	setpgid(*pid, *pid); /* also done by the child; fails harmlessly after its exec */
	rc = await_exec(l, *pid, busy);
	if (rc)
		launch_dispose(l);
	return rc;
}

/* How often an exec refused with ETXTBSY is tried again, 1, 2, 4 ... ms
 * apart (255 ms in all).  The kernel refuses to exec a file someone has
 * open for writing.  hive itself causes that: a thread checking out a
 * worktree holds the program open for writing while another thread
 * clones a child, and that child keeps a copy of the descriptor until its
 * own exec closes it (close-on-exec), microseconds later.  Seen in
 * `make check` with parallel attempts: "cannot start ./agent.sh: Text
 * file busy".  A program some other process keeps open for writing still
 * fails, after the last try. */
#define SPAWN_BUSY_TRIES 9

int hive_proc_spawn(const hive_proc_spec *spec, hive_proc *out)
{
	struct launch l;
	pid_t pid = -1;
	int rc = check_spec(spec);

	if (rc)
		return rc;
	int64_t start_ms = hive_clock_monotonic_ms();
	for (int try = 0, busy = 1; busy && try < SPAWN_BUSY_TRIES; try++) {
		if (try) {
			hive_error_clear();
			sleep_ms(1L << (try - 1));
			start_ms = hive_clock_monotonic_ms();
		}
		busy = 0;
		rc = spawn_once(spec, &l, &pid, &busy);
	}
	if (rc)
		return rc;
	for (int i = 0; i < 2; i++) {
		out->out_r[i] = l.rd[i]; /* the child has its ends; hive keeps these */
		l.rd[i] = -1;
	}
	launch_dispose(&l);
	out->pid = out->pgid = pid;
	out->pidfd = pidfd_for(pid);
	out->start_ms = start_ms;
	return 0;
}

static void close_pidfd(hive_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

void hive_proc_dispose(hive_proc *p)
{
	close_pidfd(p);
	for (int i = 0; i < 2; i++) {
		if (p->out_r[i] >= 0)
			close(p->out_r[i]);
		p->out_r[i] = -1;
	}
}

/* ---- wait -------------------------------------------------------------- */

struct waiter {
	hive_proc *p;
	const hive_proc_spec *spec;
	int phase;       /* PH_* */
	int64_t kill_at; /* when PH_TERM_SENT turns into SIGKILL */
	int64_t last_output_ms; /* start, or the last byte read from a capture pipe */
};

static void group_term(pid_t pgid)
{
	kill(-pgid, SIGTERM);
	kill(-pgid, SIGCONT); /* a stopped process would never act on TERM */
}

/* 1 if the leader has exited, 0 if not, or an error.  WNOWAIT leaves it a
 * zombie: its pid, hence its group id, cannot be recycled until reaped. */
static int leader_exited(pid_t pid)
{
	siginfo_t si;
	char eb[128];

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		return si.si_pid == pid;
	if (errno == EINTR)
		return 0;
	return hive_error_set(HIVE_ESYSTEM, "cannot wait for process %d: %s; was it "
	                      "reaped elsewhere (waitpid(-1) or SIGCHLD ignored)?",
	                      (int)pid, errstr(errno, eb, sizeof eb));
}

/* Act on timeout, cancel and the end of the grace period. */
static void enforce(struct waiter *w, hive_proc_result *res, int64_t now)
{
	const hive_proc_spec *s = w->spec;

	if (w->phase == PH_RUNNING) {
		if (s->cancel && *s->cancel)
			res->cancelled = 1;
		else if (s->timeout_ms > 0 && now >= w->p->start_ms + s->timeout_ms)
			res->timed_out = 1;
		else if (s->stall_timeout_ms > 0 && now >= w->last_output_ms + s->stall_timeout_ms)
			res->timed_out = res->stalled = 1; /* alive but silent (runtime.stall_timeout) */
		else
			return;
		group_term(w->p->pgid);
		w->phase = PH_TERM_SENT;
		w->kill_at = now + (s->grace_ms > 0 ? s->grace_ms : PROC_DEFAULT_GRACE_MS);
	} else if (w->phase == PH_TERM_SENT && now >= w->kill_at) {
		kill(-w->p->pgid, SIGKILL);
		w->phase = PH_KILL_SENT;
	}
}

static int64_t cap(int64_t t, int64_t limit)
{
	return t < limit ? t : limit;
}

/* How long to sleep before the next thing to do; -1 = until the exit. */
static int sleep_budget(const struct waiter *w, int64_t now)
{
	const hive_proc_spec *s = w->spec;
	int64_t t = INT64_MAX;

	if (w->phase == PH_RUNNING && s->timeout_ms > 0)
		t = w->p->start_ms + s->timeout_ms - now;
	if (w->phase == PH_RUNNING && s->stall_timeout_ms > 0)
		t = cap(t, w->last_output_ms + s->stall_timeout_ms - now);
	else if (w->phase == PH_TERM_SENT)
		t = w->kill_at - now;
	if (w->phase == PH_RUNNING && s->cancel)
		t = cap(t, PROC_CANCEL_SLICE_MS);
	if (w->p->pidfd < 0)
		t = cap(t, PROC_POLL_SLICE_MS);
	if (t == INT64_MAX)
		return -1;
	return (int)(t < 0 ? 0 : cap(t, INT_MAX));
}

/* The capture fed by pipe i (0 = stdout, 1 = stderr). */
static hive_capture *capture_of(const hive_proc_spec *s, int i)
{
	return i == 0 ? s->stdout_capture : s->stderr_capture;
}

/* Read what pipe i holds now, at most PROC_PUMP_MAX bytes per call so
 * timeouts are still enforced under a flood; closes the pipe at EOF (a
 * pipe at EOF would make every poll return at once). */
static void pump(struct waiter *w, int i)
{
	char chunk[65536];
	size_t got = 0;

	while (w->p->out_r[i] >= 0 && got < PROC_PUMP_MAX) {
		ssize_t n = read(w->p->out_r[i], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(w->p->out_r[i]);
			w->p->out_r[i] = -1;
			return;
		}
		hive_capture_feed(capture_of(w->spec, i), chunk, (size_t)n);
		got += (size_t)n;
		w->last_output_ms = hive_clock_monotonic_ms();
	}
}

/* Sleep until the pidfd says the leader exited, output arrives, or ms
 * pass; then read the output that arrived. */
static void doze(struct waiter *w, int ms)
{
	hive_proc *p = w->p;
	struct pollfd pfd[3];
	nfds_t n = 0;

	if (p->pidfd >= 0)
		pfd[n++] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
	for (int i = 0; i < 2; i++)
		if (p->out_r[i] >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->out_r[i], .events = POLLIN };
	if (n == 0) {
		sleep_ms(ms);
		return;
	}
	if (p->pidfd < 0 && (ms < 0 || ms > PROC_POLL_SLICE_MS))
		ms = PROC_POLL_SLICE_MS;
	if (poll(pfd, n, ms) < 0 && errno != EINTR)
		close_pidfd(p); /* never spin on a broken pidfd: fall back */
	for (int i = 0; i < 2; i++)
		pump(w, i);
}

/* Returns 0 once the leader has exited (still unreaped), or an error. */
static int await_leader(struct waiter *w, hive_proc_result *res)
{
	for (;;) {
		int rc = leader_exited(w->p->pid);
		if (rc)
			return rc < 0 ? rc : 0;
		int64_t now = hive_clock_monotonic_ms();
		enforce(w, res, now);
		doze(w, sleep_budget(w, now));
	}
}

/* After the group is gone: read what is left in the pipes.  A process
 * that left the group can hold a pipe open and keep writing, so this
 * stops after PROC_DRAIN_MS; closing the pipes then ends its writes. */
static void drain(struct waiter *w)
{
	int64_t end = hive_clock_monotonic_ms() + PROC_DRAIN_MS;

	while ((w->p->out_r[0] >= 0 || w->p->out_r[1] >= 0) && hive_clock_monotonic_ms() < end) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		for (int i = 0; i < 2; i++)
			if (w->p->out_r[i] >= 0)
				pfd[n++] = (struct pollfd){ .fd = w->p->out_r[i], .events = POLLIN };
		if (poll(pfd, n, PROC_POLL_SLICE_MS) == 0)
			break; /* nothing more came: an idle escaped writer */
		for (int i = 0; i < 2; i++)
			pump(w, i);
	}
}

static int reap(const hive_proc *p, hive_proc_result *res)
{
	int status;
	pid_t r;
	char eb[128];

	do
		r = waitpid(p->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot reap process %d: %s",
		                      (int)p->pid, errstr(errno, eb, sizeof eb));
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->signal = WTERMSIG(status);
	return 0;
}

static int group_live(pid_t pgid);

/* SIGKILL is delivered at once but dying takes a moment; return only when
 * no member still runs (bounded), so the caller may reuse the worktree.
 * Usually the group is empty and one kill(-pgid, 0) says so. */
static void settle_group(pid_t pgid)
{
	int64_t end = hive_clock_monotonic_ms() + PROC_AFTER_KILL_MS;

	while (group_live(pgid) == 1 && hive_clock_monotonic_ms() < end)
		sleep_ms(1);
}

int hive_proc_wait(hive_proc *p, const hive_proc_spec *spec, hive_proc_result *res)
{
	struct waiter w = { .p = p, .spec = spec, .phase = PH_RUNNING, .last_output_ms = p->start_ms };

	memset(res, 0, sizeof *res);
	res->exit_code = -1;
	int rc = await_leader(&w, res);
	res->duration_ms = hive_clock_monotonic_ms() - p->start_ms;
	kill(-p->pgid, SIGKILL); /* strays: background children, grandchildren */
	if (!rc) {
		rc = reap(p, res);
		settle_group(p->pgid); /* members left keep the group id theirs */
	}
	drain(&w);
	hive_proc_dispose(p);
	return rc;
}

int hive_proc_run(const hive_proc_spec *spec, hive_proc_result *res)
{
	hive_proc p;
	int rc = hive_proc_spawn(spec, &p);
	return rc ? rc : hive_proc_wait(&p, spec, res);
}

/* ---- process groups ----------------------------------------------------- */

static int check_pgid(pid_t pgid)
{
	if (pgid > 1 && pgid != getpgrp())
		return 0;
	return hive_error_set(HIVE_EINVALID, "refusing to signal process group %d: %s; "
	                      "pass the pgid recorded for the runtime", (int)pgid,
	                      pgid > 1 ? "it is hive's own group" : "not a valid group id");
}

/* 1 if /proc/<pid>/stat shows a non-zombie member of group pgid. */
static int live_member(long pid, pid_t pgid)
{
	char path[64], buf[512];
	char state;
	int ppid, pgrp;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ppid pgrp ...": comm may hold spaces and ')'. */
	char *rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
		return 0;
	return pgrp == pgid && state != 'Z' && state != 'X';
}

/* kill(-pgid, 0) counts zombies, which a PID 1 that does not reap orphans
 * (common in containers) keeps forever; /proc tells them apart.
 * 1 = a live member, 0 = none, -1 = cannot tell (no /proc). */
static int group_has_live_member(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int live = 0;

	if (!d)
		return -1;
	while (!live && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (pid > 0 && *end == '\0')
			live = live_member(pid, pgid);
	}
	closedir(d);
	return live;
}

/* 1 = a live member, 0 = none, -1 = members but cannot tell if zombies. */
static int group_live(pid_t pgid)
{
	if (kill(-pgid, 0) < 0 && errno == ESRCH)
		return 0;
	return group_has_live_member(pgid);
}

int hive_proc_group_alive(pid_t pgid)
{
	int rc = check_pgid(pgid);
	return rc ? rc : group_live(pgid) != 0;
}

/* 1 once group pgid has no live member, 0 if it still has after ms. */
static int await_group_gone(pid_t pgid, long ms)
{
	int64_t end = hive_clock_monotonic_ms() + ms;

	for (;;) {
		if (hive_proc_group_alive(pgid) == 0)
			return 1;
		if (hive_clock_monotonic_ms() >= end)
			return 0;
		sleep_ms(PROC_POLL_SLICE_MS);
	}
}

int hive_proc_group_kill(pid_t pgid, long grace_ms)
{
	char eb[128];
	int rc = check_pgid(pgid);

	if (rc)
		return rc;
	if (grace_ms < 0)
		return hive_error_set(HIVE_EINVALID, "cannot stop process group %d: negative "
		                      "grace (%ld ms); use 0 for the default", (int)pgid, grace_ms);
	if (kill(-pgid, SIGTERM) < 0) {
		if (errno == ESRCH)
			return 0;
		return hive_error_set(HIVE_ESYSTEM, "cannot signal process group %d: %s",
		                      (int)pgid, errstr(errno, eb, sizeof eb));
	}
	kill(-pgid, SIGCONT);
	if (await_group_gone(pgid, grace_ms ? grace_ms : PROC_DEFAULT_GRACE_MS))
		return 0;
	kill(-pgid, SIGKILL);
	if (await_group_gone(pgid, PROC_AFTER_KILL_MS))
		return 0;
	return hive_error_set(HIVE_ESYSTEM, "process group %d survived SIGKILL for %d ms; "
	                      "check `ps -g %d` for processes stuck in uninterruptible sleep",
	                      (int)pgid, PROC_AFTER_KILL_MS, (int)pgid);
}

/* ---- environment ------------------------------------------------------- */

static int env_kept(const char *kv)
{
	static const char *const keep[] = { "PATH", "HOME", "LANG", "TERM", "USER", "TMPDIR" };

	if (strncmp(kv, "LC_", 3) == 0)
		return 1;
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		size_t n = strlen(keep[i]);
		if (strncmp(kv, keep[i], n) == 0 && kv[n] == '=')
			return 1;
	}
	return 0;
}

/* Replace the entry with kv's key, or append; env has room for one more. */
static void env_put(char **env, size_t *len, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return;
	size_t klen = (size_t)(eq - kv) + 1; /* key and '=' */
	for (size_t i = 0; i < *len; i++) {
		if (strncmp(env[i], kv, klen) == 0) {
			free(env[i]);
			env[i] = hive_xstrdup(kv);
			return;
		}
	}
	env[(*len)++] = hive_xstrdup(kv);
}

char **hive_env_scrubbed(char *const *extra)
{
	char **env = hive_xcalloc(hive_strv_len(environ) + hive_strv_len(extra) + 1, sizeof *env);
	size_t len = 0;

	for (char **e = environ; e && *e; e++)
		if (env_kept(*e))
			env[len++] = hive_xstrdup(*e);
	for (size_t i = 0; extra && extra[i]; i++)
		env_put(env, &len, extra[i]);
	return env;
}

/* 1 when /proc/<pid>/environ holds exactly the entry `want`. */
static int environ_has(const char *pid, const char *want)
{
	hive_buf path = {0};
	hive_buf_printf(&path, "/proc/%s/environ", pid);
	FILE *f = fopen(path.data, "re");
	hive_buf_dispose(&path);
	if (!f)
		return 0; /* gone, or not ours to read */
	char *entry = NULL;
	size_t cap = 0;
	ssize_t n;
	int found = 0;
	while (!found && (n = getdelim(&entry, &cap, '\0', f)) > 0)
		found = strcmp(entry, want) == 0;
	free(entry);
	fclose(f);
	return found;
}

int hive_proc_kill_tagged(const char *name, const char *value, long grace_ms)
{
	hive_buf want = {0};
	hive_buf_printf(&want, "%s=%s", name, value);
	DIR *d = opendir("/proc");
	pid_t killed_groups[64];
	int killed = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 1 || pid == (long)getpid() || !environ_has(de->d_name, want.data))
			continue;
		pid_t pgid = getpgid((pid_t)pid);
		int seen = 0;
		for (int i = 0; i < killed && i < 64; i++)
			seen |= killed_groups[i] == pgid;
		if (pgid <= 1 || pgid == getpgrp() || seen)
			continue;
		hive_proc_group_kill(pgid, grace_ms);
		if (killed < 64)
			killed_groups[killed] = pgid;
		killed++;
	}
	if (d)
		closedir(d);
	hive_buf_dispose(&want);
	return killed;
}
