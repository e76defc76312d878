"""Channel KPIs, computed in DuckDB SQL over the store's ``sales`` table.

Headline KPIs cover a trailing window of ``window_months`` months ending at the last sale date (the same "as of"
date for every region, so regions compare; :mod:`chanlib.periods`), against the same months one year earlier.
Growth is left empty (``NaN``) — never infinite — when the earlier window has no revenue or the data do not reach
back to its start.
Gross margin needs ``cost``; without it margin columns are ``NaN`` and :func:`missing_inputs` says why.

Examples
--------
>>> import pandas as pd
>>> sales = pd.DataFrame({"date": [pd.Timestamp("2024-01-15") + pd.DateOffset(months=i) for i in range(25)],
...                       "region": "East", "channel": "web", "revenue": [100.0 + i for i in range(25)],
...                       "units": 1.0, "cost": 60.0})
>>> h = headline({"sales": sales}, window_months=12)
>>> round(float(h.loc[0, "revenue"]), 2), round(float(h.loc[0, "growth_yoy"]), 4)
(1422.0, 0.1127)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.data import store
from chanlib.data.store import Tables, as_connection
from chanlib.data.store import quote_ident as _q
from chanlib.data.store import quote_literal as _lit
from chanlib.errors import DataError


def sales_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The columns the sales table has."""
    return store.table_columns(con, "sales")


def missing_inputs(data: Tables) -> dict[str, str]:
    """KPI -> why it is left out, for KPIs whose input column is absent."""
    cols = sales_columns(as_connection(data))
    missing = {}
    if "cost" not in cols:
        missing["gross_margin"] = "the sales table has no cost (or profit) column"
    if "units" not in cols:
        missing["units"] = "the sales table has no units column"
    return missing


def _optional(cols: set[str], column: str, expr: str) -> str:
    return expr if column in cols else "CAST(NULL AS DOUBLE)"


def headline(data: Tables, window_months: int = 12,
             slack_days: int = periods.COVERAGE_SLACK_DAYS) -> pd.DataFrame:
    """Per region: revenue, units, gross margin and margin % over the trailing window, and growth vs a year earlier.

    Columns: region, window_start, window_end, revenue, units, gross_margin, margin_pct, revenue_prev_year,
    growth_yoy, months_with_sales, gross_revenue, returns, months_prev_year. ``revenue`` is net of returns (negative
    amounts, kept with ``validation.allow_returns``): ``revenue = gross_revenue - returns``, with ``gross_revenue``
    the sum of the positive amounts and ``returns`` that of the negative ones as a positive number; ``margin_pct``
    is ``NaN`` when net revenue is not positive. The window is :func:`chanlib.periods.trailing_window` ending on the
    last sale date; the earlier window counts only when the data cover it (:func:`chanlib.periods.covered`): when it
    does not, ``revenue_prev_year`` and ``months_prev_year`` (months of the earlier window with sales) are ``NaN``;
    a region without sales in a covered earlier window has ``revenue_prev_year`` 0.
    """
    con = as_connection(data)
    cols = sales_columns(con)
    first, as_of = store.date_bounds(con)
    cur = periods.trailing_window(as_of, window_months)
    prev = periods.year_earlier(cur)
    units = _optional(cols, "units", "sum(units) FILTER (WHERE cur)")
    margin = _optional(cols, "cost", "sum(revenue - cost) FILTER (WHERE cur)")
    sql = f"""
    WITH flagged AS (
        SELECT s.*, s.date BETWEEN $cs AND $ce AS cur, s.date BETWEEN $ps AND $pe AS prev FROM sales s
    )
    SELECT region, CAST($cs AS DATE) AS window_start, CAST($ce AS DATE) AS window_end,
           coalesce(sum(revenue) FILTER (WHERE cur), 0) AS revenue,
           {units} AS units,
           {margin} AS gross_margin,
           sum(revenue) FILTER (WHERE prev) AS revenue_prev_year,
           count(DISTINCT date_trunc('month', date)) FILTER (WHERE cur) AS months_with_sales,
           count(DISTINCT date_trunc('month', date)) FILTER (WHERE prev) AS months_prev_year,
           coalesce(sum(revenue) FILTER (WHERE cur AND revenue > 0), 0) AS gross_revenue,
           coalesce(-sum(revenue) FILTER (WHERE cur AND revenue < 0), 0) AS returns
    FROM flagged GROUP BY region ORDER BY region
    """
    frame = con.execute(sql, {"cs": cur[0].date(), "ce": cur[1].date(), "ps": prev[0].date(),
                              "pe": prev[1].date()}).df()
    frame["margin_pct"] = (frame["gross_margin"] / frame["revenue"].where(frame["revenue"] > 0)).astype("float64")
    prev_rev = frame["revenue_prev_year"].astype("float64").fillna(0.0)  # covered, no sales: 0 (not "no data")
    frame["months_prev_year"] = frame["months_prev_year"].astype("float64")
    if not periods.covered(first, prev[0], slack_days):
        prev_rev[:] = float("nan")
        frame["months_prev_year"] = float("nan")
    frame["revenue_prev_year"] = prev_rev
    frame["growth_yoy"] = (frame["revenue"] / prev_rev.where(prev_rev > 0) - 1).astype("float64")
    columns = ["region", "window_start", "window_end", "revenue", "units", "gross_margin", "margin_pct",
               "revenue_prev_year", "growth_yoy", "months_with_sales", "gross_revenue", "returns", "months_prev_year"]
    for col in ("gross_revenue", "returns"):
        frame[col] = frame[col].astype("float64")
    return frame[columns]


