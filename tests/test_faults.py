"""Faults in ``chanlib report`` (issue #13 part 2): a notebook that raises, a kernel that dies, a run killed with
SIGKILL, a reports folder that is full or cannot be written, and two runs at once. After each: the other regions'
reports are complete, no file at a final path is partial, ``latest`` points at the last finished run, and the next run
(``--resume``) finishes the job (:func:`assert_intact` checks the first three after every step).

Everything is real: the command line (in this process, or as a scheduler starts it), papermill, the kernels,
nbconvert, DuckDB, SIGKILL, the OS lock, a file-size limit. One tiny project and its store are shared: three regions
of a year of sales, a tiny region notebook and a tiny overview, and one finished run (the *baseline*); each test
copies the baseline's reports folder and runs with params that differ from the baseline's only in
``report.min_region_share`` (a new page key, the same store), so that its pages are rendered, not reused.

**Fault injection** is the test notebook's own, not chanlib's: its ``FAULT_CELL`` reads ``CHANLIB_FAULT`` from the
environment (the kernel inherits it from the worker, which inherits it from the run), a comma-separated list of
``<region>:<kind>[:<argument>]``. For its region it raises (``raise``), ends the kernel process (``exit``:
``os._exit``), displays 12 MB (``big``), or waits while the file ``<argument>`` exists (``hold``; it creates
``<argument>.held`` first, to say it holds). Nothing in chanlib
reads ``CHANLIB_FAULT``. A full disk is a file-size limit (``RLIMIT_FSIZE``) on the run and its workers and kernels:
a write past it fails with ``EFBIG``, as a full disk's fails with ``ENOSPC`` (Python ignores ``SIGXFSZ``). Permission
denied is a read-only reports folder (``chmod``; as root, who ignores modes, the immutable attribute, ``chattr +i``,
when the file system and capabilities allow it, else skipped); a reports path below a regular file (``ENOTDIR``) is
the case that needs neither.

The command-line runs that need no test in between (the killed run, the full disk, two runs at once) run in the
session's background (tests/conftest.py) while the in-process tests go on.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import yaml
from runs import alive, descendants, write_notebook

from chanlib.cli import main
from chanlib.report.runner import MANIFEST, RUNNING, TEMPORARY

#: the regions of the shared project; the run with two faults uses all three, the others ``--regions East,West``
REGIONS = ("East", "North", "West")
TWO = "East,West"
#: the planted faults (see the module docstring); ``hold`` gives up after two minutes, so that no test hangs
FAULT_CELL = """import os, time
from IPython.display import HTML, display
_faults = dict(f.split(":", 1) for f in os.environ.get("CHANLIB_FAULT", "").split(",") if ":" in f)
_kind, _, _arg = _faults.get(region, "").partition(":")
if _kind == "raise":
    raise RuntimeError(f"planted fault in {region}")
if _kind == "exit":
    os._exit(7)
if _kind == "big":
    display(HTML("<pre>" + "x" * 12_000_000 + "</pre>"))
if _kind == "hold":
    open(_arg + ".held", "w").close()
_until = time.monotonic() + 120
while _kind == "hold" and os.path.exists(_arg) and time.monotonic() < _until:
    time.sleep(0.05)
"""
#: the file-size limit of the full-disk run: above every page of the tiny project (~270 kB) and its store (~2 MB: a
#: store gone stale because chanlib's code changed meanwhile is rebuilt), below a ``big`` page's notebook
FSIZE = 6 << 20


def chanlib_command(*args: str, fault: str | None = None, fsize: int | None = None) -> list[str]:
    """``chanlib ARGS`` as a scheduler starts it, with this interpreter; ``fault`` sets ``CHANLIB_FAULT`` and
    ``fsize`` limits the size of every file the run and its children write."""
    code = ["import os, resource, sys"]
    if fsize is not None:
        code.append(f"resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize}, {fsize}))")
    # a fault of this run only: not one an in-process test set in this process's environment meanwhile
    code.append(f"os.environ['CHANLIB_FAULT'] = {fault!r}" if fault else "os.environ.pop('CHANLIB_FAULT', None)")
    code.append("from chanlib.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", "; ".join(code), *args]


def _notebook(path: Path, *cells: str) -> None:
    write_notebook(path, *cells)


def _params_text(min_region_share: float) -> str:
    return ("store: store.duckdb\ncurrency: EUR\nforecast: {enabled: false}\n"
            "tables:\n  sales:\n    path: sales.csv\n    date_format: '%Y-%m-%d'\n"
            f"report:\n  notebook: tiny.ipynb\n  out: reports\n  workers: 1\n  min_region_share: {min_region_share}\n")


def scenario(project: Path, name: str, share: float) -> tuple[Path, Path]:
    """A test's own reports folder (a copy of the baseline's, its ``latest`` too) and params that differ from the
    baseline's only in ``report.min_region_share``: every page is rendered again, from the same store."""
    out = project / name
    shutil.copytree(project / "baseline", out, symlinks=True)
    params = project / f"p_{name}.yaml"
    params.write_text(_params_text(share), encoding="utf-8")
    return params, out


