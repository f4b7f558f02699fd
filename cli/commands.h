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

#endif
