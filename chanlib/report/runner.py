"""``chanlib report``: one HTML report per region, rendered in parallel, plus an index page.

A run builds (or reuses) the store, which already holds every cross-region result, then executes the region notebook
once per region with papermill in worker processes — local processes by default, or the workers of a Dask
distributed scheduler — and converts each to self-contained HTML. It writes::

    <out>/<run-id>/index.html          a row per region: status, headline KPIs, link
    <out>/<run-id>/definitions.html    how every figure is computed (from chanlib.analytics.definitions)
    <out>/<run-id>/<region>.html       the rendered reports
    <out>/<run-id>/notebooks/*.ipynb   the executed notebooks (partial ones for failed regions)
    <out>/<run-id>/params.yaml         the params of the run, with absolute paths
    <out>/<run-id>/manifest.json       what ran, how long, what failed
    <out>/latest -> <run-id>

A failing region does not stop the others; its index row says why and links its partial notebook.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
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
from chanlib.data import store
from chanlib.errors import ChanlibError, DataError
from chanlib.io import point_symlink, write_text
from chanlib.report.narrative import DEFINITIONS_PAGE, growth_reason, money, number, percent

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass
class RegionResult:
    """How one region's report went."""

    region: str
    slug: str
    status: str  # "ok" or "failed"
    html: str | None
    notebook: str
    seconds: float
    error: str | None = None


@dataclass
class RunSummary:
    """What a report run produced."""

    run_dir: Path
    index: Path
    results: list[RegionResult]

    @property
    def failed(self) -> list[RegionResult]:
        return [r for r in self.results if r.status != "ok"]


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


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # ANSI colours of tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_region(notebook: str, run_dir: str, region: str, slug: str, params_path: str, store_path: str,
                  cell_timeout: int) -> RegionResult:
    """Execute the region notebook for ``region`` and convert it to HTML (runs in a worker process)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from chanlib.report.html import export_html

    started = time.perf_counter()
    out_nb = Path(run_dir) / "notebooks" / f"{slug}.ipynb"
    html_path = Path(run_dir) / f"{slug}.html"
    try:
        executed = pm.execute_notebook(
            notebook, str(out_nb),
            parameters={"region": region, "params_path": params_path, "store_path": store_path},
            kernel_name="python3", progress_bar=False, log_output=False, execution_timeout=cell_timeout,
            cwd=str(Path(notebook).parent),
        )
        export_html(executed, html_path, title=f"{region}: channel report")
    except PapermillExecutionError as exc:
        error = _one_line(f"{exc.ename}: {exc.evalue}")
        return RegionResult(region, slug, "failed", None, out_nb.name, time.perf_counter() - started, error)
    except Exception as exc:  # a worker must report, not crash the run
        log.debug("region %s failed:\n%s", region, traceback.format_exc())
        error = _one_line(f"{type(exc).__name__}: {exc}")
        return RegionResult(region, slug, "failed", None, out_nb.name, time.perf_counter() - started, error)
    return RegionResult(region, slug, "ok", html_path.name, out_nb.name, time.perf_counter() - started)


def _executor(workers: int, scheduler: str | None) -> tuple[Executor, Client | None]:
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")), None


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


def run_report(params: Params, regions: list[str] | None = None, workers: int | None = None,
               scheduler: str | None = None, resume: bool = False, force: bool = False,
               out: Path | None = None) -> RunSummary:
    """Render every region's report (or only ``regions``) and the index; see the module docstring."""
    notebook = Path(params.report.notebook or project_root() / "notebooks" / "region_report.ipynb")
    if not notebook.exists():
        raise ChanlibError(f"{notebook}: region notebook not found")
    store_path = ensure(params, force=force)
    con = store.connect(store_path)
    try:
        known = store.regions(con)
        headline = store.read_result(con, "headline")
        meta = store.read_meta(con)
    finally:
        con.close()
    if regions:
        unknown = [r for r in regions if r not in known]
        if unknown:
            raise DataError(f"{store_path}: no sales for region(s) {', '.join(map(repr, unknown))}; "
                            f"regions: {', '.join(known)}")
    chosen = regions or known
    slugs = _slugs(chosen)

    out = Path(out or params.report.out)
    out.mkdir(parents=True, exist_ok=True)
    previous: dict[str, RegionResult] = {}
    if resume and (out / "latest").exists() and not force:
        run_dir = (out / "latest").resolve()
        manifest = json.loads((run_dir / MANIFEST).read_text()) if (run_dir / MANIFEST).exists() else {}
        previous = {r["region"]: RegionResult(**r) for r in manifest.get("results", []) if r["status"] == "ok"}
        log.info("resuming run %s: %d region(s) already done", run_dir.name, len(previous))
    else:
        run_id = time.strftime("%Y%m%d-%H%M%S")
        run_dir = out / run_id
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = out / f"{run_id}-{n}"
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    params_file = _run_params_file(params, run_dir)
    write_text(run_dir / DEFINITIONS_PAGE, render_definitions(params))  # every report links it

    todo = [r for r in chosen if not _rendered(previous.get(r), run_dir)]
    workers = workers or params.report.workers or os.cpu_count() or 1
    results = {r: previous[r] for r in chosen if r not in todo}
    started = time.perf_counter()
    if todo:
        executor, client = _executor(min(workers, len(todo)), scheduler)
        try:
            futures = {executor.submit(render_region, str(notebook.resolve()), str(run_dir.resolve()), region,
                                       slugs[region], str(params_file.resolve()), str(Path(store_path).resolve()),
                                       params.report.cell_timeout): region for region in todo}
            for future in tqdm(as_completed(futures), total=len(futures), desc="regions", unit="report",
                               disable=None):
                result = future.result()
                results[result.region] = result
                if result.status != "ok":
                    log.error("region %s failed: %s", result.region, result.error)
        finally:
            executor.shutdown(wait=True)
            if client is not None:
                client.close()
    ordered = [results[r] for r in chosen]
    manifest = {"run_id": run_dir.name, "params": params.name, "chanlib": __version__,
                "created": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.perf_counter() - started, 2),
                "results": [asdict(r) for r in ordered]}
    write_text(run_dir / MANIFEST, json.dumps(manifest, indent=2))
    index = run_dir / "index.html"
    write_text(index, render_index(params, ordered, headline, meta, run_dir.name))
    point_symlink(out / "latest", run_dir.name)
    log.info("%d report(s) in %s, %d failed", len(ordered), run_dir, sum(r.status != "ok" for r in ordered))
    return RunSummary(run_dir=run_dir, index=index, results=ordered)


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


