/* commands.h - every command group's table (one per cli/cmd_*.c), each
 * ending with an entry whose group is NULL. */
#ifndef HIVE_COMMANDS_H
#define HIVE_COMMANDS_H

#include "cli/cli.h"

extern const hive_command hive_cmds_project[];
extern const hive_command hive_cmds_task[];
extern const hive_command hive_cmds_flow[];
extern const hive_command hive_cmds_attempt[];
extern const hive_command hive_cmds_events[];
extern const hive_command hive_cmds_demo[];
extern const hive_command hive_cmds_backup[];
extern const hive_command hive_cmds_gc[];
extern const hive_command hive_cmds_serve[];
extern const hive_command hive_cmds_help[];

#define HIVE_VERSION "0.1.0"

/* Every group's table in order, NULL-terminated (main.c). */
const hive_command *const *cli_groups(void);
/* `hive --help`: every command's usage, the global flags, exit codes (main.c). */
void cli_usage_all(FILE *out);
/* `hive GROUP --help`: the group's usage lines (main.c). */
void cli_group_help(const char *group);
/* `hive __complete -- WORD...`: the candidates for the last word, one per
 * line (cmd_help.c).  Always 0: completion never reports an error. */
int cli_complete(hive_cli *cli, int argc, char **argv);

#endif
