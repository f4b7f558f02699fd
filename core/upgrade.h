/*
 * upgrade.h - opening a store written by an older hive.
 *
 * The store (events/store.h) knows its schema version and rebuilds its own
 * indexes; what core derives from the log — the projections — is rebuilt
 * here, by the same replay `events verify` uses (hive_projection_rebuild).
 * Front ends open the store with options from hive_upgrade_opts_init().
 */
#ifndef HIVE_UPGRADE_H
#define HIVE_UPGRADE_H

#include "events/store.h"

/* HIVE_STORE_OPTS_INIT with the upgrade filled in (rebuild =
 * hive_upgrade_rebuild); the caller sets durability and the rest. */
void hive_upgrade_opts_init(hive_store_opts *o);

/* hive_store_opts.rebuild: replace every projection by a replay of the log
 * (write txn).  Events the replay refuses are skipped: `events verify`
 * names them afterwards.  Errors: HIVE_ESYSTEM (storage). */
int hive_upgrade_rebuild(hive_txn *txn, void *ctx);

#endif
