# The two commands a newcomer needs: `make demo` and `make test`. Both install first.
# The venv's interpreter: the system's CPython when it is 3.11 or newer and can make a venv,
# else the first python3 on the PATH; `make install PYTHON=...` chooses. Distributions build
# CPython with profile-guided and link-time optimization, which pyenv's and asdf's default
# builds leave out: on those the desk's worker spends about a third more CPU per quote
# (docs/decisions.md, "Performance").
SYSTEM_PYTHON := $(shell /usr/bin/python3 -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(sort $(wildcard plugins/*/pyproject.toml))
EDITABLES := -e ".[test]" $(foreach p,$(PLUGINS),-e $(dir $(p)))
STAMP := $(VENV)/.installed
# mypy finds each plugin's import package in its folder (editable installs hide them from it).
EMPTY :=
MYPYPATH := $(subst $(EMPTY) $(EMPTY),:,$(patsubst %/,%,$(dir $(PLUGINS))))

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml $(PLUGINS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLES)
	touch $(STAMP)

demo: install
	$(BIN)/otc demo

# Tests wait on sockets, subprocesses and timers more than on the CPU: one pytest worker per
# core (at most 4) runs the suite in about half the time. TEST_WORKERS=0 runs it in one process.
# By group: each browser test module (tests/pages) runs on one worker, which serves its desk once.
TEST_WORKERS ?= auto --maxprocesses=4 --dist loadgroup

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check otc_framework plugins tests bench
	MYPYPATH=$(MYPYPATH) $(BIN)/mypy otc_framework plugins

clean:
	rm -rf $(VENV) .otc-demo .pytest_cache
