"""Partner features for segmentation, computed in DuckDB SQL over the store (so they scale with the sales table).

Every feature describes the trailing window of ``window_months`` (:func:`chanlib.periods.trailing_window`, ``W``
days) ending at *as of*, the last sale date in the store, the same date for every partner:

``revenue``
    revenue in the window; a partner whose first sale falls inside the window is annualised by its active days
    (a run rate), so a partner that joined last quarter is not called "small" for being young.
``growth``
    revenue in the window over revenue in the ``W`` days before, minus 1, clipped to ``[-0.95, growth_cap]``.
    *Rule for young partners*: when the first sale falls inside that earlier span its revenue is annualised by its
    active days; a *brand-new* partner (no sale in the earlier span, some in the window) grew from nothing and gets
    ``growth_cap``. No sale in either span: 0.
``volatility``
    coefficient of variation (population standard deviation / mean) of revenue in 30.44-day buckets counted back
    from *as of*, over the buckets that lie entirely after the partner's first sale (at least 3, else empty).
``margin``
    gross margin share ``1 - cost / revenue`` over the window (rows with a cost). Needs ``sales.cost``.
``online_share``
    share of the window's revenue sold through channels whose ``channels.channel_type`` is ``online``.
``recency_days``
    days from the partner's last sale to *as of*.
``target_attainment``
    targets are set per region x channel; a partner's share of its cell's target is its share of the cell's revenue
    in the earlier span, so attainment = window revenue / (cell target over the window x that share). Empty for a
    partner without sales in the earlier span. Needs the ``targets`` table.
``sell_through``
    units sold in the window / (units sold + units on hand at the last inventory count up to *as of*). Needs
    ``sales.units`` and the ``inventory`` table.

A feature whose table or column is absent is left out (with the reason in :attr:`PartnerFeatures.left_out` and the
log), never filled with zeros. Empty values of single partners are imputed later (see
:mod:`chanlib.analytics.segment.cluster`). A partner's region is the one where it sold most.

Examples
--------
>>> import pandas as pd
>>> days = pd.date_range("2024-01-01", periods=731, freq="D")
>>> sales = pd.DataFrame({"date": days, "region": "East", "channel": "web", "partner_id": "P1",
...                       "revenue": [10.0 if i < 366 else 20.0 for i in range(731)]})
>>> pf = partner_features({"sales": sales})
>>> pf.frame[["revenue", "growth", "recency_days"]].round(2).to_dict("records")
[{'revenue': 7300.0, 'growth': 1.0, 'recency_days': 0.0}]
>>> sorted(pf.left_out)
['margin', 'online_share', 'sell_through', 'target_attainment']
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.config import SegmentSettings
from chanlib.data.store import Tables, as_connection, optional_columns, require
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

BUCKET_DAYS = 365.25 / 12
MIN_BUCKETS = 3


@dataclass
class PartnerFeatures:
    """Features per partner (``frame``, indexed by ``partner_id``), each partner's main region and what was left out."""

    frame: pd.DataFrame
    region: pd.Series
    as_of: dt.date
    left_out: dict[str, str] = field(default_factory=dict)


