# SPDX-License-Identifier: Apache-2.0
# The commands the README names. The build itself is Meson + Ninja.

BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SHORT_SECONDS ?= 10
SOAK_SECONDS ?= 300
# make test-loaded: busy loops beside the suite, one per CPU by default.
TEST_LOAD ?= $(shell nproc)
ARGS ?=

.PHONY: all deps build run test test-loaded fuzz soak bench image clean format

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debug

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/src/kepler --web.listen-address=127.0.0.1:28282 $(ARGS)

# test-loaded: the same suite beside a CPU load (scripts/test.sh, TEST_LOAD).
test test-loaded: build $(ASAN_BUILD)/build.ninja $(FUZZ_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ninja -C $(FUZZ_BUILD) fuzz
	TEST_LOAD=$(if $(filter test-loaded,$@),$(TEST_LOAD),0) \
		FUZZ_SHORT_SECONDS=$(FUZZ_SHORT_SECONDS) ./scripts/test.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) fuzz
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

soak: build
	./scripts/soak.sh $(BUILD) $(SOAK_SECONDS)

bench: build
	./bench/run.sh $(BUILD)

# The container image localhost/kepler:<version> and kepler:latest (deploy/image/build.sh,
# docs/deploy.md): podman or buildah, and no registry needed.
image: deps
	./deploy/image/build.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v vmlinux.h)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
