"""The region notebook under papermill and `chanlib report` end to end: real papermill, nbconvert and DuckDB."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
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
def demo_params(demo_store_forecast) -> Path:
    """The params file of the session's small demo store with forecasts (the reports show the outlook)."""
    return Path(demo_store_forecast).parent / "params.yaml"


@pytest.fixture(scope="module")
def demo_run(demo_report):
    """`chanlib report` on the small demo through the CLI, as a scheduled run calls it: the session's run
    (tests/conftest.py, made in the background while other tests run). Read-only."""
    return demo_report.result, demo_report.out


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
        for section in ("Headline", "Monthly revenue by channel", "Channel mix", "Channel KPIs", "Target attainment",
                        "Channel ROI", "Product fit", "Regional planning", "Period evaluation", "Share shift",
                        "Outlook", "is forecast to sell", "No backtest in this run", "Segments", "Share of revenue",
                        "About the data"):
            assert section in html
        assert len(re.findall(r'<img[^>]+src="data:image/svg\+xml;base64,', html)) >= 2  # both charts embedded
        assert "No description has been provided" not in html  # every image has its own alt text
        assert "EUR" in html
        # what matters first: the title, one as-of paragraph, then the summary's two lists; the windows table and
        # the contents come after them
        body = html[html.index(f"{r['region']}: channel report</h1>"):]
        first = {mark: body.index(mark) for mark in ("What matters now", "Recommended adjustments", "<table",
                                                     'class="chanlib-toc"', 'id="About-the-data"')}
        assert first["What matters now"] < first["Recommended adjustments"] < first["<table"], first
        assert first["Recommended adjustments"] < first['class="chanlib-toc"'] < first['id="About-the-data"']


def test_run_has_a_definitions_page_that_every_report_links(demo_run):
    """definitions.html sits in the run folder, self-contained, generated from chanlib.analytics.definitions; the
    index and every region report link it relatively, and the channel KPIs carry the standard definitions."""
    from chanlib.analytics import definitions

    _, out = demo_run
    latest = out / "latest"
    page = (latest / "definitions.html").read_text()
    _assert_shareable(page)
    for key in ("sell_through_rate", "sell_out_to_sell_in", "hhi", "top_partner_share", "contribution_margin_pct",
                "channel_roi", "feedback_score"):
        d = definitions.get(key)
        assert f'<tr id="{key}"><td class="label">{d.label}</td>' in page, key
    assert "units sold ÷ (units sold + closing stock on hand)" in page
    assert 'href="definitions.html"' in (latest / "index.html").read_text()
    manifest = json.loads((latest / "manifest.json").read_text())
    for r in manifest["results"]:
        html = (latest / r["html"]).read_text()
        assert 'href="definitions.html"' in html, r["region"]
        for header in ("Contribution margin (pts)", "Partner HHI", "Top-N partner share", "Sell-through",
                       "Sell-out ÷ sell-in", "NPS"):
            assert f"<th>{header}</th>" in html, (r["region"], header)
        assert re.search(r"<td>\d+\.\d% \(top\xa0\d\)</td>", html)  # top-N share states its N
        assert re.search(r"<td>-?\d+ \(n\xa0=\xa0\d+\)</td>", html)  # NPS with its number of responses


def _stamp(path: Path) -> tuple[int, int, str]:
    """What changes when a file is written again: modification time, inode (a replaced file) and content."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_ino, hashlib.sha256(path.read_bytes()).hexdigest()


def test_resume_renders_only_what_is_missing(demo_run, demo_params, tmp_path):
    out = tmp_path / "reports"  # a copy of the session's run (its `latest` link too), to resume
    shutil.copytree(demo_run[1], out, symlinks=True)
    run_dir = (out / "latest").resolve()
    assert run_dir.parent == out
    before = json.loads((run_dir / "manifest.json").read_text())["results"]
    assert len(before) >= 4 and all(r["status"] == "ok" for r in before)
    files = {r["region"]: (run_dir / r["html"], run_dir / "notebooks" / r["notebook"]) for r in before}
    stamps = {path: _stamp(path) for pair in files.values() for path in pair}
    removed = before[0]["region"]
    html, notebook = files[removed]
    html.unlink()
    time.sleep(0.01)  # a page written again has a later mtime even on a coarse clock
    started = time.time_ns()
    summary = run_report(load_params(demo_params), resume=True, out=out, workers=1)
    assert summary.run_dir.resolve() == run_dir and not summary.failed
    # the removed region, and only it, is rendered again
    assert html.exists() and html.stat().st_mtime_ns >= started and notebook.stat().st_mtime_ns >= started
    for region, pair in files.items():
        if region != removed:
            for path in pair:
                assert _stamp(path) == stamps[path], f"{path.name} of {region} was written again"
    # the finished regions keep their records (and times) from the first run; no other page appeared
    after = {r.region: asdict(r) for r in summary.results}
    assert sorted(after) == sorted(files)
    for record in before:
        if record["region"] != removed:
            assert after[record["region"]] == record
    assert after[removed]["status"] == "ok" and after[removed]["html"] == html.name
    pages = {p for p in run_dir.glob("*.html")
             if p.name not in ("index.html", "definitions.html", "overview.html", "quality.html")}
    assert pages == {pair[0] for pair in files.values()}
    assert set((run_dir / "notebooks").iterdir()) - {run_dir / "notebooks" / "overview.ipynb"} == {
        pair[1] for pair in files.values()}


def _start_standalone_run(request, background):
    """papermill's own command line on a copy of the small demo without a store (runs in the background)."""
    folder = request.getfixturevalue("tmp_path_factory").mktemp("standalone")
    demo = request.getfixturevalue("copy_small_demo")(folder / "demo")
    return background.command([str(BIN / "papermill"), str(NOTEBOOK), str(folder / "east.ipynb"), "-p", "region",
                               "East", "-p", "params_path", str(demo / "params.yaml")], folder)


