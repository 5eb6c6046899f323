# The README's two commands: `make run` (install, migrate, seed, serve + worker) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: install
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run_local.sh

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (style, imports, line length 110) on the whole tree, then mypy on the typed cores listed in
# pyproject.toml ([tool.mypy] files). The same two commands run as pre-commit hooks.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/forecast_throughput.py
	$(PY) benchmarks/ensemble_training.py
	$(PY) benchmarks/scoring.py
	$(PY) benchmarks/resolution_latency.py

clean:
	rm -rf var staticfiles