def render_index(params: Params, results: list[RegionResult], headline, meta: dict, run_id: str) -> str:
    """The run's index page: a row per region with status, headline KPIs and a link (every value escaped).

    Regions below ``report.min_region_share`` of all regions' revenue (:func:`chanlib.analytics.kpi.small_regions`)
    are summed into one "Other" row that names and links each of them (their reports are short); growth is shown
    only on the base and history ``periods`` asks for, else "too little data" with the reason as a tooltip.
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
        (others if r.region in small else rows).append(row)
    other = None
    if others:
        other = {"regions": others, "failed": sum(o["status"] != "ok" for o in others),
                 **_index_kpis(params, [by_region.get(o["region"], {}) for o in others])}
    window_end = str(headline["window_end"].max())[:10] if len(headline) else "n/a"
    return env.get_template("index.html.j2").render(
        title=f"{params.name}: channel reports", run_id=run_id, rows=rows, currency=params.currency,
        window_end=window_end, window_months=params.periods.window_months,
        failed=sum(r["status"] != "ok" for r in rows + others), created=time.strftime("%Y-%m-%d %H:%M"),
        other=other, n_reports=len(rows) + len(others),
        min_region_share=percent(params.report.min_region_share, signed=False),
        quality=meta.get("quality", []), definitions=DEFINITIONS_PAGE,
        margin_label=definitions.label("margin_pct", definitions.margin_from_profit(params)),
    )
