/* cmd_flow.c - hive flow create | start | pause | resume | abort | tick | run | status | land | rebase. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/registry.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "events/error.h"

static int print_flow(hive_cli *cli, const char *ref, const char *verb)
{
	json_t *f = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_flow_show(s, ref, &f);
	char id[CLI_ID_LEN];
	if (!rc && !cli_json_out(cli, json_incref(f)))
		printf("flow %s (%s) %s; state %s\n", hive_safe(cli_jstr(f, "name")), cli_id(cli, "flow", cli_jstr(f, "id"), id),
		       verb, cli_jstr(f, "state"));
	json_decref(f);
	return rc;
}

/* A spec's field found wrong when creating (its repo, the flow's name):
 * the message says which file, as the spec's own validation does. */
static int in_file(const char *file, int rc)
{
	return rc == HIVE_EINVALID ? hive_error_set(rc, "%s: %s", file, hive_error_last()) : rc;
}

/* `flow create --dry-run`: what the spec would create; nothing is written.
 * Checked against the store when there is one; without one (a first
 * flow) only the spec and its repo can be checked, and that is said. */
static int dry_run(hive_cli *cli, const char *file, const json_t *spec)
{
	int rc, project_new = 0;
	cli->may_create = 0; /* a dry run never creates the data dir */
	hive_store *s = cli_store(cli, &rc);
	int no_store = !s && hive_error_last_hint() == HIVE_HINT_NO_STORE;
	if (!s && !no_store)
		return rc;
	if ((rc = in_file(file, hive_flow_create_spec_check(s, spec, &project_new))))
		return rc;
	const json_t *p = json_object_get(spec, "project"), *tasks = json_object_get(spec, "tasks"), *t;
	if (cli_json_out(cli, json_pack("{s:b,s:b,s:b,s:O}", "dry_run", 1, "project_new", project_new, "store_checked",
					!no_store, "spec", spec)))
		return 0;
	printf("%s is valid; nothing was written (--dry-run)%s\n", hive_safe(file),
	       no_store ? " — no store yet, so only the spec and its repo were checked" : "");
	printf("would create flow %s in %s project %s with %zu task%s:\n", hive_safe(cli_jstr(spec, "name")),
	       project_new ? "the new" : "the existing", hive_safe(cli_jstr(p, "name")), json_array_size(tasks),
	       json_array_size(tasks) == 1 ? "" : "s");
	size_t i, j;
	json_array_foreach(tasks, i, t) {
		json_t *c, *d;
		printf("  %-16s %s\n", hive_safe(cli_jstr(t, "key")), hive_safe(cli_jstr(t, "title")));
		json_array_foreach(json_object_get(t, "depends_on"), j, d)
			printf("  %-16s   after %s\n", "", hive_safe(json_string_value(d)));
		json_array_foreach(json_object_get(t, "checks"), j, c)
			printf("  %-16s   check %s: %s\n", "", hive_safe(cli_jstr(c, "name")), hive_safe(cli_jstr(c, "command")));
	}
	return 0;
}

static int cmd_create(hive_cli *cli, const cli_args *a)
{
	const char *file = cli_str(a, "file"), *name = cli_str(a, "name");
	const cli_list *tasks = cli_list_of(a, "task");
	int rc = 0, dry = cli_flag(a, "dry-run");
	if (file && (a->npos || name || tasks->n))
		rc = hive_error_set(HIVE_EINVALID, "flow create: --file takes no PROJECT, --name or --task");
	if (!rc && !file && !a->npos)
		rc = hive_error_set(HIVE_EINVALID, "flow create: give --file SPEC.json, or PROJECT --task TASK...");
	if (!rc && dry && !file)
		rc = hive_error_set(HIVE_EINVALID, "flow create: --dry-run checks a spec; give --file SPEC.json");
	json_t *spec = NULL;
	hive_spec_opts so = {.adapters = hive_registry_builtin()};
	if (!rc && file)
		rc = hive_spec_file_load(file, &so, &spec);
	hive_store *s = NULL;
	hive_id id;
	if (!rc && dry)
		rc = dry_run(cli, file, spec);
	else if (!rc && (s = cli_store(cli, &rc)) && spec)
		rc = in_file(file, hive_flow_create_spec(s, spec, &(hive_act_opts){.actor = cli_actor(a)}, &id));
	else if (s)
		rc = hive_flow_create_tasks(s, a->pos[0], name, tasks->v, tasks->n,
					    &(hive_act_opts){.actor = cli_actor(a)}, &id);
	if (!rc && !dry)
		rc = print_flow(cli, id.s, "created");
	json_decref(spec);
	return rc;
}

