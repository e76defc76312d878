"""What the partner scorecard measures: indicators per partner and complete calendar quarter, read from the store
in DuckDB SQL, and how each is worded in reasons.

Every indicator is "higher is better" and describes a partner in quarter ``q`` (``quarter``: its first day). All
but ``compliance`` are measured over the *window*: the ``scorecard.window_quarters`` quarters ending with ``q``
(default 4, a rolling year, which evens out seasons, a one-off quarter and the few feedback responses a partner
gets a quarter):

``growth``
    revenue in the window / revenue in the same quarters a year earlier - 1, capped at ``scorecard.growth_cap``;
    empty when that earlier revenue is below ``periods.min_growth_base`` (too small a base), or when the partner or
    the data do not reach back to its start (a partner younger than that has no growth yet).
``target_attainment``
    targets are set per region x channel and month; a partner's share of a cell's target in a quarter is its share
    of the cell's revenue in the same quarter a year earlier, so attainment = revenue / (cell target x that share),
    summed over the window. Empty without revenue a year earlier. Needs the ``targets`` table.
``margin``
    gross margin share ``1 - cost / revenue`` over the window. Needs ``sales.cost``.
``sell_through``
    units sold in the window / (units sold + units on hand at the partner's last stock count up to the last day of
    ``q``). Needs ``sales.units`` and the ``inventory`` table.
``feedback``
    the mean score of the partner's feedback responses in the window; empty with fewer than
    ``scorecard.min_responses``. Needs ``feedback.partner_id``.
``compliance``
    the quarter's own share of the minimum purchase commitment (a commitment per quarter) met:
    min(1, revenue in ``q`` / ``partners.min_purchase``); 100% = met. Needs ``partners.min_purchase``.
``revenue``
    revenue in the window (the size of the business; compared on a log scale). Not weighted by default.

The frame also carries the quarter's own ``revenue_quarter``, ``gross_margin`` and ``gross_margin_ly`` (the same
quarter a year earlier), which incentives are paid on and measured by. A partner is scored from the quarter of its
first sale on; a quarter without sales counts as revenue 0. Its region and channel (its peers) and its tier come
from the ``partners`` table when it has them, else from its sales (where it sold most). ``tier`` is the tier held
at the quarter's last day: from the optional ``tier_history`` table (the latest row on or before that day), else
the partners table's current tier. An indicator whose table or column is absent is left out, with the reason in
:attr:`Indicators.left_out`.

Examples
--------
>>> import pandas as pd
>>> days = pd.date_range("2023-01-01", "2025-06-30", freq="D")
>>> sales = pd.DataFrame({"date": days, "region": "East", "channel": "web", "partner_id": "P1",
...                       "revenue": [100.0 * 1.1 ** (d.year - 2023) for d in days]})
>>> sales["cost"] = 0.6 * sales["revenue"]
>>> ind = partner_indicators({"sales": sales})
>>> ind.frame[["quarter", "revenue", "growth", "margin"]].tail(2).round(3).to_string(index=False)
'   quarter  revenue  growth  margin\\n2025-01-01  41140.0   0.097     0.4\\n2025-04-01  42141.0   0.097     0.4'
>>> sorted(ind.left_out)
['compliance', 'feedback', 'sell_through', 'target_attainment']
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from chanlib import periods
from chanlib.config import INDICATORS, ScorecardSettings
from chanlib.data.store import Tables, as_connection, date_bounds, has_table, optional_columns, require
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

#: indicator -> (reader's label, kind: percent, signed percent, score or money)
LABELS: dict[str, tuple[str, str]] = {
    "growth": ("growth", "signed"),
    "target_attainment": ("target attainment", "percent"),
    "margin": ("margin", "percent"),
    "sell_through": ("sell-through", "percent"),
    "feedback": ("feedback", "score"),
    "compliance": ("minimum purchase met", "percent"),
    "revenue": ("revenue", "money"),
    "score": ("score", "points"),
}


def label(indicator: str) -> str:
    """The reader's name of an indicator (or ``score``)."""
    return LABELS.get(indicator, (indicator.replace("_", " "), ""))[0]


