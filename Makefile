# `make demo` and `make test` each work on a fresh machine: they create the virtual
# environment, install the project (CPU torch pinned by constraints.txt), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= runs/demo

.PHONY: install lint test demo docs docs-reference clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,docs]'
	@# The browser test of `simplepose serve`'s page drives Debian's headless Chromium (it skips without).
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v chromedriver >/dev/null; then \
		(apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null) || echo "install: chromium not installed (the browser test will skip)"; fi
	touch $(STAMP)

install: $(STAMP)

# The linter, the format check and the type checker (pyproject.toml's [tool.ruff] and [tool.mypy];
# the same pinned versions as .pre-commit-config.yaml): a finding fails `make test` too.
lint: $(STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(PY) -m mypy src/simplepose

# The linters (mypy: ~30 s from a cold .mypy_cache, under a second warm) and the manual (seconds;
# --strict) first, then the tests, so that pytest's summary is the last line.
# Two workers, one per core (tests/conftest.py gives each one torch thread); a file's tests stay
# on one worker, so its module fixtures are built once.
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory docs
	$(PY) -m pytest -q -n 2 --dist loadfile

# The manual (docs/, MkDocs + Material) into build/site/: open build/site/index.html.
# --strict: a broken link, anchor or API reference, or a page left out of the nav, fails.
# The docs extra's pinned MkDocs packages need Python 3.11+; an older Python skips the build
# and says so (its tests still run).
docs: $(STAMP)
	@if $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
		NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict; \
	else echo "docs: not built here (the docs extra needs Python 3.11+)"; fi

# docs/cli.md and docs/zoo.md from the argparse parsers and the zoo's table
# (tests/test_docs.py fails while the committed pages differ from what this writes).
docs-reference: $(STAMP)
	$(PY) docs/gen_reference.py

demo: $(STAMP)
	$(VENV)/bin/simplepose demo --out $(DEMO_OUT)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