static int steer(hive_cli *cli, const cli_args *a, int (*fn)(hive_store *, const char *, const hive_act_opts *),
		 const char *verb)
{
	hive_act_opts who = {.actor = cli_actor(a)};
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = fn(s, a->pos[0], &who);
	return rc ? rc : print_flow(cli, a->pos[0], verb);
}

static int cmd_start(hive_cli *cli, const cli_args *a) { return steer(cli, a, hive_flow_start, "started"); }
static int cmd_pause(hive_cli *cli, const cli_args *a) { return steer(cli, a, hive_flow_pause, "paused"); }
static int cmd_resume(hive_cli *cli, const cli_args *a) { return steer(cli, a, hive_flow_resume, "resumed"); }

static int cmd_abort(hive_cli *cli, const cli_args *a)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_flow_abort(s, a->pos[0], &(hive_act_opts){.actor = cli_actor(a), .reason = cli_str(a, "reason")});
	return rc ? rc : print_flow(cli, a->pos[0], "aborted");
}

/* ---- tick / run -------------------------------------------------------------- */

static volatile int stop_requested;
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
	stop_requested = 1;
}

static int run_cmd(hive_cli *cli, const cli_args *a, int run)
{
	unsigned long long par = cli_u64(a, "max-parallel", 1);
	int rc = 0;
	if (par < 1 || par > 64)
		rc = hive_error_set(HIVE_EINVALID, "flow %s: --max-parallel must be 1..64", a->cmd->name);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (!s)
		return rc;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* a closed terminal: stop cleanly too */
	hive_run_opts o = {.max_parallel = (int)par, .adapters = hive_registry_builtin(), .stop = &stop_requested};
	cli_progress *pr = cli_progress_new(cli, s, a->pos[0], &o); /* lines, or a live block on a terminal */
	hive_run_result r;
	rc = run ? hive_flow_run(s, a->pos[0], &o, &r) : hive_flow_tick(s, a->pos[0], &o, &r);
	if (stop_signal) /* running attempts ended interrupted: exit 128 + N */
		cli->exit_status = 128 + stop_signal;
	cli_progress_finish(pr, &r, rc); /* the summary */
	cli_progress_free(pr);
	if (cli->json && (rc == 0 || rc == HIVE_EFAILED))
		cli_print_json(json_pack("{s:i,s:i,s:s}", "attempts_started", r.attempts_started, "attempts_failed",
					 r.attempts_failed, "flow_state", r.flow_state));
	return rc;
}

static int cmd_tick(hive_cli *cli, const cli_args *a) { return run_cmd(cli, a, 0); }
static int cmd_run(hive_cli *cli, const cli_args *a) { return run_cmd(cli, a, 1); }

/* ---- list --------------------------------------------------------------------- */

static int cmd_list(hive_cli *cli, const cli_args *a)
{
	json_t *doc = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_doc_flow_list(s, cli_str(a, "project"), &doc);
	if (!rc && !cli_json_out(cli, json_incref(doc))) {
		size_t i;
		json_t *d;
		printf("%-24s %-10s %-6s %s\n", "FLOW", "STATE", "TASKS", "ID");
		json_array_foreach(json_object_get(doc, "flows"), i, d) {
			char id[CLI_ID_LEN];
			printf("%-24s %-10s %-6zu %s\n", hive_safe(cli_jstr(d, "name")), cli_jstr(d, "state"),
			       json_array_size(json_object_get(d, "task_ids")), cli_id(cli, "flow", cli_jstr(d, "id"), id));
		}
	}
	json_decref(doc);
	return rc;
}

/* ---- status ------------------------------------------------------------------ */

/* A person's word on a task (SPEC section 12): its guidance, who accepted
 * it, its last edit. */
