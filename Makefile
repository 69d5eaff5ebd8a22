# Two entry points, each working on a fresh Linux x86_64 machine that has only Python 3.11:
#   make run    install into .venv from the hashed lock and start the kiosk on the simulated station
#   make test   install into .venv (with test extras) from the same lock and run the whole suite
#   make lock   re-resolve pyproject.toml's ranges into requirements.lock (after changing a dependency)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The lock is resolved for the supported platform (README "Platforms"), with the hashes of every file.
LOCK_FLAGS := --extra test --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_34

$(BIN)/kiosk: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	# Exactly the locked versions, each checked against its hash; then the project itself, built
	# with the locked setuptools (no isolated build env that would fetch an unpinned one).
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(BIN)/kiosk

.PHONY: install run test bench lock clean
install: $(BIN)/kiosk

run: install
	$(BIN)/kiosk

test: install
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/python benchmarks/run.py

# uv resolves in seconds; it is a tool for this target only, installed beside the project's venv.
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install -q uv
	$(VENV)-lock/bin/uv pip compile pyproject.toml requirements-build.in $(LOCK_FLAGS) -o requirements.lock

clean:
	rm -rf $(VENV) $(VENV)-lock var/
