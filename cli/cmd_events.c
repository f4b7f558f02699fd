/*
 * cmd_events.c - hive events list | stream | verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "events/buf.h"
#include "events/error.h"

typedef struct {
	int follow;
	int tail_none; /* --tail 0: none of the past events (the query's 0 means all) */
	hive_events_query q;
} filter_args;

/* The filters dispatch parsed, as a query of the log. */
static filter_args filters_of(const cli_args *a, int follow)
{
	const cli_list *types = cli_list_of(a, "type");
	filter_args f = {
		.follow = follow,
		.tail_none = cli_u64(a, "tail", ULLONG_MAX) == 0,
		.q = {.flow_ref = cli_str(a, "flow"), .task_ref = cli_str(a, "task"),
		      .attempt_ref = cli_str(a, "attempt"), .types = types->v, .n_types = types->n,
		      .after = cli_u64(a, "after", 0), .limit = cli_u64(a, "limit", 0), .tail = cli_u64(a, "tail", 0)},
	};
	return f;
}

/* ---- list ------------------------------------------------------------------ */

typedef struct {
	hive_cli *cli;
	filter_args *a;
	uint64_t last;
	uint64_t scanned;  /* every event up to here has been considered */
	uint64_t printed;
	int closed;
} print_ctx;

static void short_id(hive_cli *cli, hive_buf *b, const char *kind, json_t *o, const char *field)
{
	const char *v = json_string_value(json_object_get(o, field));
	char id[CLI_ID_LEN];
	if (v)
		hive_buf_printf(b, " %s=%s", kind, cli_id(cli, kind, v, id));
}

/* The payload on the same line, compact, cut to a screen line's worth:
 * stored events are ASCII (non-ASCII is \u-escaped), so a byte cut is safe. */
#define PAYLOAD_SHOWN 160
static void payload_line(hive_buf *b, json_t *o)
{
	json_t *p = json_object_get(o, "payload");
	char *s = p && json_object_size(p) ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > PAYLOAD_SHOWN)
		hive_buf_printf(b, "  %.*s...", PAYLOAD_SHOWN, s);
	else
		hive_buf_printf(b, "  %s", s);
	free(s);
}

static int print_human(print_ctx *pc, hive_slice raw)
{
	json_t *o = json_loadb(raw.data, raw.len, 0, NULL);
	hive_buf b = {0};
	if (!o) {
		hive_buf_append(&b, raw.data, raw.len);
	} else {
		hive_buf_printf(&b, "%6lld  %s  %s%-24s%s", (long long)json_integer_value(json_object_get(o, "seq")),
				json_string_value(json_object_get(o, "time")), cli_color(pc->cli, "\033[1m"),
				json_string_value(json_object_get(o, "type")), cli_color(pc->cli, "\033[0m"));
		short_id(pc->cli, &b, "flow", o, "flow_id");
		short_id(pc->cli, &b, "task", o, "task_id");
		short_id(pc->cli, &b, "attempt", o, "attempt_id");
		payload_line(&b, o);
		json_decref(o);
	}
	hive_buf_putc(&b, '\n');
	int rc = cli_write(b.data, b.len);
	hive_buf_dispose(&b);
	return rc;
}

static int print_event(uint64_t seq, hive_slice raw, void *ctx)
{
	print_ctx *pc = ctx;
	int rc;
	if (pc->cli->json)
		rc = cli_write(raw.data, raw.len) || cli_write("\n", 1);
	else
		rc = print_human(pc, raw);
	if (rc) {
		pc->closed = 1; /* closed pipe: stop quietly */
		return 1;
	}
	pc->last = seq;
	pc->printed++;
	return 0;
}

/* One snapshot: every matching event after a->q.after, then pc->scanned
 * is the last seq that snapshot held. */
static int skip_event(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq;
	(void)raw;
	(void)ctx;
	return 0;
}

static int list_once(hive_store *s, print_ctx *pc)
{
	if (pc->a->tail_none) { /* filters still checked, nothing printed */
		hive_events_query q = pc->a->q;
		q.tail = 1;
		pc->a->tail_none = 0; /* a follower then prints what comes */
		return hive_events_list(s, &q, skip_event, NULL, &pc->scanned);
	}
	return hive_events_list(s, &pc->a->q, print_event, pc, &pc->scanned);
}

static int cmd_list(hive_cli *cli, const cli_args *args)
{
	filter_args a = filters_of(args, 0);
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s) {
		print_ctx pc = {.cli = cli, .a = &a};
		rc = list_once(s, &pc);
	}
	return rc;
}

/* ---- stream ---------------------------------------------------------------- */

/* Wait on the last seq *considered* (not the last printed), so events
 * that do not match the filters never wake a busy loop. */
/* 1 when stdout is a pipe whose reader has gone (checked while idle, so a
 * quiet stream still ends soon after its reader closes). */
