/* cmd_task.c - hive task create | list | show | retry | abort | edit | accept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/registry.h"
#include "cli/cli.h"
#include "events/buf.h"
#include "events/error.h"

/* "NAME=CMD" into a check object (new reference) or NULL with the error set;
 * cmd names the command in the message ("task create"). */
static json_t *check_flag(const char *cmd, const char *flag, const char *v, int required)
{
	const char *eq = strchr(v, '=');
	if (!eq || eq == v || !eq[1]) {
		hive_error_set(HIVE_EINVALID, "%s: --%s \"%s\": use NAME=COMMAND", cmd, flag, v);
		return NULL;
	}
	char *name = hive_xstrndup(v, (size_t)(eq - v));
	json_t *c = json_pack("{s:s,s:s,s:b}", "name", name, "command", eq + 1, "required", required);
	free(name);
	return c;
}

/* A key from the title: lowercase letters and digits, '-' between words. */
static char *slug(const char *title)
{
	hive_buf b = {0};
	for (const char *p = title; *p && b.len < 40; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			hive_buf_putc(&b, c);
		else if (b.len && b.data[b.len - 1] != '-')
			hive_buf_putc(&b, '-');
	}
	while (b.len && b.data[b.len - 1] == '-')
		b.data[--b.len] = '\0';
	if (!b.len)
		hive_buf_puts(&b, "task");
	return hive_buf_detach(&b);
}

typedef struct {
	const char *key, *desc, *runtime_cmd, *retry;
	cli_list checks, optional, deps;
	unsigned long long max_attempts;
} task_flags;

static int build_raw(const char *title, task_flags *f, json_t **raw_out)
{
	char *key = f->key ? hive_xstrdup(f->key) : slug(title);
	json_t *raw = json_pack("{s:s,s:s,s:s}", "key", key, "title", title, "description", f->desc ? f->desc : "");
	free(key);
	json_t *checks = json_array(), *deps = json_array();
	int rc = 0;
	for (size_t i = 0; i < f->checks.n + f->optional.n && !rc; i++) {
		int req = i < f->checks.n;
		json_t *c = check_flag("task create", req ? "check" : "optional-check",
				       req ? f->checks.v[i] : f->optional.v[i - f->checks.n], req);
		if (!c)
			rc = HIVE_EINVALID;
		else
			json_array_append_new(checks, c);
	}
	for (size_t i = 0; i < f->deps.n; i++)
		json_array_append_new(deps, json_string(f->deps.v[i]));
	json_object_set_new(raw, "checks", checks);
	json_object_set_new(raw, "depends_on", deps);
	if (f->runtime_cmd)
		json_object_set_new(raw, "runtime", json_pack("{s:[s,s,s]}", "command", "/bin/sh", "-c", f->runtime_cmd));
	json_t *retry = NULL;
	if (!rc && f->retry) {
		json_error_t je;
		retry = json_loads(f->retry, 0, &je);
		if (!retry)
			rc = hive_error_set(HIVE_EINVALID, "task create: --retry is not valid JSON (column %d: %s)",
					    je.column, je.text);
		else if (!json_is_object(retry))
			rc = hive_error_set(HIVE_EINVALID,
					    "task create: --retry must be a JSON object (a retry policy; its keys: docs/spec.md)");
	}
	if (!rc && retry && f->max_attempts && json_object_get(retry, "max_attempts"))
		rc = hive_error_set(HIVE_EINVALID, "task create: --max-attempts conflicts with max_attempts in --retry;"
				    " give the attempt count once");
	if (!retry && f->max_attempts)
		retry = json_object();
	if (retry && f->max_attempts)
		json_object_set_new(retry, "max_attempts", json_integer((json_int_t)f->max_attempts));
	if (retry)
		json_object_set_new(raw, "retry", retry);
	if (rc) {
		json_decref(raw);
		return rc;
	}
	*raw_out = raw;
	return 0;
}

/* /bin/sh -c "" runs nothing and exits 0: a task that would "succeed"
 * without ever doing its work. */
static int runtime_cmd_check(const char *command, const char *cmd)
{
	if (cmd && !cmd[strspn(cmd, " \t\n\r\v\f")])
		return hive_error_set(HIVE_EINVALID, "%s: --runtime-command is empty; give the program that does the task "
				      "(run with /bin/sh -c in its worktree)", command);
	return 0;
}

/* What an accept did to the task's flow: resumed it, or (its last task)
 * completed it outright. */
