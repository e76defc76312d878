# chanlib: `make report` and `make test` set everything up from nothing (venv, pinned packages, demo data).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chanlib-installed
DEMO   := data/demo/params.yaml

.PHONY: setup demo report test coverage lint lab bench clean chromium

setup: $(STAMP)

# The venv, chanlib (editable) and every dependency at the versions pinned in pyproject.toml and requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	@touch $@

# The small demo business (seed 42) that params/default.yaml reads; made again when the generator changed.
$(DEMO): chanlib/data/demo.py | $(STAMP)
	$(BIN)/chanlib demo --size small --seed 42 --out data/demo

demo: $(DEMO)

report: $(STAMP) $(DEMO)
	$(BIN)/chanlib report --params params/default.yaml

# Debian's Chromium for the JupyterLab browser test (tests/test_lab.py drives it with Playwright; nothing downloads a
# browser of its own): installed when missing and this user is root or may sudo, else that test is skipped and says why.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)) || \
		echo "chromium could not be installed with apt-get: the JupyterLab browser test will be skipped"; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
		echo "chromium could not be installed with sudo apt-get: the JupyterLab browser test will be skipped"; \
	else echo "chromium is missing and this user can install no package (not root, no sudo): the JupyterLab browser test will be skipped"; fi

# The test suite with line coverage of chanlib (the summary is printed at the end of the run).
test: $(STAMP) $(DEMO) chromium
	$(BIN)/python -m pytest --cov=chanlib --cov-report=term:skip-covered

# The same, with coverage counted in every process the tests start (papermill kernels, report and forecasting
# workers, command-line runs): slower than `make test`.
coverage: $(STAMP) $(DEMO) chromium
	$(BIN)/python -m pytest --cov=chanlib --cov-config=tests/coverage-all-processes.toml \
		--cov-report=term:skip-covered

# ruff (style, imports, common bugs) and mypy (types) over the package, the tests and the benchmarks.
lint: $(STAMP)
	$(BIN)/ruff check chanlib tests bench
	$(BIN)/mypy

# Every benchmark script, one result line each (slow: minutes each; see README "Benchmarks").
bench: $(STAMP)
	@for script in bench/kpi.py bench/forecast_m3.py bench/forecast_tourism.py bench/segment.py bench/partners.py \
		bench/explorer.py bench/alerts.py bench/recovery.py bench/report.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; done

# JupyterLab on notebooks/ with a `chanlib` kernel registered in the venv; the widget extension (ipywidgets 8,
# jupyterlab_widgets) comes with the pinned packages, nothing to enable by hand. The demo store is built (or found up
# to date) first, so the first notebook opens at once.
lab: $(STAMP) $(DEMO)
	$(BIN)/python -m ipykernel install --sys-prefix --name chanlib --display-name "chanlib (.venv)"
	$(BIN)/python -c "import chanlib; chanlib.open().close()"
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) data/demo data/*.duckdb data/*_rejects reports/*/ reports/latest
