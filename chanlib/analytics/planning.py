"""Regional planning: coverage, penetration and white space, against the ``market`` table's market sizes.

Definitions (all over the same months: the last ``months`` complete calendar months -- see
:func:`chanlib.periods.complete_months` -- that the market table has figures for, per region):

* ``market_size`` -- the region's market summed over its categories and those months. The market is not split by
  channel, so every channel of a region is measured against the whole regional market.
* ``active_partners`` -- distinct ``partner_id`` with at least one sale in the cell in those months (``NaN`` when the
  sales table has no ``partner_id``); ``partners_per_million`` = active partners per ``partners_per`` (default
  1,000,000) of market size.
* ``penetration`` = revenue / market size.
* **Headroom** of a region x channel cell = ``max(0, benchmark - penetration) x market_size``, where the channel's
  ``benchmark`` penetration is the upper quartile (``benchmark_quantile``, linear interpolation as
  ``quantile_cont``) of that channel's penetration across the regions where it sells. It is the extra revenue the
  cell would have if it reached what good peers already achieve. Cells of a channel a region does not sell in at
  all are *untapped* and count with penetration 0; they do not lower the benchmark.

Regions without market rows are left out (logged). Needs the ``market`` table; without it
:class:`~chanlib.errors.MissingInput` is raised. ``data`` is an open store or a mapping of canonical table name to
DataFrame (``sales``: date, region, channel, revenue and optionally partner_id; ``market``: period, region, category,
market_size).

Examples
--------
>>> import pandas as pd
>>> market = pd.DataFrame({"period": pd.Timestamp("2025-01-01"), "region": ["A", "B"], "category": "toys",
...                        "market_size": [1000.0, 2000.0]})
>>> sales = pd.DataFrame({"date": pd.Timestamp("2025-01-31"), "region": ["A", "B", "B"],
...                       "channel": ["web", "web", "shop"], "revenue": [100.0, 50.0, 80.0],
...                       "partner_id": ["p1", "p2", "p3"]})
>>> con = as_connection({"sales": sales, "market": market})
>>> print(coverage(con)[["region", "channel", "active_partners", "penetration"]].to_string(index=False))
region channel  active_partners  penetration
     A    shop              0.0        0.000
     A     web              1.0        0.100
     B    shop              1.0        0.040
     B     web              1.0        0.025
>>> print(white_space(con)[["region", "channel", "benchmark_penetration", "headroom", "status"]].to_string(index=False))
region channel  benchmark_penetration  headroom           status
     B     web                0.08125     112.5 under-penetrated
     A    shop                0.04000      40.0         untapped
"""
from __future__ import annotations

import logging
from typing import Literal

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.analytics.product_fit import month_window
from chanlib.data.store import Tables, as_connection, require

log = logging.getLogger(__name__)

__all__ = ["coverage", "white_space"]

#: partners are counted per this much market size (default of ``planning.partners_per``)
PER_MARKET = 1_000_000.0


def _cells_sql(partner_expr: str) -> str:
    """SQL (CTEs) for region x channel and region-level revenue, partners and market size in the window."""
    return f"""
    mkt AS (
        SELECT region, CAST(date_trunc('month', period) AS DATE) AS month, sum(market_size) AS market_size
        FROM market WHERE period BETWEEN $start AND $end AND market_size IS NOT NULL
        GROUP BY ALL
    ), mkt_r AS (
        SELECT region, sum(market_size) AS market_size, count(*) AS market_months FROM mkt GROUP BY region
    ), s AS (  -- sales only in the months the region has market figures for
        SELECT s.region, s.channel, s.revenue, s.partner_id_
        FROM (SELECT region, channel, revenue, {partner_expr} AS partner_id_,
                     CAST(date_trunc('month', date) AS DATE) AS month
              FROM sales WHERE date BETWEEN $start AND $end) s
        SEMI JOIN mkt m ON s.region = m.region AND s.month = m.month
    ), agg AS (
        SELECT region, channel, grouping(channel) AS region_level, sum(revenue) AS revenue,
               count(DISTINCT partner_id_) AS active_partners
        FROM s GROUP BY GROUPING SETS ((region, channel), (region))
    ), grid AS (  -- every region with market figures x every channel sold anywhere in the window
        SELECT r.region, c.channel FROM mkt_r r CROSS JOIN (SELECT DISTINCT channel FROM s) c
    ), cells AS (
        SELECT g.region, g.channel, coalesce(a.revenue, 0) AS revenue,
               coalesce(a.active_partners, 0) AS active_partners, r.market_size, r.market_months
        FROM grid g JOIN mkt_r r USING (region)
        LEFT JOIN agg a ON a.region = g.region AND a.channel = g.channel AND a.region_level = 0
    ), regions AS (
        SELECT r.region, coalesce(a.revenue, 0) AS revenue, coalesce(a.active_partners, 0) AS active_partners,
               r.market_size, r.market_months
        FROM mkt_r r LEFT JOIN agg a ON a.region = r.region AND a.region_level = 1
    )"""