static const char *accept_flow_note(hive_store *s, const hive_task_accept_result *r, const json_t *task)
{
	if (!r->flow_resumed)
		return "";
	json_t *flow = NULL;
	int done = !hive_flow_show(s, cli_jstr(task, "flow_id"), &flow) &&
		   strcmp(cli_jstr(flow, "state"), "completed") == 0;
	json_decref(flow);
	return done ? "; its flow is completed" : "; its flow runs again: the next flow run starts its dependants";
}

static int cmd_create(hive_cli *cli, const cli_args *a)
{
	task_flags f = {
		.key = cli_str(a, "key"), .desc = cli_str(a, "description"),
		.runtime_cmd = cli_str(a, "runtime-command"), .retry = cli_str(a, "retry"),
		.checks = *cli_list_of(a, "check"), .optional = *cli_list_of(a, "optional-check"),
		.deps = *cli_list_of(a, "depends-on"), .max_attempts = cli_u64(a, "max-attempts", 0),
	};
	const char *const *pos = a->pos;
	int rc = 0;
	json_t *raw = NULL, *def = NULL;
	if (cli_seen(a, "max-attempts") && f.max_attempts == 0)
		rc = hive_error_set(HIVE_EINVALID, "task create: --max-attempts must be at least 1");
	/* what does not exist is reported before what is malformed (exit 3) */
	json_t *found = NULL;
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s && !(rc = hive_project_show(s, pos[0], &found)))
		json_decref(found);
	for (size_t i = 0; !rc && i < f.deps.n; i++)
		if (!(rc = hive_task_show(s, f.deps.v[i], &found)))
			json_decref(found);
	if (!rc)
		rc = build_raw(pos[1], &f, &raw);
	if (!rc && !f.runtime_cmd)
		rc = hive_error_set(HIVE_EINVALID, "task create: give --runtime-command CMD, the program that does the "
				    "task (run with /bin/sh -c in its worktree)");
	if (!rc)
		rc = runtime_cmd_check("task create", f.runtime_cmd);
	hive_spec_opts so = {.adapters = hive_registry_builtin()};
	if (!rc)
		rc = hive_task_def_load(raw, &so, &def);
	hive_id id;
	if (!rc)
		rc = hive_task_create(s, pos[0], def, &(hive_act_opts){.actor = cli_actor(a)}, &id);
	if (!rc) {
		json_t *doc = NULL;
		hive_task_show(s, id.s, &doc);
		char shown[CLI_ID_LEN];
		if (!cli_json_out(cli, json_incref(doc)))
			printf("created task %s (%s)\n", cli_jstr(doc, "key"), cli_id(cli, "task", id.s, shown));
		json_decref(doc);
	}
	json_decref(raw);
	json_decref(def);
	return rc;
}

static int cmd_list(hive_cli *cli, const cli_args *a)
{
	hive_task_filter tf = {.project_ref = cli_str(a, "project"), .flow_ref = cli_str(a, "flow"),
			       .state = cli_str(a, "state")};
	json_t *doc = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_doc_task_list(s, &tf, &doc);
	if (!rc && !cli_json_out(cli, json_incref(doc))) {
		size_t i;
		json_t *d;
		printf("%-20s %-20s %-10s %-8s %-18s %s\n", "KEY", "FLOW", "STATE", "ATTEMPTS", "ID", "TITLE");
		json_array_foreach(json_object_get(doc, "tasks"), i, d) {
			char id[CLI_ID_LEN];
			printf("%-20s %-20s %-10s %-8lld %-18s %s\n", hive_safe(cli_jstr(d, "key")),
			       *cli_jstr(d, "flow_name") ? hive_safe(cli_jstr(d, "flow_name")) : "-", cli_jstr(d, "state"),
			       (long long)json_integer_value(json_object_get(d, "attempts")),
			       cli_id(cli, "task", cli_jstr(d, "id"), id), hive_safe(cli_jstr(d, "title")));
		}
	}
	json_decref(doc);
	return rc;
}