# -- the invariants ------------------------------------------------------------------------------------------------

def _runs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink())


def _whole(path: Path) -> None:
    """Fail unless ``path`` is a whole file of its kind."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"), f"{path} is not whole"
        parser = HTMLParser()
        parser.feed(text)
        parser.close()
    elif path.suffix == ".ipynb":
        nbformat.validate(nbformat.reads(text, as_version=4))
    elif path.suffix == ".json":
        json.loads(text)
    elif path.suffix == ".yaml":
        yaml.safe_load(text)
    elif path.suffix == ".csv":
        pd.read_csv(path)


def assert_intact(out: Path, latest: str | None, unfinished: Iterable[str] = ()) -> None:
    """What must hold after any fault, in the reports folder ``out``:

    - no file at a final path is partial: every file of every run folder is whole (:func:`_whole`); only a file
      under a temporary name (``runner.TEMPORARY``) may be cut short;
    - ``latest`` points at the run ``latest`` (None: there is no ``latest``), which is finished: a manifest, an index
      and no ``.running``; every page its manifest calls ok is there, and every failed page's partial notebook;
    - the runs named in ``unfinished`` keep ``.running`` and have no manifest, and every page they recorded as done
      is there; no other run is unfinished.
    """
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink() and not TEMPORARY.fullmatch(path.name) and path.name != ".lock":
            _whole(path)
    if latest is None:
        assert not (out / "latest").is_symlink()
    else:
        assert os.readlink(out / "latest") == latest
        run = out / latest
        assert (run / "index.html").exists() and not (run / RUNNING).exists()
        manifest = json.loads((run / MANIFEST).read_text())
        for page in [*manifest["results"], *([manifest["overview"]] if manifest["overview"] else [])]:
            assert (run / "notebooks" / page["notebook"]).exists(), page
            assert (page["status"] == "ok") == (page["html"] is not None and (run / page["html"]).exists()), page
    unfinished = set(unfinished)
    assert {p.name for p in _runs(out) if (p / RUNNING).exists()} == unfinished
    for name in unfinished:
        run = out / name
        assert not (run / MANIFEST).exists() and name != latest
        for record in (run / "notebooks").glob("*.result.json"):
            page = json.loads(record.read_text())
            assert page["status"] == "ok" and (run / page["html"]).exists() and (run / "notebooks" / page["notebook"])


def _stamp(path: Path) -> tuple[int, int, bytes]:
    """What changes when a file is written again: modification time, inode and content."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_ino, path.read_bytes()


def _store_id(project: Path) -> tuple[int, int]:
    """What changes when the shared store is rebuilt (to a temporary file renamed into place): inode and mtime.

    Only when chanlib's own code changes during the session (a working tree others are editing) does a run find the
    store stale and rebuild it; then every page key changes and a page is rightly rendered again. The checks that a
    page was *not* rendered again are made when the store stayed the same in between.
    """
    stat = (project / "store.duckdb").stat()
    return stat.st_ino, stat.st_mtime_ns


def _statuses(table: str) -> dict[str, str]:
    """page -> rendered / skipped / failed, from the end-of-run table on stderr."""
    return {m[1]: m[2] for m in re.finditer(r"^(\S+)\s+(rendered|skipped|failed)\s+\d+\.\d", table, re.M)}


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# -- the shared project --------------------------------------------------------------------------------------------

