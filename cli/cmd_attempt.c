/* cmd_attempt.c - hive attempt list | inspect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/duration.h"
#include "events/buf.h"
#include "events/error.h"

/* "fix-login/fix#2": how a person names an attempt (SPEC section 12); the
 * bare "key#2" for a task in no flow. */
static void attempt_ref(const json_t *at, hive_buf *b)
{
	if (*cli_jstr(at, "flow_name"))
		hive_buf_printf(b, "%s/", hive_safe(cli_jstr(at, "flow_name")));
	hive_buf_printf(b, "%s#%lld", hive_safe(cli_jstr(at, "task_key")),
			(long long)json_integer_value(json_object_get(at, "attempt_number")));
}

static int cmd_list(hive_cli *cli, const cli_args *a)
{
	hive_attempt_filter af = {.task_ref = cli_str(a, "task"), .flow_ref = cli_str(a, "flow")};
	json_t *doc = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_doc_attempt_list(s, &af, &doc);
	if (!rc && !cli_json_out(cli, json_incref(doc))) {
		printf("%-18s %-32s %-10s %-20s %s\n", "ATTEMPT", "REFERENCE", "STATE", "OUTCOME", "DURATION");
		size_t i;
		json_t *at;
		json_array_foreach(json_object_get(doc, "attempts"), i, at) {
			char d[32] = "-", id[CLI_ID_LEN];
			if (json_object_get(at, "duration_ms"))
				hive_duration_format(json_integer_value(json_object_get(at, "duration_ms")), d, sizeof d);
			hive_buf ref = {0};
			attempt_ref(at, &ref);
			printf("%-18s %-32s %-10s %-20s %s\n", cli_id(cli, "attempt", cli_jstr(at, "id"), id), ref.data,
			       cli_jstr(at, "state"), *cli_jstr(at, "outcome") ? cli_jstr(at, "outcome") : "-", d);
			hive_buf_dispose(&ref);
		}
	}
	json_decref(doc);
	return rc;
}

static void print_blob(const char *title, const hive_bytes *b)
{
	printf("--- %s%s\n", title, b->data ? "" : " (none)");
	if (b->data) {
		fwrite(b->data, 1, b->len, stdout);
		if (b->len && b->data[b->len - 1] != '\n')
			putchar('\n');
	}
}

/* "exit 1", "timed out after 1m0s", "could not start: ...": how a check ended. */
static void check_end(const json_t *c, hive_buf *b)
{
	if (json_is_true(json_object_get(c, "timed_out"))) {
		char d[32] = "?";
		hive_duration_format(json_integer_value(json_object_get(c, "duration_ms")), d, sizeof d);
		hive_buf_printf(b, "timed out after %s", d);
	} else if (json_is_integer(json_object_get(c, "exit_code")) && !*cli_jstr(c, "error")) {
		hive_buf_printf(b, "exit %lld", (long long)json_integer_value(json_object_get(c, "exit_code")));
	} else if (*cli_jstr(c, "error")) {
		hive_buf_printf(b, "could not run: %s", hive_safe(cli_jstr(c, "error")));
	} else {
		hive_buf_puts(b, "no exit code");
	}
}

/* What people did that this attempt was given (its retry context) or
 * that ended it (a person's abort records the actor). */
static void print_people(const json_t *a)
{
	const json_t *ctx = json_object_get(a, "context"), *g = json_object_get(ctx, "guidance"), *e;
	if (json_is_object(g)) {
		const char *note = cli_jstr(g, "note");
		char *first = hive_xstrndup(note, strcspn(note, "\n")); /* the first line; --context shows it all */
		printf("guidance: from %s at %s (given before attempt %lld): %s%s\n",
		       *cli_jstr(g, "actor") ? hive_safe(cli_jstr(g, "actor")) : "a person", cli_jstr(g, "time"),
		       (long long)json_integer_value(json_object_get(g, "before_attempt")), hive_safe(first),
		       strchr(note, '\n') ? " ..." : "");
		free(first);
	}
	size_t i;
	json_array_foreach(json_object_get(ctx, "edits"), i, e) {
		hive_buf fields = {0};
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(e, "changes"), k, v)
			hive_buf_printf(&fields, "%s%s", fields.len ? ", " : "", k);
		printf("edited:   by %s at %s: %s\n", *cli_jstr(e, "actor") ? hive_safe(cli_jstr(e, "actor")) : "a person",
		       cli_jstr(e, "time"), hive_buf_str(&fields));
		hive_buf_dispose(&fields);
	}
	if (*cli_jstr(a, "actor"))
		printf("ended by: %s\n", hive_safe(cli_jstr(a, "actor")));
}

