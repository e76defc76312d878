"""``chanlib report``: one HTML report per region, rendered in parallel, plus an index page.

A run builds (or reuses) the store, which already holds every cross-region result, then executes the region notebook
once per region with papermill in worker processes — local processes by default, or the workers of a Dask
distributed scheduler — and converts each to self-contained HTML. It writes::

    <out>/<run-id>/index.html          a row per region: status, headline KPIs, link (the overview linked first)
    <out>/<run-id>/overview.html       all regions side by side (notebooks/overview.ipynb)
    <out>/<run-id>/definitions.html    how every figure is computed (from chanlib.analytics.definitions)
    <out>/<run-id>/<region>.html       the rendered reports
    <out>/<run-id>/notebooks/*.ipynb   the executed notebooks (partial ones for failed regions)
    <out>/<run-id>/partners/*.html     with ``partners=True`` (``--partners``): one page per partner, to be sent to
                                       that partner, linked from no other page (chanlib.report.partner_pages)
    <out>/<run-id>/quality.html        rows read, kept and set aside per input, with examples (chanlib.report.quality)
    <out>/<run-id>/rejects/*.csv       every row ingest set aside, with row number and reason
    <out>/<run-id>/params.yaml         the params of the run, with absolute paths
    <out>/<run-id>/manifest.json       what ran, how long, what failed (written when the run finishes)
    <out>/latest -> <run-id>           the newest *finished* run

A failing region does not stop the others; its index row says why and links its partial notebook.

Built for schedules: one run at a time per reports folder (``<out>/.lock``; a second run waits, or exits 1 with
``--no-wait``); a page whose notebook, params and store fingerprint are unchanged since the last finished run is
reused rather than rendered (``--force`` renders all); ``latest`` moves only when a run finishes, so a run killed
mid-way never becomes latest, and ``--resume`` continues it. Each worker keeps one warm kernel for all its pages
(:mod:`chanlib.report.kernels`) and converts to HTML itself.

Faults: a page whose notebook raises, or whose kernel dies, fails alone (its index row says so; the next page gets
a new kernel). When the reports folder cannot be written (disk full, permission denied: an ``OSError`` on the
output), the run stops at once with an :class:`OutputError` naming the file: the run stays unfinished, ``latest``
keeps pointing at the last finished run, and ``--resume`` continues it once the folder is writable. Every file is
written under a temporary name and renamed into place, so no file at a final path is ever half-written; a resume
removes the temporary files a killed run left.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pandas as pd
import yaml
from tqdm.auto import tqdm

from chanlib import __version__
from chanlib.analytics import definitions, kpi
from chanlib.build import ensure
from chanlib.config import Params, project_root
from chanlib.data import ingest, store
from chanlib.errors import ChanlibError, DataError
from chanlib.io import atomic_path, exclusive, point_symlink, write_text
from chanlib.report import quality
from chanlib.report.narrative import DEFINITIONS_PAGE, growth_reason, money, number, percent, table_repairs
from chanlib.report.render import (
    OVERVIEW,
    RegionResult,
    render_overview,
    render_region,
    worker_init,
)

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: a run folder holding this file was started and has not finished (``--resume`` continues it)
RUNNING = ".running"
#: the lock file of a reports folder: one run at a time
LOCK = ".lock"
#: the overview of all regions: its notebook (in the checkout's notebooks/)
OVERVIEW_NOTEBOOK = "overview.ipynb"
#: the temporary names of files being written (chanlib.io.temporary_name; the kernels' notebooks end in .ipynb)
TEMPORARY = re.compile(r"\..+\.[0-9a-f]{8}\.tmp(\.ipynb)?")


class OutputError(ChanlibError):
    """The reports folder could not be written (disk full, permission denied): the run stopped unfinished."""


@dataclass
class RunSummary:
    """What a report run produced."""

    run_dir: Path
    index: Path
    results: list[RegionResult]
    #: the overview page's result (None when the checkout has no overview notebook)
    overview: RegionResult | None = None

    @property
    def failed(self) -> list[RegionResult]:
        """The region reports and the overview that failed."""
        pages = self.results + ([self.overview] if self.overview is not None else [])
        return [r for r in pages if r.status != "ok"]


def slugify(region: str) -> str:
    """A file-name-safe form of a region name.

    >>> slugify("Île de France / Nord")
    'Ile-de-France-Nord'
    """
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", region).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.") or "region"


def _slugs(regions: list[str]) -> dict[str, str]:
    slugs: dict[str, str] = {}
    taken: set[str] = {"index"}
    for region in regions:
        slug, n = slugify(region), 1
        while slug.lower() in taken:
            n += 1
            slug = f"{slugify(region)}-{n}"
        taken.add(slug.lower())
        slugs[region] = slug
    return slugs


def _executor(workers: int, scheduler: str | None) -> tuple[Executor, Client | None]:
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=worker_init,
                               initargs=(os.getpid(),)), None


def _rendered(result: RegionResult | None, run_dir: Path) -> bool:
    """Whether ``result`` (of an earlier run into ``run_dir``) has a report page that is still there."""
    return result is not None and result.html is not None and (run_dir / result.html).exists()


def _run_params_file(params: Params, run_dir: Path) -> Path:
    data = params.model_dump(mode="json", exclude_none=True)
    data["store"] = str(Path(params.store).resolve())
    for table in data["tables"].values():
        table["path"] = str(Path(table["path"]).resolve())
    report = data.setdefault("report", {})
    report["out"] = str(Path(params.report.out).resolve())
    if "notebook" in report:
        report["notebook"] = str(Path(report["notebook"]).resolve())
    path = run_dir / "params.yaml"
    write_text(path, "# params of this report run (paths made absolute)\n" + yaml.safe_dump(data, sort_keys=False))
    return path


#: the report layer: its modules and HTML templates shape a page, not the store (store.NOT_IN_STORE)
REPORT_CODE = Path(__file__).parent


def _report_code_digest() -> bytes:
    digest = hashlib.sha256()
    for path in sorted(p for p in REPORT_CODE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(REPORT_CODE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.digest()


def page_key(notebook: Path, params: Params, meta: dict, name: str) -> str:
    """What a page depends on: its notebook, the params (not where or how fast the run writes), the store's
    fingerprint (the data and the code that shaped it), the page's name and the report layer's code and HTML
    templates. The same key means the page would come out the same, so it is reused."""
    return page_keys({name: notebook}, params, meta)[name]


def page_keys(notebooks: dict[str, Path], params: Params, meta: dict) -> dict[str, str]:
    """:func:`page_key` of every page (name -> its notebook), reading what the pages share (the report layer's
    code, the params, the fingerprint) once."""
    shaping = params.model_dump(mode="json", exclude={"report": {"out", "workers"}})
    shared = [hashlib.sha256(part).digest() for part in (
        json.dumps(shaping, sort_keys=True, default=str).encode(),
        json.dumps(meta.get("fingerprint"), sort_keys=True, default=str).encode(), __version__.encode(),
        _report_code_digest())]
    notebook_digests = {path: hashlib.sha256(path.read_bytes()).digest() for path in set(notebooks.values())}
    keys = {}
    for name, path in notebooks.items():
        digest = hashlib.sha256()
        for part in (notebook_digests[path], shared[0], shared[1], hashlib.sha256(name.encode()).digest(),
                     *shared[2:]):
            digest.update(part)
        keys[name] = digest.hexdigest()[:16]
    return keys


def _read_manifest(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _results(records: list[dict[str, Any]]) -> dict[str, RegionResult]:
    known = set(RegionResult.__dataclass_fields__)
    return {r["region"]: RegionResult(**{k: v for k, v in r.items() if k in known}) for r in records}


def _unfinished_run(out: Path) -> Path | None:
    """The newest run folder a run started and never finished (it still holds :data:`RUNNING`)."""
    runs = sorted((p for p in out.iterdir() if p.is_dir() and not p.is_symlink() and (p / RUNNING).exists()),
                  key=lambda p: p.name)  # not `latest`: after a killed resume of the latest run it holds RUNNING too
    return runs[-1] if runs else None


def _reuse(previous: RegionResult | None, key: str, source: Path | None, run_dir: Path) -> RegionResult | None:
    """A page of the last finished run whose key is unchanged, linked (or copied) into ``run_dir``; else None."""
    if previous is None or source is None or previous.status != "ok" or previous.key != key or not previous.html:
        return None
    pairs = [(source / previous.html, run_dir / previous.html),
             (source / "notebooks" / previous.notebook, run_dir / "notebooks" / previous.notebook)]
    if not all(src.exists() for src, _ in pairs):
        return None
    if source.resolve() != run_dir.resolve():
        for src, dst in pairs:
            with atomic_path(dst) as tmp:
                try:
                    os.link(src, tmp)
                except OSError:
                    shutil.copyfile(src, tmp)
    return replace(previous, skipped=True, seconds=0.0)


def _remove_temporaries(run_dir: Path) -> None:
    """Remove the temporary files (:data:`TEMPORARY`) a killed run left in ``run_dir`` (called under the lock)."""
    for folder in (run_dir, run_dir / "notebooks"):
        for path in folder.iterdir():
            if TEMPORARY.fullmatch(path.name) and path.is_file():
                log.debug("removing %s, left by a killed run", path)
                path.unlink(missing_ok=True)


def _record(run_dir: Path, result: RegionResult) -> None:
    """Keep one finished page's result in the run folder, so that ``--resume`` of a killed run knows it."""
    write_text(run_dir / "notebooks" / f"{result.slug}.result.json", json.dumps(asdict(result)))


