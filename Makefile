.PHONY: install serve test lint check bench fuzz-api

install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[embedded,dev]'

serve:
	.venv/bin/ledgerflow serve

test:
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

check: lint test

bench:
	.venv/bin/python -m bench.run

fuzz-api:
	.venv/bin/python -m tests.schemathesis_run
