/*
 * stop.c - a stop request as a readable pipe (see cli.h): SIGINT, SIGTERM
 * (and SIGHUP when asked) write a byte that a poll() or hive_store_wait
 * loop sees, so long-running commands end cleanly instead of dying.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "events/error.h"

static int stop_pipe[2] = {-1, -1};

static void on_stop(int sig)
{
	(void)sig;
	int saved = errno;
	if (write(stop_pipe[1], "x", 1) < 0) {
		/* full: a stop is pending anyway */
	}
	errno = saved;
}

int cli_stop_open(const char *command, int with_hup, int *read_fd)
{
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return hive_error_set(HIVE_ESYSTEM, "%s: cannot create a pipe: %s", command, strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (with_hup)
		sigaction(SIGHUP, &sa, NULL);
	*read_fd = stop_pipe[0];
	return 0;
}

int cli_stop_requested(void)
{
	char c;
	return stop_pipe[0] >= 0 && read(stop_pipe[0], &c, 1) == 1;
}

void cli_stop_close(void)
{
	for (int i = 0; i < 2; i++) {
		if (stop_pipe[i] >= 0)
			close(stop_pipe[i]);
		stop_pipe[i] = -1;
	}
}
