# The README's two commands: `make demo` and `make test`. Each creates .venv/ and installs what it needs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WORKDIR ?= runs/demo

BENCH_STAMP := $(VENV)/.bench-stamp

LINT_STAMP := $(VENV)/.lint-stamp

.PHONY: demo nash test test-slow lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The persistent compilation cache makes re-runs skip XLA compilation (half of a cold demo's wall time).
demo: $(STAMP)
	JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.jax_cache $(PY) experiments/demo.py --config=configs/demo.py --workdir=$(WORKDIR)

nash: $(STAMP)
	$(PY) experiments/nash_equilibrium.py --config=configs/nash.py --workdir=runs/nash

# worksteal: an idle worker takes queued tests from the busy one, so the long tests do not leave a core idle.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -m "not slow" -q

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -m slow -q

$(LINT_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $(LINT_STAMP)

# Style (ruff) and the layering contract (import-linter: imports only go down; see README, "Library map").
lint: $(LINT_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) runs
