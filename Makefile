# Everything a newcomer needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make demo` needs only the local stack's extras (a third of the download of the test tools).
LOCAL_STAMP := $(VENV)/.installed-local

.PHONY: install test lint format bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(LOCAL_STAMP)

$(LOCAL_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $(LOCAL_STAMP)

test: install
	$(BIN)/loglake queries check
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	mkdir -p dist && $(BIN)/loglake template -o dist/template.json && $(BIN)/cfn-lint dist/template.json

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m loglake.bench $(BENCH_ARGS)

demo: $(LOCAL_STAMP)
	$(BIN)/loglake demo
	@echo "next: source $(VENV)/bin/activate   (then loglake local up, loglake init ...; see README.md)"

clean:
	rm -rf $(VENV) dist build .bench .pytest_cache .ruff_cache .mypy_cache
