# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake. `make demo` and `make check` are the two
# commands of the README.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build deps test test-unit asan tsan check demo format format-check \
        bench-compute bench-faaslet bench-serve bench-state \
        bench-cluster bench-mpi bench-mpi-remote bench-openmp test-cluster \
        soak soak-ci fuzz spec-validate spec fuzz-diff clang clean

all: build

deps:
	scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The suite without the multi-host tests (root only, below) and the soak.
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -LE 'cluster|soak'

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) $(GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DGRANARY_SANITIZE=address $(CMAKE_FLAGS)

# ASan+UBSan build and the whole suite under it.
asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:allow_user_segv_handler=1:use_sigaltstack=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -LE 'cluster|soak'

$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) $(GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DGRANARY_SANITIZE=thread $(CMAKE_FLAGS)

tsan: $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS) -L tsan

# The README's test command: dependencies, formatting, a clang build, the
# suite (gcc), the 2-minute soak, the multi-host tests when run as root (as
# CI does: they need network namespaces), then the suite again under
# ASan+UBSan.
check: deps
	$(MAKE) format-check
	$(MAKE) clang
	$(MAKE) test
	$(MAKE) soak-ci
	if [ "$$(id -u)" = 0 ]; then $(MAKE) test-cluster; \
	else echo "check: not root, multi-host tests (make test-cluster) skipped"; fi
	$(MAKE) asan

# The whole tree must also build warning-free with clang.
CLANG_BUILD ?= build-clang
clang:
	cmake -S . -B $(CLANG_BUILD) $(GEN) -DCMAKE_C_COMPILER=clang $(CMAKE_FLAGS)
	cmake --build $(CLANG_BUILD) -j $(JOBS)

demo: deps build
	scripts/demo.sh $(BUILD)

bench-compute: build
	cmake --build $(BUILD) --target bench-compute

bench-faaslet: build
	cmake --build $(BUILD) --target bench-faaslet

bench-serve: build
	cmake --build $(BUILD) --target bench-serve

bench-state: build
	cmake --build $(BUILD) --target bench-state

bench-cluster: build
	cmake --build $(BUILD) --target bench-cluster

bench-mpi: build
	cmake --build $(BUILD) --target bench-mpi

bench-mpi-remote: build
	cmake --build $(BUILD) --target bench-mpi-remote

bench-openmp: build
	cmake --build $(BUILD) --target bench-openmp

# libFuzzer targets (wire format, WASI paths): a short smoke run of each.
FUZZ_BUILD ?= build-fuzz
fuzz:
	cmake -S . -B $(FUZZ_BUILD) $(GEN) -DCMAKE_C_COMPILER=clang -DGRANARY_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cmake --build $(FUZZ_BUILD) --target fuzz_net_corpus fuzz_wasm_corpus
	ctest --test-dir $(FUZZ_BUILD) -L fuzz --output-on-failure

# The wasm decoder/validator against the official spec tests (fetched on
# demand: the script says how when they are absent).
spec-validate: build
	tests/spec/run_validate.sh $(BUILD)/tests/spec/validate_spec

# The code generator against the official spec tests: every module is
# generated, compiled, loaded and its assertions run (fetched on demand:
# the script says how when they are absent).
spec: build
	tests/spec/run_validate.sh $(BUILD)/tests/spec/run_spec

# Differential fuzzing of our compiler against wabt's interpreter on
# modules made by binaryen's wasm-opt -ttf: N seeds from SEED (see
# tests/fuzz/fuzz_diff.sh; mismatches are kept in FUZZ_DIFF_WORK).
N ?= 200
SEED ?= 1
FUZZ_DIFF_WORK ?= /tmp/granary-fuzz-diff
fuzz-diff: build
	tests/fuzz/fuzz_diff.sh $(BUILD)/tests/spec/wasm_diff $(N) $(SEED) $(FUZZ_DIFF_WORK)

# Multi-host tests on network namespaces (needs root).
test-cluster: build
	GRANARY_TEST_CLUSTER=1 ctest --test-dir $(BUILD) -L cluster --output-on-failure

# The soak: load against `granary serve` on loopback for SOAK_SECONDS
# (default 30 minutes); soak-ci is the 2-minute ctest that make check runs.
SOAK_SECONDS ?= 1800
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) cmake --build $(BUILD) --target soak-run

soak-ci: build
	ctest --test-dir $(BUILD) -L soak --output-on-failure

format:
	git ls-files '*.c' '*.h' | xargs clang-format-14 -i

format-check:
	git ls-files '*.c' '*.h' | xargs clang-format-14 --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