def fmt(indicator: str, value: float, currency: str = "") -> str:
    """An indicator's value as reasons quote it: ``61%``, ``-45%``, ``6.8``, ``EUR 12,300``, ``34``.

    >>> fmt("target_attainment", 0.612), fmt("growth", -0.45), fmt("feedback", 6.84), fmt("revenue", 12345.6, "EUR")
    ('61%', '-45%', '6.8', 'EUR 12,346')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    kind = LABELS.get(indicator, ("", "number"))[1]
    if kind == "percent":
        return f"{value:.0%}"
    if kind == "signed":
        return f"{value:+.0%}"
    if kind == "score":
        return f"{value:.1f}"
    if kind == "money":
        return f"{currency} {value:,.0f}".strip()
    return f"{value:.0f}"


def quarter_label(start: object) -> str:
    """``2025 Q4`` for a quarter's first day."""
    return periods.label(pd.Timestamp(start), "quarter")


@dataclass
class Indicators:
    """Indicators per partner and quarter (``frame``), the partners (``partners``: partner_id, name, region,
    channel, current tier and contract columns when the partners table has them), the as-of date, the latest
    complete quarter and what was left out (indicator -> reason)."""

    frame: pd.DataFrame
    partners: pd.DataFrame
    as_of: pd.Timestamp
    quarter: pd.Timestamp
    left_out: dict[str, str] = field(default_factory=dict)


def _availability(con: duckdb.DuckDBPyConnection, sales: set[str]) -> dict[str, str]:
    """indicator -> why it cannot be computed from this store."""
    partners, feedback = optional_columns(con, "partners"), optional_columns(con, "feedback")
    why: dict[str, str] = {}
    if "cost" not in sales:
        why["margin"] = "the sales table has no cost (or profit) column"
    if not has_table(con, "targets"):
        why["target_attainment"] = "the store has no targets table"
    if "units" not in sales:
        why["sell_through"] = "the sales table has no units column"
    elif not has_table(con, "inventory"):
        why["sell_through"] = "the store has no inventory table"
    if not feedback:
        why["feedback"] = "the store has no feedback table"
    elif "partner_id" not in feedback:
        why["feedback"] = "the feedback table has no partner_id column"
    if not partners:
        why["compliance"] = "the store has no partners table (minimum purchase commitments)"
    elif "min_purchase" not in partners:
        why["compliance"] = "the partners table has no min_purchase column"
    return why