static void print_summary(const json_t *a)
{
	const json_t *ex = json_object_get(a, "runtime_exited"), *ch = json_object_get(a, "changes");
	char d[32] = "-";
	hive_duration_format(json_integer_value(json_object_get(a, "duration_ms")), d, sizeof d);
	hive_buf ref = {0};
	attempt_ref(a, &ref);
	printf("attempt:  %s (%s)\nstate:    %s\noutcome:  %s\nduration: %s\nworktree: %s\n", cli_jstr(a, "id"),
	       ref.data, cli_jstr(a, "state"), *cli_jstr(a, "outcome") ? cli_jstr(a, "outcome") : "-", d,
	       cli_jstr(a, "worktree"));
	hive_buf_dispose(&ref);
	if (ex) {
		const json_t *code = json_object_get(ex, "exit_code");
		printf("runtime:  %s", cli_jstr(ex, "termination_reason"));
		if (json_is_integer(code))
			printf(", exit code %lld", (long long)json_integer_value(code));
		else
			printf(", no exit code");
		if (*cli_jstr(ex, "error"))
			printf(", %s", hive_safe(cli_jstr(ex, "error")));
		printf("\n");
	}
	if (*cli_jstr(a, "summary"))
		printf("summary:  %s\n", hive_safe(cli_jstr(a, "summary")));
	if (ch)
		printf("changes:  %lld created, %lld modified, %lld deleted (+%lld -%lld), commit %.12s\n",
		       (long long)json_integer_value(json_object_get(ch, "files_created")),
		       (long long)json_integer_value(json_object_get(ch, "files_modified")),
		       (long long)json_integer_value(json_object_get(ch, "files_deleted")),
		       (long long)json_integer_value(json_object_get(ch, "insertions")),
		       (long long)json_integer_value(json_object_get(ch, "deletions")), cli_jstr(ch, "commit"));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(a, "checks"), i, c) {
		hive_buf end = {0};
		check_end(c, &end);
		printf("check:    %s%s: %s (%s)\n", hive_safe(cli_jstr(c, "name")),
		       json_is_false(json_object_get(c, "required")) ? " (optional)" : "",
		       json_is_true(json_object_get(c, "passed")) ? "passed" : "FAILED", end.data);
		hive_buf_dispose(&end);
	}
	print_people(a);
}

static json_t *blob_json(const hive_bytes *b)
{
	json_t *v = b->data ? json_stringn(b->data, b->len) : json_null();
	return v ? v : json_string("[output is not valid UTF-8; see the files under the attempt directory]");
}

/* --output as one JSON object: runtime stdout/stderr and every check's output. */
static json_t *output_json(const hive_attempt_detail *d)
{
	json_t *checks = json_array(), *c;
	size_t i;
	json_array_foreach(json_object_get(d->attempt, "checks"), i, c)
		json_array_append_new(checks, json_pack("{s:s,s:O?,s:o}", "name", cli_jstr(c, "name"), "exit_code",
							json_object_get(c, "exit_code"),
							"output", blob_json(&d->check_output[i])));
	return json_pack("{s:o,s:o,s:o}", "runtime_stdout", blob_json(&d->runtime_stdout),
			 "runtime_stderr", blob_json(&d->runtime_stderr), "checks", checks);
}

