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

Market growth and share shift
-----------------------------
For one region with total revenue ``R0`` in the base period and ``R1`` in this period, and channel shares
``s0_c = r0_c / R0`` and ``s1_c = r1_c / R1``, the change of channel ``c``'s revenue splits into

* ``market_growth_c = (R1 - R0) * s0_c`` -- the region's total change allocated at the base shares: what the channel
  would have gained had it kept its share of the region (the region's "market growth" as the channel sees it), and
* ``share_shift_c = R1 * (s1_c - s0_c)`` -- what its shift in share of the region moved at this period's total,

so ``market_growth_c + share_shift_c = r1_c - r0_c`` exactly; the market-growth parts add up to ``R1 - R0`` and the
share shifts to zero (one channel's gain in share is another's loss). When either total is not positive (no sales, or
more returns than sales) the shares are undefined (``NaN``): the whole change of each channel counts as market growth
and there is no share shift, so the identity holds in every case. (This split was called "volume / mix"; it says
nothing about units or prices -- that is the price/volume/mix split below.)

Price, volume and mix (from units)
----------------------------------
Where the sales have ``units``, :func:`price_volume_mix` splits each channel's revenue change using units. With
``u0_c, u1_c`` the channel's units, ``U0, U1`` the region's, and the revenue per unit ``p0_c = r0_c / u0_c`` and
``p1_c = r1_c / u1_c``:

* ``price_effect_c = (p1_c - p0_c) * u1_c`` -- the change in revenue per unit, at this period's units;
* ``volume_effect_c = (U1 / U0 - 1) * r0_c`` -- the change in the region's units at base prices and the base mix
  (every channel's units scaled by the region's unit growth);
* ``mix_effect_c = p0_c * (u1_c - U1 * u0_c / U0)`` -- the rest: this period's units beyond the channel's base share
  of units, at its base price.

``price_effect_c + volume_effect_c + mix_effect_c = r1_c - r0_c`` exactly. The volume effects add up to
``(U1 - U0) * R0 / U0`` (the change in units at the base average price); unlike the share shift, the mix effects
need not cancel: moving units to channels with a higher price per unit raises revenue. A channel without units in
the base period (new) has no base price: it is taken to be this period's (no price effect; its revenue is mix). A
channel without units this period has no price effect. A region without units in the base period has all of its
change as volume. Where a channel has revenue but no (or negative) units in either period, revenue per unit is
undefined and the region's effects are ``NaN``.

Absent inputs
-------------
Every analysis shares one convention: a function whose *required* input table or column is absent raises
:class:`~chanlib.errors.MissingInput` (with the ``table`` and a one-line ``reason``), which a report section turns
into a one-line note and the CLI into a log line; an *optional* column that is absent (e.g. ``cost`` for margins)
leaves the dependent columns ``NaN`` instead.

Tables
------
``data`` is an open store or a mapping of canonical table name to DataFrame (:func:`chanlib.data.store.as_connection`);
this module reads ``sales`` (``date, region, channel, revenue`` and, for :func:`price_volume_mix`, ``units``).

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
>>> dec = share_shift_decomposition({"sales": sales}, "month", against="previous")
>>> print(dec[["channel", "change", "market_growth", "share_shift"]].round(2).to_string(index=False))
channel  change  market_growth  share_shift
   shop   -30.0            0.0        -30.0
    web    30.0            0.0         30.0
>>> units = sales.assign(units=[10.0, 9.0, 10.0, 10.0, 12.0, 5.0])
>>> pvm = price_volume_mix({"sales": units}, "month", against="previous")
>>> print(pvm[["channel", "change", "price_effect", "volume_effect", "mix_effect"]].round(2).to_string(index=False))
channel  change  price_effect  volume_effect  mix_effect
   shop   -30.0          10.0          -12.0       -28.0
    web    30.0           6.0          -18.0        42.0
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Literal

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.data.store import Tables, as_connection, date_bounds, require
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


def share_shift_decomposition(data: Tables, period: Period = "month", as_of: date | str | None = None,
                              region: str | None = None, against: Literal["last_year", "previous"] = "last_year",
                              tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                              slack_days: int = periods.COVERAGE_SLACK_DAYS) -> pd.DataFrame:
    """Split each region's revenue change into per-channel market growth and share shift (see the module
    docstring).

    Columns: region, channel, period_start, base_start, revenue, revenue_base, change, share, share_base,
    market_growth, share_shift. Per row ``market_growth + share_shift == change``; per region the market-growth
    parts sum to the total change and the share shifts to zero. All base-dependent columns are ``NaN`` when the data
    do not reach back to the base period.
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
        )  -- without shares in either period the whole change is market growth (see the module docstring)
        SELECT region, channel, revenue, revenue_base, revenue - revenue_base AS change,
               s1 AS share, s0 AS share_base,
               CASE WHEN r1 > 0 AND r0 > 0 THEN (r1 - r0) * s0 ELSE revenue - revenue_base END AS market_growth,
               CASE WHEN r1 > 0 AND r0 > 0 THEN r1 * (s1 - s0) ELSE 0 END AS share_shift
        FROM s ORDER BY region, channel
        """).df()
    finally:
        con.unregister("chanlib_mv_input")
    for col in out.columns[2:]:
        out[col] = out[col].astype("float64")
    if not (p.ly_covered if against == "last_year" else p.prev_covered):
        out[["revenue_base", "change", "share_base", "market_growth", "share_shift"]] = float("nan")
    base_start = p.ly_start if against == "last_year" else p.prev_start
    out.insert(2, "period_start", pd.Timestamp(p.start))
    out.insert(3, "base_start", pd.Timestamp(base_start))
    return out



