"""Shared fixtures: the real public data in ../shared/data, and the demo stores and report runs built once per session.

Building a store is the expensive part of most tests, and forecasting is most of a build, so every store here is
built WITHOUT forecasts (``forecast: {enabled: false}``) unless its name says otherwise: a test that reads
forecasts (the Outlook section, ``result_forecast*``) asks for ``demo_store_forecast`` (or ``superstore_store``).
Session stores are shared: open them read-only and never change their folders; copy first (``demo_copy``).

The session's stores and its two full report runs (``demo_report``, ``superstore_report``) are made by the real
command line in other processes, started as the session starts and run one after another in a background thread
(:class:`Background`) while the in-process tests go on: most tests use one core, the runs use the other. A fixture
that needs one waits for it; only the runs that the selected tests need are started, and the test files that wait
for them run after the others (:func:`pytest_collection_modifyitems`).

A test module can send its own long subprocess runs there too: a function ``start(request, background) -> Job``
that writes the input (in a folder from ``tmp_path_factory``) and submits the commands (``background.command``,
``background.call``), listed in the module's ``BACKGROUND = {"fixture_name": start}``, and a module fixture
``fixture_name`` returning ``background.module_job(request, "fixture_name")``; the test calls ``.result()`` (the
CompletedProcess, or what the submitted function returned) and reads ``.folder``. ``BACKGROUND_AFTER`` (a name in
:data:`BACKGROUND_JOBS`) queues them later than the default. Assertions stay in the test.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CHANLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))
#: appended to a params file: the build leaves the forecasts out (the Outlook section says so)
NO_FORECAST = "forecast: {enabled: false}\n"

# hypothesis (tests/test_properties.py): a fixed set of examples, so CI runs the same ones every time and a failure
# repeats; `pytest --hypothesis-profile=explore` searches far more, at random. No example database is written
# (.hypothesis/ holds only hypothesis' cache of the code's constants and ignores itself in git).
settings.register_profile("chanlib", deadline=None, max_examples=25, derandomize=True, print_blob=True,
                          database=None)
settings.register_profile("explore", deadline=None, max_examples=1000, derandomize=False, print_blob=True,
                          database=None)
settings.load_profile("chanlib")


# -- background runs ---------------------------------------------------------------------------------------------------

class Background:
    """Commands run one after another in a background thread of the test session; ``submit`` returns a Future."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tests-background")
        self._lock = threading.Lock()
        self._running: subprocess.Popen | None = None
        self._closed = False
        self._jobs: dict[tuple[str, str], Job] = {}
        self._env = dict(os.environ)  # as the session starts: a test that changes os.environ does not reach here

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` after everything submitted before (``fn`` calls :meth:`run` for its commands)."""
        return self._pool.submit(fn, *args)

    def run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        """Run a command to its end (from a submitted function); output captured as text."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the test session is over")
            proc = subprocess.Popen(args, cwd=cwd, env=self._env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            self._running = proc
        try:
            out, err = proc.communicate()
        finally:
            with self._lock:
                self._running = None
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    def command(self, args: list[str], cwd: Path) -> Job:
        """Submit one command; the Job's folder is ``cwd`` and its result the CompletedProcess."""
        return Job(cwd, self.submit(self.run, args, cwd))

    def call(self, folder: Path, fn: Callable[..., Any], *args: Any) -> Job:
        """Submit ``fn(*args)`` (which runs its commands with :meth:`run`); the Job's folder is ``folder``."""
        return Job(folder, self.submit(fn, *args))

    def start(self, key: tuple[str, str], make: Callable[[], Job]) -> Job:
        """The job called ``key``, made (and submitted) by ``make()`` the first time it is asked for."""
        if key not in self._jobs:
            self._jobs[key] = make()
        return self._jobs[key]

    def module_job(self, request: pytest.FixtureRequest, name: str) -> Job:
        """A test module's background job ``name``: ``BACKGROUND[name](request, background)`` of the module makes its
        input and submits it; started as the session starts when a selected test uses the fixture ``name``."""
        module = request.module
        return self.start((module.__name__, name), lambda: module.BACKGROUND[name](request, self))

    def close(self) -> None:
        """Cancel what has not started and stop what runs (a session that ends early leaves nothing behind)."""
        with self._lock:
            self._closed = True
            if self._running is not None:
                self._running.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)


def chanlib_command(*args: str) -> list[str]:
    """``chanlib ARGS`` as a scheduled run calls it, with this interpreter."""
    return [sys.executable, "-m", "chanlib.cli", *args]


def checked(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """``result``, or a failure naming the command and the end of its stderr."""
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, result.args))} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


@dataclass
class Job:
    """Work submitted to the background: where its output goes and the Future of its result."""

    folder: Path
    future: Future

    def result(self) -> Any:
        return self.future.result()


@pytest.fixture(scope="session")
def background():
    runner = Background()
    yield runner
    runner.close()


#: session fixtures that submit background work, in the order it is submitted (the earliest needed first)
BACKGROUND_JOBS = ("demo_store_forecast_job", "demo_store_job", "superstore_store_job", "medium_demo_job",
                   "demo_report_job", "superstore_report_job")
#: a test module's own jobs (its ``BACKGROUND``) are submitted after this one unless it sets ``BACKGROUND_AFTER``
BACKGROUND_AFTER = "superstore_store_job"


def _module_jobs(module: Any) -> dict[str, Callable[[pytest.FixtureRequest, Background], Job]]:
    return getattr(module, "BACKGROUND", {})


def _queue_rank(item: pytest.Item) -> int:
    """Where in the background queue the last job ``item`` waits for is (-1: it waits for none): the session's jobs
    at even places, a module's own jobs right after the session job they follow."""
    names = set(getattr(item, "fixturenames", ()))
    ranks = [2 * i for i, name in enumerate(BACKGROUND_JOBS) if name in names]
    module = getattr(item, "module", None)
    if names & set(_module_jobs(module)):
        ranks.append(2 * BACKGROUND_JOBS.index(getattr(module, "BACKGROUND_AFTER", BACKGROUND_AFTER)) + 1)
    return max(ranks, default=-1)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Test files whose tests wait for background work run after the others, in the order their last job comes in
    the queue (each file in one piece, otherwise in the usual order): the background has the time of the other
    files to do it."""
    rank: dict[Path, int] = {}
    for item in items:
        rank[item.path] = max(rank.get(item.path, -1), _queue_rank(item))
    items[:] = sorted(items, key=lambda item: rank[item.path])


@pytest.fixture(scope="session", autouse=True)
def _start_background_jobs(request: pytest.FixtureRequest, background: Background) -> None:
    """Submit, as the session starts, the background work that the selected tests need, in queue order: the session
    fixtures in :data:`BACKGROUND_JOBS` and the jobs a test module declares in ``BACKGROUND`` (fixture name ->
    function ``(request, background) -> Job`` that makes the input and submits the work; the module's fixture of
    that name returns ``background.module_job(request, name)``; ``BACKGROUND_AFTER`` names the session job they
    follow, default :data:`BACKGROUND_AFTER`)."""
    starts: list[tuple[int, Callable[[], object]]] = []
    seen: set[tuple[str, str]] = set()
    for item in request.session.items:
        names = getattr(item, "fixturenames", ())
        for i, name in enumerate(BACKGROUND_JOBS):
            if name in names and ("", name) not in seen:
                seen.add(("", name))
                starts.append((2 * i, lambda n=name: request.getfixturevalue(n)))
        module = getattr(item, "module", None)
        after = BACKGROUND_JOBS.index(getattr(module, "BACKGROUND_AFTER", BACKGROUND_AFTER))
        for name in names:
            key = (getattr(module, "__name__", ""), name)
            if name in _module_jobs(module) and key not in seen:
                seen.add(key)
                starts.append((2 * after + 1, lambda m=module, n=name: background.start(
                    (m.__name__, n), lambda: m.BACKGROUND[n](request, background))))
    for _, start in sorted(starts, key=lambda s: s[0]):
        try:
            start()
        except (Exception, pytest.fail.Exception, pytest.skip.Exception):
            pass  # e.g. no shared data: the tests that need the job get the error when they ask for it


# -- data --------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only public data sets beside the checkout."""
    if not (SHARED_DATA / "superstore.csv").exists():
        pytest.fail(f"real data not found in {SHARED_DATA}; set CHANLIB_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def superstore_csv(shared_data: Path) -> Path:
    return shared_data / "superstore.csv"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo (seed 42), generated once; tests that change it copy it first."""
    from chanlib.data.demo import generate

    out = tmp_path_factory.mktemp("demo") / "small"
    generate(out, size="small", seed=42)
    return out


def copy_demo(source: Path, target: Path, forecast: bool = False) -> Path:
    """Copy a generated demo folder (without its store or rejects) to ``target``; without ``forecast`` its params
    switch forecasting off. Returns ``target``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.duckdb*", "*_rejects"))
    if not forecast:
        no_forecast(target / "params.yaml")
    return target


def no_forecast(params: Path) -> Path:
    """Switch forecasting off in a params file (that has no ``forecast:`` section of its own)."""
    params.write_text(params.read_text(encoding="utf-8") + NO_FORECAST, encoding="utf-8")
    return params


@pytest.fixture(scope="session")
def copy_small_demo(demo_dir: Path) -> Callable[[Path], Path]:
    """``copy_small_demo(target)``: a private copy of the small demo at ``target`` (without its store, forecasting
    off); returns ``target``."""
    return lambda target: copy_demo(demo_dir, target)


@pytest.fixture
def demo_copy(copy_small_demo: Callable[[Path], Path], tmp_path: Path) -> Path:
    """A private copy of the small demo (without its store, forecasting off) that a test may modify."""
    return copy_small_demo(tmp_path / "demo")


def write_params(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- session stores (built by `chanlib ingest` in the background) ------------------------------------------------------

def _ingest(background: Background, params: Path, *data: str) -> subprocess.CompletedProcess:
    extra = [arg for item in data for arg in ("--data", item)]
    return checked(background.run(chanlib_command("ingest", "--params", str(params), *extra), params.parent))


def _demo_store_job(demo_dir: Path, folder: Path, background: Background, forecast: bool) -> Job:
    copy_demo(demo_dir, folder, forecast=forecast)
    return Job(folder, background.submit(_ingest, background, folder / "params.yaml"))


@pytest.fixture(scope="session")
def demo_store_job(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory, background: Background) -> Job:
    return _demo_store_job(demo_dir, tmp_path_factory.mktemp("demo_store") / "demo", background, forecast=False)


@pytest.fixture(scope="session")
def demo_store(demo_store_job: Job) -> Path:
    """The store of a private copy of the small demo, built once per session WITHOUT forecasts; open it read-only.
    Its params file is ``demo_store.parent / "params.yaml"``."""
    demo_store_job.result()
    return demo_store_job.folder / "chanlib.duckdb"


@pytest.fixture(scope="session")
def demo_store_forecast_job(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                            background: Background) -> Job:
    return _demo_store_job(demo_dir, tmp_path_factory.mktemp("demo_store_forecast") / "demo", background,
                           forecast=True)


@pytest.fixture(scope="session")
def demo_store_forecast(demo_store_forecast_job: Job) -> Path:
    """Like ``demo_store`` but with the run's forecasts (the Outlook section, ``result_forecast*``); built once per
    session, read-only. ``chanlib report`` on ``demo_store_forecast.parent / "params.yaml"`` finds it up to date."""
    demo_store_forecast_job.result()
    return demo_store_forecast_job.folder / "chanlib.duckdb"


def _medium(background: Background, out: Path) -> None:
    checked(background.run(chanlib_command("demo", "--size", "medium", "--seed", "42", "--out", str(out)), out.parent))
    _ingest(background, no_forecast(out / "params.yaml"))


@pytest.fixture(scope="session")
def medium_demo_job(tmp_path_factory: pytest.TempPathFactory, background: Background) -> Job:
    out = tmp_path_factory.mktemp("medium") / "demo"
    return Job(out, background.submit(_medium, background, out))


@pytest.fixture(scope="session")
def medium_demo(medium_demo_job: Job) -> Path:
    """The medium demo (seed 42, ~2M order lines, Parquet) and its store without forecasts, generated and built
    once per session for the planted-truth tests (segments, product fit). Returns the folder (store:
    ``chanlib.duckdb``, truth: ``truth/``); read-only."""
    medium_demo_job.result()
    return medium_demo_job.folder


def _superstore_yaml(path: Path, store: Path, reports: Path) -> Path:
    """params/superstore.yaml at ``path`` with its store and reports elsewhere (the export comes with ``--data``)."""
    text = (ROOT / "params" / "superstore.yaml").read_text(encoding="utf-8")
    assert "store: ../data/superstore.duckdb" in text and "out: ../reports" in text
    path.write_text(text.replace("store: ../data/superstore.duckdb", f"store: {store}")
                    .replace("out: ../reports", f"out: {reports}"), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def superstore_store_job(superstore_csv: Path, tmp_path_factory: pytest.TempPathFactory,
                         background: Background) -> Job:
    folder = tmp_path_factory.mktemp("ss")
    params = _superstore_yaml(folder / "superstore.yaml", folder / "superstore.duckdb", folder / "reports")
    return Job(folder, background.submit(_ingest, background, params, f"sales={superstore_csv}"))


@pytest.fixture(scope="session")
def superstore_store(superstore_store_job: Job) -> Path:
    """The store of the real Superstore export through params/superstore.yaml (with forecasts), built once per
    session; read-only. ``superstore_params`` writes a params file that finds it up to date."""
    from chanlib.data import store

    superstore_store_job.result()
    path = superstore_store_job.folder / "superstore.duckdb"
    con = store.connect(path)
    try:
        quality = {row["table"]: row for row in store.read_meta(con)["quality"]}
    finally:
        con.close()
    assert quality["sales"]["rows_read"] == 9994 and quality["sales"]["rows_rejected"] == 0
    return path


@pytest.fixture(scope="session")
def superstore_yaml(superstore_store_job: Job) -> Callable[[Path, Path], Path]:
    """``superstore_yaml(path, reports)``: params/superstore.yaml written to ``path`` with the session's Superstore
    store and reports in ``reports``; a command run with ``--data sales=<superstore.csv>`` reads that store, unbuilt.
    The store may still be building: wait for ``superstore_store``, or run the command in the background (it comes
    after the build there)."""
    store = superstore_store_job.folder / "superstore.duckdb"
    return lambda path, reports: _superstore_yaml(path, store, reports)


@pytest.fixture
def superstore_params(superstore_store: Path, superstore_yaml: Callable[[Path, Path], Path], tmp_path: Path) -> Path:
    """params/superstore.yaml in ``tmp_path`` with the session's Superstore store (built) and reports in
    ``tmp_path / "reports"``."""
    return superstore_yaml(tmp_path / "superstore.yaml", tmp_path / "reports")


# -- session report runs (`chanlib report` in the background) ----------------------------------------------------------

@dataclass
class ReportRun:
    """A finished ``chanlib report``: the process (exit code, stdout, stderr) and its ``--out`` folder."""

    result: subprocess.CompletedProcess
    out: Path


@pytest.fixture(scope="session")
def demo_report_job(demo_store_forecast_job: Job, tmp_path_factory: pytest.TempPathFactory,
                    background: Background) -> Job:
    out, cwd = tmp_path_factory.mktemp("reports"), tmp_path_factory.mktemp("cwd")
    params = demo_store_forecast_job.folder / "params.yaml"
    command = chanlib_command("report", "--params", str(params), "--out", str(out), "--workers", "2")
    return Job(out, background.command(command, cwd).future)


@pytest.fixture(scope="session")
def demo_report(demo_report_job: Job, demo_store_forecast: Path) -> ReportRun:
    """``chanlib report`` on the small demo with forecasts (``demo_store_forecast``, found up to date), through the
    command line as a scheduled run calls it; every region, two workers. Read-only (a test that changes the run
    copies it first or is the last to look at it)."""
    return ReportRun(demo_report_job.result(), demo_report_job.folder)


@pytest.fixture(scope="session")
def superstore_report_job(superstore_store_job: Job, superstore_csv: Path, tmp_path_factory: pytest.TempPathFactory,
                          background: Background) -> Job:
    folder = tmp_path_factory.mktemp("superstore_report")
    params = _superstore_yaml(folder / "superstore.yaml", superstore_store_job.folder / "superstore.duckdb",
                              folder / "reports")
    command = chanlib_command("report", "--params", str(params), "--data", f"sales={superstore_csv}")
    return Job(folder / "reports", background.command(command, folder).future)


@pytest.fixture(scope="session")
def superstore_report(superstore_report_job: Job, superstore_store: Path) -> ReportRun:
    """``chanlib report --data sales=<superstore.csv>`` with params/superstore.yaml on the session's Superstore store
    (found up to date); its pages are in ``out / "latest"``."""
    return ReportRun(superstore_report_job.result(), superstore_report_job.folder)


# -- hand-made stores --------------------------------------------------------------------------------------------------

#: canonical tables whose date column the hand-made stores parse as ISO dates
_DATED = {"sales", "partners", "targets", "costs", "inventory", "feedback", "market"}


@pytest.fixture
def make_store(tmp_path: Path):
    """Build a store from hand-made canonical tables (``make_store(sales=frame, market=frame, ...)``) in ``tmp_path``
    (or a given folder) and return a read-only connection to it. The params file is ``<folder>/p.yaml`` (store
    ``store.duckdb``); forecasting is off unless ``forecast=True``."""
    import duckdb

    from chanlib.build import build_store
    from chanlib.config import load_params

    def build(folder: Path | None = None, forecast: bool = False, **tables) -> duckdb.DuckDBPyConnection:
        folder = folder or tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["store: store.duckdb", "currency: EUR"]
        if not forecast:
            lines.append(NO_FORECAST.strip())
        lines.append("tables:")
        for name, frame in tables.items():
            if frame is None:
                continue
            frame.to_csv(folder / f"{name}.csv", index=False)
            date_format = "\n    date_format: '%Y-%m-%d'" if name in _DATED else ""
            lines.append(f"  {name}:\n    path: {name}.csv{date_format}")
        (folder / "p.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        params = load_params(folder / "p.yaml")
        build_store(params)
        return duckdb.connect(str(params.store), read_only=True)

    return build
