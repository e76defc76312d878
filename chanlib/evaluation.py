"""Period evaluation: this period against the previous one and the same period last year, by channel.

Periods
-------
A *period* is a calendar ``month``, ``quarter`` or ``year``. The evaluated period is the latest **complete** one: the
latest period whose last day is on or before ``as_of``, where ``as_of`` defaults to (and is capped at) the last sale
date in the store -- i.e. the data reach the period's last day. The same ``as_of`` is used for every region, so regions
compare. It is compared with the *previous* period (for ``year`` that is also last year) and with the *same period
last year*. A comparison period counts as covered when the store's first sale date is at most
:data:`COVERAGE_SLACK_DAYS` days after its first day; an uncovered period's revenue is ``NaN`` (unknown), while a
covered period without sales for a channel has revenue ``0``. Growth is ``change / base`` and ``NaN`` -- never
infinite -- when the base revenue is zero or unknown.

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
chanlib's channel-evaluation modules (:mod:`chanlib.fit`, :mod:`chanlib.planning`, this one) share one convention: a
function whose *required* input table or column is absent from the store raises :class:`MissingInput` (with the
``table`` and a one-line ``reason``), which a report section turns into a one-line note; an *optional* column that is
absent (e.g. ``cost`` for margins) leaves the dependent columns ``NaN`` instead.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute(
...     "CREATE TABLE sales AS SELECT * FROM (VALUES "
...     "(DATE '2024-11-30', 'East', 'web', 100.0), (DATE '2024-12-31', 'East', 'web', 90.0), "
...     "(DATE '2025-11-30', 'East', 'web', 120.0), (DATE '2025-11-30', 'East', 'shop', 80.0), "
...     "(DATE '2025-12-31', 'East', 'web', 150.0), (DATE '2025-12-31', 'East', 'shop', 50.0)"
...     ") t(date, region, channel, revenue)")
>>> cmp = period_comparison(con, "month")
>>> cmp[["channel", "revenue", "revenue_prev", "revenue_ly", "growth_ly"]].to_string(index=False)
'channel  revenue  revenue_prev  revenue_ly  growth_ly\\n   shop     50.0          80.0         0.0        NaN\\n    web    150.0         120.0        90.0   0.666667'
>>> dec = mix_volume_decomposition(con, "month", against="previous")
>>> dec[["channel", "change", "volume_effect", "mix_effect"]].round(2).to_string(index=False)
'channel  change  volume_effect  mix_effect\\n   shop   -30.0            0.0       -30.0\\n    web    30.0            0.0        30.0'
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb
import pandas as pd

from .errors import MissingInput
from .kpi import COVERAGE_SLACK_DAYS
from .store import has_table, table_columns as columns

log = logging.getLogger(__name__)

Period = Literal["month", "quarter", "year"]
PERIODS: tuple[str, ...] = ("month", "quarter", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def require(con: duckdb.DuckDBPyConnection, table: str, needed: tuple[str, ...] = (), why: str = "") -> set[str]:
    """Raise :class:`MissingInput` unless ``table`` exists with the ``needed`` columns; return its columns."""
    if not has_table(con, table):
        raise MissingInput(table, f"the store has no {table} table{f' ({why})' if why else ''}")
    have = columns(con, table)
    lacking = [c for c in needed if c not in have]
    if lacking:
        raise MissingInput(table, f"the {table} table has no {', '.join(lacking)} column"
                                  f"{'s' if len(lacking) > 1 else ''}{f' ({why})' if why else ''}")
    return have


@dataclass(frozen=True)
class Periods:
    """The evaluated period and its two comparison periods (inclusive first and last days)."""

    period: str
    start: date
    end: date
    prev_start: date
    prev_end: date
    ly_start: date
    ly_end: date
    prev_covered: bool
    ly_covered: bool

    @property
    def label(self) -> str:
        return period_label(self.start, self.period)

    @property
    def prev_label(self) -> str:
        return period_label(self.prev_start, self.period)

    @property
    def ly_label(self) -> str:
        return period_label(self.ly_start, self.period)


def period_label(start: date | pd.Timestamp, period: str) -> str:
    """A reader's name for a period: ``December 2025``, ``2025 Q4`` or ``2025``.

    >>> period_label(date(2025, 12, 1), "month"), period_label(date(2025, 10, 1), "quarter")
    ('December 2025', '2025 Q4')
    """
    ts = pd.Timestamp(start)
    if period == "month":
        return ts.strftime("%B %Y")
    if period == "quarter":
        return f"{ts.year} Q{(ts.month - 1) // 3 + 1}"
    return str(ts.year)


def _check_period(period: str) -> int:
    if period not in _MONTHS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    return _MONTHS[period]


def last_complete_bounds(con: duckdb.DuckDBPyConnection, period: str,
                   as_of: date | str | None) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """First sale date, and first and last day of the latest period whose last day the data reach (up to ``as_of``).

    Unlike :func:`latest_complete_period` this does not ask the data to start by the period's first day.
    """
    months = _check_period(period)
    first, last = con.execute("SELECT min(date), max(date) FROM sales").fetchone()
    if last is None:
        raise MissingInput("sales", "the sales table has no rows")
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    cap = last if as_of is None else min(pd.Timestamp(as_of), last)
    # the period containing the day after `cap` is the first incomplete one; the one before it is complete
    nxt = (cap + pd.Timedelta(days=1)).to_period({"month": "M", "quarter": "Q", "year": "Y"}[period])
    start = (nxt - 1).start_time.normalize()
    return first, start, start + pd.DateOffset(months=months) - pd.Timedelta(days=1)


def latest_complete_period(con: duckdb.DuckDBPyConnection, period: str = "month",
                           as_of: date | str | None = None) -> Periods:
    """The latest complete period up to ``as_of`` (default: the last sale date) and its comparison periods.

    Raises :class:`MissingInput` when the sales table is empty or no period is complete.

    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE sales AS SELECT DATE '2024-03-01' + INTERVAL (i) DAY AS date FROM range(61) t(i)")
    >>> p = latest_complete_period(con, "month")
    >>> str(p.start), str(p.end), str(p.prev_start), p.prev_covered, p.ly_covered
    ('2024-04-01', '2024-04-30', '2024-03-01', True, False)
    """
    months = _check_period(period)
    first, start, end = last_complete_bounds(con, period, as_of)
    prev_start = start - pd.DateOffset(months=months)
    ly_start = start - pd.DateOffset(years=1)
    slack = pd.Timedelta(days=COVERAGE_SLACK_DAYS)
    if first > start + slack:
        raise MissingInput("sales", f"no complete {period} in the data (they start on {first.date()}, after the "
                                    f"start of {period_label(start, period)})")
    return Periods(period, start.date(), end.date(), prev_start.date(), (start - pd.Timedelta(days=1)).date(),
                   ly_start.date(), (ly_start + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date(),
                   first <= prev_start + slack, first <= ly_start + slack)


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


def period_comparison(con: duckdb.DuckDBPyConnection, period: Period = "month", as_of: date | str | None = None,
                      region: str | None = None) -> pd.DataFrame:
    """Revenue per region and channel this period, the previous period and the same period last year.

    Columns: region, channel, period_start, period_end, revenue, revenue_prev, revenue_ly, change_prev,
    growth_prev, change_ly, growth_ly, share (of the region's revenue this period), share_ly. A channel appears when
    it sold in any of the three periods; comparison columns are ``NaN`` when the data do not reach back.
    """
    p = latest_complete_period(con, period, as_of)
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


def mix_volume_decomposition(con: duckdb.DuckDBPyConnection, period: Period = "month",
                             as_of: date | str | None = None, region: str | None = None,
                             against: Literal["last_year", "previous"] = "last_year") -> pd.DataFrame:
    """Split each region's revenue change into per-channel volume and mix effects (see the module docstring).

    Columns: region, channel, period_start, base_start, revenue, revenue_base, change, share, share_base,
    volume_effect, mix_effect. Per row ``volume_effect + mix_effect == change``; per region the volume effects sum
    to the total change and the mix effects to zero. All base-dependent columns are ``NaN`` when the data do not
    reach back to the base period.
    """
    if against not in ("last_year", "previous"):
        raise ValueError(f"against must be 'last_year' or 'previous', not {against!r}")
    p = latest_complete_period(con, period, as_of)
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


def key_changes(con: duckdb.DuckDBPyConnection, period: Period = "month", as_of: date | str | None = None,
                region: str | None = None, currency: str = "", n: int = 3) -> list[str]:
    """A few Markdown sentences on the changes that matter most (data-derived names escaped).

    The first sentence gives the total against the previous period and last year (for ``region=None``: the whole
    business). Then up to ``n`` region x channel cells with the largest absolute revenue change against last year
    (against the previous period when last year is not covered), each with its volume and mix effects.
    """
    from . import narrative

    p = latest_complete_period(con, period, as_of)
    cmp = period_comparison(con, period, as_of, region)
    against = "last_year" if p.ly_covered else "previous"
    dec = mix_volume_decomposition(con, period, as_of, region, against=against)
    totals = cmp[["revenue", "revenue_prev", "revenue_ly"]].sum(min_count=1)
    if not p.prev_covered:
        totals["revenue_prev"] = float("nan")
    if not p.ly_covered:
        totals["revenue_ly"] = float("nan")
    sentences = [narrative.period_total_sentence(region or "All regions", p.label, totals["revenue"],
                                                 p.prev_label, totals["revenue_prev"], p.ly_label,
                                                 totals["revenue_ly"], currency)]
    if dec["change"].isna().all():
        return sentences
    dec = dec[dec["change"].abs() > 0]
    top = dec.reindex(dec["change"].abs().sort_values(ascending=False).index).head(n)
    base_label = p.ly_label if against == "last_year" else p.prev_label
    for row in top.itertuples(index=False):
        sentences.append(narrative.channel_change_sentence(
            row.channel, None if region is not None else row.region, base_label, row.revenue, row.revenue_base,
            row.volume_effect, row.mix_effect, row.share, row.share_base, currency))
    return sentences
