/*
 * outcome.c - outcome names (SPEC section 3).  See outcome.h.
 */
#include "core/outcome.h"

#include <string.h>

static const char *const outcome_names[HIVE_OUTCOME__COUNT] = {
	"success", "check_failed", "runtime_failed", "timeout",
	"crashed", "runtime_unavailable", "aborted", "interrupted",
};

const char *hive_outcome_name(hive_outcome o)
{
	if ((unsigned)o >= HIVE_OUTCOME__COUNT)
		return "unknown";
	return outcome_names[o];
}

int hive_outcome_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < HIVE_OUTCOME__COUNT; i++)
		if (strcmp(name, outcome_names[i]) == 0)
			return i;
	return -1;
}
