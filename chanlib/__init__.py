"""chanlib: analytics for people who run sales channels.

Layers, each importing only the ones above it in this list (a test checks the import graph):

- foundation: ``errors``, ``periods`` (as-of date, windows, complete periods), ``io`` (atomic writes)
- data: ``config`` (the one settings tree), ``data`` (contract, ingest, store, demo)
- analytics: ``analytics`` (KPIs, product fit, planning, period evaluation, forecasting, segmentation)
- build: ``build`` (ingest -> each registered analysis -> metadata -> atomic move)
- workbench: ``workbench`` (the analyst's handle on a store: :func:`open`)
- report: ``report`` (sections, narrative, plots, display, HTML export, runner and index)
- front door: ``cli``, and :func:`open` for notebooks

In a notebook::

    import chanlib
    wb = chanlib.open()                      # params/default.yaml; builds or refreshes the store as the CLI does
    wb.kpis(by=["region", "channel"], period="quarter")
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from chanlib.workbench import Workbench


def open(params_path: str | Path | None = None, store_path: str | Path | None = None) -> Workbench:
    """The store of a params file as a :class:`~chanlib.workbench.Workbench` of DataFrame methods (``.sales``,
    ``.kpis``, ``.forecasts``, ``.segments``, ...). Without ``store_path`` the store is built or refreshed first, as
    the command line does; with it, that store is only read. ``params_path`` defaults to ``params/default.yaml`` of
    this checkout.

    The workbench module (and pandas, DuckDB) are imported on the first call, so ``import chanlib`` stays light.
    """
    from chanlib.workbench import open_workbench

    return open_workbench(params_path, store_path)
