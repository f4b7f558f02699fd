/*
 * proc.h - run one program in its own process group, with files for its
 * standard streams, a timeout and a cancel flag.
 *
 * Used by the exec runtime adapter (an agent program run from an argv,
 * SPEC section 7) and by checks (argv = {"/bin/sh", "-c", CMD, NULL}).
 *
 * Thread safety: every function may be called from several threads at once.
 * Everything the child needs (argv, envp, candidate executable paths, open
 * fds) is prepared before the child is started with clone(CLONE_VM |
 * CLONE_VFORK) (posix_spawn's way: no page tables copied; proc.c says why);
 * between the clone and execve() the child makes only async-signal-safe
 * calls on its own stack and writes none of the parent's memory, so a spawn
 * from a multi-threaded process is safe.  Every fd hive_proc opens is O_CLOEXEC, and the child marks every
 * inherited fd >= 3 close-on-exec (close_range, Linux >= 5.11), so the
 * program sees only fds 0, 1, 2 even if other code leaked an fd.
 *
 * Caveats (read these before calling):
 * - Do not reap children behind hive_proc's back: no waitpid(-1, ...), no
 *   wait(), and SIGCHLD must not be SIG_IGN (that auto-reaps and makes
 *   hive_proc_wait fail with HIVE_ESYSTEM).
 * - Killing "the group" reaches the processes still in the program's
 *   process group.  A descendant that calls setsid() or setpgid() on itself
 *   has left the group and is out of reach (true of any pgid-based design).
 * - envp == NULL and hive_env_scrubbed() read the parent's environ; do not
 *   call setenv()/putenv() concurrently from another thread.
 * - In a container whose PID 1 does not reap orphans, killed grandchildren
 *   stay zombies; hive_proc_group_alive() ignores zombies for that reason.
 * - Wall-clock time lives in events/id.h (hive_time_now_ms); this module only
 *   adds the monotonic clock it needs for timeouts.
 */
#ifndef HIVE_PROC_H
#define HIVE_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "core/capture.h"

typedef struct {
	/* NULL-terminated, argv[0] required and non-empty.  If argv[0] contains
	 * '/', it is a path, relative to cwd when not absolute ("./agent.sh" is
	 * the worktree's agent.sh).  Otherwise it is searched like execvp() in
	 * the PATH found in envp, or the parent's PATH when envp has none, or
	 * "/bin:/usr/bin" when neither has one.  A file that is executable but
	 * has no "#!" line is run with /bin/sh, as execvp() does.  Borrowed. */
	char *const *argv;
	const char *cwd;          /* the child's working directory (required) */
	char *const *envp;        /* the child's complete environment; NULL = the parent's */
	/* The three stream paths are opened by the parent before the clone, so a
	 * relative one is relative to the parent's cwd, not to cwd above. */
	const char *stdin_path;   /* opened read-only on fd 0; NULL = /dev/null */
	const char *stdout_path;  /* created/truncated, mode 0600 (less umask); NULL = /dev/null */
	/* Same as stdout_path.  When both are non-NULL and equal (strcmp), fd 1
	 * and 2 share one open file description, so interleaving is kept. */
	const char *stderr_path;
	/* Optional, instead of a path: the stream is a pipe that hive_proc_wait
	 * reads into this capture while it waits, so hive holds the only
	 * descriptor it reads from and what the program writes is bounded in
	 * memory and on disk (capture.h).  The same capture for stdout and
	 * stderr is one pipe for both (2>&1 order kept).  Borrowed; the caller
	 * finishes it after hive_proc_wait.  The matching path is ignored. */
	hive_capture *stdout_capture, *stderr_capture;
	long timeout_ms;          /* 0 = none; counted from hive_proc.start_ms */
	/* 0 = none.  Stop the group, as on a timeout, once the program wrote
	 * nothing to a capture pipe (stdout_capture/stderr_capture) for this
	 * long, counted from the start or the last byte read; the result then
	 * says timed_out and stalled.  Output to a path is not watched. */
	long stall_timeout_ms;
	long grace_ms;            /* SIGTERM -> SIGKILL delay after timeout/cancel; 0 = 2000 */
	/* Optional.  Polled by hive_proc_wait at least every 50 ms; once it
	 * reads non-zero, the group is stopped as on a timeout and the result
	 * says cancelled.  Another thread sets it; hive_proc never writes it. */
	volatile int *cancel;
} hive_proc_spec;

/* A started program.  Filled by hive_proc_spawn; the fields are public so a
 * caller can record pid/pgid (e.g. in an event, for crash recovery). */
typedef struct {
	pid_t pid;        /* the leader: the process that ran argv */
	pid_t pgid;       /* its process group; always == pid */
	int pidfd;        /* pidfd_open() of pid, or -1 (then hive_proc_wait polls) */
	int out_r[2];     /* read ends of the stdout/stderr capture pipes, or -1 */
	int64_t start_ms; /* hive_clock_monotonic_ms() just before the clone */
} hive_proc;

