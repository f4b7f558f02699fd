/*
 * steer.h - a person in the loop (SPEC section 12; docs/retry-context.md,
 * "Steering"): who acts, the guidance a person gives the next attempts,
 * `hive task edit` and `hive task accept` (declared in core/hive.h), and
 * what a retry context says about them.
 *
 * Everything a person changes is an event carrying "actor" (core/emit.h):
 *   task_retry_requested {note}     the task's guidance, until replaced
 *   task_edited {changes{field: {before, after}}, after_attempt, reason}
 *   task_accepted {attempt_id, attempt_number, commit, outcome, reason}
 * The projection keeps them on the task document ("guidance", "edits",
 * "accepted": core/projection.h), and the retry context is rendered from
 * that document, so the same events still give the same bytes.
 */
#ifndef HIVE_STEER_H
#define HIVE_STEER_H

#include <jansson.h>

#include "events/buf.h"

/* Longest actor name and note (bytes).  A note sits at the top of every
 * later retry context, inside its byte budget (16 KiB by default). */
#define HIVE_ACTOR_MAX_BYTES 64
#define HIVE_NOTE_MAX_BYTES 4096

/*
 * An actor: NULL (none recorded) or 1..HIVE_ACTOR_MAX_BYTES bytes of UTF-8
 * without control characters.  Errors: HIVE_EINVALID naming the actor and
 * what to do ("actor \"a\tb\": use 1 to 64 printable characters").
 */
int hive_steer_actor_check(const char *actor);

/*
 * hive_steer_actor_check, then hive_emit_actor_begin(actor) when it passes:
 * the events the calling thread appends carry the actor until
 * hive_emit_actor_end(), which the caller calls in any case.
 */
int hive_steer_actor_begin(const char *actor);

/* hive_steer_note_check (a note's rules) is declared in core/hive.h:
 * front ends call it to name the input in the message. */

/*
 * The retry context's sections about people, for attempt attempt_number
 * of task (its projection document, borrowed): "### Guidance from a
 * person" (the task's guidance, whenever it has one) and "### Changed by a
 * person" (the edits made since attempt attempt_number - 1 started).
 * Appends nothing when there is neither.  Pure: same document, same bytes.
 */
void hive_steer_context_put(hive_buf *b, const json_t *task, int attempt_number);

/*
 * The same facts for the retry_context_assembled payload (borrowed, gets
 * new members): "guidance" ({note, actor, time, before_attempt} or null)
 * and "edits" (the task_edited payloads shown, [] when none).
 */
void hive_steer_context_json(json_t *payload, const json_t *task, int attempt_number);

#endif