def _baseline(folder: Path, background: Any) -> Path:
    result = background.run(chanlib_command("report", "--params", "p.yaml", "--out", "baseline", "-q"), folder)
    if result.returncode != 0:  # it builds the store too
        raise AssertionError(f"the baseline run exited {result.returncode}: {result.stderr[-3000:]}")
    return folder


def _start_project(request: pytest.FixtureRequest, background: Any) -> Any:
    folder = request.getfixturevalue("tmp_path_factory").mktemp("faults") / "project"
    folder.mkdir()
    pd.DataFrame([{"date": f"2024-{m:02d}-05", "region": r, "channel": ch, "revenue": 100.0 * m + i, "units": m,
                   "cost": 50.0 * m} for i, r in enumerate(REGIONS) for m in range(1, 13) for ch in ("web", "shop")]
                 ).to_csv(folder / "sales.csv", index=False)
    _notebook(folder / "tiny.ipynb", FAULT_CELL)
    _notebook(folder / "overview.ipynb")
    (folder / "p.yaml").write_text(_params_text(0.01), encoding="utf-8")
    return background.call(folder, _baseline, folder, background)


@pytest.fixture(scope="module")
def project(request: pytest.FixtureRequest, background: Any) -> Path:
    """The shared project (store built, the baseline run finished in ``baseline/``); read-only."""
    return background.module_job(request, "project").result()


def _after_project(fn):
    """A background job's start function that first makes sure the shared project is queued before it."""
    def start(request: pytest.FixtureRequest, background: Any) -> Any:
        # the key conftest gives the module's jobs (the request may be the session's, which has no module)
        folder = background.start((__name__, "project"), lambda: _start_project(request, background)).folder
        return background.call(folder, fn, folder, background)
    return start


# -- in this process: a page that raises, a kernel that dies -------------------------------------------------------

def test_a_page_that_raises_and_a_kernel_that_dies_fail_alone_and_resume_renders_them(
        project: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    params, out = scenario(project, "failing", 0.02)
    base = os.readlink(out / "latest")
    # one worker renders East, North (its kernel exits), West (raises) and the overview (in a new kernel), in turn
    monkeypatch.setenv("CHANLIB_FAULT", "North:exit,West:raise")
    assert main(["report", "--params", str(params), "--out", str(out), "-q"]) == 1
    err = capfd.readouterr().err
    errors = [line for line in _lines(err) if line.startswith("chanlib ERROR")]
    assert errors == ["chanlib ERROR: region North failed: DeadKernelError: Kernel died",
                      "chanlib ERROR: region West failed: RuntimeError: planted fault in West"], err
    assert "Traceback" not in err
    # a failed page is the run's answer: the run finishes, the others are complete, and it becomes latest
    (run,) = [p for p in _runs(out) if p.name != base]
    assert_intact(out, latest=run.name)
    manifest = json.loads((run / MANIFEST).read_text())
    assert [(r["region"], r["status"]) for r in manifest["results"]] == [("East", "ok"), ("North", "failed"),
                                                                         ("West", "failed")]
    assert manifest["overview"]["status"] == "ok"  # the page after the dead kernel got a new one
    assert "East: 24 rows, revenue 15600" in (run / "East.html").read_text()  # 2 × (100+…+1200)
    index = (run / "index.html").read_text()
    assert 'href="notebooks/North.ipynb"' in index and "planted fault in West" in index
    west = nbformat.read(run / "notebooks" / "West.ipynb", as_version=4)  # the partial notebook keeps the error
    assert any(o.get("ename") == "RuntimeError" for c in west.cells for o in c.get("outputs", []))
    stamps = {p: _stamp(run / p) for p in ("East.html", "notebooks/East.ipynb", "overview.html")}
    store = _store_id(project)

    # the faults are gone: --resume renders only the failed pages, in the same run folder
    monkeypatch.delenv("CHANLIB_FAULT")
    assert main(["report", "--params", str(params), "--out", str(out), "--resume", "-q"]) == 0
    assert capfd.readouterr().err == ""
    assert_intact(out, latest=run.name)
    if _store_id(project) == store:
        assert {p: _stamp(run / p) for p in stamps} == stamps
    manifest = json.loads((run / MANIFEST).read_text())
    assert [(r["region"], r["status"]) for r in manifest["results"]] == [(r, "ok") for r in REGIONS]
    assert "North: 24 rows, revenue 15624" in (run / "North.html").read_text()  # 2 × (101+…+1201)


# -- in this process: a reports folder that cannot be written --------------------------------------------------------

def _read_only(folder: Path) -> tuple[list[str], list[str]]:
    """The commands that make ``folder`` read-only for this process and undo it, or a skip saying why it cannot be."""
    if os.geteuid() != 0:
        return ["chmod", "a-w", str(folder)], ["chmod", "u+w", str(folder)]
    # root ignores modes; the immutable attribute binds root too, where the file system and capabilities allow it
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root, which ignores file modes, and `chattr +i` is not available here; "
                    "test_a_reports_path_below_a_file_is_a_one_line_error covers the same path")
    subprocess.run([chattr, "-i", str(folder)], check=True)
    return [chattr, "+i", str(folder)], [chattr, "-i", str(folder)]