static void print_people(const json_t *t)
{
	const char *key = hive_safe(cli_jstr(t, "key"));
	const json_t *g = json_object_get(t, "guidance"), *acc = json_object_get(t, "accepted");
	const json_t *edits = json_object_get(t, "edits"), *e = json_array_get(edits, json_array_size(edits) - 1);
	if (json_is_object(g)) {
		const char *note = cli_jstr(g, "note");
		char *first = hive_xstrndup(note, strcspn(note, "\n"));
		printf("note for %s from %s at %s: %s%s\n", key, *cli_jstr(g, "actor") ? hive_safe(cli_jstr(g, "actor")) : "?",
		       cli_jstr(g, "time"), hive_safe(first), strchr(note, '\n') ? " ..." : "");
		free(first);
	}
	if (json_is_object(acc))
		printf("%s accepted by %s at %s: attempt %lld (commit %.12s): %s\n", key,
		       *cli_jstr(acc, "actor") ? hive_safe(cli_jstr(acc, "actor")) : "?", cli_jstr(acc, "time"),
		       (long long)json_integer_value(json_object_get(acc, "attempt_number")), cli_jstr(acc, "commit"),
		       hive_safe(cli_jstr(acc, "reason")));
	if (json_is_object(e)) {
		hive_buf fields = {0};
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(e, "changes"), k, v)
			hive_buf_printf(&fields, "%s%s", fields.len ? ", " : "", k);
		printf("%s edited by %s at %s: %s%s\n", key, *cli_jstr(e, "actor") ? hive_safe(cli_jstr(e, "actor")) : "?",
		       cli_jstr(e, "time"), hive_buf_str(&fields),
		       json_array_size(edits) > 1 ? " (its last of several edits)" : "");
		hive_buf_dispose(&fields);
	}
}

/* One line per circuit breaker of the flow (only when it configures one):
 * "circuit exec ./agent.sh --fast: open (3 of 3 failures), reopens 2026-...Z". */
static void print_circuits(const json_t *circuits)
{
	size_t i, j;
	json_t *c, *w;
	json_array_foreach(circuits, i, c) {
		printf("circuit %s", hive_safe(cli_jstr(c, "adapter")));
		json_array_foreach(json_object_get(c, "command"), j, w)
			printf(" %s", hive_safe(json_string_value(w)));
		if (*cli_jstr(c, "model"))
			printf(" (model %s)", hive_safe(cli_jstr(c, "model")));
		printf(": %s (%lld of %lld failures)", cli_jstr(c, "state"),
		       (long long)json_integer_value(json_object_get(c, "consecutive_failures")),
		       (long long)json_integer_value(json_object_get(c, "failure_threshold")));
		if (*cli_jstr(c, "reopens_at"))
			printf(", reopens %s", cli_jstr(c, "reopens_at"));
		putchar('\n');
	}
}

static int cmd_status(hive_cli *cli, const cli_args *a)
{
	json_t *st = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_doc_flow_status(s, a->pos[0], &st);
	if (rc || cli_json_out(cli, json_incref(st))) {
		json_decref(st);
		return rc;
	}
	const json_t *f = json_object_get(st, "flow");
	char id[CLI_ID_LEN];
	printf("flow %s (%s): %s%s%s\n", hive_safe(cli_jstr(f, "name")), cli_id(cli, "flow", cli_jstr(f, "id"), id),
	       cli_jstr(f, "state"),
	       *cli_jstr(f, "reason") ? " — " : "", hive_safe(cli_jstr(f, "reason")));
	if (*cli_jstr(f, "base_commit"))
		printf("base commit %.12s\n", cli_jstr(f, "base_commit"));
	printf("%-16s %-10s %-8s %-20s %s\n", "TASK", "STATE", "ATTEMPTS", "LAST OUTCOME", "NOTE");
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(st, "tasks"), i, t)
		printf("%-16s %-10s %-8lld %-20s %s\n", hive_safe(cli_jstr(t, "key")), cli_jstr(t, "state"),
		       (long long)json_integer_value(json_object_get(t, "attempts")),
		       *cli_jstr(t, "last_outcome") ? cli_jstr(t, "last_outcome") : "-", hive_safe(cli_jstr(t, "note")));
	json_array_foreach(json_object_get(st, "tasks"), i, t)
		if (*cli_jstr(t, "result_branch"))
			printf("result of %s: branch %s, commit %s\n", hive_safe(cli_jstr(t, "key")),
			       hive_safe(cli_jstr(t, "result_branch")), cli_jstr(t, "result_commit"));
	if (*cli_jstr(json_object_get(f, "landed"), "branch")) /* hive flow land */
		printf("landed: branch %s, commit %s\n", hive_safe(cli_jstr(json_object_get(f, "landed"), "branch")),
		       cli_jstr(json_object_get(f, "landed"), "commit"));
	json_array_foreach(json_object_get(st, "tasks"), i, t)
		print_people(t);
	print_circuits(json_object_get(st, "circuits"));
	json_decref(st);
	return 0;
}