typedef struct {
	int exit_code;     /* exit status if the leader exited normally, else -1 */
	int signal;        /* signal that terminated the leader, else 0 */
	int timed_out;     /* 1 if stopped for running past timeout_ms (or stalled) */
	int stalled;       /* 1 if stopped for printing nothing for stall_timeout_ms */
	int cancelled;     /* 1 if stopped because *cancel became non-zero */
	int64_t duration_ms; /* start_ms to the leader's exit, monotonic */
} hive_proc_result;

/* Start spec->argv in a new process group whose id is its pid.
 *
 * Returns 0 and fills *out (left untouched on error).  The caller must then
 * call hive_proc_wait (which reaps the child and closes out->pidfd) or, to
 * abandon the child, hive_proc_dispose.  Returns only once the program has
 * been exec'd (or failed to be), so the group exists on return.
 *
 * Errors (nothing is left running, no zombie is left behind):
 *   HIVE_EINVALID   spec has no argv[0], an empty argv[0], no cwd, or a
 *                   negative timeout_ms/grace_ms.
 *   HIVE_ENOTFOUND  the program could not be started: cwd missing, program
 *                   not found, not executable, ...  The message reads
 *                   'cannot start "./agent.sh" in /path/wt: No such file or
 *                   directory'.  Also: stdin_path does not exist.
 *   HIVE_ESYSTEM    a stream file could not be opened/created, or
 *                   pipe/clone failed. */
int hive_proc_spawn(const hive_proc_spec *spec, hive_proc *out);

/* Wait for the leader to exit while enforcing spec->timeout_ms and
 * spec->cancel (pass the spec given to hive_proc_spawn): on either, SIGTERM
 * (and SIGCONT, to wake stopped members) goes to the whole group, then
 * SIGKILL after grace_ms if the leader is still alive.  Sleeps in poll() on
 * the pidfd (slices of at most 50 ms only when spec->cancel is set); without
 * a pidfd, polls waitid() every 10 ms.
 *
 * Whatever the reason the leader exits, what remains of its group is sent
 * SIGKILL before the leader is reaped (so the group id cannot have been
 * recycled), and the call returns once no member is left running (waiting
 * at most 1 s for the kernel to finish them): no stray background child
 * keeps running in the worktree after it returns.
 *
 * Output to a capture pipe is read all along; once the group is gone, what
 * is left in the pipes is read for at most 1 s (a process that escaped the
 * group may hold a pipe open forever) and the pipes are closed.
 *
 * Fills *res and returns 0; closes p->pidfd and the pipes.  Errors: HIVE_ESYSTEM if the
 * child cannot be waited for (already reaped elsewhere: see caveats); *res
 * then holds exit_code -1 and the group has still been killed. */
int hive_proc_wait(hive_proc *p, const hive_proc_spec *spec, hive_proc_result *res);

/* hive_proc_spawn + hive_proc_wait.  Returns the spawn error (see above) if
 * the program could not start, in which case *res is untouched. */
int hive_proc_run(const hive_proc_spec *spec, hive_proc_result *res);

/* Release p->pidfd and the capture pipes without waiting: for a caller
 * that abandons the child (it is neither killed nor reaped).  Idempotent;
 * hive_proc_wait does it. */
void hive_proc_dispose(hive_proc *p);

/* Crash recovery, possibly from a later hive process: 1 if some process of
 * group pgid is alive and not a zombie, 0 if none.  Uses kill(-pgid, 0),
 * then /proc to discount zombies (if /proc is unreadable, zombies count as
 * alive).  HIVE_EINVALID if pgid <= 1 or is the caller's own group. */
int hive_proc_group_alive(pid_t pgid);

/* Stop group pgid: SIGTERM (+SIGCONT), check every 10 ms for up to grace_ms
 * (0 = 2000) that it is gone, then SIGKILL and check for up to 1 s more.
 * Returns 0 once no live member remains (also when there was none).
 * Errors: HIVE_EINVALID as hive_proc_group_alive, or for grace_ms < 0;
 * HIVE_ESYSTEM if the group cannot be signalled (EPERM: not ours) or a
 * member survives SIGKILL (stuck in uninterruptible sleep). */
int hive_proc_group_kill(pid_t pgid, long grace_ms);

/*
 * Kill the process group of every live process whose environment (as it
 * was at execve, /proc/<pid>/environ) holds NAME=VALUE: TERM, then KILL
 * after grace_ms.  hive tags every process of an attempt (runtime and
 * checks) with HIVE_ATTEMPT_ID, so this finds them without trusting a
 * recorded group number, which may have been reused since.  Never kills
 * hive's own group.  Linux /proc; returns the number of groups killed.
 */
int hive_proc_kill_tagged(const char *name, const char *value, long grace_ms);

/* CLOCK_MONOTONIC in milliseconds: for durations and deadlines only. */
int64_t hive_clock_monotonic_ms(void);

/* A new environment for a runtime: from the parent's environ, only PATH,
 * HOME, LANG, LC_*, TERM, USER and TMPDIR are kept; then each "K=V" of
 * `extra` (NULL-terminated, may be NULL) replaces the entry for K or is
 * appended, later entries winning.  Entries of extra without '=' (or with an
 * empty K) are skipped: callers build extra from validated keys.
 * Returns a new NULL-terminated array of new strings, never NULL (allocation
 * failure aborts); the caller frees it with hive_strv_free. */
char **hive_env_scrubbed(char *const *extra);

#endif
