# neurodeck: `make demo` runs the demo, `make test` runs the test suite.
# Both create the virtual environment (.venv) on first use.
SHELL := /bin/bash
VENV := .venv/bin
export LSLAPICFG := $(CURDIR)/streaming/lsl_machine.cfg

.PHONY: demo test lint bench env

env:
	@./scripts/bootstrap.sh

demo: env
	$(VENV)/neurodeck demo $(ARGS)

test: env
	QT_QPA_PLATFORM=offscreen $(VENV)/python -m pytest -q -p no:cacheprovider -n 3 $(ARGS)

lint: env
	$(VENV)/ruff check . && $(VENV)/ruff format --check .

bench: env
	$(VENV)/python benchmarks/acquisition.py $(ARGS)
