/*
 * resolve.h - turning what a user typed into an id (SPEC section 1).
 *
 * A reference is a full id, a unique id prefix of at least 4 characters,
 * a project or flow name, or a task key ("flow-name/task-key", or a bare
 * key when it is unique).  Errors: HIVE_ENOTFOUND ("no flow matches
 * \"abcd\""), HIVE_EAMBIGUOUS (the message lists the candidates),
 * HIVE_EINVALID (a prefix shorter than 4 characters).
 */
#ifndef HIVE_RESOLVE_H
#define HIVE_RESOLVE_H

#include "events/store.h"

typedef enum { HIVE_REF_PROJECT, HIVE_REF_FLOW, HIVE_REF_TASK, HIVE_REF_ATTEMPT } hive_ref_kind;

const char *hive_ref_kind_name(hive_ref_kind kind);
int hive_resolve(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out);

#endif