@pytest.fixture(scope="module")
def standalone_run(request, background):
    return background.module_job(request, "standalone_run")


def test_region_notebook_runs_standalone_with_papermill_cli(standalone_run):
    result, folder = standalone_run.result(), standalone_run.folder
    demo_copy, out = folder / "demo", folder / "east.ipynb"
    assert result.returncode == 0, result.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "East: channel report" in text
    assert "data:image/svg+xml;base64," in text
    assert (demo_copy / "chanlib.duckdb").exists()  # built on demand when run on its own


def test_region_notebook_parameters_are_documented():
    result = subprocess.run([str(BIN / "papermill"), "--help-notebook", str(NOTEBOOK)], capture_output=True, text=True)
    assert result.returncode == 0
    for name in ("region: str", "params_path: Optional[str]", "store_path: Optional[str]"):
        assert name in result.stdout


def test_superstore_renders_four_region_reports(superstore_report):
    # the session's run (tests/conftest.py): `chanlib report --data sales=superstore.csv` on its Superstore store
    result = superstore_report.result
    assert result.returncode == 0, result.stderr
    latest = superstore_report.out / "latest"
    pages = sorted(p.name for p in latest.glob("*.html"))
    assert pages == ["Central.html", "East.html", "South.html", "West.html", "definitions.html", "index.html",
                     "overview.html", "quality.html"]
    west = (latest / "West.html").read_text()
    _assert_shareable(west)
    assert "USD" in west and "Consumer" in west
    assert "is forecast to sell" in west  # the outlook runs on the levels the export has (region, channel)
    # the build's reason for leaving the segmentation out (MissingInput from the segment analysis)
    assert "Segments are left out: the sales table has no partner_id column" in west
    # Superstore maps Profit (not cost): its margin is labelled profit, never gross margin
    assert "Profit</div>" in west and "at a profit margin of" in west and "Gross margin" not in west
    assert "<th class=\"num\">Profit margin</th>" in (latest / "index.html").read_text()
    assert "Margins are the export&#39;s profit column" in (latest / "definitions.html").read_text()


def _tiny(tmp_path: Path, rows: list[str], notebook: Path | None = None) -> Path:
    (tmp_path / "sales.csv").write_text("date,region,channel,revenue,units,cost\n" + "\n".join(rows) + "\n")
    extra = f"  notebook: {notebook}\n" if notebook else ""
    params = tmp_path / "p.yaml"
    params.write_text(f"store: s.duckdb\ncurrency: GBP\ntables:\n  sales: {{path: sales.csv}}\n"
                      f"report:\n  out: reports\n  workers: 2\n{extra}")
    return params


def _start_one_region_run(request, background):
    """`chanlib report` on one region with one month of sales and names to escape (runs in the background)."""
    folder = request.getfixturevalue("tmp_path_factory").mktemp("one_region")
    rows = ["2024-03-01,Nord <b>&amp; Sud</b>,<script>web</script>,100,1,60",
            "2024-03-02,Nord <b>&amp; Sud</b>,shop & co,50,2,40",
            "2024-03-05,Nord <b>&amp; Sud</b>,empty lane,0,0,0"]
    params = _tiny(folder, rows)
    return background.command([sys.executable, "-m", "chanlib.cli", "report", "--params", str(params)], folder)


@pytest.fixture(scope="module")
def one_region_run(request, background):
    return background.module_job(request, "one_region_run")


def test_one_region_one_month_and_escaped_names(one_region_run):
    result, tmp_path = one_region_run.result(), one_region_run.folder
    assert result.returncode == 0, result.stderr
    pages = [p for p in (tmp_path / "reports" / "latest").glob("*.html")
             if p.name not in ("index.html", "definitions.html", "overview.html", "quality.html")]
    assert len(pages) == 1
    overview = (tmp_path / "reports" / "latest" / "overview.html").read_text()  # the overview copes with it too
    _assert_shareable(overview)
    assert "<b>&amp;" not in overview and "Nord &lt;b&gt;&amp;amp; Sud&lt;/b&gt;" in overview
    html = pages[0].read_text()
    _assert_shareable(html)
    assert "<script>web" not in html and "<b>&amp;" not in html
    assert "&lt;script&gt;web&lt;/script&gt;" in html
    assert "too little data" in html and "do not reach back" in html  # growth needs a year of history
    index = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert "Nord &lt;b&gt;&amp;amp; Sud&lt;/b&gt;" in index and "too little data" in index


# (a region that fails while the others go on: tests/test_faults.py)


def test_unknown_region_is_a_one_line_error(tmp_path):
    params = _tiny(tmp_path, ["2024-01-01,North,web,10,1,5"])
    result = _chanlib("report", "--params", str(params), "--regions", "North,Atlantis", cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "'Atlantis'" in errors[0] and "North" in errors[0]
    assert not (tmp_path / "reports" / "latest").exists()


#: the runs of this module that start in the background as the session starts (see tests/conftest.py), queued after
#: the session's report runs
BACKGROUND = {"standalone_run": _start_standalone_run, "one_region_run": _start_one_region_run}
BACKGROUND_AFTER = "superstore_report_job"
