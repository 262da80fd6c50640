# SPDX-License-Identifier: Apache-2.0
# The commands the README names. The build itself is Meson + Ninja.

BUILD ?= build
ASAN_BUILD ?= build-asan
ARGS ?=

.PHONY: all deps build run test clean format bench

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/kepler --web.listen-address=127.0.0.1:28282 $(ARGS)

test: build $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	./scripts/test.sh $(BUILD) $(ASAN_BUILD)

bench: build
	./bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v vmlinux.h)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
