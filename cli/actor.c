/*
 * actor.c - who a person's command acts for (SPEC section 12): --actor,
 * else $HIVE_ACTOR, else the login name.  Core records it in every event
 * the command appends (core/hive.h) and checks it; the command line only
 * resolves it.
 */
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"

const char *cli_actor(const cli_args *a)
{
	const char *v = cli_str(a, "actor");
	if (v)
		return v; /* even "": core refuses it with a message naming it */
	v = getenv("HIVE_ACTOR");
	if (v && *v)
		return v;
	/* the login name: the account of our uid, else $LOGNAME (a uid with
	 * no passwd entry, as in some containers) */
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name && *pw->pw_name)
		return pw->pw_name;
	v = getenv("LOGNAME");
	return v && *v ? v : NULL;
}
