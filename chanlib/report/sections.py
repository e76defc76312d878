"""The sections of a region report: each reads its slice of stored results and returns what a cell displays.

A notebook cell is one line, ``display(*sections.headline(ctx))``: no business logic lives in notebooks. A section
whose input is absent returns a one-line note saying which table or column would enable it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.analytics import kpi, planning
from chanlib.analytics import period_evaluation as evaluation
from chanlib.analytics import product_fit as fit
from chanlib.analytics.segment import abc_xyz_matrix, region_sizes
from chanlib.build import ensure
from chanlib.config import Params, default_params_path, load_params
from chanlib.data import store
from chanlib.errors import DataError, MissingInput
from chanlib.report import narrative, plots
from chanlib.report.display import HTML, figure, markdown, note, table
from chanlib.report.narrative import (
    channel_kpi_sentence,
    esc,
    fit_recommendation_sentence,
    headline_sentence,
    mix_sentence,
    money,
    number,
    percent,
    trend_sentence,
    white_space_sentence,
)

log = logging.getLogger(__name__)


class PeriodArgs(TypedDict):
    """Keyword arguments of the period analyses: when a period counts as complete and as covered."""

    tolerance_days: int
    slack_days: int


@dataclass
class RegionContext:
    """Everything a region notebook needs: its region, the params and a read-only store connection."""

    region: str
    params: Params
    con: duckdb.DuckDBPyConnection
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.params.currency

    @property
    def period_args(self) -> PeriodArgs:
        """The params' notion of a complete and of a covered period, as keyword arguments of the analyses."""
        return {"tolerance_days": self.params.periods.complete_tolerance_days,
                "slack_days": self.params.periods.coverage_slack_days}


def open_region(region: str, params_path: str | Path | None = None,
                store_path: str | Path | None = None) -> RegionContext:
    """Open the store read-only for one region.

    Without ``store_path`` the store of the params file is used, and built first if it is missing or stale (so the
    notebook also runs on its own); with it, the given store is only read.
    """
    params = load_params(params_path or default_params_path())
    if store_path is None:
        ensure(params)
        store_path = params.store
    con = store.connect(store_path)
    known = store.regions(con)
    if region not in known:
        con.close()
        raise DataError(f"{store_path}: region {region!r} has no sales; regions: {', '.join(known)}")
    return RegionContext(region=region, params=params, con=con, meta=store.read_meta(con))


def title(ctx: RegionContext) -> list[Any]:
    """The report's title and what it covers."""
    head = store.read_result(ctx.con, "headline", ctx.region).iloc[0]
    end = pd.Timestamp(head["window_end"]).date()
    return [markdown(f"# {esc(ctx.region)}: channel report\n\n"
                     f"Data set **{esc(ctx.params.name)}**, sales up to **{end}**, amounts in {esc(ctx.currency)}.")]


def _card(label: str, value: str, detail: str = "") -> str:
    return (f'<div class="chanlib-card"><div class="chanlib-card-label">{esc(label)}</div>'
            f'<div class="chanlib-card-value">{esc(value)}</div>'
            f'<div class="chanlib-card-detail">{esc(detail)}</div></div>')


CARD_STYLE = """<style>
.chanlib-cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 12px}
.chanlib-card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;min-width:150px;background:#f8fafc}
.chanlib-card-label{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.chanlib-card-value{font-size:22px;font-weight:600;margin-top:2px}
.chanlib-card-detail{font-size:12px;color:#57606a}
</style>"""


