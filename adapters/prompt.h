/*
 * prompt.h - the two files an attempt is given (SPEC section 6, "Delivery").
 *
 * prompt.md is for a person or a model: the task, its success criteria and,
 * from the second attempt on, the retry context.  input.json holds the same
 * facts for a program.  Both are pure functions of the request, so the same
 * attempt always gets the same bytes (and the same prompt_sha256).
 *
 * The request's task object is read leniently: a missing or null title,
 * description or checks array is left out rather than rejected (core's spec
 * validator has already vetted the task).
 */
#ifndef HIVE_PROMPT_H
#define HIVE_PROMPT_H

#include "core/adapter.h"
#include "events/buf.h"

/* Append prompt.md's text to out:
 *
 *   # Task: <title> (<key>)
 *
 *   <description>
 *
 *   ## Success criteria
 *   - `unit` (required): `make test` must exit 0
 *
 *   <req->context, verbatim, only when it is non-empty>
 *
 * A first attempt (context NULL or "") has no retry section at all; otherwise
 * the text ends exactly with the context. */
void hive_prompt_render(const hive_exec_request *req, hive_buf *out);

/* Append input.json's text to out: {task, attempt_number, max_attempts,
 * context (string or null), prior_attempts (array, [] when NULL),
 * guidance (a person's note {note, actor, time, before_attempt}, or null)}, indented
 * by two spaces with sorted keys, and a final newline. */
void hive_input_render(const hive_exec_request *req, hive_buf *out);

#endif
