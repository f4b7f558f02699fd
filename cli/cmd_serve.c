/* cmd_serve.c - hive serve [--listen HOST:PORT] [--allow-remote]. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "events/error.h"
#include "serve/serve.h"

typedef struct {
	hive_cli *cli;
	const char *dir;
} ready_ctx;

/* The URL carries the token: it is printed once, on stdout, for the
 * person who started the server (docs/serve.md, "The token"). */
static void on_ready(const char *url, void *ctx)
{
	ready_ctx *rc = ctx;
	if (rc->cli->json) {
		cli_print_json(json_pack("{s:i,s:s,s:s+}", "schema", 2, "url", url, "token_file", rc->dir, "/serve.token"));
	} else {
		const char *q = strstr(url, "/?token=");
		printf("hive serve: listening on %.*s/ (Ctrl-C stops)\n", q ? (int)(q - url) : (int)strlen(url), url);
		printf("open %s\n", url);
	}
	fflush(stdout);
}

static int cmd_serve(hive_cli *cli, const cli_args *a)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	int stop_fd;
	if ((rc = cli_stop_open("serve", 1, &stop_fd)))
		return rc;
	const char *hb = getenv("HIVE_SERVE_HEARTBEAT_MS"); /* tests: a quick heartbeat */
	ready_ctx ctx = {cli, cli->dir};
	hive_serve_opts o = {
		.listen = cli_str(a, "listen"),
		.allow_remote = cli_flag(a, "allow-remote"),
		.dir = cli->dir,
		.ready = on_ready,
		.ready_ctx = &ctx,
		.stop_fd = stop_fd,
		.heartbeat_ms = hb ? atoi(hb) : 0,
	};
	rc = hive_serve_run(s, &o);
	cli_stop_close();
	return rc;
}

const hive_command hive_cmds_serve[] = {
	{
		.group = "serve",
		.opts = {
			{.name = "listen", .kind = CLI_STR, .arg = "HOST:PORT",
			 .help = "address to listen on (default 127.0.0.1:8420; PORT 0 = any free port)"},
			{.name = "allow-remote", .kind = CLI_FLAG, .arg = NULL,
			 .help = "allow a non-loopback HOST (every request still needs the token)"},
		},
		.help = "Serve the library over HTTP until SIGINT/SIGTERM: /api/v1 JSON documents (the --json of the\n"
			"CLI), the event log as NDJSON and as Server-Sent Events, task retry/abort as POSTs, /metrics\n"
			"and the web timeline at /.  Every request needs the token in <data dir>/serve.token (made on\n"
			"first start, 0600): Authorization: Bearer TOKEN, or the cookie the printed URL sets.  The Host\n"
			"header must name the listen address.  See docs/serve.md.\n",
		.exit = "0 stopped by a signal, 2 bad --listen or a remote address without --allow-remote or an unsafe\n"
			"serve.token, 3 no hive data in the data dir, 5 cannot listen or cannot load libmicrohttpd.",
		.run = cmd_serve,
	},
	{0},
};
