"""The sections of a region report: each reads its slice of stored results and returns what a cell displays.

A notebook cell is one line, ``display(*sections.headline(ctx))``: no business logic lives in notebooks. A section
whose input is absent returns a one-line note saying which table or column would enable it.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypedDict

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.analytics import definitions, kpi, planning
from chanlib.analytics import period_evaluation as evaluation
from chanlib.analytics import product_fit as fit
from chanlib.analytics.partners import incentives as partner_incentives
from chanlib.analytics.partners.tiers import tier_reason
from chanlib.analytics.segment import abc_xyz_matrix, region_sizes
from chanlib.build import ensure
from chanlib.config import Params, default_params_path, load_params
from chanlib.data import store
from chanlib.errors import DataError, MissingInput
from chanlib.report import narrative, plots
from chanlib.report.display import HTML, Labels, figure, markdown, note, omitted, shared_figure, table
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
    #: analyses already run for this region (:func:`shared`): the summary and the sections use the same results
    cache: dict[tuple, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def currency(self) -> str:
        return self.params.currency

    @property
    def period_args(self) -> PeriodArgs:
        """The params' notion of a complete and of a covered period, as keyword arguments of the analyses."""
        return {"tolerance_days": self.params.periods.complete_tolerance_days,
                "slack_days": self.params.periods.coverage_slack_days}

    @property
    def margin_from_profit(self) -> bool:
        """Whether the margin is the export's profit (``sales.profit`` mapped, ``cost`` not): then the report says
        "profit" / "profit margin" where it would say "gross margin" (:func:`definitions.margin_from_profit`)."""
        return definitions.margin_from_profit(self.params)

    @cached_property
    def labels(self) -> Labels:
        """Display names of channels and columns (``params.display``, else readable defaults)."""
        return Labels.from_params(self.params)

    @cached_property
    def palette(self) -> dict[str, plots.RGB]:
        """The run's channel colours, from every channel of the store (:func:`all_channels`): the same in every
        chart of every region's report."""
        return plots.channel_palette(all_channels(self.con))

    @cached_property
    def windows(self) -> Windows:
        """The as-of date and the window each section covers."""
        return windows(self)

    @cached_property
    def short(self) -> bool:
        """Whether the region sold less than ``report.min_region_share`` of all regions' revenue in the window: its
        report is the short form (title, headline, monthly chart, data quality and a note saying why) and the index
        groups it under "Other" (:func:`chanlib.analytics.kpi.small_regions`)."""
        heads = store.read_result(self.con, "headline")
        return self.region in kpi.small_regions(heads, self.params.report.min_region_share)


