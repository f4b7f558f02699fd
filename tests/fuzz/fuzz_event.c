/*
 * fuzz_event.c - the event decoder (hive_event_decode), fed what a
 * corrupted or hand-edited store could hold.
 *
 * Properties: a rejected record gets one error line and leaves no payload
 * behind; an accepted one has every envelope field its catalog entry
 * requires, and encode -> decode -> encode is a fixed point (the log's
 * bytes never drift when hive rewrites what it read); and whatever the
 * decoder accepts (its hand-read fast path included) is one JSON object
 * whose payload is the one decoded, nested no deeper than
 * HIVE_EVENT_MAX_DEPTH (both paths refuse deeper ones alike); and the
 * encoder writes the payload exactly as jansson's dump does (its own
 * writer for the common values, jansson for the rest).
 */
#include <string.h>

#include "events/error.h"
#include "events/event.h"
#include "tests/fuzz/check_text.h"
#include "tests/fuzz/fuzz.h"

/* The encoded payload (the text after "payload": up to the envelope's
 * closing brace) is jansson's own compact dump of it. */
static void check_payload_bytes(const hive_event *ev, const char *text)
{
	char *want = json_dumps(ev->payload, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	fuzz_require(want != NULL);
	size_t tl = strlen(text), wl = strlen(want);
	fuzz_require(tl > wl + 12 && memcmp(text + tl - 1 - wl - 11, ",\"payload\":", 11) == 0);
	fuzz_require(memcmp(text + tl - 1 - wl, want, wl) == 0 && text[tl - 1] == '}');
	free(want);
}

static void check_round_trip(const hive_event *ev)
{
	char *once = hive_event_encode(ev);
	check_payload_bytes(ev, once);
	hive_event again;
	fuzz_require(hive_event_decode(once, strlen(once), &again) == 0);
	fuzz_require(again.seq == ev->seq && again.type == ev->type);
	fuzz_require(strcmp(again.type_name, ev->type_name) == 0);
	char *twice = hive_event_encode(&again);
	fuzz_require(strcmp(once, twice) == 0);
	free(twice);
	free(once);
	hive_event_dispose(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hive_event ev;
	if (hive_event_decode((const char *)data, size, &ev) != 0) {
		fuzz_require(ev.payload == NULL);
		fuzz_require_msg(fuzz_one_line(hive_error_last()), hive_error_last());
		return 0;
	}
	fuzz_require(ev.seq >= 1 && ev.id.s[0] && ev.time[0] && ev.type_name[0]);
	fuzz_require(json_is_object(ev.payload));
	fuzz_require(hive_event_payload_depth_ok(ev.payload));
	json_t *full = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	fuzz_require(json_is_object(full) && json_equal(json_object_get(full, "payload"), ev.payload));
	fuzz_require(json_integer_value(json_object_get(full, "seq")) == (json_int_t)ev.seq);
	fuzz_require(strcmp(json_string_value(json_object_get(full, "id")), ev.id.s) == 0);
	json_decref(full);
	const hive_event_kind *k = hive_event_kind_of(ev.type);
	fuzz_require(ev.type == HIVE_EV_UNKNOWN ? k == NULL : k != NULL);
	if (k) {
		fuzz_require(!(k->required & HIVE_CORR_PROJECT) || ev.project_id[0]);
		fuzz_require(!(k->required & HIVE_CORR_FLOW) || ev.flow_id[0]);
		fuzz_require(!(k->required & HIVE_CORR_TASK) || ev.task_id[0]);
		fuzz_require(!(k->required & HIVE_CORR_ATTEMPT) || ev.attempt_id[0]);
	}
	check_round_trip(&ev);
	hive_event_dispose(&ev);
	return 0;
}
