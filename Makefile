# hive - one Makefile.  `make test` works on a fresh Debian machine: when a
# library is missing it installs it (as root) or prints the command to run.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
PKGS     := lmdb jansson libgit2 libmicrohttpd
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2 -g
BUILD    ?= build
SAN      :=
# The hive binary: ./hive normally; make check builds build-san/hive.
BIN      ?= hive

DEPS_OK := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && echo yes)
ifeq ($(DEPS_OK),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# libmicrohttpd: its headers only; `hive serve` loads it (serve/mhd.h says why).
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libmicrohttpd,$(PKGS)))
MHD_SONAME := $(shell objdump -p $$(pkg-config --variable=libdir libmicrohttpd)/libmicrohttpd.so 2>/dev/null | \
		awk '$$1 == "SONAME" { print $$2 }')
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)
endif

CFLAGS   ?=
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -I. $(WARN) $(OPT) $(SAN) $(PKG_CFLAGS) $(CFLAGS)
# mbedcrypto (SHA-256, events/sha256.h): no pkg-config file in mbedtls 2.
LIBS      = $(PKG_LIBS) -lmbedcrypto -lpthread

EVENTS_SRC := events/error.c events/buf.c events/json.c events/sha256.c events/strv.c events/fs.c events/utf8.c events/id.c events/event.c events/store.c events/store_check.c events/store_fault.c events/scan.c events/follow.c
CORE_SRC   := core/resolve.c core/state.c core/duration.c core/outcome.c core/rng.c core/backoff.c core/policy.c core/retry.c core/circuit.c core/projection.c core/schedule.c core/manage.c \
              core/manage_task.c core/jsoncheck.c core/adapter.c core/gitws.c core/gitinit.c core/proc.c core/datadir.c core/capture.c core/excerpt.c core/lock.c core/attempt.c \
              core/finish.c core/runner.c core/context.c core/spec.c core/emit.c core/markdown.c
CORE_SRC   += core/query.c core/upgrade.c core/doc.c
CORE_SRC   += core/kill_list.c
CORE_SRC   += core/wake.c
CORE_SRC   += core/redact.c
CORE_SRC   += core/backup.c
CORE_SRC   += core/lifecycle.c
CORE_SRC   += core/land.c
CORE_SRC   += core/steer.c
CORE_SRC   += core/flowindex.c
ADAPT_SRC  := adapters/registry.c adapters/exec.c adapters/presets.c adapters/prompt.c
CLI_SRC    := cli/main.c cli/opts.c cli/output.c cli/cmd_events.c cli/cmd_project.c cli/cmd_task.c \
              cli/cmd_flow.c cli/cmd_attempt.c cli/cmd_demo.c
CLI_SRC    += cli/cmd_backup.c
CLI_SRC    += cli/cmd_gc.c
CLI_SRC    += cli/stop.c
CLI_SRC    += cli/actor.c
CLI_SRC    += cli/cmd_serve.c
# hive serve: serve/, a front end beside cli/.
SERVE_SRC  := serve/serve.c serve/http.c serve/token.c serve/sse.c serve/api.c serve/metrics.c serve/mhd.c
CLI_SRC    += $(SERVE_SRC)

# The web timeline of `hive serve` (web/), embedded in the binary: the
# generated C file holds hive_web_files[] (web/web.h).
WEB_FILES := web/index.html web/app.js web/app.css web/favicon.svg
WEB_SRC   := $(BUILD)/web/web_files.c
WEB_OBJ   := $(WEB_SRC:.c=.o)
CLI_SRC    += cli/cmd_help.c
CLI_SRC    += cli/progress.c

LIB_SRC := $(EVENTS_SRC) $(CORE_SRC) $(ADAPT_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libhive.a

UNIT_TESTS := test_event test_store test_follow test_policy test_excerpt test_proc test_spec \
              test_adapters test_context test_gitws test_json test_emit \
              test_projection test_state test_schedule test_resolve test_finish \
              test_duration test_circuit test_fs test_sha256 test_strv test_utf8 test_markdown \
              test_context_quality
UNIT_TESTS += test_cli_opts
UNIT_TESTS += test_redact
UNIT_TESTS += test_id
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/tests/%)
CLI_TESTS  := $(sort $(wildcard tests/cli/test_*.sh))
BENCH_SRC  := tests/bench/bench_store.c tests/bench/bench_verify.c tests/bench/bench_worktree.c \
              tests/bench/bench_spawn.c
