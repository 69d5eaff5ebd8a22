# Two entry points, each working on a fresh machine that has only Python 3.11+:
#   make run    install into .venv and start the kiosk on the simulated station
#   make test   install into .venv (with test extras) and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

$(BIN)/kiosk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(BIN)/kiosk

.PHONY: install run test bench clean
install: $(BIN)/kiosk

run: install
	$(BIN)/kiosk

test: install
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var/