def _recorded(run_dir: Path) -> dict[str, RegionResult]:
    records = []
    for path in (run_dir / "notebooks").glob("*.result.json"):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return {name: r for name, r in _results(records).items() if r.status == "ok"}


def run_report(params: Params, regions: list[str] | None = None, workers: int | None = None,
               scheduler: str | None = None, resume: bool = False, force: bool = False,
               out: Path | None = None, partners: bool = False, wait: bool = True) -> RunSummary:
    """Render every region's report (or only ``regions``), the overview and the index; with ``partners`` also one
    page per partner (:mod:`chanlib.report.partner_pages`); see the module docstring.

    One run at a time per reports folder: a second one waits for the lock (or, with ``wait=False``, raises
    :class:`chanlib.io.Busy`). A page whose notebook, params and store fingerprint are unchanged since the last
    finished run is reused, not rendered (``force`` renders everything). ``latest`` moves only when the run has
    finished; ``resume`` continues the newest unfinished run (else the latest one) in its own folder.
    """
    notebook = Path(params.report.notebook or project_root() / "notebooks" / "region_report.ipynb")
    if not notebook.exists():
        raise ChanlibError(f"{notebook}: region notebook not found")
    out = Path(out or params.report.out)
    if force or not store.is_fresh(params):
        ingest.validate(params)  # a data error ends the run here, before the reports folder, its lock or a run exist
    try:
        out.mkdir(parents=True, exist_ok=True)
        with exclusive(out / LOCK, wait=wait, what="a report run"):
            return _run_locked(params, notebook, regions, workers, scheduler, resume, force, out, partners)
    except OSError as exc:
        raise OutputError(_output_error(exc, out)) from exc