BENCH_BINS := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps test test-web unit-test cli-test layers-check cli-doc cli-doc-check check bench demo install install-files clean valgrind \
        fuzz fuzz-bins fuzz-replay crash crash-test

# Fuzz targets (tests/fuzz/fuzz_<name>.c).  `make fuzz` builds them with
# clang's libFuzzer in build-fuzz/ and runs each for FUZZ_SECONDS; `make
# test` replays their seed corpora and regression inputs through a plain
# main (replay_<name>), so it needs no clang.
FUZZ_TARGETS := spec event verdict duration excerpt
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_HDRS    := tests/fuzz/fuzz.h tests/fuzz/check_text.h
FUZZ_REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
FUZZ_BINS        := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
# Crash tests (tests/crash/): CRASH_KILLS SIGKILLs of flow run from seed
# CRASH_SEED; `make test` runs a few, `make crash` hundreds.
CRASH_KILLS ?= 300
CRASH_SEED  ?= 1
# make bench: tasks of the long flow in tests/bench/history_bench.sh.
BENCH_TASKS ?= 1000

# Targets that build recurse after `deps`, so pkg-config is asked again
# once a fresh machine has the libraries.
all: deps
	@$(MAKE) --no-print-directory $(BIN)

deps:
	@./.ci/deps.sh

$(BIN): $(CLI_OBJ) $(WEB_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(WEB_OBJ) $(LIB) $(LIBS)

# sh + od + sed, no xxd and no download: tests/tools/gen_web_files.sh.
$(WEB_SRC): $(WEB_FILES) tests/tools/gen_web_files.sh
	@mkdir -p $(dir $@)
	sh tests/tools/gen_web_files.sh $@ $(WEB_FILES)

$(WEB_OBJ): $(WEB_SRC) web/web.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/serve/mhd.o: ALL_CFLAGS += $(if $(MHD_SONAME),-DHIVE_MHD_SONAME='"$(MHD_SONAME)"')

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.h tests/unit/engine.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS) $(CMOCKA_LIBS)

# The option parser is cli/, which is not in the library: link its file in.
$(BUILD)/tests/test_cli_opts: tests/unit/test_cli_opts.c cli/opts.c cli/cli.h tests/unit/testutil.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< cli/opts.c $(LIB) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS)

# The event log next to SQLite (make bench only; SQLite is no dependency of hive).
$(BUILD)/bench/bench_sqlite: tests/bench/bench_sqlite.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags sqlite3) -o $@ $< $(LIB) $(LIBS) $(shell pkg-config --libs sqlite3)

test: deps
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BINS) $(FUZZ_REPLAY_BINS)
	@$(MAKE) --no-print-directory layers-check cli-doc-check unit-test fuzz-replay cli-test crash-test

# The web timeline in headless Chromium against a real `hive serve`
# (tests/web/test_web.py; needs `apt-get install chromium`; .ci/run runs it).
test-web: all
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; true; }
	@HIVE_BIN=$(CURDIR)/$(BIN) WEB_SCREENSHOT=$(CURDIR)/$(BUILD)/web/timeline.png python3 tests/web/test_web.py

# docs/cli.md is generated from the command table (cli/cmd_*.c): `make
# cli-doc` writes it, and `make test` fails when the committed copy drifted.
cli-doc: $(BIN)
	bash tests/tools/gen_cli_doc.sh ./$(BIN)

# The architecture's rules (layers, what cli/ may include, a header per
# file), checked on every `make test`: tests/tools/check_layers.sh.
layers-check:
	@bash tests/tools/check_layers.sh

cli-doc-check: $(BIN)
	@bash tests/tools/check_cli_doc.sh ./$(BIN) docs/cli.md && echo "docs/cli.md: matches the command table"

unit-test: $(UNIT_BINS)
	@pass=0; fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "unit: $$pass passed, $$fail failed"; test $$fail -eq 0

$(BUILD)/tests/append_events: tests/cli/append_events.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS)

