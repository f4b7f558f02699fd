#!/bin/bash
# test_install.sh - what `make install` puts on a machine (issue 11): the
# binary, hive(1) and a man page per command group generated from the
# command table, the docs, and completion scripts that complete commands,
# options and flow names by asking hive; `hive help`, `hive version`,
# -v/-V/--version.
#
#   HIVE_BIN=/abs/path/to/hive bash tests/cli/test_install.sh
source "$(dirname "$0")/lib.sh"

# install_into DIR: make install-files of the binary under test, PREFIX=/usr.
install_into() {
	make --no-print-directory -C "$REPO_DIR" install-files BIN="$HIVE_BIN" BUILD="$T/build" \
		PREFIX=/usr DESTDIR="$1" >"$T/install.log" 2>&1 || fail "make install-files failed: $(tail -5 "$T/install.log")"
}

# the command groups, from the binary's own table
groups_of() { "$HIVE_BIN" __commands | awk '{print $1}' | awk '!seen[$0]++'; }

test_install_puts_binary_man_pages_docs_and_completions() {
	install_into "$T/dest"
	local u=$T/dest/usr
	[ -x "$u/bin/hive" ] || fail "no bin/hive"
	assert_eq "$("$u/bin/hive" --version)" "$("$HIVE_BIN" --version)" "installed version"
	[ -f "$u/share/man/man1/hive.1" ] || fail "no hive.1"
	local g n=0
	for g in $(groups_of); do
		n=$((n + 1))
		[ -f "$u/share/man/man1/hive-$g.1" ] || fail "no man page hive-$g.1 for command group $g"
		# every command of the group is in its page
		while read -r words; do
			[ "${words%% *}" = "$g" ] || continue
			grep -q "^\.SS hive $(echo "$words" | sed 's/-/\\\\-/g')\$" "$u/share/man/man1/hive-$g.1" ||
				fail "hive-$g.1 lacks a section for hive $words"
		done < <("$HIVE_BIN" __commands)
		# hive(1) names the page (COMMANDS or SEE ALSO)
		grep -q "hive\\\\-$g (1)\|hive\\\\-$g\b" "$u/share/man/man1/hive.1" || fail "hive.1 does not name hive-$g(1)"
	done
	[ "$n" -ge 8 ] || fail "only $n command groups"
	for f in "$u"/share/man/man1/*.1; do
		groff -man -ww -z "$f" 2>"$T/groff.err" || fail "groff failed on $f"
		assert_empty "$T/groff.err"
	done
	for d in README.md cli.md spec.md lifecycle.md retry-context.md events.md; do
		[ -f "$u/share/doc/hive/$d" ] || fail "doc $d not installed"
	done
	# the installed docs point at each other, never at a contract that does not ship
	! grep -n "SPEC section\|SPEC sections\|SPEC [0-9]" "$u"/share/doc/hive/*.md "$u"/share/man/man1/*.1 ||
		fail "an installed doc cites the SPEC, which is not installed"
	cmp -s "$u/share/bash-completion/completions/hive" <("$HIVE_BIN" completion bash) || fail "bash completion differs"
	cmp -s "$u/share/zsh/site-functions/_hive" <("$HIVE_BIN" completion zsh) || fail "zsh completion differs"
	cmp -s "$u/share/fish/vendor_completions.d/hive.fish" <("$HIVE_BIN" completion fish) || fail "fish completion differs"
}

# A flow "login-fix" in project "webapp", created (not started).
one_flow() {
	sandbox
	echo x >"$R/f.txt"
	mkrepo
	cat >"$S/flow.json" <<'JSON'
{"name": "login-fix", "project": {"name": "webapp", "repo": "repo"},
 "defaults": {"runtime": {"adapter": "exec", "command": ["true"]}},
 "tasks": [{"key": "fix", "title": "Fix"}, {"key": "docs", "title": "Docs", "depends_on": ["fix"]}]}
JSON
	expect_exit 0 flow create --file "$S/flow.json"
}

# complete WORD...: load the bash script as a user would and ask _hive for
# the last word, COMP_WORDS/COMP_CWORD driven; the candidates on stdout.
complete_bash() {
	local words
	words=$(printf '%q ' "$@")
	PATH=$(dirname "$HIVE_BIN"):$PATH bash -c "source <(\"$HIVE_BIN\" completion bash)
		COMP_WORDS=($words); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
		COMP_WORDS[0]=\"$HIVE_BIN\"
		_hive; [ \${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' \"\${COMPREPLY[@]}\""
}

test_bash_completion_completes_commands_options_and_flow_names() {
	one_flow
	complete_bash hive fl >"$T/c1"
	assert_eq "$(cat "$T/c1")" "flow" "hive fl<TAB>"
	complete_bash hive flow ru >"$T/c2"
	assert_eq "$(cat "$T/c2")" "run" "hive flow ru<TAB>"
	complete_bash hive flow run "" >"$T/c3"
	assert_eq "$(cat "$T/c3")" "login-fix" "hive flow run <TAB> (a flow name from the store)"
	complete_bash hive flow status log >"$T/c4"
	assert_eq "$(cat "$T/c4")" "login-fix" "hive flow status log<TAB>"
	complete_bash hive flow run login-fix --max >"$T/c5"
	assert_eq "$(cat "$T/c5")" "--max-parallel" "an option of flow run"
	complete_bash hive attempt list --flow "" >"$T/c6"
	assert_eq "$(cat "$T/c6")" "login-fix" "the value of --flow"
	complete_bash hive task show "" >"$T/c7"
	assert_contains "$T/c7" "login-fix/fix"
	assert_contains "$T/c7" "login-fix/docs"
	complete_bash hive project show "" >"$T/c8"
	assert_eq "$(cat "$T/c8")" "webapp" "a project name"
	complete_bash hive help flow st >"$T/c9"
	assert_eq "$(sort "$T/c9" | tr '\n' ' ')" "start status " "hive help flow st<TAB>"
	# --dir on the line names the store to read the names from
	mv "$HIVE_DIR" "$T/elsewhere"
	mkdir "$T/empty" && cd "$T/empty" # no candidates: the shell offers files, none here
	complete_bash hive flow run "" >"$T/c10"
	assert_empty "$T/c10" # no store: no names, no error, nothing created
	[ ! -e "$HIVE_DIR" ] || fail "completion created the data dir $HIVE_DIR"
	complete_bash hive --dir "$T/elsewhere" flow run "" >"$T/c11"
	assert_eq "$(cat "$T/c11")" "login-fix" "names from --dir"
}

test_zsh_and_fish_scripts_parse() {
	"$HIVE_BIN" completion zsh >"$T/_hive"
	"$HIVE_BIN" completion fish >"$T/hive.fish"
	if command -v zsh >/dev/null; then
		zsh -n "$T/_hive" 2>"$T/zsh.err" || fail "zsh -n: $(cat "$T/zsh.err")"
	else
		echo "    NOTE: zsh is not installed, its completion script was not syntax-checked (.ci/run installs zsh)" >&2
	fi
	if command -v fish >/dev/null; then
		fish --no-execute "$T/hive.fish" 2>"$T/fish.err" || fail "fish --no-execute: $(cat "$T/fish.err")"
	else
		echo "    NOTE: fish is not installed, its completion script was not syntax-checked (.ci/run installs fish)" >&2
	fi
	expect_exit 2 completion tcsh
	assert_contains "$ERR" "bash, zsh or fish"
}

test_zsh_completion_offers_flow_names() {
	command -v zsh >/dev/null || {
		echo "    NOTE: zsh is not installed, zsh completion not exercised (.ci/run installs zsh)" >&2
		return 0
	}
	one_flow
	# compadd is a builtin only inside completion widgets: stand in for it
	# and for _files, and call _hive with the words of "hive flow run <TAB>"
	"$HIVE_BIN" completion zsh >"$T/_hive"
	zsh -fc "compadd() { [[ \$1 == -Q ]] && shift; [[ \$1 == -a ]] && print -l -- \${(P)2}; }
		_files() { print FILES; }
		compdef() { :; }
		source $T/_hive
		words=(\"$HIVE_BIN\" flow run ''); CURRENT=4; _hive" >"$T/z1" 2>"$T/z1.err"
	assert_eq "$(cat "$T/z1")" "login-fix" "zsh: hive flow run <TAB>"
}

test_fish_completion_offers_commands_and_flow_names() {
	command -v fish >/dev/null || {
		echo "    NOTE: fish is not installed, fish completion not exercised (.ci/run installs fish)" >&2
		return 0
	}
	one_flow
	mkdir -p "$T/bin" "$T/empty" && ln -s "$HIVE_BIN" "$T/bin/hive" && cd "$T/empty"
	PATH=$T/bin:$PATH fish -c 'hive completion fish | source
		complete -C "hive fl"; complete -C "hive flow ru"; complete -C "hive flow status "' >"$T/f1" 2>"$T/f1.err"
	assert_eq "$(cat "$T/f1")" "flow
run
login-fix" "fish: hive fl<TAB>, hive flow ru<TAB>, hive flow status <TAB>"
}

test_help_and_version() {
	expect_exit 0 help flow run
	"$HIVE_BIN" flow run --help >"$T/h"
	cmp -s "$OUT" "$T/h" || fail "hive help flow run differs from hive flow run --help"
	expect_exit 0 help flow
	assert_contains "$OUT" "hive flow status FLOW"
	expect_exit 0 help
	assert_contains "$OUT" "hive help [GROUP] [COMMAND]"
	expect_exit 3 help flow fly
	assert_contains "$ERR" 'no command "flow fly"'
	local v
	v=$("$HIVE_BIN" --version)
	case $v in "hive "[0-9]*) ;; *) fail "--version printed $v" ;; esac
	for f in -v -V version; do
		expect_exit 0 $f
		assert_eq "$(cat "$OUT")" "$v" "hive $f"
	done
	expect_exit 0 version --json
	assert_contains "$OUT" '"version"'
	# no help text cites a section of a contract that does not ship
	while read -r words; do
		# shellcheck disable=SC2086
		"$HIVE_BIN" $words --help >"$T/h"
		! grep -n "SPEC section\|SPEC [0-9]" "$T/h" || fail "hive $words --help cites the SPEC"
	done < <("$HIVE_BIN" __commands)
	"$HIVE_BIN" --help >"$T/h"
	! grep -n "SPEC section\|SPEC [0-9]" "$T/h" || fail "hive --help cites the SPEC"
}

run_tests "$@"
