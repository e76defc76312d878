"""Compute once, render many: the cross-region analyses a store build runs and keeps as result tables.

Every analysis is a function ``(con, params) -> DataFrame`` over the clean tables; :func:`run_all` writes each result
to the store as ``result_<name>``, where region notebooks and the report index read their slice.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb
import pandas as pd

from . import kpi
from .config import Params

log = logging.getLogger(__name__)

Analysis = Callable[[duckdb.DuckDBPyConnection, Params], pd.DataFrame]

ANALYSES: dict[str, Analysis] = {
    "headline": lambda con, p: kpi.headline(con, p.report.window_months),
    "monthly_channel": lambda con, p: kpi.monthly_by_channel(con),
    "channel_mix": lambda con, p: kpi.channel_mix(con, p.report.window_months),
}


def result_table(name: str) -> str:
    """The store table holding analysis ``name``."""
    return f"result_{name}"


def run_all(con: duckdb.DuckDBPyConnection, params: Params) -> None:
    """Run every analysis over the clean tables in ``con`` and store the results."""
    for name, analysis in ANALYSES.items():
        frame = analysis(con, params)
        con.register("result_view", frame)
        con.execute(f"CREATE OR REPLACE TABLE {result_table(name)} AS SELECT * FROM result_view")
        con.unregister("result_view")
        log.info("analysis %s: %d rows", name, len(frame))


def read(con: duckdb.DuckDBPyConnection, name: str, region: str | None = None) -> pd.DataFrame:
    """One stored result, optionally only one region's rows."""
    table = result_table(name)
    if region is None:
        return con.execute(f"SELECT * FROM {table}").df()
    return con.execute(f"SELECT * FROM {table} WHERE region = ?", [region]).df()
