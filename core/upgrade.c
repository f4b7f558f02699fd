/*
 * upgrade.c - opening a store written by an older hive (see upgrade.h).
 */
#include "core/upgrade.h"

#include "core/projection.h"

void hive_upgrade_opts_init(hive_store_opts *o)
{
	*o = (hive_store_opts)HIVE_STORE_OPTS_INIT;
	o->rebuild = hive_upgrade_rebuild;
}

int hive_upgrade_rebuild(hive_txn *txn, void *ctx)
{
	(void)ctx;
	uint64_t refused = 0;
	return hive_projection_rebuild(txn, &refused);
}
