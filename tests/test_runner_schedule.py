"""``chanlib report`` as a scheduler runs it (issue #12): pages reused when nothing changed, one run at a time per
reports folder, ``latest`` moved only by a finished run, the end-of-run table on stderr, warm kernels, and the
data-quality page (a run killed with SIGKILL and its ``--resume``: tests/test_faults.py).

Everything is real: papermill, the kernels, nbconvert, DuckDB and the command line. The notebooks are tiny ones
written here (a ``parameters`` cell and a cell that reads the region's sales from the store, plus a planted
failure), so that a page renders in about a second. The command-line runs that need no test in between (the lock)
run in the session's background (tests/conftest.py) while the in-process tests go on.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import runs

from chanlib.config import load_params
from chanlib.report.runner import RUNNING, page_key, run_report, summary_table

#: a region notebook's planted failure (a cell error: the page fails, the others go on)
FAIL_CELL = 'if region == "Bad":\n    raise RuntimeError("planted failure")\n'


def chanlib_command(*args: str) -> list[str]:
    """``chanlib ARGS`` as a scheduled run calls it, with this interpreter."""
    return [sys.executable, "-m", "chanlib.cli", *args]


def write_notebook(path: Path, *cells: str) -> Path:
    """A tiny region (or overview) notebook: a heading, the parameters, ``runs.READ_CELL`` and ``cells``."""
    return runs.write_notebook(path, *cells)


def sales(regions: tuple[str, ...] = ("East", "West")) -> pd.DataFrame:
    """A year of monthly sales in two channels per region."""
    return pd.DataFrame([{"date": f"2024-{m:02d}-05", "region": r, "channel": ch, "revenue": 100.0 * m + i,
                          "units": m, "cost": 50.0 * m}
                         for i, r in enumerate(regions) for m in range(1, 13) for ch in ("web", "shop")])


#: the report settings of every project here: the tiny notebook (its overview.ipynb beside it), one worker
REPORT_YAML = "report:\n  notebook: tiny.ipynb\n  out: reports\n  workers: 1\n  min_region_share: 0.01\n"


def write_project(folder: Path, frame: pd.DataFrame, *cells: str) -> Path:
    """The inputs a command-line run builds its store from (as ``make_store`` writes them): ``sales.csv``, the tiny
    notebooks (``cells`` planted in the region one) and ``p.yaml``; returns the params file."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "sales.csv", index=False)
    write_notebook(folder / "tiny.ipynb", *cells)
    write_notebook(folder / "overview.ipynb")
    params = folder / "p.yaml"
    params.write_text("store: store.duckdb\ncurrency: EUR\nforecast: {enabled: false}\n"
                      "validation: {max_reject_share: 0.5}\n"
                      "tables:\n  sales:\n    path: sales.csv\n    date_format: '%Y-%m-%d'\n" + REPORT_YAML,
                      encoding="utf-8")
    return params


