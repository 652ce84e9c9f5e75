# The README's two commands: `make demo` and `make test`. Each creates .venv/ and installs what it needs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WORKDIR ?= runs/demo

BENCH_STAMP := $(VENV)/.bench-stamp

LINT_STAMP := $(VENV)/.lint-stamp
comma := ,

# Python caches compiled bytecode (.pyc) beside each module it imports, unless PYTHONDONTWRITEBYTECODE is set (this
# machine image sets it): then every process recompiles the sources of jax, scipy, matplotlib, … at import, ~5 s
# per process on 2 cores, paid by each demo run and each test subprocess. Our commands write the caches (into
# .venv/ and the ignored __pycache__/ folders).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo nash test test-slow lint bench clean probe-table

# uv creates the environment in seconds where pip takes minutes: an existing `uv` on PATH, else one bootstrapped
# into .uv/ from PyPI; plain pip is the fallback when uv cannot be had. `--seed` puts pip in the venv too (the
# bench extra installs through pip, so that PyTorch resolves the way this machine's pip is configured to: the CPU
# build).
UV_DIR := .uv
install = uv=$$(command -v uv || echo $(UV_DIR)/bin/uv); \
	{ { [ -x "$$uv" ] || $(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(UV_DIR) uv; } \
	  && { test -x $(PY) || $$uv venv --quiet --seed --python $(PYTHON) $(VENV); } \
	  && $$uv pip install --quiet --python $(PY) -e '.[$(1)]'; } \
	|| { echo "uv unavailable or failed: installing with pip"; \
	     test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	     $(PY) -m pip install --quiet -e '.[$(1)]'; }

$(STAMP): setup.cfg pyproject.toml
	$(call install,test)
	touch $(STAMP)

# The persistent compilation cache makes re-runs skip XLA compilation (half of a cold demo's wall time). JAX caches
# only programs that took >= 1 s to compile by default; the demo's evaluations and plots compile in less, and a
# re-run would compile them all again: cache every program.
demo: $(STAMP)
	JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 $(PY) experiments/demo.py --config=configs/demo.py --workdir=$(WORKDIR)

nash: $(STAMP)
	$(PY) experiments/nash_equilibrium.py --config=configs/nash.py --workdir=runs/nash

# The divergence probe's validation table (README): estimates against exact values, with the demo's generators.
probe-table: demo
	$(PY) experiments/probe_validation.py --workdir=runs/probe_validation --demo_dir=$(WORKDIR)

# worksteal: an idle worker takes queued tests from the busy one, so the long tests do not leave a core idle.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -m "not slow" -q

test-slow: $(STAMP)
	$(PY) -m pytest -n 2 --dist worksteal -m slow -q

$(LINT_STAMP): $(STAMP)
	$(call install,test$(comma)lint)
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
	rm -rf $(VENV) $(UV_DIR) runs
