# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make demo   set up .venv and run the main job against the embedded target
#   make test   set up .venv and run lint, type checks and the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench bench-baseline serve clean localstack conform-localstack clean-localstack matrix

# pip is quiet while it installs (about two minutes the first time): say what is going on.
$(STAMP): pyproject.toml constraints.txt
	@echo "make: setting up $(VENV): installing swfbench and its dependencies with pip, about 2 minutes the first time..."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)
	@echo "make: $(VENV) is ready"

# The main job on the embedded target: one activity heartbeated by hand, the conformance suite,
# and a short load run judged against the CI gates; the suite and the load run each leave their
# results and HTML report under reports/<run-id>/, and reports/index.html lists the runs.
demo: $(STAMP)
	$(BIN)/swfbench demo
	$(BIN)/swfbench conform
	$(BIN)/swfbench load --fleet scenarios/load/steady.yaml --run-time 20s --gates gates/ci.yaml

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# LocalStack's environment is built first (once per machine); where Python 3.13 is missing this
# says so in one line and the LocalStack tests report SKIPPED with that reason.
pytest: $(STAMP)
	$(BIN)/python -m swfbench.localstack build --if-possible
	$(BIN)/pytest

# LocalStack's own Python 3.13 environment, pinned by src/swfbench/data/localstack-constraints.txt:
# built once per machine under ~/.cache/swfbench/localstack (SWFBENCH_LOCALSTACK_HOME), rebuilt
# only when the pins change. `--engine localstack` builds it on first use too.
localstack: $(STAMP)
	$(BIN)/python -m swfbench.localstack build

# The conformance suite against LocalStack, judged by conformance/targets/localstack.yaml; the
# results and the report go to reports/<run-id>/.
conform-localstack: localstack
	$(BIN)/swfbench conform --engine localstack

# The emulator matrix: conformance and capacity of the engine, plain moto and LocalStack, one after
# another on this machine; writes the tables into README.md (about 8 minutes here).
matrix: localstack
	$(BIN)/python benchmarks/emulator_matrix.py --readme README.md

clean-localstack: $(STAMP)
	rm -rf "$$($(BIN)/python -c 'from swfbench.localstack import home; print(home())')"

# Micro-benchmarks of the per-heartbeat hot paths, as ratios to a calibration workload timed in
# the same run. `bench` fails when a ratio rose more than BENCH_MARGIN percent above
# benchmarks/micro/baseline.json; `bench-baseline` rewrites that file from a fresh run.
BENCH_JSON := .benchmarks/micro-run.json
BENCH_MARGIN ?= 25
# pytest-benchmark times nothing under xdist: the suite's addopts (-n 2) are left out here.
BENCH_RUN = mkdir -p $(dir $(BENCH_JSON)) && $(BIN)/pytest benchmarks/micro -q -o addopts= \
	--benchmark-json=$(BENCH_JSON) --benchmark-columns=min,median,rounds --benchmark-sort=name

bench: $(STAMP)
	$(BENCH_RUN)
	$(BIN)/python benchmarks/micro/compare.py --run $(BENCH_JSON) --margin $(BENCH_MARGIN)

bench-baseline: $(STAMP)
	$(BENCH_RUN)
	$(BIN)/python benchmarks/micro/compare.py --run $(BENCH_JSON) --write-baseline

serve: $(STAMP)
	$(BIN)/swfbench serve

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
