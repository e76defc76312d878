"""Regional planning: coverage, penetration and white space, against the ``market`` table's market sizes.

Definitions (all over the same months: the last ``months`` complete calendar months -- see
:func:`chanlib.periods.complete_months` -- that the market table has figures for, per region):

* **Served market** of a region x channel cell -- the market the channel serves, from the ``channels`` table's
  ``market`` column (e.g. ``domestic``, ``cross_border``), sized by the ``market`` table's rows with that ``market``
  in the region, summed over categories and months. A channel without a market in the channels table (or without a
  channels table), or whose market has no rows in the region (or a market table without a ``market`` column), is
  measured against the **whole regional market** (every market row of the region); its ``served_market`` is then
  ``NaN`` (``None``). ``market_size`` is the size the cell is measured against.
* ``active_partners`` -- distinct ``partner_id`` with at least one sale in the cell in those months (``NaN`` when the
  sales table has no ``partner_id``); ``partners_per_million`` = active partners per ``partners_per`` (default
  1,000,000, in the data's currency) of that market size.
* ``penetration`` = revenue / market size.
* **Peers** of a cell -- the *other* regions (the region itself excluded) that sell in the channel (revenue > 0 and a
  market size > 0); ``peers`` is their number.
* **Benchmark** -- with at least ``min_peers`` peers (default 3, ``planning.min_peers``), the upper quartile
  (``benchmark_quantile``, linear interpolation as ``quantile_cont``) of the peers' penetration; with fewer there is
  no benchmark (``NaN``, status ``too few peers``).
* **Headroom** = ``max(0, benchmark - penetration) x market_size``: the extra revenue the cell would have if it reached
  what good peers already achieve (``NaN`` without a benchmark).
* ``status`` -- ``untapped`` (no sales in the region), ``too few peers``, ``under-penetrated`` (headroom > 0) or
  ``at or above benchmark``.

:func:`white_space` ranks the under-penetrated cells -- channels the region sells in -- by headroom; channels the
region does not sell in are not ranked with them (their "headroom" would be the whole benchmark and would always top
the list) but listed by :func:`untapped` with their market size and the benchmark's ``potential``.

Regions without market rows are left out (logged). Needs the ``market`` table; without it
:class:`~chanlib.errors.MissingInput` is raised. ``data`` is an open store or a mapping of canonical table name to
DataFrame (``sales``: date, region, channel, revenue and optionally partner_id; ``market``: period, region, category,
market_size and optionally market; ``channels``, optional: channel, market).

Examples
--------
>>> import pandas as pd
>>> regions = ["A", "B", "C", "D"]
>>> market = pd.DataFrame({"period": pd.Timestamp("2025-01-01"), "region": regions, "category": "toys",
...                        "market_size": 1000.0})
>>> sales = pd.DataFrame({"date": pd.Timestamp("2025-01-31"), "region": regions + ["A", "B", "C"],
...                       "channel": ["web"] * 4 + ["shop"] * 3, "revenue": [10.0, 20, 30, 40, 5, 10, 15]})
>>> con = as_connection({"sales": sales, "market": market})
>>> cells = coverage(con)
>>> print(cells[["region", "channel", "penetration", "peers", "benchmark_penetration", "status"]]
...       .to_string(index=False))
region channel  penetration  peers  benchmark_penetration                 status
     A    shop        0.005      2                    NaN          too few peers
     A     web        0.010      3                 0.0350       under-penetrated
     B    shop        0.010      2                    NaN          too few peers
     B     web        0.020      3                 0.0350       under-penetrated
     C    shop        0.015      2                    NaN          too few peers
     C     web        0.030      3                 0.0300  at or above benchmark
     D    shop        0.000      3                 0.0125               untapped
     D     web        0.040      3                 0.0250  at or above benchmark
>>> print(white_space(con)[["rank", "region", "channel", "peers", "headroom"]].to_string(index=False))
 rank region channel  peers  headroom
    1      A     web      3      25.0
    2      B     web      3      15.0
>>> print(untapped(con)[["region", "channel", "market_size", "potential"]].to_string(index=False))
region channel  market_size  potential
     D    shop       1000.0       12.5
"""
from __future__ import annotations

import logging
from typing import Literal

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.analytics.product_fit import month_window
from chanlib.data.store import Tables, as_connection, has_table, require, table_columns

log = logging.getLogger(__name__)

__all__ = ["coverage", "white_space", "untapped"]

