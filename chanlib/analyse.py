"""Compute once, render many: the cross-region analyses a store build runs and keeps as result tables.

Every analysis is a function ``(con, params) -> DataFrame | KpiTable`` over the clean tables; :func:`run_all` writes
each result to the store as ``result_<name>``, where region notebooks and the report index read their slice, and what
a KPI table left out (and why) to ``result_omitted``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb
import pandas as pd

from . import kpi, store
from .config import Params
from .errors import MissingInput

log = logging.getLogger(__name__)

Result = "pd.DataFrame | kpi.KpiTable | dict[str, pd.DataFrame]"
Analysis = Callable[[duckdb.DuckDBPyConnection, Params], Result]

ANALYSES: dict[str, Analysis] = {
    "headline": lambda con, p: kpi.headline(con, p.report.window_months),
    "monthly_channel": lambda con, p: kpi.monthly_by_channel(con),
    "channel_mix": lambda con, p: kpi.channel_mix(con, p.report.window_months),
    "kpi_region_channel_quarter": lambda con, p: kpi.kpi_table(con, ["region", "channel"], "quarter"),
    # several results at once: partner segments, profiles, ABC/XYZ classes, customer RFM (see chanlib.segment)
    "segments": lambda con, p: _segment_analyses(con, p),
    # forecasts of every hierarchy node, reconciled, plus the scored history of earlier builds (chanlib.outlook)
    "forecast": lambda con, p: _forecasts(con, p),
}


def _forecasts(con: duckdb.DuckDBPyConnection, params: Params) -> dict[str, pd.DataFrame]:
    from pathlib import Path

    from . import outlook

    if not params.forecast.enabled:
        raise MissingInput("forecast", "forecasting is switched off in params (forecast.enabled: false)")
    return outlook.run_forecasts(con, params, previous=Path(params.store))


def _segment_analyses(con: duckdb.DuckDBPyConnection, params: Params) -> dict[str, pd.DataFrame]:
    from . import segment

    return segment.analyses(con, params.segment)


def result_table(name: str) -> str:
    """The store table holding analysis ``name``."""
    return f"result_{name}"


def run_all(con: duckdb.DuckDBPyConnection, params: Params) -> None:
    """Run every analysis over the clean tables in ``con`` and store the results."""
    omitted = []
    for name, analysis in ANALYSES.items():
        try:
            result = analysis(con, params)
        except MissingInput as exc:
            log.info("analysis %s left out: %s", name, exc.reason)
            omitted.append((name, "*", exc.reason))
            continue
        if isinstance(result, kpi.KpiTable):
            omitted += [(name, item, why) for item, why in result.omitted.items()]
            result = result.frame
        frames = result if isinstance(result, dict) else {name: result}
        for table, frame in frames.items():
            store.write_frame(con, result_table(table), frame)
            log.info("analysis %s: %d rows", table, len(frame))
    con.execute("CREATE OR REPLACE TABLE result_omitted (analysis VARCHAR, item VARCHAR, reason VARCHAR)")
    if omitted:
        con.executemany("INSERT INTO result_omitted VALUES (?, ?, ?)", omitted)


def omitted(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """What analysis ``name`` left out, and why."""
    return dict(con.execute("SELECT item, reason FROM result_omitted WHERE analysis = ?", [name]).fetchall())


def read(con: duckdb.DuckDBPyConnection, name: str, region: str | None = None) -> pd.DataFrame:
    """One stored result, optionally only one region's rows."""
    table = result_table(name)
    if region is None:
        return con.execute(f"SELECT * FROM {table}").df()
    return con.execute(f"SELECT * FROM {table} WHERE region = ?", [region]).df()