def _partners(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every partner with sales: its region and channel (partners table, else where it sold most), name, tier and
    contract columns."""
    have = optional_columns(con, "partners")
    extra = [c for c in ("name", "tier", "joined", "contract_start", "contract_end", "min_purchase",
                         "renewal_decision") if c in have]
    main = """SELECT partner_id, arg_max(region, rev) AS s_region, arg_max(channel, rev) AS s_channel FROM (
                SELECT partner_id, region, channel, sum(revenue) AS rev FROM sales WHERE partner_id IS NOT NULL
                GROUP BY ALL ORDER BY region, channel) GROUP BY partner_id"""
    if have:
        region = "coalesce(p.region, m.s_region)" if "region" in have else "m.s_region"
        channel = "coalesce(p.channel, m.s_channel)" if "channel" in have else "m.s_channel"
        select = "".join(f", p.{c}" for c in extra)
        sql = (f"SELECT m.partner_id, {region} AS region, {channel} AS channel{select} FROM ({main}) m "
               f"LEFT JOIN partners p USING (partner_id) ORDER BY m.partner_id")
    else:
        sql = f"SELECT partner_id, s_region AS region, s_channel AS channel FROM ({main}) ORDER BY partner_id"
    frame = con.execute(sql).df()
    for column in ("name", "tier", "renewal_decision"):
        if column not in frame:
            frame[column] = None
    frame["name"] = frame["name"].where(frame["name"].notna(), frame["partner_id"])
    return frame


def partner_indicators(data: Tables, settings: ScorecardSettings | None = None,
                       tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                       min_growth_base: float = 1000.0,
                       slack_days: int = periods.COVERAGE_SLACK_DAYS) -> Indicators:
    """Indicators of every partner for the ``settings.history_quarters`` complete quarters up to the latest (see
    the module docstring). ``data``: an open store or a mapping of canonical table name to DataFrame.

    Raises :class:`~chanlib.errors.MissingInput` when the sales have no ``partner_id`` or no complete quarter.
    """
    settings = settings or ScorecardSettings()
    con = as_connection(data)
    sales = require(con, "sales", ("partner_id",), "partners are scored by it")
    n = con.execute("SELECT count(*) FROM sales WHERE partner_id IS NOT NULL").fetchall()[0][0]
    if not n:
        raise MissingInput("sales", "no sale has a partner_id (partners are scored by it)")
    first, as_of = date_bounds(con)
    latest = periods.comparison_periods(first, as_of, "quarter", tolerance_days=tolerance_days,
                                        slack_days=slack_days)
    q_last = pd.Timestamp(latest.start)
    q_first = q_last - pd.DateOffset(months=3 * (settings.history_quarters - 1))
    window = settings.window_quarters
    left_out = _availability(con, sales)
    for name, why in left_out.items():
        log.info("partner indicator %s left out: %s", name, why)

    partners = _partners(con)
    # per partner and quarter, from a year and a window before the first scored quarter
    since = (q_first - pd.DateOffset(months=3 * (window - 1), years=1)).date()
    until = periods.period_end(q_last, "quarter").date()
    cost = "sum(revenue) FILTER (WHERE cost IS NOT NULL) AS rev_costed, sum(cost) AS cost" if "cost" in sales \
        else "NULL AS rev_costed, NULL AS cost"
    units = "sum(units) AS units" if "units" in sales else "NULL AS units"
    pq = con.execute(f"""
        SELECT partner_id, CAST(date_trunc('quarter', date) AS DATE) AS quarter, sum(revenue) AS revenue, {cost},
               {units}
        FROM sales WHERE partner_id IS NOT NULL AND date BETWEEN $since AND $until GROUP BY ALL""",
                     {"since": since, "until": until}).df()
    first_sale = con.execute("SELECT partner_id, min(date) AS first FROM sales WHERE partner_id IS NOT NULL "
                             "GROUP BY partner_id").df().set_index("partner_id")["first"]
    quarters = pd.date_range(since, q_last, freq="QS")
    grid = pd.MultiIndex.from_product([partners["partner_id"], quarters], names=["partner_id", "quarter"])
    pq["quarter"] = pd.to_datetime(pq["quarter"])
    frame = pq.set_index(["partner_id", "quarter"]).reindex(grid).reset_index()
    started = frame["partner_id"].map(pd.to_datetime(first_sale)).dt.to_period("Q").dt.start_time
    frame = frame[frame["quarter"] >= started].copy()
    for column in ("revenue", "rev_costed", "cost", "units"):
        frame[column] = frame[column].astype("float64")
    frame["revenue"] = frame["revenue"].fillna(0.0)
    frame["gross_margin"] = frame["rev_costed"] - frame["cost"]
    if "target_attainment" not in left_out:
        frame = frame.merge(_target_parts(con, since, until), on=["partner_id", "quarter"], how="left")
    if "feedback" not in left_out:
        frame = frame.merge(_feedback(con, since, until), on=["partner_id", "quarter"], how="left")
    frame = frame.sort_values(["partner_id", "quarter"]).reset_index(drop=True)

    # sums over the window (the quarters of a partner's history within it), and a year earlier
    summed = [c for c in ("revenue", "rev_costed", "cost", "units", "tgt_revenue", "tgt_allocated", "fb_sum", "fb_n")
              if c in frame]
    rolled = frame.groupby("partner_id")[summed].transform(
        lambda s: s.rolling(window, min_periods=1).sum()).add_prefix("w_")
    frame = pd.concat([frame, rolled], axis=1)
    year_ago = frame[["partner_id", "quarter", "w_revenue", "gross_margin"]].assign(
        quarter=frame["quarter"] + pd.DateOffset(years=1)).rename(
        columns={"w_revenue": "w_revenue_ly", "gross_margin": "gross_margin_ly"})
    frame = frame.merge(year_ago, on=["partner_id", "quarter"], how="left")
    base_start = frame["quarter"] - pd.DateOffset(months=3 * (window - 1), years=1)
    reaches = (frame["partner_id"].map(pd.to_datetime(first_sale)) <= base_start + pd.Timedelta(
        days=slack_days)) & base_start.map(lambda q: periods.covered(first, q, slack_days))
    base = frame["w_revenue_ly"].where(reaches & (frame["w_revenue_ly"] >= min_growth_base))
    frame["growth"] = (frame["w_revenue"] / base - 1).clip(upper=settings.growth_cap)
    if "margin" not in left_out:
        frame["margin"] = 1 - frame["w_cost"] / frame["w_rev_costed"].where(frame["w_rev_costed"] > 0)
    if "target_attainment" not in left_out:
        frame["target_attainment"] = frame["w_tgt_revenue"] / frame["w_tgt_allocated"].where(
            frame["w_tgt_allocated"] > 0)
    if "sell_through" not in left_out:
        frame = frame.merge(_stock(con, quarters), on=["partner_id", "quarter"], how="left")
        sold = frame["w_units"].fillna(0.0)
        available = sold + frame["on_hand"].astype("float64").clip(lower=0)
        frame["sell_through"] = sold / available.where(available > 0)
    if "feedback" not in left_out:
        frame["feedback_responses"] = frame["w_fb_n"].fillna(0.0)
        frame["feedback"] = frame["w_fb_sum"] / frame["w_fb_n"].where(frame["w_fb_n"] >= settings.min_responses)
    if "min_purchase" in partners:
        frame = frame.merge(partners[["partner_id", "min_purchase"]], on="partner_id", how="left")
        frame["min_purchase"] = frame["min_purchase"].astype("float64")
    else:
        frame["min_purchase"] = float("nan")
    if "compliance" not in left_out:
        commitment = frame["min_purchase"]
        frame["compliance"] = (frame["revenue"] / commitment.where(commitment > 0)).clip(upper=1.0)
    frame["tier"] = _tiers_held(con, partners, frame)
    frame = frame.rename(columns={"revenue": "revenue_quarter"})
    frame["revenue"] = frame["w_revenue"]

    frame = frame[frame["quarter"] >= q_first].merge(partners[["partner_id", "region", "channel"]], on="partner_id",
                                                     how="left")
    for name in INDICATORS:
        if name not in frame:
            frame[name] = float("nan")
        frame[name] = frame[name].astype("float64")
        if name not in left_out and frame[name].isna().all():
            left_out[name] = "no partner has a value (too little history or data)"
            log.info("partner indicator %s left out: %s", name, left_out[name])
    columns = ["partner_id", "region", "channel", "quarter", "tier", "revenue_quarter", "gross_margin",
               "gross_margin_ly", "min_purchase", *INDICATORS]
    if "feedback_responses" in frame:
        columns.append("feedback_responses")
    out = frame[columns].sort_values(["partner_id", "quarter"]).reset_index(drop=True)
    log.info("partner indicators: %d partners x %d quarters up to %s", out["partner_id"].nunique(),
             out["quarter"].nunique(), quarter_label(q_last))
    return Indicators(frame=out, partners=partners, as_of=as_of, quarter=q_last, left_out=left_out)


def _target_parts(con: duckdb.DuckDBPyConnection, since: object, until: object) -> pd.DataFrame:
    """Per partner and quarter: its revenue in the cells it had a share of a year earlier (``tgt_revenue``) and
    its allocated target there (``tgt_allocated``: cell target x that share), summed over those cells. The sums
    over joined rows add in a fixed order (``ORDER BY`` in the aggregate): a join's rows come in any order, and a
    float sum in another order can differ in the last bit from run to run."""
    sql = """
    WITH cell AS (
        SELECT partner_id, region, channel, CAST(date_trunc('quarter', date) AS DATE) AS quarter, sum(revenue) AS rev
        FROM sales WHERE partner_id IS NOT NULL AND date BETWEEN $since - INTERVAL 1 YEAR AND $until GROUP BY ALL
    ),
    tot AS (SELECT region, channel, quarter, sum(rev ORDER BY partner_id) AS cell_rev FROM cell GROUP BY ALL),
    tgt AS (
        SELECT region, channel, CAST(date_trunc('quarter', period) AS DATE) AS quarter, sum(target_revenue) AS target
        FROM targets GROUP BY ALL
    ),
    shares AS (
        SELECT c.partner_id, c.region, c.channel, CAST(c.quarter + INTERVAL 1 YEAR AS DATE) AS quarter,
               c.rev / t.cell_rev AS share
        FROM cell c JOIN tot t USING (region, channel, quarter) WHERE t.cell_rev > 0
    )
    SELECT s.partner_id, s.quarter, sum(coalesce(c.rev, 0) ORDER BY s.region, s.channel) AS tgt_revenue,
           sum(g.target * s.share ORDER BY s.region, s.channel) AS tgt_allocated
    FROM shares s JOIN tgt g ON g.region = s.region AND g.channel = s.channel AND g.quarter = s.quarter
    LEFT JOIN cell c ON c.partner_id = s.partner_id AND c.region = s.region AND c.channel = s.channel
                        AND c.quarter = s.quarter
    WHERE s.share > 0 AND g.target > 0 AND s.quarter BETWEEN $since AND $until
    GROUP BY ALL
    """
    frame = con.execute(sql, {"since": since, "until": until}).df()
    frame["quarter"] = pd.to_datetime(frame["quarter"])
    return frame


def _stock(con: duckdb.DuckDBPyConnection, quarters: pd.DatetimeIndex) -> pd.DataFrame:
    """Per partner and quarter: units on hand at its last stock count up to the quarter's last day."""
    ends = pd.DataFrame({"quarter": quarters, "qe": [periods.period_end(q, "quarter") for q in quarters]})
    con.register("chanlib_quarter_ends", ends)
    try:
        frame = con.execute("""
            WITH counts AS (SELECT partner_id, date, sum(on_hand_units) AS on_hand FROM inventory GROUP BY ALL)
            SELECT c.partner_id, CAST(q.quarter AS DATE) AS quarter, arg_max(c.on_hand, c.date) AS on_hand
            FROM counts c JOIN chanlib_quarter_ends q ON c.date <= CAST(q.qe AS DATE) GROUP BY ALL""").df()
    finally:
        con.unregister("chanlib_quarter_ends")
    frame["quarter"] = pd.to_datetime(frame["quarter"])
    return frame


def _feedback(con: duckdb.DuckDBPyConnection, since: object, until: object) -> pd.DataFrame:
    frame = con.execute("""
        SELECT partner_id, CAST(date_trunc('quarter', date) AS DATE) AS quarter, sum(score) AS fb_sum,
               count(score) AS fb_n
        FROM feedback WHERE partner_id IS NOT NULL AND date BETWEEN $since AND $until GROUP BY ALL""",
                        {"since": since, "until": until}).df()
    frame["quarter"] = pd.to_datetime(frame["quarter"])
    frame["fb_n"] = frame["fb_n"].astype("float64")
    return frame


def _tiers_held(con: duckdb.DuckDBPyConnection, partners: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """The tier each partner held at each quarter's last day: tier_history, else the partners table's tier."""
    current = frame["partner_id"].map(partners.set_index("partner_id")["tier"])
    if not has_table(con, "tier_history"):
        return current
    history = con.execute("SELECT partner_id, date, tier FROM tier_history WHERE tier IS NOT NULL "
                          "ORDER BY date").df()
    if history.empty:
        return current
    history["date"] = pd.to_datetime(history["date"]).astype("datetime64[ns]")
    ends = frame[["partner_id", "quarter"]].assign(
        qe=(frame["quarter"] + pd.DateOffset(months=3) - pd.Timedelta(days=1)).astype("datetime64[ns]")).reset_index()
    held = pd.merge_asof(ends.sort_values("qe"), history.rename(columns={"date": "qe"}).sort_values("qe"),
                         on="qe", by="partner_id", direction="backward").set_index("index")["tier"]
    return held.reindex(frame.index).where(lambda s: s.notna(), current).astype(object)


def consecutive_below(values: pd.Series, floor: float) -> int:
    """Quarters in a row, up to the last, whose value is below ``floor`` (an empty value ends the run).

    >>> consecutive_below(pd.Series([0.9, 0.7, 0.75, 0.6]), 0.8)
    3
    """
    count = 0
    for value in values.to_numpy()[::-1]:
        if not np.isfinite(value) or value >= floor:
            break
        count += 1
    return count