/* ---- land / rebase (core/land.c, docs/lifecycle.md) ------------------------------ */

/* path quoted for a POSIX shell when it needs it. */
static void print_shell_word(const char *w)
{
	if (w[strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@")] == '\0') {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (; *w; w++)
		fputs(*w == '\'' ? "'\\''" : (char[2]){*w, 0}, stdout);
	putchar('\'');
}

static int cmd_land(hive_cli *cli, const cli_args *a)
{
	json_t *d = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_flow_land(s, a->pos[0], &(hive_act_opts){.actor = cli_actor(a)}, &d);
	if (rc || cli_json_out(cli, json_incref(d))) {
		json_decref(d);
		return rc;
	}
	printf("%s flow %s: branch %s, commit %s\n", json_is_true(json_object_get(d, "already_landed")) ?
	       "already landed" : "landed", hive_safe(cli_jstr(d, "flow")), hive_safe(cli_jstr(d, "branch")),
	       cli_jstr(d, "commit"));
	printf("  %-16s %s\n", "(base)", cli_jstr(d, "base_commit"));
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(d, "leaves"), i, l)
		printf("  %-16s %s\n", hive_safe(cli_jstr(l, "key")), *cli_jstr(l, "commit") ? cli_jstr(l, "commit") : "(no changes)");
	printf("merge it into your branch with:\n  git -C ");
	print_shell_word(cli_jstr(d, "repo"));
	printf(" merge %s\n", hive_safe(cli_jstr(d, "branch")));
	json_decref(d);
	return 0;
}

static int cmd_rebase(hive_cli *cli, const cli_args *a)
{
	json_t *d = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_flow_rebase(s, a->pos[0], cli_flag(a, "reset-count"), &(hive_act_opts){.actor = cli_actor(a)}, &d);
	if (!rc && !cli_json_out(cli, json_incref(d))) {
		printf("flow %s rebased onto the repository's HEAD %s\n", hive_safe(cli_jstr(d, "flow")), cli_jstr(d, "head"));
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(d, "tasks"), i, t) {
			const char *from = *cli_jstr(t, "from") ? cli_jstr(t, "from") : "(none yet)";
			if (*cli_jstr(t, "note"))
				printf("  %-16s %s\n", hive_safe(cli_jstr(t, "key")), cli_jstr(t, "note"));
			else
				printf("  %-16s base %.12s -> %.12s%s\n", hive_safe(cli_jstr(t, "key")), from, cli_jstr(t, "to"),
				       json_is_true(json_object_get(t, "retried")) ? ", back to pending" : "");
		}
	}
	json_decref(d);
	return rc;
}

#define FLOW_ARG .args = {"FLOW"}, .min_args = 1
#define MAX_PARALLEL \
	{.name = "max-parallel", .kind = CLI_U64, .arg = "N", .help = "attempts run at once (1..64, default 1)"}

