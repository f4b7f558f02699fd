#!/bin/bash
# Generate one man page per command group, as git does (hive-flow(1),
# hive-task(1), ..., hive-gc(1)), from the command table through the
# binary's own --help texts: the same source as docs/cli.md, so the pages
# cannot drift from the binary.  hive(1) itself is docs/hive.1 (written by
# hand; its COMMANDS section names these pages, checked by test_install.sh).
#   tests/tools/gen_man.sh ./hive OUTDIR
set -euo pipefail
HIVE=$1
OUT=$2
mkdir -p "$OUT"
VERSION=$("$HIVE" --version | sed 's/^hive //')
DATE=$(git -C "$(dirname "$0")" log -1 --format=%cs 2>/dev/null || date -u +%F)

# roff-safe text: backslashes doubled, a leading . or ' escaped, - as \-.
esc() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/' -e 's/-/\\-/g'; }

summary() {
	case $1 in
	project) echo "create, list and show projects (a name for a git repository)" ;;
	task) echo "create, list, show, retry and abort tasks" ;;
	flow) echo "create, start, run and watch flows of tasks" ;;
	attempt) echo "list and inspect task attempts: retry context, diff, output" ;;
	events) echo "list, stream and verify the event log" ;;
	demo) echo "hive's main job on a throwaway repository" ;;
	backup) echo "a consistent copy of the store" ;;
	gc) echo "remove what ended flows left behind" ;;
	serve) echo "the HTTP API, event stream and web timeline on loopback" ;;
	help) echo "help for a command" ;;
	version) echo "print hive's version" ;;
	completion) echo "shell completion scripts" ;;
	*) echo "hive $1 commands" ;;
	esac
}

# One command's --help text as a subsection: the usage line, the text,
# the options as a tagged list, the exit codes.
command_section() {
	local words=$1
	# shellcheck disable=SC2086
	"$HIVE" $words --help </dev/null | awk -v words="$words" '
	function esc(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); if (s ~ /^[.\x27]/) s = "\\&" s; return s }
	NR == 1 { sub(/^usage: /, ""); print ".SS hive " esc(words); print ".B " esc($0); print ".PP"; next }
	/^Options:$/ { opts = 1; next }
	/^Exit: / { sub(/^Exit: /, ""); print ".PP"; print "Exit status: " esc($0); opts = 0; next }
	opts && /^  --/ {
		line = substr($0, 3); i = index(line, "  ")
		print ".TP"; print ".B " esc(substr(line, 1, i - 1))
		h = substr(line, i); sub(/^ +/, "", h); print esc(h); next
	}
	/^  / { print ".nf"; print esc($0); print ".fi"; next }
	/^$/ { next }
	{ print esc($0) }'
}

groups=$("$HIVE" __commands | awk '{print $1}' | awk '!seen[$0]++')
for g in $groups; do
	page="$OUT/hive-$g.1"
	{
		echo ".TH HIVE\\-$(echo "$g" | tr a-z A-Z) 1 \"$DATE\" \"hive $VERSION\" \"User Commands\""
		echo ".SH NAME"
		echo "hive\\-$g \\- $(summary "$g" | esc)"
		echo ".SH SYNOPSIS"
		echo ".nf"
		while IFS= read -r words; do
			[ "${words%% *}" = "$g" ] || continue
			# shellcheck disable=SC2086
			"$HIVE" $words --help </dev/null | head -1 | sed 's/^usage: //' | esc
		done < <("$HIVE" __commands)
		echo ".fi"
		echo ".SH DESCRIPTION"
		while IFS= read -r words; do
			[ "${words%% *}" = "$g" ] || continue
			command_section "$words"
		done < <("$HIVE" __commands)
		echo ".SH SEE ALSO"
		echo ".BR hive (1);"
		echo "the global flags and exit codes are in hive(1); every command is in"
		echo "docs/cli.md, installed under share/doc/hive with the other documents."
	} >"$page"
done