def _output_error(exc: OSError, out: Path) -> str:
    """The one line for a run stopped by ``exc``: the file and the reason, where ``latest`` points, and how to go on.

    >>> import errno, tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> print(_output_error(OSError(errno.ENOSPC, "No space left on device", str(out / "r1" / "East.html")), out))
    /.../r1/East.html: No space left on device; nothing was written; no report run has finished yet
    """
    where = exc.filename if exc.filename is not None else out
    reason = exc.strerror or type(exc).__name__
    try:
        latest = os.readlink(out / "latest") if (out / "latest").is_symlink() else None
        unfinished = _unfinished_run(out) if out.is_dir() else None
        # this process's run, if it had started (its RUNNING file names this process)
        ours = (unfinished.name if unfinished is not None
                and f"by pid {os.getpid()}\n" in (unfinished / RUNNING).read_text() else None)
    except OSError:
        latest = ours = None
    state = (f"{out / 'latest'} still points at the last finished run, {latest}" if latest
             else "no report run has finished yet")
    if ours:
        return (f"{where}: {reason}; the report run {ours} stopped before it finished; {state}; "
                "`chanlib report --resume` continues it once the reports folder can be written")
    return f"{where}: {reason}; nothing was written; {state}"


def _run_locked(params: Params, notebook: Path, regions: list[str] | None, workers: int | None,
                scheduler: str | None, resume: bool, force: bool, out: Path, partners: bool) -> RunSummary:
    store_path = ensure(params, force=force)
    con = store.connect(store_path)
    try:
        known = store.regions(con)
        headline = store.read_result(con, "headline")
        meta = store.read_meta(con)
        alert_counts = new_alert_counts(con)
        as_of = store.date_bounds(con)[1]
    finally:
        con.close()
    if regions:
        unknown = [r for r in regions if r not in known]
        if unknown:
            raise DataError(f"{store_path}: no sales for region(s) {', '.join(map(repr, unknown))}; "
                            f"regions: {', '.join(known)}")
    chosen = regions or known
    slugs = _slugs(chosen)

    latest = (out / "latest").resolve() if (out / "latest").exists() else None
    last = _read_manifest(latest) if latest is not None else {}
    last_pages = _results(last.get("results", []) + ([last["overview"]] if last.get("overview") else []))
    done: dict[str, RegionResult] = {}
    unfinished = _unfinished_run(out) if resume and not force else None
    if unfinished is not None:
        run_dir = unfinished
        done = _recorded(run_dir)
        log.info("resuming the unfinished run %s: %d page(s) already done", run_dir.name, len(done))
    elif resume and latest is not None and not force:
        run_dir = latest
        done = {n: r for n, r in last_pages.items() if r.status == "ok"}
        log.info("resuming run %s: %d page(s) already done", run_dir.name, len(done))
    else:
        run_id = time.strftime("%Y%m%d-%H%M%S")
        run_dir = out / run_id
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = out / f"{run_id}-{n}"
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    _remove_temporaries(run_dir)  # a resumed run's, left when it was killed
    write_text(run_dir / RUNNING, f"started {time.strftime('%Y-%m-%d %H:%M:%S')} by pid {os.getpid()}\n")
    params_file = _run_params_file(params, run_dir)
    write_text(run_dir / DEFINITIONS_PAGE, render_definitions(params))  # every report links it

    fingerprint = meta.get("fingerprint") or {}
    data_sha = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:12]
    footer = f"Run {run_dir.name} · data fingerprint {data_sha} · chanlib {__version__}"
    period = f"data to {pd.Timestamp(as_of).date()}"
    overview_nb = notebook.parent / OVERVIEW_NOTEBOOK
    if not overview_nb.exists():
        overview_nb = project_root() / "notebooks" / OVERVIEW_NOTEBOOK
    pages = {r: (notebook, slugs[r]) for r in chosen}
    if overview_nb.exists():
        pages[OVERVIEW] = (overview_nb, OVERVIEW)
    keys = page_keys({name: nb for name, (nb, _) in pages.items()}, params, meta)

    results: dict[str, RegionResult] = {}
    for name in pages:
        if _rendered(done.get(name), run_dir) and done[name].key == keys[name]:  # not from older data or params
            results[name] = done[name]
        elif not force:
            reused = _reuse(last_pages.get(name), keys[name], latest, run_dir)
            if reused is not None:
                results[name] = reused
    todo = [name for name in pages if name not in results]
    if results:
        log.info("%d page(s) unchanged since the last run, reused", len(results))
    workers = workers or params.report.workers or os.cpu_count() or 1
    started = time.perf_counter()
    if todo:
        executor, client = _executor(max(1, min(workers, len(todo))), scheduler)
        common = (str(params_file.resolve()), str(Path(store_path).resolve()), params.report.cell_timeout)
        try:
            futures = {}
            for name in todo:
                nb = str(pages[name][0].resolve())
                if name == OVERVIEW:
                    future = executor.submit(render_overview, nb, str(run_dir.resolve()), *common,
                                             title=f"Overview: all regions, {period}", footer=footer, key=keys[name])
                else:
                    future = executor.submit(render_region, nb, str(run_dir.resolve()), name, slugs[name], *common,
                                             title=f"{name}: channel report, {period}", footer=footer,
                                             key=keys[name])
                futures[future] = name
            for future in tqdm(as_completed(futures), total=len(futures), desc="reports", unit="page",
                               disable=None):
                try:
                    result = future.result()
                except BaseException:  # the folder cannot be written (an OSError), or interrupted: stop the run
                    for pending in futures:
                        pending.cancel()
                    raise
                results[futures[future]] = result
                _record(run_dir, result)
                if result.status != "ok":
                    log.error("%s failed: %s", "the overview" if futures[future] == OVERVIEW
                              else f"region {result.region}", result.error)
        finally:
            executor.shutdown(wait=True)
            if client is not None:
                client.close()
    ordered = [results[r] for r in chosen]
    overview = results.get(OVERVIEW)
    manifest = {"run_id": run_dir.name, "params": params.name, "chanlib": __version__,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.perf_counter() - started, 2),
                "fingerprint": data_sha, "results": [asdict(r) for r in ordered],
                "overview": asdict(overview) if overview else None}
    write_text(run_dir / MANIFEST, json.dumps(manifest, indent=2))
    rejects = ingest.rejects_dir(Path(store_path))
    write_text(run_dir / quality.PAGE, quality.render_quality(params.name, meta.get("quality", []),
                                                              quality.read_rejects(rejects),
                                                              quality.copy_rejects(rejects, run_dir), index=True))
    index = run_dir / "index.html"
    write_text(index, render_index(params, ordered, headline, meta, run_dir.name, overview=overview,
                                     alerts=alert_counts))
    if partners:
        _partner_pages(params, Path(store_path), run_dir)
    for record in (run_dir / "notebooks").glob("*.result.json"):
        record.unlink()
    (run_dir / RUNNING).unlink(missing_ok=True)
    point_symlink(out / "latest", run_dir.name)  # only a finished run becomes latest
    log.info("%d report(s) in %s: %d rendered, %d reused, %d failed", len(ordered), run_dir,
             sum(r.status == "ok" and not r.skipped for r in ordered), sum(r.skipped for r in ordered),
             sum(r.status != "ok" for r in ordered))
    return RunSummary(run_dir=run_dir, index=index, results=ordered, overview=overview)