static int cmd_show(hive_cli *cli, const cli_args *a)
{
	json_t *d = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_task_show(s, a->pos[0], &d);
	if (!rc && !cli_json_out(cli, json_incref(d))) {
		printf("task:     %s (%s)\nid:       %s\nstate:    %s%s%s\nattempts: %lld\n", hive_safe(cli_jstr(d, "title")),
		       hive_safe(cli_jstr(d, "key")), cli_jstr(d, "id"), cli_jstr(d, "state"),
		       json_object_get(d, "reason") && !json_is_null(json_object_get(d, "reason")) ? " — " : "",
		       hive_safe(cli_jstr(d, "reason")), (long long)json_integer_value(json_object_get(d, "attempts")));
		if (*cli_jstr(d, "blocked_reason"))
			printf("blocked:  %s\n", hive_safe(cli_jstr(d, "blocked_reason")));
		if (*cli_jstr(d, "next_attempt_at"))
			printf("next:     attempt due at %s\n", cli_jstr(d, "next_attempt_at"));
		if (*cli_jstr(d, "result_branch"))
			printf("result:   branch %s, commit %s\n", hive_safe(cli_jstr(d, "result_branch")),
			       cli_jstr(d, "result_commit"));
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(d, "checks"), i, c)
			printf("check:    %s%s: %s\n", hive_safe(cli_jstr(c, "name")),
			       json_is_false(json_object_get(c, "required")) ? " (optional)" : "", hive_safe(cli_jstr(c, "command")));
	}
	json_decref(d);
	return rc;
}

/* The whole file at path, for --note-file (a NUL byte is refused: a note
 * is text).  *out: new string.  Errors: HIVE_ENOTFOUND (cannot read it, as
 * for a spec file), HIVE_EINVALID (binary). */
static int read_note_file(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return hive_error_set(HIVE_ENOTFOUND, "task retry: --note-file %s: cannot read it: %s", path, strerror(errno));
	hive_buf b = {0};
	char chunk[4096];
	size_t n;
	while (b.len <= 65536 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		hive_buf_append(&b, chunk, n);
	int err = ferror(f) ? errno : 0;
	fclose(f);
	int rc = 0;
	if (err)
		rc = hive_error_set(HIVE_ENOTFOUND, "task retry: --note-file %s: cannot read it: %s", path, strerror(err));
	else if (b.len && memchr(b.data, '\0', b.len))
		rc = hive_error_set(HIVE_EINVALID, "task retry: --note-file %s holds NUL bytes; a note is plain text", path);
	if (rc) {
		hive_buf_dispose(&b);
		return rc;
	}
	*out = b.len ? hive_buf_detach(&b) : hive_xstrdup("");
	hive_buf_dispose(&b);
	return 0;
}

/* The note of --note or --note-file (one of them), checked: *note is a new
 * string or NULL when neither was given. */
static int retry_note(const cli_args *a, char **note)
{
	const char *text = cli_str(a, "note"), *file = cli_str(a, "note-file");
	*note = NULL;
	if (text && file)
		return hive_error_set(HIVE_EINVALID, "task retry: give --note or --note-file, not both");
	if (!text && !file)
		return 0;
	int rc = file ? read_note_file(file, note) : 0;
	if (!rc && text)
		*note = hive_xstrdup(text);
	hive_buf what = {0};
	hive_buf_printf(&what, "task retry: %s%s", file ? "--note-file " : "--note", file ? file : "");
	if (!rc && (rc = hive_steer_note_check(*note, what.data))) {
		free(*note);
		*note = NULL;
	}
	hive_buf_dispose(&what);
	return rc;
}

static int cmd_retry(hive_cli *cli, const cli_args *a)
{
	hive_task_retry_opts o = {.actor = cli_actor(a), .reset_count = cli_flag(a, "reset-count"),
				  .mode = cli_str(a, "mode")};
	char *note = NULL;
	int rc = retry_note(a, &note);
	o.note = note;
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	json_t *moved = NULL;
	if (s && cli_flag(a, "rebase"))
		rc = hive_task_retry_rebase(s, a->pos[0], &o, &moved);
	else if (s)
		rc = hive_task_retry(s, a->pos[0], &o);
	json_t *mt = json_array_get(json_object_get(moved, "tasks"), 0);
	if (!rc && !cli->json && json_is_true(json_object_get(mt, "moved")))
		printf("base moved from %s to %s (the repository's HEAD %s)\n",
		       *cli_jstr(mt, "from") ? cli_jstr(mt, "from") : "(none yet)", cli_jstr(mt, "to"), cli_jstr(moved, "head"));
	else if (!rc && !cli->json && moved)
		printf("base unchanged: already at the repository's HEAD %s\n", cli_jstr(moved, "head"));
	json_decref(moved);
	if (!rc) {
		json_t *d = NULL;
		hive_task_show(s, a->pos[0], &d);
		if (!cli_json_out(cli, json_incref(d)))
			printf("task %s is %s; the next tick starts attempt %lld%s%s\n", cli_jstr(d, "key"),
			       cli_jstr(d, "state"), (long long)json_integer_value(json_object_get(d, "attempts")) + 1,
			       o.reset_count ? " with a fresh budget" : "",
			       note ? "; your note goes to it, and to later attempts until a new note replaces it" : "");
		json_decref(d);
	}
	free(note);
	return rc;
}

static int cmd_abort(hive_cli *cli, const cli_args *a)
{
	const char *task = a->pos[0];
	hive_act_opts who = {.actor = cli_actor(a), .reason = cli_str(a, "reason")};
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_task_abort(s, task, &who);
	if (!rc && !cli_json_out(cli, json_pack("{s:s,s:s}", "task", task, "state", "aborted")))
		printf("task %s aborted\n", task);
	return rc;
}

/* ---- edit ------------------------------------------------------------------------ */

/* The checks --check/--optional-check give, as spec check objects (new). */
static int edit_set_checks(const cli_args *a, json_t **out)
{
	const cli_list *req = cli_list_of(a, "check"), *opt = cli_list_of(a, "optional-check");
	json_t *list = json_array();
	for (size_t i = 0; i < req->n + opt->n; i++) {
		int r = i < req->n;
		json_t *c = check_flag("task edit", r ? "check" : "optional-check", r ? req->v[i] : opt->v[i - req->n], r);
		if (!c) {
			json_decref(list);
			return HIVE_EINVALID;
		}
		json_array_append_new(list, c);
	}
	*out = list;
	return 0;
}

/* --retry JSON: a policy object (new) or NULL when not given. */
static int edit_retry(const cli_args *a, json_t **out)
{
	const char *v = cli_str(a, "retry");
	*out = NULL;
	if (!v)
		return 0;
	json_error_t je;
	json_t *r = json_loads(v, JSON_REJECT_DUPLICATES, &je);
	if (!r)
		return hive_error_set(HIVE_EINVALID, "task edit: --retry is not valid JSON (column %d: %s)", je.column, je.text);
	*out = r;
	return 0;
}

static void print_edit(const json_t *d)
{
	const json_t *edits = json_object_get(d, "edits");
	const json_t *last = json_array_get(edits, json_array_size(edits) - 1);
	hive_buf fields = {0};
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(last, "changes"), k, v)
		hive_buf_printf(&fields, "%s%s", fields.len ? ", " : "", k);
	printf("task %s edited (%s); its next attempt uses the change and its retry context says what changed\n",
	       cli_jstr(d, "key"), hive_buf_str(&fields));
	hive_buf_dispose(&fields);
}