def headline(ctx: RegionContext) -> list[Any]:
    """KPI cards (revenue, units, gross margin, growth) and a sentence on them."""
    row = store.read_result(ctx.con, "headline", ctx.region).iloc[0]
    missing = kpi.missing_inputs(ctx.con)
    cards = [_card("Revenue", money(row["revenue"], ctx.currency),
                   f"last {ctx.params.periods.window_months} months")]
    if "units" not in missing:
        cards.append(_card("Units", number(row["units"])))
    if "gross_margin" not in missing:
        cards.append(_card("Gross margin", money(row["gross_margin"], ctx.currency),
                           f"{percent(row['margin_pct'], signed=False)} of revenue"))
    cards.append(_card("Growth vs last year", percent(row["growth_yoy"]),
                       f"was {money(row['revenue_prev_year'], ctx.currency)}"))
    out: list[Any] = [HTML(CARD_STYLE + '<div class="chanlib-cards">' + "".join(cards) + "</div>"),
                      markdown(headline_sentence(row, ctx.currency, ctx.params.periods.window_months))]
    out += [note(f"{name.replace('_', ' ').capitalize()} is left out: {why}.") for name, why in missing.items()]
    return out


def monthly(ctx: RegionContext) -> list[Any]:
    """Monthly revenue by channel: a line chart and a sentence on the channel trends."""
    frame = store.read_result(ctx.con, "monthly_channel", ctx.region)
    if frame.empty:
        return [note("No sales in this region.")]
    frame["month"] = pd.to_datetime(frame["month"])
    return [figure(plots.monthly_revenue_by_channel(frame, ctx.currency)),
            markdown(trend_sentence(frame, ctx.currency))]


def mix(ctx: RegionContext) -> list[Any]:
    """Channel mix over the headline window: bars, a table and a sentence."""
    frame = store.read_result(ctx.con, "channel_mix", ctx.region)
    if frame.empty:
        return [note(f"No sales in the last {ctx.params.periods.window_months} months.")]
    shown = frame[["channel", "revenue", "share"]].sort_values("revenue", ascending=False)
    return [figure(plots.channel_mix(shown, ctx.currency)),
            markdown(mix_sentence(shown, ctx.region)),
            table(shown, money_columns=["revenue"], percent_columns=["share"], currency=ctx.currency)]


def about(ctx: RegionContext) -> list[Any]:
    """Where the numbers come from: inputs and the data-quality summary of the store build."""
    quality = pd.DataFrame(ctx.meta.get("quality", []))
    if quality.empty:
        return [note("The store records no data-quality summary.")]
    quality["file"] = quality["file"].map(lambda f: Path(f).name)
    shown = quality[["table", "file", "rows_read", "rows_kept", "rows_rejected", "reason", "count"]]
    return [markdown("Rows set aside at ingest are listed by reason; they are kept in the rejects folder next to "
                     "the store, never silently dropped."),
            table(shown)]


#: columns of the channel KPI table in the report, with how to show them
CHANNEL_KPI_COLUMNS = {
    "revenue": "money", "growth_yoy": "percent", "share_of_parent": "percent", "margin_pct": "percent",
    "active_partners": "number", "top5_partner_share": "percent", "target_attainment": "percent",
    "cost_to_serve": "percent", "channel_roi": "percent", "sell_through_rate": "percent",
    "weeks_of_supply": "number", "feedback_score": "number",
}


