/*
 * cmd_demo.c - `hive demo`: hive's main job on a throwaway repository.
 *
 * A small C project with a bug and a failing unit check, and a scripted
 * agent that behaves like a coding agent: it reads its prompt and fixes
 * the bug only when the prompt shows the failing check's output.  Attempt
 * 1 therefore fails the check; a person (the demo, acting for whoever runs
 * it) leaves a note for the next attempt with `task retry --note`; attempt
 * 2 receives the retry context with the note at its top (it is printed
 * here), fixes the bug, and the flow completes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/registry.h"
#include "cli/cli.h"
#include "events/buf.h"
#include "events/error.h"

static const char calc_c[] =
	"/* calc.c - a tiny calculator library */\n"
	"int add(int a, int b)\n{\n\treturn a - b;\n}\n\n"
	"int mul(int a, int b)\n{\n\treturn a * b;\n}\n";

static const char test_c[] =
	"#include <stdio.h>\n"
	"int add(int a, int b);\nint mul(int a, int b);\n"
	"int main(void)\n{\n\tint failed = 0, passed = 0;\n"
	"\tfor (int i = 1; i <= 120; i++) {\n"
	"\t\tif (mul(i, 2) == i * 2) { printf(\"ok %d - mul(%d, 2)\\n\", i, i); passed++; }\n"
	"\t\telse { printf(\"not ok %d - mul(%d, 2)\\n\", i, i); failed++; }\n\t}\n"
	"\tif (add(2, 3) != 5) { printf(\"FAIL: add(2, 3) = %d, expected 5\\n\", add(2, 3)); failed++; }\n"
	"\telse { printf(\"ok - add(2, 3) = 5\\n\"); passed++; }\n"
	"\tprintf(\"%d passed, %d failed\\n\", passed, failed);\n\treturn failed != 0;\n}\n";

static const char test_sh[] =
	"#!/bin/sh\n# the unit check: build and run the tests (the binary goes in $TMPDIR and never stays)\n"
	"bin=$(mktemp \"${TMPDIR:-/tmp}/hive-demo-test-XXXXXX\") || exit 1\ntrap 'rm -f \"$bin\"' EXIT\n"
	"cc -o \"$bin\" calc.c test.c || exit 1\n\"$bin\"\n";

static const char agent_sh[] =
	"#!/bin/sh\n"
	"# A scripted stand-in for a coding agent.  Like a real one it reads the\n"
	"# prompt hive gives it on stdin; it can only fix the bug when the prompt\n"
	"# shows the failing check's output.\n"
	"prompt=$(cat)\n"
	"echo \"agent: attempt $HIVE_ATTEMPT_NUMBER of $HIVE_MAX_ATTEMPTS, prompt of $(printf '%s\\n' \"$prompt\" | wc -l) lines\"\n"
	"if printf '%s\\n' \"$prompt\" | grep -q 'add(2, 3) = -1, expected 5'; then\n"
	"  note=$(printf '%s\\n' \"$prompt\" | sed -n '/^### Guidance from a person/,/^### Attempt/s/^> //p')\n"
	"  [ -n \"$note\" ] && echo \"agent: a person's note in the retry context: $note\"\n"
	"  echo 'agent: the retry context shows add(2, 3) returning -1; add() subtracts. Fixing it.'\n"
	"  sed -i 's/return a - b;/return a + b;/' calc.c\n"
	"  printf '{\"summary\": \"fixed add(): it subtracted instead of adding\"}' > \"$HIVE_RESULT_FILE\"\n"
	"else\n"
	"  echo 'agent: no failure to go on; adding a header comment and hoping for the best.'\n"
	"  sed -i '1s|.*|/* calc.c - a tiny calculator library (reviewed) */|' calc.c\n"
	"  printf '{\"summary\": \"reviewed calc.c; found nothing obvious\"}' > \"$HIVE_RESULT_FILE\"\n"
	"fi\n";

static const char spec_json[] =
	"{\n  \"name\": \"demo-fix-add\",\n"
	"  \"project\": {\"name\": \"demo\", \"repo\": \"repo\"},\n"
	"  \"defaults\": {\"runtime\": {\"adapter\": \"exec\", \"command\": [\"./agent.sh\"], \"timeout\": \"2m\"}},\n"
	"  \"tasks\": [\n"
	"    {\"key\": \"fix-add\", \"title\": \"Make the calculator tests pass\",\n"
	"     \"description\": \"The unit tests of the calculator fail. Find the bug and fix it.\",\n"
	"     \"checks\": [{\"name\": \"unit\", \"command\": \"sh test.sh\", \"timeout\": \"1m\"}],\n"
	"     \"retry\": {\"max_attempts\": 3, \"backoff\": {\"initial\": \"500ms\"}}}\n"
	"  ]\n}\n";

