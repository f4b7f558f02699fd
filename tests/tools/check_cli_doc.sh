#!/bin/bash
# Fail (exit 1, printing the difference) when DOC is not what the binary's
# command table generates.   tests/tools/check_cli_doc.sh HIVE [DOC]
set -euo pipefail
HIVE=$1
DOC=${2:-docs/cli.md}
tmp=$(mktemp "${TMPDIR:-/tmp}/hive-cli-doc-XXXXXX")
trap 'rm -f "$tmp"' EXIT
bash "$(dirname "$0")/gen_cli_doc.sh" "$HIVE" "$tmp"
if ! diff -u "$DOC" "$tmp"; then
	echo "$DOC differs from the command table (cli/cmd_*.c): run make cli-doc and commit it" >&2
	exit 1
fi
