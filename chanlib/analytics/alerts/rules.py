"""Rule alerts: thresholds from params (``alerts:``) on the store's tables.

Each rule is evaluated period by period (mostly months) up to the latest complete one; it raises an alert while its
condition holds at that latest period, ``since`` the first period of the run (so the same episode keeps its id build
after build). A rule whose inputs are absent raises :class:`~chanlib.errors.MissingInput` (the build notes it as
left out). Every rule returns its findings (:func:`chanlib.analytics.alerts.base.findings`) and the series behind
them (for charts: the finding's key columns with ``ds``, ``value`` and ``threshold`` or ``expected_lo/hi``).

=========================  ========================================================  ===============================
rule                       condition                                                 needs
=========================  ========================================================  ===============================
revenue_below_forecast     a month's revenue below the kept forecast's lower bound   kept forecasts of earlier builds
                           (``forecast_level`` %) of a region or channel node
target_missed              revenue below ``target_attainment`` of target             targets
                           ``target_periods`` periods running
margin_erosion             margin % of the last ``margin_months`` months at least    sales cost (or profit)
                           ``margin_drop`` points below the same months a year ago
partner_concentration      the largest partner's share of a region x channel over    sales partner_id
                           the trailing ``periods.window_months`` >= the share
weeks_of_supply_high/_low  a partner's stock in weeks of its sell-out over           inventory; sales units,
                           ``wos_weeks`` weeks >= ``wos_high`` / < ``wos_low``       partner_id
channel_stuffing           a partner's sell-in over ``stuffing_months`` months >=    inventory; sales units,
                           ``stuffing_ratio`` x its sell-out                         partner_id
feedback_drop              the score of the last ``feedback_months`` months below    feedback
                           the ``feedback_baseline_months`` before by the threshold
                           and ``feedback_z`` standard errors
contract_ending            a contract ending within ``contract_days`` (or ended,     partners contract_end
                           with the partner still selling), no renewal decision
channel_conflict           a partner channel's customers who also bought direct      channels model; sales
                           within ``conflict_days``: share >= ``conflict_share``     customer_id
price_gap                  a product's highest / lowest unit price across a          sales units, product_id
                           region's channels >= ``price_gap_ratio``
=========================  ========================================================  ===============================
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from chanlib import periods
from chanlib.analytics import kpi
from chanlib.analytics.alerts.base import AlertContext, episodes, findings, month_label, pct
from chanlib.analytics.alerts.severity import NO_BASE_EXCESS
from chanlib.data import store
from chanlib.data.store import quote_literal
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

RuleResult = tuple[pd.DataFrame, pd.DataFrame]
#: the key columns a series row shares with its finding
SERIES_KEY: tuple[str, ...] = ("rule", "region", "channel", "partner_id", "product_id", "metric", "since")
#: months of history a rule's series shows on a chart
SERIES_MONTHS = 24


def _series(found: pd.DataFrame, values: pd.DataFrame, on: list[str], time: str = "month") -> pd.DataFrame:
    """The series rows of every finding: ``values`` (``on`` keys, ``time``, value, threshold / expected_lo/hi)
    joined to the findings' keys, the last :data:`SERIES_MONTHS` periods up to each finding's ``ds``."""
    if found.empty:
        return pd.DataFrame(columns=[*SERIES_KEY, "ds", "value", "expected", "expected_lo", "expected_hi",
                                     "threshold"])
    keys = found[[*SERIES_KEY, "ds", *[c for c in on if c not in SERIES_KEY]]].rename(columns={"ds": "_last"})
    merged = keys.merge(values.rename(columns={time: "ds"}), on=on, how="inner")
    start = merged["_last"] - pd.DateOffset(months=SERIES_MONTHS)
    merged = merged[(merged["ds"] <= merged["_last"]) & (merged["ds"] > start)]
    for column in ("expected", "expected_lo", "expected_hi", "threshold"):
        if column not in merged:
            merged[column] = np.nan
    return merged[[*SERIES_KEY, "ds", "value", "expected", "expected_lo", "expected_hi", "threshold"]]


def _month_grid(frame: pd.DataFrame, keys: list[str], last: pd.Timestamp, columns: list[str]) -> pd.DataFrame:
    """``frame`` (keys, ``month``, columns) on a gap-free monthly grid from each key's first month to ``last``,
    missing months 0."""
    parts = []
    for key, group in frame.groupby(keys, sort=True):
        index = pd.date_range(group["month"].min(), last, freq="MS")
        if not len(index):
            continue
        part = group.set_index("month")[columns].reindex(index, fill_value=0.0)
        part.index.name = "month"
        part = part.reset_index()
        for name, value in zip(keys, key if isinstance(key, tuple) else (key,)):
            part[name] = value
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=[*keys, "month", *columns])
    return pd.concat(parts, ignore_index=True)[[*keys, "month", *columns]]


def _sales_needs(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...], why: str) -> None:
    have = store.table_columns(con, "sales")
    lacking = [c for c in columns if c not in have]
    if lacking:
        raise MissingInput("sales", f"the sales table has no {' or '.join(lacking)} column ({why})")


def _partner_places(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each partner's region, channel and name: from the partners table where it has them, else the latest sale."""
    if "partner_id" in store.table_columns(con, "sales"):
        sales = con.execute("SELECT CAST(partner_id AS VARCHAR) AS partner_id, arg_max(region, date) AS region, "
                            "arg_max(channel, date) AS channel FROM sales WHERE partner_id IS NOT NULL "
                            "GROUP BY ALL").df()
    else:
        sales = pd.DataFrame(columns=["partner_id", "region", "channel"])
    if not store.has_table(con, "partners"):
        return sales.assign(name="")
    have = store.table_columns(con, "partners")
    pick = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in ("region", "channel", "name") if c in have)
    table = con.execute(f"SELECT CAST(partner_id AS VARCHAR) AS partner_id{', ' + pick if pick else ''} "
                        "FROM partners").df()
    sales = sales.rename(columns={"region": "region_sales", "channel": "channel_sales"})
    merged = sales.merge(table, on="partner_id", how="outer")
    for column in ("region", "channel"):
        if column in table:
            merged[column] = merged[column].fillna(merged[f"{column}_sales"])
        else:
            merged[column] = merged[f"{column}_sales"]
    merged["name"] = merged["name"].fillna("") if "name" in merged else ""
    return merged[["partner_id", "region", "channel", "name"]].fillna("")


