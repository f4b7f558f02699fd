/* cmd_flow.c - hive flow create | start | pause | resume | abort | tick | run | status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/registry.h"
#include "cli/cli.h"
#include "events/error.h"

static int print_flow(hive_cli *cli, const char *ref, const char *verb)
{
	json_t *f = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_flow_show(s, ref, &f);
	if (!rc && !cli_json_out(cli, json_incref(f)))
		printf("flow %s (%s) %s; state %s\n", cli_jstr(f, "name"), cli_jstr(f, "id"), verb, cli_jstr(f, "state"));
	json_decref(f);
	return rc;
}

static int cmd_create(hive_cli *cli, int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *pos[1];
	cli_list tasks = {0};
	int npos = 0;
	cli_opt opts[] = {{"file", CLI_STR, &file, 0}, {"name", CLI_STR, &name, 0}, {"task", CLI_LIST, &tasks, 0},
			  {NULL, 0, NULL, 0}};
	int rc = cli_parse("flow create", argc, argv, opts, pos, 0, 1, &npos);
	if (!rc && file && (npos || name || tasks.n))
		rc = hive_error_set(HIVE_EINVALID, "flow create: --file takes no PROJECT, --name or --task");
	if (!rc && !file && !npos)
		rc = hive_error_set(HIVE_EINVALID, "flow create: give --file SPEC.json, or PROJECT --task TASK...");
	json_t *spec = NULL;
	hive_spec_opts so = {.adapters = hive_registry_builtin()};
	if (!rc && file)
		rc = hive_spec_file_load(file, &so, &spec);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	hive_id id;
	if (s && spec)
		rc = hive_flow_create_spec(s, spec, &id);
	else if (s)
		rc = hive_flow_create_tasks(s, pos[0], name, tasks.v, tasks.n, &id);
	if (!rc)
		rc = print_flow(cli, id.s, "created");
	json_decref(spec);
	cli_list_free(&tasks);
	return rc;
}

static int steer(hive_cli *cli, int argc, char **argv, const char *cmd, int with_reason,
		 int (*fn)(hive_store *, const char *), const char *verb)
{
	const char *pos[1], *reason = NULL;
	cli_opt opts[] = {{with_reason ? "reason" : "", CLI_STR, &reason, 0}, {NULL, 0, NULL, 0}};
	int rc = cli_parse(cmd, argc, argv, opts, pos, 1, 1, NULL);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = with_reason ? hive_flow_abort(s, pos[0], reason) : fn(s, pos[0]);
	return rc ? rc : print_flow(cli, pos[0], verb);
}

static int cmd_start(hive_cli *cli, int argc, char **argv)
{
	return steer(cli, argc, argv, "flow start", 0, hive_flow_start, "started");
}
static int cmd_pause(hive_cli *cli, int argc, char **argv)
{
	return steer(cli, argc, argv, "flow pause", 0, hive_flow_pause, "paused");
}
static int cmd_resume(hive_cli *cli, int argc, char **argv)
{
	return steer(cli, argc, argv, "flow resume", 0, hive_flow_resume, "resumed");
}
static int cmd_abort(hive_cli *cli, int argc, char **argv)
{
	return steer(cli, argc, argv, "flow abort", 1, NULL, "aborted");
}

/* ---- tick / run -------------------------------------------------------------- */

static volatile int stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void progress(const char *line, void *ctx)
{
	hive_cli *cli = ctx;
	if (!cli->json) {
		printf("%s\n", line);
		fflush(stdout);
	}
}

static int run_cmd(hive_cli *cli, int argc, char **argv, const char *cmd, int run)
{
	const char *pos[1];
	unsigned long long par = 1;
	cli_opt opts[] = {{"max-parallel", CLI_U64, &par, 0}, {NULL, 0, NULL, 0}};
	int rc = cli_parse(cmd, argc, argv, opts, pos, 1, 1, NULL);
	if (!rc && (par < 1 || par > 64))
		rc = hive_error_set(HIVE_EINVALID, "%s: --max-parallel must be 1..64", cmd);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (!s)
		return rc;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	hive_run_opts o = {.max_parallel = (int)par, .adapters = hive_registry_builtin(), .stop = &stop_requested,
			   .progress = progress, .progress_ctx = cli};
	hive_run_result r;
	rc = run ? hive_flow_run(s, pos[0], &o, &r) : hive_flow_tick(s, pos[0], &o, &r);
	if (cli->json && (rc == 0 || rc == HIVE_EFAILED))
		cli_print_json(json_pack("{s:i,s:i,s:s}", "attempts_started", r.attempts_started, "attempts_failed",
					 r.attempts_failed, "flow_state", r.flow_state));
	else if (rc == 0)
		printf("flow is %s (%d attempt%s started)\n", r.flow_state, r.attempts_started,
		       r.attempts_started == 1 ? "" : "s");
	return rc;
}

static int cmd_tick(hive_cli *cli, int argc, char **argv) { return run_cmd(cli, argc, argv, "flow tick", 0); }
static int cmd_run(hive_cli *cli, int argc, char **argv) { return run_cmd(cli, argc, argv, "flow run", 1); }

/* ---- list --------------------------------------------------------------------- */