static void print_output(const hive_attempt_detail *d)
{
	print_blob("runtime stdout", &d->runtime_stdout);
	print_blob("runtime stderr", &d->runtime_stderr);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(d->attempt, "checks"), i, c) {
		hive_buf t = {0};
		hive_buf_printf(&t, "check %s (", hive_safe(cli_jstr(c, "name")));
		check_end(c, &t);
		hive_buf_putc(&t, ')');
		print_blob(t.data, &d->check_output[i]);
		hive_buf_dispose(&t);
	}
}

/* With --json: one document.  --context alone prints the whole
 * retry_context_assembled payload (SPEC section 9); other flags are keys
 * of one object. */
static void inspect_json(const hive_attempt_detail *d, int ctx, int diff, int output)
{
	const json_t *a = d->attempt;
	json_t *context = json_object_get(a, "context");
	if (!ctx && !diff && !output) {
		cli_print_json(json_incref(d->attempt));
		return;
	}
	if (ctx && !diff && !output && context) {
		cli_print_json(json_incref(context));
		return;
	}
	json_t *doc = json_pack("{s:s,s:O?}", "attempt_id", cli_jstr(a, "id"), "attempt_number",
				json_object_get(a, "attempt_number"));
	if (ctx) {
		json_object_set(doc, "context", context ? context : json_null());
		if (!context)
			json_object_set_new(doc, "message", json_string("no retry context: it was the task's first attempt"));
	}
	if (diff)
		json_object_set_new(doc, "diff", blob_json(&d->diff));
	if (output)
		json_object_set_new(doc, "output", output_json(d));
	cli_print_json(doc);
}

static int cmd_inspect(hive_cli *cli, const cli_args *a)
{
	int ctx = cli_flag(a, "context"), diff = cli_flag(a, "diff"), output = cli_flag(a, "output");
	hive_attempt_detail d;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	unsigned what = (diff ? HIVE_INSPECT_DIFF : 0) | (output ? HIVE_INSPECT_OUTPUT : 0);
	if ((rc = hive_attempt_inspect(s, a->pos[0], what, &d)))
		return rc;
	if (cli->json) {
		inspect_json(&d, ctx, diff, output);
		hive_attempt_detail_dispose(&d);
		return 0;
	}
	json_t *context = json_object_get(d.attempt, "context");
	if (ctx && context)
		fputs(cli_jstr(context, "context"), stdout);
	else if (ctx)
		printf("attempt %lld had no retry context: it was the task's first attempt.\n",
		       (long long)json_integer_value(json_object_get(d.attempt, "attempt_number")));
	if (!ctx && !diff && !output)
		print_summary(d.attempt);
	if (diff)
		print_blob("diff", &d.diff);
	if (output)
		print_output(&d);
	hive_attempt_detail_dispose(&d);
	return 0;
}

const hive_command hive_cmds_attempt[] = {
	{
		.group = "attempt", .name = "list",
		.opts = {
			{.name = "task", .kind = CLI_STR, .arg = "T", .help = "only this task's attempts"},
			{.name = "flow", .kind = CLI_STR, .arg = "F", .help = "only this flow's attempts"},
		},
		.help = "List attempts with their number, state, outcome and duration.\n",
		.exit = "0 ok, 3 unknown task or flow.",
		.run = cmd_list,
	},
	{
		.group = "attempt", .name = "inspect",
		.args = {"ATTEMPT"}, .min_args = 1,
		.opts = {
			{.name = "context", .kind = CLI_FLAG, .arg = NULL, .help =
			 "the retry context exactly as delivered (with --json: the whole retry_context_assembled payload)"},
			{.name = "diff", .kind = CLI_FLAG, .arg = NULL,
			 .help = "the unified diff of its changes"},
			{.name = "output", .kind = CLI_FLAG, .arg = NULL,
			 .help = "full runtime stdout/stderr and every check's full output"},
		},
		.help = "Show an attempt: outcome, runtime exit, duration, changes, checks.\n",
		.exit = "0 ok, 3 not found or ambiguous prefix.",
		.run = cmd_inspect,
	},
	{0},
};