def price_volume_mix(data: Tables, period: Period = "month", as_of: date | str | None = None,
                     region: str | None = None, against: Literal["last_year", "previous"] = "last_year",
                     tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                     slack_days: int = periods.COVERAGE_SLACK_DAYS) -> pd.DataFrame:
    """Split each channel's revenue change into price, volume and mix effects from units (see the module
    docstring).

    Columns: region, channel, period_start, base_start, revenue, revenue_base, units, units_base, price,
    price_base (revenue per unit), change, price_effect, volume_effect, mix_effect. Per row
    ``price_effect + volume_effect + mix_effect == change``. The effects are ``NaN`` when the data do not reach
    back to the base period, and for a region where a channel has revenue without units. Raises
    :class:`~chanlib.errors.MissingInput` when the sales table has no ``units`` column.
    """
    if against not in ("last_year", "previous"):
        raise ValueError(f"against must be 'last_year' or 'previous', not {against!r}")
    con = as_connection(data)
    require(con, "sales", ("units",), "a price/volume/mix split needs units")
    p = latest_complete_period(con, period, as_of, tolerance_days, slack_days)
    base_start, base_end = (p.ly_start, p.ly_end) if against == "last_year" else (p.prev_start, p.prev_end)
    covered = p.ly_covered if against == "last_year" else p.prev_covered
    where = "AND region = $region" if region is not None else ""
    args: dict[str, object] = {"cs": p.start, "ce": p.end, "bs": base_start, "be": base_end}
    if region is not None:
        args["region"] = region
    out = con.execute(f"""
    WITH c AS (
        SELECT region, channel,
               coalesce(sum(revenue) FILTER (WHERE date BETWEEN $cs AND $ce), 0) AS revenue,
               coalesce(sum(revenue) FILTER (WHERE date BETWEEN $bs AND $be), 0) AS revenue_base,
               coalesce(sum(units) FILTER (WHERE date BETWEEN $cs AND $ce), 0) AS units,
               coalesce(sum(units) FILTER (WHERE date BETWEEN $bs AND $be), 0) AS units_base
        FROM sales WHERE ((date BETWEEN $cs AND $ce) OR (date BETWEEN $bs AND $be)) {where}
        GROUP BY region, channel
    ), p AS (
        SELECT *,
               CASE WHEN units > 0 THEN revenue / units END AS price,
               CASE WHEN units_base > 0 THEN revenue_base / units_base END AS price_base,
               sum(units) OVER w AS u1, sum(units_base) OVER w AS u0,
               -- revenue per unit is undefined for a channel with revenue but no (or negative) units
               bool_or((revenue <> 0 AND units <= 0) OR (revenue_base <> 0 AND units_base <= 0)) OVER w AS undefined
        FROM c WINDOW w AS (PARTITION BY region)
    ), e AS (
        SELECT *, coalesce(price_base, price) AS p0,  -- a new channel's base price is this period's
               CASE WHEN u0 > 0 THEN u1 / u0 END AS growth
        FROM p
    )
    SELECT region, channel, revenue, revenue_base, units, units_base, price, price_base,
           revenue - revenue_base AS change,
           CASE WHEN undefined THEN NULL WHEN growth IS NULL THEN 0
                ELSE coalesce((price - p0) * units, 0) END AS price_effect,
           CASE WHEN undefined THEN NULL WHEN growth IS NULL THEN revenue - revenue_base
                ELSE (growth - 1) * revenue_base END AS volume_effect,
           CASE WHEN undefined THEN NULL WHEN growth IS NULL THEN 0
                ELSE coalesce(p0 * (units - growth * units_base), 0) END AS mix_effect
    FROM e ORDER BY region, channel
    """, args).df()
    for col in out.columns[2:]:
        out[col] = out[col].astype("float64")
    if not covered:
        out[["revenue_base", "units_base", "price_base", "change", "price_effect", "volume_effect",
             "mix_effect"]] = float("nan")
    out.insert(2, "period_start", pd.Timestamp(p.start))
    out.insert(3, "base_start", pd.Timestamp(base_start))
    log.info("price/volume/mix %s against %s (%s): %d rows", p.label, against, region or "all regions", len(out))
    return out
