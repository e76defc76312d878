"""Channel KPIs, computed in DuckDB SQL over the store's ``sales`` table.

Headline KPIs cover a trailing window of ``window_months`` months ending at the last sale date in the store (the same
"as of" date for every region, so regions compare), against the same months one year earlier. Growth is left empty
(``NaN``) — never infinite — when the earlier window has no revenue or the data do not reach back to its start.
Gross margin needs ``cost``; without it margin columns are ``NaN`` and :func:`missing_inputs` says why.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute(
...     "CREATE TABLE sales AS SELECT DATE '2024-01-15' + INTERVAL (i) MONTH AS date, 'East' AS region, "
...     "'web' AS channel, 100.0 + i AS revenue, 1.0 AS units, 60.0 AS cost FROM range(25) t(i)")
>>> h = headline(con, window_months=12)
>>> round(float(h.loc[0, "revenue"]), 2), round(float(h.loc[0, "growth_yoy"]), 4)
(1422.0, 0.1127)
"""
from __future__ import annotations

import pandas as pd
import duckdb

#: a window counts as covered when the data start at most this many days after it
COVERAGE_SLACK_DAYS = 7


def sales_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The columns the store's sales table has."""
    return {r[0] for r in con.execute("DESCRIBE sales").fetchall()}


def missing_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """KPI -> why it is left out, for KPIs whose input column is absent."""
    cols = sales_columns(con)
    missing = {}
    if "cost" not in cols:
        missing["gross_margin"] = "the sales table has no cost (or profit) column"
    if "units" not in cols:
        missing["units"] = "the sales table has no units column"
    return missing


def _optional(cols: set[str], column: str, expr: str) -> str:
    return expr if column in cols else "CAST(NULL AS DOUBLE)"


def headline(con: duckdb.DuckDBPyConnection, window_months: int = 12) -> pd.DataFrame:
    """Per region: revenue, units, gross margin and margin % over the window, and growth vs a year earlier.

    Columns: region, window_start, window_end, revenue, units, gross_margin, margin_pct, revenue_prev_year,
    growth_yoy, months_with_sales.
    """
    cols = sales_columns(con)
    units = _optional(cols, "units", "sum(units) FILTER (WHERE cur)")
    margin = _optional(cols, "cost", "sum(revenue - cost) FILTER (WHERE cur)")
    sql = f"""
    WITH bounds AS (
        SELECT max(date) AS as_of, min(date) AS first_day FROM sales
    ), flagged AS (
        SELECT s.*,
               s.date > b.as_of - INTERVAL ({window_months}) MONTH AS cur,
               s.date <= b.as_of - INTERVAL 12 MONTH
                 AND s.date > b.as_of - INTERVAL ({window_months + 12}) MONTH AS prev
        FROM sales s, bounds b
    ), agg AS (
        SELECT region,
               coalesce(sum(revenue) FILTER (WHERE cur), 0) AS revenue,
               {units} AS units,
               {margin} AS gross_margin,
               sum(revenue) FILTER (WHERE prev) AS revenue_prev_year,
               count(DISTINCT date_trunc('month', date)) FILTER (WHERE cur) AS months_with_sales
        FROM flagged GROUP BY region
    )
    SELECT a.region,
           CAST(b.as_of - INTERVAL ({window_months}) MONTH + INTERVAL 1 DAY AS DATE) AS window_start,
           b.as_of AS window_end,
           a.revenue, a.units, a.gross_margin,
           CASE WHEN a.revenue <> 0 THEN a.gross_margin / a.revenue END AS margin_pct,
           CASE WHEN b.first_day <= CAST(b.as_of - INTERVAL ({window_months + 12}) MONTH AS DATE)
                                    + INTERVAL ({COVERAGE_SLACK_DAYS}) DAY
                THEN a.revenue_prev_year END AS revenue_prev_year,
           a.months_with_sales
    FROM agg a, bounds b
    ORDER BY a.region
    """
    frame = con.execute(sql).df()
    prev = frame["revenue_prev_year"].astype("float64")
    frame["revenue_prev_year"] = prev
    frame["growth_yoy"] = (frame["revenue"] / prev.where(prev > 0) - 1).astype("float64")
    return frame


def monthly_by_channel(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Revenue, units and gross margin per region, channel and month (``month`` is the first day)."""
    cols = sales_columns(con)
    sql = f"""
    SELECT region, channel, CAST(date_trunc('month', date) AS DATE) AS month,
           sum(revenue) AS revenue,
           {_optional(cols, "units", "sum(units)")} AS units,
           {_optional(cols, "cost", "sum(revenue - cost)")} AS gross_margin
    FROM sales GROUP BY ALL ORDER BY region, channel, month
    """
    return con.execute(sql).df()


def channel_mix(con: duckdb.DuckDBPyConnection, window_months: int = 12) -> pd.DataFrame:
    """Per region and channel over the headline window: revenue and its share of the region's revenue."""
    sql = f"""
    WITH b AS (SELECT max(date) AS as_of FROM sales)
    SELECT region, channel, sum(revenue) AS revenue,
           sum(revenue) / sum(sum(revenue)) OVER (PARTITION BY region) AS share
    FROM sales, b
    WHERE date > b.as_of - INTERVAL ({window_months}) MONTH
    GROUP BY region, channel
    ORDER BY region, revenue DESC
    """
    frame = con.execute(sql).df()
    frame["share"] = frame["share"].astype("float64")
    return frame