def channel_kpis(ctx: RegionContext) -> list[Any]:
    """Channel KPIs of the latest complete quarter: attainment and ROI charts, a KPI table and sentences."""
    frame = store.read_result(ctx.con, "kpi_region_channel_quarter", ctx.region)
    if frame.empty:
        return [note("No sales in this region.")]
    try:
        quarter = evaluation.latest_complete_period(ctx.con, "quarter", **ctx.period_args)
        start, label = pd.Timestamp(quarter.start), quarter.label
    except MissingInput:  # no complete quarter yet: show the running one
        start = pd.to_datetime(frame["period"]).max()
        label = f"{periods.label(start, 'quarter')} (so far)"
    current = frame[pd.to_datetime(frame["period"]) == start].sort_values("revenue", ascending=False)
    out: list[Any] = [markdown(channel_kpi_sentence(current, ctx.region, label))]
    if "target_attainment" in current and current["target_attainment"].notna().any():
        out.append(figure(plots.metric_bars(current, "target_attainment", f"Target attainment, {label}",
                                            reference=1.0)))
    if "channel_roi" in current and current["channel_roi"].notna().any():
        out.append(figure(plots.metric_bars(current, "channel_roi",
                                            f"Channel ROI, {label}: (gross margin - channel costs) / channel costs")))
    shown_columns = [c for c in CHANNEL_KPI_COLUMNS if c in current and current[c].notna().any()]
    shown = current[["channel", *shown_columns]].copy()
    for column in shown_columns:
        kind = CHANNEL_KPI_COLUMNS[column]
        if kind == "number":
            shown[column] = [number(v) if column != "weeks_of_supply" else
                             ("n/a" if pd.isna(v) else f"{v:.1f}") for v in shown[column]]
    money_columns = [c.replace("_", " ") for c in shown_columns if CHANNEL_KPI_COLUMNS[c] == "money"]
    percent_columns = [c.replace("_", " ") for c in shown_columns if CHANNEL_KPI_COLUMNS[c] == "percent"]
    out.append(table(shown.rename(columns=lambda c: c.replace("_", " ")), money_columns=money_columns,
                     percent_columns=percent_columns, currency=ctx.currency))
    out += [note(f"{item.replace('_', ' ').capitalize()}: left out because {why}.")
            for item, why in store.omitted(ctx.con, "kpi_region_channel_quarter").items() if item != "market"]
    return out


def _left_out(what: str, exc: MissingInput) -> list[Any]:
    return [note(f"{what} is left out: {exc.reason}.")]


def product_fit(ctx: RegionContext) -> list[Any]:
    """Category x channel share index (heatmap) and ranked grow/review recommendations with their numbers."""
    try:
        matrix = fit.fit_matrix(ctx.con, region=ctx.region, months=ctx.params.periods.window_months,
                                tolerance_days=ctx.params.periods.complete_tolerance_days)
    except MissingInput as exc:
        return _left_out("Product-channel fit", exc)
    if matrix.empty:
        return [note("No category sales in the window.")]
    recs = fit.recommendations(matrix, ctx.params.fit)
    out: list[Any] = [figure(plots.fit_heatmap(matrix))]
    if recs.empty:
        out.append(markdown("Every category sells in each channel roughly in line with its overall share: "
                            "no category stands out for growth or review."))
    else:
        out.append(markdown("\n".join("- " + fit_recommendation_sentence(r, ctx.currency) for _, r in recs.iterrows())))
        out.append(table(recs[["action", "category", "channel", "revenue", "expected_revenue", "gap", "share_index",
                               "margin_pct"]].round({"share_index": 2}),
                         money_columns=["revenue", "expected_revenue", "gap"], percent_columns=["margin_pct"],
                         currency=ctx.currency))
    return out


def regional_planning(ctx: RegionContext) -> list[Any]:
    """Coverage and penetration per channel, and the white-space cells with the most headroom."""
    try:
        settings, window = ctx.params.planning, ctx.params.periods
        cov = planning.coverage(ctx.con, region=ctx.region, months=window.window_months,
                                tolerance_days=window.complete_tolerance_days, partners_per=settings.partners_per)
        space = planning.white_space(ctx.con, top_n=settings.top_n, region=ctx.region, months=window.window_months,
                                     benchmark_quantile=settings.benchmark_quantile,
                                     tolerance_days=window.complete_tolerance_days)
    except MissingInput as exc:
        return _left_out("Regional planning", exc)
    out: list[Any] = []
    if not space.empty and (space["headroom"] > 0).any():
        shown = space[space["headroom"] > 0]
        out.append(figure(plots.white_space_bars(shown, ctx.currency)))
        out.append(markdown("\n".join("- " + white_space_sentence(r, ctx.currency) for _, r in shown.iterrows())))
    else:
        out.append(markdown(f"{esc(ctx.region)} is at or above the peer benchmark penetration in every channel."))
    shown = cov[["channel", "revenue", "market_size", "penetration", "active_partners", "partners_per_million"]].copy()
    shown["partners_per_million"] = shown["partners_per_million"].round(2)
    shown["active_partners"] = [number(v) for v in shown["active_partners"]]
    out.append(table(shown.rename(columns=lambda c: c.replace("_", " ")), money_columns=["revenue", "market size"],
                     percent_columns=["penetration"], currency=ctx.currency))
    return out


