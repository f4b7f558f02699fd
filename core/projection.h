/*
 * projection.h - current state, derived from events.
 *
 * Projections are JSON documents under string keys:
 *   project/<id>  flow/<id>  task/<id>  attempt/<id>
 *   circuit/<flow-id>/<adapter>
 *   name/project/<name>, name/flow/<name>    -> {"id": ...}
 *   taskkey/<key>/<task-id>                  -> {} (bare-key lookup)
 * hive_apply() is the only code that changes them.  It is a pure function
 * of the event (it never reads the clock), so applying the whole log to an
 * empty store reproduces the stored projections exactly; `events verify`
 * does that in memory and compares.
 *
 * hive_apply() also enforces the state machine: an event that would make
 * an illegal transition is refused (HIVE_ECONFLICT, the message names the
 * event, the task and both states) and nothing is applied.
 */
#ifndef HIVE_PROJECTION_H
#define HIVE_PROJECTION_H

#include <jansson.h>

#include "events/event.h"
#include "events/store.h"

/* Where projections live: an LMDB write transaction, or memory. */
typedef struct hive_kv hive_kv;
struct hive_kv {
	json_t *(*get)(hive_kv *kv, const char *key);              /* new reference or NULL */
	int (*put)(hive_kv *kv, const char *key, json_t *val);     /* val borrowed */
	int (*del)(hive_kv *kv, const char *key);
	void *impl;
};

/* A kv over a store transaction (read-only use is fine with a read txn). */
void hive_kv_txn(hive_kv *kv, hive_txn *txn);
/* A kv over a JSON object mapping key -> document (borrowed). */
void hive_kv_memory(hive_kv *kv, json_t *object);

/* Apply one event.  Unknown types are ignored (kept in the log only). */
int hive_apply(hive_kv *kv, const hive_event *ev);

/* Append ev to the log and apply it in the same transaction. */
int hive_emit(hive_txn *txn, hive_event *ev);

/* Read a projection document: new reference, or NULL when absent. */
json_t *hive_proj_get(hive_txn *txn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rebuild every projection from the log in memory and compare with the
 * stored ones; each difference is reported (one line) and counted. */
int hive_projection_verify(hive_txn *txn, void (*report)(const char *msg, void *ctx), void *ctx,
			   uint64_t *problems);

#endif
