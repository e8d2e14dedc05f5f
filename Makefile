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

# Debian packages: build (libraries), run, and the test servers/tools.
APT_BUILD := build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev \
             libcjson-dev libzip-dev libssl-dev libsqlite3-dev libgit2-dev libvips-dev
APT_TEST  := curl jq zip unzip sqlite3 python3 swift-proxy swift-account swift-container \
             swift-object procps psmisc
STAMP     := build/.deps

.PHONY: all run test deps deps-test unit clean lint bench env-example

all: $(BUILD)/backoffice

$(BUILD)/backoffice: $(BUILD)/server/main.o $(BUILD)/libbo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libbo.a: $(SERVER_OBJ)
	ar rcs $@ $^

$(BUILD)/server/%.o: server/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/check.h $(BUILD)/libbo.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libbo.a $(LDFLAGS) $(LDLIBS)

unit: $(UNIT_BIN)

# --- installs (idempotent: a stamp per set, checked against dpkg so a fresh machine installs;
# the stamps depend on this Makefile so a package added to a list is installed on the next run)
$(STAMP)-build: Makefile
	@mkdir -p build
	@if ! dpkg -s $(APT_BUILD) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_BUILD); fi
	@touch $@

$(STAMP)-test: $(STAMP)-build
	@if ! dpkg -s $(APT_TEST) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_TEST); fi
	@touch $@

deps: $(STAMP)-build
deps-test: $(STAMP)-test

# --- the two commands of the README
run: deps
	$(MAKE) all
	@mkdir -p var
	$(BUILD)/backoffice serve

test: deps-test lint
	$(MAKE) BUILD=build/san SANITIZE=address,undefined OPT="-O1 -g" build/san/backoffice unit
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