def _stamp(path: Path) -> tuple[int, int, bytes]:
    """What changes when a file is written again: modification time, inode and content."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_ino, path.read_bytes()


def _statuses(table: str) -> dict[str, tuple[str, float]]:
    """page -> (status, seconds) of a :func:`summary_table` (its rows after the header)."""
    rows = {}
    for line in table.splitlines():
        match = re.match(r"^(\S+)\s+(rendered|skipped|failed)\s+(\d+\.\d)(?:\s+.*)?$", line)
        if match:
            rows[match[1]] = (match[2], float(match[3]))
    return rows


def _pages(run_dir: Path) -> list[str]:
    """The report pages of a run folder and their executed notebooks."""
    return sorted(p.relative_to(run_dir).as_posix() for p in [*run_dir.glob("*.html"), *run_dir.glob("notebooks/*")]
                  if p.name not in ("index.html", "definitions.html", "quality.html"))


# -- what a page depends on -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "same"), [
    ({"report": {"out": "elsewhere"}}, True),  # where or how fast the run writes: the same pages
    ({"report": {"workers": 7}}, True),
    ({"report": {"min_region_share": 0.2}}, False),
    ({"display": {"channels": {"web": "Web shop"}}}, False),
    ({"currency": "GBP"}, False),
    ({"notebook": "changed"}, False),
    ({"fingerprint": "other data"}, False),
    ({"template": "changed"}, False),  # the HTML templates (CSS)
    ({"report code": "changed"}, False),  # a chart or a sentence: the report layer is not in the store's fingerprint
])
def test_page_key_changes_with_what_shapes_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  change: dict[str, Any], same: bool) -> None:
    from chanlib.report import runner

    report_code = tmp_path / "report"
    shutil.copytree(runner.REPORT_CODE, report_code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runner, "REPORT_CODE", report_code)
    templates = report_code / "templates"
    params_file = write_project(tmp_path, sales())
    notebook = tmp_path / "tiny.ipynb"
    params = load_params(params_file)
    meta = {"fingerprint": {"inputs": "x", "params_sha256": "y"}}
    before = page_key(notebook, params, meta, "East")
    assert before == page_key(notebook, load_params(params_file), dict(meta), "East")  # deterministic
    assert before != page_key(notebook, params, meta, "West")  # a page of its own
    if "notebook" in change:
        write_notebook(notebook, "1 + 1")
    if "fingerprint" in change:
        meta = {"fingerprint": {"inputs": "z", "params_sha256": "y"}}
    if "template" in change:
        css = templates / "chanlib_report" / "index.html.j2"
        css.write_text(css.read_text(encoding="utf-8").replace("max-width: 1100px", "max-width: 1000px"),
                       encoding="utf-8")
    if "report code" in change:
        plots = report_code / "plots.py"
        plots.write_text(plots.read_text(encoding="utf-8").replace("FIGSIZE = (9.0, 4.2)", "FIGSIZE = (9.0, 4.0)"),
                         encoding="utf-8")
    data = params.model_dump(mode="json", exclude_none=True)
    for key, value in change.items():
        if key in ("notebook", "fingerprint", "template", "report code"):
            continue
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    after = page_key(notebook, type(params).model_validate(data), meta, "East")
    assert (after == before) is same


# -- incremental runs (in this process) -------------------------------------------------------------------------------

def test_unchanged_rerun_reuses_every_page_and_a_change_renders_again(make_store, tmp_path: Path) -> None:
    make_store(tmp_path, sales=sales()).close()
    write_notebook(tmp_path / "tiny.ipynb")
    write_notebook(tmp_path / "overview.ipynb")
    params_file = tmp_path / "p.yaml"
    params_file.write_text(params_file.read_text(encoding="utf-8") + REPORT_YAML, encoding="utf-8")
    out = tmp_path / "reports"

    first = run_report(load_params(params_file))
    statuses = _statuses(summary_table(first))
    assert {k: s for k, (s, _) in statuses.items()} == {"East": "rendered", "West": "rendered", "overview": "rendered"}
    assert all(seconds > 0 for _, seconds in statuses.values())
    assert "East: 24 rows, revenue 15600" in (first.run_dir / "East.html").read_text()  # 2 × (100+…+1200)

    # nothing changed: every page reused, byte for byte, in a new run folder that becomes latest
    second = run_report(load_params(params_file))
    assert second.run_dir != first.run_dir and os.readlink(out / "latest") == second.run_dir.name
    table = summary_table(second)
    assert _statuses(table) == {"East": ("skipped", 0.0), "West": ("skipped", 0.0), "overview": ("skipped", 0.0)}
    manifest = json.loads((second.run_dir / "manifest.json").read_text())
    assert [r["skipped"] for r in manifest["results"]] == [True, True] and manifest["overview"]["skipped"] is True
    assert [r["key"] for r in manifest["results"]] == [r.key for r in first.results]
    assert _pages(second.run_dir) == _pages(first.run_dir) == [
        "East.html", "West.html", "notebooks/East.ipynb", "notebooks/West.ipynb", "notebooks/overview.ipynb",
        "overview.html"]
    for page in _pages(first.run_dir):
        assert (second.run_dir / page).read_bytes() == (first.run_dir / page).read_bytes(), page
    index = (second.run_dir / "index.html").read_text()
    assert 'href="East.html"' in index and 'href="West.html"' in index and 'href="overview.html"' in index
    assert not (second.run_dir / RUNNING).exists()

    # a changed region notebook renders the regions again (a params change: tests/test_faults.py and
    # test_page_key_changes_with_what_shapes_a_page), not the overview (its own notebook is unchanged)
    write_notebook(tmp_path / "tiny.ipynb", "display(HTML('<p>second edition</p>'))")
    third = run_report(load_params(params_file))
    statuses = _statuses(summary_table(third))
    assert {k: s for k, (s, _) in statuses.items()} == {"East": "rendered", "West": "rendered",
                                                        "overview": "skipped"}
    assert "second edition" in (third.run_dir / "East.html").read_text()
    assert (third.run_dir / "overview.html").read_bytes() == (first.run_dir / "overview.html").read_bytes()

    # --force renders everything, though nothing changed
    fourth = run_report(load_params(params_file), force=True)
    assert {s for s, _ in _statuses(summary_table(fourth)).values()} == {"rendered"}
    assert fourth.overview is not None and not any(r.skipped for r in [*fourth.results, fourth.overview])
    assert os.readlink(out / "latest") == fourth.run_dir.name
    assert _pages(fourth.run_dir) == _pages(first.run_dir)

    # --resume of a killed run whose recorded page was made from other inputs (older data, params or notebook):
    # that page is not kept; like the pages the killed run never got to, it comes from the last finished run
    killed = out / "20000101-000000"
    (killed / "notebooks").mkdir(parents=True)
    (killed / RUNNING).write_text("started by a run that was killed\n")
    for page in ("East.html", "notebooks/East.ipynb"):
        (killed / page).write_bytes(b"made from older data")
    record = {**asdict(fourth.results[0]), "key": "0123456789abcdef"}
    (killed / "notebooks" / "East.result.json").write_text(json.dumps(record))
    resumed = run_report(load_params(params_file), resume=True)
    assert resumed.run_dir == killed and os.readlink(out / "latest") == killed.name
    statuses = _statuses(summary_table(resumed))
    assert statuses == {"East": ("skipped", 0.0), "West": ("skipped", 0.0), "overview": ("skipped", 0.0)}
    for page in _pages(fourth.run_dir):
        assert (killed / page).read_bytes() == (fourth.run_dir / page).read_bytes(), page
    assert not (killed / RUNNING).exists()

    # a --resume of the latest run in its own folder, killed in turn, is resumed there: under its own name, not as
    # `latest` (the link would end up pointing at itself)
    (killed / RUNNING).write_text("started by a resume that was killed\n")
    again = run_report(load_params(params_file), resume=True)
    assert again.run_dir.name == killed.name and os.readlink(out / "latest") == killed.name
    assert (out / "latest" / "index.html").exists() and f"Run {killed.name}" in (killed / "index.html").read_text()


# -- warm kernels -----------------------------------------------------------------------------------------------------

def _output(nb: Any) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_warm_kernel_forgets_between_notebooks_and_replaces_a_dead_kernel(tmp_path: Path) -> None:
    from nbclient.exceptions import DeadKernelError

    from chanlib.report.kernels import WarmKernel

    def notebook(name: str, code: str) -> Path:
        parameters = nbformat.v4.new_code_cell('tag = ""')
        parameters.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / name)
        return tmp_path / name

    first = notebook("first.ipynb", "import os, fractions\nsecret = 42\nprint('pid', os.getpid(), tag)")
    second = notebook("second.ipynb", "import os, sys\nprint('pid', os.getpid(), tag)\n"
                                      "print('secret' in dir(), 'fractions' in dir(), 'fractions' in sys.modules)")
    dies = notebook("dies.ipynb", "import os\nos._exit(3)")
    with WarmKernel(tmp_path) as kernel:
        one = _output(kernel.execute(first, tmp_path / "out1.ipynb", {"tag": "one"}))
        two = _output(kernel.execute(second, tmp_path / "out2.ipynb", {"tag": "two"}))
        pid = re.search(r"pid (\d+) one", one)
        assert pid, one
        # the same kernel (its imports stay loaded), but none of the first notebook's names
        assert f"pid {pid[1]} two\nFalse False True\n" in two, two
        with pytest.raises(DeadKernelError, match="Kernel died"):
            kernel.execute(dies, tmp_path / "out3.ipynb", {"tag": "three"})
        assert not kernel.alive
        three = _output(kernel.execute(second, tmp_path / "out4.ipynb", {"tag": "four"}))
        fresh = re.search(r"pid (\d+) four\nFalse False False\n", three)  # a new kernel: nothing imported before
        assert fresh and fresh[1] != pid[1], three
        assert kernel.alive
        # a cell that outlives its timeout leaves the kernel busy: it is replaced, not waited for
        slow = notebook("slow.ipynb", "import time\ntime.sleep(60)")
        with pytest.raises(Exception, match="(?i)timed? ?out"):
            kernel.execute(slow, tmp_path / "out5.ipynb", {"tag": "five"}, timeout=2)
        started = time.perf_counter()
        after = _output(kernel.execute(second, tmp_path / "out6.ipynb", {"tag": "six"}))
        assert "six\nFalse False False\n" in after and time.perf_counter() - started < 30, after


# -- what a worker and a kernel load ----------------------------------------------------------------------------------

def test_a_report_worker_renders_a_page_without_the_data_libraries(make_store, tmp_path: Path) -> None:
    """The data work happens in the kernel: a worker process that rendered a page (papermill, nbconvert) has not
    loaded pandas, matplotlib or scikit-learn, nor the optional modules it skips (``render.UNUSED_IMPORTS``)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from chanlib.report.render import UNUSED_IMPORTS, render_region, worker_init

    make_store(tmp_path, sales=sales()).close()
    notebook = write_notebook(tmp_path / "tiny.ipynb")
    (tmp_path / "run" / "notebooks").mkdir(parents=True)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=worker_init,
                             initargs=(os.getpid(),)) as pool:
        result = pool.submit(render_region, str(notebook), str(tmp_path / "run"), "East", "East",
                             str(tmp_path / "p.yaml"), str(tmp_path / "store.duckdb"), 60).result()
        loaded = set(pool.submit(runs.imported_modules).result())
    assert result.status == "ok", result.error
    assert "East: 24 rows" in (tmp_path / "run" / "East.html").read_text(encoding="utf-8")
    assert {"papermill", "nbconvert", "nbformat"} <= loaded
    assert not loaded & {"pandas", "matplotlib", "sklearn", "scipy", "duckdb", *UNUSED_IMPORTS}


