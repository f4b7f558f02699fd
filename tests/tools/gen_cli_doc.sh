#!/bin/bash
# Regenerate docs/cli.md from the command table (cli/cmd_*.c) through the
# binary's own --help texts, so the doc and the binary cannot drift apart.
#   tests/tools/gen_cli_doc.sh ./hive [OUT]      (OUT defaults to docs/cli.md)
# `make test` runs it into a temp file and fails when docs/cli.md differs.
set -euo pipefail
HIVE=${1:-./hive}
OUT_FILE=${2:-docs/cli.md}
{
cat <<'HEAD'
# Command line

Generated from the command table (cli/cmd_*.c) by `tests/tools/gen_cli_doc.sh`;
edit the table entry, then run `make cli-doc`.  `make test` fails when this
file differs from what the binary generates.

## Global flags and conventions

HEAD
echo '```'
"$HIVE" --help
echo '```'
cat <<'MID'

- Global flags (`--json`, `--dir`, `--color`, `--help`, `--version`) are
  taken wherever a flag may stand (before, between or after the command
  words), never as another flag's value: `--reason --json` records
  "--json".  `--` ends flags: what follows is positional.
- References: a full id, a unique id prefix of at least 4 characters, a
  project or flow name, or a task key (`flow-name/task-key`, or a bare key
  when it is unique).  An attempt is also `FLOW/TASK#N` (or `TASK#N`): the
  task's attempt number N, whatever flow it ran in; a flow name means the
  flow holding it now.  Lists and messages show an id as its shortest
  prefix of at least 13 characters that no other id of its kind shares
  (UUIDv7 ids made in the same millisecond share their first 13), so a
  printed prefix can be typed back; `task show` and `attempt inspect`
  print the whole id, and `--json` keeps full ids.  An ambiguous prefix is
  exit 3 and the message lists the candidates.  Names are not ids: an
  exact id resolves before any name, and a project or flow name or a task
  key of 4 or more characters made only of hex digits and `-` is refused
  when it is created (exit 2).
- With `--json`, every command prints one JSON document whose first member
  is `"schema": 2`; lists are summaries (the whole document comes from
  `show`/`inspect`/`status`).  `events list` and `events stream` print
  NDJSON, each event byte for byte as stored.  Stable fields: docs/json.md.
  Errors go to stderr as one line `hive: <message>`, or with `--json`
  `{"schema": 2, "error": {"code": "...", "message": "..."}}`.
- Colour: `--color always|never` decides; with `auto` (the default) there
  is none with `NO_COLOR` set, always with `CLICOLOR_FORCE` set (not `0`),
  none with `TERM=dumb`, else only on a terminal; never with `--json`.
- `HIVE_DIR=` (set but empty) counts as unset.
- Exit codes: 0 success · 1 the work failed (a flow ended failed; a tick in
  which an attempt failed, even if a retry was scheduled; `flow run` stopped
  by a signal) · 2 usage or invalid input · 3 not found or ambiguous ·
  4 conflict or illegal state (wrong state, retry limit, flow locked, newer
  schema) · 5 storage or system error (and `events verify` problems).

## Commands
MID
# every command in the table, in its order (`hive __commands` is not in the usage)
while IFS= read -r cmd; do
	echo
	echo "### hive $cmd"
	echo
	echo '```'
	# shellcheck disable=SC2086
	"$HIVE" $cmd --help </dev/null
	echo '```'
done < <("$HIVE" __commands)
} > "$OUT_FILE"
