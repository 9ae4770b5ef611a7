# `make demo` and `make test` each work on a fresh machine: they create the virtual
# environment, install the project (CPU torch pinned by constraints.txt), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= runs/demo

.PHONY: install test demo clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Two workers, one per core (tests/conftest.py gives each one torch thread); a file's tests stay
# on one worker, so its module fixtures are built once.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

demo: $(STAMP)
	$(VENV)/bin/simplepose demo --out $(DEMO_OUT)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