static int stdout_gone(void)
{
	struct pollfd p = {.fd = 1, .events = 0};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

static int follow_loop(hive_store *s, print_ctx *pc, int stop_fd)
{
	int rc = 0;
	hive_events_query *q = &pc->a->q;
	while (!pc->closed && !(q->limit && pc->printed >= q->limit)) {
		if (hive_store_wait(s, pc->scanned, 1000, stop_fd) == 0) {
			if (cli_stop_requested() || stdout_gone())
				break;
			continue;
		}
		q->after = pc->scanned;
		q->tail = 0;
		q->limit = q->limit ? q->limit - pc->printed : 0;
		pc->printed = 0;
		if ((rc = list_once(s, pc)))
			break;
		if (fflush(stdout) != 0)
			pc->closed = 1;
	}
	return rc;
}

static int cmd_stream(hive_cli *cli, const cli_args *args)
{
	filter_args a = filters_of(args, cli_flag(args, "follow"));
	int rc;
	hive_store *s = cli_store(cli, &rc);
	int stop_fd = -1;
	if (s && a.follow)
		rc = cli_stop_open("events stream", 0, &stop_fd);
	if (s && !rc) {
		int json = cli->json;
		cli->json = 1; /* a stream is always NDJSON */
		print_ctx pc = {.cli = cli, .a = &a};
		rc = list_once(s, &pc);
		if (!rc && fflush(stdout) != 0)
			pc.closed = 1;
		if (!rc && a.follow)
			rc = follow_loop(s, &pc, stop_fd);
		cli->json = json;
	}
	cli_stop_close();
	return rc;
}

/* ---- verify ---------------------------------------------------------------- */

typedef struct {
	hive_cli *cli;
	uint64_t events, problems;
	json_t *list;
} verify_ctx;

static void verify_report(const char *msg, void *ctx)
{
	verify_ctx *vc = ctx;
	if (vc->cli->json)
		json_array_append_new(vc->list, json_string(msg));
	else
		printf("problem: %s\n", msg);
}

static int cmd_verify(hive_cli *cli, const cli_args *a)
{
	(void)a;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	verify_ctx vc = {.cli = cli, .list = json_array()};
	rc = hive_events_verify(s, verify_report, &vc, &vc.events, &vc.problems);
	if (!rc && cli->json)
		cli_print_json(json_pack("{s:b,s:I,s:I,s:O}", "ok", vc.problems == 0, "events",
					 (json_int_t)vc.events, "problems", (json_int_t)vc.problems,
					 "messages", vc.list));
	else if (!rc)
		printf("verified %llu events: %s\n", (unsigned long long)vc.events,
		       vc.problems ? "PROBLEMS FOUND" : "log, indexes and projections agree");
	json_decref(vc.list);
	if (!rc && vc.problems)
		rc = hive_error_set(HIVE_ESYSTEM, "events verify: %llu problem%s in the event log at %s",
				    (unsigned long long)vc.problems, vc.problems == 1 ? "" : "s", cli->dir);
	return rc;
}

#define EVENT_FILTERS \
	{.name = "flow", .kind = CLI_STR, .arg = "F", \
	 .help = "only events of that flow (id, unique prefix >= 4 chars, or name)"}, \
	{.name = "task", .kind = CLI_STR, .arg = "T", .help = "only events of that task (id, unique prefix or key)"}, \
	{.name = "attempt", .kind = CLI_STR, .arg = "A", .help = "only events of that attempt (id or unique prefix)"}, \
	{.name = "type", .kind = CLI_LIST, .arg = "T", .help = "only events of type T (repeatable: any of them)"}, \
	{.name = "after", .kind = CLI_U64, .arg = "SEQ", .help = "start after SEQ (exclusive)"}, \
	{.name = "limit", .kind = CLI_U64, .arg = "N", .help = "at most N events"}, \
	{.name = "tail", .kind = CLI_U64, .arg = "N", .help = "only the last N matching events"}

const hive_command hive_cmds_events[] = {
	{
		.group = "events", .name = "list",
		.opts = {EVENT_FILTERS},
		.help = "Print events in seq order: one line each with its ids (shortest unique prefixes) and its payload\n"
			"(compact JSON, cut at 160 characters); with --json, NDJSON envelopes byte for byte as stored.\n",
		.exit = "0 ok, 2 bad flag, 3 unknown flow/task/attempt, 5 storage error.",
		.run = cmd_list,
	},
	{
		.group = "events", .name = "stream",
		.opts = {
			EVENT_FILTERS,
			{.name = "follow", .kind = CLI_FLAG, .arg = NULL,
			 .help = "keep running and print new events as they are committed (within 50 ms)"},
		},
		.help = "Print events as NDJSON, one envelope per line, exactly as stored.  With --follow it stops\n"
			"on SIGINT/SIGTERM and ends quietly when the reader closes the pipe; --after SEQ resumes\n"
			"exactly after SEQ: no gap, no duplicate.\n",
		.exit = "0 ok, 2 bad flag, 3 unknown flow/task/attempt, 5 storage error.",
		.run = cmd_stream,
	},
	{
		.group = "events", .name = "verify",
		.help = "Check the log: gapless seq from 1, every event parses with its required fields, every index\n"
			"agrees with the log, every blob matches its hash, and the stored projections equal a replay\n"
			"of the whole log.  Prints each problem.\n",
		.exit = "0 all agree, 5 problems found or storage error.",
		.run = cmd_verify,
	},
	{0},
};
