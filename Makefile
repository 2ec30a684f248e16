# Two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BASTION := $(VENV)/bin/bastion

.PHONY: run test lint bench clean install docs fuzz

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The example extensions are installed as an operator installs an extension (a wheel, not
# an editable checkout) and reinstalled whenever one of their files changes. The tests
# and lint-imports (whose contracts name their packages) need them importable.
install: $(VENV)/.installed $(VENV)/.examples-installed

EXAMPLES := $(wildcard examples/extensions/*)
EXAMPLE_SOURCES := $(shell find $(EXAMPLES) -type f -not -path '*/__pycache__/*')

$(VENV)/.examples-installed: $(VENV)/.installed $(EXAMPLE_SOURCES)
	$(PY) -m pip install -q --no-deps --no-build-isolation --force-reinstall $(EXAMPLES)
	touch $@

run: $(VENV)/.installed
	$(BASTION) db migrate
	$(BASTION) serve

test: $(VENV)/.examples-installed
	$(PY) -m pytest -q

# The schema fuzzer with a long budget (CI runs BASTION_FUZZ_EXAMPLES' default of 25).
FUZZ_EXAMPLES ?= 2000
fuzz: $(VENV)/.examples-installed
	BASTION_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/fuzz

lint: $(VENV)/.examples-installed
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/mypy src
	$(VENV)/bin/mypy $(addsuffix /src,$(EXAMPLES))
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed
	$(PY) -m bench.compare

clean:
	rm -rf $(VENV) .bastion

docs: $(VENV)/.installed
	$(PY) -c "import pathlib, re; from bastion.runtime.namespaces import reference as r; p = pathlib.Path('docs/configuration.md'); s = p.read_text(); i = s.index('<!-- BEGIN GENERATED REFERENCE'); p.write_text(s[:i] + r(builtin=True))"
