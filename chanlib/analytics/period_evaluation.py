"""Period evaluation: this period against the previous one and the same period last year, by channel.

Periods
-------
A *period* is a calendar ``month``, ``quarter`` or ``year``. The evaluated period is the latest **complete** one
(:func:`chanlib.periods.latest_complete`: the data reach within ``tolerance_days`` of its last day), up to ``as_of``,
which defaults to (and is capped at) the last sale date. The same ``as_of`` is used for every region, so regions
compare. It is compared with the *previous* period (for ``year`` that is also last year) and with the *same period
last year*. A comparison period counts as covered when the first sale date is at most ``slack_days`` after its first
day (:func:`chanlib.periods.covered`); an uncovered period's revenue is ``NaN`` (unknown), while a covered period
without sales for a channel has revenue ``0``. Growth is ``change / base`` and ``NaN`` -- never infinite -- when the
base revenue is zero or unknown.

Mix-volume decomposition
------------------------
For one region with total revenue ``R0`` in the base period and ``R1`` in this period, and channel shares
``s0_c = r0_c / R0`` and ``s1_c = r1_c / R1``, the change of channel ``c``'s revenue splits into

* ``volume_c = (R1 - R0) * s0_c`` -- what the channel would have gained had it kept its share of the region, and
* ``mix_c = R1 * (s1_c - s0_c)`` -- what its share shift moved at this period's total,

so ``volume_c + mix_c = r1_c - r0_c`` exactly, the volume effects add up to ``R1 - R0`` and the mix effects to zero.
When ``R0 = 0`` the base shares are taken to be this period's (all change is volume), and when ``R1 = 0`` this period's
shares are taken to be the base's (mix is zero), so the identity holds in every case.

Absent inputs
-------------
Every analysis shares one convention: a function whose *required* input table or column is absent raises
:class:`~chanlib.errors.MissingInput` (with the ``table`` and a one-line ``reason``), which a report section turns
into a one-line note and the CLI into a log line; an *optional* column that is absent (e.g. ``cost`` for margins)
leaves the dependent columns ``NaN`` instead.

Tables
------
``data`` is an open store or a mapping of canonical table name to DataFrame (:func:`chanlib.data.store.as_connection`);
this module reads ``sales`` (``date, region, channel, revenue``).

Examples
--------
>>> import pandas as pd
>>> sales = pd.DataFrame({
...     "date": pd.to_datetime(["2024-11-30", "2024-12-31", "2025-11-30", "2025-11-30", "2025-12-31", "2025-12-31"]),
...     "region": "East", "channel": ["web", "web", "web", "shop", "web", "shop"],
...     "revenue": [100.0, 90.0, 120.0, 80.0, 150.0, 50.0]})
>>> cmp = period_comparison({"sales": sales}, "month")
>>> print(cmp[["channel", "revenue", "revenue_prev", "revenue_ly", "growth_ly"]].to_string(index=False))
channel  revenue  revenue_prev  revenue_ly  growth_ly
   shop     50.0          80.0         0.0        NaN
    web    150.0         120.0        90.0   0.666667
>>> dec = mix_volume_decomposition({"sales": sales}, "month", against="previous")
>>> print(dec[["channel", "change", "volume_effect", "mix_effect"]].round(2).to_string(index=False))
channel  change  volume_effect  mix_effect
   shop   -30.0            0.0       -30.0
    web    30.0            0.0        30.0
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Literal

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.data.store import Tables, as_connection, date_bounds
from chanlib.periods import Periods

log = logging.getLogger(__name__)

Period = periods.Grain


def latest_complete_period(data: Tables, period: str = "month", as_of: date | str | None = None,
                           tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                           slack_days: int = periods.COVERAGE_SLACK_DAYS) -> Periods:
    """The latest complete period of the sales up to ``as_of`` (default: the last sale date) and its comparison
    periods (:func:`chanlib.periods.comparison_periods`).

    Raises :class:`~chanlib.errors.MissingInput` when the sales table is empty or no period is complete.
    """
    first, last = date_bounds(as_connection(data))
    return periods.comparison_periods(first, last, period, as_of, tolerance_days, slack_days)


def _by_channel(con: duckdb.DuckDBPyConnection, p: Periods, region: str | None) -> pd.DataFrame:
    """Revenue per region and channel in this, the previous and last year's period (0 when no sales)."""
    where = "AND region = $region" if region is not None else ""
    sql = f"""
    SELECT region, channel,
           coalesce(sum(revenue) FILTER (WHERE date BETWEEN $cs AND $ce), 0) AS revenue,
           coalesce(sum(revenue) FILTER (WHERE date BETWEEN $ps AND $pe), 0) AS revenue_prev,
           coalesce(sum(revenue) FILTER (WHERE date BETWEEN $ls AND $le), 0) AS revenue_ly
    FROM sales
    WHERE ((date BETWEEN $cs AND $ce) OR (date BETWEEN $ps AND $pe) OR (date BETWEEN $ls AND $le)) {where}
    GROUP BY region, channel
    ORDER BY region, channel
    """
    args: dict[str, object] = {"cs": p.start, "ce": p.end, "ps": p.prev_start, "pe": p.prev_end,
                               "ls": p.ly_start, "le": p.ly_end}
    if region is not None:
        args["region"] = region
    frame = con.execute(sql, args).df()
    for col in ("revenue", "revenue_prev", "revenue_ly"):
        frame[col] = frame[col].astype("float64")
    if not p.prev_covered:
        frame["revenue_prev"] = float("nan")
    if not p.ly_covered:
        frame["revenue_ly"] = float("nan")
    return frame


