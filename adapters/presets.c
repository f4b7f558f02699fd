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
 * - and hands that to exec's argv builder and describe.  Execution is exec's
 * own execute, called with the preset as `self` so it builds the argv
 * through the preset's prepare.  Everything else (files, environment, stdin,
 * verdict, timeout) is therefore identical for every preset, and so is the
 * validation of the members exec reads (hive_exec_fields_check); a preset
 * adds only its own rule for `model`.  See docs/adapters.md.
 *
 * runtime.command replaces only the program, e.g. ["./wrap.sh", "claude"]
 * runs the wrapper with claude's usual arguments after it.
 */
#include "adapters/exec.h"

#include "core/jsoncheck.h"
#include "events/error.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *name;         /* the adapter's name */
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

static const preset presets[] = {
	{"claude-code", "claude", claude_lead, nothing},
	{"codex", "codex", codex_lead, codex_tail},
	{"opencode", "opencode", opencode_lead, nothing},
	{"aider", "aider", aider_lead, nothing},
};

/* The template of the adapter `self` (one of the vtables below). */
static const preset *preset_of(const hive_adapter *self)
{
	for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
		if (strcmp(presets[i].name, self->name) == 0)
			return &presets[i];
	abort(); /* a vtable below without a template: a bug in this file */
}

static int model_check(const json_t *rt, const char *where)
{
	const json_t *model = json_object_get(rt, "model");
	if (!model || json_is_null(model) ||
	    (hive_json_is_clean_string(model) && *json_string_value(model)))
		return 0;
	return hive_error_set(HIVE_EINVALID, "%s.model: must be a non-empty string (or null for the "
	                      "preset's default), got %s", where, json_is_string(model)
	                      ? "an empty or NUL-holding one" : hive_json_type_name(model));
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

/* The members exec reads are checked on a copy with the program
 * defaulted; defaulting changes only an empty command, so the messages
 * name the user's own fields (runtime.args[2], ...). */
static int preset_validate(const hive_adapter *self, const json_t *rt, const char *where,
                           unsigned flags)
{
	const char *at = where ? where : "runtime";
	int rc;

	(void)flags; /* nothing a task must supply: every member has a default */
	if (!json_is_object(rt))
		return hive_error_set(HIVE_EINVALID, "%s: must be an object such as "
		                      "{\"adapter\": \"%s\"}, got %s", at, self->name,
		                      hive_json_type_name(rt));
	if ((rc = model_check(rt, at)))
		return rc;
	json_t *base = json_deep_copy(rt);
	default_program(preset_of(self), base);
	rc = hive_exec_fields_check(base, at);
	json_decref(base);
	return rc;
}

/* The exec runtime a valid rt stands for under p (new reference). */
static json_t *as_exec_runtime(const preset *p, const json_t *rt)
{
	json_t *base = json_deep_copy(rt);
	default_program(p, base);

	json_t *full = json_copy(json_object_get(base, "command"));
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

static int preset_prepare(const hive_adapter *self, const json_t *rt, char ***argv_out)
{
	int rc = self->validate(self, rt, NULL, 0);
	if (rc)
		return rc;
	json_t *exec_rt = as_exec_runtime(preset_of(self), rt);
	*argv_out = hive_exec_argv(exec_rt);
	json_decref(exec_rt);
	return 0;
}

static void preset_describe(const hive_adapter *self, const json_t *rt, hive_buf *out)
{
	if (self->validate(self, rt, NULL, 0) != 0) {
		hive_buf_printf(out, "%s: invalid runtime (%s)", self->name, hive_error_last());
		return;
	}
	json_t *exec_rt = as_exec_runtime(preset_of(self), rt);
	/* labelled by exec_rt's "adapter", the preset's name */
	hive_adapter_exec.describe(&hive_adapter_exec, exec_rt, out);
	json_decref(exec_rt);
}

/* exec's engine, with the preset as self: it builds the argv through
 * preset_prepare. */
static int preset_execute(const hive_adapter *self, const hive_exec_request *req,
                          hive_exec_result *res)
{
	return hive_adapter_exec.execute(self, req, res);
}

#define PRESET_VTABLE(ident, NAME)                                                  \
	const hive_adapter hive_adapter_##ident = {                                 \
		.version = HIVE_ADAPTER_VERSION, .name = NAME,                      \
		.validate = preset_validate, .prepare = preset_prepare,             \
		.execute = preset_execute, .describe = preset_describe,             \
	};

PRESET_VTABLE(claude_code, "claude-code")
PRESET_VTABLE(codex, "codex")
PRESET_VTABLE(opencode, "opencode")
PRESET_VTABLE(aider, "aider")
