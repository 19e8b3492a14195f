# Every target works on a fresh clone: it creates .venv/ and installs what it needs.
# Installs come from the committed locks (exact versions, checked against their hashes);
# see docs/dependencies.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LATEST := .venv-latest
# The uv that `make lock` uses; nothing else needs uv.
UV_VERSION := 0.13.9
PIP_INSTALL = $(1)/bin/python -m pip install --quiet --disable-pip-version-check
EXPORT = $(BIN)/uv export --quiet --frozen --no-emit-project --format requirements-txt

# A .venv/ whose python is missing, no longer runs (its interpreter was removed) or is older
# than 3.11 is never kept: the stamp is then out of date and the install recipe rebuilds it.
VENV_PYTHON_OK := $(shell $(BIN)/python -c 'import sys; print(sys.version_info >= (3, 11))' 2>/dev/null)
ifneq ($(VENV_PYTHON_OK),True)
.PHONY: $(STAMP)
endif

.PHONY: install test test-latest demo demo-fleet bench lint lock lock-upgrade dist clean readme

install: $(STAMP)

# reconciler/__init__.py holds the version the installed metadata is built from.
$(STAMP): pyproject.toml requirements.lock requirements-build.lock reconciler/__init__.py
	@if [ -e $(VENV) ] && [ "$(VENV_PYTHON_OK)" != True ]; then \
	    echo "make: $(VENV)/ was made by a Python older than 3.11, or its python no longer runs: rebuilding it" >&2; \
	    rm -rf $(VENV); \
	fi
	@if [ ! -e $(BIN)/python ]; then \
	    $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	        echo "make: '$(PYTHON)' is not Python 3.11 or later (or does not run): run make PYTHON=/path/to/python3.11 (3.11 to 3.13)" >&2; \
	        exit 1; }; \
	    echo "$(PYTHON) -m venv $(VENV)"; \
	    $(PYTHON) -m venv $(VENV); \
	fi
	$(call PIP_INSTALL,$(VENV)) --require-hashes -r requirements-build.lock
	$(call PIP_INSTALL,$(VENV)) --require-hashes --no-build-isolation -r requirements.lock
	$(call PIP_INSTALL,$(VENV)) --no-deps --no-build-isolation -e .
	touch $(STAMP)

# On every core (pytest-xdist): the suite takes about 5 minutes on 2 cores instead of 9.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

demo: $(STAMP)
	./scripts/demo.sh

# Two accounts x four regions selected by tags (scripts/demo-fleet.sh; README, "A company fleet").
demo-fleet: $(STAMP)
	./scripts/demo-fleet.sh

# README's "captured from a real run" blocks, run again (scripts/regenerate-readme.py).
readme: $(STAMP)
	$(BIN)/python scripts/regenerate-readme.py

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests
	$(BIN)/ruff format --check reconciler tests

# The whole suite on the newest releases pyproject.toml's ranges admit, in a venv of its own,
# built afresh each time: how a new release that breaks us is found before a lock refresh.
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(call PIP_INSTALL,$(LATEST)) --upgrade pip setuptools wheel
	$(call PIP_INSTALL,$(LATEST)) --upgrade --upgrade-strategy eager -e '.[dev]'
	$(LATEST)/bin/python scripts/compare-lock.py
	$(LATEST)/bin/python -m pytest -p no:cacheprovider

# Resolve pyproject.toml again into uv.lock (keeping locked versions the ranges still admit)
# and export it for pip; lock-upgrade takes the newest versions the ranges admit.
lock: $(STAMP)
	$(call PIP_INSTALL,$(VENV)) uv==$(UV_VERSION)
	$(BIN)/uv lock $(UV_LOCK_FLAGS)
	$(EXPORT) --all-extras --all-groups -o requirements.lock
	$(EXPORT) --only-group build -o requirements-build.lock
	$(EXPORT) --no-default-groups -o requirements-runtime.lock

lock-upgrade: UV_LOCK_FLAGS = --upgrade
lock-upgrade: lock

# The wheel and the sdist of a release (docs/releases.md), built by the locked build tools
# without build isolation; the wheel's file dates are the last commit's, so rebuilding a commit
# gives the same wheel, byte for byte. An old *.egg-info/ goes first: setuptools would reuse its
# file list.
dist: $(STAMP)
	rm -rf dist build *.egg-info
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 315532800) \
	    $(BIN)/python -m build --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) $(LATEST) .reconciler .pytest_cache .ruff_cache .hypothesis bench-results dist build