def _growth(change: pd.Series, base: pd.Series) -> pd.Series:
    return (change / base.where(base > 0)).astype("float64")


def period_comparison(data: Tables, period: Period = "month", as_of: date | str | None = None,
                      region: str | None = None, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                      slack_days: int = periods.COVERAGE_SLACK_DAYS) -> pd.DataFrame:
    """Revenue per region and channel this period, the previous period and the same period last year.

    Columns: region, channel, period_start, period_end, revenue, revenue_prev, revenue_ly, change_prev,
    growth_prev, change_ly, growth_ly, share (of the region's revenue this period), share_ly. A channel appears when
    it sold in any of the three periods; comparison columns are ``NaN`` when the data do not reach back.
    """
    con = as_connection(data)
    p = latest_complete_period(con, period, as_of, tolerance_days, slack_days)
    frame = _by_channel(con, p, region)
    frame.insert(2, "period_start", pd.Timestamp(p.start))
    frame.insert(3, "period_end", pd.Timestamp(p.end))
    for suffix in ("prev", "ly"):
        frame[f"change_{suffix}"] = frame["revenue"] - frame[f"revenue_{suffix}"]
        frame[f"growth_{suffix}"] = _growth(frame[f"change_{suffix}"], frame[f"revenue_{suffix}"])
    for col, base in (("share", "revenue"), ("share_ly", "revenue_ly")):
        total = frame.groupby("region")[base].transform("sum")
        frame[col] = (frame[base] / total.where(total > 0)).astype("float64")
    log.info("period comparison %s (%s): %d rows", p.label, region or "all regions", len(frame))
    return frame.reset_index(drop=True)


def mix_volume_decomposition(data: Tables, period: Period = "month", as_of: date | str | None = None,
                             region: str | None = None, against: Literal["last_year", "previous"] = "last_year",
                             tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                             slack_days: int = periods.COVERAGE_SLACK_DAYS) -> pd.DataFrame:
    """Split each region's revenue change into per-channel volume and mix effects (see the module docstring).

    Columns: region, channel, period_start, base_start, revenue, revenue_base, change, share, share_base,
    volume_effect, mix_effect. Per row ``volume_effect + mix_effect == change``; per region the volume effects sum
    to the total change and the mix effects to zero. All base-dependent columns are ``NaN`` when the data do not
    reach back to the base period.
    """
    if against not in ("last_year", "previous"):
        raise ValueError(f"against must be 'last_year' or 'previous', not {against!r}")
    con = as_connection(data)
    p = latest_complete_period(con, period, as_of, tolerance_days, slack_days)
    frame = _by_channel(con, p, region)
    base_col = "revenue_ly" if against == "last_year" else "revenue_prev"
    con.register("chanlib_mv_input", frame[["region", "channel", "revenue", base_col]]
                 .rename(columns={base_col: "revenue_base"}))
    try:
        out = con.execute("""
        WITH t AS (
            SELECT *, sum(revenue) OVER w AS r1, sum(revenue_base) OVER w AS r0
            FROM chanlib_mv_input WINDOW w AS (PARTITION BY region)
        ), s AS (
            SELECT *, CASE WHEN r1 > 0 THEN revenue / r1 END AS s1, CASE WHEN r0 > 0 THEN revenue_base / r0 END AS s0
            FROM t
        ), f AS (  -- an empty period borrows the other period's shares (see the module docstring)
            SELECT *, coalesce(s1, s0) AS share_now, coalesce(s0, s1) AS share_then FROM s
        )
        SELECT region, channel, revenue, revenue_base, revenue - revenue_base AS change,
               share_now AS share, share_then AS share_base,
               (r1 - r0) * share_then AS volume_effect,
               r1 * (share_now - share_then) AS mix_effect
        FROM f ORDER BY region, channel
        """).df()
    finally:
        con.unregister("chanlib_mv_input")
    for col in out.columns[2:]:
        out[col] = out[col].astype("float64")
    if not (p.ly_covered if against == "last_year" else p.prev_covered):
        out[["revenue_base", "change", "share_base", "volume_effect", "mix_effect"]] = float("nan")
    base_start = p.ly_start if against == "last_year" else p.prev_start
    out.insert(2, "period_start", pd.Timestamp(p.start))
    out.insert(3, "base_start", pd.Timestamp(base_start))
    return out