const hive_command hive_cmds_flow[] = {
	{
		.group = "flow", .name = "create", .creates_store = 1,
		.args = {"PROJECT"},
		.opts = {
			{.name = "file", .kind = CLI_STR, .arg = "SPEC.json",
			 .help = "the flow spec (docs/spec.md)"},
			{.name = "name", .kind = CLI_STR, .arg = "N",
			 .help = "the flow's name (from existing tasks)"},
			{.name = "task", .kind = CLI_LIST, .arg = "TASK",
			 .help = "an existing task to include"},
			{.name = "dry-run", .kind = CLI_FLAG,
			 .help = "check the spec against the store and print what it would create; write nothing"},
			CLI_ACTOR_OPT,
		},
		.usage = "--file SPEC.json [--dry-run] | hive flow create PROJECT [--name N] [--task TASK]...",
		.help = "Create a flow from a spec file (validated whole before anything is written; every key is in\n"
			"docs/spec.md) or from existing tasks.  \"repo\" in a spec is relative to the spec file.\n",
		.exit = "0 ok, 2 invalid spec (the message names the field), 3 unknown project/task,\n"
			"4 name taken or task already in a flow that has not ended.",
		.run = cmd_create,
	},
	{
		.group = "flow", .name = "start", FLOW_ARG,
		.opts = {CLI_ACTOR_OPT},
		.help = "Start a created flow: records the repo's HEAD as the base commit and makes tasks without\n"
			"dependencies ready.\n",
		.exit = "0 ok, 3 not found, 4 not in state created.",
		.run = cmd_start,
	},
	{
		.group = "flow", .name = "pause", FLOW_ARG,
		.opts = {CLI_ACTOR_OPT},
		.help = "Pause a running flow: no new attempt starts until it is resumed.\n",
		.exit = "0, 3, 4.",
		.run = cmd_pause,
	},
	{
		.group = "flow", .name = "resume", FLOW_ARG,
		.opts = {CLI_ACTOR_OPT},
		.help = "Resume a paused flow.\n",
		.exit = "0, 3, 4.",
		.run = cmd_resume,
	},
	{
		.group = "flow", .name = "abort", FLOW_ARG,
		.opts = {{.name = "reason", .kind = CLI_STR, .arg = "TEXT", .help = "why, recorded with the abort"},
			 CLI_ACTOR_OPT},
		.help = "Abort a flow: every task that has not ended becomes aborted.\n",
		.exit = "0, 3, 4.",
		.run = cmd_abort,
	},
	{
		.group = "flow", .name = "tick", FLOW_ARG,
		.opts = {MAX_PARALLEL},
		.help = "One scheduling step: record attempts a dead runner left as crashed, make tasks ready, start up\n"
			"to N attempts (default 1) and run them to completion.  Retries not yet due are skipped.\n",
		.exit = "0 ok, 1 an attempt failed in this tick (even if a retry was scheduled), 3 not found,\n"
			"4 flow not started or locked by another runner (the message names it).",
		.run = cmd_tick,
	},
	{
		.group = "flow", .name = "run", FLOW_ARG,
		.opts = {MAX_PARALLEL},
		.help = "Tick until the flow is completed or failed, sleeping until the next retry is due.  It prints\n"
			"each attempt's start and end (naming the failing check), what a wait is for and how long\n"
			"(\"waiting: retry of fix in 3s\", \"waiting: circuit exec open for 42s more\") and a summary; on a\n"
			"terminal a live block below shows each running attempt's step and elapsed time.\n"
			"SIGINT/SIGTERM/SIGHUP stop it promptly: running attempts are killed and recorded as interrupted\n"
			"(never charged to a budget; retried at once by the next run).\n",
		.exit = "0 completed, 1 failed, 3 not found, 4 locked or not started, 128 + N stopped by signal N.",
		.run = cmd_run,
	},
	{
		.group = "flow", .name = "list",
		.opts = {{.name = "project", .kind = CLI_STR, .arg = "P", .help = "only this project's flows"}},
		.help = "List flows with their state and number of tasks.\n",
		.exit = "0 ok, 3 unknown project.",
		.run = cmd_list,
	},
	{
		.group = "flow", .name = "status", FLOW_ARG,
		.help = "Every task's state, attempt count, last outcome, next retry time and blocked reason.\n",
		.exit = "0 ok, 3 not found.",
		.run = cmd_status,
	},
	{
		.group = "flow", .name = "land", FLOW_ARG,
		.opts = {CLI_ACTOR_OPT},
		.help = "Merge the results of a completed flow's leaf tasks (those no other task depends on) on top of\n"
			"its base commit into the branch hive/<flow>/landed, and print the git command that merges it\n"
			"into your branch.  Never touches your checkout or any branch but that one.  Refused when the\n"
			"flow is not completed or the results conflict (the message lists the paths; nothing changes).\n",
		.exit = "0 ok, 3 not found, 4 not completed, results conflict, or hive/<flow>/landed exists and is\n"
			"not where hive landed the flow (it is never moved).",
		.run = cmd_land,
	},
	{
		.group = "flow", .name = "rebase", FLOW_ARG,
		.opts = {{.name = "reset-count", .kind = CLI_FLAG, .help = "give the retried tasks a fresh budget"},
			 CLI_ACTOR_OPT},
		.help = "Move the flow's base and the base of every task that has not succeeded to the project\n"
			"repository's current HEAD (merged with the task's dependencies' results), as task retry --rebase\n"
			"does: failed, retry and escalated tasks go back to pending; tasks whose dependencies have not\n"
			"succeeded take their base from them later.  Each move is recorded; the next retry context says it.\n",
		.exit = "0 ok, 3 not found, 4 flow not running/paused/failed, locked, a conflict (the message lists\n"
			"the paths) or a spent budget (pass --reset-count).",
		.run = cmd_rebase,
	},
	{0},
};