def _availability(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> dict[str, str]:
    """feature -> why it cannot be computed from this store."""
    sales, channels = optional_columns(con, "sales"), optional_columns(con, "channels")
    why: dict[str, str] = {}
    needs = {
        "margin": [("sales", "cost", sales)],
        "online_share": [("channels", "channel_type", channels)],
        "target_attainment": [("targets", "target_revenue", optional_columns(con, "targets"))],
        "sell_through": [("sales", "units", sales), ("inventory", "on_hand_units", optional_columns(con, "inventory"))],
    }
    for feature in wanted:
        for table, column, have in needs.get(feature, []):
            if not have:
                why[feature] = f"the store has no {table} table"
                break
            if column not in have:
                why[feature] = f"the {table} table has no {column} column"
                break
    if "online_share" in wanted and "online_share" not in why:
        n = con.execute("SELECT count(*) FROM channels WHERE lower(channel_type) = 'online'").fetchall()[0][0]
        if not n:
            why["online_share"] = "no channel in the channels table has channel_type 'online'"
    return why


def partner_features(data: Tables, settings: SegmentSettings | None = None) -> PartnerFeatures:
    """Compute ``settings.features`` per partner from the store behind ``con``.

    Raises :class:`~chanlib.errors.MissingInput` when the sales have no ``partner_id`` column or no sale with a
    partner. ``data``: an open store or a mapping of canonical table name to DataFrame.
    """
    settings = settings or SegmentSettings()
    con = as_connection(data)
    sales = require(con, "sales", ("partner_id",), "partners are segmented by it")
    wanted: list[str] = list(settings.features)
    left_out = _availability(con, wanted)
    for feature, reason in left_out.items():
        log.info("segment feature %s left out: %s", feature, reason)
    use = [f for f in wanted if f not in left_out]

    as_of = con.execute("SELECT max(date) FROM sales WHERE partner_id IS NOT NULL").fetchall()[0][0]
    if as_of is None:
        raise MissingInput("sales", "no sale has a partner_id (partners are segmented by it)")
    w = periods.window_days(as_of, settings.window_months)
    cap = float(settings.growth_cap)
    cost_rev = "sum(revenue) FILTER (WHERE cur AND cost IS NOT NULL)" if "cost" in sales else "NULL"
    cost_sum = "sum(cost) FILTER (WHERE cur AND cost IS NOT NULL)" if "cost" in sales else "NULL"
    sql = f"""
    WITH s AS (
        SELECT partner_id, region, channel, date, revenue{', cost' if 'cost' in sales else ''},
               date_diff('day', date, DATE '{as_of}') AS age
        FROM sales WHERE partner_id IS NOT NULL
    ),
    t AS (SELECT *, age < {w} AS cur, age >= {w} AND age < {2 * w} AS prev FROM s),
    base AS (
        SELECT partner_id,
               coalesce(sum(revenue) FILTER (WHERE cur), 0) AS rev_cur,
               coalesce(sum(revenue) FILTER (WHERE prev), 0) AS rev_prev,
               {cost_rev} AS rev_costed, {cost_sum} AS cost_cur,
               max(age) AS first_age, min(age) AS last_age
        FROM t GROUP BY partner_id
    ),
    buckets AS (
        SELECT partner_id, floor(age / {BUCKET_DAYS})::INTEGER AS b, sum(revenue) AS r
        FROM t WHERE cur GROUP BY ALL
    ),
    vol AS (
        SELECT base.partner_id,
               least({settings.window_months}, floor((first_age + 1) / {BUCKET_DAYS}))::INTEGER AS nb,
               coalesce(sum(r) FILTER (WHERE b < nb), 0) AS s1,
               coalesce(sum(r * r) FILTER (WHERE b < nb), 0) AS s2
        FROM base LEFT JOIN buckets USING (partner_id) GROUP BY ALL
    ),
    reg AS (
        SELECT partner_id, arg_max(region, rev) AS region FROM (
            SELECT partner_id, region, sum(revenue) AS rev FROM s GROUP BY ALL ORDER BY region DESC
        ) GROUP BY partner_id
    )
    SELECT base.partner_id, reg.region,
        rev_cur * {w} / least({w}, first_age + 1) AS revenue,
        CASE
            WHEN rev_prev > 0 AND first_age >= {2 * w} - 1 THEN rev_cur / rev_prev - 1
            WHEN rev_prev > 0 THEN rev_cur / (rev_prev * {w} / (first_age + 1 - {w})) - 1
            WHEN rev_cur > 0 THEN {cap}
            ELSE 0
        END AS growth,
        CASE WHEN nb >= {MIN_BUCKETS} AND s1 > 0
             THEN sqrt(greatest(s2 / nb - (s1 / nb) * (s1 / nb), 0)) / (s1 / nb) END AS volatility,
        CASE WHEN rev_costed > 0 THEN 1 - cost_cur / rev_costed END AS margin,
        last_age::DOUBLE AS recency_days,
        rev_prev, rev_cur
    FROM base JOIN vol USING (partner_id) JOIN reg USING (partner_id)
    ORDER BY base.partner_id
    """
    frame = con.execute(sql).df().set_index("partner_id")
    frame["growth"] = frame["growth"].clip(-0.95, cap)
    if "online_share" in use:
        frame["online_share"] = _online_share(con, as_of, w).reindex(frame.index).fillna(0.0)
    if "target_attainment" in use:
        frame["target_attainment"] = _target_attainment(con, as_of, w).reindex(frame.index)
    if "sell_through" in use:
        frame["sell_through"] = _sell_through(con, as_of, w).reindex(frame.index)
    region = frame["region"].astype(str)
    out = frame[use].astype("float64")
    for feature in use:
        if out[feature].isna().all():
            left_out[feature] = "no partner has a value (too little history or data)"
            log.info("segment feature %s left out: %s", feature, left_out[feature])
            out = out.drop(columns=feature)
    log.info("partner features as of %s: %d partners x %d features (%s)", as_of, len(out), out.shape[1],
             ", ".join(out.columns))
    return PartnerFeatures(frame=out, region=region, as_of=as_of, left_out=left_out)


def _online_share(con: duckdb.DuckDBPyConnection, as_of: dt.date, w: int) -> pd.Series:
    sql = f"""
    SELECT s.partner_id,
           coalesce(sum(s.revenue) FILTER (WHERE lower(c.channel_type) = 'online'), 0) / sum(s.revenue) AS v
    FROM sales s LEFT JOIN channels c USING (channel)
    WHERE s.partner_id IS NOT NULL AND date_diff('day', s.date, DATE '{as_of}') < {w}
    GROUP BY s.partner_id HAVING sum(s.revenue) > 0
    """
    return con.execute(sql).df().set_index("partner_id")["v"]


def _target_attainment(con: duckdb.DuckDBPyConnection, as_of: dt.date, w: int) -> pd.Series:
    sql = f"""
    WITH bounds AS (SELECT DATE '{as_of}' AS as_of, DATE '{as_of}' - INTERVAL ({w - 1}) DAY AS start),
    tgt AS (  -- each month's target prorated by the days of it inside the window
        SELECT region, channel,
               sum(target_revenue * greatest(0, date_diff('day', greatest(period, start),
                                                           least(last_day(period), as_of)) + 1)
                   / (date_diff('day', period, last_day(period)) + 1)) AS target
        FROM targets, bounds GROUP BY ALL
    ),
    cell AS (
        SELECT partner_id, region, channel,
               coalesce(sum(revenue) FILTER (WHERE age < {w}), 0) AS cur,
               coalesce(sum(revenue) FILTER (WHERE age >= {w} AND age < {2 * w}), 0) AS prev
        FROM (SELECT *, date_diff('day', date, DATE '{as_of}') AS age FROM sales WHERE partner_id IS NOT NULL)
        GROUP BY ALL
    ),
    shares AS (
        SELECT cell.*, prev / sum(prev) OVER (PARTITION BY region, channel) AS share, tgt.target
        FROM cell JOIN tgt USING (region, channel)
    )
    SELECT partner_id, sum(cur) / sum(target * share) AS v
    FROM shares WHERE share > 0 AND target > 0 GROUP BY partner_id
    """
    return con.execute(sql).df().set_index("partner_id")["v"]


def _sell_through(con: duckdb.DuckDBPyConnection, as_of: dt.date, w: int) -> pd.Series:
    sql = f"""
    WITH sold AS (
        SELECT partner_id, sum(units) AS units FROM sales
        WHERE partner_id IS NOT NULL AND units IS NOT NULL AND date_diff('day', date, DATE '{as_of}') < {w}
        GROUP BY partner_id
    ),
    last_count AS (
        SELECT partner_id, max(date) AS d FROM inventory WHERE date <= DATE '{as_of}' GROUP BY partner_id
    ),
    stock AS (
        SELECT i.partner_id, sum(i.on_hand_units) AS on_hand
        FROM inventory i JOIN last_count l ON i.partner_id = l.partner_id AND i.date = l.d GROUP BY i.partner_id
    )
    SELECT partner_id, units / (units + greatest(on_hand, 0)) AS v
    FROM sold JOIN stock USING (partner_id) WHERE units + greatest(on_hand, 0) > 0
    """
    return con.execute(sql).df().set_index("partner_id")["v"]
