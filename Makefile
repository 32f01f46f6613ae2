# AdStreamX: the commands the README promises. Everything runs from a fresh Debian 12 machine:
# `make demo` and `make test` bootstrap what they need (idempotent, quick once done).
SHELL := /bin/bash
PRESET ?= release
BUILD := build/$(PRESET)
ADSX := $(BUILD)/apps/adsx/adsx
PY := .venv/bin/python
SOURCES := $(shell git ls-files '*.cc' '*.h' 2>/dev/null)

.PHONY: all deps build up down status test unit integration asan fuzz demo bench format format-check \
        config-schema clean help

all: build

help:
	@echo "make deps        install Debian packages, the Python venv and the Kafka jars (idempotent)"
	@echo "make build       configure and build (PRESET=release|debug|asan)"
	@echo "make up|down|status   the local stack (Kafka, Redis, PostgreSQL, Prometheus)"
	@echo "make test        every test suite against the real local stack"
	@echo "make asan        unit tests under AddressSanitizer + UBSan"
	@echo "make fuzz        libFuzzer targets, FUZZ_SECONDS (60) each, under ASan + UBSan (clang-14)"
	@echo "make demo        the end-to-end demo on the local stack"
	@echo "make bench       benchmarks vs their baselines (results in bench/results/)"
	@echo "make format      clang-format the C++, ruff-format the Python (format-check: verify, lint)"
	@echo "make config-schema   regenerate config/adsx.schema.json (the Python jobs' copy of the keys)"

deps:
	@bash deploy/bootstrap.sh

$(BUILD)/build.ninja: CMakeLists.txt CMakePresets.json
	cmake --preset $(PRESET) -DADSX_PYTHON=$(CURDIR)/.venv/bin/python >/dev/null

build: deps $(BUILD)/build.ninja
	cmake --build --preset $(PRESET)

up: build
	$(ADSX) stack up

down:
	$(ADSX) stack down

status:
	$(ADSX) stack status

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure

integration: up
	cd $(BUILD) && ctest -L integration --output-on-failure

# Unit, integration and reliability suites against the stack `up` started, longest first;
# three at a time, but the suites that use the stack one by one (they hold the lock adsx_stack),
# so the unit suites and those with a stack of their own run beside them (docs/testing.md).
test: up
	cd $(BUILD) && ctest --output-on-failure -j3 -L 'unit|integration|reliability'

# One clang-14 build with ASan + UBSan serves both: the GoogleTest unit suites (target
# unit_tests: the libraries and their tests, not the adsx binary, whose pytest suites run in
# `make test`), and the libFuzzer targets of tests/fuzz (FUZZ_SECONDS each, tests/fuzz/run.sh).
asan: deps
	cmake --preset asan -DADSX_PYTHON=$(CURDIR)/.venv/bin/python >/dev/null
	cmake --build --preset asan --target unit_tests
	ctest --preset asan-unit

FUZZ_SECONDS ?= 60
fuzz: deps
	cmake --preset asan -DADSX_PYTHON=$(CURDIR)/.venv/bin/python >/dev/null
	cmake --build --preset asan --target fuzzers
	tests/fuzz/run.sh build/asan/tests/fuzz $(FUZZ_SECONDS)

demo: up
	@bash deploy/demo.sh $(ADSX)

# Benchmarks against baselines run side by side; tables on stdout, JSON in bench/results/.
bench: up
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/ingest.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/stream.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/batch.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/training_set.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/scoring.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/serve.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/experiments.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/loop.py
	ADSX_BIN=$(CURDIR)/$(ADSX) $(PY) bench/soak.py
	$(PY) bench/contract.py

# The Python jobs read the configuration's keys, defaults and rules from this checked-in copy of
# what the binary prints; the config_parity test fails when the two differ.
config-schema: build
	$(ADSX) config schema --json > config/adsx.schema.json.tmp
	mv config/adsx.schema.json.tmp config/adsx.schema.json

PYTHON_SOURCES := bench tests python

format:
	clang-format-14 -i $(SOURCES)
	.venv/bin/ruff format $(PYTHON_SOURCES)

format-check:
	clang-format-14 --dry-run --Werror $(SOURCES)
	.venv/bin/ruff check $(PYTHON_SOURCES)
	.venv/bin/ruff format --check $(PYTHON_SOURCES)

clean:
	rm -rf build