static int cmd_edit(hive_cli *cli, const cli_args *a)
{
	const cli_list *rm = cli_list_of(a, "remove-check");
	const char *cmd = cli_str(a, "runtime-command");
	hive_task_edit_opts o = {
		.actor = cli_actor(a), .reason = cli_str(a, "reason"), .title = cli_str(a, "title"),
		.description = cli_str(a, "description"), .clear_checks = cli_flag(a, "clear-checks"),
		.remove_checks = rm->v, .n_remove_checks = rm->n, .adapters = hive_registry_builtin(),
	};
	json_t *checks = NULL, *retry = NULL, *runtime = NULL;
	int rc = edit_set_checks(a, &checks);
	if (!rc)
		rc = edit_retry(a, &retry);
	if (!rc && cmd && !(rc = runtime_cmd_check("task edit", cmd)))
		runtime = json_pack("{s:[s,s,s]}", "command", "/bin/sh", "-c", cmd);
	o.set_checks = checks;
	o.retry = retry;
	o.runtime = runtime;
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = hive_task_edit(s, a->pos[0], &o);
	if (!rc) {
		json_t *d = NULL;
		hive_task_show(s, a->pos[0], &d);
		if (!cli_json_out(cli, json_incref(d)))
			print_edit(d);
		json_decref(d);
	}
	json_decref(checks);
	json_decref(retry);
	json_decref(runtime);
	return rc;
}

/* ---- accept ---------------------------------------------------------------------- */

