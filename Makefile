# The backoffice: one Makefile. `make run` and `make test` install what they need
# (Debian 12, as root), build, and run. See README.md.

CC      ?= gcc
PKGS    := libmicrohttpd libcurl yaml-0.1 libcjson libzip openssl sqlite3 libgit2 vips
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual -Wformat=2
CFLAGS_BASE := -std=gnu11 $(WARN) -MMD -MP -D_GNU_SOURCE -Iserver
LDLIBS  = $(shell pkg-config --libs $(PKGS)) -lpthread -lm

# Release build in build/rel, sanitizer build (what the tests use) in build/san.
SANITIZE ?=
BUILD   ?= build/rel
OPT     ?= -O2 -g
CFLAGS  = $(CFLAGS_BASE) $(OPT) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
SERVER_OBJ := $(patsubst server/%.c,$(BUILD)/server/%.o,$(SERVER_SRC))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

# workers/: every .c but worker.c (the main of backoffice-worker) and the one C++ file (the
# libtorch shim) go into libworkers.a, linked by the worker and by the unit tests of
# WORKER_TESTS. The C++ file gets the same warnings and sanitizers; libtorch is not
# instrumented, which ASan and UBSan tolerate (tests/unit/test_torch.c runs under both).
CXX        ?= g++
WORKERS_SRC := $(filter-out workers/worker.c,$(wildcard workers/*.c))
WORKERS_OBJ := $(patsubst workers/%.c,$(BUILD)/workers/%.o,$(WORKERS_SRC)) \
               $(patsubst workers/%.cpp,$(BUILD)/workers/%.o,$(wildcard workers/*.cpp))
# libtorch's own version header says 1.13.0 for Debian's 1.13.1: the package knows better
TORCH_VERSION := $(shell dpkg-query -W -f '$${Version}' libtorch-dev 2>/dev/null | sed 's/[+~-].*//')
CXXFLAGS    = -std=c++17 -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual -Wformat=2 \
              -MMD -MP -D_GNU_SOURCE -iquote server -iquote workers $(OPT) \
              $(if $(TORCH_VERSION),-DBO_LIBTORCH_VERSION='"$(TORCH_VERSION)"')
ifneq ($(SANITIZE),)
CXXFLAGS   += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
WORKERS_LDLIBS = -ltorch -ltorch_cpu -lc10 -lstdc++ $(LDLIBS)
WORKER_TESTS := $(filter $(patsubst %,$(BUILD)/tests/test_%,torch ops compare model),$(UNIT_BIN))

# Debian packages: build (libraries), run, and the test servers/tools.
APT_BUILD := build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev \
             libcjson-dev libzip-dev libssl-dev libsqlite3-dev libgit2-dev libvips-dev
# the model runtimes of the worker (DESIGN 8): libtorch for torchscript, python3-torch
# (with python3-numpy) for pytorch_state_dict; about 90 s and 1 GB on a fresh machine
APT_TORCH := libtorch-dev python3-torch python3-numpy
APT_TEST  := curl jq zip unzip sqlite3 python3 python3-aiosmtpd swift-proxy swift-account swift-container \
             swift-object procps psmisc
STAMP     := build/.deps

.PHONY: all run test deps deps-test deps-onnx unit clean lint bench env-example

all: $(BUILD)/backoffice $(BUILD)/backoffice-worker

$(BUILD)/backoffice: $(BUILD)/server/main.o $(BUILD)/libbo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the test worker (DESIGN 8, workers/PROTOCOL.md): worker.c + libworkers.a (runtimes, model,
# ops, compare) + libbo.a (npy, rdf, error, …). ONNX Runtime is not linked: it is dlopen'ed.
$(BUILD)/backoffice-worker: $(BUILD)/workers/worker.o $(BUILD)/libworkers.a $(BUILD)/libbo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(WORKERS_LDLIBS)

$(BUILD)/libbo.a: $(SERVER_OBJ)
	ar rcs $@ $^

$(BUILD)/server/%.o: server/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/check.h $(BUILD)/libbo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libbo.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/libworkers.a: $(WORKERS_OBJ)
	ar rcs $@ $^

$(BUILD)/workers/%.o: workers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iworkers -c -o $@ $<

$(BUILD)/workers/%.o: workers/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

# the runner script is embedded with .incbin (paths relative to the top directory)
$(BUILD)/workers/runtime_state_dict.o: workers/state_dict_runner.py

$(WORKER_TESTS): $(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/check.h \
		 $(BUILD)/libworkers.a $(BUILD)/libbo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Iworkers -o $@ $< $(BUILD)/libworkers.a $(BUILD)/libbo.a \
	  $(LDFLAGS) $(WORKERS_LDLIBS)

unit: $(UNIT_BIN)

# --- installs (idempotent: a stamp per set, checked against dpkg so a fresh machine installs;
# the stamps depend on this Makefile so a package added to a list is installed on the next run)
$(STAMP)-build: Makefile
	@mkdir -p build
	@if ! dpkg -s $(APT_BUILD) $(APT_TORCH) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_BUILD) $(APT_TORCH); fi
	@touch $@

$(STAMP)-test: $(STAMP)-build
	@if ! dpkg -s $(APT_TEST) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_TEST); fi
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
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@if ! test -f $(ORT_LIB) || ! grep -q '"version": "$(ORT_VERSION)"' \
	    $(ORT_DIR)/node_modules/onnxruntime-node/package.json; then \
	  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix $(ORT_DIR) --no-audit --no-fund \
	    onnxruntime-node@$(ORT_VERSION); fi
	@test -f $(ORT_LIB)
	@touch $@

deps: $(STAMP)-build
deps-test: $(STAMP)-test
deps-onnx: $(STAMP)-onnx

# --- the two commands of the README
run: deps deps-onnx
	$(MAKE) all
	@mkdir -p var
	$(BUILD)/backoffice serve

test: deps-test deps-onnx lint
	$(MAKE) BUILD=build/san SANITIZE=address,undefined OPT="-O1 -g" build/san/backoffice \
	  build/san/backoffice-worker unit
	BUILD=build/san tests/run

bench: deps-test
	$(MAKE) all
	bench/upload.sh
	bench/validate.sh

env-example: $(BUILD)/backoffice
	$(BUILD)/backoffice env-example > deploy/backoffice.env.example

# banned calls (CONVENTIONS 14): a match fails the build and is printed
lint:
	@! grep -nE '\b(sprintf|strcpy|strcat|gets|atoi|strtok|system)\s*\(' server/*.c server/*.h workers/*.c 2>/dev/null

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
