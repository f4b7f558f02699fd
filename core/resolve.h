/*
 * resolve.h - turning what a user typed into an id (SPEC section 1).
 *
 * A reference is a full id, a unique id prefix of at least 4 characters,
 * a project or flow name, or a task key ("flow-name/task-key", or a bare
 * key when it is unique).  Names are not ids (SPEC section 12): an exact
 * id resolves first, and names that could be read as ids are refused when
 * they are created (hive_resolve_name_check).  Errors: HIVE_ENOTFOUND ("no flow matches
 * \"abcd\""), HIVE_EAMBIGUOUS (the message lists the candidates),
 * HIVE_EINVALID (a prefix shorter than 4 characters).
 */
#ifndef HIVE_RESOLVE_H
#define HIVE_RESOLVE_H

#include "events/store.h"

typedef enum { HIVE_REF_PROJECT, HIVE_REF_FLOW, HIVE_REF_TASK, HIVE_REF_ATTEMPT } hive_ref_kind;

const char *hive_ref_kind_name(hive_ref_kind kind);
/* In this order: an exact full id; a project or flow name; a task as
 * FLOW/KEY or a bare key; a unique id prefix of at least 4 characters. */
int hive_resolve(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out);

/* An attempt may also be named "TASK#N" (FLOW/KEY#N, KEY#N, TASK-ID#N):
 * the task's attempt numbered N. */

/* The shortest prefix of id (at least 13 characters) that no other stored
 * object of kind shares, into out (HIVE_ID_LEN + 1 bytes); id itself when
 * it is not a valid id. */
void hive_resolve_display(hive_txn *txn, hive_ref_kind kind, const char *id, char *out);

/* Names are not ids (SPEC section 12): a project or flow name or a task key
 * of 4 or more characters made only of hex digits and '-' could be read as
 * an id or an id prefix, so creating one is refused.  0, or HIVE_EINVALID
 * with "<where> \"<name>\" could be taken for an id ..." (where NULL →
 * "name").  Only for names being created: references to existing objects
 * (which may come from an older store) are not checked. */
int hive_resolve_name_check(const char *name, const char *where);

#endif