static int cmd_list(hive_cli *cli, int argc, char **argv)
{
	const char *project = NULL;
	cli_opt opts[] = {{"project", CLI_STR, &project, 0}, {NULL, 0, NULL, 0}};
	json_t *out = NULL;
	int rc = cli_parse("flow list", argc, argv, opts, NULL, 0, 0, NULL);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = hive_flow_list(s, project, &out);
	if (!rc && !cli_json_out(cli, json_incref(out))) {
		size_t i;
		json_t *d;
		printf("%-24s %-10s %-6s %s\n", "FLOW", "STATE", "TASKS", "ID");
		json_array_foreach(out, i, d)
			printf("%-24s %-10s %-6zu %s\n", cli_jstr(d, "name"), cli_jstr(d, "state"),
			       json_array_size(json_object_get(d, "task_ids")), cli_jstr(d, "id"));
	}
	json_decref(out);
	return rc;
}

/* ---- status ------------------------------------------------------------------ */

static int cmd_status(hive_cli *cli, int argc, char **argv)
{
	const char *pos[1];
	json_t *st = NULL;
	int rc = cli_parse("flow status", argc, argv, NULL, pos, 1, 1, NULL);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = hive_flow_status(s, pos[0], &st);
	if (rc || cli_json_out(cli, json_incref(st))) {
		json_decref(st);
		return rc;
	}
	const json_t *f = json_object_get(st, "flow");
	printf("flow %s (%s): %s%s%s\n", cli_jstr(f, "name"), cli_jstr(f, "id"), cli_jstr(f, "state"),
	       *cli_jstr(f, "reason") ? " — " : "", cli_jstr(f, "reason"));
	if (*cli_jstr(f, "base_commit"))
		printf("base commit %.12s\n", cli_jstr(f, "base_commit"));
	printf("%-16s %-10s %-8s %-20s %s\n", "TASK", "STATE", "ATTEMPTS", "LAST OUTCOME", "NOTE");
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(st, "tasks"), i, t)
		printf("%-16s %-10s %-8lld %-20s %s\n", cli_jstr(t, "key"), cli_jstr(t, "state"),
		       (long long)json_integer_value(json_object_get(t, "attempts")),
		       *cli_jstr(t, "last_outcome") ? cli_jstr(t, "last_outcome") : "-", cli_jstr(t, "note"));
	json_decref(st);
	return 0;
}

static const hive_command create_cmd = {"flow", "create",
	"hive flow create --file SPEC.json | hive flow create PROJECT [--name N] [--task TASK]...",
	"Create a flow from a spec file (validated whole before anything is written; SPEC section 5) or\n"
	"from existing tasks.\nExit: 0 ok, 2 invalid spec (the message names the field), 3 unknown project/task,\n"
	"4 name taken or task already in a flow that has not ended.\n", cmd_create};
static const hive_command start_cmd = {"flow", "start", "hive flow start FLOW",
	"Start a created flow: records the repo's HEAD as the base commit and makes tasks without\n"
	"dependencies ready.\nExit: 0 ok, 3 not found, 4 not in state created.\n", cmd_start};
static const hive_command pause_cmd = {"flow", "pause", "hive flow pause FLOW",
	"Pause a running flow: no new attempt starts until it is resumed.\nExit: 0, 3, 4.\n", cmd_pause};
static const hive_command resume_cmd = {"flow", "resume", "hive flow resume FLOW",
	"Resume a paused flow.\nExit: 0, 3, 4.\n", cmd_resume};
static const hive_command abort_cmd = {"flow", "abort", "hive flow abort FLOW [--reason TEXT]",
	"Abort a flow: every task that has not ended becomes aborted.\nExit: 0, 3, 4.\n", cmd_abort};
static const hive_command tick_cmd = {"flow", "tick", "hive flow tick FLOW [--max-parallel N]",
	"One scheduling step: record attempts a dead runner left as crashed, make tasks ready, start up\n"
	"to N attempts (default 1) and run them to completion.  Retries not yet due are skipped.\n"
	"Exit: 0 ok, 1 an attempt failed in this tick (even if a retry was scheduled), 3 not found,\n"
	"4 flow not started or locked by another runner (the message names it).\n", cmd_tick};
static const hive_command run_cmd_def = {"flow", "run", "hive flow run FLOW [--max-parallel N]",
	"Tick until the flow is completed or failed, sleeping until the next retry is due.\n"
	"SIGINT/SIGTERM stop it promptly: running attempts are killed and recorded as crashed.\n"
	"Exit: 0 completed, 1 failed or stopped, 3 not found, 4 locked or not started.\n", cmd_run};
static const hive_command list_cmd = {"flow", "list", "hive flow list [--project P]",
	"List flows with their state and number of tasks.\nExit: 0 ok, 3 unknown project.\n", cmd_list};
static const hive_command status_cmd = {"flow", "status", "hive flow status FLOW",
	"Every task's state, attempt count, last outcome, next retry time and blocked reason.\n", cmd_status};

const hive_command *const hive_cmds_flow[] = {&create_cmd, &start_cmd, &pause_cmd, &resume_cmd, &abort_cmd,
					      &tick_cmd, &run_cmd_def, &list_cmd, &status_cmd, NULL};