#: partners are counted per this much market size (default of ``planning.partners_per``)
PER_MARKET = 1_000_000.0
#: a benchmark needs at least this many peer regions (default of ``planning.min_peers``)
MIN_PEERS = 3
#: the quantile of the peers' penetration that is the benchmark (default of ``planning.benchmark_quantile``)
BENCHMARK_QUANTILE = 0.75

_FLOAT_COLUMNS = ("revenue", "active_partners", "market_size", "penetration", "benchmark_penetration", "headroom")


def _cells_sql(partner_expr: str, market_expr: str, served_sql: str) -> str:
    """SQL (CTEs) for region x channel and region-level revenue, partners and (served) market size in the window."""
    return f"""
    mkt_rows AS (
        SELECT region, CAST(date_trunc('month', period) AS DATE) AS month, {market_expr} AS market, market_size
        FROM market WHERE period BETWEEN $start AND $end AND market_size IS NOT NULL
    ), mkt AS (  -- the months each region has market figures for
        SELECT DISTINCT region, month FROM mkt_rows
    ), mkt_r AS (  -- the whole regional market
        SELECT region, sum(market_size) AS market_size, count(DISTINCT month) AS market_months
        FROM mkt_rows GROUP BY region
    ), mkt_m AS (  -- each market the market table sizes separately (domestic, cross_border, ...)
        SELECT region, market, sum(market_size) AS market_size FROM mkt_rows WHERE market IS NOT NULL GROUP BY ALL
    ), served AS (  -- the market each channel serves, from the channels table
        {served_sql}
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
        SELECT g.region, g.channel, CASE WHEN m.market_size IS NOT NULL THEN sv.market END AS served_market,
               coalesce(a.revenue, 0) AS revenue, coalesce(a.active_partners, 0) AS active_partners,
               coalesce(m.market_size, r.market_size) AS market_size, r.market_months
        FROM grid g JOIN mkt_r r USING (region)
        LEFT JOIN served sv ON sv.channel = g.channel
        LEFT JOIN mkt_m m ON m.region = g.region AND m.market = sv.market
        LEFT JOIN agg a ON a.region = g.region AND a.channel = g.channel AND a.region_level = 0
    ), regions AS (
        SELECT r.region, coalesce(a.revenue, 0) AS revenue, coalesce(a.active_partners, 0) AS active_partners,
               r.market_size, r.market_months
        FROM mkt_r r LEFT JOIN agg a ON a.region = r.region AND a.region_level = 1
    ), pen AS (
        SELECT *, CASE WHEN market_size > 0 THEN revenue / market_size END AS penetration FROM cells
    ), bench AS (  -- the peers of a cell: the other regions selling in the channel
        SELECT c.region, c.channel, count(p.region) AS peers, quantile_cont(p.penetration, $q) AS peer_quantile
        FROM pen c LEFT JOIN pen p
          ON p.channel = c.channel AND p.region <> c.region AND p.revenue > 0 AND p.penetration IS NOT NULL
        GROUP BY c.region, c.channel
    ), scored AS (
        SELECT c.*, b.peers, CASE WHEN b.peers >= $min_peers THEN b.peer_quantile END AS benchmark_penetration
        FROM pen c JOIN bench b USING (region, channel)
    ), judged AS (
        SELECT *, CASE WHEN benchmark_penetration IS NOT NULL  -- without a benchmark there is no headroom (NULL)
                       THEN greatest(benchmark_penetration - penetration, 0) * market_size END AS headroom
        FROM scored
    )"""


def _args(con: duckdb.DuckDBPyConnection, months: int, tolerance_days: int
          ) -> tuple[dict[str, object], tuple[str, str, str]]:
    """The window's query arguments and the SQL pieces for the optional columns (partner, market, served market)."""
    have_market = require(con, "market", ("period", "region", "market_size"),
                          "market sizes per region are needed for coverage, penetration and white space")
    sales_cols = require(con, "sales")
    window = month_window(con, months, tolerance_days)
    if window is None:
        raise ValueError("months must be a number of months")
    partner_expr = "partner_id" if "partner_id" in sales_cols else "CAST(NULL AS VARCHAR)"
    market_expr = "market" if "market" in have_market else "CAST(NULL AS VARCHAR)"
    if has_table(con, "channels") and "market" in table_columns(con, "channels"):
        served_sql = "SELECT channel, any_value(market) AS market FROM channels GROUP BY channel"
    else:
        served_sql = "SELECT CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS VARCHAR) AS market WHERE FALSE"
    return ({"start": window[0].date(), "end": window[1].date()}, (partner_expr, market_expr, served_sql))


