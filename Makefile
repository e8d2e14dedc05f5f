# The backoffice: one Makefile. `make run` and `make test` install what they need
# (Debian 12, as root), build, and run. See README.md.

CC      ?= gcc
PKGS    := libmicrohttpd libcurl yaml-0.1 libcjson libzip openssl sqlite3 libgit2 vips
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2
# includes name their folder ("common/error.h", "infra/db.h"): -I. finds common/, -Iserver
# the server's layers (README "What is here"; tests/lint/layers.sh checks the direction)
CFLAGS_BASE := -std=gnu11 $(WARN) -MMD -MP -D_GNU_SOURCE -I. -Iserver
LDLIBS  = $(shell pkg-config --libs $(PKGS)) -lpthread -lm

# Release build in build/rel, sanitizer build (what the tests use) in build/san.
SANITIZE ?=
BUILD   ?= build/rel
OPT     ?= -O2 -g
CFLAGS  = $(CFLAGS_BASE) $(OPT) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ifneq ($(SANITIZE),)
# the test build also aborts on storage or network I/O inside a write transaction (db.h)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer -DBO_CHECK_TX
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# libbo.a: common/ (what the worker shares too) and the server's layers, all but main.c
SERVER_SRC := $(wildcard common/*.c) $(filter-out server/main.c,$(wildcard server/*.c server/*/*.c))
SERVER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(SERVER_SRC))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

