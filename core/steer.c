/*
 * steer.c - a person in the loop: actor and note checks, `hive task edit`,
 * `hive task accept`, and the retry context's sections about people (see
 * steer.h, SPEC section 12, docs/retry-context.md "Steering").
 */
#include "core/steer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/emit.h"
#include "core/hive.h"
#include "events/error.h"
#include "events/json.h"
#include "events/utf8.h"

static void put_inline(hive_buf *b, const char *s, size_t max);

/* ---- checks ---------------------------------------------------------------- */

/* 1 when s[0..n) is valid UTF-8 (the sanitizer changes nothing). */
static int valid_utf8(const char *s, size_t n, int allow_breaks)
{
	size_t m;
	char *t = hive_utf8_sanitize(s, n, &m);
	int ok = m == n && memcmp(s, t, n) == 0;
	for (size_t i = 0; ok && !allow_breaks && i < n; i++)
		ok = s[i] != '\n' && s[i] != '\t';
	free(t);
	return ok;
}

int hive_steer_actor_check(const char *actor)
{
	if (!actor)
		return 0;
	size_t n = strlen(actor);
	if (n > 0 && n <= HIVE_ACTOR_MAX_BYTES && valid_utf8(actor, n, 0))
		return 0;
	hive_buf shown = {0};
	put_inline(&shown, actor, 40);
	int rc = hive_error_set(HIVE_EINVALID, "actor \"%s\": use 1 to %d bytes of printable UTF-8 (a name such as alice)",
				hive_buf_str(&shown), HIVE_ACTOR_MAX_BYTES);
	hive_buf_dispose(&shown);
	return rc;
}

int hive_steer_actor_begin(const char *actor)
{
	int rc = hive_steer_actor_check(actor);
	if (!rc)
		hive_emit_actor_begin(actor);
	return rc;
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

int hive_steer_note_check(const char *note, const char *what)
{
	size_t n = note ? strlen(note) : 0;
	if (!note || blank(note))
		return hive_error_set(HIVE_EINVALID, "%s is empty (or only blanks); write some text", what);
	if (n > HIVE_NOTE_MAX_BYTES)
		return hive_error_set(HIVE_EINVALID, "%s is %zu bytes; at most %d fit at the top of the retry context",
				      what, n, HIVE_NOTE_MAX_BYTES);
	if (!valid_utf8(note, n, 1))
		return hive_error_set(HIVE_EINVALID, "%s is not UTF-8 text (or holds control characters); "
				      "write plain text", what);
	return 0;
}

/* ---- the retry context's sections ------------------------------------------- */

/* Field values in the context are cut to this many bytes. */
#define STEER_FIELD_BYTES 300

/* s as part of one line: valid UTF-8, no line breaks, cut to max bytes. */
static void put_inline(hive_buf *b, const char *s, size_t max)
{
	size_t n;
	char *t = hive_utf8_sanitize(s ? s : "", s ? strlen(s) : 0, &n);
	for (size_t i = 0; i < n; i++)
		if (t[i] == '\n' || t[i] == '\t')
			t[i] = ' ';
	size_t cut = hive_utf8_cut(t, n, max);
	hive_buf_append(b, t, cut);
	if (cut < n)
		hive_buf_puts(b, "...");
	free(t);
}

/* A JSON value on one line: strings as they are, the rest compact JSON. */
static void put_value(hive_buf *b, const json_t *v)
{
	if (json_is_string(v)) {
		put_inline(b, json_string_value(v), STEER_FIELD_BYTES);
		return;
	}
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	put_inline(b, s ? s : "null", STEER_FIELD_BYTES);
	free(s);
}

/* The note as a Markdown block quote: whatever it holds, it cannot start
 * a heading of its own and end the section. */
static void put_quoted(hive_buf *b, const char *note)
{
	size_t n;
	char *t = hive_utf8_sanitize(note, strlen(note), &n);
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' '))
		n--;
	hive_buf_puts(b, "> ");
	for (size_t i = 0; i < n; i++) {
		hive_buf_putc(b, t[i]);
		if (t[i] == '\n')
			hive_buf_puts(b, "> ");
	}
	hive_buf_putc(b, '\n');
	free(t);
}

static void put_who(hive_buf *b, const json_t *o)
{
	const char *actor = hive_json_str(o, "actor");
	put_inline(b, actor ? actor : "a person", HIVE_ACTOR_MAX_BYTES);
	hive_buf_puts(b, " at ");
	put_inline(b, hive_json_str(o, "time"), 40);
}

static void put_guidance(hive_buf *b, const json_t *g)
{
	hive_buf_puts(b, "\n### Guidance from a person\nFrom ");
	put_who(b, g);
	hive_buf_printf(b, " (given before attempt %lld):\n",
			(long long)json_integer_value(json_object_get(g, "before_attempt")));
	put_quoted(b, hive_json_str(g, "note"));
}

static const json_t *check_named(const json_t *checks, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(checks, i, c)
		if (name && strcmp(hive_json_str(c, "name") ? hive_json_str(c, "name") : "", name) == 0)
			return c;
	return NULL;
}