def summary_table(summary: RunSummary) -> str:
    """The end-of-run table a scheduler's log shows: page, status (rendered / skipped / failed) and seconds.

    >>> s = RunSummary(Path("r"), Path("r/index.html"), [RegionResult("East", "East", "ok", "East.html", "East.ipynb",
    ...                2.5), RegionResult("West", "West", "failed", None, "West.ipynb", 1.0, "ValueError: x")])
    >>> print(summary_table(s))
    page  status    seconds
    East  rendered      2.5
    West  failed        1.0  ValueError: x
    """
    pages = summary.results + ([summary.overview] if summary.overview is not None else [])
    width = max([4] + [len(p.region) for p in pages])
    lines = [f"{'page':<{width}}  status    seconds"]
    for p in pages:
        status = "failed" if p.status != "ok" else "skipped" if p.skipped else "rendered"
        line = f"{p.region:<{width}}  {status:<8} {p.seconds:>8.1f}"
        lines.append(line + (f"  {p.error}" if p.error else ""))
    return "\n".join(lines)


def _partner_pages(params: Params, store_path: Path, run_dir: Path) -> None:
    """``--partners``: one page per partner in ``<run>/partners/``, linked from no other page; left out with a log
    line when the store has no partner scores (e.g. sales without partner ids)."""
    from chanlib.errors import MissingInput
    from chanlib.report.partner_pages import FOLDER, write_partner_pages

    con = store.connect(store_path)
    try:
        write_partner_pages(con, params, run_dir / FOLDER)
    except MissingInput as exc:
        log.warning("partner pages left out: %s", exc.reason)
    finally:
        con.close()