def all_channels(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every channel of the run, sorted: those with sales and those in the ``channels`` table."""
    names = {str(c) for (c,) in con.execute("SELECT DISTINCT channel FROM sales").fetchall() if c is not None}
    if store.has_table(con, "channels"):
        names |= {str(c) for (c,) in con.execute("SELECT DISTINCT channel FROM channels").fetchall()
                  if c is not None}
    return sorted(names)


@dataclass(frozen=True)
class Windows:
    """The one as-of date (the last sale) and, in words, the window of each kind of section."""

    as_of: pd.Timestamp
    #: the trailing window (headline, channel mix)
    trailing: str
    #: the last complete months (product fit, regional planning)
    months: str
    #: the latest complete quarter (channel KPIs)
    quarter: str
    #: the evaluated period (period evaluation)
    evaluation: str
    #: the history and horizon of the outlook
    outlook: str
    #: the partner features and ABC/XYZ classes (segments)
    segments: str
    #: the as-of month when it is partial (the monthly chart marks it), else None
    partial_month: pd.Timestamp | None


def _complete_label(ctx: RegionContext, grain: str, as_of: pd.Timestamp) -> str:
    """The latest complete ``grain`` and its comparison, in words (or the running one when none is complete)."""
    try:
        p = evaluation.latest_complete_period(ctx.con, grain, **ctx.period_args)
    except MissingInput:
        return f"{periods.label(periods.period_start(as_of, grain), grain)} so far (no complete {grain} yet)"
    against = f", against {p.ly_label}" if p.ly_covered else (f", against {p.prev_label}" if p.prev_covered else "")
    return f"{p.label}, the latest complete {grain}{against}"


def windows(ctx: RegionContext) -> Windows:
    """The as-of date and every section's window for ``ctx`` (see :mod:`chanlib.periods`)."""
    settings = ctx.params.periods
    as_of = store.date_bounds(ctx.con)[1].normalize()
    start, end = periods.trailing_window(as_of, settings.window_months)
    trailing = f"the {settings.window_months} months {start.date()} to {end.date()}"
    first, last = periods.complete_months(as_of, settings.window_months, settings.complete_tolerance_days)
    months = (f"the {settings.window_months} complete months {periods.label(first, 'month')} to "
              f"{periods.label(last, 'month')}")
    through = periods.latest_complete(as_of, "month", settings.complete_tolerance_days)[0]
    horizon = ctx.params.forecast.horizon
    seg_start, _ = periods.trailing_window(as_of, ctx.params.segment.window_months)
    xyz_first = through - pd.DateOffset(months=ctx.params.segment.xyz_months - 1)
    return Windows(
        as_of=as_of,
        trailing=trailing,
        months=months,
        quarter=_complete_label(ctx, "quarter", as_of),
        evaluation=_complete_label(ctx, ctx.params.evaluation.period, as_of),
        outlook=(f"monthly revenue up to {periods.label(through, 'month')} (the last complete month), forecast for "
                 f"the next {horizon} months"),
        segments=(f"partner features over {seg_start.date()} to {as_of.date()}; ABC/XYZ classes over "
                  f"{periods.label(xyz_first, 'month')} to {periods.label(through, 'month')}"),
        partial_month=(periods.period_start(as_of, "month")
                       if periods.is_partial(as_of, "month", settings.complete_tolerance_days) else None),
    )


def _window(text: str) -> Any:
    """A section's first line: the window it covers."""
    return note(f"Window: {text}.")


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
    """The report's title and the one as-of date; the summary comes right after it, the window of every section in
    "About the data" at the end (:func:`windows_table`), as each section states its own."""
    return [markdown(f"# {esc(ctx.region)}: channel report\n\n"
                     + narrative.as_of_sentence(ctx.params.name, ctx.windows.as_of, ctx.currency,
                                                ctx.params.periods.complete_tolerance_days)
                     + " Each section states its window (all of them: [About the data](#About-the-data)). "
                     + narrative.definitions_link())]


def windows_table(ctx: RegionContext) -> list[Any]:
    """The window of every section, as a table."""
    w = ctx.windows
    monthly_window = "every month with sales"
    if w.partial_month is not None:
        monthly_window += (f"; {periods.label(w.partial_month, 'month')} is partial (sales to the "
                           f"{narrative.ordinal(w.as_of.day)}) and marked")
    rows = [("Headline, channel mix", f"{w.trailing}, against the same months a year earlier"),
            ("Monthly revenue by channel", monthly_window),
            ("Channel KPIs", w.quarter),
            ("Product fit, regional planning", w.months),
            ("Period evaluation", w.evaluation),
            ("Outlook", w.outlook),
            ("Segments", w.segments)]
    partners_window = _partners_window(ctx)
    if partners_window is not None:
        rows.append(("Partners", partners_window))
    if ctx.params.alerts.enabled:
        rows.insert(0, ("Early warnings", _alerts_window(ctx)))
    return [markdown(narrative.windows_table(rows))]


#: the alert columns the Early warnings table shows, and their headers (each rule's response is listed once below)
ALERT_TABLE = {"state": "State", "severity": "Severity", "rule": "Alert", "entity": "Where", "since": "Since",
               "evidence": "Evidence"}
#: at most this many alerts are listed in a report (new first, then by severity); ``chanlib alerts`` lists them all
ALERT_ROWS = 30
ALERT_STYLE = """<style>
.chanlib-alerts .chanlib-table td,.chanlib-alerts .chanlib-table th,.chanlib-alerts .chanlib-table tr{text-align:left;
vertical-align:top}
.chanlib-alerts .chanlib-table td:nth-child(-n+3),.chanlib-alerts .chanlib-table td:nth-child(5),
.chanlib-alerts .chanlib-table th{white-space:nowrap}
.chanlib-alerts .chanlib-table td:nth-child(4){min-width:12em}
</style>"""


def _alerts_window(ctx: RegionContext) -> str:
    """The window of the Early warnings, in words."""
    w = ctx.windows
    start = periods.trailing_window(w.as_of, ctx.params.alerts.lookback_months)[0]
    month = periods.latest_complete(w.as_of, "month", ctx.params.periods.complete_tolerance_days)[0]
    return (f"rules as of {periods.label(month, 'month')} (the latest complete month) and the latest stock and "
            f"contract dates; anomalies and level shifts dated {start.date()} to {w.as_of.date()}")


def _alert_entity(ctx: RegionContext, row: pd.Series) -> str:
    """An alert's entity with the channel's display name."""
    entity, channel = str(row["entity"]), str(row.get("channel") or "")
    return entity.replace(f" / {channel}", f" / {ctx.labels.channel(channel)}", 1) if channel else entity


def early_warnings(ctx: RegionContext) -> list[Any]:
    """What needs attention now (computed once per build, :mod:`chanlib.analytics.alerts`): the region's alerts,
    new first, then by severity, with since when, the evidence and the agreed response; a small chart of the
    series, its expected range (or threshold) and the point that fired for each critical alert; and which rules
    could not be checked."""
    from chanlib.analytics.alerts import order

    if not store.has_result(ctx.con, "alerts"):
        reason = store.omitted(ctx.con, "alerts").get("*", "the store holds no alerts")
        return [note(f"Early warnings are left out: {esc(reason)}.")]
    frame = order(store.read_result(ctx.con, "alerts", ctx.region))
    left_out = {k: v for k, v in store.omitted(ctx.con, "alerts").items() if k != "*"}
    out: list[Any] = [_window(f"{_alerts_window(ctx)}; state against the previous build of the store"),
                      markdown(narrative.alerts_sentence(frame, ctx.region))]
    if len(frame):
        listed = frame.head(ALERT_ROWS)
        shown = listed[list(ALERT_TABLE)].copy()
        shown["rule"] = [narrative.alert_rule_label(r) for r in shown["rule"]]
        shown["entity"] = [_alert_entity(ctx, row) for _, row in listed.iterrows()]
        shown["since"] = [str(pd.Timestamp(d).date()) if pd.notna(d) else "" for d in shown["since"]]
        rendered = table(shown.rename(columns=ALERT_TABLE), labels=ctx.labels).data
        out.append(HTML(f'{ALERT_STYLE}<div class="chanlib-alerts">{rendered}</div>'))
        if len(frame) > ALERT_ROWS:
            rest = frame.iloc[ALERT_ROWS:]
            out.append(note(f"{len(rest)} more alert{'s' if len(rest) != 1 else ''} not listed here ("
                            + ", ".join(f"{n} {s}" for s, n in rest["severity"].value_counts().items())
                            + "): `chanlib alerts --out FILE` lists every alert."))
        responses = listed.drop_duplicates("rule")
        out.append(markdown("**Agreed responses**\n\n" + "\n".join(
            f"- *{esc(narrative.alert_rule_label(r.rule))}*: {esc(r.response)}" for r in responses.itertuples())))
        critical = frame[(frame["severity"] == "critical") & (frame["state"] != "resolved")]
        if len(critical) and store.has_result(ctx.con, "alert_series"):
            series = ctx.con.execute(f"SELECT * FROM {store.result_table('alert_series')} "
                                     "WHERE alert_id IN (SELECT unnest(?))", [critical["alert_id"].tolist()]).df()
            for _, alert in critical.iterrows():
                behind = series[series["alert_id"] == alert["alert_id"]]
                if behind.empty:
                    continue
                title = f"{narrative.alert_rule_label(alert['rule'])}: {_alert_entity(ctx, alert)}"
                out.append(figure(plots.alert_chart(behind, {**alert.to_dict(), "title": title}, ctx.currency,
                                                    ctx.labels)))
    sentence = narrative.alerts_left_out_sentence(left_out)
    if sentence:
        out.append(note(sentence))
    return out


#: sections a short report (a region below ``report.min_region_share``, see :attr:`RegionContext.short`) leaves out
SHORT_FORM_OMITS: tuple[str, ...] = ("mix", "channel_kpis", "product_fit", "regional_planning", "period_evaluation",
                                     "outlook", "segments", "partners")


def _full_report_only(section: Callable[[RegionContext], list[Any]]) -> Callable[[RegionContext], list[Any]]:
    """A section a short report leaves out: there it shows only the :func:`~chanlib.report.display.omitted`
    marker, which the HTML export drops together with the section's heading."""

    @functools.wraps(section)
    def wrapper(ctx: RegionContext) -> list[Any]:
        return [omitted()] if ctx.short else section(ctx)

    return wrapper


def short_form_note(ctx: RegionContext) -> str:
    """Why a short report leaves most sections out (Markdown, escaped)."""
    heads = store.read_result(ctx.con, "headline")
    total = float(heads["revenue"].sum())
    own = float(heads.loc[heads["region"] == ctx.region, "revenue"].sum())
    share = ("n/a" if total <= 0 else "less than 0.1%" if own / total < 0.001 else percent(own / total, signed=False))
    return (f"**A short report.** {esc(ctx.region)} sold {money(own, ctx.currency)} in the window, {share} of all "
            f"regions' revenue, below the {percent(ctx.params.report.min_region_share, signed=False)} from which a "
            f"region gets the full report (`report.min_region_share`). On so little revenue channel mix, channel "
            f"KPIs, product fit, planning, the period evaluation, the outlook, segments and partners would mostly "
            f"show noise, so they are left out; the index lists this region under \"Other\".")


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
        cards.append(_card(definitions.label("gross_margin", ctx.margin_from_profit),
                           money(row["gross_margin"], ctx.currency),
                           f"{percent(row['margin_pct'], signed=False)} of revenue"))
    reason = narrative.growth_reason(row["growth_yoy"], row.get("revenue_prev_year"), row.get("months_prev_year"),
                                     ctx.params.periods, ctx.currency, "the same months a year earlier",
                                     ctx.params.periods.window_months)
    cards.append(_card("Growth vs last year", percent(row["growth_yoy"]),
                       f"was {money(row['revenue_prev_year'], ctx.currency)}") if reason is None else
                 _card("Growth vs last year", "too little data", reason[:1].upper() + reason[1:]))
    returns = row.get("returns", 0.0)
    if pd.notna(returns) and returns > 0:  # revenue is net: show gross sales and returns beside it
        cards.insert(1, _card("Returns", money(returns, ctx.currency),
                              f"of gross sales {money(row['gross_revenue'], ctx.currency)}"))
    out: list[Any] = [_window(f"{ctx.windows.trailing}, against the same months a year earlier"),
                      HTML(CARD_STYLE + '<div class="chanlib-cards">' + "".join(cards) + "</div>"),
                      markdown(headline_sentence(row, ctx.currency, ctx.params.periods.window_months,
                                                 margin_from_profit=ctx.margin_from_profit,
                                                 growth_settings=ctx.params.periods))]
    if pd.notna(returns) and returns > 0:
        out.append(markdown(narrative.returns_sentence(row["gross_revenue"], returns, row["revenue"], ctx.currency)))
    out += [note(f"{_kpi_name(ctx, name)} is left out: {why}.") for name, why in missing.items()]
    if ctx.short:
        out.append(markdown(short_form_note(ctx)))
    return out


def monthly(ctx: RegionContext) -> list[Any]:
    """Monthly revenue by channel: every month from the region's first sale to the as-of month (months without
    sales as zero, a partial last month marked), and a sentence on the channel trends."""
    frame = store.read_result(ctx.con, "monthly_channel", ctx.region)
    if frame.empty:
        return [note("No sales in this region.")]
    frame["month"] = pd.to_datetime(frame["month"])
    w = ctx.windows
    first, last = frame["month"].min(), periods.period_start(w.as_of, "month")
    span = (periods.label(first, "month") if first == last
            else f"every month from {periods.label(first, 'month')} to {periods.label(last, 'month')}")
    partial = w.as_of if w.partial_month is not None else None
    out: list[Any] = [_window(span + ("; months without sales count as zero" if first != last else "")),
                      figure(plots.monthly_revenue_by_channel(frame, ctx.currency, ctx.palette, ctx.labels,
                                                              months=(first, last), partial_to=partial))]
    if partial is not None:
        out.append(markdown(narrative.partial_month_sentence(periods.label(last, "month"), partial,
                                                             "hatched" if first == last else "dashed")))
    complete = frame[frame["month"] < last] if partial is not None else frame  # a cut-off month is no trend
    out.append(markdown(trend_sentence(ctx.labels.named(complete), ctx.currency)))
    return out


@_full_report_only
def mix(ctx: RegionContext) -> list[Any]:
    """Channel mix over the headline window: bars, a table and a sentence; with returns, each channel's gross
    revenue, returns and net revenue, and its share of gross revenue (never a negative share)."""
    frame = store.read_result(ctx.con, "channel_mix", ctx.region)
    if frame.empty:
        return [note(f"No sales in the last {ctx.params.periods.window_months} months.")]
    has_returns = "returns" in frame and bool((frame["returns"] > 0).any())
    columns = ["channel", "revenue", "share"] + (["gross_revenue", "returns"] if has_returns else [])
    shown = frame[columns].sort_values("revenue", ascending=False)
    out: list[Any] = [_window(ctx.windows.trailing),
                      figure(plots.channel_mix(shown, ctx.currency, ctx.palette, ctx.labels)),
                      markdown(mix_sentence(ctx.labels.named(shown), ctx.region))]
    if has_returns:
        out.append(markdown(narrative.returns_sentence(shown["gross_revenue"].sum(), shown["returns"].sum(),
                                                       shown["revenue"].sum(), ctx.currency)))
        shown = shown[["channel", "gross_revenue", "returns", "revenue", "share"]].rename(
            columns={"gross_revenue": "Gross revenue", "returns": "Returns", "revenue": "Net revenue",
                     "share": "Share of gross revenue"})
        out.append(table(shown, money_columns=["Gross revenue", "Returns", "Net revenue"],
                         percent_columns=["Share of gross revenue"], currency=ctx.currency, labels=ctx.labels))
    else:
        out.append(table(shown, money_columns=["revenue"], percent_columns=["share"], currency=ctx.currency,
                         labels=ctx.labels))
    return out


def about(ctx: RegionContext) -> list[Any]:
    """Where the numbers come from: the window of every section (:func:`windows_table`), then the data quality of
    the inputs (:func:`data_quality`)."""
    return windows_table(ctx) + data_quality(ctx)


def data_quality(ctx: RegionContext) -> list[Any]:
    """The inputs and the data-quality summary of the store build, with a line per input that ingest repaired and
    read on (a byte-order mark, a totals row, Excel date cells)."""
    records = ctx.meta.get("quality", [])
    quality = pd.DataFrame(records)
    if quality.empty:
        return [note("The store records no data-quality summary.")]
    quality["file"] = quality["file"].map(lambda f: Path(f).name)
    shown = quality[["table", "file", "rows_read", "rows_kept", "rows_rejected", "reason", "count"]]
    return [markdown("Rows set aside at ingest are listed by reason; they are kept in the rejects folder next to "
                     "the store, never silently dropped."),
            table(shown), *(markdown(line) for line in narrative.repairs_lines(records))]


#: KPIs of the channel KPI table, in order; labels, units and formats from :mod:`chanlib.analytics.definitions`
#: (top-N partner share shows its N, the NPS its number of responses)
CHANNEL_KPI_COLUMNS = (
    "revenue", "growth_yoy", "share_of_parent", "margin_pct", "contribution_margin_pct", "channel_roi",
    "cost_to_serve", "target_attainment", "active_partners", "hhi", "top_partner_share", "sell_through_rate",
    "sell_out_to_sell_in", "weeks_of_supply", "feedback_score",
)


def _kpi_name(ctx: RegionContext, key: str) -> str:
    """A KPI's header: the params' ``display.columns`` name, else its definition's label, else readable text."""
    if key in ctx.params.display.columns:
        return ctx.params.display.columns[key]
    if key in definitions.DEFINITIONS:
        return definitions.label(key, ctx.margin_from_profit)
    return key.replace("_", " ").capitalize()


def channel_kpi_table(ctx: RegionContext, current: pd.DataFrame, nps: bool = True) -> pd.DataFrame:
    """The channel KPI table of one period: a row per channel, every KPI of :data:`CHANNEL_KPI_COLUMNS` that has a
    value, formatted by its kind and headed by its label (``Top-N partner share`` as ``81.6% (top 2)``, the NPS as
    ``12 (n = 15)``; no line breaks inside "(top 2)" and "n = 15")."""
    keys = [c for c in CHANNEL_KPI_COLUMNS if c in current and current[c].notna().any()]
    shown = current[["channel"]].copy()
    for key in keys:
        if key == "top_partner_share":
            values = [f"{narrative.percent(v, signed=False)} (top\u00a0{int(n)})" if pd.notna(v) else "n/a"
                      for v, n in zip(current[key], current["top_partner_n"])]
        elif key == "feedback_score":
            counts = current["feedback_responses"] if "feedback_responses" in current else [float("nan")] * len(current)
            values = [narrative.score_with_count(v, n, nps).replace("n = ", "n\u00a0=\u00a0")
                      for v, n in zip(current[key], counts)]
        elif key == "growth_yoy" and "revenue_prev_year" in current:
            values = [narrative.kpi_value(key, v, ctx.currency)
                      if narrative.growth_reason(v, base, None, ctx.params.periods, ctx.currency) is None
                      else "too little data" for v, base in zip(current[key], current["revenue_prev_year"])]
        else:
            values = [narrative.kpi_value(key, v, ctx.currency) for v in current[key]]
        name = _kpi_name(ctx, "feedback_mean_score" if key == "feedback_score" and not nps else key)
        shown[name] = values
    return shown




#: forecast model ids -> what a reader sees
MODEL_NAMES = {"combo": "combination (ETS, Theta, ...)", "ets": "ETS", "ets_damped": "damped ETS", "theta": "Theta",
               "dotm": "dynamic optimised Theta", "ces": "CES", "arima": "ARIMA", "naive": "naive (last value)",
               "seasonal_naive": "seasonal naive", "croston": "Croston (intermittent)", "zero": "zero",
               "ses": "simple exponential smoothing", "season_mean": "mean of the last season"}


@_full_report_only
def channel_kpis(ctx: RegionContext) -> list[Any]:
    """Channel KPIs of the latest complete quarter: sentences, target attainment and contribution margin (points of
    revenue) charts, and a KPI table headed by the definitions' labels (:func:`channel_kpi_table`)."""
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
    out: list[Any] = [_window(ctx.windows.quarter),
                      markdown(channel_kpi_sentence(ctx.labels.named(current), ctx.region, label,
                                                    margin_from_profit=ctx.margin_from_profit,
                                                    nps=kpi.feedback_is_nps(ctx.con),
                                                    growth_settings=ctx.params.periods))]
    if "target_attainment" in current and current["target_attainment"].notna().any():
        out.append(figure(plots.metric_bars(current, "target_attainment", f"Target attainment, {label}",
                                            reference=1.0, palette=ctx.palette, labels=ctx.labels)))
    if "contribution_margin_pct" in current and current["contribution_margin_pct"].notna().any():
        # contribution margin in points of revenue rather than ROI, which magnifies differences where costs are small
        points = current.assign(contribution_margin_pct=100 * current["contribution_margin_pct"].astype("float64"))
        out.append(figure(plots.metric_bars(points, "contribution_margin_pct",
                                            f"{_kpi_name(ctx, 'contribution_margin')} (points of revenue), {label}",
                                            kind="number",
                                            palette=ctx.palette, labels=ctx.labels)))
    out.append(table(channel_kpi_table(ctx, current, kpi.feedback_is_nps(ctx.con)), labels=ctx.labels))
    out += [note(f"{_kpi_name(ctx, item)}: left out because {why}.")
            for item, why in store.omitted(ctx.con, "kpi_region_channel_quarter").items() if item != "market"]
    return out


def _left_out(what: str, exc: MissingInput) -> list[Any]:
    return [note(f"{what} is left out: {exc.reason}.")]


def shared(ctx: RegionContext, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per region context (kept in ``ctx.cache`` under ``key``): an analysis that both the
    executive summary and a section need runs once per report."""
    if key not in ctx.cache:
        ctx.cache[key] = compute()
    return ctx.cache[key]


def fit_matrix(ctx: RegionContext) -> pd.DataFrame:
    """The region's category x channel fit matrix over the complete months of the window (raises MissingInput)."""
    return shared(ctx, ("fit_matrix",), lambda: fit.fit_matrix(
        ctx.con, region=ctx.region, months=ctx.params.periods.window_months,
        tolerance_days=ctx.params.periods.complete_tolerance_days))


def coverage_cells(ctx: RegionContext) -> pd.DataFrame:
    """Coverage and penetration of every region x channel cell against its peers (raises MissingInput): computed
    once per report, for the planning section's table, white space and untapped channels."""
    settings, window = ctx.params.planning, ctx.params.periods
    return shared(ctx, ("coverage",), lambda: planning.coverage(
        ctx.con, months=window.window_months, tolerance_days=window.complete_tolerance_days,
        partners_per=settings.partners_per, benchmark_quantile=settings.benchmark_quantile,
        min_peers=settings.min_peers))


def white_space_table(ctx: RegionContext) -> pd.DataFrame:
    """The region's under-penetrated channels ranked by headroom to their peers (raises MissingInput)."""
    settings, window = ctx.params.planning, ctx.params.periods
    return shared(ctx, ("white_space",), lambda: planning.white_space(
        ctx.con, top_n=settings.top_n, region=ctx.region, months=window.window_months,
        benchmark_quantile=settings.benchmark_quantile, tolerance_days=window.complete_tolerance_days,
        min_peers=settings.min_peers, cells=coverage_cells(ctx)))


def decomposition(ctx: RegionContext, grain: Literal["month", "quarter", "year"],
                  against: Literal["last_year", "previous"]) -> pd.DataFrame:
    """The region's market growth / share shift split of the latest complete ``grain`` against ``against``."""
    return shared(ctx, ("decomposition", grain, against), lambda: evaluation.share_shift_decomposition(
        ctx.con, grain, region=ctx.region, against=against, **ctx.period_args))


@_full_report_only
def product_fit(ctx: RegionContext) -> list[Any]:
    """Category x channel share index (heatmap) and ranked grow/develop/review recommendations with their numbers
    (rules in :mod:`chanlib.analytics.product_fit`)."""
    try:
        matrix = fit_matrix(ctx)
    except MissingInput as exc:
        return _left_out("Product-channel fit", exc)
    if matrix.empty:
        return [note("No category sales in the window.")]
    recs = fit.recommendations(matrix, ctx.params.fit)
    out: list[Any] = [_window(ctx.windows.months), figure(plots.fit_heatmap(matrix, ctx.labels))]
    if recs.empty:
        out.append(markdown("Every category sells in each channel roughly in line with its overall share: "
                            "no category stands out for growth, development or review."))
        return out
    out.append(markdown("\n".join("- " + fit_recommendation_sentence(r, ctx.currency)
                                   for _, r in ctx.labels.named(recs).iterrows())))
    has_margin = bool(recs["margin_at_stake"].notna().any())
    rule = ("ranked by the margin at stake: the gross margin the channel would gain or lose if the category moved "
            "to an average mix, its other categories taking up the difference at their margin"
            if has_margin else "ranked by the revenue vs an average mix (the sales have no cost, so no margins)")
    out.append(note("Revenue vs an average mix adds up to zero in each channel: it shows where a channel's revenue "
                    f"sits, not money to be won. Recommendations are {rule}."))
    channel_margin = f"Channel: {ctx.labels.column('margin_pct').lower()}"
    columns = {"action": "Action", "category": "Category", "channel": "channel", "revenue": "revenue",
               "expected_revenue": "expected_revenue", "gap": "Revenue vs an average mix", "share_index":
               "share_index", "margin_pct": "margin_pct", "channel_margin_pct": channel_margin,
               "margin_at_stake": "Margin at stake"}
    if not has_margin:
        columns = {k: v for k, v in columns.items() if k not in ("margin_pct", "channel_margin_pct",
                                                                  "margin_at_stake")}
    shown = recs[list(columns)].round({"share_index": 2}).rename(columns=columns)
    out.append(table(shown, money_columns=[c for c in ("revenue", "expected_revenue", "Revenue vs an average mix",
                                                       "Margin at stake") if c in shown],
                     percent_columns=[c for c in ("margin_pct", channel_margin) if c in shown],
                     currency=ctx.currency, labels=ctx.labels))
    return out


@_full_report_only
def regional_planning(ctx: RegionContext) -> list[Any]:
    """Coverage and penetration per channel against the market it serves, the under-penetrated channels ranked by
    headroom to the benchmark of at least ``planning.min_peers`` other regions, and the channels not sold here."""
    settings, window = ctx.params.planning, ctx.params.periods
    months, tolerance, q, min_peers = (window.window_months, window.complete_tolerance_days,
                                       settings.benchmark_quantile, settings.min_peers)
    try:
        every = coverage_cells(ctx)
        cov = every[every["region"] == ctx.region].reset_index(drop=True)
        space = white_space_table(ctx)
        absent = planning.untapped(ctx.con, region=ctx.region, months=months, benchmark_quantile=q,
                                   tolerance_days=tolerance, min_peers=min_peers, cells=every)
    except MissingInput as exc:
        return _left_out("Regional planning", exc)
    out: list[Any] = [_window(ctx.windows.months)]
    if cov.empty:
        return out + [note(f"{esc(ctx.region)} has no market figures in the window.")]
    if not space.empty:
        out.append(figure(plots.white_space_bars(space, ctx.currency, ctx.palette, ctx.labels)))
        out.append(markdown("\n".join("- " + white_space_sentence(r, ctx.currency)
                                       for _, r in ctx.labels.named(space).iterrows())))
    elif (cov["status"] == "at or above benchmark").any():
        out.append(markdown(f"{esc(ctx.region)} is at or above the benchmark of its peers in every channel that has "
                            "one."))
    lines = [narrative.no_benchmark_sentence(ctx.labels.named(cov[cov["status"] == "too few peers"]),
                                             settings.min_peers),
             narrative.untapped_sentence(ctx.labels.named(absent), ctx.currency),
             narrative.whole_market_sentence(ctx.labels.channels_of(cov.loc[cov["served_market"].isna(), "channel"]))]
    out += [markdown(line) for line in lines if line]
    per = narrative.per_market_label(settings.partners_per, ctx.currency)
    shown = cov[["channel", "served_market", "revenue", "market_size", "penetration", "benchmark_penetration",
                 "peers", "status", "active_partners", "partners_per_million"]].copy()
    shown["served_market"] = [narrative.market_name(m) for m in shown["served_market"]]
    shown["benchmark_penetration"] = [percent(b, signed=False) if pd.notna(b) else narrative.too_few_peers(n)
                                      for b, n in zip(shown["benchmark_penetration"], shown["peers"])]
    shown["partners_per_million"] = shown["partners_per_million"].round(2)
    shown["active_partners"] = [number(v) for v in shown["active_partners"]]
    shown = shown.rename(columns={"served_market": "Market", "benchmark_penetration": "Peer benchmark",
                                  "peers": "Peer regions", "partners_per_million": per})
    out.append(table(shown, money_columns=["revenue", "market_size"], percent_columns=["penetration"],
                     currency=ctx.currency, labels=ctx.labels))
    return out


@_full_report_only
def period_evaluation(ctx: RegionContext) -> list[Any]:
    """The latest complete period (``evaluation.period``, default a quarter) against last year (or the previous
    period): what changed, split into the region's market growth and each channel's share shift, and, where the
    sales have units, into price, volume and mix."""
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
    split = decomposition(ctx, grain, against)
    changes = narrative.key_changes(p, comparison, ctx.labels.named(split), against, ctx.region,
                                    ctx.currency, n=ctx.params.evaluation.key_changes,
                                    growth_settings=ctx.params.periods)
    out: list[Any] = [_window(ctx.windows.evaluation), markdown("\n\n".join(changes))]
    if split.empty or split["change"].isna().all():
        return out
    out.append(figure(plots.share_shift_waterfall(split, ctx.currency, base_label, p.label, ctx.labels)))
    out.append(note(f"Market growth is the region's change from {base_label} shared out at each channel's "
                    f"{base_label} share; share shift is what a channel gained or lost in share of the region (the "
                    "shifts add up to zero)."))
    shown = split[["channel", "revenue_base", "revenue", "market_growth", "share_shift"]].rename(
        columns={"revenue_base": base_label, "revenue": p.label, "market_growth": "Market growth",
                 "share_shift": "Share shift"})
    out.append(table(shown, money_columns=[base_label, p.label, "Market growth", "Share shift"],
                     currency=ctx.currency, labels=ctx.labels))
    try:
        pvm = evaluation.price_volume_mix(ctx.con, grain, region=ctx.region, against=against, **ctx.period_args)
    except MissingInput:  # no units: no price/volume/mix split
        return out
    out.append(markdown(narrative.price_volume_mix_sentence(pvm, base_label, ctx.currency)))
    if pvm[["price_effect", "volume_effect", "mix_effect"]].notna().all().all():
        shown = pvm[["channel", "units_base", "units", "price_base", "price", "price_effect", "volume_effect",
                     "mix_effect"]].rename(columns={
                         "units_base": f"Units {base_label}", "units": f"Units {p.label}",
                         "price_base": f"Revenue per unit {base_label}", "price": f"Revenue per unit {p.label}",
                         "price_effect": "Price effect", "volume_effect": "Volume effect", "mix_effect": "Mix effect"})
        for column in (f"Units {base_label}", f"Units {p.label}"):
            shown[column] = [number(v) for v in shown[column]]
        for column in (f"Revenue per unit {base_label}", f"Revenue per unit {p.label}"):
            shown[column] = ["n/a" if pd.isna(v) else f"{ctx.currency} {v:,.2f}" for v in shown[column]]
        out.append(table(shown, money_columns=["Price effect", "Volume effect", "Mix effect"], currency=ctx.currency,
                         labels=ctx.labels))
    return out


@_full_report_only
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
    profile_money, profile_percent = narrative.profile_formats(ctx.margin_from_profit)
    out: list[Any] = [_window(ctx.windows.segments), markdown(narrative.segment_sentence(sizes, ctx.region)),
                      figure(plots.segment_sizes(sizes)),
                      markdown(narrative.profile_intro(profiles)),
                      table(narrative.profile_table(profiles, ctx.margin_from_profit),
                            money_columns=profile_money, percent_columns=profile_percent, currency=ctx.currency),
                      shared_figure(plots.segment_profile, store.read_result(ctx.con, "segment_deviations"), names),
                      figure(plots.segment_map(seg, ctx.region))]
    for what, table_name in (("partners", "abc_xyz_partners"), ("products", "abc_xyz_products")):
        if store.has_result(ctx.con, table_name):
            classes = store.read_result(ctx.con, table_name, ctx.region)
            if not classes.empty:
                out.append(figure(plots.abc_xyz_heatmap(abc_xyz_matrix(classes), what)))
    return out


def _partners_window(ctx: RegionContext) -> str | None:
    """The window of the Partners section in words (None without partner scores)."""
    if not store.has_result(ctx.con, "partner_scorecard"):
        return None
    quarters = ctx.con.execute(f"SELECT max(quarter) FROM {store.result_table('partner_scorecard')}").fetchall()
    quarter = quarters[0][0]
    if quarter is None:
        return None
    window = ctx.params.partners.scorecard.window_quarters
    span = f"the {window} quarters ending with it" if window > 1 else "the quarter itself"
    return (f"scores of {periods.label(pd.Timestamp(quarter), 'quarter')}, the latest complete quarter, each "
            f"indicator over {span}, against the partner's peers; contracts from {ctx.windows.as_of.date()}")


def _score_text(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.0f}"  # type: ignore[arg-type]


def _partner_name(frame: pd.DataFrame) -> list[str]:
    return [f"{n} ({p})" if pd.notna(n) and str(n) != str(p) else str(p)
            for n, p in zip(frame.get("name", frame["partner_id"]), frame["partner_id"])]


@_full_report_only
def partners(ctx: RegionContext) -> list[Any]:
    """Partner management for the region: the scorecard league table, tier moves, partners to watch or eliminate
    with their reasons, the incentive summary, contracts needing action and the candidate shortlist (computed once
    for all regions, rules in :mod:`chanlib.analytics.partners`). Every table puts what needs attention first."""
    if not store.has_result(ctx.con, "partner_scorecard"):
        reason = store.omitted(ctx.con, "partners").get("*", "the store holds no partner scorecard")
        return [note(f"Partners are left out: {esc(reason)}.")]
    card = store.read_result(ctx.con, "partner_scorecard", ctx.region)
    if card.empty:
        return [note(f"Partners are left out: {esc(ctx.region)} has no partner with sales.")]
    settings = ctx.params.partners
    quarter = periods.label(pd.Timestamp(card["quarter"].max()), "quarter")
    actions = card["action"].value_counts().to_dict()
    out: list[Any] = [_window(_partners_window(ctx) or quarter),
                      markdown(narrative.partners_sentence(actions, ctx.region, quarter,
                                                           int(card["mis_tiered"].sum()))),
                      figure(plots.partner_scores(card, settings.tiers.thresholds, settings.tiers.names,
                                                  settings.tiers.watch_score, ctx.labels))]
    left_out = store.omitted(ctx.con, "partners")
    if "scores" in left_out:
        out.append(note(f"{esc(left_out['scores'][:1].upper() + left_out['scores'][1:])}."))
    for item in ("margin", "target_attainment", "sell_through", "feedback", "compliance", "growth"):
        if item in left_out:
            out.append(note(f"{esc(item.replace('_', ' ').capitalize())} is left out of the scores: "
                            f"{esc(left_out[item])}."))

    # the league table: attention first (eliminate, watch, upgrade, keep; lowest score first), rank by score
    rank = card["score"].rank(ascending=False, method="min")
    league = pd.DataFrame({
        "Rank": ["n/a" if pd.isna(r) else f"{int(r)}" for r in rank], "Partner": _partner_name(card),
        "channel": card["channel"], "Score": [_score_text(v) for v in card["score"]],
        "Change": ["n/a" if pd.isna(s) or pd.isna(p) else f"{s - p:+.0f}" for s, p in
                   zip(card["score"], card["score_prev"])],
        "Tier": card["current_tier"].fillna("n/a"), "Recommended tier": card["recommended_tier"].fillna("n/a"),
        "Action": card["action"],
        "Compared with": [f"{ctx.region} · {ctx.labels.channel(c)}" if level == "region x channel" else
                          f"{ctx.labels.channel(c)}, all regions" if level == "channel" else "all partners"
                          for level, c in zip(card["peer_level"], card["channel"])]})
    out += [markdown("**Scorecard league table** (rank 1 = the highest score in the region; change on the quarter "
                     "before, in points)"), table(league, labels=ctx.labels)]

    order = {name: i for i, name in enumerate(settings.tiers.names)}
    moves = card[card["mis_tiered"]].copy()
    if moves.empty:
        out.append(markdown("**Tier moves:** none; every partner sits in the tier its score supports."))
    else:
        moves["steps"] = [order.get(r, 0) - order.get(c, 0) for c, r in
                          zip(moves["current_tier"], moves["recommended_tier"])]
        moves = moves.sort_values(["steps", "score", "partner_id"])
        shown = pd.DataFrame({"Partner": _partner_name(moves), "channel": moves["channel"],
                              "Tier": moves["current_tier"], "Recommended tier": moves["recommended_tier"],
                              "Move": [f"{'up' if s > 0 else 'down'} {abs(s)}" for s in moves["steps"]],
                              "Score": [_score_text(v) for v in moves["score"]],
                              "Why": [tier_reason(sc, c, r, settings.tiers) for sc, c, r in
                                      zip(moves["score"], moves["current_tier"], moves["recommended_tier"])]})
        out += [markdown(f"**Tier moves** the scores support ({len(moves)}; demotions first; with the hysteresis band "
                         f"of {settings.tiers.band:g} points a small change in score does not move a tier)"),
                table(shown, labels=ctx.labels)]

    flagged = card[card["action"].isin(["eliminate", "watch"])]
    if flagged.empty:
        out.append(markdown("**Partners to watch or eliminate:** none."))
    else:
        shown = pd.DataFrame({"Partner": _partner_name(flagged), "channel": flagged["channel"],
                              "Action": flagged["action"], "Score": [_score_text(v) for v in flagged["score"]],
                              "Reasons": flagged["reasons"]})
        out += [markdown(f"**Partners to watch or eliminate** ({len(flagged)}; eliminate first, lowest score first)"),
                table(shown, labels=ctx.labels)]
    out += _partner_incentives(ctx)
    out += _partner_contracts(ctx)
    out += _candidates(ctx, left_out)
    return out


def _partner_incentives(ctx: RegionContext) -> list[Any]:
    """The latest quarter's incentive cost and ROI per channel, lowest ROI first."""
    if not store.has_result(ctx.con, "partner_incentives"):
        return []
    amounts = store.read_result(ctx.con, "partner_incentives", ctx.region)
    if amounts.empty:
        return []
    latest = amounts[amounts["quarter"] == amounts["quarter"].max()]
    label = periods.label(pd.Timestamp(latest["quarter"].iloc[0]), "quarter")
    out: list[Any] = [markdown(narrative.incentive_sentence(partner_incentives.summary(latest), ctx.currency, label))]
    rows = []
    for channel, part in latest.groupby("channel", sort=True):
        s = partner_incentives.summary(part)
        rows.append({"channel": channel, "Partners": len(part), "revenue": float(part["revenue"].sum()),
                     "Rebates": s["rebate"], "Bonuses": s["bonus"], "Penalties": s["penalty"],
                     "Net incentive cost": s["total"], "Incremental margin": s["incremental_margin"],
                     "roi": s["roi"]})
    frame = pd.DataFrame(rows).sort_values("roi", na_position="last")
    frame["Incentive ROI"] = ["n/a" if pd.isna(v) else f"{v:.2f}" for v in frame.pop("roi")]
    near = latest[latest["to_next_band"].notna() & (latest["to_next_band"] <= 0.1 * latest["next_band_min"])]
    out += [markdown(f"**Incentives, {esc(label)}** by channel (lowest ROI first; ROI = gross margin added over "
                     "each paid partner's own baseline ÷ rebates and bonuses paid)"),
            table(frame, money_columns=["revenue", "Rebates", "Bonuses", "Penalties", "Net incentive cost",
                                        "Incremental margin"], currency=ctx.currency, labels=ctx.labels)]
    if not near.empty:
        out.append(note(f"{len(near)} partner{'s were' if len(near) != 1 else ' was'} within 10% of the next rebate "
                        "band: a little more revenue would have earned the higher rate."))
    return out


def _partner_contracts(ctx: RegionContext) -> list[Any]:
    """Contracts ending soon or ended, and partners meeting a termination condition."""
    if not store.has_result(ctx.con, "partner_contracts"):
        reason = store.omitted(ctx.con, "partners").get("contracts")
        return [note(f"Contracts are left out: {esc(reason)}.")] if reason else []
    contracts = store.read_result(ctx.con, "partner_contracts", ctx.region)
    due = contracts[contracts["needs_action"]] if len(contracts) else contracts
    horizon = ctx.params.partners.contracts.horizon_days
    days = due["days_left"].astype("float64")
    ending_soon = days.notna() & (days <= horizon)
    out: list[Any] = [markdown(narrative.contracts_sentence(
        int((ending_soon & (days >= 0)).sum()), int((days < 0).sum()),
        int(due["reasons"].str.startswith("termination condition").sum()),
        int((ending_soon & due["renewal_decision"].isna()).sum()), horizon))]
    if len(due):
        names = store.read_result(ctx.con, "partner_scorecard", ctx.region).set_index("partner_id")["name"]
        shown = pd.DataFrame({
            "Partner": _partner_name(due.assign(name=due["partner_id"].map(names))), "channel": due["channel"],
            "Contract end": [str(pd.Timestamp(d).date()) if pd.notna(d) else "n/a" for d in due["contract_end"]],
            "Status": due["status"], "Recommendation": due["recommendation"].str.replace("_", " "),
            "Decision recorded": due["renewal_decision"].fillna("none").str.replace("_", " "),
            "Reasons": due["reasons"]})
        out += [markdown(f"**Contracts needing action** ({len(due)}; terminations first, then by end date)"),
                table(shown, labels=ctx.labels)]
    return out


def _candidates(ctx: RegionContext, left_out: dict[str, str]) -> list[Any]:
    """The region's candidate partners: ranked ones first, then those failing a gate."""
    if not store.has_result(ctx.con, "candidate_shortlist"):
        reason = left_out.get("candidates", "the store holds no candidates")
        return [note(f"The candidate shortlist is left out: {esc(reason)}.")]
    shortlist = store.read_result(ctx.con, "candidate_shortlist", ctx.region)
    ranked = shortlist[shortlist["passed_gates"]].sort_values("rank")
    rejected = shortlist[~shortlist["passed_gates"]].sort_values(["score", "candidate_id"], ascending=[False, True])
    out: list[Any] = [markdown(narrative.shortlist_sentence(len(ranked), len(rejected), ctx.region))]
    if len(shortlist):
        both = pd.concat([ranked, rejected])
        shown = pd.DataFrame({
            "Rank": ["not ranked" if pd.isna(r) else f"{int(r)}" for r in both["rank"]],
            "Candidate": [f"{n} ({c})" for n, c in zip(both["name"].fillna(""), both["candidate_id"])],
            "channel": both["channel"], "Score": [_score_text(v) for v in both["score"]],
            "Gates": ["passed" if g else "failed" for g in both["passed_gates"]], "Reasons": both["reasons"]})
        out += [markdown("**Candidate shortlist** (the rank is across all regions; candidates failing a gate last)"),
                table(shown, labels=ctx.labels)]
    return out


def interval_coverage(coverage: pd.DataFrame, accuracy: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """Per interval level: ``backtest`` coverage of the chosen models' own intervals (``forecast_coverage``, row
    ``selected``), the factor ``scale`` the shown intervals were widened by, and ``realised`` coverage of earlier
    runs' forecasts by the actuals that arrived since (``forecast_accuracy``, pooled over every cutoff and level,
    weighted by points; ``n_realised`` points)."""
    rows = []
    selected = coverage[coverage["model"] == "selected"].set_index("level") if len(coverage) else pd.DataFrame()
    for level in levels:
        row: dict[str, Any] = {"level": int(level), "backtest": float("nan"), "scale": 1.0,
                               "realised": float("nan"), "n_realised": 0}
        if level in selected.index:
            row["backtest"] = float(selected.loc[level, "coverage"])
            row["scale"] = float(selected.loc[level, "scale"]) if "scale" in selected else 1.0
        column = f"coverage_{level}"
        if column in accuracy and len(accuracy):
            part = accuracy[accuracy[column].notna()]
            n = float(part["n"].sum())
            if n:
                row["realised"] = float((part[column] * part["n"]).sum() / n)
                row["n_realised"] = int(n)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame if frame[["backtest", "realised"]].notna().any().any() else frame.iloc[0:0]


@_full_report_only
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
    history = actuals[(actuals["unique_id"] == ctx.region)].sort_values("ds")
    history = history[history["y"].ne(0).cummax()]  # from the region's first month with sales
    last = history.tail(horizon)
    level = ctx.params.forecast.levels[0]
    total = region_rows["yhat"].sum()
    if len(history) < horizon:
        against = f"too little data to compare: the history covers only {len(history)} months"
    else:
        against = narrative.growth_or_reason(total / last["y"].sum() - 1 if last["y"].sum() else float("nan"),
                                             last["y"].sum(), int(last["y"].ne(0).sum()), ctx.params.periods,
                                             ctx.currency, f"the last {horizon} months", horizon)
        against = against if against.startswith("too little") else f"{against} on the last {horizon}"
    text = (f"With sales up to {cutoff}, **{esc(ctx.region)}** is forecast to sell "
            f"**{money(total, ctx.currency)}** in the next {horizon} months ({against}); "
            f"the {level}% interval of a single month is shown as a band. Forecasts add up: the channels sum to the "
            f"region, the regions to the total ({esc(forecasts['reconciliation'].iloc[0])} reconciliation).")
    out: list[Any] = [_window(ctx.windows.outlook), markdown(text)]
    selection = store.read_result(ctx.con, "forecast_selection")
    chosen = selection[selection["unique_id"].isin(wanted)]
    name_of = {uid: " / ".join([uid.split("/")[0], *ctx.labels.channels_of(uid.split("/")[1:])]) for uid in wanted}
    settings = ctx.params.forecast
    short = [(name_of[r.unique_id], int(r.n_obs)) for r in chosen.itertuples() if r.flag == "short"]
    out += [markdown(t) for t in (
        narrative.short_history_sentence(short, settings.min_seasons * settings.season_length),
        narrative.benchmark_sentence([name_of[r.unique_id] for r in chosen.itertuples() if r.flag == "benchmark"],
                                     ctx.labels.column(settings.metric)),
        narrative.weak_forecast_sentence(
            [name_of[r.unique_id] for r in chosen.itertuples() if r.flag == "below_benchmark"],
            [name_of[r.unique_id] for r in chosen.itertuples() if r.flag == "unreliable"],
            ctx.labels.column(settings.metric), settings.unreliable_smape)) if t]
    out.append(figure(plots.forecast_panels(actuals, forecasts, ctx.currency, level=level, palette=ctx.palette,
                                            labels=ctx.labels)))
    columns = ["unique_id", "model", "flag", "score", "n_obs"] + (["benchmark_score"] if "benchmark_score" in chosen
                                                                  else [])
    shown = chosen[columns].rename(columns={
        "unique_id": "series", "score": f"backtest {settings.metric}", "n_obs": "months of history",
        "benchmark_score": f"benchmark {settings.metric}"}).round(2)
    shown["series"] = [name_of[uid] for uid in shown["series"]]
    shown["model"] = [MODEL_NAMES.get(str(m), str(m)) for m in shown["model"]]
    shown["flag"] = [str(f).replace("_", " ") for f in shown["flag"]]
    unscored = [c for c in (f"backtest {settings.metric}", f"benchmark {settings.metric}")
                if c in shown and shown[c].isna().all()]
    if unscored:  # no backtest in this run (forecast.backtest_windows: 0, the default): no column of n/a
        shown = shown.drop(columns=unscored)
        out.append(note(f"No backtest in this run, so no backtest {esc(ctx.labels.column(settings.metric))} and "
                        "intervals as the models give them: accuracy is measured once earlier runs' forecasts meet "
                        "their actuals (forecast.backtest_windows: 1 adds a backtest)."))
    accuracy = store.read_result(ctx.con, "forecast_accuracy")
    coverage = interval_coverage(store.read_result(ctx.con, "forecast_coverage"), accuracy, settings.levels)
    if not coverage.empty:
        out.append(markdown("Interval coverage per level: the share of actuals inside the intervals, in the backtest "
                            "(all series of the run, the models' own intervals) and, once earlier runs' forecasts "
                            "meet their actuals, of those."))
        shown_coverage = coverage.assign(level=[f"{v}%" for v in coverage["level"]],
                                         scale=["none" if abs(v - 1) < 1e-9 else f"×{v:.2f}"
                                                for v in coverage["scale"]])
        out.append(table(shown_coverage.rename(columns={
            "level": "interval", "backtest": "backtest coverage", "scale": "widened by",
            "realised": "later actuals covered", "n_realised": "later actuals"}),
            percent_columns=["backtest coverage", "later actuals covered"], labels=ctx.labels))
        out += [note(w) for w in narrative.coverage_warnings(coverage, settings.coverage_tolerance)]
    out.append(table(shown, labels=ctx.labels))
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


# -- surfaced results (issue 12): customer RFM by channel, run rate to target, market share, feedback comments -------

#: a channel is named as bringing the most loyal (or the most one-off) customers only with at least this many
MIN_CUSTOMERS_TO_RANK = 20
#: a feedback comment is listed only when at least this many responses gave it: a one-off free text is not a
#: frequent comment, and may identify whoever wrote it
MIN_COMMENT_RESPONSES = 2


def customer_channels(ctx: RegionContext) -> pd.DataFrame:
    """The region's customers (``result_customer_rfm``, scored within the region) with the channel of most of their
    revenue in the region (ties: the first channel by name): channel, customer_id, recency_days, frequency,
    monetary, the scores, rfm_cluster and rfm_segment."""
    return ctx.con.execute(f"""
        WITH own AS (SELECT customer_id, channel, sum(revenue) AS revenue FROM sales
                     WHERE region = $region AND customer_id IS NOT NULL GROUP BY ALL),
        main AS (SELECT customer_id, channel FROM own
                 QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY revenue DESC, channel) = 1)
        SELECT m.channel, r.* EXCLUDE (region)
        FROM {store.result_table('customer_rfm')} r JOIN main m USING (customer_id)
        WHERE r.region = $region ORDER BY m.channel, r.customer_id""", {"region": ctx.region}).df()


def channel_loyalty(customers: pd.DataFrame) -> pd.DataFrame:
    """Per channel of :func:`customer_channels`: customers, repeat_customer_share (two orders or more),
    one_off_share, repeat_revenue_share, orders_per_customer, revenue_per_customer and median_recency_days; the
    most loyal channel (highest repeat share) first.

    >>> c = pd.DataFrame({"channel": ["web", "web", "shop"], "frequency": [3, 1, 1], "monetary": [90.0, 10.0, 5.0],
    ...                   "recency_days": [2, 40, 10]})
    >>> channel_loyalty(c)[["channel", "customers", "repeat_customer_share", "repeat_revenue_share",
    ...                     "orders_per_customer"]].values.tolist()
    [['web', 2, 0.5, 0.9, 2.0], ['shop', 1, 0.0, 0.0, 1.0]]
    """
    frame = customers.assign(repeat=customers["frequency"] >= 2,
                             repeat_revenue=customers["monetary"].where(customers["frequency"] >= 2, 0.0))
    out = frame.groupby("channel", as_index=False).agg(
        customers=("frequency", "size"), repeat_customer_share=("repeat", "mean"),
        repeat_revenue=("repeat_revenue", "sum"), revenue=("monetary", "sum"),
        orders_per_customer=("frequency", "mean"), revenue_per_customer=("monetary", "mean"),
        median_recency_days=("recency_days", "median"))
    out["one_off_share"] = 1.0 - out["repeat_customer_share"]
    out["repeat_revenue_share"] = (out["repeat_revenue"] / out["revenue"].where(out["revenue"] != 0)).astype("float64")
    out = out.drop(columns=["repeat_revenue", "revenue"])
    return out.sort_values(["repeat_customer_share", "customers", "channel"], ascending=[False, False, True],
                           ignore_index=True)


def _rfm_window(ctx: RegionContext) -> str:
    first, _ = store.date_bounds(ctx.con)
    as_of = ctx.windows.as_of.date()
    return (f"every sale from {pd.Timestamp(first).date()} to {as_of} (orders and revenue over all of them; days since "
            f"the last order counted to {as_of})")


@_full_report_only
def customers_by_channel(ctx: RegionContext) -> list[Any]:
    """Customer RFM by channel: which channels bring loyal customers and which bring one-off buyers. Each customer
    (``result_customer_rfm``) counts in the channel of most of its revenue in the region; per channel the share of
    repeat buyers, orders and revenue per customer, and the mix of RFM segments (a chart)."""
    if not store.has_result(ctx.con, "customer_rfm"):
        reason = store.omitted(ctx.con, "customer_rfm").get("*", "the store holds no customer RFM")
        return [note(f"Customers by channel are left out: {esc(reason)}.")]
    customers = customer_channels(ctx)
    if customers.empty:
        return [note(f"Customers by channel are left out: no sale in {esc(ctx.region)} carries a customer id.")]
    loyalty = channel_loyalty(customers)
    out: list[Any] = [_window(_rfm_window(ctx)),
                      markdown(narrative.customers_sentence(ctx.labels.named(loyalty), ctx.region,
                                                            MIN_CUSTOMERS_TO_RANK))]
    mix = customers.groupby(["channel", "rfm_cluster", "rfm_segment"], as_index=False).size()
    mix["share"] = mix["size"] / mix.groupby("channel")["size"].transform("sum")
    order = {c: i for i, c in enumerate(loyalty["channel"])}
    mix = mix.sort_values(["channel", "rfm_cluster"], key=lambda c: c.map(order) if c.name == "channel" else c)
    out.append(figure(plots.rfm_channel_mix(mix, ctx.labels)))
    largest = mix.sort_values(["share", "rfm_cluster"], ascending=[False, True]).drop_duplicates("channel")
    largest_text = {r.channel: f"{r.rfm_segment} ({percent(r.share, signed=False)})" for r in largest.itertuples()}
    shown = loyalty.assign(customers=[number(v) for v in loyalty["customers"]],
                           orders_per_customer=[f"{v:.2f}" for v in loyalty["orders_per_customer"]],
                           median_recency_days=[number(v) for v in loyalty["median_recency_days"]],
                           largest_segment=[largest_text[c] for c in loyalty["channel"]])
    shown = shown[["channel", "customers", "repeat_customer_share", "one_off_share", "repeat_revenue_share",
                   "orders_per_customer", "revenue_per_customer", "median_recency_days", "largest_segment"]]
    out.append(table(shown.rename(columns={"largest_segment": "Largest RFM segment"}),
                     money_columns=["revenue_per_customer"],
                     percent_columns=["repeat_customer_share", "one_off_share", "repeat_revenue_share"],
                     currency=ctx.currency, labels=ctx.labels))
    without = [c for (c,) in ctx.con.execute(
        "SELECT channel FROM sales WHERE region = ? GROUP BY channel HAVING count(customer_id) = 0 ORDER BY channel",
        [ctx.region]).fetchall()]
    if without:
        out.append(note(f"{esc(', '.join(ctx.labels.channels_of(without)))}: no sale carries a customer id, so "
                        f"{'these channels are' if len(without) > 1 else 'this channel is'} not in the table."))
    out.append(note("A customer counts in the channel of most of its revenue in the region; orders and RFM segments "
                    "(recency, frequency, monetary value, scored within the region) cover all its purchases there."))
    return out


@_full_report_only
def run_rate(ctx: RegionContext) -> list[Any]:
    """The run-rate projection against target of the running quarter per channel (revenue so far × days in the
    quarter ÷ days elapsed, :func:`chanlib.analytics.kpi.kpi_table`), or the attainment of the latest quarter with
    targets when it is complete; the channel furthest behind first."""
    frame = store.read_result(ctx.con, "kpi_region_channel_quarter", ctx.region)
    if "target_revenue" not in frame:
        reason = store.omitted(ctx.con, "kpi_region_channel_quarter").get("targets", "the store has no targets table")
        return [note(f"The run rate to target is left out: {esc(reason)}.")]
    frame["period"] = pd.to_datetime(frame["period"])
    as_of = ctx.windows.as_of
    now = periods.period_start(as_of, "quarter")
    targets = ctx.con.execute(
        "SELECT channel, CAST(date_trunc('quarter', period) AS DATE) AS quarter, sum(target_revenue) AS target "
        "FROM targets WHERE region = ? AND date_trunc('quarter', period) <= ? AND target_revenue IS NOT NULL "
        "GROUP BY ALL", [ctx.region, now.date()]).df()
    if targets.empty:
        return [note(f"The run rate to target is left out: the targets table has no figures for {esc(ctx.region)} "
                     f"up to {periods.label(now, 'quarter')}.")]
    targets["quarter"] = pd.to_datetime(targets["quarter"])
    start = targets["quarter"].max()
    end = periods.period_end(start, "quarter")
    label = periods.label(start, "quarter")
    running = bool(as_of < end)  # as the KPI cube projects: a quarter is running until its last day has sales
    elapsed, length = int((min(as_of, end) - start).days) + 1, int((end - start).days) + 1
    current = frame[(frame["period"] == start) & frame["target_revenue"].notna()]
    # a channel with a target but no sale in the quarter has no row in the KPI cube: it stands at zero
    unsold = targets[(targets["quarter"] == start) & ~targets["channel"].isin(current["channel"])]
    if len(unsold):
        current = pd.concat([current, pd.DataFrame({
            "channel": unsold["channel"], "target_revenue": unsold["target"], "targeted_revenue": 0.0,
            "target_attainment": [0.0 if t > 0 else float("nan") for t in unsold["target"]],
            "projected_revenue": 0.0,
            "projected_attainment": [0.0 if t > 0 else float("nan") for t in unsold["target"]]})], ignore_index=True)
    current = current.sort_values(["projected_attainment", "channel"])
    if running:
        window = f"{label}, the running quarter: day {elapsed} of {length}, sales up to {as_of.date()}"
    elif start < now:
        window = (f"{label}, the latest quarter with targets (complete); the targets table has no figures for "
                  f"{periods.label(now, 'quarter')} yet")
    else:
        window = f"{label}, complete (sales up to its last day)"
    out: list[Any] = [_window(window),
                      markdown(narrative.run_rate_sentence(ctx.labels.named(current), ctx.region, label, ctx.currency,
                                                           running, elapsed, length, as_of))]
    if running and current["projected_attainment"].notna().any():
        out.append(figure(plots.metric_bars(current, "projected_attainment",
                                            f"Projected target attainment at the run-rate, {label}", reference=1.0,
                                            palette=ctx.palette, labels=ctx.labels)))
    gap = current["projected_revenue"] - current["target_revenue"]
    if running:
        shown = pd.DataFrame({"channel": current["channel"], "target_revenue": current["target_revenue"],
                              "Revenue so far": current["targeted_revenue"],
                              "Attainment so far": current["target_attainment"],
                              "projected_revenue": current["projected_revenue"],
                              "projected_attainment": current["projected_attainment"],
                              "Projected − target": gap})
        money_columns = ["target_revenue", "Revenue so far", "projected_revenue", "Projected − target"]
        percent_columns = ["Attainment so far", "projected_attainment"]
    else:
        shown = pd.DataFrame({"channel": current["channel"], "target_revenue": current["target_revenue"],
                              "revenue": current["targeted_revenue"], "target_attainment": current["target_attainment"],
                              "Revenue − target": gap})
        money_columns, percent_columns = ["target_revenue", "revenue", "Revenue − target"], ["target_attainment"]
    out.append(table(shown, money_columns=money_columns, percent_columns=percent_columns, currency=ctx.currency,
                     labels=ctx.labels))
    untargeted = frame[(frame["period"] == start) & frame["target_revenue"].isna()]["channel"]
    if len(untargeted):
        out.append(note(f"No target for {label}: {esc(', '.join(ctx.labels.channels_of(sorted(untargeted))))}."))
    if running:
        out.append(note("The run-rate assumes the rest of the quarter sells at the daily rate so far (revenue in the "
                        "months that have a target); it ignores seasonality within the quarter."))
    return out


def _category_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(FROM clause, category expression) of sales with their category: from the products table when the store
    has one with categories (as the KPI engine), else the sales table's own ``category``; MissingInput without
    either."""
    have = store.table_columns(con, "sales")
    if ("product_id" in have and store.has_table(con, "products")
            and "category" in store.table_columns(con, "products")):
        return "sales s JOIN products p ON p.product_id = s.product_id", "p.category"
    if "category" in have:
        return "sales s", "s.category"
    raise MissingInput("products", "market share by category needs the products table (or a category column in "
                                   "the sales)")


def category_market_share(con: duckdb.DuckDBPyConnection, region: str, quarters: list[pd.Timestamp]) -> pd.DataFrame:
    """Per category of the ``market`` table and quarter in ``quarters``: the region's revenue, market_size,
    market_share (revenue ÷ market size, as :func:`chanlib.analytics.kpi.kpi_table`), competitor_sales and
    competitor_share (NaN where a market row lacks competitor sales or the table has no such column)."""
    source, category = _category_sql(con)
    competitor = ("CASE WHEN count(competitor_sales) = count(*) THEN sum(competitor_sales) END"
                  if "competitor_sales" in store.table_columns(con, "market") else "CAST(NULL AS DOUBLE)")
    ranges = " OR ".join(f"(s.date BETWEEN $s{i} AND $e{i})" for i in range(len(quarters)))
    args: dict[str, object] = {"region": region, "quarters": [q.date() for q in quarters]}
    for i, q in enumerate(quarters):
        args.update({f"s{i}": q.date(), f"e{i}": periods.period_end(q, "quarter").date()})
    frame = con.execute(f"""
        WITH mk AS (SELECT category, CAST(date_trunc('quarter', period) AS DATE) AS quarter,
                           sum(market_size) AS market_size, {competitor} AS competitor_sales
                    FROM market WHERE region = $region AND market_size IS NOT NULL GROUP BY ALL),
        ours AS (SELECT {category} AS category, CAST(date_trunc('quarter', s.date) AS DATE) AS quarter,
                        sum(s.revenue) AS revenue
                 FROM {source} WHERE s.region = $region AND ({ranges}) GROUP BY ALL)
        SELECT mk.category, mk.quarter, coalesce(ours.revenue, 0) AS revenue, mk.market_size, mk.competitor_sales
        FROM mk LEFT JOIN ours USING (category, quarter)
        WHERE mk.quarter IN (SELECT unnest($quarters)) ORDER BY mk.quarter, mk.category""", args).df()
    frame["quarter"] = pd.to_datetime(frame["quarter"])
    size = frame["market_size"].where(frame["market_size"] > 0)
    frame["market_share"] = (frame["revenue"] / size).astype("float64")
    frame["competitor_share"] = (frame["competitor_sales"].astype("float64") / size).astype("float64")
    return frame


def _market_quarter(ctx: RegionContext) -> tuple[pd.Timestamp, periods.Periods]:
    """The quarter market share is shown for: the latest complete quarter that the market table has figures for in
    the region (and the comparison periods of the latest complete quarter)."""
    p = evaluation.latest_complete_period(ctx.con, "quarter", **ctx.period_args)
    rows = ctx.con.execute("SELECT DISTINCT CAST(date_trunc('quarter', period) AS DATE) FROM market "
                           "WHERE region = ? AND market_size IS NOT NULL AND period <= ?",
                           [ctx.region, p.end]).fetchall()
    if not rows:
        raise MissingInput("market", f"the market table has no figures for {ctx.region} up to {p.label}")
    return max(pd.Timestamp(q) for (q,) in rows), p


@_full_report_only
def market_share(ctx: RegionContext) -> list[Any]:
    """Market share and its change against competitor sales, by category (the ``market`` table): the latest complete
    quarter with market figures against the same quarter a year earlier."""
    if not store.has_table(ctx.con, "market"):
        return [note("Market share is left out: the store has no market table.")]
    try:
        start, p = _market_quarter(ctx)
        ly = start - pd.DateOffset(years=1)
        frame = category_market_share(ctx.con, ctx.region, [start, ly])
    except MissingInput as exc:
        return [note(f"Market share is left out: {esc(exc.reason)}.")]
    label, ly_label = periods.label(start, "quarter"), periods.label(ly, "quarter")
    now, before = frame[frame["quarter"] == start].set_index("category"), frame[frame["quarter"] == ly]
    first = store.date_bounds(ctx.con)[0]
    ly_reason = None
    if not periods.covered(first, ly, ctx.params.periods.coverage_slack_days):
        ly_reason, before = "the sales do not reach back to it", before.iloc[0:0]
    elif before.empty:
        ly_reason = "the market table has no figures for it"
    before = before.set_index("category")
    for column in ("market_share", "competitor_share"):
        now[f"{column}_ly"] = before[column].reindex(now.index)
        now[f"{column}_change_yoy"] = now[column] - now[f"{column}_ly"]
    total = pd.Series({"revenue": now["revenue"].sum(), "market_size": now["market_size"].sum(),
                       "competitor_sales": now["competitor_sales"].sum(min_count=len(now))})
    total["market_share"] = total["revenue"] / total["market_size"] if total["market_size"] > 0 else float("nan")
    total["competitor_share"] = total["competitor_sales"] / total["market_size"] if total["market_size"] > 0 \
        else float("nan")
    same = before.reindex(now.index).dropna(subset=["market_size"])
    for column, numerator in (("market_share", "revenue"), ("competitor_share", "competitor_sales")):
        base = (same[numerator].sum(min_count=len(same)) / same["market_size"].sum()
                if len(same) == len(now) and same["market_size"].sum() > 0 else float("nan"))
        total[f"{column}_ly"] = base
        total[f"{column}_change_yoy"] = total[column] - base
    if ly_reason is None and len(same) < len(now):
        ly_reason = "the market table lacks some of its categories then"
    window = f"{label}, the latest complete quarter" + (" with market figures" if start < pd.Timestamp(p.start) else "")
    window += (f", against {ly_label}" if pd.notna(total["market_share_ly"])
               else f"; no comparison with {ly_label} ({ly_reason or 'no market share then'})")
    shown = now.reset_index().sort_values(["market_size", "category"], ascending=[False, True])
    shown = pd.concat([shown, total.to_frame().T.assign(category="All categories")], ignore_index=True)
    out: list[Any] = [_window(window),
                      markdown(narrative.market_share_sentence(shown.iloc[:-1], total, ctx.region, label, ly_label,
                                                               ctx.currency, ly_reason))]
    columns = {"category": "Category", "revenue": "revenue", "market_size": "market_size",
               "market_share": "market_share", "market_share_ly": f"Market share {ly_label}",
               "market_share_change_yoy": "market_share_change_yoy", "competitor_share": "competitor_share",
               "competitor_share_change_yoy": "competitor_share_change_yoy"}
    has_competitors = bool(now["competitor_share"].notna().any())
    if not has_competitors:
        columns = {k: v for k, v in columns.items() if not k.startswith("competitor")}
    table_frame = shown[list(columns)].rename(columns=columns)
    for column in ("market_share_change_yoy", "competitor_share_change_yoy"):
        if column in table_frame:
            table_frame[column] = [narrative.points(v, signed=True) for v in table_frame[column]]
    out.append(table(table_frame, money_columns=["revenue", "market_size"],
                     percent_columns=[c for c in ("market_share", f"Market share {ly_label}", "competitor_share")
                                      if c in table_frame], currency=ctx.currency, labels=ctx.labels))
    if not has_competitors:
        reason = ("the market table has no competitor_sales column"
                  if "competitor_sales" not in store.table_columns(ctx.con, "market")
                  else f"the market table has no competitor sales for {esc(ctx.region)} in {label}")
        out.append(note(f"Competitor share is left out: {reason}."))
    out.append(note("Market share = the region's revenue in the category ÷ the market table's market size (every "
                    "market of the region: domestic and cross-border); competitor share = competitor sales ÷ market "
                    "size; changes in points against the same quarter a year earlier."))
    return out


def top_comments(con: duckdb.DuckDBPyConnection, region: str, start: pd.Timestamp, end: pd.Timestamp, n: int,
                 min_responses: int = MIN_COMMENT_RESPONSES) -> pd.DataFrame:
    """The ``n`` most frequent feedback comments per channel of ``region`` dated ``start`` .. ``end``: channel,
    comment (its most frequent spelling; comments are grouped ignoring case and runs of spaces), comment_responses,
    comment_share (of the channel's comments), comment_mean_score; only comments given at least ``min_responses``
    times; ties: the lower mean score first. Channels with the most comments first."""
    return con.execute(r"""
        WITH f AS (SELECT channel, score, regexp_replace(trim(comment), '\s+', ' ', 'g') AS text FROM feedback
                   WHERE region = $region AND date BETWEEN $start AND $end AND comment IS NOT NULL),
        c AS (SELECT *, lower(text) AS key FROM f WHERE text <> ''),
        spelling AS (SELECT channel, key, text, count(*) AS n FROM c GROUP BY channel, key, text
                     QUALIFY row_number() OVER (PARTITION BY channel, key ORDER BY n DESC, text) = 1),
        per AS (SELECT channel, count(*) AS commented FROM c GROUP BY ALL),
        agg AS (SELECT channel, key, count(*) AS comment_responses, avg(score) AS comment_mean_score
                FROM c GROUP BY ALL)
        SELECT a.channel, s.text AS comment, a.comment_responses,
               a.comment_responses / p.commented AS comment_share, a.comment_mean_score
        FROM agg a JOIN spelling s USING (channel, key) JOIN per p USING (channel)
        WHERE a.comment_responses >= $min
        QUALIFY row_number() OVER (PARTITION BY a.channel
                                   ORDER BY a.comment_responses DESC, a.comment_mean_score, s.text) <= $n
        ORDER BY p.commented DESC, a.channel, a.comment_responses DESC, a.comment_mean_score, s.text""",
                       {"region": region, "start": start.date(), "end": end.date(), "n": n,
                        "min": min_responses}).df()


@_full_report_only
def feedback_comments(ctx: RegionContext) -> list[Any]:
    """The most frequent feedback comments by channel over the trailing window, each with how often it was given
    and its mean score (``report.top_comments`` per channel; comments are customers' free text, shown escaped)."""
    if not store.has_table(ctx.con, "feedback"):
        return [note("Feedback comments are left out: the store has no feedback table.")]
    if "comment" not in store.table_columns(ctx.con, "feedback"):
        return [note("Feedback comments are left out: the feedback table has no comment column.")]
    start, end = periods.trailing_window(ctx.windows.as_of, ctx.params.periods.window_months)
    counts = ctx.con.execute("SELECT count(*), count(*) FILTER (WHERE trim(comment) <> '') FROM feedback "
                             "WHERE region = ? AND date BETWEEN ? AND ?",
                             [ctx.region, start.date(), end.date()]).fetchall()[0]
    responses, commented = int(counts[0]), int(counts[1])
    out: list[Any] = [_window(ctx.windows.trailing)]
    if commented == 0:
        what = "no feedback response" if responses == 0 else f"none of {number(responses)} feedback responses"
        return out + [note(f"{what[:1].upper() + what[1:]} in {esc(ctx.region)} in the window "
                           f"{'carries a comment' if responses else ''}".rstrip() + ".")]
    top = top_comments(ctx.con, ctx.region, start, end, ctx.params.report.top_comments)
    out.append(markdown(narrative.feedback_comments_sentence(ctx.labels.named(top), ctx.region, commented, responses,
                                                             MIN_COMMENT_RESPONSES)))
    if len(top):
        shown = top.assign(comment_responses=[number(v) for v in top["comment_responses"]],
                           comment_mean_score=[f"{v:.1f}" for v in top["comment_mean_score"]])
        out.append(table(shown.rename(columns={"comment": "Comment"}), percent_columns=["comment_share"],
                         labels=ctx.labels))
    out.append(note(f"Up to {ctx.params.report.top_comments} comments per channel (`report.top_comments`), each "
                    f"given at least {MIN_COMMENT_RESPONSES} times; comments that differ only in case or spacing "
                    "count as one."))
    return out
