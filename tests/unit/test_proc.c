/*
 * test_proc.c - the process runner against real processes, each test in a
 * fresh temp dir.  Nothing here depends on timing luck: where a script must
 * reach a point before a signal matters, the test waits for a file the
 * script writes; waits for the kernel to finish killing are bounded retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "tests/unit/testutil.h"

#include "core/proc.h"
#include "events/error.h"
#include "events/strv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define SH "/bin/sh"

/* ---- helpers ------------------------------------------------------------ */

static int setup(void **state)
{
	*state = tu_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	tu_rmrf(*state);
	free(*state);
	return 0;
}

/* dir/name into out (PATH_MAX). */
static const char *pj(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	assert_true(n > 0 && n < PATH_MAX);
	return out;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait (bounded, 10 s) until a script has written a whole line to path. */
static void wait_for_line(const char *path)
{
	for (int i = 0; i < 1000; i++) {
		char *s = tu_read_file(path);
		int done = s && *s && s[strlen(s) - 1] == '\n';
		free(s);
		if (done)
			return;
		nap_ms(10);
	}
	fail_msg("%s was never written", path);
}

static pid_t read_pid(const char *path)
{
	char *s = tu_read_file(path);
	assert_non_null(s);
	pid_t pid = (pid_t)atoi(s);
	free(s);
	assert_true(pid > 1);
	return pid;
}

/* State letter of /proc/PID/stat, or 0 if there is no such process. */
static char proc_state(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *s = tu_read_file(path);
	char st = 0;
	if (s && strrchr(s, ')'))
		sscanf(strrchr(s, ')') + 1, " %c", &st);
	free(s);
	return st;
}

/* An orphan is reaped by PID 1, which in some containers never reaps: dead
 * then means gone (ESRCH) or a zombie.  Retries for up to 2 s. */
static int pid_dead(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		if ((kill(pid, 0) < 0 && errno == ESRCH) || proc_state(pid) == 'Z')
			return 1;
		nap_ms(10);
	}
	return 0;
}

