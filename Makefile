# A thin layer over CMake. The two commands a new user needs:
#   make demo   install what is missing, build, run the main job
#   make test   install what is missing, build with ASan+UBSan, run the suite
# Others: make build, make bench, make bench-compare, make clang, make tsan, make coverage,
# make format, make format-check, make clean.

JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE   ?= cmake
BUILD   ?= build

.PHONY: all deps build demo test bench bench-compare clang tsan coverage format format-check clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/release/Makefile $(BUILD)/release/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/release/CMakeCache.txt
	$(CMAKE) --build $(BUILD)/release -j$(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)/release

test: deps
	$(CMAKE) -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DIOMMUSIM_SANITIZE=address >/dev/null
	$(CMAKE) --build $(BUILD)/asan -j$(JOBS)
	cd $(BUILD)/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -LE stress

bench: build
	$(BUILD)/release/iommusim-bench

# Two builds in alternating rounds (docs/bench.md):
#   make bench-compare A=/path/to/old/iommusim-bench [B=...] [BENCH='translate.vtd.*']
bench-compare: build
	@test -n "$(A)" || { echo "bench-compare: set A to the other build's iommusim-bench"; exit 2; }
	./scripts/bench-compare.sh "$(A)" "$(or $(B),$(BUILD)/release/iommusim-bench)" $(BENCH)

# Both compilers must stay warning-free.
clang: deps
	CC=clang CXX=clang++ $(CMAKE) -S . -B $(BUILD)/clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	$(CMAKE) --build $(BUILD)/clang -j$(JOBS)

tsan: deps
	$(CMAKE) -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIOMMUSIM_SANITIZE=thread >/dev/null
	$(CMAKE) --build $(BUILD)/tsan -j$(JOBS)
	cd $(BUILD)/tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j$(JOBS) -L stress

coverage: deps
	$(CMAKE) -S . -B $(BUILD)/coverage -DCMAKE_BUILD_TYPE=Debug -DIOMMUSIM_COVERAGE=ON >/dev/null
	$(CMAKE) --build $(BUILD)/coverage -j$(JOBS)
	cd $(BUILD)/coverage && ctest -j$(JOBS) -LE stress >/dev/null || true
	gcovr -r . --object-directory $(BUILD)/coverage --filter 'hw-models/' --filter 'src/' \
		--txt $(BUILD)/coverage/coverage.txt --print-summary
	@echo "per-file report: $(BUILD)/coverage/coverage.txt"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The tree is kept as clang-format 14 (Debian bookworm) formats it with .clang-format;
# other versions lay some constructs out differently, so with them the check is skipped.
format-check: deps
	@v=$$(clang-format --version | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p'); \
	if [ "$$v" != 14 ]; then echo "format-check: clang-format '$$v' is not 14: skipped"; exit 0; fi; \
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') || \
		{ echo "format-check: run 'make format' (clang-format 14)"; exit 1; }; \
	echo "format-check: every .c/.h file is as clang-format 14 formats it"

clean:
	rm -rf $(BUILD)