static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	hive_buf p = {0};
	hive_buf_printf(&p, "%s/%s", dir, name);
	FILE *f = fopen(p.data, "w");
	int rc = 0;
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		rc = hive_error_set(HIVE_ESYSTEM, "demo: cannot write %s: %s", p.data, strerror(errno));
	else
		chmod(p.data, mode);
	hive_buf_dispose(&p);
	return rc;
}

static int make_repo(const char *root)
{
	hive_buf repo = {0};
	hive_buf_printf(&repo, "%s/repo", root);
	int rc = mkdir(repo.data, 0700) ? hive_error_set(HIVE_ESYSTEM, "demo: cannot create %s", repo.data) : 0;
	if (!rc)
		rc = write_file(repo.data, "calc.c", calc_c, 0644);
	if (!rc)
		rc = write_file(repo.data, "test.c", test_c, 0644);
	if (!rc)
		rc = write_file(repo.data, "test.sh", test_sh, 0755);
	if (!rc)
		rc = write_file(repo.data, "agent.sh", agent_sh, 0755);
	if (!rc)
		rc = hive_git_init_commit(repo.data, "calculator with a bug in add()");
	if (!rc)
		rc = write_file(root, "flow.json", spec_json, 0644);
	hive_buf_dispose(&repo);
	return rc;
}

static void narrate(const char *line, void *ctx)
{
	hive_cli *cli = ctx;
	if (cli->json)
		return;
	printf("  %s\n", line);
	fflush(stdout);
}

/* "demo-fix-add", or "demo-fix-add-N" when a data dir chosen with --dir or
 * $HIVE_DIR already holds earlier demos. */
static void unique_name(hive_store *s, json_t *spec)
{
	const char *base = json_string_value(json_object_get(spec, "name"));
	char name[96];
	snprintf(name, sizeof name, "%s", base);
	for (int n = 2; n < 1000; n++) {
		json_t *taken = NULL;
		if (hive_flow_show(s, name, &taken) == HIVE_ENOTFOUND)
			break;
		json_decref(taken);
		snprintf(name, sizeof name, "%s-%d", base, n);
	}
	json_object_set_new(spec, "name", json_string(name));
	/* the project, too, is per demo: its repo is this demo's */
	json_t *project = json_object_get(spec, "project");
	json_object_set_new(project, "name", json_string(name));
}

/* The flow's attempt that received a retry context (new reference) or NULL. */
static json_t *find_context(hive_store *s, const char *flow_id)
{
	hive_attempt_filter f = {.flow_ref = flow_id};
	json_t *docs = NULL, *a, *found = NULL;
	hive_attempt_list(s, &f, &docs);
	size_t i;
	json_array_foreach(docs, i, a)
		if (json_object_get(a, "context") && !found)
			found = json_incref(a);
	json_decref(docs);
	return found;
}

static void show_context(hive_store *s, const char *flow_id)
{
	json_t *a = find_context(s, flow_id);
	if (!a)
		return;
	printf("\n== The retry context delivered to attempt %lld (hive attempt inspect %s --context):\n\n",
	       (long long)json_integer_value(json_object_get(a, "attempt_number")), cli_jstr(a, "id"));
	fputs(cli_jstr(json_object_get(a, "context"), "context"), stdout);
	printf("\n");
	json_decref(a);
}

static void report_json(hive_cli *cli, const char *root, const char *name, const char *flow_id,
			const hive_run_result *r)
{
	json_t *a = find_context(cli->store, flow_id);
	cli_print_json(json_pack("{s:s,s:s,s:s,s:s,s:i,s:O?}", "flow", name, "flow_state", r->flow_state, "repo",
				 root, "data_dir", cli->dir, "attempts", r->attempts_started, "retry_context",
				 a ? json_object_get(a, "context") : NULL));
	json_decref(a);
}

/* What a person says after reading why attempt 1 failed. */
static const char demo_note[] = "The tests are right; fix add() in calc.c, not the tests.";

/* A person steers: `hive task retry fix-add --note ...` on the task
 * waiting for its retry, so attempt 2 gets the note in its context. */
static int leave_note(hive_cli *cli, hive_store *s, const char *flow_id, const char *actor)
{
	json_t *f = NULL;
	int rc = hive_flow_show(s, flow_id, &f);
	const char *task = rc ? NULL : json_string_value(json_array_get(json_object_get(f, "task_ids"), 0));
	if (!cli->json)
		printf("\n== A person reads why attempt 1 failed and leaves a note for the next attempt:\n"
		       "== hive task retry fix-add --note \"%s\"\n", demo_note);
	hive_task_retry_opts o = {.actor = actor, .note = demo_note};
	if (task)
		rc = hive_task_retry(s, task, &o);
	json_decref(f);
	return rc;
}

