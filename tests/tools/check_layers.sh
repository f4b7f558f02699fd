#!/bin/bash
# check_layers.sh - the architecture rules of docs/architecture.md, checked:
#   1. dependencies point one way: cli -> adapters -> core -> events;
#   2. cli/ includes only the library API (core/hive.h), the adapter
#      registry it passes in, and small bottom-layer helpers - never the
#      store, projection, resolve, spec, schedule or state internals;
#      serve/ (`hive serve`, a front end beside cli/) likewise, plus the
#      embedded page's table (web/web.h); cli/ reaches it via serve/serve.h;
#   3. every header is named after the file that implements it (X.h has an
#      X.c), except the few listed below with the reason.
# Exit 1 with one line per violation.
set -u
cd "$(dirname "$0")/../.."
bad=0
violation() { echo "layers: $*"; bad=1; }

# web/ holds only the embedded page (data, no includes): the bottom.
rank() { case "$1" in events | web) echo 0 ;; core) echo 1 ;; adapters) echo 2 ;; cli | serve) echo 3 ;; *) echo 9 ;; esac; }

for f in events/*.[ch] core/*.[ch] adapters/*.[ch] cli/*.[ch] serve/*.[ch]; do
	layer=${f%%/*}
	while IFS= read -r inc; do
		dep=${inc%%/*}
		[ "$(rank "$dep")" -le "$(rank "$layer")" ] ||
			violation "$f includes $inc (a higher layer: $layer must not depend on $dep)"
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

# What cli/ may include besides its own files.
cli_allowed=" core/hive.h core/duration.h adapters/registry.h events/error.h events/buf.h events/json.h events/text.h events/utf8.h web/web.h serve/serve.h "
for f in cli/*.[ch]; do
	while IFS= read -r inc; do
		case "$inc" in cli/*) continue ;; esac
		case "$cli_allowed" in *" $inc "*) ;; *) violation "$f includes $inc (cli/ calls only core/hive.h and bottom-layer helpers)" ;; esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

# What serve/ may include besides its own files: no adapters (it runs
# nothing), no internals.
serve_allowed=" core/hive.h events/error.h events/buf.h events/json.h events/utf8.h web/web.h "
for f in serve/*.[ch]; do
	while IFS= read -r inc; do
		case "$inc" in serve/*) continue ;; esac
		case "$serve_allowed" in *" $inc "*) ;; *) violation "$f includes $inc (serve/ calls only core/hive.h and bottom-layer helpers)" ;; esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

# Headers without a same-named .c, and why that is right.
#   core/hive.h       the library API: implemented by the core files it lists
#   core/adapter.h    the port: types only, filled by adapters/
#   events/store_impl.h  the store's private struct, shared by store/scan/follow
#   cli/cli.h, cli/commands.h  the command table types and the list of tables
#   web/web.h         the embedded page's table: defined by the C that tests/tools/gen_web_files.sh generates
no_c=" core/hive.h core/adapter.h events/store_impl.h cli/cli.h cli/commands.h web/web.h tests "
for h in events/*.h core/*.h adapters/*.h cli/*.h serve/*.h web/*.h; do
	[ -f "${h%.h}.c" ] && continue
	case "$no_c" in *" $h "*) ;; *) violation "$h has no ${h%.h}.c (a header is named after the file that implements it)" ;; esac
done
[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
