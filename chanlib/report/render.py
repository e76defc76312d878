"""One page of a report run, in a worker process: its notebook executed in the worker's warm kernel
(:mod:`chanlib.report.kernels`) and converted to HTML there (:mod:`chanlib.report.html`).

This is all a worker imports to take pages (:mod:`chanlib.report.runner` plans the run in the parent): the data work
happens in the kernel, so the worker loads no pandas, matplotlib or analytics, only papermill, nbclient and nbconvert
once it renders its first page.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: an OSError with one of these means the run's output cannot be written: the run stops (not one page fails)
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM})
#: optional modules a worker never uses and whose import costs it 1.4 s: ``jsonschema`` (imported by ``nbformat``)
#: loads ``rfc3987_syntax`` when it is installed (jupyterlab's dependencies install it) to check IRIs, compiling a
#: grammar at import (1.2 s, python-jsonschema/jsonschema#1428), and no notebook is checked against an IRI format;
#: ``papermill.iorw`` loads ``pyarrow.fs`` (with pyarrow and numpy) for ``hdfs://`` notebook paths, which a report run
#: never uses. :func:`worker_init` marks them missing in ``sys.modules``, so both libraries go on without them, as
#: when the packages are not installed (each import is guarded by ``except ImportError``).
UNUSED_IMPORTS = ("rfc3987_syntax", "pyarrow.fs")
#: the overview of all regions: its page's name in a run
OVERVIEW = "overview"


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
    #: what the page depends on (:func:`chanlib.report.runner.page_key`); an unchanged key lets the next run reuse
    #: the page
    key: str = ""
    #: reused from the last finished run, not rendered again
    skipped: bool = False


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # ANSI colours of tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failure(name: str, slug: str, out_nb: Path, started: float, exc: BaseException) -> RegionResult:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):  # a cell error: the notebook's answer, never retried
        error = _one_line(f"{exc.ename}: {exc.evalue}")
    else:
        log.debug("%s failed:\n%s", name, traceback.format_exc())
        error = _one_line(f"{type(exc).__name__}: {exc}")
    return RegionResult(name, slug, "failed", None, out_nb.name, time.perf_counter() - started, error)


def render_page(notebook: str, run_dir: str, name: str, slug: str, parameters: dict[str, Any], title: str,
                cell_timeout: int, footer: str = "", key: str = "") -> RegionResult:
    """Execute ``notebook`` with ``parameters`` in this worker's warm kernel and convert it to ``<slug>.html`` in
    the worker (runs in a worker process; a failure is reported in the result, never raised, except an ``OSError``
    of :data:`OUTPUT_ERRNOS`: the run's folder cannot be written, and the run stops)."""
    from chanlib.report.html import export_html
    from chanlib.report.kernels import worker_kernel

    started = time.perf_counter()
    out_nb = Path(run_dir) / "notebooks" / f"{slug}.ipynb"
    html_path = Path(run_dir) / f"{slug}.html"
    try:
        executed = worker_kernel(Path(notebook).parent).execute(notebook, out_nb, parameters, timeout=cell_timeout)
        export_html(executed, html_path, title=title, footer=footer)
    except OSError as exc:
        if exc.errno in OUTPUT_ERRNOS:
            raise  # disk full or no permission: every page would fail the same way
        return _failure(name, slug, out_nb, started, exc)
    except Exception as exc:  # a worker must report, not crash the run
        return _failure(name, slug, out_nb, started, exc)
    return RegionResult(name, slug, "ok", html_path.name, out_nb.name, time.perf_counter() - started, key=key)


def render_region(notebook: str, run_dir: str, region: str, slug: str, params_path: str, store_path: str,
                  cell_timeout: int, title: str | None = None, footer: str = "", key: str = "") -> RegionResult:
    """Execute the region notebook for ``region`` and convert it to HTML (runs in a worker process).

    The notebook runs in the worker's warm kernel (:mod:`chanlib.report.kernels`): started once per worker, its
    namespace cleared between regions.
    """
    return render_page(notebook, run_dir, region, slug,
                       {"region": region, "params_path": params_path, "store_path": store_path},
                       title or f"{region}: channel report", cell_timeout, footer, key)


def render_overview(notebook: str, run_dir: str, params_path: str, store_path: str,
                    cell_timeout: int, title: str = "Overview: all regions", footer: str = "",
                    key: str = "") -> RegionResult:
    """Execute the overview notebook (all regions) and convert it to ``overview.html`` (runs in a worker process);
    a failure is reported in the result, as for a region."""
    return render_page(notebook, run_dir, OVERVIEW, OVERVIEW, {"params_path": params_path, "store_path": store_path},
                       title, cell_timeout, footer, key)


def worker_init(parent: int) -> None:
    """Worker initializer: skip the imports no page needs (:data:`UNUSED_IMPORTS`), and end this worker when the
    run's process is gone (e.g. killed by a scheduler's timeout); its kernel is killed first and its socket folder
    removed (:func:`chanlib.report.kernels.abandon_worker_kernel`). Otherwise the orphan would live on, rendering the
    pages still queued into the killed run's folder, perhaps while ``--resume`` renders them too."""
    import threading

    for module in UNUSED_IMPORTS:
        sys.modules.setdefault(module, None)  # type: ignore[arg-type]  # None: "import fails", as documented

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        kernels = sys.modules.get("chanlib.report.kernels")  # imported once the worker has rendered a page
        if kernels is not None:
            kernels.abandon_worker_kernel()
        os._exit(1)

    threading.Thread(target=watch, name="chanlib-parent-watch", daemon=True).start()