static int cmd_accept(hive_cli *cli, const cli_args *a)
{
	unsigned long long n = cli_u64(a, "attempt", 0);
	int rc = 0;
	if (cli_seen(a, "attempt") && (n == 0 || n > 1000000))
		rc = hive_error_set(HIVE_EINVALID, "task accept: --attempt %llu: give the task's attempt number (from 1)", n);
	hive_task_accept_opts o = {.actor = cli_actor(a), .reason = cli_str(a, "reason"), .attempt = (int)n};
	hive_task_accept_result r;
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = hive_task_accept(s, a->pos[0], &o, &r);
	if (!rc) {
		json_t *d = NULL;
		hive_task_show(s, a->pos[0], &d);
		if (!cli_json_out(cli, json_incref(d)))
			printf("task %s accepted: attempt %d (commit %.12s) is its result, on branch %s%s\n", cli_jstr(d, "key"),
			       r.attempt, r.commit, hive_safe(r.branch),
			       accept_flow_note(s, &r, d));
		json_decref(d);
	}
	return rc;
}

#define TASK_ARG .args = {"TASK"}, .min_args = 1

const hive_command hive_cmds_task[] = {
	{
		.group = "task", .name = "create", .creates_store = 1,
		.args = {"PROJECT", "TITLE"}, .min_args = 2,
		.opts = {
			{.name = "key", .kind = CLI_STR, .arg = "K",
			 .help = "the task's key (default: a slug of the title)"},
			{.name = "description", .kind = CLI_STR, .arg = "TEXT",
			 .help = "what to do, for the agent"},
			{.name = "check", .kind = CLI_LIST, .arg = "NAME=CMD", .help = "a required check"},
			{.name = "optional-check", .kind = CLI_LIST, .arg = "NAME=CMD",
			 .help = "a check whose failure does not fail the attempt"},
			{.name = "depends-on", .kind = CLI_LIST, .arg = "TASK",
			 .help = "a task that must succeed first"},
			{.name = "runtime-command", .kind = CLI_STR, .arg = "CMD",
			 .help = "the program that does the task", .required = 1},
			{.name = "max-attempts", .kind = CLI_U64, .arg = "N",
			 .help = "attempts allowed (at least 1)"},
			{.name = "retry", .kind = CLI_STR, .arg = "JSON",
			 .help = "a retry policy object (docs/spec.md)"},
			CLI_ACTOR_OPT,
		},
		.help = "Create a task.  Checks run with /bin/sh -c in the attempt's worktree; --runtime-command runs CMD\n"
			"with /bin/sh -c as the exec runtime and is required here (a flow spec can name other runtimes).\n"
			"--retry takes a retry policy object (docs/spec.md).\n"
			"The key defaults to a slug of the title.\n",
		.exit = "0 ok, 2 invalid flag or policy, 3 project or dependency not found.",
		.run = cmd_create,
	},
	{
		.group = "task", .name = "list",
		.opts = {
			{.name = "project", .kind = CLI_STR, .arg = "P", .help = "only this project's tasks"},
			{.name = "flow", .kind = CLI_STR, .arg = "F", .help = "only this flow's tasks"},
			{.name = "state", .kind = CLI_STR, .arg = "S", .help = "only tasks in state S (failed, retry, ...)"},
		},
		.help = "List tasks with their flow, state and attempt count.\n",
		.exit = "0 ok, 2 unknown state, 3 unknown project or flow.",
		.run = cmd_list,
	},
	{
		.group = "task", .name = "show", TASK_ARG,
		.help = "Show a task: state, reason, attempts, next retry time, checks.\n",
		.exit = "0 ok, 3 not found.",
		.run = cmd_show,
	},
	{
		.group = "task", .name = "retry", TASK_ARG,
		.opts = {
			{.name = "reset-count", .kind = CLI_FLAG, .arg = NULL,
			 .help = "give the task a fresh budget"},
			{.name = "mode", .kind = CLI_STR, .arg = "clean|continue|pristine",
			 .help = "start from the task's base (pristine: also wipe ignored files) or from the last checkpoint"},
			{.name = "rebase", .kind = CLI_FLAG, .arg = NULL,
			 .help = "first move the task's base to the repository's HEAD (merged with its dependencies' results)"},
			{.name = "note", .kind = CLI_STR, .arg = "TEXT",
			 .help = "guidance for the next attempts, at the top of their retry context"},
			{.name = "note-file", .kind = CLI_STR, .arg = "F",
			 .help = "the note from a file (instead of --note)"},
			CLI_ACTOR_OPT,
		},
		.help = "Send a failed, retry or escalated task back to pending.  Refuses a spent budget unless\n"
			"--reset-count (attempt numbers keep increasing; the next attempt still gets the full retry\n"
			"context).  A flow that had ended failed runs again.  A task whose flow was aborted is refused\n"
			"(an aborted flow never runs again): put it in a new flow (hive flow create PROJECT --task T),\n"
			"where it becomes pending with a fresh budget, keeping its attempts and retry context.\n"
			"--rebase moves its base to the repository's current HEAD (merged with its dependencies'\n"
			"results; refused on a conflict, naming the paths): its next attempt starts there.\n"
			"--note (or --note-file) is a person's guidance: the next attempt's retry context starts with it\n"
			"under \"Guidance from a person\" (with who wrote it and when; also in input.json), and later\n"
			"attempts get it too until another note replaces it.  At most 4096 bytes of UTF-8 text.\n",
		.exit = "0 ok, 2 bad note, mode or actor, 3 not found (or --note-file unreadable), 4 wrong state,\n"
			"retry limit exceeded, flow aborted or locked, or a --rebase conflict.",
		.run = cmd_retry,
	},
	{
		.group = "task", .name = "abort", TASK_ARG,
		.opts = {{.name = "reason", .kind = CLI_STR, .arg = "TEXT", .help = "why, recorded with the abort"},
			 CLI_ACTOR_OPT},
		.help = "Abort a task that has not ended; a running attempt ends aborted and its processes are killed.\n",
		.exit = "0 ok, 2 bad actor, 3 not found, 4 already ended.",
		.run = cmd_abort,
	},
	{
		.group = "task", .name = "edit", TASK_ARG,
		.opts = {
			{.name = "title", .kind = CLI_STR, .arg = "TEXT", .help = "a new title"},
			{.name = "description", .kind = CLI_STR, .arg = "TEXT", .help = "a new description"},
			{.name = "check", .kind = CLI_LIST, .arg = "NAME=CMD",
			 .help = "set a required check: replaces the check of that name, else adds one"},
			{.name = "optional-check", .kind = CLI_LIST, .arg = "NAME=CMD",
			 .help = "set an optional check (as --check)"},
			{.name = "remove-check", .kind = CLI_LIST, .arg = "NAME", .help = "remove the check of that name"},
			{.name = "clear-checks", .kind = CLI_FLAG, .arg = NULL,
			 .help = "remove every check first (then --check adds the new list)"},
			{.name = "runtime-command", .kind = CLI_STR, .arg = "CMD",
			 .help = "run CMD with /bin/sh -c as the task's program"},
			{.name = "retry", .kind = CLI_STR, .arg = "JSON",
			 .help = "retry policy members to change, merged over the task's policy"},
			{.name = "reason", .kind = CLI_STR, .arg = "TEXT", .help = "why, shown in the next retry context"},
			CLI_ACTOR_OPT,
		},
		.help = "Change a task for its future attempts (not while an attempt runs, nor once it succeeded).\n"
			"Checks: --clear-checks, then each --remove-check, then each --check/--optional-check replacing\n"
			"the check of its name in place (keeping its timeout) or adding it.  --retry takes policy members\n"
			"(docs/spec.md) merged over the task's policy: '{\"max_attempts\": 5}' changes only that.\n"
			"The result is validated as a task definition before anything is written; task_edited records\n"
			"each changed field's before and after, and the next attempt's retry context lists the changes\n"
			"under \"Changed by a person\".\n",
		.exit = "0 ok, 2 invalid value or nothing to change, 3 task or check to remove not found,\n"
			"4 running, verifying or succeeded.",
		.run = cmd_edit,
	},
	{
		.group = "task", .name = "accept", TASK_ARG,
		.opts = {
			{.name = "attempt", .kind = CLI_U64, .arg = "N",
			 .help = "the attempt to accept (default: the latest with a checkpoint commit)"},
			{.name = "reason", .kind = CLI_STR, .arg = "TEXT", .help = "why it is good enough", .required = 1},
			CLI_ACTOR_OPT,
		},
		.help = "Accept a completed attempt's checkpoint commit as the result of a failed, escalated or retry\n"
			"task, which becomes success: its result branch hive/<flow>/<key> points at the commit and its\n"
			"worktree is released.  A failed flow runs again, and its next run starts the dependants.\n"
			"Only attempts of the task's current flow can be accepted.\n",
		.exit = "0 ok, 2 no reason or bad actor, 3 task or attempt not found, 4 wrong state, no checkpoint\n"
			"commit, flow aborted or (for a retry task) locked by a runner, 5 storage or git error.",
		.run = cmd_accept,
	},
	{0},
};