def period_evaluation(ctx: RegionContext) -> list[Any]:
    """The latest complete period (``evaluation.period``, default a quarter) against last year (or the previous
    period): what changed, volume vs mix."""
    grain = ctx.params.evaluation.period
    try:
        p = evaluation.latest_complete_period(ctx.con, grain, **ctx.period_args)
    except MissingInput as exc:
        return _left_out("The period evaluation", exc)
    against: Literal["last_year", "previous"] = "last_year" if p.ly_covered else "previous"
    base_label = p.ly_label if p.ly_covered else p.prev_label
    if against == "previous" and not p.prev_covered:
        return [note(f"The period evaluation is left out: the data do not cover the {grain} before {p.label}.")]
    comparison = evaluation.period_comparison(ctx.con, grain, region=ctx.region, **ctx.period_args)
    decomposition = evaluation.mix_volume_decomposition(ctx.con, grain, region=ctx.region, against=against,
                                                        **ctx.period_args)
    changes = narrative.key_changes(p, comparison, decomposition, against, ctx.region, ctx.currency,
                                    n=ctx.params.evaluation.key_changes)
    out: list[Any] = [markdown("\n\n".join(changes))]
    if not decomposition.empty:
        out.append(figure(plots.mix_volume_waterfall(decomposition, ctx.currency, base_label, p.label)))
        shown = decomposition[["channel", "revenue_base", "revenue", "volume_effect", "mix_effect"]].rename(
            columns={"revenue_base": base_label, "revenue": p.label, "volume_effect": "volume effect",
                     "mix_effect": "mix effect"})
        out.append(table(shown, money_columns=[base_label, p.label, "volume effect", "mix effect"],
                         currency=ctx.currency))
    return out


def segments(ctx: RegionContext) -> list[Any]:
    """Partner segments (computed once for all regions): sizes, profiles, a 2-D map, and the ABC x XYZ matrices."""
    if not store.has_result(ctx.con, "segment_partners"):
        reason = store.omitted(ctx.con, "segment_partners").get("*", "the store holds no partner segments")
        return [note(f"Segments are left out: {esc(reason)}.")]
    seg = store.read_result(ctx.con, "segment_partners")
    sizes = region_sizes(seg, ctx.region)
    if sizes.empty:
        return [note(f"Segments are left out: {esc(ctx.region)} has no partner with sales.")]
    profiles = store.read_result(ctx.con, "segment_profiles")
    names = dict(zip(profiles["segment_id"], profiles["segment_name"]))
    out: list[Any] = [markdown(narrative.segment_sentence(sizes, ctx.region)),
                      figure(plots.segment_sizes(sizes)),
                      markdown("Every segment's profile across all regions (medians of its partners):"),
                      table(narrative.profile_table(profiles), money_columns=narrative.PROFILE_MONEY,
                            percent_columns=narrative.PROFILE_PERCENT, currency=ctx.currency),
                      figure(plots.segment_profile(store.read_result(ctx.con, "segment_deviations"), names)),
                      figure(plots.segment_map(seg, ctx.region))]
    for what, table_name in (("partners", "abc_xyz_partners"), ("products", "abc_xyz_products")):
        if store.has_result(ctx.con, table_name):
            classes = store.read_result(ctx.con, table_name, ctx.region)
            if not classes.empty:
                out.append(figure(plots.abc_xyz_heatmap(abc_xyz_matrix(classes), what)))
    return out