def test_the_report_notebook_imports_no_fitting_library() -> None:
    """A region report reads fitted results from the store: importing what its cells import loads neither
    scikit-learn nor statsmodels' models (a second or more at every kernel start; seaborn only asks statsmodels for
    its version)."""
    code = ("import sys\nimport chanlib.report.sections, chanlib.report.summary\n"
            "print(sorted(m for m in ('sklearn', 'statsmodels.api', 'statsmodels.tsa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- command-line runs in the background: the lock ---------------------------------------------------------------------

def _runs(out: Path) -> list[Path]:
    """The run folders of a reports folder, oldest first (not ``latest``)."""
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _locked_runs(folder: Path, background: Any) -> dict[str, Any]:
    """Hold the reports folder's lock (as a running report would), run ``chanlib report --no-wait``, then start a
    waiting ``chanlib report``, release the lock once it says it waits, and let it finish; then an unchanged rerun.
    Returns the processes and what the folder held at each step."""
    from chanlib.io import exclusive

    params, out = folder / "p.yaml", folder / "reports"
    report = chanlib_command("report", "--params", str(params))
    steps: dict[str, Any] = {}
    err = folder / "waiting.stderr"
    proc: subprocess.Popen | None = None
    try:
        with exclusive(out / ".lock"):
            steps["busy"] = background.run([*report, "--no-wait"], folder)
            steps["after_busy"] = _listing(out)
            with err.open("w") as fh:
                proc = subprocess.Popen(report, cwd=folder, stdout=subprocess.PIPE, stderr=fh, text=True)
            deadline = time.monotonic() + 180
            while "waiting for" not in err.read_text() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # still waiting half a second later, having written nothing
            steps["while_waiting"] = _listing(out)
            steps["released"] = time.time()
        stdout, _ = proc.communicate(timeout=600)
        steps["waited"] = subprocess.CompletedProcess(report, proc.returncode, stdout, err.read_text())
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    steps["rerun"] = background.run(report, folder)
    with exclusive(out / ".lock"):  # once more, now that there is a latest run
        steps["before_busy_again"] = (_listing(out), os.readlink(out / "latest"))
        steps["busy_again"] = background.run([*report, "--no-wait"], folder)
        steps["after_busy_again"] = (_listing(out), os.readlink(out / "latest"))
    return steps


#: the sales rows ingest sets aside (with a reason) in the lock test's project, after its good rows
BAD_DATES = [f"2024-13-{d:02d}" for d in range(1, 8)]  # 7 rows: more than the five examples shown
HOSTILE = "<img src=x onerror=alert(1)>"


def _start_locked_runs(request: pytest.FixtureRequest, background: Any) -> Any:
    folder = request.getfixturevalue("tmp_path_factory").mktemp("locked") / "project"
    good = sales(("Bad", "East", "West"))
    bad = pd.DataFrame([{**good.iloc[0].to_dict(), "date": d} for d in BAD_DATES]
                       + [{**good.iloc[1].to_dict(), "region": "<b>Bold</b>", "revenue": HOSTILE},
                          good.iloc[2].to_dict()])  # the last one repeats row 4: a duplicate line
    write_project(folder, pd.concat([good, bad], ignore_index=True), FAIL_CELL)
    return background.call(folder, _locked_runs, folder, background)


@pytest.fixture(scope="module")
def locked_runs(request: pytest.FixtureRequest, background: Any) -> Any:
    return background.module_job(request, "locked_runs")


def test_no_wait_exits_1_naming_the_lock_and_writes_nothing(locked_runs: Any) -> None:
    steps, out = locked_runs.result(), locked_runs.folder / "reports"
    busy = steps["busy"]
    assert busy.returncode == 1 and busy.stdout == ""
    assert "Traceback" not in busy.stderr
    lines = [line for line in busy.stderr.splitlines() if "ERROR" in line]  # (the inputs are checked first: info lines)
    assert len(lines) == 1, busy.stderr
    assert lines[0].startswith("chanlib ERROR: ") and f"{out / '.lock'}: a report run is in progress" in lines[0]
    assert f"pid {os.getpid()} since " in lines[0] and "--no-wait" in lines[0]
    assert steps["after_busy"] == [".lock"]  # no run folder, no latest
    # with finished runs there: no new run folder, latest unchanged
    again = steps["busy_again"]
    assert again.returncode == 1 and f"{out / '.lock'}: a report run is in progress" in again.stderr
    assert steps["after_busy_again"] == steps["before_busy_again"]
    assert len(steps["after_busy_again"][0]) == 4  # .lock, two runs, latest


def test_a_second_run_waits_for_the_lock_then_finishes(locked_runs: Any) -> None:
    steps, out = locked_runs.result(), locked_runs.folder / "reports"
    waited = steps["waited"]
    assert f"{out / '.lock'}: waiting for a report run to finish (pid {os.getpid()} since " in waited.stderr
    assert re.search(r"lock acquired after \d+ s", waited.stderr), waited.stderr
    assert steps["while_waiting"] == [".lock"]  # it wrote nothing before it had the lock
    first_run = _runs(out)[0]
    assert (first_run / "params.yaml").stat().st_mtime >= steps["released"] - 0.05
    assert (first_run / "manifest.json").exists() and not (first_run / RUNNING).exists()
    assert waited.returncode == 1  # it finished; one region failed (planted), so the exit code says so


def test_end_of_run_table_on_stderr_and_the_index_path_on_stdout(locked_runs: Any) -> None:
    steps, out = locked_runs.result(), locked_runs.folder / "reports"
    waited, rerun = steps["waited"], steps["rerun"]
    for run in (waited, rerun):
        assert run.stdout.splitlines() == [str(out / "latest" / "index.html")], run.stdout
        assert re.search(r"^page\s+status\s+seconds$", run.stderr, re.M), run.stderr[-3000:]
    first = _statuses(waited.stderr)
    assert {k: s for k, (s, _) in first.items()} == {"Bad": "failed", "East": "rendered", "West": "rendered",
                                                    "overview": "rendered"}
    assert all(seconds > 0 for _, seconds in first.values())
    assert re.search(r"^Bad\s+failed\s+\d+\.\d  RuntimeError: planted failure$", waited.stderr, re.M)
    # the unchanged rerun reuses what rendered; a failed page is never reused, so it runs (and fails) again
    again = _statuses(rerun.stderr)
    assert again == {"Bad": ("failed", pytest.approx(again["Bad"][1])), "East": ("skipped", 0.0),
                     "West": ("skipped", 0.0), "overview": ("skipped", 0.0)}
    assert again["Bad"][1] > 0 and rerun.returncode == 1
    runs = _runs(out)
    assert len(runs) == 2 and os.readlink(out / "latest") == runs[1].name


def test_cron_log_has_the_real_errors_and_no_kernel_noise(locked_runs: Any) -> None:
    steps = locked_runs.result()
    for run in (steps["waited"], steps["rerun"]):
        assert "without encryption" not in run.stderr and "TCP" not in run.stderr
        assert "region Bad failed: RuntimeError: planted failure" in run.stderr
        assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_quality_page_lists_rejected_rows_with_examples_and_the_rejects_file(locked_runs: Any) -> None:
    steps, latest = locked_runs.result(), locked_runs.folder / "reports" / "latest"
    assert steps["waited"].returncode is not None
    page = (latest / "quality.html").read_text()
    assert 'href="quality.html"' in (latest / "index.html").read_text()
    n_good = 3 * 24
    rejects = pd.read_csv(latest / "rejects" / "sales.csv", dtype=str, keep_default_na=False)
    # rows counted like a spreadsheet: the header is row 1, the good rows 2..73, then the planted ones
    expected = {"unparseable_date": [str(n_good + 2 + i) for i in range(7)],
                "unparseable_revenue": [str(n_good + 9)], "duplicate_row": [str(n_good + 10)]}
    assert {r: sorted(g["row"], key=int) for r, g in rejects.groupby("reason")} == expected
    totals = re.search(r">sales</a></td><td>[^<]*sales.csv</td><td class=\"num\">(\d+)</td>\s*"
                       r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", page)
    assert totals and totals.groups() == (str(n_good + 9), str(n_good), "9"), page[:3000]
    assert '<a href="rejects/sales.csv">rejects/sales.csv</a>' in page
    for reason, rows in expected.items():
        section = page.split(f"<h3>{reason}: {len(rows)} row{'s' if len(rows) != 1 else ''}</h3>")[1]
        body = section.split("</tbody>")[0]
        shown = re.findall(r"<tr><td>(\d+)</td>", body)
        assert len(shown) == min(5, len(rows)) and set(shown) <= set(rows), (reason, shown)
        assert f"{len(shown)} of {len(rows)} shown (at most 5)" in section
    # the hostile values are shown as text, never as markup
    assert HOSTILE not in page and "<b>Bold</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;b&gt;Bold&lt;/b&gt;" in page


# (a run killed with SIGKILL and its --resume: tests/test_faults.py)


#: the runs of this module that start in the background as the session starts (see tests/conftest.py)
BACKGROUND = {"locked_runs": _start_locked_runs}
