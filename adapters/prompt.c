/*
 * prompt.c - render prompt.md and input.json for one attempt.
 *
 * The prompt is Markdown read by a model, so user text that would break the
 * structure is neutralised where it matters: a title stays on one line, and
 * a check command is put in a code span whose fence is longer than any run
 * of backticks inside it (CommonMark's rule), so `echo \`date\`` survives.
 */
#include "adapters/prompt.h"

#include "core/markdown.h"
#include "events/json.h"

#include <stdlib.h>
#include <string.h>

/* s on one line: '\r' and '\n' become spaces, so a title cannot start a
 * new Markdown block. */
static void put_one_line(hive_buf *out, const char *s)
{
	for (; *s; s++)
		hive_buf_putc(out, *s == '\n' || *s == '\r' ? ' ' : *s);
}

/* A CommonMark code span holding s exactly. */
static void put_code_span(hive_buf *out, const char *s)
{
	size_t fence = hive_markdown_fence_len(s, 1);
	size_t len = strlen(s);
	/* A span's content may not start or end with a backtick next to the
	 * fence; one space on each side is stripped again by renderers. */
	int pad = len && (s[0] == '`' || s[len - 1] == '`');

	for (size_t i = 0; i < fence; i++)
		hive_buf_putc(out, '`');
	if (pad)
		hive_buf_putc(out, ' ');
	hive_buf_puts(out, s);
	if (pad)
		hive_buf_putc(out, ' ');
	for (size_t i = 0; i < fence; i++)
		hive_buf_putc(out, '`');
}

static void put_title(hive_buf *out, const json_t *task)
{
	const char *title = hive_json_str(task, "title"), *key = hive_json_str(task, "key");

	hive_buf_puts(out, "# Task: ");
	put_one_line(out, title && *title ? title : key ? key : "(untitled)");
	if (key && title && *title) {
		hive_buf_puts(out, " (");
		put_one_line(out, key);
		hive_buf_putc(out, ')');
	}
	hive_buf_puts(out, "\n\n");
}

static void put_description(hive_buf *out, const json_t *task)
{
	const char *d = hive_json_str(task, "description");
	size_t len = d ? strlen(d) : 0;

	/* Exactly one blank line before the next section, whatever the
	 * description ends with. */
	while (len && d[len - 1] == '\n')
		len--;
	if (!len)
		return;
	hive_buf_append(out, d, len);
	hive_buf_puts(out, "\n\n");
}

/* Checks are required unless they say "required": false (SPEC section 1). */
static void put_check(hive_buf *out, const json_t *check)
{
	const char *name = hive_json_str(check, "name"), *cmd = hive_json_str(check, "command");

	hive_buf_puts(out, "- ");
	put_code_span(out, name ? name : "?");
	hive_buf_puts(out, json_is_false(json_object_get(check, "required")) ? " (optional): "
	                                                                     : " (required): ");
	put_code_span(out, cmd ? cmd : "");
	hive_buf_puts(out, " must exit 0\n");
}

static void put_criteria(hive_buf *out, const json_t *task)
{
	const json_t *checks = json_object_get(task, "checks");
	size_t i, n = json_array_size(checks);

	hive_buf_puts(out, "## Success criteria\n");
	if (n == 0) {
		hive_buf_puts(out, "The task has no checks: it succeeds when you exit with status 0.\n");
		return;
	}
	hive_buf_puts(out, "When you exit, hive runs these checks in the worktree; the task "
	                   "succeeds when you exit with status 0 and every required check passes.\n");
	for (i = 0; i < n; i++)
		put_check(out, json_array_get(checks, i));
}

void hive_prompt_render(const hive_exec_request *req, hive_buf *out)
{
	put_title(out, req->task);
	put_description(out, req->task);
	put_criteria(out, req->task);
	if (req->context && *req->context) {
		hive_buf_putc(out, '\n');
		hive_buf_puts(out, req->context);
	}
}

/* A new copy of v, or `fallback` (new) when v is NULL. */
static json_t *copy_or(const json_t *v, json_t *fallback)
{
	if (!v)
		return fallback;
	json_decref(fallback);
	json_t *c = json_deep_copy(v);
	if (!c)
		abort(); /* out of memory: see buf.h */
	return c;
}

/* The context as a new JSON value: null for a first attempt.  Core renders
 * valid UTF-8, but jansson refuses anything else, so make sure rather than
 * lose the context. */
static json_t *context_value(const char *context)
{
	if (!context || !*context)
		return json_null();
	return hive_json_string_repaired(context);
}

void hive_input_render(const hive_exec_request *req, hive_buf *out)
{
	json_t *in = json_object();
	json_object_set_new(in, "task", copy_or(req->task, json_object()));
	json_object_set_new(in, "attempt_number", json_integer(req->attempt_number));
	json_object_set_new(in, "max_attempts", json_integer(req->max_attempts));
	json_object_set_new(in, "context", context_value(req->context));
	json_object_set_new(in, "prior_attempts", copy_or(req->prior_attempts, json_array()));
	json_object_set_new(in, "guidance", req->guidance && json_is_object(req->guidance) ? copy_or(req->guidance, NULL)
											    : json_null());

	char *text = json_dumps(in, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		abort(); /* only on out of memory: every value above is valid JSON */
	hive_buf_puts(out, text);
	hive_buf_putc(out, '\n');
	free(text);
	json_decref(in);
}