static int run_demo(hive_cli *cli, const char *root, const char *actor)
{
	int human = !cli->json;
	if (human)
		printf("== hive demo in %s\n", root);
	int rc = make_repo(root);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (!s)
		return rc;
	if (human) {
		printf("== A throwaway repo (%s/repo): calc.c has a bug in add(); the unit check fails.\n", root);
		printf("== The agent (agent.sh) reads its prompt and fixes the bug only if the prompt shows the failure.\n\n");
	}
	hive_buf spec_path = {0};
	hive_buf_printf(&spec_path, "%s/flow.json", root);
	json_t *spec = NULL;
	hive_id flow;
	hive_spec_opts so = {.adapters = hive_registry_builtin()};
	rc = hive_spec_file_load(spec_path.data, &so, &spec);
	hive_buf_dispose(&spec_path);
	if (!rc) {
		unique_name(s, spec);
		rc = hive_flow_create_spec(s, spec, &(hive_act_opts){.actor = actor}, &flow);
	}
	char name[96];
	snprintf(name, sizeof name, "%s", spec ? json_string_value(json_object_get(spec, "name")) : "");
	json_decref(spec);
	if (!rc)
		rc = hive_flow_start(s, flow.s, NULL);
	if (rc)
		return rc;
	if (human)
		printf("== hive flow tick %s\n", name);
	hive_run_opts o = {.max_parallel = 1, .adapters = hive_registry_builtin(), .progress = narrate,
			   .progress_ctx = cli, .seed = 1};
	hive_run_result r;
	rc = hive_flow_tick(s, flow.s, &o, &r); /* attempt 1: its check fails (HIVE_EFAILED) */
	if (rc == 0 || rc == HIVE_EFAILED)
		rc = leave_note(cli, s, flow.s, actor);
	if (human && !rc)
		printf("== hive flow run %s\n", name);
	int ticked = r.attempts_started;
	if (!rc)
		rc = hive_flow_run(s, flow.s, &o, &r);
	r.attempts_started += ticked;
	if (!human) {
		report_json(cli, root, name, flow.s, &r);
	} else {
		show_context(s, flow.s);
		printf("== Result: flow %s after %d attempts.\n", r.flow_state, r.attempts_started);
		printf("== Explore it (hive on your PATH: make install, or export PATH=$PWD:$PATH in the checkout):\n");
		printf("                hive --dir %s events list\n", cli->dir);
		printf("                hive --dir %s flow status %s\n", cli->dir, name);
		printf("                hive --dir %s attempt list --flow %s\n", cli->dir, name);
		printf("                hive --dir %s serve      (the web timeline and the API)\n", cli->dir);
	}
	if (!rc && strcmp(r.flow_state, "completed") != 0)
		rc = hive_error_set(HIVE_EFAILED, "demo: the flow ended %s, not completed", r.flow_state);
	return rc;
}

static int cmd_demo(hive_cli *cli, const cli_args *a)
{
	int rc;
	const char *tmp = getenv("TMPDIR");
	hive_buf root = {0};
	hive_buf_printf(&root, "%s/hive-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root.data)) {
		rc = hive_error_set(HIVE_ESYSTEM, "demo: cannot create a temp dir in %s: %s", tmp ? tmp : "/tmp",
				    strerror(errno));
		hive_buf_dispose(&root);
		return rc;
	}
	/* The demo's log lives with its repo unless --dir/HIVE_DIR chose one. */
	char *dir = NULL;
	if (cli->dir_is_default) { /* HIVE_DIR= (empty) counts as unset */
		hive_buf d = {0};
		hive_buf_printf(&d, "%s/data", root.data);
		dir = hive_buf_detach(&d);
		cli->dir = dir;
	}
	rc = run_demo(cli, root.data, cli_actor(a));
	hive_buf_dispose(&root);
	hive_store_close(cli->store);
	cli->store = NULL;
	cli->dir = NULL;
	free(dir);
	return rc;
}

const hive_command hive_cmds_demo[] = {
	{
		.group = "demo", .creates_store = 1,
		.opts = {CLI_ACTOR_OPT},
		.help = "Run hive's main job on a throwaway git repository: a task whose first attempt fails its check,\n"
			"a person's note for the next attempt (task retry --note), a retry that receives the retry context\n"
			"with the note and fixes the bug, a completed flow.  Everything goes in a new temp dir (its event\n"
			"log too, unless --dir or HIVE_DIR is given).\n",
		.exit = "0 when the flow completed.",
		.run = cmd_demo,
	},
	{0},
};
