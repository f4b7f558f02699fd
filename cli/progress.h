/*
 * progress.h - what `hive flow run` / `flow tick` show while they work.
 *
 * Two forms of the same facts, taken from the runner's notes
 * (hive_run_opts.on_note) and the library's queries, never from the store:
 *  - plain lines (not a terminal, or --json off a terminal): one line per
 *    attempt started and ended, the failing check named in each "ended"
 *    line, what a wait is for and how long ("waiting: retry of fix in 3s");
 *  - live (stdout is a terminal): the same lines scroll, and below them a
 *    status block redrawn every half second: each running attempt with its
 *    current step (runtime, check NAME) and elapsed time, and the wait
 *    counting down.
 * Both end with a summary: the flow's state, its tasks by state, attempts
 * started and failed, the time taken.
 */
#ifndef HIVE_CLI_PROGRESS_H
#define HIVE_CLI_PROGRESS_H

#include "cli/cli.h"

typedef struct cli_progress cli_progress;

/* A display for flow flow_ref over store s (both borrowed, must outlive
 * it); live when stdout is a terminal.  Set o->progress, o->on_note and
 * o->progress_ctx.  With --json nothing is printed (the caller prints its
 * document).  Release with cli_progress_free. */
cli_progress *cli_progress_new(hive_cli *cli, hive_store *s, const char *flow_ref, hive_run_opts *o);

/* Stop the live block (erased) and print the summary of r, unless rc is an
 * error other than HIVE_EFAILED (nothing ran to summarise). */
void cli_progress_finish(cli_progress *p, const hive_run_result *r, int rc);

void cli_progress_free(cli_progress *p);

#endif
