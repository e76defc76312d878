"""``chanlib report``: one HTML report per region, rendered in parallel, plus an index page.

A run builds (or reuses) the store, which already holds every cross-region result, then executes the region notebook
once per region with papermill in worker processes — local processes by default, or the workers of a Dask
distributed scheduler — and converts each to self-contained HTML. It writes::

    <out>/<run-id>/index.html          a row per region: status, headline KPIs, link
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
from typing import TYPE_CHECKING

import jinja2
import yaml
from tqdm.auto import tqdm

from chanlib import __version__
from chanlib.build import ensure
from chanlib.config import Params, project_root
from chanlib.data import store
from chanlib.errors import ChanlibError, DataError
from chanlib.io import point_symlink, write_text
from chanlib.report.narrative import money, number, percent

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


def render_index(params: Params, results: list[RegionResult], headline, meta: dict, run_id: str) -> str:
    """The run's index page: a row per region with status, headline KPIs and a link (every value escaped)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("chanlib.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    by_region = {row["region"]: row for row in headline.to_dict(orient="records")}
    rows = []
    for r in results:
        kpis = by_region.get(r.region, {})
        rows.append({
            "region": r.region, "status": r.status, "html": r.html, "notebook": f"notebooks/{r.notebook}",
            "error": r.error, "seconds": f"{r.seconds:.1f}",
            "revenue": money(kpis.get("revenue"), params.currency),
            "units": number(kpis.get("units")),
            "margin": percent(kpis.get("margin_pct"), signed=False),
            "growth": percent(kpis.get("growth_yoy")),
        })
    window_end = str(headline["window_end"].max())[:10] if len(headline) else "n/a"
    return env.get_template("index.html.j2").render(
        title=f"{params.name}: channel reports", run_id=run_id, rows=rows, currency=params.currency,
        window_end=window_end, window_months=params.periods.window_months,
        failed=sum(r["status"] != "ok" for r in rows), created=time.strftime("%Y-%m-%d %H:%M"),
        quality=meta.get("quality", []),
    )