def small_regions(headline_frame: pd.DataFrame, min_share: float) -> list[str]:
    """Regions whose revenue in the window is below ``min_share`` of all regions' revenue (rows of
    :func:`headline`), smallest first: the index groups them as "Other" and their reports are short. None when the
    total is not positive.

    >>> h = pd.DataFrame({"region": ["A", "B", "C", "D"], "revenue": [5000.0, 30.0, -10.0, 980.0]})
    >>> small_regions(h, 0.01)
    ['C', 'B']
    """
    total = float(headline_frame["revenue"].sum())
    if total <= 0 or min_share <= 0:
        return []
    small = headline_frame[headline_frame["revenue"] < min_share * total]
    return small.sort_values(["revenue", "region"])["region"].astype(str).tolist()


def monthly_by_channel(data: Tables) -> pd.DataFrame:
    """Revenue, units and gross margin per region, channel and month (``month`` is the first day)."""
    con = as_connection(data)
    cols = sales_columns(con)
    sql = f"""
    SELECT region, channel, CAST(date_trunc('month', date) AS DATE) AS month,
           sum(revenue) AS revenue,
           {_optional(cols, "units", "sum(units)")} AS units,
           {_optional(cols, "cost", "sum(revenue - cost)")} AS gross_margin
    FROM sales GROUP BY ALL ORDER BY region, channel, month
    """
    return con.execute(sql).df()


def channel_mix(data: Tables, window_months: int = 12) -> pd.DataFrame:
    """Per region and channel over the headline window: revenue, gross revenue, returns and the channel's share.

    Columns: region, channel, revenue (net of returns), share, gross_revenue, returns. ``revenue = gross_revenue -
    returns`` (returns are the negative amounts, as a positive number); ``share`` is the channel's share of the
    region's *gross* revenue, so it stays within [0, 1] when there are returns (``NaN`` for a region whose window
    holds only returns). Without returns gross equals net and the share is the share of revenue.

    >>> import pandas as pd
    >>> sales = pd.DataFrame({"date": pd.Timestamp("2025-01-31"), "region": "R", "channel": ["web", "web", "shop"],
    ...                       "revenue": [100.0, -20.0, 60.0]})
    >>> channel_mix({"sales": sales}).to_dict("records")[0]
    {'region': 'R', 'channel': 'web', 'revenue': 80.0, 'share': 0.625, 'gross_revenue': 100.0, 'returns': 20.0}
    """
    con = as_connection(data)
    _, as_of = store.date_bounds(con)
    start, end = periods.trailing_window(as_of, window_months)
    sql = """
    WITH c AS (
        SELECT region, channel, sum(revenue) AS revenue,
               coalesce(sum(revenue) FILTER (WHERE revenue > 0), 0) AS gross_revenue,
               coalesce(-sum(revenue) FILTER (WHERE revenue < 0), 0) AS returns
        FROM sales WHERE date BETWEEN $start AND $end
        GROUP BY region, channel
    ),
    -- the region's total summed in channel order: a float sum in hash order differs in the last bit between runs
    t AS (SELECT region, sum(gross_revenue ORDER BY channel) AS total FROM c GROUP BY region)
    SELECT region, channel, revenue, gross_revenue / nullif(t.total, 0) AS share, gross_revenue, returns
    FROM c JOIN t USING (region) ORDER BY region, revenue DESC, channel
    """
    frame = con.execute(sql, {"start": start.date(), "end": end.date()}).df()
    for col in ("revenue", "share", "gross_revenue", "returns"):
        frame[col] = frame[col].astype("float64")
    return frame


