# One command each: `make test` sets up .venv and runs the tests; `make demo` trains on real data.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Parity tests compare against PyTorch 2.13.0 (CPU). `make test WITH_TORCH=0` skips installing it
# (those tests are then skipped with a reason).
WITH_TORCH ?= 1

.PHONY: install install-test test test-slow test-all demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet -e plugins/tmt-extra-ops -e plugins/tmt-wandb

install-test: install
ifeq ($(WITH_TORCH),1)
	$(BIN)/pip install --quiet torch==2.13.0
endif

test: install-test
	$(BIN)/python -m pytest -q -m "not slow" tests plugins/tmt-extra-ops/tests plugins/tmt-wandb/tests

# Real-data runs and the fresh-virtualenv plugin installs; needs Fashion-MNIST
# (sudo apt-get install dataset-fashion-mnist) for the training runs.
test-slow: install-test
	$(BIN)/python -m pytest -q -m slow tests

test-all: test test-slow

demo: install
	$(BIN)/python examples/demo.py

bench: install-test
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/train.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
