/* cmd_backup.c - hive backup PATH. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/hive.h"
#include "events/error.h"

static int cmd_backup(hive_cli *cli, const cli_args *a)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	hive_backup_info info;
	if ((rc = hive_backup_write(s, a->pos[0], &info)))
		return rc;
	if (!cli_json_out(cli, json_pack("{s:s,s:I,s:I}", "path", a->pos[0], "events", (json_int_t)info.events,
					 "bytes", (json_int_t)info.bytes)))
		printf("backed up %llu events (%llu bytes) to %s\n", (unsigned long long)info.events,
		       (unsigned long long)info.bytes, a->pos[0]);
	return 0;
}

const hive_command hive_cmds_backup[] = {
	{
		.group = "backup",
		.args = {"PATH"},
		.min_args = 1,
		.help = "Write a consistent, compacted copy of the event log into PATH, a new or empty directory, while\n"
			"runners go on writing.  PATH then holds data.mdb: hive's whole state.  To restore, use PATH as\n"
			"the data dir (--dir PATH or HIVE_DIR=PATH), or copy PATH/data.mdb into an empty data dir; see\n"
			"docs/reliability.md, \"Backups\".\n",
		.exit = "0 ok, 2 PATH exists and is not an empty directory, 3 no hive data in the data dir, 5 cannot write.",
		.run = cmd_backup,
	},
	{0},
};