def trailing_growth(data: Tables, by: tuple[str, ...] | list[str] = ("region", "channel"), window_months: int = 12,
                    slack_days: int = periods.COVERAGE_SLACK_DAYS) -> pd.DataFrame:
    """Revenue per group of sales columns ``by`` over the headline's trailing window and the same window a year
    earlier, its change and growth: :func:`headline`'s window and coverage rules for any grouping (``by=("region",)``
    gives the headline's revenue, revenue_prev_year and growth_yoy).

    Columns: *by, window_start, window_end, revenue, revenue_prev_year, change, growth_yoy, months_with_sales,
    months_prev_year. A group that sold in either window has a row; one without sales in a window has revenue 0 there.
    When the data do not cover the earlier window the earlier revenue, months, change and growth are ``NaN``; growth is
    ``NaN`` (never infinite) where the earlier revenue is not positive.

    >>> sales = pd.DataFrame({"date": pd.to_datetime(["2024-06-30", "2025-06-30", "2025-06-30", "2024-06-30"]),
    ...                       "region": "E", "channel": ["web", "web", "shop", "fax"], "revenue": [100.0, 150.0,
    ...                                                                                             40.0, 10.0]})
    >>> g = trailing_growth({"sales": sales}, window_months=12, slack_days=400)
    >>> g[["channel", "revenue", "revenue_prev_year", "change", "growth_yoy"]].values.tolist()
    [['fax', 0.0, 10.0, -10.0, -1.0], ['shop', 40.0, 0.0, 40.0, nan], ['web', 150.0, 100.0, 50.0, 0.5]]
    """
    con = as_connection(data)
    keys = list(by)
    cols = sales_columns(con)
    missing = [k for k in keys if k not in cols]
    if missing:
        raise DataError(f"trailing_growth: the sales table has no {', '.join(missing)} column")
    first, as_of = store.date_bounds(con)
    cur = periods.trailing_window(as_of, window_months)
    prev = periods.year_earlier(cur)
    group = ", ".join(_q(k) for k in keys)
    sql = f"""
    WITH flagged AS (
        SELECT s.*, s.date BETWEEN $cs AND $ce AS cur, s.date BETWEEN $ps AND $pe AS prev FROM sales s
        WHERE s.date BETWEEN $ps AND $ce
    )
    SELECT {group}{", " if keys else ""}CAST($cs AS DATE) AS window_start, CAST($ce AS DATE) AS window_end,
           coalesce(sum(revenue) FILTER (WHERE cur), 0) AS revenue,
           coalesce(sum(revenue) FILTER (WHERE prev), 0) AS revenue_prev_year,
           count(DISTINCT date_trunc('month', date)) FILTER (WHERE cur) AS months_with_sales,
           count(DISTINCT date_trunc('month', date)) FILTER (WHERE prev) AS months_prev_year
    FROM flagged {f"GROUP BY {group} ORDER BY {group}" if keys else ""}
    """
    frame = con.execute(sql, {"cs": cur[0].date(), "ce": cur[1].date(), "ps": prev[0].date(),
                              "pe": prev[1].date()}).df()
    for col in ("revenue", "revenue_prev_year", "months_with_sales", "months_prev_year"):
        frame[col] = frame[col].astype("float64")
    if not periods.covered(first, prev[0], slack_days):
        frame[["revenue_prev_year", "months_prev_year"]] = float("nan")
    frame["change"] = frame["revenue"] - frame["revenue_prev_year"]
    base = frame["revenue_prev_year"]
    frame["growth_yoy"] = (frame["revenue"] / base.where(base > 0) - 1).astype("float64")
    return frame[[*keys, "window_start", "window_end", "revenue", "revenue_prev_year", "change", "growth_yoy",
                  "months_with_sales", "months_prev_year"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------------
# The KPI engine: any grouping, any period, every KPI whose inputs exist.
# --------------------------------------------------------------------------------------------------------------------

#: a ``--by`` name -> (output column, SQL over the joined sales view, table that must exist for it)
DIMENSIONS: dict[str, tuple[str, str | None]] = {
    "region": ("region", None),
    "channel": ("channel", None),
    "channel_type": ("channel_type", "channels"),
    "model": ("model", "channels"),
    "market": ("market", "channels"),
    "partner": ("partner_id", None),
    "product": ("product_id", None),
    "category": ("category", "products"),
}
PERIODS = ("month", "quarter", "year")
#: dimensions each family of KPIs can be broken down by (beyond the period)
CHANNEL_DIMS = {"region", "channel", "channel_type", "model", "market"}
FAMILY_DIMS = {
    "targets": CHANNEL_DIMS,
    "costs": CHANNEL_DIMS,
    "feedback": CHANNEL_DIMS | {"partner"},
    "inventory": CHANNEL_DIMS | {"partner", "product", "category"},
    "market": {"region", "category"},
}


@dataclass
class KpiTable:
    """A KPI table and, for every KPI left out, why (``left_out``: KPI or family -> reason)."""

    frame: pd.DataFrame
    left_out: dict[str, str] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def _group(keys: list[str]) -> str:
    return f"GROUP BY {', '.join(keys)}" if keys else ""


def _partition(keys: list[str]) -> str:
    return f"PARTITION BY {', '.join(keys)}" if keys else ""


def _select_keys(keys: list[str]) -> str:
    return (", ".join(keys) + ", ") if keys else ""


def _sales_view(con: duckdb.DuckDBPyConnection, dims: list[str], period: str | None) -> None:
    """``kpi_sales``: sales with the period column and, only when grouped by them, channel attributes and category."""
    joins, extra = [], []
    attrs = [a for a in ("channel_type", "model", "market") if a in dims]
    if attrs:
        joins.append("LEFT JOIN channels c ON c.channel = s.channel")
        extra += [f"c.{a}" for a in attrs]
    if "category" in dims:
        joins.append("LEFT JOIN products p ON p.product_id = s.product_id")
        extra.append("p.category")
    period_sql = f"CAST(date_trunc('{period}', s.date) AS DATE)" if period else "NULL"
    con.execute(f"CREATE OR REPLACE TEMP VIEW kpi_sales AS "
                f"SELECT s.*, {', '.join(extra + [period_sql + ' AS period'])} FROM sales s {' '.join(joins)}")


def _channel_attributes(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[str]:
    """The channel attributes (channel_type, model, market) the channels table has."""
    if "channels" not in tables:
        return []
    have = store.table_columns(con, "channels")
    return [a for a in ("channel_type", "model", "market") if a in have]


def _partner_map_sql(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str:
    """Each partner's region and channel, with channel attributes: from the partners table when it has them,
    else from the partner's latest sale."""
    attrs = "".join(f", c.{a}" for a in _channel_attributes(con, tables))
    join = "LEFT JOIN channels c ON c.channel = m.channel" if attrs else ""
    if "partners" in tables and {"region", "channel"} <= store.table_columns(con, "partners"):
        source = "SELECT partner_id, region, channel FROM partners"
    else:
        source = ("SELECT partner_id, arg_max(region, date) AS region, arg_max(channel, date) AS channel FROM sales "
                  "WHERE partner_id IS NOT NULL GROUP BY partner_id")
    return f"(SELECT m.partner_id, m.region, m.channel{attrs} FROM ({source}) m {join})"


def _cells(con: duckdb.DuckDBPyConnection, keys: list[str], cols: set[str], period: str | None,
           months: bool) -> None:
    """``kpi_cells``: the one pass over the sales lines that every sales KPI but ``orders`` reads. The lines summed
    per cell and partner (partner NULL for lines without one) and, with ``months``, per region, channel and month
    too (the grain targets compare at): revenue, units, margin, whether the partner sold (``active``) and the first
    and last day. A few thousand rows where the sales have millions, so the families after it cost little. Its rows
    are in key order, so that sums over them come out the same in every run."""
    grain = list(dict.fromkeys(keys + (["partner_id"] if "partner_id" in cols else [])
                               + (["region", "channel"] if months else [])))
    month = ("period" if period == "month" else "CAST(date_trunc('month', date) AS DATE)") if months else None
    select = ", ".join(grain + ([f"{month} AS month"] if month else []))
    group = ", ".join(grain + ([month] if month else []))
    units = "sum(units)" if "units" in cols else "CAST(NULL AS DOUBLE)"
    margin = "sum(revenue - cost)" if "cost" in cols else "CAST(NULL AS DOUBLE)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE kpi_cells AS
        SELECT {select + ", " if select else ""}sum(revenue) AS revenue, {units} AS units, {margin} AS margin,
               bool_or(revenue > 0) AS active, min(date) AS first_day, max(date) AS last_day
        FROM kpi_sales {f"GROUP BY {group} ORDER BY {group}" if group else ""}""")
    # (ordered: the families sum these rows again, and a float sum over rows in hash order differs in the last bit
    # from run to run)


def _same_keys(keys: list[str], left: str, right: str) -> str:
    """A join condition on every key, NULL matching NULL (a channel the channels table lacks has a NULL type)."""
    return " AND ".join(f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" for k in keys) or "true"


def _sales_family(con, keys: list[str], cols: set[str]) -> pd.DataFrame:
    """The sales KPIs per cell, in the order of the keys: the shares of the parent are sums over these rows, and a
    sum of floats in another order can differ in the last bit (a parallel GROUP BY returns its groups in any order).
    Everything but ``orders`` from ``kpi_cells``; ``orders`` counts distinct order ids over the lines."""
    partners = ("count(DISTINCT partner_id) FILTER (WHERE active)" if "partner_id" in cols
                else "CAST(NULL AS BIGINT)")
    if "order_id" in cols:
        orders_cte = (f", o AS (SELECT {_select_keys(keys)} count(DISTINCT order_id) AS orders FROM kpi_sales "
                      f"{_group(keys)})")
        orders, join = "o.orders", f"LEFT JOIN o ON {_same_keys(keys, 'c', 'o')}"
    else:
        orders_cte, orders, join = "", "CAST(NULL AS BIGINT)", ""
    return con.execute(f"""
        WITH c AS (SELECT {_select_keys(keys)} sum(revenue) AS revenue, sum(units) AS units,
                          sum(margin) AS gross_margin, {partners} AS active_partners
                   FROM kpi_cells {_group(keys)}){orders_cte}
        SELECT {_select_keys([f"c.{k}" for k in keys])} c.revenue, c.units, {orders} AS orders, c.gross_margin,
               c.active_partners
        FROM c {join} {f"ORDER BY {', '.join(f'c.{k}' for k in keys)}" if keys else ""}""").df()


#: top-N partner share counts at most this many partners (and always fewer than the cell's active partners)
TOP_PARTNERS = 5


def _concentration(con, keys: list[str]) -> pd.DataFrame:
    """HHI over every partner's revenue share, and the share of the N largest partners with
    N = min(:data:`TOP_PARTNERS`, active partners - 1) (NULL, with N, for a cell with fewer than two)."""
    with_partner = list(dict.fromkeys(keys + ["partner_id"]))
    return con.execute(f"""
        WITH pr AS (SELECT {_select_keys(with_partner)} sum(revenue) AS r, bool_or(active) AS active
                    FROM kpi_cells WHERE partner_id IS NOT NULL {_group(with_partner)}),
        sh AS (SELECT *, r / nullif(sum(r) OVER ({_partition(keys)}), 0) AS share,
                      row_number() OVER ({_partition(keys)} ORDER BY r DESC, partner_id) AS rank,
                      least({TOP_PARTNERS}, count(*) FILTER (WHERE active) OVER ({_partition(keys)}) - 1) AS n
               FROM pr)
        SELECT {_select_keys(keys)}
               CASE WHEN max(n) >= 1 THEN sum(share) FILTER (WHERE rank <= n) END AS top_partner_share,
               CAST(CASE WHEN max(n) >= 1 THEN max(n) END AS DOUBLE) AS top_partner_n,
               sum(share * share) AS hhi
        FROM sh {_group(keys)}""").df()


def _channel_fact_view(con: duckdb.DuckDBPyConnection, name: str, table: str, tables: set[str], period: str | None,
                       date_col: str) -> None:
    attrs = "".join(f", c.{a}" for a in _channel_attributes(con, tables))
    join = "LEFT JOIN channels c ON c.channel = t.channel" if attrs else ""
    period_sql = f"CAST(date_trunc('{period}', t.{date_col}) AS DATE)" if period else "NULL"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT t.* EXCLUDE ({date_col}){attrs}, {period_sql} AS period, "
                f"CAST(date_trunc('month', t.{date_col}) AS DATE) AS month FROM {table} t {join}")


def _targets(con, keys: list[str], tables: set[str], period: str | None) -> pd.DataFrame:
    _channel_fact_view(con, "kpi_targets", "targets", tables, period, "period")
    # revenue of exactly the region x channel x months that have a target, so attainment compares like with like
    return con.execute(f"""
        WITH monthly AS (SELECT region, channel, month, sum(revenue) AS rev FROM kpi_cells GROUP BY ALL),
        t AS (SELECT t.*, m.rev FROM kpi_targets t LEFT JOIN monthly m
              ON m.region = t.region AND m.channel = t.channel AND m.month = t.month)
        SELECT {_select_keys(keys)} sum(target_revenue) AS target_revenue, coalesce(sum(rev), 0) AS targeted_revenue
        FROM t {_group(keys)}""").df()


def _costs(con, keys: list[str], tables: set[str], period: str | None) -> pd.DataFrame:
    _channel_fact_view(con, "kpi_costs", "costs", tables, period, "period")
    types = [t for (t,) in con.execute("SELECT DISTINCT cost_type FROM costs ORDER BY 1").fetchall()]
    pivots = ", ".join(f"sum(amount) FILTER (WHERE cost_type = {_lit(t)}) AS {_q('cost_' + _ident(t))}" for t in types)
    return con.execute(f"""
        SELECT {_select_keys(keys)} {pivots + ', ' if pivots else ''} sum(amount) AS channel_costs
        FROM kpi_costs {_group(keys)}""").df()


def feedback_is_nps(data: Tables) -> bool:
    """Whether ``feedback_score`` is a net promoter score: every feedback score is a whole number from 0 to 10
    (else it is the mean score). False without a feedback table."""
    con = as_connection(data)
    if "feedback" not in store.tables(con):
        return False
    row = con.execute("SELECT bool_and(score BETWEEN 0 AND 10 AND score = round(score)) FROM feedback").fetchone()
    return bool(row and row[0])


def _feedback(con, keys: list[str], tables: set[str], period: str | None) -> pd.DataFrame:
    _channel_fact_view(con, "kpi_feedback", "feedback", tables, period, "date")
    score = ("100.0 * (avg(CASE WHEN score >= 9 THEN 1 ELSE 0 END) - avg(CASE WHEN score <= 6 THEN 1 ELSE 0 END))"
             if feedback_is_nps(con) else "avg(score)")
    return con.execute(f"""
        SELECT {_select_keys(keys)} {score} AS feedback_score, count(score) AS feedback_responses
        FROM kpi_feedback {_group(keys)}""").df()


def _inventory(con, keys: list[str], tables: set[str], period: str | None) -> pd.DataFrame:
    category = "p.category" if "products" in tables and "category" in keys else "NULL"
    period_sql = f"CAST(date_trunc('{period}', i.date) AS DATE)" if period else "NULL"
    sell_in = "i.sell_in_units" if "sell_in_units" in store.table_columns(con, "inventory") else "NULL"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW kpi_inventory AS
        SELECT i.date, i.partner_id, i.product_id, i.on_hand_units, {sell_in} AS sell_in_units,
               pm.* EXCLUDE (partner_id), {category} AS category, {period_sql} AS period
        FROM inventory i LEFT JOIN {_partner_map_sql(con, tables)} pm ON pm.partner_id = i.partner_id
        {'LEFT JOIN products p ON p.product_id = i.product_id' if category != 'NULL' else ''}""")
    period_keys = [k for k in keys if k == "period"]
    join = f"LEFT JOIN sold ON {_same_keys(keys, 'inv', 'sold')}" if keys else ", sold"
    # stock: what was on hand on the cell's last inventory day (per day first, then the last day's sum)
    return con.execute(f"""
        WITH daily AS (SELECT {_select_keys(keys)} date, sum(sell_in_units) AS sell_in,
                              sum(on_hand_units) AS on_hand
                       FROM kpi_inventory {_group(keys + ["date"])}),
        inv AS (SELECT {_select_keys(keys)} sum(sell_in) AS sell_in_units, arg_max(on_hand, date) AS on_hand_units
                FROM daily {_group(keys)}),
        days AS (SELECT {_select_keys(period_keys)} datediff('day', min(first_day), max(last_day)) + 1 AS days
                 FROM kpi_cells {_group(period_keys)}),
        sold AS (SELECT {_select_keys(keys)} sum(units) AS sell_out_units FROM kpi_cells
                 WHERE partner_id IN (SELECT partner_id FROM inventory) {_group(keys)})
        SELECT inv.*, sold.sell_out_units, days.days AS days_in_range
        FROM inv {join}
        {f'LEFT JOIN days ON {_same_keys(period_keys, "inv", "days")}' if period_keys else ', days'}
        """).df()


def _market(con, keys: list[str], period: str | None) -> pd.DataFrame:
    period_sql = f"CAST(date_trunc('{period}', period) AS DATE)" if period else "NULL"
    return con.execute(f"""
        SELECT {_select_keys(keys)} sum(market_size) AS market_size
        FROM (SELECT region, category, market_size, {period_sql} AS period FROM market) {_group(keys)}""").df()


def _ident(value: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", value).strip("_").lower() or "other"


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as float64, NaN (never infinite) where the denominator is 0 or missing."""
    num = pd.to_numeric(numerator, errors="coerce").astype("float64")
    den = pd.to_numeric(denominator, errors="coerce").astype("float64")
    return (num / den.where(den != 0)).astype("float64")


PERIOD_STEP = {"month": pd.DateOffset(months=1), "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}


def _lagged(frame: pd.DataFrame, keys: list[str], column: str, offset: pd.DateOffset, name: str) -> pd.Series:
    """``column`` of the same group ``offset`` earlier (NaN where that period has no row)."""
    other = [k for k in keys if k != "period"]
    earlier = frame[other + ["period", column]].copy()
    earlier["period"] = earlier["period"] + offset
    merged = frame[other + ["period"]].merge(earlier.rename(columns={column: name}), on=other + ["period"], how="left")
    return merged[name].astype("float64").set_axis(frame.index)


def kpi_table(data: Tables, by: list[str] | tuple[str, ...] = (), period: str | None = None) -> KpiTable:
    """Every KPI whose inputs exist, grouped by ``by`` (names of :data:`DIMENSIONS`) and optionally ``period``.

    Without ``period`` each group covers the whole date range. Ratios are NaN where undefined (no revenue a year
    earlier, zero costs), never infinite. KPIs from an optional table are left out, with the reason in
    ``left_out``, when the table is absent or is not broken down by a requested dimension. ``data`` is an open
    store or a mapping of canonical table name to DataFrame (:func:`chanlib.data.store.as_connection`).

    Columns: the keys (``period`` last), revenue, units, orders, average_order_value, gross_margin, margin_pct,
    active_partners, revenue_per_partner, top_partner_share, top_partner_n, hhi, [revenue_prev_period,
    growth_prev_period, revenue_prev_year, growth_yoy], share_of_parent; targets: target_revenue, targeted_revenue,
    target_attainment, projected_revenue, projected_attainment; costs: cost_<type>..., channel_costs, cost_to_serve,
    contribution_margin, contribution_margin_pct, channel_roi, incentive_cost_pct; inventory: sell_in_units,
    sell_out_units, on_hand_units, sell_through_rate, sell_out_to_sell_in, weeks_of_supply; feedback:
    feedback_score (NPS when every score is a 0-10 integer, else the mean score: :func:`feedback_is_nps`),
    feedback_responses; market: market_size, market_share, [market_share_change]. What each KPI means, in words:
    :mod:`chanlib.analytics.definitions` (the same keys).

    Partner concentration: ``hhi`` is the sum of squared revenue shares of the cell's partners;
    ``top_partner_share`` is the share of the ``top_partner_n`` largest, N = min(5, active partners - 1), so it is
    below 100 % by construction (NaN, with ``top_partner_n``, for a cell with fewer than two active partners).
    ``sell_through_rate`` = units sold / (units sold + closing stock on hand), at most 100 % (NaN where nothing was
    sold or held); ``sell_out_to_sell_in`` = units sold / units bought in. ``contribution_margin`` = gross margin -
    channel costs, ``contribution_margin_pct`` its share of revenue, ``channel_roi`` = contribution margin / channel
    costs.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE sales AS SELECT DATE '2024-01-01' + INTERVAL (i) DAY AS date, "
    ...                 "CASE WHEN i % 2 = 0 THEN 'East' ELSE 'West' END AS region, 'web' AS channel, "
    ...                 "10.0 AS revenue, 1.0 AS units, 6.0 AS cost FROM range(60) t(i)")
    >>> t = kpi_table(con, by=["region"], period="month")
    >>> t.frame[["region", "period", "revenue", "margin_pct", "share_of_parent"]].head(2)
      region     period  revenue  margin_pct  share_of_parent
    0   East 2024-01-01    160.0         0.4         0.516129
    1   East 2024-02-01    140.0         0.4         0.482759
    >>> t.left_out["targets"]
    'the store has no targets table'
    """
    con = as_connection(data)
    by = list(by)
    unknown = [b for b in by if b not in DIMENSIONS]
    if unknown:
        raise DataError(f"unknown --by {', '.join(unknown)} (known: {', '.join(DIMENSIONS)})")
    if period is not None and period not in PERIODS:
        raise DataError(f"unknown --period {period!r} (known: {', '.join(PERIODS)})")
    if len(set(by)) != len(by):
        raise DataError(f"--by names a dimension twice: {', '.join(by)}")
    tables = store.tables(con)
    cols = store.table_columns(con, "sales")
    for b in by:
        column, needs = DIMENSIONS[b]
        if needs and needs not in tables:
            raise DataError(f"--by {b} needs the {needs} table, which the store does not have")
        if needs and column not in store.table_columns(con, needs):
            raise DataError(f"--by {b} needs the {column} column of the {needs} table, which it does not have")
        if not needs and column not in cols:
            raise DataError(f"--by {b} needs the sales column {column}, which the store does not have")
    dims = [DIMENSIONS[b][0] for b in by]
    keys = dims + (["period"] if period else [])
    left_out: dict[str, str] = {}
    _sales_view(con, dims, period)
    _cells(con, keys, cols, period, months="targets" in tables and set(by) <= FAMILY_DIMS["targets"])

    frame = _sales_family(con, keys, cols)
    for column, reason in (("units", "the sales table has no units column"),
                           ("orders", "the sales table has no order_id column"),
                           ("gross_margin", "the sales table has no cost (or profit) column"),
                           ("active_partners", "the sales table has no partner_id column")):
        if frame[column].isna().all() and len(frame):
            left_out[column] = reason
    frame["average_order_value"] = _ratio(frame["revenue"], frame["orders"])
    frame["margin_pct"] = _ratio(frame["gross_margin"], frame["revenue"])
    frame["revenue_per_partner"] = _ratio(frame["revenue"], frame["active_partners"])
    if "partner_id" in cols:
        frame = _merge(frame, _concentration(con, keys), keys)
    else:
        left_out["concentration"] = "the sales table has no partner_id column"

    if period:
        frame["period"] = pd.to_datetime(frame["period"])
        frame["revenue_prev_period"] = _lagged(frame, keys, "revenue", PERIOD_STEP[period], "prev")
        frame["growth_prev_period"] = _ratio(frame["revenue"], frame["revenue_prev_period"]) - 1
        frame["revenue_prev_year"] = _lagged(frame, keys, "revenue", pd.DateOffset(years=1), "prev")
        frame["growth_yoy"] = _ratio(frame["revenue"], frame["revenue_prev_year"]) - 1
    else:
        left_out["growth"] = "growth compares periods: give a period (month, quarter or year)"
    if dims:
        parent = dims[:-1] + (["period"] if period else [])
        total = (frame.groupby(parent, dropna=False)["revenue"].transform("sum") if parent
                 else pd.Series(frame["revenue"].sum(), index=frame.index))
        frame["share_of_parent"] = _ratio(frame["revenue"], total)

    families = {
        "targets": lambda: _targets(con, keys, tables, period),
        "costs": lambda: _costs(con, keys, tables, period),
        "feedback": lambda: _feedback(con, keys, tables, period),
        "inventory": lambda: _inventory(con, keys, tables, period),
        "market": lambda: _market(con, keys, period),
    }
    for family, compute in families.items():
        if family not in tables:
            left_out[family] = f"the store has no {family} table"
            continue
        outside = [b for b in by if b not in FAMILY_DIMS[family]]
        if outside:
            left_out[family] = f"the {family} table has no {', '.join(outside)} breakdown"
            continue
        if family == "inventory" and "partner_id" not in cols:
            left_out[family] = "sell-through needs partner_id in sales"
            continue
        if family == "market" and "category" in by and "products" not in tables:
            left_out[family] = "market share by category needs the products table"
            continue
        frame = _merge(frame, compute(), keys)
    con.execute("DROP TABLE IF EXISTS kpi_cells")
    _derive(frame, keys, period, con)
    frame = frame.sort_values(keys).reset_index(drop=True) if keys else frame
    return KpiTable(frame=frame, left_out=left_out, keys=keys)


def _merge(frame: pd.DataFrame, other: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if "period" in other.columns:
        other = other.assign(period=pd.to_datetime(other["period"]))
    if not keys:
        return pd.concat([frame.reset_index(drop=True), other.reset_index(drop=True)], axis=1)
    return frame.merge(other, on=keys, how="left")


def _derive(frame: pd.DataFrame, keys: list[str], period: str | None, con: duckdb.DuckDBPyConnection) -> None:
    """Ratios over the merged families (in place)."""
    if "target_revenue" in frame:
        frame["target_attainment"] = _ratio(frame["targeted_revenue"], frame["target_revenue"])
        frame["projected_revenue"] = frame["targeted_revenue"].astype("float64")
        if period:
            as_of = pd.Timestamp(con.execute("SELECT max(date) FROM sales").fetchall()[0][0])
            start = frame["period"]
            end = start + PERIOD_STEP[period] - pd.Timedelta(days=1)
            running = (start <= as_of) & (end > as_of)
            elapsed = (as_of - start).dt.days + 1
            length = (end - start).dt.days + 1
            frame.loc[running, "projected_revenue"] = (frame["targeted_revenue"] * length / elapsed)[running]
        frame["projected_attainment"] = _ratio(frame["projected_revenue"], frame["target_revenue"])
    if "channel_costs" in frame:
        has_costs = frame["channel_costs"].notna()
        for column in [c for c in frame.columns if c.startswith("cost_") and c != "cost_to_serve"]:
            frame.loc[has_costs, column] = frame.loc[has_costs, column].fillna(0.0)  # no spend of that type
        frame["cost_to_serve"] = _ratio(frame["channel_costs"], frame["revenue"])
        frame["contribution_margin"] = (frame["gross_margin"].astype("float64")
                                        - frame["channel_costs"].astype("float64"))
        frame["contribution_margin_pct"] = _ratio(frame["contribution_margin"], frame["revenue"])
        frame["channel_roi"] = _ratio(frame["contribution_margin"], frame["channel_costs"])
        if "cost_incentive" in frame:
            frame["incentive_cost_pct"] = _ratio(frame["cost_incentive"], frame["revenue"])
    if "sell_in_units" in frame:
        # the standard sell-through: sold / (sold + closing stock), never above 100 %; sell-out / sell-in is another KPI
        sold = frame["sell_out_units"].astype("float64")
        available = sold + frame["on_hand_units"].astype("float64").clip(lower=0.0)
        frame["sell_through_rate"] = _ratio(sold, available.where(available > 0))
        frame["sell_out_to_sell_in"] = _ratio(frame["sell_out_units"], frame["sell_in_units"])
        weekly = _ratio(frame["sell_out_units"], frame.pop("days_in_range") / 7.0)
        frame["weeks_of_supply"] = _ratio(frame["on_hand_units"], weekly)
    if "market_size" in frame:
        frame["market_share"] = _ratio(frame["revenue"], frame["market_size"])
        if period:
            previous = _lagged(frame, keys, "market_share", PERIOD_STEP[period], "prev")
            frame["market_share_change"] = frame["market_share"] - previous
