/* cmd_gc.c - hive gc: remove what ended flows left (core/hive.h hive_gc,
 * docs/lifecycle.md). */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "events/buf.h"

/* "1.5 MB" style, base 1024. */
static void human_bytes(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%" PRIu64 " bytes", n);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

static int cmd_gc(hive_cli *cli, const cli_args *a)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	hive_gc_result r;
	rc = hive_gc(s, cli_flag(a, "branches"), &(hive_act_opts){.actor = cli_actor(a)}, &r);
	json_t *skipped = json_array();
	for (size_t i = 0; r.skipped && r.skipped[i]; i++)
		json_array_append_new(skipped, json_string(r.skipped[i]));
	if (cli_json_out(cli, json_pack("{s:i,s:i,s:i,s:i,s:i,s:I,s:o}", "schema", 2, "flows", r.flows, "worktrees",
					 r.worktrees, "attempt_dirs", r.attempt_dirs, "branches", r.branches,
					 "bytes_freed", (json_int_t)r.bytes, "skipped", skipped))) {
		hive_gc_result_dispose(&r);
		return rc;
	}
	char size[32];
	human_bytes(r.bytes, size, sizeof size);
	hive_buf b = {0};
	for (size_t i = 0; r.skipped && r.skipped[i]; i++)
		hive_buf_printf(&b, "%s\n", r.skipped[i]);
	hive_gc_result_dispose(&r);
	hive_buf_printf(&b, "freed %s: %d worktree%s, %d attempt dir%s", size, r.worktrees, r.worktrees == 1 ? "" : "s",
			r.attempt_dirs, r.attempt_dirs == 1 ? "" : "s");
	if (cli_flag(a, "branches"))
		hive_buf_printf(&b, ", %d branch%s", r.branches, r.branches == 1 ? "" : "es");
	hive_buf_printf(&b, " of %d ended flow%s\n", r.flows, r.flows == 1 ? "" : "s");
	cli_write(b.data, b.len);
	hive_buf_dispose(&b);
	return rc;
}

const hive_command hive_cmds_gc[] = {
	{
		.group = "gc",
		.opts = {{.name = "branches", .kind = CLI_FLAG,
			  .help = "also delete the ended flows' result branches hive/<flow>/*"},
			 CLI_ACTOR_OPT},
		.help = "Remove what ended (completed or aborted) flows left: their remaining worktrees and their\n"
			"attempts' directories (the runtime's exchange files; the log keeps every output), and with\n"
			"--branches their result branches still where hive left them (the flow's name can then be\n"
			"reused; one someone committed on is kept and listed).  Failed, paused and running flows are\n"
			"never touched.  Prints how much disk it freed; each removal is an event.\n",
		.exit = "0 ok; 3, 4 or 5 when something could not be removed (the message names it; the rest was removed).",
		.run = cmd_gc,
	},
	{0},
};
