/*
 * presets.c - claude-code, codex, opencode and aider: argv templates over
 * the exec adapter (SPEC section 7).
 *
 * A preset only decides the argv.  It rewrites the task's runtime into the
 * exec runtime it stands for -
 *
 *   command = (runtime.command, or the preset's program)
 *             + the preset's lead arguments
 *             + ["--model", runtime.model]   when model is not null
 *             + runtime.args
 *             + the preset's tail arguments
 *
 * - and hands that to exec's prepare and describe.  Execution is exec's own
 * execute, called with the preset as `self` so it builds the argv through
 * the preset's prepare.  Everything else (files, environment, stdin, verdict,
 * timeout) is therefore identical for every preset; see docs/adapters.md.
 *
 * runtime.command replaces only the program, e.g. ["./wrap.sh", "claude"]
 * runs the wrapper with claude's usual arguments after it.
 */
#include "adapters/adapter.h"
#include "events/error.h"

#include <stddef.h>

typedef struct {
	const char *name;
	const char *program;      /* default runtime.command */
	const char *const *lead;  /* NULL-terminated; between the program and --model */
	const char *const *tail;  /* NULL-terminated; after runtime.args */
} preset;

static const char *const nothing[] = {NULL};
/* Print mode: one prompt from stdin, a JSON result on stdout. */
static const char *const claude_lead[] = {"-p", "--output-format", "json", NULL};
/* Non-interactive `exec`; "-" makes it read the prompt from stdin. */
static const char *const codex_lead[] = {"exec", NULL};
static const char *const codex_tail[] = {"-", NULL};
/* `run` reads a piped stdin as the message (prompt.md; it reaches EOF). */
static const char *const opencode_lead[] = {"run", NULL};
/* One message from a file, then exit; hive records the changes itself,
 * so aider must not commit, and must not stop to ask. */
static const char *const aider_lead[] = {"--yes-always", "--no-auto-commits", "--message-file",
                                         "{prompt_file}", NULL};

static const hive_adapter *exec_adapter(void)
{
	return hive_adapter_find("exec");
}

static int model_check(const json_t *rt)
{
	const json_t *model = json_object_get(rt, "model");
	if (!model || json_is_null(model) || (json_is_string(model) && *json_string_value(model)))
		return 0;
	return hive_error_set(HIVE_EINVALID, "runtime.model: must be a non-empty string (or null "
	                      "for the agent's default)");
}

static void push_all(json_t *arr, const char *const *words)
{
	for (; *words; words++)
		json_array_append_new(arr, json_string(*words));
}

/* command with the program defaulted: null, absent and [] all mean "the
 * preset's program" (core normalizes an unset command to null). */
static void default_program(const preset *p, json_t *rt)
{
	const json_t *cmd = json_object_get(rt, "command");
	if (!cmd || json_is_null(cmd) || (json_is_array(cmd) && json_array_size(cmd) == 0))
		json_object_set_new(rt, "command", json_pack("[s]", p->program));
}

/* The exec runtime rt stands for under p (new reference), or NULL with the
 * error set.  exec's prepare checks the copy before it is rewritten, so
 * its messages name the user's own fields (runtime.args[2], ...). */
static json_t *as_exec_runtime(const preset *p, const json_t *rt)
{
	char **argv;
	json_t *base, *full;

	if (!json_is_object(rt)) {
		hive_error_set(HIVE_EINVALID, "runtime: must be an object such as "
		               "{\"adapter\": \"%s\"}", p->name);
		return NULL;
	}
	if (model_check(rt))
		return NULL;
	base = json_deep_copy(rt);
	default_program(p, base);
	if (exec_adapter()->prepare(base, &argv) != 0) {
		json_decref(base);
		return NULL;
	}
	hive_argv_free(argv);

	full = json_copy(json_object_get(base, "command"));
	push_all(full, p->lead);
	json_t *model = json_object_get(base, "model");
	if (json_is_string(model)) {
		json_array_append_new(full, json_string("--model"));
		json_array_append(full, model);
	}
	if (json_is_array(json_object_get(base, "args")))
		json_array_extend(full, json_object_get(base, "args"));
	push_all(full, p->tail);

	json_object_set_new(base, "command", full);
	json_object_del(base, "args");
	json_object_del(base, "model");
	json_object_set_new(base, "adapter", json_string(p->name));
	return base;
}

static int preset_prepare(const preset *p, const json_t *rt, char ***argv_out)
{
	json_t *exec_rt = as_exec_runtime(p, rt);
	if (!exec_rt)
		return HIVE_EINVALID;
	int rc = exec_adapter()->prepare(exec_rt, argv_out);
	json_decref(exec_rt);
	return rc;
}

static void preset_describe(const preset *p, const json_t *rt, hive_buf *out)
{
	json_t *exec_rt = as_exec_runtime(p, rt);
	if (!exec_rt) {
		hive_buf_printf(out, "%s: invalid runtime (%s)", p->name, hive_error_last());
		return;
	}
	exec_adapter()->describe(exec_rt, out); /* labelled by exec_rt's "adapter" */
	json_decref(exec_rt);
}

static int preset_execute(const hive_adapter *self, const hive_exec_request *req,
                          hive_exec_result *res)
{
	return exec_adapter()->execute(self, req, res);
}

/* The vtable's prepare and describe take no `self`, so each preset gets a
 * pair of one-line functions that pass its template along. */
#define PRESET(ident, NAME, PROGRAM, LEAD, TAIL)                                   \
	static const preset ident##_preset = {NAME, PROGRAM, LEAD, TAIL};           \
	static int ident##_prepare(const json_t *rt, char ***argv_out)              \
	{                                                                           \
		return preset_prepare(&ident##_preset, rt, argv_out);               \
	}                                                                           \
	static void ident##_describe(const json_t *rt, hive_buf *out)               \
	{                                                                           \
		preset_describe(&ident##_preset, rt, out);                          \
	}                                                                           \
	const hive_adapter hive_adapter_##ident = {                                 \
		.version = HIVE_ADAPTER_VERSION, .name = NAME,                      \
		.prepare = ident##_prepare, .execute = preset_execute,              \
		.describe = ident##_describe,                                       \
	};

PRESET(claude_code, "claude-code", "claude", claude_lead, nothing)
PRESET(codex, "codex", "codex", codex_lead, codex_tail)
PRESET(opencode, "opencode", "opencode", opencode_lead, nothing)
PRESET(aider, "aider", "aider", aider_lead, nothing)