def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("chanlib.report", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def render_definitions(params: Params | None = None, index: bool = True) -> str:
    """The Definitions page: every KPI and figure of :mod:`chanlib.analytics.definitions`, grouped by topic, as one
    self-contained HTML page (every value escaped, no external resource). With ``params`` the margin is worded as
    the run's (profit when the export maps profit, not cost) and amounts carry the run's currency; ``index`` links
    back to the run's index page. A notebook can show it with ``IPython.display.HTML(render_definitions())`` (or
    the table :func:`chanlib.analytics.definitions.as_frame`).

    >>> page = render_definitions()
    >>> '<td class="label">Sell-through</td>' in page, "Sell-out ÷ sell-in" in page, "http" in page
    (True, True, False)
    """
    profit = definitions.margin_from_profit(params) if params is not None else False
    currency = params.currency if params is not None else "the run's currency"
    topics: dict[str, list[dict[str, str]]] = {}
    for d in definitions.catalogue(profit).values():
        unit = currency if d.kind == "money" else d.unit
        topics.setdefault(d.topic, []).append({"key": d.key, "label": d.label, "formula": d.formula, "unit": unit,
                                               "note": d.note})
    margin_note = ("Margins are the export's profit column (cost is taken as revenue − profit), so they are called "
                   "profit." if profit else "Margins are gross margins: revenue − the sales table's cost.")
    name = params.name if params is not None else "chanlib"
    return _templates().get_template("definitions.html.j2").render(
        title=f"{name}: definitions", currency=currency, margin_note=margin_note, topics=list(topics.items()),
        index=index)


def _index_kpis(params: Params, heads: list[dict]) -> dict[str, str]:
    """Revenue, units, margin and growth of one region or the sum of several (rows of the headline result)."""
    def total(key: str) -> float:  # a region without sales in the window has no units: it adds nothing
        known = [float(v) for v in (h.get(key) for h in heads) if v is not None and not pd.isna(v)]
        return sum(known) if known else float("nan")

    revenue, prev, margin = total("revenue"), total("revenue_prev_year"), total("gross_margin")
    months = max((float(h.get("months_prev_year") or 0.0) for h in heads), default=float("nan"))
    if any(h.get("months_prev_year") is None or pd.isna(h.get("months_prev_year")) for h in heads):
        months = float("nan")
    growth = revenue / prev - 1 if prev > 0 else float("nan")
    reason = growth_reason(growth, prev, months, params.periods, params.currency, "the same months a year earlier",
                           params.periods.window_months)
    return {"revenue": money(revenue, params.currency), "units": number(total("units")),
            "margin": percent(margin / revenue if revenue > 0 else float("nan"), signed=False),
            "growth": percent(growth) if reason is None else "too little data", "growth_note": reason or ""}


def new_alert_counts(con) -> dict[str, dict[str, int]] | None:
    """Per region, its new critical and high alerts of this build (``result_alerts``); None when the store has no
    alerts (switched off)."""
    if not store.has_result(con, "alerts"):
        return None
    rows = con.execute(f"SELECT region, severity, count(*) FROM {store.result_table('alerts')} "
                       "WHERE state = 'new' AND severity IN ('critical', 'high') GROUP BY ALL").fetchall()
    counts: dict[str, dict[str, int]] = {}
    for region, severity, n in rows:
        counts.setdefault(str(region), {})[str(severity)] = int(n)
    return counts


def _index_alerts(alerts: dict[str, dict[str, int]] | None, regions: list[str]) -> dict[str, Any]:
    """The index's "new alerts" cell of one region or several: ``2 critical, 1 high``, ``none``."""
    if alerts is None:
        return {"alerts": "", "alerts_new": 0}
    critical = sum(alerts.get(r, {}).get("critical", 0) for r in regions)
    high = sum(alerts.get(r, {}).get("high", 0) for r in regions)
    text = ", ".join(f"{n} {s}" for n, s in ((critical, "critical"), (high, "high")) if n) or "none"
    return {"alerts": text, "alerts_new": critical + high}


def render_index(params: Params, results: list[RegionResult], headline, meta: dict, run_id: str,
                 overview: RegionResult | None = None, alerts: dict[str, dict[str, int]] | None = None) -> str:
    """The run's index page: first the link to the overview of all regions (``overview``, when the run made one;
    a failed overview links its partial notebook), then a row per region with status, headline KPIs and a link
    (every value escaped).

    Regions below ``report.min_region_share`` of all regions' revenue (:func:`chanlib.analytics.kpi.small_regions`)
    are summed into one "Other" row that names and links each of them (their reports are short); growth is shown
    only on the base and history ``periods`` asks for, else "too little data" with the reason as a tooltip.
    ``alerts`` (:func:`new_alert_counts`) adds each region's new critical and high alerts.
    """
    env = _templates()
    by_region = {row["region"]: row for row in headline.to_dict(orient="records")}
    small = set(kpi.small_regions(headline, params.report.min_region_share)) if len(headline) else set()
    rows: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for r in results:
        kpis = by_region.get(r.region, {})
        row = {"region": r.region, "status": r.status, "html": r.html, "notebook": f"notebooks/{r.notebook}",
               "error": r.error, "seconds": f"{r.seconds:.1f}", **_index_kpis(params, [kpis])}
        row.update(_index_alerts(alerts, [r.region]))
        (others if r.region in small else rows).append(row)
    other = None
    if others:
        other = {"regions": others, "failed": sum(o["status"] != "ok" for o in others),
                 **_index_kpis(params, [by_region.get(o["region"], {}) for o in others])}
        other.update(_index_alerts(alerts, [o["region"] for o in others]))
    window_end = str(headline["window_end"].max())[:10] if len(headline) else "n/a"
    return env.get_template("index.html.j2").render(
        title=f"{params.name}: channel reports", run_id=run_id, rows=rows, currency=params.currency,
        window_end=window_end, window_months=params.periods.window_months,
        failed=sum(r["status"] != "ok" for r in rows + others), created=time.strftime("%Y-%m-%d %H:%M"),
        other=other, n_reports=len(rows) + len(others),
        min_region_share=percent(params.report.min_region_share, signed=False),
        quality=meta.get("quality", []), repairs=table_repairs(meta.get("quality", [])), definitions=DEFINITIONS_PAGE,
        overview=None if overview is None else {"status": overview.status, "html": overview.html,
                                                "notebook": f"notebooks/{overview.notebook}", "error": overview.error},
        margin_label=definitions.label("margin_pct", definitions.margin_from_profit(params)),
        show_alerts=alerts is not None,
    )
