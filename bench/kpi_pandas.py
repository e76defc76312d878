"""The KPI cube written in plain pandas, as a competent pandas user would: the baseline of ``bench/kpi.py`` and the
independent computation that ``tests/test_kpi.py`` cross-checks :func:`chanlib.analytics.kpi.kpi_table` against.

It shares no code with chanlib: inputs are the canonical tables as DataFrames (read from the demo's files).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

DIMENSIONS = {"region": "region", "channel": "channel", "channel_type": "channel_type", "model": "model",
              "market": "market", "partner": "partner_id", "product": "product_id", "category": "category"}
FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
STEP = {"month": pd.DateOffset(months=1), "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}
CHANNEL_DIMS = {"region", "channel", "channel_type", "model", "market"}


def _period(dates: pd.Series, period: str) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period(FREQ[period]).dt.start_time


def _div(a, b) -> pd.Series:
    a = pd.Series(a, dtype="float64")
    b = pd.Series(b, dtype="float64", index=a.index)
    return a / b.where(b != 0)


def _agg(frame: pd.DataFrame, keys: list[str], **named) -> pd.DataFrame:
    if keys:
        return frame.groupby(keys, dropna=False).agg(**named).reset_index()
    return pd.DataFrame({name: [getattr(frame[col], fn)()] for name, (col, fn) in named.items()})


def _merge(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if keys:
        return left.merge(right, on=keys, how="left")
    return pd.concat([left, right], axis=1)


def _shift(frame: pd.DataFrame, keys: list[str], column: str, offset) -> pd.Series:
    other = [k for k in keys if k != "period"]
    earlier = frame[other + ["period", column]].copy()
    earlier["period"] = earlier["period"] + offset
    merged = frame[other + ["period"]].merge(earlier.rename(columns={column: "_x"}), how="left")
    return merged["_x"].set_axis(frame.index)


def kpi_cube(tables: dict[str, pd.DataFrame], by: list[str], period: str | None) -> pd.DataFrame:
    """The KPIs of :func:`chanlib.analytics.kpi.kpi_table` for ``by`` and ``period`` (same column names)."""
    sales = tables["sales"].copy()
    sales["date"] = pd.to_datetime(sales["date"])
    channels, products = tables.get("channels"), tables.get("products")
    if channels is not None:
        sales = sales.merge(channels, on="channel", how="left")
    if products is not None:
        sales = sales.merge(products[["product_id", "category"]], on="product_id", how="left")
    dims = [DIMENSIONS[b] for b in by]
    keys = dims + (["period"] if period else [])
    if period:
        sales["period"] = _period(sales["date"], period)
    sales["margin"] = sales["revenue"] - sales["cost"]
    sales["partner_if_sold"] = sales["partner_id"].where(sales["revenue"] > 0)

    out = _agg(sales, keys, revenue=("revenue", "sum"), units=("units", "sum"), orders=("order_id", "nunique"),
               gross_margin=("margin", "sum"), active_partners=("partner_if_sold", "nunique"))
    out["average_order_value"] = _div(out["revenue"], out["orders"])
    out["margin_pct"] = _div(out["gross_margin"], out["revenue"])
    out["revenue_per_partner"] = _div(out["revenue"], out["active_partners"])

    sales["sold"] = sales["revenue"] > 0
    by_partner = _agg(sales, list(dict.fromkeys(keys + ["partner_id"])), r=("revenue", "sum"), active=("sold", "any"))
    total = by_partner.groupby(keys)["r"].transform("sum") if keys else by_partner["r"].sum()
    by_partner["share"] = by_partner["r"] / total
    order = list(dict.fromkeys(keys + ["r", "partner_id"]))
    by_partner = by_partner.sort_values(order, ascending=[c != "r" for c in order])
    by_partner["rank"] = by_partner.groupby(keys).cumcount() + 1 if keys else np.arange(1, len(by_partner) + 1)
    # top-N share: N = min(5, active partners - 1), undefined for a cell with fewer than two active partners
    n_active = by_partner.groupby(keys)["active"].transform("sum") if keys else by_partner["active"].sum()
    by_partner["n"] = np.minimum(5, n_active - 1).astype(float)
    by_partner["n"] = by_partner["n"].where(by_partner["n"] >= 1)
    by_partner["top"] = by_partner["share"].where(by_partner["rank"] <= by_partner["n"], 0.0)
    by_partner["sq"] = by_partner["share"] ** 2
    conc = _agg(by_partner, keys, top_partner_share=("top", "sum"), top_partner_n=("n", "max"), hhi=("sq", "sum"))
    conc["top_partner_share"] = conc["top_partner_share"].where(conc["top_partner_n"].notna())
    out = _merge(out, conc, keys)

    if period:
        out["revenue_prev_period"] = _shift(out, keys, "revenue", STEP[period])
        out["growth_prev_period"] = _div(out["revenue"], out["revenue_prev_period"]) - 1
        out["revenue_prev_year"] = _shift(out, keys, "revenue", pd.DateOffset(years=1))
        out["growth_yoy"] = _div(out["revenue"], out["revenue_prev_year"]) - 1
    if dims:
        parent = dims[:-1] + (["period"] if period else [])
        total = out.groupby(parent)["revenue"].transform("sum") if parent else out["revenue"].sum()
        out["share_of_parent"] = _div(out["revenue"], total)

    def with_channels(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
        frame = frame.copy()
        frame[date_column] = pd.to_datetime(frame[date_column])
        frame["month"] = _period(frame[date_column], "month")
        if channels is not None:
            frame = frame.merge(channels, on="channel", how="left")
        if period:
            frame["period"] = _period(frame[date_column], period)
        return frame

    if set(by) <= CHANNEL_DIMS and "targets" in tables:
        targets = with_channels(tables["targets"], "period")
        monthly = sales.assign(month=_period(sales["date"], "month")).groupby(
            ["region", "channel", "month"])["revenue"].sum().rename("rev").reset_index()
        targets = targets.merge(monthly, on=["region", "channel", "month"], how="left")
        targets["rev"] = targets["rev"].fillna(0.0)
        agg = _agg(targets, keys, target_revenue=("target_revenue", "sum"), targeted_revenue=("rev", "sum"))
        out = _merge(out, agg, keys)
        out["target_attainment"] = _div(out["targeted_revenue"], out["target_revenue"])
        out["projected_revenue"] = out["targeted_revenue"]
        if period:
            as_of = sales["date"].max()
            end = out["period"] + STEP[period] - pd.Timedelta(days=1)
            running = (out["period"] <= as_of) & (end > as_of)
            scale = ((end - out["period"]).dt.days + 1) / ((as_of - out["period"]).dt.days + 1)
            out.loc[running, "projected_revenue"] = (out["targeted_revenue"] * scale)[running]
        out["projected_attainment"] = _div(out["projected_revenue"], out["target_revenue"])

    if set(by) <= CHANNEL_DIMS and "costs" in tables:
        costs = with_channels(tables["costs"], "period")
        wide = costs.pivot_table(index=keys or None, columns="cost_type", values="amount", aggfunc="sum",
                                 fill_value=0.0) if keys else costs.groupby("cost_type")["amount"].sum().to_frame().T
        wide.columns = [f"cost_{c}" for c in wide.columns]
        wide["channel_costs"] = wide.sum(axis=1)
        out = _merge(out, wide.reset_index() if keys else wide.reset_index(drop=True), keys)
        out["cost_to_serve"] = _div(out["channel_costs"], out["revenue"])
        out["contribution_margin"] = out["gross_margin"] - out["channel_costs"]
        out["contribution_margin_pct"] = _div(out["contribution_margin"], out["revenue"])
        out["channel_roi"] = _div(out["gross_margin"] - out["channel_costs"], out["channel_costs"])
        out["incentive_cost_pct"] = _div(out["cost_incentive"], out["revenue"])

    if set(by) <= CHANNEL_DIMS | {"partner"} and "feedback" in tables:
        fb = with_channels(tables["feedback"], "date")
        fb["promoter"] = (fb["score"] >= 9).astype(float)
        fb["detractor"] = (fb["score"] <= 6).astype(float)
        agg = _agg(fb, keys, promoter=("promoter", "mean"), detractor=("detractor", "mean"),
                   feedback_responses=("score", "count"))
        agg["feedback_score"] = 100.0 * (agg.pop("promoter") - agg.pop("detractor"))
        out = _merge(out, agg, keys)

    if set(by) <= CHANNEL_DIMS | {"partner", "product", "category"} and "inventory" in tables:
        inv = tables["inventory"].copy()
        inv["date"] = pd.to_datetime(inv["date"])
        if "partners" in tables:
            latest = tables["partners"][["partner_id", "region", "channel"]]
        else:
            latest = sales.sort_values("date").groupby("partner_id")[["region", "channel"]].last().reset_index()
        inv = inv.merge(latest, on="partner_id", how="left")
        if channels is not None:
            inv = inv.merge(channels, on="channel", how="left")
        if products is not None:
            inv = inv.merge(products[["product_id", "category"]], on="product_id", how="left")
        if period:
            inv["period"] = _period(inv["date"], period)
        last_day = inv.groupby(keys)["date"].transform("max") if keys else inv["date"].max()
        agg = _agg(inv, keys, sell_in_units=("sell_in_units", "sum"))
        stock = _agg(inv[inv["date"] == last_day], keys, on_hand_units=("on_hand_units", "sum"))
        sold = _agg(sales[sales["partner_id"].isin(set(inv["partner_id"]))], keys, sell_out_units=("units", "sum"))
        agg = _merge(_merge(agg, stock, keys), sold, keys)
        if period:
            span = sales.groupby("period")["date"].agg(lambda d: (d.max() - d.min()).days + 1).rename("days")
            days = agg["period"].map(span)
        else:
            days = (sales["date"].max() - sales["date"].min()).days + 1
        weeks = pd.Series(days, index=agg.index) / 7
        agg["weeks_of_supply"] = _div(agg["on_hand_units"], _div(agg["sell_out_units"], weeks))
        # standard sell-through: what sold out of what was there to sell (sold + closing stock, negative stock as 0)
        there = agg["sell_out_units"] + agg["on_hand_units"].clip(lower=0)
        agg["sell_through_rate"] = _div(agg["sell_out_units"], there.where(there > 0))
        agg["sell_out_to_sell_in"] = _div(agg["sell_out_units"], agg["sell_in_units"])
        out = _merge(out, agg, keys)

    if set(by) <= {"region", "category"} and "market" in tables:
        market = tables["market"].copy()
        if period:
            market["period"] = _period(market["period"], period)
        out = _merge(out, _agg(market, keys, market_size=("market_size", "sum")), keys)
        out["market_share"] = _div(out["revenue"], out["market_size"])
        if period:
            out["market_share_change"] = out["market_share"] - _shift(out, keys, "market_share", STEP[period])
    return out
