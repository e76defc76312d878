"""The region notebook under papermill and `chanlib report` end to end: real papermill, nbconvert and DuckDB."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from chanlib.config import load_params
from chanlib.report.html import external_references
from chanlib.report.runner import run_report

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "region_report.ipynb"
BIN = Path(sys.executable).parent


def _chanlib(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chanlib.cli", *args], capture_output=True, text=True, cwd=cwd)


def _assert_shareable(html: str) -> None:
    assert external_references(html) == []
    assert "<script src" not in html and "<link href" not in html and "@import" not in html
    for source in ("sections.open_region", "display(*sections", "import display"):
        assert source not in html  # no code input cell is shown


@pytest.fixture(scope="module")
def demo_run(demo_dir, tmp_path_factory):
    """`chanlib report` on the small demo, through the CLI as a scheduled run calls it."""
    out = tmp_path_factory.mktemp("reports")
    result = _chanlib("report", "--params", str(demo_dir / "params.yaml"), "--out", str(out), "--workers", "2",
                      cwd=tmp_path_factory.mktemp("cwd"))
    return result, out


def test_report_writes_index_and_every_region(demo_run, demo_dir):
    result, out = demo_run
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "latest" / "index.html")
    latest = out / "latest"
    assert latest.is_symlink() and (latest / "index.html").exists()
    manifest = json.loads((latest / "manifest.json").read_text())
    regions = sorted(r["region"] for r in manifest["results"])
    import pandas as pd

    assert regions == sorted(pd.read_csv(demo_dir / "sales.csv", usecols=["region"])["region"].unique())
    assert len(regions) >= 4
    index = (latest / "index.html").read_text()
    _assert_shareable(index)
    for r in manifest["results"]:
        assert r["status"] == "ok", r
        html = (latest / r["html"]).read_text()
        _assert_shareable(html)
        assert f'href="{r["html"]}"' in index
        assert f"{r['region']}: channel report" in html
        for section in ("Headline", "Monthly revenue by channel", "Channel mix", "Channel KPIs", "target attainment",
                        "channel roi", "Product fit", "Regional planning", "Period evaluation", "volume effect",
                        "Outlook", "backtest smape", "Segments", "Share of revenue", "About the data"):
            assert section in html
        assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 2  # both charts embedded
        assert "EUR" in html


def test_resume_renders_only_what_is_missing(demo_run, demo_dir):
    _, out = demo_run
    run_dir = (out / "latest").resolve()
    first = next(run_dir.glob("*.html"))
    if first.name == "index.html":
        first = sorted(p for p in run_dir.glob("*.html") if p.name != "index.html")[0]
    first.unlink()
    params = load_params(demo_dir / "params.yaml")
    summary = run_report(params, resume=True, out=out, workers=1)
    assert summary.run_dir.resolve() == run_dir
    assert first.exists() and not summary.failed
    done = {r.region: r.seconds for r in summary.results}
    assert len(done) == len(list(run_dir.glob("*.html"))) - 1


def test_region_notebook_runs_standalone_with_papermill_cli(demo_copy, tmp_path):
    out = tmp_path / "east.ipynb"
    result = subprocess.run([str(BIN / "papermill"), str(NOTEBOOK), str(out), "-p", "region", "East",
                             "-p", "params_path", str(demo_copy / "params.yaml")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "East: channel report" in text
    assert "image/png" in text
    assert (demo_copy / "chanlib.duckdb").exists()  # built on demand when run on its own


def test_region_notebook_parameters_are_documented():
    result = subprocess.run([str(BIN / "papermill"), "--help-notebook", str(NOTEBOOK)], capture_output=True, text=True)
    assert result.returncode == 0
    for name in ("region: str", "params_path: Optional[str]", "store_path: Optional[str]"):
        assert name in result.stdout


def test_superstore_renders_four_region_reports(superstore_csv, tmp_path):
    params = tmp_path / "superstore.yaml"
    params.write_text((ROOT / "params" / "superstore.yaml").read_text()
                      .replace("store: ../data/superstore.duckdb", f"store: {tmp_path / 'ss.duckdb'}")
                      .replace("out: ../reports", f"out: {tmp_path / 'reports'}"))
    result = _chanlib("report", "--params", str(params), "--data", f"sales={superstore_csv}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    latest = tmp_path / "reports" / "latest"
    pages = sorted(p.name for p in latest.glob("*.html"))
    assert pages == ["Central.html", "East.html", "South.html", "West.html", "index.html"]
    west = (latest / "West.html").read_text()
    _assert_shareable(west)
    assert "USD" in west and "Consumer" in west
    assert "backtest smape" in west  # the outlook runs on the levels the export has (region, channel)
    # the build's reason for leaving the segmentation out (MissingInput from the segment analysis)
    assert "Segments are left out: the sales table has no partner_id column" in west


def _tiny(tmp_path: Path, rows: list[str], notebook: Path | None = None) -> Path:
    (tmp_path / "sales.csv").write_text("date,region,channel,revenue,units,cost\n" + "\n".join(rows) + "\n")
    extra = f"  notebook: {notebook}\n" if notebook else ""
    params = tmp_path / "p.yaml"
    params.write_text(f"store: s.duckdb\ncurrency: GBP\ntables:\n  sales: {{path: sales.csv}}\n"
                      f"report:\n  out: reports\n  workers: 2\n{extra}")
    return params


def test_one_region_one_month_and_escaped_names(tmp_path):
    rows = ["2024-03-01,Nord <b>&amp; Sud</b>,<script>web</script>,100,1,60",
            "2024-03-02,Nord <b>&amp; Sud</b>,shop & co,50,2,40",
            "2024-03-05,Nord <b>&amp; Sud</b>,empty lane,0,0,0"]
    params = _tiny(tmp_path, rows)
    result = _chanlib("report", "--params", str(params), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pages = [p for p in (tmp_path / "reports" / "latest").glob("*.html") if p.name != "index.html"]
    assert len(pages) == 1
    html = pages[0].read_text()
    _assert_shareable(html)
    assert "<script>web" not in html and "<b>&amp;" not in html
    assert "&lt;script&gt;web&lt;/script&gt;" in html
    assert "cannot be computed" in html  # growth needs a year of history
    index = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert "Nord &lt;b&gt;&amp;amp; Sud&lt;/b&gt;" in index and "n/a" in index


def test_failing_region_does_not_stop_the_others(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('if region == "Bad":\n    raise RuntimeError("planted failure")'))
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    rows = [f"2024-0{m}-01,{r},web,{10 * m},1,5" for r in ("Good", "Bad") for m in range(1, 4)]
    params = _tiny(tmp_path, rows, notebook=broken)
    result = _chanlib("report", "--params", str(params), cwd=tmp_path)
    assert result.returncode == 1
    assert "region Bad failed: RuntimeError: planted failure" in result.stderr
    latest = tmp_path / "reports" / "latest"
    assert (latest / "Good.html").exists() and not (latest / "Bad.html").exists()
    assert (latest / "notebooks" / "Bad.ipynb").exists()
    index = (latest / "index.html").read_text()
    assert "failed" in index and 'href="notebooks/Bad.ipynb"' in index and "planted failure" in index


def test_unknown_region_is_a_one_line_error(tmp_path):
    params = _tiny(tmp_path, ["2024-01-01,North,web,10,1,5"])
    result = _chanlib("report", "--params", str(params), "--regions", "North,Atlantis", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "'Atlantis'" in errors[0] and "North" in errors[0]
    assert not (tmp_path / "reports" / "latest").exists()