/* Every test reaps what it starts, so the test process has no child. */
static void assert_no_children(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static hive_proc_spec spec_in(const char *dir, char *const *argv)
{
	hive_proc_spec s;
	memset(&s, 0, sizeof s);
	s.argv = argv;
	s.cwd = dir;
	return s;
}

static void write_script(const char *path, const char *body)
{
	tu_write_file(path, body);
	assert_int_equal(chmod(path, 0755), 0);
}

/* ---- exit status and streams ------------------------------------------- */

static void test_exit_code_is_captured(void **state)
{
	char *argv[] = { SH, "-c", "exit 7", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.exit_code, 7);
	assert_int_equal(r.signal, 0);
	assert_int_equal(r.timed_out, 0);
	assert_int_equal(r.cancelled, 0);
	assert_true(r.duration_ms >= 0);
	assert_no_children();
}

static void test_stdout_and_stderr_go_to_their_files(void **state)
{
	char out[PATH_MAX], err[PATH_MAX];
	char *argv[] = { SH, "-c", "echo to-out; echo to-err >&2", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;
	struct stat st;

	s.stdout_path = pj(out, *state, "out.txt");
	s.stderr_path = pj(err, *state, "err.txt");
	tu_write_file(out, "old content that must be truncated away\n");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *o = tu_read_file(out), *e = tu_read_file(err);
	assert_string_equal(o, "to-out\n");
	assert_string_equal(e, "to-err\n");
	free(o);
	free(e);
	assert_int_equal(stat(err, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0); /* created 0600 */
}

static void test_same_path_merges_streams_in_order(void **state)
{
	char out[PATH_MAX], same[PATH_MAX];
	char *argv[] = { SH, "-c", "echo a; echo b >&2; echo c; echo d >&2", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	s.stdout_path = pj(out, *state, "log.txt");
	s.stderr_path = pj(same, *state, "log.txt"); /* equal string, other pointer */
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *log = tu_read_file(out);
	assert_string_equal(log, "a\nb\nc\nd\n");
	free(log);
}

static void test_stdin_is_fed_from_a_file(void **state)
{
	char in[PATH_MAX], out[PATH_MAX];
	char *argv[] = { "cat", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	tu_write_file(pj(in, *state, "in.txt"), "line one\nline two\n");
	s.stdin_path = in;
	s.stdout_path = pj(out, *state, "out.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *o = tu_read_file(out);
	assert_string_equal(o, "line one\nline two\n");
	free(o);

	s.stdin_path = NULL; /* /dev/null: cat sees EOF at once */
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.exit_code, 0);
	o = tu_read_file(out);
	assert_string_equal(o, "");
	free(o);
}

static void test_missing_stdin_file_is_not_found(void **state)
{
	char in[PATH_MAX];
	char *argv[] = { "cat", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	s.stdin_path = pj(in, *state, "absent.txt");
	assert_int_equal(hive_proc_run(&s, &r), HIVE_ENOTFOUND);
	assert_non_null(strstr(hive_error_last(), "absent.txt"));
	assert_no_children();
}

/* ---- where and with what it runs --------------------------------------- */

static void test_cwd_is_honoured(void **state)
{
	char out[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 2];
	char *argv[] = { "/bin/pwd", "-P", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	assert_non_null(realpath(*state, real));
	snprintf(want, sizeof want, "%s\n", real);
	s.stdout_path = pj(out, *state, "pwd.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *o = tu_read_file(out);
	assert_string_equal(o, want);
	free(o);
}

static void test_relative_program_is_resolved_against_cwd(void **state)
{
	char x[PATH_MAX], out[PATH_MAX];
	char *argv[] = { "./x.sh", "arg1", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	write_script(pj(x, *state, "x.sh"), "#!/bin/sh\necho \"ran $1\"\nexit 3\n");
	s.stdout_path = pj(out, *state, "out.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.exit_code, 3);
	char *o = tu_read_file(out);
	assert_string_equal(o, "ran arg1\n");
	free(o);
}

static void test_envp_is_the_whole_environment(void **state)
{
	char out[PATH_MAX];
	char *argv[] = { "sh", "-c", "echo \"[$HIVE_X][$HOME]\"", NULL };
	char *envp[] = { "HIVE_X=42", "PATH=/usr/bin:/bin", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	s.envp = envp;
	s.stdout_path = pj(out, *state, "out.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *o = tu_read_file(out);
	assert_string_equal(o, "[42][]\n");
	free(o);
}

static void test_program_is_searched_in_envp_path(void **state)
{
	char bin[PATH_MAX], prog[PATH_MAX], path[PATH_MAX + 32], out[PATH_MAX];
	char *argv[] = { "hive-test-prog", NULL };
	char *envp[] = { path, NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	assert_int_equal(mkdir(pj(bin, *state, "bin"), 0755), 0);
	write_script(pj(prog, bin, "hive-test-prog"), "#!/bin/sh\necho found-me\n");
	snprintf(path, sizeof path, "PATH=/nonexistent:%s", bin);
	s.envp = envp;
	s.stdout_path = pj(out, *state, "out.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *o = tu_read_file(out);
	assert_string_equal(o, "found-me\n");
	free(o);
}

/* An fd the parent opened without O_CLOEXEC must not reach the program. */
static void test_parent_fds_do_not_leak_into_the_child(void **state)
{
	char out[PATH_MAX], num[16];
	char *argv[] = { SH, "-c", "[ -e /proc/$$/fd/$0 ] && echo leaked || echo clean", num, NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;
	int fd = open("/dev/null", O_RDONLY); /* deliberately inheritable */

	assert_true(fd > 2);
	snprintf(num, sizeof num, "%d", fd);
	s.stdout_path = pj(out, *state, "out.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	close(fd);
	char *o = tu_read_file(out);
	assert_string_equal(o, "clean\n");
	free(o);
}

/* execvp() runs an executable without "#!" through /bin/sh; so do we. */
static void test_script_without_shebang_runs_with_sh(void **state)
{
	char x[PATH_MAX], out[PATH_MAX];
	char *argv[] = { "./plain", "a b", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	write_script(pj(x, *state, "plain"), "echo \"plain [$1]\"\n");
	s.stdout_path = pj(out, *state, "out.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	char *o = tu_read_file(out);
	assert_string_equal(o, "plain [a b]\n");
	free(o);
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static int count_prefixed_lines(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

static void test_scrubbed_env_keeps_listed_and_drops_others(void **state)
{
	char out[PATH_MAX], path_line[8192];
	char *extra[] = { "HIVE_Y=1", "HOME=/hive-home", "no-equals-sign", NULL };
	char *argv[] = { "env", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	assert_non_null(getenv("PATH"));
	setenv("HIVE_TEST_FOO", "bar", 1);
	setenv("LC_HIVETEST", "kept", 1);
	char **env = hive_env_scrubbed(extra);
	unsetenv("HIVE_TEST_FOO");
	unsetenv("LC_HIVETEST");
	s.envp = env;
	s.stdout_path = pj(out, *state, "env.txt");
	assert_int_equal(hive_proc_run(&s, &r), 0);
	hive_strv_free(env);

	char *o = tu_read_file(out);
	snprintf(path_line, sizeof path_line, "PATH=%s", getenv("PATH"));
	assert_null(strstr(o, "HIVE_TEST_FOO"));
	assert_true(has_line(o, path_line));
	assert_true(has_line(o, "LC_HIVETEST=kept"));
	assert_true(has_line(o, "HIVE_Y=1"));
	assert_true(has_line(o, "HOME=/hive-home"));
	assert_null(strstr(o, "no-equals-sign"));
	assert_int_equal(count_prefixed_lines(o, "HOME="), 1); /* replaced, not added */
	free(o);
}

static void test_scrubbed_env_later_extra_wins(void **state)
{
	(void)state;
	char *extra[] = { "K=1", "K=2", "=nokey", NULL };
	char **env = hive_env_scrubbed(extra);
	int seen = 0;

	for (char **e = env; *e; e++) {
		assert_true(strncmp(*e, "=", 1) != 0);
		if (strncmp(*e, "K=", 2) == 0) {
			assert_string_equal(*e, "K=2");
			seen++;
		}
	}
	assert_int_equal(seen, 1);
	hive_strv_free(env);
	hive_strv_free(NULL);
}

/* ---- cannot start ------------------------------------------------------ */

static void assert_cannot_start(const char *dir, char *const *argv, const char *why)
{
	hive_proc_spec s = spec_in(dir, argv);
	hive_proc_result r = { .exit_code = 12345 };
	char want[PATH_MAX + 64];

	snprintf(want, sizeof want, "cannot start \"%s\"", argv[0]);
	assert_int_equal(hive_proc_run(&s, &r), HIVE_ENOTFOUND);
	assert_int_equal(hive_error_last_code(), HIVE_ENOTFOUND);
	assert_non_null(strstr(hive_error_last(), want));
	assert_non_null(strstr(hive_error_last(), why));
	assert_int_equal(r.exit_code, 12345); /* untouched */
	assert_no_children();
}

static void test_missing_program_is_not_found_and_leaves_no_zombie(void **state)
{
	char *bare[] = { "hive-no-such-program-xyz", NULL };
	char *rel[] = { "./missing.sh", NULL };
	char in_dir[PATH_MAX + 64];

	assert_cannot_start(*state, bare, "No such file or directory");
	assert_cannot_start(*state, rel, "No such file or directory");
	snprintf(in_dir, sizeof in_dir, "\"./missing.sh\" in %s: No such file", (char *)*state);
	assert_non_null(strstr(hive_error_last(), in_dir));
}

static void test_non_executable_program_is_not_found(void **state)
{
	char x[PATH_MAX];
	char *argv[] = { "./noexec.sh", NULL };

	tu_write_file(pj(x, *state, "noexec.sh"), "#!/bin/sh\nexit 0\n"); /* mode 0644 */
	assert_cannot_start(*state, argv, "Permission denied");
}

/* A program someone holds open for writing cannot be exec'd (ETXTBSY).
 * hive's own threads cause that for microseconds (a checkout writing the
 * file while another thread clones a child), so spawn tries again for a
 * while: here the writer lets go after 20 ms and the spawn succeeds. */
struct busy_writer {
	int fd;
};

static void *let_go_later(void *arg)
{
	struct busy_writer *w = arg;
	nap_ms(20);
	close(w->fd);
	return NULL;
}

/* valgrind runs a failed execve as the end of the child (its own exec
 * check cannot see ETXTBSY coming): these two tests only mean something
 * natively (make test, make check), and say so under valgrind. */
static int under_valgrind(void)
{
	const char *pre = getenv("LD_PRELOAD");
	return pre && strstr(pre, "vgpreload");
}

static void test_briefly_busy_program_is_tried_again(void **state)
{
	char x[PATH_MAX];
	char *argv[] = { "./busy.sh", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;
	pthread_t t;

	if (under_valgrind())
		skip();
	write_script(pj(x, *state, "busy.sh"), "#!/bin/sh\nexit 3\n");
	struct busy_writer w = { open(x, O_WRONLY | O_CLOEXEC) };
	assert_true(w.fd >= 0);
	assert_int_equal(pthread_create(&t, NULL, let_go_later, &w), 0);
	int rc = hive_proc_run(&s, &r);
	assert_int_equal(pthread_join(t, NULL), 0); /* before any assert: w lives here */
	assert_int_equal(rc, 0);
	assert_int_equal(r.exit_code, 3);
	assert_no_children();
}

/* ...but a program that stays open for writing fails with the reason. */
static void test_program_kept_open_for_writing_fails(void **state)
{
	char x[PATH_MAX];
	char *argv[] = { "./busy.sh", NULL };

	if (under_valgrind())
		skip();
	write_script(pj(x, *state, "busy.sh"), "#!/bin/sh\nexit 0\n");
	int fd = open(x, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_cannot_start(*state, argv, "Text file busy");
	close(fd);
}

static void test_missing_cwd_is_not_found(void **state)
{
	char gone[PATH_MAX];
	char *argv[] = { SH, "-c", "exit 0", NULL };

	assert_cannot_start(pj(gone, *state, "no-such-dir"), argv, "working directory");
	assert_non_null(strstr(hive_error_last(), "no-such-dir"));
}

static void test_invalid_spec_is_rejected(void **state)
{
	char *empty[] = { "", NULL };
	char *ok[] = { SH, NULL };
	hive_proc_spec s = spec_in(*state, NULL);
	hive_proc_result r;

	assert_int_equal(hive_proc_run(&s, &r), HIVE_EINVALID);
	s.argv = empty;
	assert_int_equal(hive_proc_run(&s, &r), HIVE_EINVALID);
	s = spec_in(NULL, ok);
	assert_int_equal(hive_proc_run(&s, &r), HIVE_EINVALID);
	s = spec_in(*state, ok);
	s.timeout_ms = -1;
	assert_int_equal(hive_proc_run(&s, &r), HIVE_EINVALID);
	assert_no_children();
}

/* ---- signals, timeouts, cancel ----------------------------------------- */

static void test_death_by_signal_is_reported(void **state)
{
	char *argv[] = { SH, "-c", "kill -KILL $$", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.signal, SIGKILL);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(r.timed_out, 0);
}

/* SIG_IGN and blocked signals survive execve(); the parent's must not. */
static void test_child_starts_with_default_signals(void **state)
{
	char out[PATH_MAX];
	char *die[] = { SH, "-c", "kill -USR1 $$; echo survived", NULL };
	char *mask[] = { "grep", "^SigBlk:", "/proc/self/status", NULL }; /* no shell: it blocks signals while waiting */
	hive_proc_spec s = spec_in(*state, die);
	hive_proc_result r;
	sigset_t usr2, old;

	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, &old);
	int rc1 = hive_proc_run(&s, &r);
	int sig = r.signal;
	s = spec_in(*state, mask);
	s.stdout_path = pj(out, *state, "mask.txt");
	int rc2 = hive_proc_run(&s, &r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);

	assert_int_equal(rc1, 0);
	assert_int_equal(sig, SIGUSR1);
	assert_int_equal(rc2, 0);
	char *o = tu_read_file(out);
	assert_int_equal(strncmp(o, "SigBlk:\t", 8), 0);
	assert_int_equal(strspn(o + 8, "0"), strlen(o + 8) - 1); /* all zero, then \n */
	free(o);
}

static void test_timeout_kills_the_whole_group(void **state)
{
	char gc[PATH_MAX];
	char *argv[] = { SH, "-c", "sleep 100 & echo $! > gc.pid; wait", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc p;
	hive_proc_result r;

	s.timeout_ms = 200;
	s.grace_ms = 200;
	assert_int_equal(hive_proc_spawn(&s, &p), 0);
	assert_int_equal(p.pgid, p.pid);
	/* The timeout is enforced by hive_proc_wait only, so waiting here for
	 * the grandchild's pid cannot race with it. */
	wait_for_line(pj(gc, *state, "gc.pid"));
	pid_t grandchild = read_pid(gc);
	assert_int_equal(getpgid(grandchild), p.pgid);
	assert_int_equal(hive_proc_wait(&p, &s, &r), 0);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.cancelled, 0);
	assert_true(r.duration_ms >= 200);
	assert_int_equal(p.pidfd, -1);
	assert_true(pid_dead(grandchild));
	assert_int_equal(hive_proc_group_alive(p.pgid), 0);
	assert_no_children();
}

static void test_term_ignoring_process_is_killed_after_grace(void **state)
{
	char ready[PATH_MAX];
	char *argv[] = { SH, "-c", "trap '' TERM; echo ok > ready; sleep 100", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc p;
	hive_proc_result r;

	s.timeout_ms = 100;
	s.grace_ms = 300;
	assert_int_equal(hive_proc_spawn(&s, &p), 0);
	wait_for_line(pj(ready, *state, "ready")); /* the trap is in place */
	assert_int_equal(hive_proc_wait(&p, &s, &r), 0);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.signal, SIGKILL);
	assert_int_equal(r.exit_code, -1);
	assert_true(r.duration_ms >= 100 + 300);
	assert_int_equal(hive_proc_group_alive(p.pgid), 0);
}

static void *set_flag_later(void *arg)
{
	nap_ms(100);
	*(volatile int *)arg = 1;
	return NULL;
}

static void test_cancel_flag_stops_the_group(void **state)
{
	char *argv[] = { "sleep", "100", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	volatile int cancel = 0;
	hive_proc_result r;
	pthread_t t;

	s.cancel = &cancel;
	assert_int_equal(pthread_create(&t, NULL, set_flag_later, (void *)&cancel), 0);
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.cancelled, 1);
	assert_int_equal(r.timed_out, 0);
	assert_int_equal(r.signal, SIGTERM);
	assert_int_equal(r.exit_code, -1);

	/* Already set before the wait: stopped at once, still reported. */
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.cancelled, 1);
	assert_int_equal(r.signal, SIGTERM);
	assert_no_children();
}

static void test_stray_background_child_is_killed_after_normal_exit(void **state)
{
	char bg[PATH_MAX];
	char *argv[] = { SH, "-c", "sleep 100 & echo $! > bg.pid; exit 0", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;

	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.timed_out, 0);
	assert_true(pid_dead(read_pid(pj(bg, *state, "bg.pid"))));
}

/* Without a pidfd, hive_proc_wait falls back to a waitid() sleep loop. */
static void test_wait_without_pidfd_still_enforces_timeout(void **state)
{
	char *argv[] = { "sleep", "100", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc p;
	hive_proc_result r;

	s.timeout_ms = 100;
	assert_int_equal(hive_proc_spawn(&s, &p), 0);
	hive_proc_dispose(&p);
	assert_int_equal(p.pidfd, -1);
	assert_int_equal(hive_proc_wait(&p, &s, &r), 0);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.signal, SIGTERM);
	assert_true(r.duration_ms >= 100);
}

static int64_t cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* A busy-spinning wait would burn about as much CPU as wall time. */
static void test_wait_sleeps_instead_of_spinning(void **state)
{
	char *argv[] = { "sleep", "0.4", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	volatile int cancel = 0;
	hive_proc p;
	hive_proc_result r;

	s.cancel = &cancel; /* the 50 ms slicing path */
	assert_int_equal(hive_proc_spawn(&s, &p), 0);
	int64_t before = cpu_ms();
	assert_int_equal(hive_proc_wait(&p, &s, &r), 0);
	int64_t used = cpu_ms() - before;
	assert_int_equal(r.exit_code, 0);
	assert_true(r.duration_ms >= 400);
	assert_true(used * 2 < r.duration_ms);
}

/* ---- groups by id (crash recovery) ------------------------------------- */

/* Start a script, reap its leader by hand: its background job is left
 * running in a group no hive_proc tracks, like after a hive crash. */
static pid_t detached_group(const char *dir, const char *script)
{
	char *argv[] = { SH, "-c", (char *)script, NULL };
	hive_proc_spec s = spec_in(dir, argv);
	hive_proc p;
	int status;

	assert_int_equal(hive_proc_spawn(&s, &p), 0);
	assert_int_equal(waitpid(p.pid, &status, 0), p.pid);
	hive_proc_dispose(&p);
	return p.pgid;
}

static void test_group_kill_stops_a_detached_group(void **state)
{
	char bg[PATH_MAX];
	pid_t pgid = detached_group(*state, "sleep 100 & echo $! > bg.pid");
	pid_t sleeper = read_pid(pj(bg, *state, "bg.pid"));

	assert_int_equal(hive_proc_group_alive(pgid), 1);
	assert_int_equal(hive_proc_group_kill(pgid, 2000), 0);
	assert_int_equal(hive_proc_group_alive(pgid), 0);
	assert_true(pid_dead(sleeper));
	assert_int_equal(hive_proc_group_kill(pgid, 0), 0); /* already gone */
	assert_no_children();
}

/* Killing by tag finds a group through its members' environment and
 * leaves an untagged group alone, whatever group numbers were recorded:
 * what keeps an abort from hitting a reused process-group id. */
/* Wait (up to 10 s) until pid's environment shows name=value: a process
 * started as `env NAME=VALUE prog &` carries the tag only once env has
 * exec'd prog, and on a loaded machine that can come after its pid file. */
static void wait_for_env_tag(pid_t pid, const char *name, const char *value)
{
	char path[64], want[128];
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	int wlen = snprintf(want, sizeof want, "%s=%s", name, value);
	for (int i = 0; i < 1000; i++) {
		char buf[8192];
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
		if (f)
			fclose(f);
		for (size_t off = 0; off < n; off += strnlen(buf + off, n - off) + 1)
			if (n - off >= (size_t)wlen && memcmp(buf + off, want, (size_t)wlen) == 0 &&
			    (off + (size_t)wlen == n || buf[off + (size_t)wlen] == '\0'))
				return;
		usleep(10000);
	}
	fail_msg("process %d never showed %s in its environment", (int)pid, want);
}

static void test_kill_tagged_spares_untagged_groups(void **state)
{
	char a[PATH_MAX], b[PATH_MAX], cmd[160], tag[64];
	/* unique per run: another test_proc running at the same time on this
	 * machine must not find (and kill) this one's process */
	snprintf(tag, sizeof tag, "attempt-under-test-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "env HIVE_ATTEMPT_ID=%s sleep 100 & echo $! > tagged.pid", tag);
	pid_t tagged_group = detached_group(*state, cmd);
	pid_t other_group = detached_group(*state, "sleep 100 & echo $! > other.pid");
	pid_t tagged = read_pid(pj(a, *state, "tagged.pid"));
	pid_t other = read_pid(pj(b, *state, "other.pid"));
	wait_for_env_tag(tagged, "HIVE_ATTEMPT_ID", tag);

	assert_int_equal(hive_proc_kill_tagged("HIVE_ATTEMPT_ID", tag, 2000), 1);
	assert_true(pid_dead(tagged));
	assert_int_equal(hive_proc_group_alive(tagged_group), 0);
	assert_int_equal(hive_proc_group_alive(other_group), 1);
	assert_false(pid_dead(other));
	assert_int_equal(hive_proc_kill_tagged("HIVE_ATTEMPT_ID", tag, 0), 0);
	assert_int_equal(hive_proc_group_kill(other_group, 2000), 0);
	assert_true(pid_dead(other));
	assert_no_children();
}

static void test_group_kill_escalates_to_sigkill(void **state)
{
	char ready[PATH_MAX];
	pid_t pgid = detached_group(*state,
		"(trap '' TERM; echo ok > ready; sleep 100) & :");
	int64_t t0;

	wait_for_line(pj(ready, *state, "ready"));
	assert_int_equal(hive_proc_group_alive(pgid), 1);
	t0 = hive_clock_monotonic_ms();
	assert_int_equal(hive_proc_group_kill(pgid, 150), 0);
	assert_true(hive_clock_monotonic_ms() - t0 >= 150);
	assert_int_equal(hive_proc_group_alive(pgid), 0);
}

static void test_group_functions_refuse_dangerous_ids(void **state)
{
	(void)state;
	assert_int_equal(hive_proc_group_alive(0), HIVE_EINVALID);
	assert_int_equal(hive_proc_group_alive(1), HIVE_EINVALID);
	assert_int_equal(hive_proc_group_alive(-5), HIVE_EINVALID);
	assert_int_equal(hive_proc_group_alive(getpgrp()), HIVE_EINVALID);
	assert_int_equal(hive_proc_group_kill(1, 10), HIVE_EINVALID);
	assert_int_equal(hive_proc_group_kill(getpgrp(), 10), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "own group"));
}

/* ---- threads ------------------------------------------------------------ */

struct par_job {
	const char *dir;
	int index;
	int ok;
};

static void *par_worker(void *arg)
{
	struct par_job *j = arg;
	char out[PATH_MAX], name[32], want[64], code[32];
	char *argv[] = { SH, "-c", "echo \"job $0\"; exit $0", code, NULL };
	hive_proc_spec s = spec_in(j->dir, argv);
	hive_proc_result r;

	j->ok = 1;
	for (int k = 0; k < 5; k++) {
		snprintf(code, sizeof code, "%d", j->index * 10 + k);
		snprintf(name, sizeof name, "out-%d-%d", j->index, k);
		snprintf(want, sizeof want, "job %s\n", code);
		s.stdout_path = pj(out, j->dir, name);
		char *o = NULL;
		if (hive_proc_run(&s, &r) != 0 || r.exit_code != j->index * 10 + k ||
		    !(o = tu_read_file(out)) || strcmp(o, want) != 0)
			j->ok = 0;
		free(o);
	}
	return NULL;
}

static void test_parallel_runs_from_threads(void **state)
{
	enum { N = 8 };
	pthread_t t[N];
	struct par_job jobs[N];

	for (int i = 0; i < N; i++) {
		jobs[i] = (struct par_job){ .dir = *state, .index = i + 1 };
		assert_int_equal(pthread_create(&t[i], NULL, par_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(jobs[i].ok);
	}
	assert_no_children();
}

/* ---- capture: bounded output read from pipes hive holds ------------------- */

/* Feeding in odd-sized pieces keeps the real head, the real tail, the
 * byte and line counts, and says what it left out. */
static void test_capture_keeps_head_and_real_tail(void **state)
{
	char log[PATH_MAX];
	hive_capture c;
	hive_output o;
	char line[32];

	assert_int_equal(hive_capture_init(&c, pj(log, *state, "out.log"), 2048), 0);
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(line, sizeof line, "line %05d\n", i); /* 11 bytes */
		hive_capture_feed(&c, line, (size_t)(i % 7 ? n : 3));
		if (i % 7 == 0)
			hive_capture_feed(&c, line + 3, (size_t)n - 3);
	}
	hive_capture_feed(&c, "no newline", 10);
	hive_capture_finish(&c, &o);
	hive_capture_dispose(&c);
	assert_int_equal(o.total_bytes, 110010);
	assert_int_equal(o.lines, 10001);
	assert_true(o.truncated);
	assert_memory_equal(o.text.data, "line 00000\nline 00001\n", 22);
	assert_non_null(strstr(o.text.data, "[... 107962 bytes left out"));
	size_t tl = strlen("line 09999\nno newline");
	assert_string_equal(o.text.data + o.text.len - tl, "line 09999\nno newline");
	/* the file holds exactly the kept text */
	char *f = tu_read_file(log);
	assert_string_equal(f, o.text.data);
	free(f);
	hive_output_dispose(&o);
}

static void test_capture_under_the_limit_keeps_everything(void **state)
{
	hive_capture c;
	hive_output o;
	(void)state;

	assert_int_equal(hive_capture_init(&c, NULL, 0), 0);
	hive_capture_feed(&c, "a\nb", 3);
	hive_capture_finish(&c, &o);
	hive_capture_dispose(&c);
	hive_capture_dispose(&c); /* twice is fine */
	assert_string_equal(o.text.data, "a\nb");
	assert_int_equal(o.lines, 2);
	assert_false(o.truncated);
	hive_output_dispose(&o);
}

/* A FIFO or a symlink planted at the log's name is replaced, never
 * opened: opening a FIFO for writing would block for good. */
static void test_capture_replaces_a_planted_fifo_and_symlink(void **state)
{
	char fifo[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	hive_capture c;
	struct stat st;

	assert_int_equal(mkfifo(pj(fifo, *state, "fifo.log"), 0600), 0);
	assert_int_equal(hive_capture_init(&c, fifo, 0), 0);
	hive_capture_dispose(&c);
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	tu_write_file(pj(target, *state, "precious"), "keep me\n");
	assert_int_equal(symlink(target, pj(link, *state, "link.log")), 0);
	assert_int_equal(hive_capture_init(&c, link, 0), 0);
	hive_capture_feed(&c, "x", 1);
	hive_capture_dispose(&c);
	char *t = tu_read_file(target);
	assert_string_equal(t, "keep me\n");
	free(t);
}

static void test_capture_limit_from_the_environment(void **state)
{
	size_t n;
	(void)state;
	unsetenv("HIVE_TEST_LIMIT");
	assert_int_equal(hive_capture_limit("HIVE_TEST_LIMIT", 77, &n), 0);
	assert_int_equal(n, 77);
	setenv("HIVE_TEST_LIMIT", "3M", 1);
	assert_int_equal(hive_capture_limit("HIVE_TEST_LIMIT", 77, &n), 0);
	assert_int_equal(n, 3u << 20);
	setenv("HIVE_TEST_LIMIT", "4096", 1);
	assert_int_equal(hive_capture_limit("HIVE_TEST_LIMIT", 77, &n), 0);
	assert_int_equal(n, 4096);
	const char *bad[] = {"-1", "12X", "M", "1", "99999999999999999999G"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("HIVE_TEST_LIMIT", bad[i], 1);
		assert_int_equal(hive_capture_limit("HIVE_TEST_LIMIT", 77, &n), HIVE_EINVALID);
		assert_non_null(strstr(hive_error_last(), "HIVE_TEST_LIMIT"));
	}
	unsetenv("HIVE_TEST_LIMIT");
}

/* A program writing far more than the limit, to stdout and stderr
 * through one pipe, while its stray child keeps the pipe open: the wait
 * reads everything, ends, and memory stays at the limit. */
static void test_proc_captures_a_flood_through_one_pipe(void **state)
{
	char *argv[] = { SH, "-c", "echo first; head -c 3000000 /dev/zero | tr '\\0' x; echo; "
	                 "echo last >&2; (sleep 30 &) ; sleep 30 & exit 3", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;
	hive_capture c;
	hive_output o;

	assert_int_equal(hive_capture_init(&c, NULL, 4096), 0);
	s.stdout_capture = s.stderr_capture = &c;
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.exit_code, 3);
	hive_capture_finish(&c, &o);
	hive_capture_dispose(&c);
	assert_int_equal(o.total_bytes, 6 + 3000001 + 5);
	assert_int_equal(o.lines, 3);
	assert_memory_equal(o.text.data, "first\nxxx", 9);
	assert_string_equal(o.text.data + o.text.len - 8, "xx\nlast\n");
	assert_true(o.text.len < 4096 + 200);
	hive_output_dispose(&o);
	assert_no_children();
}

/* runtime.stall_timeout: a program alive but silent on its capture pipes
 * is stopped like a timeout and said to have stalled; one that keeps
 * printing (more slowly than the stall limit between lines, for longer
 * than the limit in all) is not. */
static void test_stall_timeout_stops_a_silent_program(void **state)
{
	char *argv[] = { SH, "-c", "echo started; sleep 30", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;
	hive_capture c;
	hive_output o;

	assert_int_equal(hive_capture_init(&c, NULL, 0), 0);
	s.stdout_capture = s.stderr_capture = &c;
	s.stall_timeout_ms = 300;
	s.grace_ms = 200;
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.stalled, 1);
	assert_true(r.duration_ms >= 300 && r.duration_ms < 10000);
	hive_capture_finish(&c, &o);
	hive_capture_dispose(&c);
	assert_string_equal(o.text.data, "started\n");
	hive_output_dispose(&o);
	assert_no_children();
}

static void test_stall_timeout_spares_a_chatty_program(void **state)
{
	char *argv[] = { SH, "-c", "for i in 1 2 3 4 5 6 7 8; do echo tick $i >&2; sleep 0.1; done; exit 4", NULL };
	hive_proc_spec s = spec_in(*state, argv);
	hive_proc_result r;
	hive_capture c;

	assert_int_equal(hive_capture_init(&c, NULL, 0), 0);
	s.stdout_capture = s.stderr_capture = &c;
	s.stall_timeout_ms = 500; /* each gap ~100 ms; the whole run ~800 ms */
	assert_int_equal(hive_proc_run(&s, &r), 0);
	assert_int_equal(r.exit_code, 4);
	assert_int_equal(r.timed_out, 0);
	assert_int_equal(r.stalled, 0);
	assert_true(r.duration_ms >= 500);
	hive_capture_dispose(&c);
	s.stall_timeout_ms = -1;
	hive_proc p;
	assert_int_equal(hive_proc_spawn(&s, &p), HIVE_EINVALID);
	assert_no_children();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_exit_code_is_captured),
		T(test_stdout_and_stderr_go_to_their_files),
		T(test_same_path_merges_streams_in_order),
		T(test_stdin_is_fed_from_a_file),
		T(test_missing_stdin_file_is_not_found),
		T(test_cwd_is_honoured),
		T(test_relative_program_is_resolved_against_cwd),
		T(test_envp_is_the_whole_environment),
		T(test_program_is_searched_in_envp_path),
		T(test_script_without_shebang_runs_with_sh),
		T(test_parent_fds_do_not_leak_into_the_child),
		T(test_scrubbed_env_keeps_listed_and_drops_others),
		T(test_scrubbed_env_later_extra_wins),
		T(test_missing_program_is_not_found_and_leaves_no_zombie),
		T(test_non_executable_program_is_not_found),
		T(test_missing_cwd_is_not_found),
		T(test_briefly_busy_program_is_tried_again),
		T(test_program_kept_open_for_writing_fails),
		T(test_invalid_spec_is_rejected),
		T(test_death_by_signal_is_reported),
		T(test_child_starts_with_default_signals),
		T(test_timeout_kills_the_whole_group),
		T(test_term_ignoring_process_is_killed_after_grace),
		T(test_cancel_flag_stops_the_group),
		T(test_stray_background_child_is_killed_after_normal_exit),
		T(test_wait_without_pidfd_still_enforces_timeout),
		T(test_wait_sleeps_instead_of_spinning),
		T(test_group_kill_stops_a_detached_group),
		T(test_kill_tagged_spares_untagged_groups),
		T(test_group_kill_escalates_to_sigkill),
		T(test_group_functions_refuse_dangerous_ids),
		T(test_parallel_runs_from_threads),
		T(test_capture_keeps_head_and_real_tail),
		T(test_capture_under_the_limit_keeps_everything),
		T(test_capture_replaces_a_planted_fifo_and_symlink),
		T(test_capture_limit_from_the_environment),
		T(test_proc_captures_a_flood_through_one_pipe),
		T(test_stall_timeout_stops_a_silent_program),
		T(test_stall_timeout_spares_a_chatty_program),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
