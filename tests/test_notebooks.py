"""Every notebook in notebooks/ (the examples too) runs top to bottom under papermill's own command line on the small
demo, and none of its outputs is an error. Each also shows what it is for (its chart, table or sentence).

The runs go to the background runner (tests/conftest.py) one after another, each in its own kernel; they read the
session's demo store with forecasts (``store_path``), so nothing is built again.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
BIN = Path(sys.executable).parent


def _name(path: Path) -> str:
    return path.relative_to(ROOT / "notebooks").as_posix()


def _run_all(background, folder: Path, store: Path) -> dict[str, object]:
    results = {}
    for notebook in NOTEBOOKS:
        out = folder / _name(notebook).replace("/", "__")
        args = [str(BIN / "papermill"), str(notebook), str(out), "--cwd", str(notebook.parent), "--no-progress-bar",
                "-p", "params_path", str(store.parent / "params.yaml"), "-p", "store_path", str(store)]
        if notebook.name == "region_report.ipynb":
            args += ["-p", "region", "North"]
        results[_name(notebook)] = background.run(args, folder)
    return results


def _start(request, background):
    folder = request.getfixturevalue("tmp_path_factory").mktemp("notebooks")
    store = request.getfixturevalue("demo_store_forecast_job").folder / "chanlib.duckdb"
    return background.call(folder, _run_all, background, folder, store)


#: this module's papermill runs start in the background after the store they read (tests/conftest.py)
BACKGROUND = {"notebook_runs": _start}
BACKGROUND_AFTER = "demo_store_forecast_job"


@pytest.fixture(scope="module")
def notebook_runs(request, background):
    return background.module_job(request, "notebook_runs")


#: what each notebook must show besides running cleanly (a regular expression over its outputs as JSON)
SHOWS = {
    "region_report.ipynb": r"North: channel report",
    "explorer.ipynb": r"<img class=\\\"chanlib-chart\\\" alt=\\\"Revenue by channel: all regions, per month",
    "overview.ipynb": r"all regions together are forecast to sell",
    "examples/forecast_your_series.ipynb": r"data:image/svg\+xml;base64,",
    "examples/segment_your_partners.ipynb": r"segment_name",
    "examples/compare_two_periods.ipynb": r"price_effect",
}


def test_the_notebooks_are_the_ones_tested():
    assert {_name(p) for p in NOTEBOOKS} == set(SHOWS)


@pytest.mark.parametrize("name", sorted(SHOWS))
def test_notebook_runs_top_to_bottom(notebook_runs, name: str):
    result = notebook_runs.result()[name]
    assert result.returncode == 0, result.stderr[-3000:]
    nb = nbformat.read(notebook_runs.folder / name.replace("/", "__"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    stderr = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") ==
                     "stderr")
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-2000:]
    assert re.search(SHOWS[name], json.dumps(outputs)), name
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "one cell tagged parameters, papermill's --help-notebook shows it"


def test_explorer_under_papermill_shows_a_static_default_view(notebook_runs):
    """The explorer's one output has the live widget and, for papermill and any viewer without widgets, the default
    view as HTML: the chart (with its alt text) and the table (latest month first, all regions)."""
    nb = nbformat.read(notebook_runs.folder / "explorer.ipynb", as_version=4)
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) == 1
    page = shown[0]["data"]["text/html"]
    assert '<img class="chanlib-chart" alt="Revenue by channel: all regions, per month. Lines' in page
    assert "data:image/svg+xml;base64," in page and "<th>Region</th>" in page
    assert re.search(r"<td>All regions</td>\s*<td>All channels</td>\s*<td>December 2025</td>", page)