# workers/: every .c but worker.c (the main of backoffice-worker) and the torch runtime go
# into libworkers.a, linked by the worker and by the unit tests of WORKER_TESTS. The torch
# runtime (the C++ shim over libtorch + runtime_torchscript.c) is backoffice-torch.so next
# to the worker, which dlopens it only for torchscript weights: loading libtorch costs
# ~0.4 s and ~160 MB, which onnx runs must not pay. The .so carries its own PIC copies of
# the two libbo modules it uses (error, npy; no global state in either) and exports only
# runtime_torchscript: linked with -z defs, it cannot depend on what the worker happens to
# link. It gets the same warnings and sanitizers; libtorch is not instrumented, which ASan
# and UBSan tolerate (tests/unit/test_torch.c links the same objects and runs under both).
CXX        ?= g++
TORCH_SRC   := workers/runtime_torchscript.c
WORKERS_SRC := $(filter-out workers/worker.c $(TORCH_SRC),$(wildcard workers/*.c))
WORKERS_OBJ := $(patsubst workers/%.c,$(BUILD)/workers/%.o,$(WORKERS_SRC))
TORCH_RT_OBJ := $(BUILD)/torch/runtime_torch.o $(BUILD)/torch/runtime_torchscript.o
TORCH_SO_OBJ := $(TORCH_RT_OBJ) $(BUILD)/torch/error.o $(BUILD)/torch/npy.o
TORCH_LIBS   := -ltorch -ltorch_cpu -lc10 -lstdc++
# libtorch's own version header says 1.13.0 for Debian's 1.13.1: the package knows better.
# Expanded when used (=, not :=): on a fresh machine libtorch-dev is installed by the
# build stamp that every object waits for, after this Makefile was read.
TORCH_VERSION = $(shell dpkg-query -W -f '$${Version}' libtorch-dev 2>/dev/null | sed 's/[+~-].*//')
CXXFLAGS    = -std=c++17 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual -Wformat=2 \
              -MMD -MP -D_GNU_SOURCE -iquote . -iquote workers $(OPT) \
              $(if $(TORCH_VERSION),-DBO_LIBTORCH_VERSION='"$(TORCH_VERSION)"')
ifneq ($(SANITIZE),)
CXXFLAGS   += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
WORKER_TESTS := $(filter $(patsubst %,$(BUILD)/tests/test_%,ops compare model),$(UNIT_BIN))

# Debian packages: build (libraries), run, and the test servers/tools.
APT_BUILD := build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev \
             libcjson-dev libzip-dev libssl-dev libsqlite3-dev libgit2-dev libvips-dev
# the model runtimes of the worker (DESIGN 8): libtorch for torchscript, python3-torch
# (with python3-numpy) for pytorch_state_dict; about 90 s and 1 GB on a fresh machine
APT_TORCH := libtorch-dev python3-torch python3-numpy
# the jail of the test worker (DESIGN 8.5): bubblewrap, the sandbox of Flatpak
APT_RUN   := bubblewrap
# python3-yaml: tests/lib/ref_shapes.py reads the published YAML (python3-torch pulls it in
# too, but the test checker must not depend on the model runtime being installed)
# slurmctld slurmd slurm-client munge: the single-node Slurm cluster of tests/http/179-slurm.sh
# (a server with test_runner=slurm needs only slurm-client's sbatch, squeue, scancel, sacct
# and scontrol, and the site's munge)
APT_TEST  := curl jq zip unzip sqlite3 python3 python3-aiosmtpd python3-yaml swift-proxy swift-account \
             swift-container swift-object procps psmisc chromium fonts-noto-color-emoji \
             slurmctld slurmd slurm-client munge
STAMP     := build/.deps

.PHONY: all run test deps deps-test deps-onnx deps-browser deps-bench unit clean lint bench env-example

# Every compile waits (order-only) for the build stamp, which installs the Debian packages
# the build needs, so `make` typed first on a fresh machine installs before it compiles
# (or, when not root, stops with one line saying to run `make deps` as root).
all: $(BUILD)/backoffice $(BUILD)/backoffice-worker $(BUILD)/backoffice-torch.so

$(BUILD)/backoffice: $(BUILD)/server/main.o $(BUILD)/libbo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the test worker (DESIGN 8, workers/PROTOCOL.md): worker.c + libworkers.a (runtimes, model,
# ops, compare) + libbo.a (npy, rdf, error, …). Neither ONNX Runtime nor libtorch is linked:
# both are dlopen'ed (libtorch through backoffice-torch.so), so the worker pays only for the
# runtime of the job's weight format.
$(BUILD)/backoffice-worker: $(BUILD)/workers/worker.o $(BUILD)/libworkers.a $(BUILD)/libbo.a \
			    | $(BUILD)/backoffice-torch.so
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(BUILD)/backoffice-torch.so: $(TORCH_SO_OBJ) workers/backoffice-torch.map
	$(CXX) -shared $(LDFLAGS) -Wl,-z,defs -Wl,--version-script=workers/backoffice-torch.map \
	  -o $@ $(TORCH_SO_OBJ) $(TORCH_LIBS) $(shell pkg-config --libs libcjson) -lm

$(BUILD)/torch/%.o: workers/%.c | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -Iworkers -c -o $@ $<

$(BUILD)/torch/%.o: workers/%.cpp | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -fPIC -c -o $@ $<

$(BUILD)/torch/%.o: common/%.c | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/libbo.a: $(SERVER_OBJ)
	ar rcs $@ $^

$(BUILD)/server/%.o: server/%.c | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/common/%.o: common/%.c | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/check.h $(BUILD)/libbo.a | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libbo.a $(LDFLAGS) $(LDLIBS)

# rebuilt from scratch: a member left from an older layout (the torch runtime was in it)
# must not linger
$(BUILD)/libworkers.a: $(WORKERS_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/workers/%.o: workers/%.c | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iworkers -c -o $@ $<

# the runner script is embedded with .incbin (paths relative to the top directory)
$(BUILD)/workers/runtime_state_dict.o: workers/state_dict_runner.py

$(WORKER_TESTS): $(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/check.h \
		 $(BUILD)/libworkers.a $(BUILD)/libbo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iworkers -o $@ $< $(BUILD)/libworkers.a $(BUILD)/libbo.a \
	  $(LDFLAGS) $(LDLIBS)

# test_torch links the objects of backoffice-torch.so directly (libbo.a gives error and npy)
$(BUILD)/tests/test_torch: tests/unit/test_torch.c tests/unit/check.h $(TORCH_RT_OBJ) \
			   $(BUILD)/libworkers.a $(BUILD)/libbo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iworkers -o $@ $< $(TORCH_RT_OBJ) $(BUILD)/libworkers.a \
	  $(BUILD)/libbo.a $(LDFLAGS) $(TORCH_LIBS) $(LDLIBS)

unit: $(UNIT_BIN)

# --- libFuzzer harnesses of the untrusted-input parsers (tests/fuzz/, README "Tests").
# `make fuzz` builds each tests/fuzz/fuzz_<name>.c with clang, libFuzzer, ASan and UBSan
# against its own clang-built copy of the server objects (build/fuzz/, with coverage
# instrumentation) and runs it for FUZZ_SECONDS on its committed corpus
# tests/fuzz/corpus/<name>/. libFuzzer writes what it adds to the first corpus directory
# given, build/fuzz/<name>/corpus, and findings (crash-*, leak-*, timeout-*, oom-*) to
# build/fuzz/<name>/: never into the committed corpus, which only grows by hand.
# `make unit` builds the replay of each committed corpus, test_fuzz_<name> (harness +
# replay.c + libbo.a, gcc, the normal flags and sanitizers), which tests/run runs like
# every unit binary.
FUZZ_NAMES      := rdf npy zip json multipart
FUZZ_SECONDS    ?= 60
FUZZ_FLAGS      ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_CC         ?= clang
FUZZ_DIR        := build/fuzz
# -Wno-format-nonliteral: clang's -Wformat=2 also flags the vsnprintf inside our printf-like
# wrappers (bo_error_setv, ...), whose callers gcc and clang both check already
FUZZ_CFLAGS      = $(CFLAGS_BASE) -Wno-format-nonliteral -O1 -g -fsanitize=address,undefined \
                   -fno-sanitize-recover=all -fno-omit-frame-pointer \
                   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SERVER_OBJ := $(patsubst %.c,$(FUZZ_DIR)/%.o,$(SERVER_SRC))
FUZZ_BIN        := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_REPLAY_BIN := $(patsubst %,$(BUILD)/tests/test_fuzz_%,$(FUZZ_NAMES))
FUZZ_HARNESS    := tests/fuzz/harness.c tests/fuzz/harness.h
# clang 14 of Debian 12; libFuzzer and the sanitizer runtimes are in libclang-rt-dev
APT_FUZZ        := clang libclang-rt-dev

unit: $(FUZZ_REPLAY_BIN)

$(FUZZ_REPLAY_BIN): $(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
		    $(FUZZ_HARNESS) $(BUILD)/libbo.a | $(STAMP)-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -DFUZZ_NAME='"$*"' -DFUZZ_SOURCE_DIR='"$(CURDIR)"' -o $@ \
	  tests/fuzz/fuzz_$*.c tests/fuzz/replay.c tests/fuzz/harness.c $(BUILD)/libbo.a \
	  $(LDFLAGS) $(LDLIBS)

# fuzzer-no-link: coverage instrumentation without libFuzzer's main, which only the
# harness links
$(FUZZ_DIR)/server/%.o: server/%.c | $(STAMP)-fuzz
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/common/%.o: common/%.c | $(STAMP)-fuzz
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libbo.a: $(FUZZ_SERVER_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BIN): $(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HARNESS) $(FUZZ_DIR)/libbo.a \
	     | $(STAMP)-fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ tests/fuzz/fuzz_$*.c \
	  tests/fuzz/harness.c $(FUZZ_DIR)/libbo.a $(LDLIBS)

# every harness runs even when an earlier one found something; the exit status says
# whether any did
fuzz: $(FUZZ_BIN)
	@fail=; for n in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_DIR)/$$n/corpus; \
	  echo "== fuzz_$$n: $(FUZZ_SECONDS) s on tests/fuzz/corpus/$$n (new inputs: $(FUZZ_DIR)/$$n/corpus)"; \
	  dict=; if [ -f tests/fuzz/$$n.dict ]; then dict=-dict=tests/fuzz/$$n.dict; fi; \
	  $(FUZZ_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) $$dict \
	    -artifact_prefix=$(FUZZ_DIR)/$$n/ $(FUZZ_DIR)/$$n/corpus tests/fuzz/corpus/$$n \
	    || fail="$$fail $$n"; \
	done; \
	if [ -n "$$fail" ]; then \
	  echo "fuzz: findings in:$$fail (the inputs are in $(FUZZ_DIR)/<name>/)"; exit 1; fi

$(STAMP)-fuzz: $(STAMP)-build
	@$(call apt_install,$(APT_FUZZ),deps-fuzz)
	@touch $@

deps-fuzz: $(STAMP)-fuzz

.PHONY: fuzz deps-fuzz

# --- installs (idempotent: a stamp per set, checked against dpkg so a fresh machine installs;
# the stamps depend on this Makefile so a package added to a list is installed on the next run)
# apt_install: installs the Debian packages of $(1) that dpkg does not list as installed;
# when that needs root and we are not, one line says what to run instead.
apt_install = if ! dpkg -s $(1) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages for $@: run 'make $(2)' as root first" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); fi

$(STAMP)-build: Makefile
	@mkdir -p build
	@$(call apt_install,$(APT_BUILD) $(APT_TORCH) $(APT_RUN),deps)
	@touch $@

$(STAMP)-test: $(STAMP)-build
	@$(call apt_install,$(APT_TEST),deps-test)
	@touch $@

# what bench/ measures against: nginx and wrk (serve.sh), Debian's botocore to presign the
# reference upload (upload.sh), bc and GNU time (peak RSS) for validate.sh and worker.sh
# (neither is in a minimal Debian);
# Swift and the model runtimes come from the test sets
APT_BENCH := nginx wrk python3-botocore bc time
$(STAMP)-bench: $(STAMP)-test
	@$(call apt_install,$(APT_BENCH),deps-bench)
	@touch $@

# ONNX Runtime for onnx weights: libonnxruntime.so.1 from the npm package onnxruntime-node
# (PLATFORM-NOTES: its postinstall fetches CUDA from an unreachable host, hence
# ONNXRUNTIME_NODE_INSTALL=skip; 288 MB). One copy for every build variant: the worker looks
# for it at <its own dir>/../deps/npm/… (config onnxruntime_lib overrides).
ORT_VERSION := 1.30.0
ORT_DIR     := build/deps/npm
ORT_LIB     := $(ORT_DIR)/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
$(STAMP)-onnx: Makefile
	@mkdir -p $(ORT_DIR)
	@command -v npm >/dev/null 2>&1 || { $(call apt_install,nodejs npm,deps-onnx); }
	@if ! test -f $(ORT_LIB) || ! grep -q '"version": "$(ORT_VERSION)"' \
	    $(ORT_DIR)/node_modules/onnxruntime-node/package.json; then \
	  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix $(ORT_DIR) --no-audit --no-fund \
	    onnxruntime-node@$(ORT_VERSION); fi
	@test -f $(ORT_LIB)
	@touch $@

deps: $(STAMP)-build
deps-test: $(STAMP)-test
deps-onnx: $(STAMP)-onnx
deps-browser: $(STAMP)-browser
deps-bench: $(STAMP)-bench

# playwright-core drives Debian's chromium (APT_TEST) in tests/http/170-browser.sh; no
# browser download (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD), same npm prefix as ONNX Runtime.
# 1.61.1 is the newest release whose engines field (and start-up check) accepts Node 18,
# the nodejs of Debian 12; 1.62 and later refuse to run on it.
PLAYWRIGHT_VERSION := 1.61.1
$(STAMP)-browser: $(STAMP)-test $(STAMP)-onnx
	@if ! grep -q '"version": "$(PLAYWRIGHT_VERSION)"' \
	    $(ORT_DIR)/node_modules/playwright-core/package.json 2>/dev/null; then \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix $(ORT_DIR) --no-audit --no-fund \
	    playwright-core@$(PLAYWRIGHT_VERSION); fi
	@touch $@

# The pages' Markdown (static/markdown.js, the detail page): marked parses, DOMPurify
# sanitises; /static/vendor/ serves their browser builds from vendor_dir (default
# build/deps/npm/node_modules). marked 15.0.12 is the newest release whose engines accept
# Node 18 (Debian 12's nodejs; 16 and later ask for Node 20); DOMPurify 3.5.0 has no
# engines field and no dependencies. Same npm prefix as ONNX Runtime.
MARKED_VERSION := 15.0.12
DOMPURIFY_VERSION := 3.5.0
$(STAMP)-web: Makefile
	@mkdir -p $(ORT_DIR)
	@command -v npm >/dev/null 2>&1 || { $(call apt_install,nodejs npm,deps-web); }
	@if ! grep -q '"version": "$(MARKED_VERSION)"' $(ORT_DIR)/node_modules/marked/package.json 2>/dev/null || \
	    ! grep -q '"version": "$(DOMPURIFY_VERSION)"' $(ORT_DIR)/node_modules/dompurify/package.json 2>/dev/null; then \
	  npm install --prefix $(ORT_DIR) --no-audit --no-fund --save-exact \
	    marked@$(MARKED_VERSION) dompurify@$(DOMPURIFY_VERSION); fi
	@test -f $(ORT_DIR)/node_modules/marked/marked.min.js
	@test -f $(ORT_DIR)/node_modules/dompurify/dist/purify.min.js
	@touch $@
deps-web: $(STAMP)-web

# --- the two commands of the README
run: deps deps-onnx deps-web
	$(MAKE) all
	@mkdir -p var
	$(BUILD)/backoffice serve

test: deps-test deps-onnx deps-browser deps-web lint
	$(MAKE) BUILD=build/san SANITIZE=address,undefined OPT="-O1 -g" build/san/backoffice \
	  build/san/backoffice-worker build/san/backoffice-torch.so unit
	BUILD=build/san tests/run

# every script of bench/, each against its reference in the same run
BENCH_SCRIPTS := $(sort $(wildcard bench/*.sh))
bench: deps-bench deps-onnx
	$(MAKE) all
	@set -e; for b in $(BENCH_SCRIPTS); do echo "== $$b"; $$b; done

env-example: all
	$(BUILD)/backoffice env-example > deploy/backoffice.env.example

# banned calls (CONVENTIONS 14): a match fails the build and is printed
lint:
	@! grep -nE '\b(sprintf|strcpy|strcat|gets|atoi|strtok|system)\s*\(' common/*.[ch] server/*.[ch] server/*/*.[ch] \
	  workers/*.c 2>/dev/null
	@tests/lint/layers.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