cli-test: $(BIN) $(BUILD)/tests/append_events
	@HIVE_BIN=$(CURDIR)/$(BIN) HIVE_APPEND_EVENTS=$(CURDIR)/$(BUILD)/tests/append_events \
		bash tests/cli/run.sh $(CLI_TESTS)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDRS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LIBS)

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@for t in $(FUZZ_TARGETS); do \
		$(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t || \
			{ echo "FAILED: replay_$$t (rerun with -v to name the input)"; exit 1; }; \
	done

fuzz-bins: $(FUZZ_BINS)

# The library and the targets with coverage for libFuzzer, ASan and UBSan.
fuzz: deps
	@echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return (int)(d[0] + n) * 0; }' | \
		$(FUZZ_CC) -fsanitize=fuzzer -x c -o /dev/null - 2>/dev/null || \
		{ echo "make fuzz: $(FUZZ_CC) cannot link libFuzzer; on Debian: apt-get install clang libclang-rt-14-dev (or set FUZZ_CC)"; exit 2; }
	@$(MAKE) --no-print-directory BUILD=build-fuzz BIN=build-fuzz/hive CC=$(FUZZ_CC) \
		OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-bins
	@bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

crash-test: $(BIN)
	@HIVE_BIN=$(CURDIR)/$(BIN) bash tests/crash/crash.sh --kills 8 --seed $(CRASH_SEED)

crash: deps
	@$(MAKE) --no-print-directory $(BIN)
	@HIVE_BIN=$(CURDIR)/$(BIN) bash tests/crash/crash.sh --kills $(CRASH_KILLS) --seed $(CRASH_SEED)

# Every test under AddressSanitizer + UndefinedBehaviorSanitizer, in a
# separate build directory so it never mixes objects with the normal build.
check: deps
	@$(MAKE) --no-print-directory BUILD=build-san BIN=build-san/hive OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

valgrind: deps
	@$(MAKE) --no-print-directory $(UNIT_BINS) $(FUZZ_REPLAY_BINS)
	@for t in $(UNIT_BINS); do \
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
			--child-silent-after-fork=yes $$t >/dev/null || { echo "valgrind FAILED: $$t"; exit 1; }; \
	done
	@for t in $(FUZZ_TARGETS); do \
		valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
			$(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t >/dev/null || \
			{ echo "valgrind FAILED: replay_$$t"; exit 1; }; \
	done; echo "valgrind: clean"

bench: deps
	@$(MAKE) --no-print-directory OPT="-O2" hive $(BENCH_BINS)
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	@pkg-config --exists sqlite3 || [ "$$(id -u)" != 0 ] || \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev >/dev/null; true; }
	@if pkg-config --exists sqlite3; then $(MAKE) --no-print-directory OPT="-O2" $(BUILD)/bench/bench_sqlite && \
		$(BUILD)/bench/bench_sqlite; else echo "bench: SQLite comparison skipped (apt-get install libsqlite3-dev)"; fi
	@if [ -f tests/bench/flow_bench.sh ]; then HIVE_BIN=$(CURDIR)/hive bash tests/bench/flow_bench.sh; fi
	@HIVE_BIN=$(CURDIR)/hive HISTORY_BENCH_TASKS=$(BENCH_TASKS) bash tests/bench/history_bench.sh
	@$(MAKE) --no-print-directory OPT="-O2" $(BUILD)/tests/append_events
	@HIVE_BIN=$(CURDIR)/hive APPEND=$(CURDIR)/$(BUILD)/tests/append_events python3 tests/bench/serve_bench.py

demo: deps
	@$(MAKE) --no-print-directory hive
	@./hive demo

# make install PREFIX=/usr/local DESTDIR=: the binary, hive(1) and a page
# per command group (hive-flow(1), ...; generated from the command table by
# tests/tools/gen_man.sh, as docs/cli.md is), the docs under
# share/doc/hive, and the completion scripts `hive completion SHELL` prints.
# install-files installs an already built $(BIN) (tests/cli/test_install.sh).
DOCDIR ?= $(PREFIX)/share/doc/hive
BIN_PATH = $(if $(filter /%,$(BIN)),$(BIN),./$(BIN))
install: all
	@$(MAKE) --no-print-directory install-files

install-files:
	@test -x $(BIN_PATH) || { echo "install: build $(BIN_PATH) first (make)"; exit 2; }
	@rm -rf $(BUILD)/man && bash tests/tools/gen_man.sh $(BIN_PATH) $(BUILD)/man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hive
	install -m 0644 docs/hive.1 $(BUILD)/man/hive-*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	$(BIN_PATH) completion bash >$(DESTDIR)$(PREFIX)/share/bash-completion/completions/hive
	$(BIN_PATH) completion zsh >$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_hive
	$(BIN_PATH) completion fish >$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/hive.fish

clean:
	rm -rf build build-san build-fuzz hive

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