def _with_places(frame: pd.DataFrame, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    places = _partner_places(con)
    out = frame.merge(places, on="partner_id", how="left")
    for column in ("region", "channel", "name"):
        out[column] = out[column].fillna("")
    out["entity"] = [" / ".join(p for p in (r, c, f"{pid} {n}".strip()) if p)
                     for r, c, pid, n in zip(out["region"], out["channel"], out["partner_id"], out["name"])]
    return out


# -- revenue below the forecast -------------------------------------------------------------------------------------

def revenue_below_forecast(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Months whose revenue fell below the lower bound of the latest forecast kept for them (made by an earlier
    build, before the month began), for the hierarchy levels in ``forecast_nodes``."""
    s = ctx.settings
    if not store.has_result(con, "forecast_history"):
        raise MissingInput("forecast", "the store keeps no forecasts: forecasting is off (forecast.enabled) or was "
                                       "left out")
    history = store.read_result(con, "forecast_history")
    lo, hi = f"lo_{s.forecast_level}", f"hi_{s.forecast_level}"
    if lo not in history:
        raise MissingInput("forecast", f"the kept forecasts have no {s.forecast_level}% interval (forecast.levels "
                                       f"must include alerts.forecast_level)")
    actuals = store.read_result(con, "forecast_actuals")
    nodes = store.read_result(con, "forecast_nodes")
    nodes = nodes[nodes["level"].isin(list(s.forecast_nodes))]
    history = history.assign(ds=pd.to_datetime(history["ds"]), cutoff=pd.to_datetime(history["cutoff"]))
    history = history[history["unique_id"].isin(set(nodes["unique_id"])) & (history["ds"] > history["cutoff"])]
    actuals = actuals.assign(ds=pd.to_datetime(actuals["ds"]))
    met = history.merge(actuals[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
    met = met[met["ds"] <= ctx.through]
    if met.empty:
        raise MissingInput("forecast", "no kept forecast has met its actuals yet (each build compares the months "
                                       "that arrived since an earlier build's forecast)")
    latest = met.loc[met.groupby(["unique_id", "ds"])["cutoff"].idxmax()].copy()
    latest["below"] = latest["y"] < latest[lo]
    runs = episodes(latest, ["unique_id"], "ds", "below", latest=ctx.month)
    rows = []
    info = nodes.set_index("unique_id")
    for r in runs.itertuples(index=False):
        node = info.loc[r.unique_id]
        level = node["level"]
        entity = {"region": node.get("region", ""), "channel": node.get("channel", "") if level != "region" else "",
                  "partner_id": node.get("partner_id", "") if level == "partner" else ""}
        entity = {k: ("" if pd.isna(v) else str(v)) for k, v in entity.items()}
        gap = r.yhat - getattr(r, lo)
        excess = (r.yhat - r.y) / gap if gap > 0 else NO_BASE_EXCESS
        text = (f"Revenue in {month_label(r.ds)} was {ctx.money(r.y)}, below the {s.forecast_level}% forecast range "
                f"{ctx.money(getattr(r, lo))} to {ctx.money(getattr(r, hi))} (forecast {ctx.money(r.yhat)}, made "
                f"with data to {month_label(r.cutoff)})")
        if r.run > 1:
            text += f"; below the range {r.run} months running, since {month_label(r.since)}"
        rows.append({"rule": "revenue_below_forecast", **entity, "metric": "revenue", "value": r.y,
                     "expected_lo": getattr(r, lo), "expected_hi": getattr(r, hi), "since": r.since, "ds": r.ds,
                     "evidence": text + ".", "excess": excess, "unique_id": r.unique_id})
    found = findings(rows)
    if found.empty:
        return found, _series(found, pd.DataFrame(), [])
    found["unique_id"] = [r["unique_id"] for r in rows]
    band = latest[["unique_id", "ds", "yhat", lo, hi]].rename(columns={"yhat": "expected", lo: "expected_lo",
                                                                      hi: "expected_hi"})
    values = actuals[["unique_id", "ds", "y"]].rename(columns={"y": "value"}).merge(band, on=["unique_id", "ds"],
                                                                                    how="left")
    series = _series(found, values, ["unique_id"], time="ds")
    return found.drop(columns="unique_id"), series


# -- targets --------------------------------------------------------------------------------------------------------

def _target_grain(periods_: pd.Series) -> str:
    months = pd.Series(sorted(pd.to_datetime(periods_).dt.to_period("M").unique()))
    steps = months.diff().dropna().map(lambda d: d.n)
    step = int(steps.mode().iloc[0]) if len(steps) else 1
    return {1: "month", 3: "quarter", 12: "year"}.get(step, "month")


def target_missed(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Region x channel periods whose revenue was below ``target_attainment`` of target, ``target_periods`` in a
    row up to the latest complete period (the targets' grain: month, quarter or year)."""
    s = ctx.settings
    store.require(con, "targets", ("period", "region", "channel", "target_revenue"))
    targets = con.execute("SELECT CAST(period AS DATE) AS period, region, channel, sum(target_revenue) AS target "
                          "FROM targets GROUP BY ALL").df()
    if targets.empty:
        raise MissingInput("targets", "the targets table has no rows")
    grain = _target_grain(targets["period"])
    targets["period"] = pd.to_datetime(targets["period"]).map(lambda d: periods.period_start(d, grain))
    latest, _ = periods.latest_complete(ctx.as_of, grain, ctx.tolerance_days)
    revenue = con.execute(f"SELECT region, channel, CAST(date_trunc('{grain}', date) AS DATE) AS period, "
                          "sum(revenue) AS revenue FROM sales GROUP BY ALL").df()
    revenue["period"] = pd.to_datetime(revenue["period"])
    frame = targets.groupby(["region", "channel", "period"], as_index=False)["target"].sum().merge(
        revenue, on=["region", "channel", "period"], how="left").fillna({"revenue": 0.0})
    frame = frame[(frame["period"] <= latest) & (frame["target"] > 0)]
    frame["attainment"] = frame["revenue"] / frame["target"]
    frame["missed"] = frame["attainment"] < s.target_attainment
    runs = episodes(frame, ["region", "channel"], "period", "missed", latest=latest)
    runs = runs[runs["run"] >= s.target_periods]
    rows = []
    for r in runs.itertuples(index=False):
        part = frame[(frame["region"] == r.region) & (frame["channel"] == r.channel) & (frame["period"] >= r.since)]
        shown = ", ".join(f"{periods.label(p, grain)} {pct(a)}" for p, a in zip(part["period"], part["attainment"]))
        text = (f"Revenue below {pct(s.target_attainment)} of target {r.run} {grain}s running: {shown}; in "
                f"{periods.label(r.period, grain)} {ctx.money(r.revenue)} against a target of {ctx.money(r.target)}.")
        rows.append({"rule": "target_missed", "region": r.region, "channel": r.channel,
                     "metric": "target_attainment", "value": r.attainment, "threshold": s.target_attainment,
                     "since": r.since, "ds": r.period, "evidence": text, "excess": r.run / s.target_periods})
    found = findings(rows)
    values = frame[["region", "channel", "period", "attainment"]].rename(columns={"attainment": "value"}).assign(
        threshold=s.target_attainment)
    return found, _series(found, values, ["region", "channel"], time="period")


# -- margin ----------------------------------------------------------------------------------------------------------

def margin_erosion(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Region x channel margin % over the last ``margin_months`` complete months at least ``margin_drop`` points
    below the same months a year earlier."""
    s = ctx.settings
    _sales_needs(con, ("cost",), "margin erosion needs the margin")
    months = s.margin_months
    if ctx.first > ctx.month - pd.DateOffset(months=12 + months - 1) + pd.Timedelta(days=7):
        raise MissingInput("sales", f"margin erosion compares {months} months with a year earlier: the data cover "
                                    f"fewer than {12 + months} complete months")
    monthly = con.execute("SELECT region, channel, CAST(date_trunc('month', date) AS DATE) AS month, "
                          "sum(revenue) AS revenue, sum(revenue - cost) AS margin FROM sales WHERE date <= ? "
                          "GROUP BY ALL", [ctx.through.date()]).df()
    monthly["month"] = pd.to_datetime(monthly["month"])
    grid = _month_grid(monthly, ["region", "channel"], ctx.month, ["revenue", "margin"])
    grid = grid.sort_values(["region", "channel", "month"])
    roll = grid.groupby(["region", "channel"])[["revenue", "margin"]].transform(
        lambda x: x.rolling(months, min_periods=months).sum())
    grid["rev_now"], grid["mar_now"] = roll["revenue"], roll["margin"]
    earlier = grid[["region", "channel", "month", "rev_now", "mar_now"]].assign(
        month=grid["month"] + pd.DateOffset(years=1)).rename(columns={"rev_now": "rev_ly", "mar_now": "mar_ly"})
    grid = grid.merge(earlier, on=["region", "channel", "month"], how="left")
    grid["pct_now"] = grid["mar_now"] / grid["rev_now"].where(grid["rev_now"] > 0)
    grid["pct_ly"] = grid["mar_ly"] / grid["rev_ly"].where(grid["rev_ly"] > 0)
    grid["drop"] = grid["pct_ly"] - grid["pct_now"]
    grid["eroded"] = grid["drop"] >= s.margin_drop - 1e-12
    runs = episodes(grid, ["region", "channel"], "month", "eroded", latest=ctx.month)
    rows = []
    for r in runs.itertuples(index=False):
        first = r.month - pd.DateOffset(months=months - 1)
        text = (f"Margin {pct(r.pct_now)} over {month_label(first)} to {month_label(r.month)}, "
                f"{100 * r.drop:.1f} points below the {pct(r.pct_ly)} of the same months a year earlier (alert from "
                f"{100 * s.margin_drop:.1f} points)")
        if r.run > 1:
            text += f"; eroded {r.run} months running, since {month_label(r.since)}"
        rows.append({"rule": "margin_erosion", "region": r.region, "channel": r.channel, "metric": "margin_pct",
                     "value": r.pct_now, "threshold": r.pct_ly - s.margin_drop, "since": r.since, "ds": r.month,
                     "evidence": text + ".", "excess": r.drop / s.margin_drop})
    found = findings(rows)
    values = grid[["region", "channel", "month", "pct_now", "pct_ly"]].assign(
        threshold=grid["pct_ly"] - s.margin_drop).rename(columns={"pct_now": "value"})
    return found, _series(found, values.drop(columns="pct_ly"), ["region", "channel"])


# -- partner concentration --------------------------------------------------------------------------------------------

def partner_concentration(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """The largest partner's share of a region x channel's revenue over the trailing ``periods.window_months``
    (evaluated at every complete month once the data cover the window) at or above ``concentration_share``."""
    s = ctx.settings
    _sales_needs(con, ("partner_id",), "partner concentration needs partners")
    window = ctx.window_months
    monthly = con.execute("SELECT region, channel, CAST(partner_id AS VARCHAR) AS partner_id, "
                          "CAST(date_trunc('month', date) AS DATE) AS month, sum(revenue) AS revenue FROM sales "
                          "WHERE partner_id IS NOT NULL AND date <= ? GROUP BY ALL", [ctx.through.date()]).df()
    if monthly.empty:
        raise MissingInput("sales", "no sales carry a partner_id")
    monthly["month"] = pd.to_datetime(monthly["month"])
    grid = _month_grid(monthly, ["region", "channel", "partner_id"], ctx.month, ["revenue"])
    grid = grid.sort_values(["region", "channel", "partner_id", "month"])
    grid["trailing"] = grid.groupby(["region", "channel", "partner_id"])["revenue"].transform(
        lambda x: x.rolling(window, min_periods=1).sum())
    first_full = (pd.Timestamp(ctx.first).to_period("M").to_timestamp() + pd.DateOffset(months=window - 1))
    grid = grid[grid["month"] >= first_full]
    cells = grid.groupby(["region", "channel", "month"])
    grid["total"] = cells["trailing"].transform(lambda x: x.clip(lower=0).sum())
    grid["partners"] = cells["trailing"].transform(lambda x: int((x > 0).sum()))
    top = grid.loc[grid.groupby(["region", "channel", "month"])["trailing"].idxmax()].copy()
    top["share"] = top["trailing"] / top["total"].where(top["total"] > 0)
    top["concentrated"] = top["share"] >= s.concentration_share
    runs = episodes(top, ["region", "channel"], "month", "concentrated", latest=ctx.month)
    names = _partner_places(con).set_index("partner_id")["name"].to_dict()
    rows = []
    for r in runs.itertuples(index=False):
        name = names.get(r.partner_id, "")
        who = f"{r.partner_id} {name}".strip()
        text = (f"{who} sold {pct(r.share)} of the channel's revenue in the {window} months to {month_label(r.month)} "
                f"({ctx.money(r.trailing)} of {ctx.money(r.total)}; {r.partners} partners sold; alert from "
                f"{pct(s.concentration_share)})")
        if r.run > 1:
            text += f"; above the share since {month_label(r.since)}"
        rows.append({"rule": "partner_concentration", "region": r.region, "channel": r.channel,
                     "partner_id": r.partner_id,
                     "entity": " / ".join(p for p in (r.region, r.channel, who) if p),
                     "metric": "top_partner_share", "value": r.share, "threshold": s.concentration_share,
                     "since": r.since, "ds": r.month, "evidence": text + ".",
                     "excess": r.share / s.concentration_share})
    found = findings(rows)
    values = top[["region", "channel", "month", "share"]].rename(columns={"share": "value"}).assign(
        threshold=s.concentration_share)
    return found, _series(found, values, ["region", "channel"])


# -- inventory --------------------------------------------------------------------------------------------------------

def _inventory_needs(con: duckdb.DuckDBPyConnection) -> None:
    store.require(con, "inventory", ("date", "partner_id", "on_hand_units"))
    _sales_needs(con, ("units", "partner_id"), "sell-out is the partners' units sold")


def _weeks_of_supply(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> pd.DataFrame:
    weeks = ctx.settings.wos_weeks
    frame = con.execute(f"""
        WITH stock AS (SELECT CAST(partner_id AS VARCHAR) AS partner_id, date, sum(on_hand_units) AS on_hand
                       FROM inventory WHERE date <= $as_of GROUP BY ALL),
        sold AS (SELECT CAST(partner_id AS VARCHAR) AS partner_id, date, sum(units) AS units FROM sales
                 WHERE partner_id IS NOT NULL GROUP BY ALL)
        SELECT s.partner_id, s.date, s.on_hand, coalesce(sum(d.units), 0) AS sold
        FROM stock s LEFT JOIN sold d ON d.partner_id = s.partner_id AND d.date > s.date - INTERVAL {weeks * 7} DAY
                                      AND d.date <= s.date
        WHERE s.date - INTERVAL {weeks * 7} DAY >= $first - INTERVAL 1 DAY
        GROUP BY ALL ORDER BY ALL""", {"as_of": ctx.as_of.date(), "first": ctx.first.date()}).df()
    frame["date"] = pd.to_datetime(frame["date"])
    rate = frame["sold"] / weeks
    frame["rate"] = rate
    frame["wos"] = (frame["on_hand"] / rate.where(rate > 0)).astype("float64")
    return frame


def _wos_rule(con: duckdb.DuckDBPyConnection, ctx: AlertContext, high: bool) -> RuleResult:
    s = ctx.settings
    _inventory_needs(con)
    frame = _weeks_of_supply(con, ctx)
    if frame.empty:
        raise MissingInput("inventory", f"no stock date has {s.wos_weeks} weeks of sales before it")
    rule = "weeks_of_supply_high" if high else "weeks_of_supply_low"
    if high:
        frame["flag"] = (frame["wos"] >= s.wos_high) | ((frame["rate"] <= 0) & (frame["on_hand"] > 0))
    else:
        frame["flag"] = (frame["rate"] > 0) & (frame["wos"] < s.wos_low)
    threshold = s.wos_high if high else s.wos_low
    runs = episodes(frame, ["partner_id"], "date", "flag", latest=frame["date"].max())
    runs = _with_places(runs, con)
    rows = []
    for r in runs.itertuples(index=False):
        if r.rate > 0:
            supply = f"{r.wos:.1f} weeks of its sell-out ({r.rate:,.1f} units a week over the last {s.wos_weeks} weeks)"
        else:
            supply = f"no units sold in the last {s.wos_weeks} weeks"
        text = (f"{r.on_hand:,.0f} units on hand on {r.date.date()}: {supply}; alert "
                f"{'from' if high else 'below'} {threshold:g} week{'' if threshold == 1 else 's'}")
        if r.run > 1:
            text += f"; since {r.since.date()} ({r.run} stock dates)"
        if high:
            excess = r.wos / s.wos_high if pd.notna(r.wos) else NO_BASE_EXCESS
        else:
            excess = s.wos_low / r.wos if r.wos > 0 else NO_BASE_EXCESS
        rows.append({"rule": rule, "region": r.region, "channel": r.channel, "partner_id": r.partner_id,
                     "entity": r.entity, "metric": "weeks_of_supply", "value": r.wos, "threshold": threshold,
                     "since": r.since, "ds": r.date, "evidence": text + ".", "excess": excess})
    found = findings(rows)
    values = frame[["partner_id", "date", "wos"]].rename(columns={"wos": "value"}).assign(threshold=threshold)
    return found, _series(found, values, ["partner_id"], time="date")


def weeks_of_supply_high(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Partners whose stock on hand is ``wos_high`` weeks of their sell-out or more (or who hold stock and sold
    nothing) at the latest stock dates."""
    return _wos_rule(con, ctx, high=True)


def weeks_of_supply_low(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Partners whose stock on hand is below ``wos_low`` weeks of their sell-out at the latest stock dates."""
    return _wos_rule(con, ctx, high=False)


def channel_stuffing(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Partners who bought in (sell-in units: ``inventory.sell_in_units``, else the change in month-end stock
    plus the units sold) at least ``stuffing_ratio`` times what they sold over the last ``stuffing_months``
    complete months."""
    s = ctx.settings
    _inventory_needs(con)
    direct = "sell_in_units" in store.table_columns(con, "inventory")
    sell_in = "sum(sell_in_units)" if direct else "NULL"
    stock = con.execute(f"""
        WITH m AS (SELECT CAST(partner_id AS VARCHAR) AS partner_id, CAST(date_trunc('month', date) AS DATE) AS month,
                          date, sum(on_hand_units) AS on_hand, {sell_in} AS sell_in
                   FROM inventory WHERE date <= $through GROUP BY ALL)
        SELECT partner_id, month, arg_max(on_hand, date) AS on_hand, sum(sell_in) AS sell_in FROM m GROUP BY ALL
        """, {"through": ctx.through.date()}).df()
    sold = con.execute("SELECT CAST(partner_id AS VARCHAR) AS partner_id, CAST(date_trunc('month', date) AS DATE) "
                       "AS month, sum(units) AS sold FROM sales WHERE partner_id IS NOT NULL AND date <= ? "
                       "GROUP BY ALL", [ctx.through.date()]).df()
    for frame in (stock, sold):
        frame["month"] = pd.to_datetime(frame["month"])
    frame = stock.merge(sold, on=["partner_id", "month"], how="left").fillna({"sold": 0.0})
    frame = frame.sort_values(["partner_id", "month"])
    if not direct:
        previous = frame.groupby("partner_id")["on_hand"].shift()
        gap = frame["month"] != frame.groupby("partner_id")["month"].shift() + pd.DateOffset(months=1)
        frame["sell_in"] = (frame["on_hand"] - previous + frame["sold"]).where(~gap).clip(lower=0)
    months = s.stuffing_months
    rolled = frame.groupby("partner_id")[["sell_in", "sold"]].transform(
        lambda x: x.rolling(months, min_periods=months).sum())
    frame["sell_in_sum"], frame["sold_sum"] = rolled["sell_in"], rolled["sold"]
    frame["ratio"] = (frame["sell_in_sum"] / frame["sold_sum"].where(frame["sold_sum"] > 0)).astype("float64")
    frame["flag"] = (frame["ratio"] >= s.stuffing_ratio) | ((frame["sold_sum"] <= 0) & (frame["sell_in_sum"] > 0))
    runs = _with_places(episodes(frame, ["partner_id"], "month", "flag", latest=ctx.month), con)
    rows = []
    for r in runs.itertuples(index=False):
        first = r.month - pd.DateOffset(months=months - 1)
        ratio = f"{r.ratio:.2f}x its sell-out" if pd.notna(r.ratio) else "with no sell-out at all"
        text = (f"Bought in {r.sell_in_sum:,.0f} units over {month_label(first)} to {month_label(r.month)} while "
                f"selling {r.sold_sum:,.0f}: {ratio} (alert from {s.stuffing_ratio:g}x); {r.on_hand:,.0f} units on "
                f"hand at the end of {month_label(r.month)}")
        if not direct:
            text += " (sell-in taken as the change in stock plus the units sold)"
        if r.run > 1:
            text += f"; since {month_label(r.since)}"
        excess = r.ratio / s.stuffing_ratio if pd.notna(r.ratio) else NO_BASE_EXCESS
        rows.append({"rule": "channel_stuffing", "region": r.region, "channel": r.channel, "partner_id": r.partner_id,
                     "entity": r.entity, "metric": "sell_in_to_sell_out", "value": r.ratio,
                     "threshold": s.stuffing_ratio, "since": r.since, "ds": r.month, "evidence": text + ".",
                     "excess": excess})
    found = findings(rows)
    values = frame[["partner_id", "month", "ratio"]].rename(columns={"ratio": "value"}).assign(
        threshold=s.stuffing_ratio)
    return found, _series(found, values, ["partner_id"])


# -- feedback ---------------------------------------------------------------------------------------------------------

def feedback_drop(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Region x channel feedback of the last ``feedback_months`` complete months below the
    ``feedback_baseline_months`` before them by the threshold (NPS points, or points of the mean score) and by
    ``feedback_z`` standard errors, with at least ``feedback_min_responses`` responses in each."""
    s = ctx.settings
    store.require(con, "feedback", ("date", "region", "channel", "score"))
    nps = kpi.feedback_is_nps(con)
    monthly = con.execute("""
        SELECT region, channel, CAST(date_trunc('month', date) AS DATE) AS month, count(score) AS n,
               sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END) AS promoters,
               sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS detractors,
               sum(score) AS total, sum(score * score) AS squares
        FROM feedback WHERE date <= ? AND score IS NOT NULL GROUP BY ALL""", [ctx.through.date()]).df()
    if monthly.empty:
        raise MissingInput("feedback", "the feedback table has no scores")
    monthly["month"] = pd.to_datetime(monthly["month"])
    columns = ["n", "promoters", "detractors", "total", "squares"]
    grid = _month_grid(monthly, ["region", "channel"], ctx.month, columns).sort_values(["region", "channel", "month"])
    recent_n, base_n = s.feedback_months, s.feedback_baseline_months
    group = grid.groupby(["region", "channel"])[columns]
    recent = group.transform(lambda x: x.rolling(recent_n, min_periods=recent_n).sum())
    base = group.transform(lambda x: x.shift(recent_n).rolling(base_n, min_periods=base_n).sum())

    def score_and_error(part: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        n = part["n"].where(part["n"] > 0)
        if nps:
            p, d = part["promoters"] / n, part["detractors"] / n
            value = 100 * (p - d)
            variance = 100 ** 2 * (p + d - (p - d) ** 2)
        else:
            value = part["total"] / n
            variance = (part["squares"] / n - value ** 2) * n / (n - 1).where(n > 1)
        return value, np.sqrt(variance.clip(lower=0) / n)

    grid["recent"], recent_se = score_and_error(recent)
    grid["base"], base_se = score_and_error(base)
    grid["n_recent"], grid["n_base"] = recent["n"], base["n"]
    grid["drop"] = grid["base"] - grid["recent"]
    grid["se"] = np.sqrt(recent_se ** 2 + base_se ** 2)
    threshold = s.feedback_drop_nps if nps else s.feedback_drop_mean
    grid["flag"] = ((grid["drop"] >= threshold) & (grid["drop"] >= s.feedback_z * grid["se"])
                    & (grid["n_recent"] >= s.feedback_min_responses) & (grid["n_base"] >= s.feedback_min_responses))
    runs = episodes(grid, ["region", "channel"], "month", "flag", latest=ctx.month)
    name = "NPS" if nps else "The mean score"
    unit = "points" if nps else "points of the score"
    rows = []
    for r in runs.itertuples(index=False):
        first = r.month - pd.DateOffset(months=recent_n - 1)
        shown = (lambda v: f"{v:+.0f}") if nps else (lambda v: f"{v:.2f}")
        text = (f"{name} {shown(r.recent)} over {month_label(first)} to {month_label(r.month)} ({r.n_recent:,.0f} "
                f"responses), {r.drop:.1f} {unit} below the {shown(r.base)} of the {base_n} months before "
                f"({r.n_base:,.0f} responses); {r.drop / r.se:.1f} standard errors (alert from {threshold:g} {unit})")
        if r.run > 1:
            text += f"; since {month_label(r.since)}"
        rows.append({"rule": "feedback_drop", "region": r.region, "channel": r.channel,
                     "metric": "nps" if nps else "mean_score", "value": r.recent, "threshold": r.base - threshold,
                     "since": r.since, "ds": r.month, "evidence": text + ".", "excess": r.drop / threshold})
    found = findings(rows)
    values = grid[["region", "channel", "month", "recent"]].rename(columns={"recent": "value"}).assign(
        threshold=grid["base"] - threshold)
    return found, _series(found, values, ["region", "channel"])


# -- contracts --------------------------------------------------------------------------------------------------------

#: values of ``partners.renewal_decision`` that record no decision (besides an empty one)
UNDECIDED = ("", "pending", "undecided", "open", "none")


def contract_ending(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Contracts ending within ``contract_days`` after the as-of date (or that ended up to ``contract_days`` ago
    while the partner still sells) with no renewal decision recorded (``partners.renewal_decision`` empty, or no
    such column)."""
    s = ctx.settings
    have = store.require(con, "partners", ("partner_id", "contract_end"))
    decided = "renewal_decision" in have
    decision = "CAST(renewal_decision AS VARCHAR)" if decided else "NULL"
    undecided = ", ".join(quote_literal(v) for v in UNDECIDED)
    days = s.contract_days
    recent = ("SELECT CAST(partner_id AS VARCHAR) AS partner_id, sum(revenue) AS revenue, max(date) AS last_sale "
              f"FROM sales WHERE partner_id IS NOT NULL AND date > $as_of - INTERVAL {days} DAY GROUP BY ALL"
              if "partner_id" in store.table_columns(con, "sales") else
              "SELECT NULL::VARCHAR AS partner_id, NULL::DOUBLE AS revenue, NULL::DATE AS last_sale WHERE false")
    frame = con.execute(f"""
        WITH p AS (SELECT CAST(partner_id AS VARCHAR) AS partner_id, contract_end, {decision} AS decision
                   FROM partners WHERE contract_end IS NOT NULL),
        recent AS ({recent})
        SELECT p.partner_id, p.contract_end, datediff('day', $as_of, p.contract_end) AS days_left,
               r.revenue, r.last_sale
        FROM p LEFT JOIN recent r USING (partner_id)
        WHERE lower(trim(coalesce(p.decision, ''))) IN ({undecided})
          AND datediff('day', $as_of, p.contract_end) <= {days}
          AND (p.contract_end >= $as_of OR (datediff('day', p.contract_end, $as_of) <= {days}
                                           AND r.last_sale IS NOT NULL))
        ORDER BY days_left, partner_id""", {"as_of": ctx.as_of.date()}).df()
    frame = _with_places(frame, con)
    rows = []
    for r in frame.itertuples(index=False):
        end = pd.Timestamp(r.contract_end)
        left = int(r.days_left)
        when = (f"Contract ends on {end.date()}, {left} days after the data end" if left >= 0 else
                f"Contract ended on {end.date()}, {-left} days before the data end, and the partner still sells "
                f"(last sale {pd.Timestamp(r.last_sale).date()})")
        text = when + "; no renewal decision recorded" + (
            "" if decided else " (the partners table has no renewal_decision column)")
        if pd.notna(r.revenue):
            text += f"; {ctx.money(r.revenue)} revenue in the last {days} days"
        rows.append({"rule": "contract_ending", "region": r.region, "channel": r.channel, "partner_id": r.partner_id,
                     "entity": r.entity, "metric": "days_to_contract_end", "value": float(left),
                     "threshold": float(days), "since": end - pd.Timedelta(days=days), "ds": ctx.as_of,
                     "evidence": text + ".", "excess": days / max(left, 1) if left > 0 else float(days)})
    found = findings(rows)
    return found, _series(found, pd.DataFrame(columns=["partner_id", "month", "value"]), ["partner_id"])


# -- channel conflict and prices -----------------------------------------------------------------------------------

def _models(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not store.has_table(con, "channels") or "model" not in store.table_columns(con, "channels"):
        return {}
    return {str(c): str(m) for c, m in con.execute("SELECT channel, model FROM channels "
                                                   "WHERE model IS NOT NULL").fetchall()}


def channel_conflict(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Per region and partner channel (``channels.model`` in ``partner_models``) and month: the share of its
    customers who also bought in a direct channel (``direct_models``) of the region within ``conflict_days``;
    at least ``conflict_share`` and ``conflict_min_customers`` raise the alert."""
    s = ctx.settings
    _sales_needs(con, ("customer_id",), "channel conflict follows customers across channels")
    models = _models(con)
    if not models:
        raise MissingInput("channels", "the store has no channels table with a model column (channel conflict "
                                       "tells partner from direct channels by it)")
    partner = [c for c, m in models.items() if m in s.partner_models]
    direct = [c for c, m in models.items() if m in s.direct_models]
    if not partner or not direct:
        raise MissingInput("channels", f"channel conflict needs a partner channel ({', '.join(s.partner_models)}) "
                                       f"and a direct one ({', '.join(s.direct_models)})")
    frame = con.execute(f"""
        WITH buys AS (SELECT DISTINCT region, channel, CAST(customer_id AS VARCHAR) AS customer_id, date FROM sales
                      WHERE customer_id IS NOT NULL AND date <= $through),
        p AS (SELECT * FROM buys WHERE channel IN (SELECT unnest($partner))),
        d AS (SELECT * FROM buys WHERE channel IN (SELECT unnest($direct))),
        customers AS (SELECT region, channel, CAST(date_trunc('month', date) AS DATE) AS month,
                             count(DISTINCT customer_id) AS customers FROM p GROUP BY ALL),
        shared AS (SELECT DISTINCT p.region, p.channel, CAST(date_trunc('month', p.date) AS DATE) AS month,
                          p.customer_id, d.channel AS direct
                   FROM p JOIN d ON d.region = p.region AND d.customer_id = p.customer_id
                                AND abs(datediff('day', p.date, d.date)) <= {s.conflict_days}),
        counts AS (SELECT region, channel, month, count(DISTINCT customer_id) AS shared FROM shared GROUP BY ALL),
        directs AS (SELECT region, channel, month, string_agg(direct || ' (' || n || ')', ', ' ORDER BY n DESC,
                                                              direct) AS directs
                    FROM (SELECT region, channel, month, direct, count(DISTINCT customer_id) AS n FROM shared
                          GROUP BY ALL) GROUP BY ALL)
        SELECT c.region, c.channel, c.month, c.customers, coalesce(n.shared, 0) AS shared, x.directs
        FROM customers c LEFT JOIN counts n USING (region, channel, month)
                         LEFT JOIN directs x USING (region, channel, month)""",
                        {"through": ctx.through.date(), "partner": partner, "direct": direct}).df()
    if frame.empty:
        raise MissingInput("sales", "no partner-channel sale carries a customer_id")
    frame["month"] = pd.to_datetime(frame["month"])
    grid = _month_grid(frame.drop(columns="directs"), ["region", "channel"], ctx.month, ["customers", "shared"])
    grid = grid.merge(frame[["region", "channel", "month", "directs"]], on=["region", "channel", "month"],
                      how="left")
    grid["share"] = grid["shared"] / grid["customers"].where(grid["customers"] > 0)
    grid["flag"] = (grid["share"] >= s.conflict_share) & (grid["shared"] >= s.conflict_min_customers)
    runs = episodes(grid, ["region", "channel"], "month", "flag", latest=ctx.month)
    rows = []
    for r in runs.itertuples(index=False):
        text = (f"{r.shared:,.0f} of the {r.customers:,.0f} customers who bought through this channel in "
                f"{month_label(r.month)} ({pct(r.share)}) also bought direct within {s.conflict_days} days: "
                f"{r.directs} (alert from {pct(s.conflict_share)})")
        if r.run > 1:
            text += f"; since {month_label(r.since)}"
        rows.append({"rule": "channel_conflict", "region": r.region, "channel": r.channel,
                     "metric": "shared_customer_share", "value": r.share, "threshold": s.conflict_share,
                     "since": r.since, "ds": r.month, "evidence": text + ".", "excess": r.share / s.conflict_share})
    found = findings(rows)
    values = grid[["region", "channel", "month", "share"]].rename(columns={"share": "value"}).assign(
        threshold=s.conflict_share)
    return found, _series(found, values, ["region", "channel"])


def price_gap(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> RuleResult:
    """Per region and product, over the last ``price_months`` complete months (evaluated every month): the highest
    unit price (revenue / units) across the region's channels at least ``price_gap_ratio`` times the lowest; a
    channel's price counts on at least ``price_min_units`` units; channels of ``price_exclude_models`` (wholesale)
    are left out."""
    s = ctx.settings
    _sales_needs(con, ("units", "product_id"), "unit prices are revenue per unit of a product")
    excluded = [c for c, m in _models(con).items() if m in s.price_exclude_models]
    months = s.price_months
    frame = con.execute(f"""
        WITH m AS (SELECT region, CAST(product_id AS VARCHAR) AS product_id, channel,
                          CAST(date_trunc('month', date) AS DATE) AS month, sum(revenue) AS revenue,
                          sum(units) AS units
                   FROM sales WHERE product_id IS NOT NULL AND date <= $through
                        AND channel NOT IN (SELECT unnest($excluded)) GROUP BY ALL),
        w AS (SELECT region, product_id, channel, month,
                     sum(revenue) OVER win AS revenue, sum(units) OVER win AS units
              FROM m WINDOW win AS (PARTITION BY region, product_id, channel ORDER BY month
                                    RANGE BETWEEN INTERVAL {months - 1} MONTH PRECEDING AND CURRENT ROW))
        SELECT region, product_id, month, channel, revenue / units AS price, units FROM w
        WHERE units >= $min_units AND revenue > 0""",
                        {"through": ctx.through.date(), "excluded": excluded or [""],
                         "min_units": s.price_min_units}).df()
    if frame.empty:
        raise MissingInput("sales", f"no product sold {s.price_min_units:g} units or more in a channel")
    frame["month"] = pd.to_datetime(frame["month"])
    cells = frame.groupby(["region", "product_id", "month"])
    low = frame.loc[cells["price"].idxmin()].set_index(["region", "product_id", "month"])
    high = frame.loc[cells["price"].idxmax()].set_index(["region", "product_id", "month"])
    gaps = low[["channel", "price", "units"]].join(high[["channel", "price", "units"]], lsuffix="_low",
                                                   rsuffix="_high").reset_index()
    gaps["channels"] = cells["channel"].nunique().to_numpy()
    gaps = gaps[gaps["channels"] >= 2].copy()
    grid = _month_grid(gaps[["region", "product_id", "month"]].assign(one=1.0), ["region", "product_id"],
                       ctx.month, ["one"]).drop(columns="one")
    grid["month"] = pd.to_datetime(grid["month"])  # an empty grid (no product sold in two channels) has no dtype
    grid = grid.merge(gaps, on=["region", "product_id", "month"], how="left")
    grid["gap"] = grid["price_high"] / grid["price_low"]
    grid["flag"] = grid["gap"] >= s.price_gap_ratio
    runs = episodes(grid, ["region", "product_id"], "month", "flag", latest=ctx.month)
    rows = []
    for r in runs.itertuples(index=False):
        first = r.month - pd.DateOffset(months=months - 1)
        currency = f"{ctx.currency} " if ctx.currency else ""
        text = (f"Sold at {currency}{r.price_low:,.2f} a unit in {r.channel_low} ({r.units_low:,.0f} units) and "
                f"{currency}{r.price_high:,.2f} in {r.channel_high} ({r.units_high:,.0f} units) over "
                f"{month_label(first)} to {month_label(r.month)}: {r.gap:.2f}x (alert from {s.price_gap_ratio:g}x)")
        if r.run > 1:
            text += f"; since {month_label(r.since)}"
        rows.append({"rule": "price_gap", "region": r.region, "channel": r.channel_low, "product_id": r.product_id,
                     "entity": f"{r.region} / {r.product_id} ({r.channel_low} vs {r.channel_high})",
                     "metric": "unit_price_ratio", "value": r.gap, "threshold": s.price_gap_ratio, "since": r.since,
                     "ds": r.month, "evidence": text + ".", "excess": r.gap / s.price_gap_ratio})
    found = findings(rows)
    values = grid[["region", "product_id", "month", "gap"]].rename(columns={"gap": "value"}).assign(
        threshold=s.price_gap_ratio)
    return found, _series(found, values, ["region", "product_id"])


#: every rule alert, in report order
RULES: dict[str, Callable[[duckdb.DuckDBPyConnection, AlertContext], RuleResult]] = {
    "revenue_below_forecast": revenue_below_forecast,
    "target_missed": target_missed,
    "margin_erosion": margin_erosion,
    "partner_concentration": partner_concentration,
    "weeks_of_supply_high": weeks_of_supply_high,
    "weeks_of_supply_low": weeks_of_supply_low,
    "channel_stuffing": channel_stuffing,
    "feedback_drop": feedback_drop,
    "contract_ending": contract_ending,
    "channel_conflict": channel_conflict,
    "price_gap": price_gap,
}