def _finish(frame: pd.DataFrame, has_partners: bool, per: float) -> pd.DataFrame:
    for col in ("revenue", "active_partners", "market_size"):
        frame[col] = frame[col].astype("float64")
    if not has_partners:
        frame["active_partners"] = float("nan")
    size = frame["market_size"].where(frame["market_size"] > 0)
    frame["partners_per_million"] = frame["active_partners"] / size * per
    frame["penetration"] = frame["revenue"] / size
    return frame


def _check(benchmark_quantile: float, min_peers: int) -> None:
    if not 0 <= benchmark_quantile <= 1:
        raise ValueError(f"benchmark_quantile must be within [0, 1], not {benchmark_quantile}")
    if min_peers < 1:
        raise ValueError(f"min_peers must be at least 1, not {min_peers}")


def _cells(con: duckdb.DuckDBPyConnection, months: int, tolerance_days: int, benchmark_quantile: float,
           min_peers: int) -> tuple[pd.DataFrame, bool]:
    """Every region x channel cell with its served market, penetration, peers, benchmark, headroom and status."""
    _check(benchmark_quantile, min_peers)
    args, (partner_expr, market_expr, served_sql) = _args(con, months, tolerance_days)
    args.update(q=benchmark_quantile, min_peers=int(min_peers))
    frame = con.execute(f"""
    WITH {_cells_sql(partner_expr, market_expr, served_sql)}
    SELECT region, channel, CAST($start AS DATE) AS window_start, CAST($end AS DATE) AS window_end, market_months,
           served_market, revenue, active_partners, market_size, peers, benchmark_penetration, headroom,
           CASE WHEN revenue <= 0 THEN 'untapped'
                WHEN benchmark_penetration IS NULL THEN 'too few peers'
                WHEN headroom > 0 THEN 'under-penetrated'
                ELSE 'at or above benchmark' END AS status
    FROM judged ORDER BY region, channel
    """, args).df()
    _log_unmatched(con, args)
    return frame, partner_expr == "partner_id"


def _given_or_computed(cells: pd.DataFrame | None, data: Tables, months: int, tolerance_days: int,
                       benchmark_quantile: float, min_peers: int) -> tuple[pd.DataFrame, bool]:
    """The cells of every region: ``cells`` (a :func:`coverage` frame, whose ``active_partners`` is already NaN
    without partner ids) or computed from ``data``."""
    if cells is None:
        return _cells(as_connection(data), months, tolerance_days, benchmark_quantile, min_peers)
    missing = {"region", "channel", "status", "served_market", "revenue", "active_partners", "market_size",
               "benchmark_penetration", "peers", "headroom"} - set(cells.columns)
    if missing:
        raise ValueError(f"cells must be a coverage() frame by channel; it lacks {', '.join(sorted(missing))}")
    return cells, True


def coverage(data: Tables, region: str | None = None, by: Literal["channel", "region"] = "channel",
             months: int = 12, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
             partners_per: float = PER_MARKET, benchmark_quantile: float = BENCHMARK_QUANTILE,
             min_peers: int = MIN_PEERS) -> pd.DataFrame:
    """Active partners, market size, partners per ``partners_per`` of market, penetration and, per channel, the peer
    benchmark (see the module docstring).

    ``by="channel"``: one row per region x channel (every channel sold anywhere in the window, so a channel a region
    lacks shows 0 partners), measured against the channel's served market; columns region, channel, window_start,
    window_end, market_months, served_market, revenue, active_partners, market_size, peers, benchmark_penetration,
    headroom, status, partners_per_million, penetration. ``by="region"``: one row per region against the whole
    regional market; columns region, window_start, window_end, market_months, revenue, active_partners,
    market_size, partners_per_million, penetration. The benchmark always comes from all regions; ``region`` only
    filters the rows returned.
    """
    if by not in ("channel", "region"):
        raise ValueError(f"by must be 'channel' or 'region', not {by!r}")
    con = as_connection(data)
    if by == "channel":
        frame, has_partners = _cells(con, months, tolerance_days, benchmark_quantile, min_peers)
    else:
        args, (partner_expr, market_expr, served_sql) = _args(con, months, tolerance_days)
        args.update(q=benchmark_quantile, min_peers=int(min_peers))
        frame = con.execute(f"""
        WITH {_cells_sql(partner_expr, market_expr, served_sql)}
        SELECT region, CAST($start AS DATE) AS window_start, CAST($end AS DATE) AS window_end, market_months,
               revenue, active_partners, market_size
        FROM regions ORDER BY region
        """, args).df()
        _log_unmatched(con, args)
        has_partners = partner_expr == "partner_id"
    if region is not None:
        frame = frame[frame["region"] == region]
    frame = _finish(frame.reset_index(drop=True), has_partners, partners_per)
    if by == "channel":
        frame[["benchmark_penetration", "headroom"]] = frame[["benchmark_penetration", "headroom"]].astype("float64")
        frame["peers"] = frame["peers"].astype("int64")
    return frame