static void put_check_line(hive_buf *b, const char *verb, const json_t *c, const json_t *was)
{
	hive_buf_puts(b, "- check \"");
	put_inline(b, hive_json_str(c, "name"), 64);
	hive_buf_printf(b, "\" %s: `", verb);
	put_inline(b, hive_json_str(c, "command"), STEER_FIELD_BYTES);
	hive_buf_putc(b, '`');
	if (json_is_false(json_object_get(c, "required")))
		hive_buf_puts(b, " (optional)");
	if (was) {
		hive_buf_puts(b, " (was `");
		put_inline(b, hive_json_str(was, "command"), STEER_FIELD_BYTES);
		hive_buf_puts(b, json_is_false(json_object_get(was, "required")) ? "`, optional)" : "`)");
	}
	hive_buf_putc(b, '\n');
}

static void put_checks_change(hive_buf *b, const json_t *before, const json_t *after)
{
	size_t i;
	json_t *c;
	json_array_foreach(after, i, c) {
		const json_t *old = check_named(before, hive_json_str(c, "name"));
		if (!old)
			put_check_line(b, "added", c, NULL);
		else if (!json_equal((json_t *)old, c))
			put_check_line(b, "changed", c, old);
	}
	json_array_foreach(before, i, c) {
		if (check_named(after, hive_json_str(c, "name")))
			continue;
		hive_buf_puts(b, "- check \"");
		put_inline(b, hive_json_str(c, "name"), 64);
		hive_buf_puts(b, "\" removed\n");
	}
}

/* "- runtime command: X (was Y)" for each member that differs. */
static void put_members_change(hive_buf *b, const char *what, const json_t *before, const json_t *after)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)after, k, v) {
		json_t *old = json_object_get(before, k);
		if (old && json_equal(old, v))
			continue;
		hive_buf_printf(b, "- %s %s: ", what, k);
		put_value(b, v);
		hive_buf_puts(b, " (was ");
		put_value(b, old);
		hive_buf_puts(b, ")\n");
	}
	json_object_foreach((json_t *)before, k, v)
		if (!json_object_get(after, k))
			hive_buf_printf(b, "- %s %s: removed\n", what, k);
}

static void put_field_change(hive_buf *b, const char *field, const json_t *ch)
{
	const json_t *before = json_object_get(ch, "before"), *after = json_object_get(ch, "after");
	if (strcmp(field, "checks") == 0) {
		put_checks_change(b, before, after);
	} else if (strcmp(field, "runtime") == 0 || strcmp(field, "retry") == 0) {
		put_members_change(b, strcmp(field, "runtime") == 0 ? "runtime" : "retry policy", before, after);
	} else if (strcmp(field, "description") == 0) {
		hive_buf_puts(b, "- description: rewritten (the task above shows the new one)\n");
	} else {
		hive_buf_printf(b, "- %s: \"", field);
		put_value(b, after);
		hive_buf_puts(b, "\" (was \"");
		put_value(b, before);
		hive_buf_puts(b, "\")\n");
	}
}

/* Edits made since attempt n - 1 started: a person changed the task
 * after that attempt (and before this one). */
static int edit_shown(const json_t *e, int attempt_number)
{
	return json_integer_value(json_object_get(e, "after_attempt")) >= attempt_number - 1;
}

static void put_edit(hive_buf *b, const json_t *e)
{
	put_who(b, e);
	const char *reason = hive_json_str(e, "reason");
	if (reason) {
		hive_buf_puts(b, " (");
		put_inline(b, reason, STEER_FIELD_BYTES);
		hive_buf_putc(b, ')');
	}
	hive_buf_puts(b, ":\n");
	const char *field;
	json_t *ch;
	json_object_foreach(json_object_get(e, "changes"), field, ch)
		put_field_change(b, field, ch);
}

void hive_steer_context_put(hive_buf *b, const json_t *task, int attempt_number)
{
	const json_t *g = json_object_get(task, "guidance");
	if (json_is_object(g) && hive_json_str(g, "note"))
		put_guidance(b, g);
	size_t i, shown = 0;
	json_t *e;
	json_array_foreach(json_object_get(task, "edits"), i, e) {
		if (!edit_shown(e, attempt_number))
			continue;
		if (shown++ == 0)
			hive_buf_printf(b, "\n### Changed by a person since attempt %d\n"
					"These apply to this attempt; earlier attempts ran without them.\n",
					attempt_number - 1);
		put_edit(b, e);
	}
}

void hive_steer_context_json(json_t *payload, const json_t *task, int attempt_number)
{
	const json_t *g = json_object_get(task, "guidance");
	json_object_set_new(payload, "guidance", json_is_object(g) ? json_deep_copy(g) : json_null());
	json_t *list = json_array(), *e;
	size_t i;
	json_array_foreach(json_object_get(task, "edits"), i, e)
		if (edit_shown(e, attempt_number))
			json_array_append(list, e);
	json_object_set_new(payload, "edits", list);
}
