# The two commands: `make run` (the product on embedded defaults) and `make test` (the whole suite).
# Both create .venv and install everything from pyproject.toml on first use (and when it changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hrbot start

test: $(STAMP)
	$(BIN)/python -m pytest

eval: $(STAMP)
	$(BIN)/hrbot ingest --samples && $(BIN)/hrbot eval retrieval

bench: $(STAMP)
	$(BIN)/python benchmarks/retrieval_latency.py
	$(BIN)/python benchmarks/ingest_throughput.py
	$(BIN)/python benchmarks/ask_latency.py
	$(BIN)/python benchmarks/slack_load.py
	$(BIN)/python benchmarks/pdf_tables.py
	$(BIN)/python benchmarks/records_sync.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