def _log_unmatched(con: duckdb.DuckDBPyConnection, args: dict[str, object]) -> None:
    missing = [r for (r,) in con.execute(
        "SELECT DISTINCT region FROM sales WHERE date BETWEEN $start AND $end "
        "AND region NOT IN (SELECT region FROM market WHERE period BETWEEN $start AND $end) ORDER BY 1",
        {"start": args["start"], "end": args["end"]}).fetchall()]
    if missing:
        log.warning("regions without market figures in the window are left out: %s", ", ".join(missing))


def white_space(data: Tables, top_n: int = 10, region: str | None = None, months: int = 12,
                benchmark_quantile: float = BENCHMARK_QUANTILE,
                tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS, min_peers: int = MIN_PEERS,
                cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """The under-penetrated region x channel cells -- channels a region sells in, below the benchmark of at least
    ``min_peers`` other regions -- ranked by headroom, largest first (see the module docstring).

    Channels a region does not sell in are listed by :func:`untapped` instead. The benchmark always comes from all
    regions (peers); ``region`` only filters the rows returned. Columns: rank, region, channel, status
    ('under-penetrated'), served_market (``None``: the whole regional market), revenue, active_partners,
    market_size, penetration, benchmark_penetration, peers (the other regions the benchmark is drawn from), headroom.

    ``cells``: the :func:`coverage` of every region by channel, when the caller has it already (with the same
    ``months``, ``benchmark_quantile``, ``tolerance_days`` and ``min_peers``); ``data`` is not read then.
    """
    frame, has_partners = _given_or_computed(cells, data, months, tolerance_days, benchmark_quantile, min_peers)
    frame = frame[frame["status"] == "under-penetrated"]
    if region is not None:
        frame = frame[frame["region"] == region]
    frame = _finish(frame.copy(), has_partners, PER_MARKET)
    frame = frame.sort_values(["headroom", "region", "channel"], ascending=[False, True, True]).head(int(top_n))
    columns = ["region", "channel", "status", "served_market", "revenue", "active_partners", "market_size",
               "penetration", "benchmark_penetration", "peers", "headroom"]
    frame = frame[columns].reset_index(drop=True)
    for col in _FLOAT_COLUMNS:
        frame[col] = frame[col].astype("float64")
    frame["peers"] = frame["peers"].astype("int64")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def untapped(data: Tables, region: str | None = None, months: int = 12,
             benchmark_quantile: float = BENCHMARK_QUANTILE, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
             min_peers: int = MIN_PEERS, cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """Channels sold in some region but not in this one (per region; see the module docstring).

    Columns: region, channel, served_market (``None``: the whole regional market), market_size, peers,
    benchmark_penetration (``NaN`` with fewer than ``min_peers`` peers) and potential = benchmark x market size, the
    revenue the channel would bring at the benchmark (``NaN`` without one). Sorted by region, then potential and
    market size, largest first. ``cells``: as for :func:`white_space`.
    """
    frame, _ = _given_or_computed(cells, data, months, tolerance_days, benchmark_quantile, min_peers)
    frame = frame[frame["status"] == "untapped"]
    if region is not None:
        frame = frame[frame["region"] == region]
    frame = frame.assign(market_size=frame["market_size"].astype("float64"),
                         benchmark_penetration=frame["benchmark_penetration"].astype("float64"))
    frame["potential"] = frame["benchmark_penetration"] * frame["market_size"]
    frame = frame.sort_values(["region", "potential", "market_size", "channel"],
                              ascending=[True, False, False, True], na_position="last")
    columns = ["region", "channel", "served_market", "market_size", "peers", "benchmark_penetration", "potential"]
    frame = frame[columns].reset_index(drop=True)
    frame["peers"] = frame["peers"].astype("int64")
    return frame