def outlook(ctx: RegionContext) -> list[Any]:
    """The region's forecast and its channels', the chosen models, backtest accuracy and the accuracy history."""
    name = store.result_table("forecast")
    if not store.has_result(ctx.con, "forecast"):
        reason = store.omitted(ctx.con, "forecast").get("*", "the store holds no forecasts")
        return [note(f"The outlook is left out: {reason}.")]
    nodes = store.read_result(ctx.con, "forecast_nodes")
    if "region" not in nodes:
        return [note("The outlook is left out: the forecast hierarchy has no region level.")]
    wanted = nodes[(nodes["region"] == ctx.region) & nodes["level"].isin(["region", "channel"])]["unique_id"].tolist()
    if not wanted:
        return [note(f"The outlook is left out: {esc(ctx.region)} is not in the forecast hierarchy.")]
    forecasts = ctx.con.execute(f"SELECT * FROM {name} WHERE unique_id IN (SELECT unnest(?))", [wanted]).df()
    actuals = ctx.con.execute("SELECT * FROM result_forecast_actuals WHERE unique_id IN (SELECT unnest(?))",
                              [wanted]).df()
    order = {uid: i for i, uid in enumerate(wanted)}
    forecasts = forecasts.sort_values(["unique_id", "ds"], key=lambda c: c.map(order) if c.name == "unique_id" else c)
    region_rows = forecasts[forecasts["unique_id"] == ctx.region]
    cutoff = pd.Timestamp(forecasts["cutoff"].iloc[0]).date()
    horizon = forecasts["ds"].nunique()
    last_year = actuals[(actuals["unique_id"] == ctx.region)].sort_values("ds").tail(horizon)["y"].sum()
    level = ctx.params.forecast.levels[0]
    text = (f"With sales up to {cutoff}, **{esc(ctx.region)}** is forecast to sell "
            f"**{money(region_rows['yhat'].sum(), ctx.currency)}** in the next {horizon} months "
            f"({percent(region_rows['yhat'].sum() / last_year - 1) if last_year else 'n/a'} on the last {horizon}); "
            f"the {level}% interval of a single month is shown as a band. Forecasts add up: the channels sum to the "
            f"region, the regions to the total ({esc(forecasts['reconciliation'].iloc[0])} reconciliation).")
    out: list[Any] = [markdown(text), figure(plots.forecast_panels(actuals, forecasts, ctx.currency, level=level))]
    selection = store.read_result(ctx.con, "forecast_selection")
    chosen = selection[selection["unique_id"].isin(wanted)][["unique_id", "model", "flag", "score", "n_obs"]]
    chosen = chosen.rename(columns={"unique_id": "series", "score": f"backtest {ctx.params.forecast.metric}",
                                    "n_obs": "months of history"}).round(2)
    coverage = store.read_result(ctx.con, "forecast_coverage")
    selected = coverage[coverage["model"] == "selected"]
    if len(selected):
        parts = ", ".join(f"{percent(r.coverage, signed=False)} of actuals inside the {int(r.level)}% interval"
                          for r in selected.itertuples())
        out.append(markdown(f"In the backtest (all series of the run), {parts} (after calibration)."))
    out.append(table(chosen))
    accuracy = store.read_result(ctx.con, "forecast_accuracy")
    if accuracy.empty:
        out.append(note("Accuracy history starts with the next run: each run keeps its forecasts and scores them "
                        "against the actuals that arrive later."))
    else:
        summary = accuracy.groupby(["cutoff", "level"], as_index=False).apply(
            lambda g: pd.Series({"smape": (g["smape"] * g["n"]).sum() / g["n"].sum(), "n": g["n"].sum()}),
            include_groups=False)
        out.append(figure(plots.accuracy_history(summary)))
        out.append(table(summary.round(2)))
    return out