def _args(con: duckdb.DuckDBPyConnection, months: int, tolerance_days: int) -> tuple[dict[str, object], str]:
    require(con, "market", ("period", "region", "market_size"),
            "market sizes per region are needed for coverage, penetration and white space")
    sales_cols = require(con, "sales")
    window = month_window(con, months, tolerance_days)
    if window is None:
        raise ValueError("months must be a number of months")
    partner_expr = "partner_id" if "partner_id" in sales_cols else "CAST(NULL AS VARCHAR)"
    return {"start": window[0].date(), "end": window[1].date()}, partner_expr


def _finish(frame: pd.DataFrame, has_partners: bool, per: float) -> pd.DataFrame:
    for col in ("revenue", "active_partners", "market_size"):
        frame[col] = frame[col].astype("float64")
    if not has_partners:
        frame["active_partners"] = float("nan")
    size = frame["market_size"].where(frame["market_size"] > 0)
    frame["partners_per_million"] = frame["active_partners"] / size * per
    frame["penetration"] = frame["revenue"] / size
    return frame


def coverage(data: Tables, region: str | None = None, by: Literal["channel", "region"] = "channel",
             months: int = 12, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
             partners_per: float = PER_MARKET) -> pd.DataFrame:
    """Active partners, market size, partners per million of market and penetration (see the module docstring).

    ``by="channel"``: one row per region x channel (every channel sold anywhere in the window, so a channel a region
    lacks shows 0 partners); ``by="region"``: one row per region. Columns: region, [channel,] window_start,
    window_end, market_months, revenue, active_partners, market_size, partners_per_million, penetration.
    """
    if by not in ("channel", "region"):
        raise ValueError(f"by must be 'channel' or 'region', not {by!r}")
    con = as_connection(data)
    args, partner_expr = _args(con, months, tolerance_days)
    keys = "region, channel" if by == "channel" else "region"
    where = ""
    if region is not None:
        where, args["region"] = "WHERE region = $region", region
    source = "cells" if by == "channel" else "regions"
    frame = con.execute(f"""
    WITH {_cells_sql(partner_expr)}
    SELECT {keys}, CAST($start AS DATE) AS window_start, CAST($end AS DATE) AS window_end, market_months,
           revenue, active_partners, market_size
    FROM {source} {where} ORDER BY {keys}
    """, args).df()
    _log_unmatched(con, args)
    return _finish(frame, partner_expr == "partner_id", partners_per).reset_index(drop=True)


def _log_unmatched(con: duckdb.DuckDBPyConnection, args: dict[str, object]) -> None:
    missing = [r for (r,) in con.execute(
        "SELECT DISTINCT region FROM sales WHERE date BETWEEN $start AND $end "
        "AND region NOT IN (SELECT region FROM market WHERE period BETWEEN $start AND $end) ORDER BY 1",
        {"start": args["start"], "end": args["end"]}).fetchall()]
    if missing:
        log.warning("regions without market figures in the window are left out: %s", ", ".join(missing))


def white_space(data: Tables, top_n: int = 10, region: str | None = None, months: int = 12,
                benchmark_quantile: float = 0.75, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS
                ) -> pd.DataFrame:
    """Region x channel cells ranked by headroom (see the module docstring), largest first; only headroom > 0.

    The benchmark always comes from all regions (peers); ``region`` only filters the rows returned. Columns: rank,
    region, channel, status ('untapped' without sales, else 'under-penetrated'), revenue, active_partners,
    market_size, penetration, benchmark_penetration, peers (regions the benchmark is drawn from), headroom.
    """
    if not 0 <= benchmark_quantile <= 1:
        raise ValueError(f"benchmark_quantile must be within [0, 1], not {benchmark_quantile}")
    con = as_connection(data)
    args, partner_expr = _args(con, months, tolerance_days)
    args["q"] = benchmark_quantile
    where = ""
    if region is not None:
        where, args["region"] = "AND c.region = $region", region
    frame = con.execute(f"""
    WITH {_cells_sql(partner_expr)}, pen AS (
        SELECT *, CASE WHEN market_size > 0 THEN revenue / market_size END AS penetration FROM cells
    ), bench AS (
        SELECT channel, quantile_cont(penetration, $q) AS benchmark_penetration, count(*) AS peers
        FROM pen WHERE revenue > 0 AND penetration IS NOT NULL GROUP BY channel
    ), ranked AS (
    SELECT c.region, c.channel, CASE WHEN c.revenue > 0 THEN 'under-penetrated' ELSE 'untapped' END AS status,
           c.revenue, c.active_partners, c.market_size, c.penetration, b.benchmark_penetration, b.peers,
           greatest(b.benchmark_penetration - c.penetration, 0) * c.market_size AS headroom
    FROM pen c JOIN bench b USING (channel)
    WHERE c.penetration IS NOT NULL {where}
    )
    SELECT * FROM ranked WHERE headroom > 0
    ORDER BY headroom DESC, region, channel
    LIMIT {int(top_n)}
    """, args).df()
    for col in ("revenue", "active_partners", "market_size", "penetration", "benchmark_penetration", "headroom"):
        frame[col] = frame[col].astype("float64")
    if partner_expr != "partner_id":
        frame["active_partners"] = float("nan")
    frame["peers"] = frame["peers"].astype("int64")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame
