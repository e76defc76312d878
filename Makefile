# chanlib: `make report` and `make test` set everything up from nothing (venv, pinned packages, demo data).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chanlib-installed
DEMO   := data/demo/params.yaml

.PHONY: setup demo report test coverage lint lab bench clean

setup: $(STAMP)

# The venv, chanlib (editable) and every dependency at the versions pinned in pyproject.toml and requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	@touch $@

# The small demo business (seed 42) that params/default.yaml reads.
$(DEMO): | $(STAMP)
	$(BIN)/chanlib demo --size small --seed 42 --out data/demo

demo: $(DEMO)

report: $(STAMP) $(DEMO)
	$(BIN)/chanlib report --params params/default.yaml

# The test suite with line coverage of chanlib (the summary is printed at the end of the run).
test: $(STAMP) $(DEMO)
	$(BIN)/python -m pytest --cov=chanlib --cov-report=term:skip-covered

# The same, with coverage counted in every process the tests start (papermill kernels, report and forecasting
# workers, command-line runs): slower than `make test`.
coverage: $(STAMP) $(DEMO)
	$(BIN)/python -m pytest --cov=chanlib --cov-config=tests/coverage-all-processes.toml \
		--cov-report=term:skip-covered

# ruff (style, imports, common bugs) and mypy (types) over the package, the tests and the benchmarks.
lint: $(STAMP)
	$(BIN)/ruff check chanlib tests bench
	$(BIN)/mypy

# Every benchmark script, one result line each (slow: minutes each; see README "Benchmarks").
bench: $(STAMP)
	@for script in bench/kpi.py bench/forecast_m3.py bench/forecast_tourism.py bench/segment.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

# JupyterLab with a `chanlib` kernel registered in the venv.
lab: $(STAMP) $(DEMO)
	$(BIN)/python -m ipykernel install --sys-prefix --name chanlib --display-name "chanlib (.venv)"
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) data/demo data/*.duckdb data/*_rejects reports/*/ reports/latest
