# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make demo   set up .venv and run the main job against the embedded target
#   make test   set up .venv and run lint, type checks and the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest serve clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The main job on the embedded target: one activity heartbeated by hand, the conformance suite,
# and a short load run; each leaves its results (and the suite its HTML report) under reports/.
demo: $(STAMP)
	$(BIN)/swfbench demo
	$(BIN)/swfbench conform
	$(BIN)/swfbench load --profile scenarios/load/steady.yaml --run-time 20s

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

serve: $(STAMP)
	$(BIN)/swfbench serve

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
