"""The KPI cube written in plain pandas, as a competent pandas user would: the baseline of ``bench/kpi.py`` and the
independent computation that ``tests/test_kpi.py`` cross-checks :func:`chanlib.analytics.kpi.kpi_table` against.

It shares no code with chanlib: inputs are the canonical tables as DataFrames (read from the demo's files). It does
only what the grouping needs: the channels and products tables are joined only for a grouping by their attributes,
the period column is computed once (numpy month arithmetic on ``datetime64``), each family is computed only when the
grouping allows it, and the 10M-row sales table is aggregated twice (by cell, and by cell and partner); everything
after that works on the small aggregates. :func:`needed_columns` names the columns it reads, so a caller reads only
those; string keys may be ``object``, pyarrow strings or categoricals (every groupby is ``observed=True``,
``sort=False``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

DIMENSIONS = {"region": "region", "channel": "channel", "channel_type": "channel_type", "model": "model",
              "market": "market", "partner": "partner_id", "product": "product_id", "category": "category"}
STEP = {"month": pd.DateOffset(months=1), "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}
CHANNEL_ATTRS = ("channel_type", "model", "market")
CHANNEL_DIMS = {"region", "channel", "channel_type", "model", "market"}
FAMILY_DIMS = {"targets": CHANNEL_DIMS, "costs": CHANNEL_DIMS, "feedback": CHANNEL_DIMS | {"partner"},
               "inventory": CHANNEL_DIMS | {"partner", "product", "category"}, "market": {"region", "category"}}


def needed_columns(by: list[str]) -> dict[str, list[str]]:
    """Table -> the columns :func:`kpi_cube` reads for grouping ``by`` (a table it does not need is absent)."""
    attrs = [a for a in CHANNEL_ATTRS if a in by]
    product = bool({"product", "category"} & set(by))
    out = {"sales": ["date", "region", "channel", "partner_id", "order_id", "units", "revenue", "cost"]
                    + (["product_id"] if product else [])}
    if attrs:
        out["channels"] = ["channel", *attrs]
    if "category" in by:
        out["products"] = ["product_id", "category"]
    applies = {family for family, dims in FAMILY_DIMS.items() if set(by) <= dims}
    if "targets" in applies:
        out["targets"] = ["period", "region", "channel", "target_revenue"]
    if "costs" in applies:
        out["costs"] = ["period", "region", "channel", "cost_type", "amount"]
    if "feedback" in applies:
        out["feedback"] = ["date", "region", "channel", "score"] + (["partner_id"] if "partner" in by else [])
    if "inventory" in applies:
        out["inventory"] = ["date", "partner_id", "on_hand_units", "sell_in_units"]
        out["inventory"] += ["product_id"] if product else []
        out["partners"] = ["partner_id", "region", "channel"]
    if "market" in applies:
        out["market"] = ["period", "region", "category", "market_size"]
    return out


def _period(dates: pd.Series, period: str) -> pd.Series:
    """The first day of each date's month, quarter or year (``datetime64[ns]``)."""
    months = pd.to_datetime(dates).to_numpy().astype("datetime64[M]")
    if period == "quarter":
        months = months - months.astype("int64") % 3  # months since 1970-01, a quarter's first month
    starts = months.astype("datetime64[Y]") if period == "year" else months
    return pd.Series(starts.astype("datetime64[ns]"), index=dates.index)


def _div(a, b) -> pd.Series:
    a = pd.Series(a, dtype="float64")
    b = pd.Series(b, dtype="float64", index=a.index)
    return a / b.where(b != 0)


def _agg(frame: pd.DataFrame, keys: list[str], **named) -> pd.DataFrame:
    if keys:
        return frame.groupby(keys, dropna=False, observed=True, sort=False).agg(**named).reset_index()
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


def _with_attributes(frame: pd.DataFrame, tables: dict[str, pd.DataFrame], by: list[str]) -> pd.DataFrame:
    """``frame`` (a shallow copy) with the channel attributes and the category that ``by`` groups by, and only those
    (looked up by key: both tables have one row per key)."""
    frame = frame.copy(deep=False)  # the new columns stay off the caller's frame
    for attr in [a for a in CHANNEL_ATTRS if a in by]:
        frame[attr] = frame["channel"].map(tables["channels"].set_index("channel")[attr])
    if "category" in by:
        frame["category"] = frame["product_id"].map(tables["products"].set_index("product_id")["category"])
    return frame


