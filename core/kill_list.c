/*
 * kill_list.c - process groups to kill after a commit (see kill_list.h).
 */
#include "core/kill_list.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/proc.h"
#include "events/buf.h"

/* TERM, then KILL after this long (as for a runtime's timeout). */
#define KILL_GRACE_MS 2000

void hive_kill_list_add(hive_kill_list *k, const char *attempt_id)
{
	k->ids = hive_xrealloc(k->ids, (k->n + 1) * sizeof *k->ids);
	snprintf(k->ids[k->n++], sizeof k->ids[0], "%s", attempt_id);
}

int hive_kill_list_run(hive_kill_list *k)
{
	int killed = 0;
	for (size_t i = 0; i < k->n; i++)
		killed += hive_proc_kill_tagged("HIVE_ATTEMPT_ID", k->ids[i], KILL_GRACE_MS);
	k->n = 0;
	return killed;
}

void hive_kill_list_dispose(hive_kill_list *k)
{
	free(k->ids);
	k->ids = NULL;
	k->n = 0;
}