def test_permission_denied_on_the_reports_folder_is_a_one_line_error(
        project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # the baseline's own params: once the folder can be written, --resume finds every page done
    out = project / "denied"
    shutil.copytree(project / "baseline", out, symlinks=True)
    params, base = project / "p.yaml", os.readlink(out / "latest")
    lock, unlock = _read_only(out)
    before = sorted(p.name for p in out.iterdir())
    subprocess.run(lock, check=True)
    try:
        code = main(["report", "--params", str(params), "--out", str(out), "-q"])
    finally:
        subprocess.run(unlock, check=True)
    err = capfd.readouterr().err
    assert code == 1 and len(_lines(err)) == 1, err
    line = _lines(err)[0]
    assert re.fullmatch(rf"chanlib ERROR: {re.escape(str(out))}/\d{{8}}-\d{{6}}: "
                        rf"(Permission denied|Operation not permitted); nothing was written; "
                        rf"{re.escape(str(out / 'latest'))} still points at the last finished run, {base}", line), line
    assert sorted(p.name for p in out.iterdir()) == before
    assert_intact(out, latest=base)

    store = _store_id(project)
    stamps = {p: _stamp(p) for p in (out / base).glob("*.html") if p.name not in ("index.html", "quality.html",
                                                                                  "definitions.html")}
    assert main(["report", "--params", str(params), "--out", str(out), "--resume", "-q"]) == 0
    assert_intact(out, latest=base)
    assert len(stamps) == len(REGIONS) + 1
    if _store_id(project) == store:
        assert {p: _stamp(p) for p in stamps} == stamps


def test_a_reports_path_below_a_file_is_a_one_line_error(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    folder = project / "blocked"
    folder.mkdir()
    (folder / "share").write_text("not a folder\n")
    out = folder / "share" / "reports"
    assert main(["report", "--params", str(project / "p.yaml"), "--out", str(out), "-q"]) == 1
    err = capfd.readouterr().err
    assert _lines(err) == [f"chanlib ERROR: {out}: Not a directory; nothing was written; "
                           "no report run has finished yet"], err
    assert sorted(p.name for p in folder.iterdir()) == ["share"] and (folder / "share").read_text() == "not a folder\n"


# -- in the background: a run killed with SIGKILL, and --resume -----------------------------------------------------




def _sockets(pids: Iterable[int]) -> list[Path]:
    """The kernel socket folders of the worker processes ``pids`` (chanlib.report.kernels.SOCKETS_PREFIX)."""
    return [p for pid in pids for p in Path(tempfile.gettempdir()).glob(f"chanlib-kernel-{pid}-*")]


def _wait_for(condition, what: str, proc: subprocess.Popen, stderr: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen: {stderr.read_text()[-3000:]}")
        time.sleep(0.05)


def _west_in_progress(out: Path, base: str, hold: Path) -> Path | None:
    """The new run folder once East is recorded and West's notebook holds (``hold``), else None."""
    if not Path(f"{hold}.held").exists():
        return None
    for run in _runs(out):
        if run.name != base and (run / "notebooks" / "East.result.json").exists():
            return run
    return None


def _killed(folder: Path, background: Any) -> dict[str, Any]:
    params, out = scenario(folder, "killed", 0.03)
    base = os.readlink(out / "latest")
    steps: dict[str, Any] = {"base": base}
    hold, stderr = folder / "killed.hold", folder / "killed.stderr"
    hold.touch()
    with stderr.open("w") as err:  # files, not pipes: a process the killed run left behind would hold a pipe open
        proc = subprocess.Popen(chanlib_command("report", "--params", str(params), "--out", str(out), "--regions",
                                                TWO, fault=f"West:hold:{hold}"),
                                cwd=folder, stdout=subprocess.DEVNULL, stderr=err)
    family: list[tuple[int, str]] = []
    try:
        _wait_for(lambda: _west_in_progress(out, base, hold) is not None, "West in progress", proc, stderr)
        run = _west_in_progress(out, base, hold)
        assert run is not None
        family = descendants(proc.pid)
        steps["family"] = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode() for pid, _ in
                           family]
        steps["sockets_before"] = _sockets(pid for pid, _ in family)
        steps["sockets_content"] = sorted(p.name for s in steps["sockets_before"] for p in s.iterdir())
        steps["run"] = run.name
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20
        while any(alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        steps["left_running"] = [p for p in family if alive(p)]
        steps["sockets_after"] = [p for p in steps["sockets_before"] if p.exists()]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for process in family:  # what the killed run left running goes with the test
            if alive(process):
                os.kill(process[0], signal.SIGKILL)
        hold.unlink(missing_ok=True)
    run = out / steps["run"]
    steps["after_kill"] = {"latest": os.readlink(out / "latest"), "listing": sorted(p.name for p in run.iterdir()),
                           "notebooks": sorted(p.name for p in (run / "notebooks").iterdir()),
                           "east": _stamp(run / "East.html"), "east_nb": _stamp(run / "notebooks" / "East.ipynb")}
    store = _store_id(folder)
    try:
        assert_intact(out, latest=base, unfinished=[run.name])
        steps["intact_after_kill"] = None
    except AssertionError as exc:
        steps["intact_after_kill"] = exc
    # the lock of the killed run was the OS's: --no-wait finds it free at once; no fault now
    steps["resume"] = background.run(chanlib_command("report", "--params", str(params), "--out", str(out),
                                                     "--regions", TWO, "--resume", "--no-wait"), folder)
    steps["east_after"] = (_stamp(run / "East.html"), _stamp(run / "notebooks" / "East.ipynb"))
    steps["same_store"] = _store_id(folder) == store
    return steps


@pytest.fixture(scope="module")
def killed(request: pytest.FixtureRequest, background: Any) -> Any:
    return background.module_job(request, "killed")


def test_a_killed_run_leaves_nothing_half_written_nothing_running_and_latest_as_it_was(
        project: Path, killed: Any) -> None:
    steps = killed.result()
    after = steps["after_kill"]
    assert after["latest"] == steps["base"] != steps["run"]
    if steps["intact_after_kill"] is not None:
        raise steps["intact_after_kill"]
    assert RUNNING in after["listing"] and "East.html" in after["listing"] and "West.html" not in after["listing"]
    assert "East.ipynb" in after["notebooks"] and "West.ipynb" not in after["notebooks"], after["notebooks"]
    # the worker and its kernel end with the run, and the kernel's private folder (sockets, connection file) goes too
    assert any("spawn_main" in c for c in steps["family"]) and any("ipykernel" in c for c in steps["family"])
    assert steps["left_running"] == []
    assert len(steps["sockets_before"]) == 1 and "kernel.json" in steps["sockets_content"]
    assert steps["sockets_after"] == []


def test_resume_after_a_kill_takes_the_freed_lock_and_renders_only_what_is_missing(
        project: Path, killed: Any) -> None:
    steps, out = killed.result(), killed.folder / "killed"
    resume = steps["resume"]
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert f"resuming the unfinished run {steps['run']}: 1 page(s) already done" in resume.stderr
    assert _statuses(resume.stderr) == {"East": "rendered", "West": "rendered", "overview": "rendered"}
    if steps["same_store"]:
        assert steps["east_after"] == (steps["after_kill"]["east"], steps["after_kill"]["east_nb"])  # not written again
    assert resume.stdout.splitlines() == [str(out / "latest" / "index.html")]
    assert_intact(out, latest=steps["run"])
    run = out / steps["run"]
    assert [p.name for p in run.rglob(".*") if p.name != RUNNING] == []  # the temporary files are gone
    assert not list((run / "notebooks").glob("*.result.json"))  # the per-page records went into the manifest
    manifest = json.loads((run / MANIFEST).read_text())
    assert [(r["region"], r["status"], r["skipped"]) for r in manifest["results"]] == [
        ("East", "ok", False), ("West", "ok", False)]  # East rendered by the killed run (new params), West after
    assert "West: 24 rows, revenue 15648" in (run / "West.html").read_text()  # 2 × (102+…+1202)


# -- in the background: a full disk ----------------------------------------------------------------------------------

def _disk_full(folder: Path, background: Any) -> dict[str, Any]:
    params, out = scenario(folder, "full", 0.04)
    steps: dict[str, Any] = {"base": os.readlink(out / "latest")}
    steps["sizes"] = {p.name: p.stat().st_size
                      for p in [*(out / steps["base"]).glob("*.html"), folder / "store.duckdb"]}
    command = ["report", "--params", str(params), "--out", str(out), "--regions", TWO]
    steps["full"] = background.run(chanlib_command(*command, "-q", fault="West:big", fsize=FSIZE), folder)
    runs = [p for p in _runs(out) if p.name != steps["base"]]
    if len(runs) != 1:
        return steps
    run = runs[0]
    steps["run"] = run.name
    steps["east"] = (_stamp(run / "East.html"), _stamp(run / "notebooks" / "East.ipynb"))
    store = _store_id(folder)
    try:
        assert_intact(out, latest=steps["base"], unfinished=[run.name])
        steps["intact_when_full"] = None
    except AssertionError as exc:
        steps["intact_when_full"] = exc
    steps["west_when_full"] = sorted(p.name for p in run.rglob("West*"))
    steps["resume"] = background.run(chanlib_command(*command, "--resume"), folder)
    steps["east_after"] = (_stamp(run / "East.html"), _stamp(run / "notebooks" / "East.ipynb"))
    steps["same_store"] = _store_id(folder) == store
    return steps


@pytest.fixture(scope="module")
def disk_full(request: pytest.FixtureRequest, background: Any) -> Any:
    return background.module_job(request, "disk_full")


def test_a_full_disk_stops_the_run_with_one_line_and_resume_finishes_it(project: Path, disk_full: Any) -> None:
    steps, out = disk_full.result(), disk_full.folder / "full"
    # the limit lets every ordinary page through and stops West's 2 MB notebook
    assert max(steps["sizes"].values()) < FSIZE, steps["sizes"]
    full = steps["full"]
    assert "run" in steps, f"no run folder: {full.stderr[-3000:]}"
    run = steps["run"]
    assert full.returncode == 1 and full.stdout == ""
    assert _lines(full.stderr) == [
        f"chanlib ERROR: {out / run / 'notebooks' / 'West.ipynb'}: File too large; the report run {run} stopped "
        f"before it finished; {out / 'latest'} still points at the last finished run, {steps['base']}; "
        "`chanlib report --resume` continues it once the reports folder can be written"], full.stderr
    if steps["intact_when_full"] is not None:
        raise steps["intact_when_full"]
    assert steps["west_when_full"] == []  # neither West's notebook nor its page, not even in part
    resume = steps["resume"]
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert f"resuming the unfinished run {run}: 1 page(s) already done" in resume.stderr
    assert _statuses(resume.stderr) == {"East": "rendered", "West": "rendered", "overview": "rendered"}
    if steps["same_store"]:
        assert steps["east_after"] == steps["east"]  # East was done when the disk filled: not written again
    assert_intact(out, latest=run)


# -- in the background: two runs at once ---------------------------------------------------------------------------

def _two_runs(folder: Path, background: Any) -> dict[str, Any]:
    params, out = scenario(folder, "two", 0.05)
    base = os.readlink(out / "latest")
    steps: dict[str, Any] = {"base": base}
    command = ["report", "--params", str(params), "--out", str(out), "--regions", TWO]
    hold = folder / "two.hold"
    hold.touch()
    first_err, second_err = folder / "first.stderr", folder / "second.stderr"
    procs: list[subprocess.Popen] = []
    try:
        with first_err.open("w") as err:
            procs.append(subprocess.Popen(chanlib_command(*command, fault=f"West:hold:{hold}"), cwd=folder,
                                          stdout=subprocess.PIPE, stderr=err, text=True))
        _wait_for(lambda: _west_in_progress(out, base, hold) is not None, "West in progress", procs[0], first_err)
        steps["listing_before"] = sorted(p.name for p in out.iterdir())
        store = _store_id(folder)
        steps["busy"] = background.run(chanlib_command(*command, "--no-wait", "-q"), folder)
        steps["listing_after_busy"] = sorted(p.name for p in out.iterdir())
        with second_err.open("w") as err:
            procs.append(subprocess.Popen(chanlib_command(*command), cwd=folder, stdout=subprocess.PIPE, stderr=err,
                                          text=True))
        _wait_for(lambda: "waiting for" in second_err.read_text(), "the second run waiting", procs[1], second_err)
        hold.unlink()
        outputs = [proc.communicate(timeout=300)[0] for proc in procs]
        steps["same_store"] = _store_id(folder) == store
    finally:
        hold.unlink(missing_ok=True)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    steps["first"] = subprocess.CompletedProcess(procs[0].args, procs[0].returncode, outputs[0], first_err.read_text())
    steps["second"] = subprocess.CompletedProcess(procs[1].args, procs[1].returncode, outputs[1],
                                                  second_err.read_text())
    return steps


@pytest.fixture(scope="module")
def two_runs(request: pytest.FixtureRequest, background: Any) -> Any:
    return background.module_job(request, "two_runs")


def test_two_runs_at_once_one_busy_one_waiting_both_leave_a_finished_run(project: Path, two_runs: Any) -> None:
    steps, out = two_runs.result(), two_runs.folder / "two"
    busy = steps["busy"]
    assert busy.returncode == 1 and busy.stdout == ""
    lines = _lines(busy.stderr)
    assert len(lines) == 1, busy.stderr
    assert lines[0].startswith(f"chanlib ERROR: {out / '.lock'}: a report run is in progress (pid ")
    assert "--no-wait" in lines[0]
    assert steps["listing_after_busy"] == steps["listing_before"]  # the busy run wrote nothing
    first, second = steps["first"], steps["second"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    assert re.search(r"waiting for a report run to finish .*\n(.*\n)*.*lock acquired after \d+ s", second.stderr)
    # the second run found the first one's pages unchanged and reused them: nothing rendered twice
    assert _statuses(first.stderr) == {"East": "rendered", "West": "rendered", "overview": "rendered"}
    if steps["same_store"]:
        assert _statuses(second.stderr) == {"East": "skipped", "West": "skipped", "overview": "skipped"}
    runs = [p.name for p in _runs(out) if p.name != steps["base"]]
    assert len(runs) == 2
    assert_intact(out, latest=runs[1])
    for name in runs:
        assert json.loads((out / name / MANIFEST).read_text())["results"][1]["status"] == "ok"


#: the runs of this module that start in the background as the session starts (tests/conftest.py)
BACKGROUND = {"project": _start_project, "killed": _after_project(_killed), "disk_full": _after_project(_disk_full),
              "two_runs": _after_project(_two_runs)}


# -- a full disk while the store is built ---------------------------------------------------------------------------

def test_a_full_disk_during_the_store_build_is_one_line_and_keeps_the_old_store(project: Path,
                                                                                tmp_path: Path) -> None:
    """DuckDB's own write error (not an OSError) on a full disk: one line naming the store, exit 1, the previous
    store byte for byte as it was and no temporary file left beside it."""
    for name in ("sales.csv", "store.duckdb"):
        shutil.copy2(project / name, tmp_path / name)
    (tmp_path / "p.yaml").write_text(_params_text(0.01), encoding="utf-8")
    with (tmp_path / "sales.csv").open("a", encoding="utf-8") as sales:  # new data: the store must be built again
        sales.write("2024-12-20,East,web,1.0,1,0.5\n")
    before = _stamp(tmp_path / "store.duckdb")
    limit = (tmp_path / "store.duckdb").stat().st_size // 4
    result = subprocess.run(chanlib_command("ingest", "--params", "p.yaml", fsize=limit), cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in _lines(result.stderr) if "ERROR" in line]
    assert len(errors) == 1 and errors[0].startswith("chanlib ERROR: the store (DuckDB): ") and "File too large" in \
        errors[0], result.stderr
    assert _stamp(tmp_path / "store.duckdb") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml", "sales.csv", "store.duckdb"]