def kpi_cube(tables: dict[str, pd.DataFrame], by: list[str], period: str | None) -> pd.DataFrame:
    """The KPIs of :func:`chanlib.analytics.kpi.kpi_table` for ``by`` and ``period`` (same column names)."""
    dims = [DIMENSIONS[b] for b in by]
    keys = dims + (["period"] if period else [])
    sales = _with_attributes(tables["sales"], tables, by)
    sales["date"] = pd.to_datetime(sales["date"])
    if period:
        sales["period"] = _period(sales["date"], period)
    sales["margin"] = sales["revenue"] - sales["cost"]

    # the two passes over the sales lines: by cell, and by cell and partner
    out = _agg(sales, keys, revenue=("revenue", "sum"), units=("units", "sum"), orders=("order_id", "nunique"),
               gross_margin=("margin", "sum"), first_day=("date", "min"), last_day=("date", "max"))
    with_partner = list(dict.fromkeys(keys + ["partner_id"]))
    sales["sold"] = sales["revenue"] > 0
    has_partner = sales["partner_id"].notna()
    by_partner = _agg(sales if has_partner.all() else sales[has_partner], with_partner,
                      r=("revenue", "sum"), active=("sold", "any"), units=("units", "sum"))
    active = by_partner[by_partner["active"]]
    n_active = (active.groupby(keys, dropna=False, observed=True, sort=False).size().rename("active_partners")
                .reset_index() if keys else pd.DataFrame({"active_partners": [len(active)]}))
    out = _merge(out, n_active, keys)
    out["active_partners"] = out["active_partners"].fillna(0)
    out["average_order_value"] = _div(out["revenue"], out["orders"])
    out["margin_pct"] = _div(out["gross_margin"], out["revenue"])
    out["revenue_per_partner"] = _div(out["revenue"], out["active_partners"])

    group = by_partner.groupby(keys, dropna=False, observed=True, sort=False) if keys else None
    total = group["r"].transform("sum") if group is not None else by_partner["r"].sum()
    by_partner["share"] = by_partner["r"] / total
    # rank within the cell: revenue descending, ties by partner id (as text, whatever the key's dtype)
    by_partner["pid"] = by_partner["partner_id"].astype(str)
    by_partner = by_partner.sort_values(["r", "pid"], ascending=[False, True])
    group = by_partner.groupby(keys, dropna=False, observed=True, sort=False) if keys else None
    by_partner["rank"] = group.cumcount() + 1 if group is not None else np.arange(1, len(by_partner) + 1)
    # top-N share: N = min(5, active partners - 1), undefined for a cell with fewer than two active partners
    n_active_cell = group["active"].transform("sum") if group is not None else by_partner["active"].sum()
    by_partner["n"] = np.minimum(5, n_active_cell - 1).astype(float)
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
        total = (out.groupby(parent, dropna=False, observed=True, sort=False)["revenue"].transform("sum") if parent
                 else out["revenue"].sum())
        out["share_of_parent"] = _div(out["revenue"], total)

    def channel_fact(name: str, date_column: str) -> pd.DataFrame:
        frame = _with_attributes(tables[name], tables, by)
        frame[date_column] = pd.to_datetime(frame[date_column])
        if name == "targets":
            frame["month"] = _period(frame[date_column], "month")
        if period:
            frame["period"] = _period(frame[date_column], period)
        return frame

    applies = {family for family, family_dims in FAMILY_DIMS.items() if set(by) <= family_dims and family in tables}
    if "targets" in applies:
        targets = channel_fact("targets", "period")
        # revenue per region, channel and month: from the cube when it is at least that fine, else from the lines
        if period == "month" and {"region", "channel"} <= set(dims):
            monthly = out.groupby(["region", "channel", "period"], observed=True, sort=False)["revenue"].sum()
        else:
            month = sales["period"] if period == "month" else _period(sales["date"], "month")
            monthly = sales.groupby([sales["region"], sales["channel"], month.rename("period")], observed=True,
                                    sort=False)["revenue"].sum()
        monthly = monthly.rename("rev").reset_index().rename(columns={"period": "month"})
        targets = targets.merge(monthly, on=["region", "channel", "month"], how="left")
        targets["rev"] = targets["rev"].fillna(0.0)
        agg = _agg(targets, keys, target_revenue=("target_revenue", "sum"), targeted_revenue=("rev", "sum"))
        out = _merge(out, agg, keys)
        out["target_attainment"] = _div(out["targeted_revenue"], out["target_revenue"])
        out["projected_revenue"] = out["targeted_revenue"]
        if period:
            as_of = out["last_day"].max()
            end = out["period"] + STEP[period] - pd.Timedelta(days=1)
            running = (out["period"] <= as_of) & (end > as_of)
            scale = ((end - out["period"]).dt.days + 1) / ((as_of - out["period"]).dt.days + 1)
            out.loc[running, "projected_revenue"] = (out["targeted_revenue"] * scale)[running]
        out["projected_attainment"] = _div(out["projected_revenue"], out["target_revenue"])

    if "costs" in applies:
        costs = channel_fact("costs", "period")
        wide = costs.pivot_table(index=keys or None, columns="cost_type", values="amount", aggfunc="sum",
                                 fill_value=0.0, observed=True) if keys else (
            costs.groupby("cost_type", observed=True)["amount"].sum().to_frame().T)
        wide.columns = [f"cost_{c}" for c in wide.columns]
        wide["channel_costs"] = wide.sum(axis=1)
        out = _merge(out, wide.reset_index() if keys else wide.reset_index(drop=True), keys)
        out["cost_to_serve"] = _div(out["channel_costs"], out["revenue"])
        out["contribution_margin"] = out["gross_margin"] - out["channel_costs"]
        out["contribution_margin_pct"] = _div(out["contribution_margin"], out["revenue"])
        out["channel_roi"] = _div(out["gross_margin"] - out["channel_costs"], out["channel_costs"])
        out["incentive_cost_pct"] = _div(out["cost_incentive"], out["revenue"])

    if "feedback" in applies:
        fb = channel_fact("feedback", "date")
        fb["promoter"] = (fb["score"] >= 9).astype(float)
        fb["detractor"] = (fb["score"] <= 6).astype(float)
        agg = _agg(fb, keys, promoter=("promoter", "mean"), detractor=("detractor", "mean"),
                   feedback_responses=("score", "count"))
        agg["feedback_score"] = 100.0 * (agg.pop("promoter") - agg.pop("detractor"))
        out = _merge(out, agg, keys)

    if "inventory" in applies:
        # each partner's region and channel: from the partners table, else from its latest sale
        if "partners" in tables:
            home = tables["partners"].set_index("partner_id")[["region", "channel"]]
        else:
            home = sales.sort_values("date").groupby("partner_id", observed=True)[["region", "channel"]].last()
        inv = tables["inventory"].copy(deep=False)
        for column in ("region", "channel"):
            inv[column] = inv["partner_id"].map(home[column])
        inv = _with_attributes(inv, tables, by)
        inv["date"] = pd.to_datetime(inv["date"])
        if period:
            inv["period"] = _period(inv["date"], period)
        last_day = (inv.groupby(keys, dropna=False, observed=True, sort=False)["date"].transform("max") if keys
                    else inv["date"].max())
        agg = _agg(inv, keys, sell_in_units=("sell_in_units", "sum"))
        stock = _agg(inv[inv["date"] == last_day], keys, on_hand_units=("on_hand_units", "sum"))
        stocked = by_partner[by_partner["partner_id"].isin(set(inv["partner_id"]))]
        sold_out = _agg(stocked, keys, sell_out_units=("units", "sum"))
        agg = _merge(_merge(agg, stock, keys), sold_out, keys)
        if period:
            span = out.groupby("period")[["first_day", "last_day"]].agg({"first_day": "min", "last_day": "max"})
            days = agg["period"].map((span["last_day"] - span["first_day"]).dt.days + 1)
        else:
            days = (out["last_day"].max() - out["first_day"].min()).days + 1
        weeks = pd.Series(days, index=agg.index) / 7
        agg["weeks_of_supply"] = _div(agg["on_hand_units"], _div(agg["sell_out_units"], weeks))
        # standard sell-through: what sold out of what was there to sell (sold + closing stock, negative stock as 0)
        there = agg["sell_out_units"] + agg["on_hand_units"].clip(lower=0)
        agg["sell_through_rate"] = _div(agg["sell_out_units"], there.where(there > 0))
        agg["sell_out_to_sell_in"] = _div(agg["sell_out_units"], agg["sell_in_units"])
        out = _merge(out, agg, keys)

    if "market" in applies:
        market = tables["market"].copy(deep=False)
        if period:
            market["period"] = _period(market["period"], period)
        out = _merge(out, _agg(market, keys, market_size=("market_size", "sum")), keys)
        out["market_share"] = _div(out["revenue"], out["market_size"])
        if period:
            out["market_share_change"] = out["market_share"] - _shift(out, keys, "market_share", STEP[period])
    for dim in dims:  # a missing key (e.g. a channel the channels table lacks) is None, as in chanlib's cube
        out[dim] = out[dim].astype(object).where(out[dim].notna(), None)
    return out.drop(columns=["first_day", "last_day"])
