"""The executive summary that opens each region report: findings and recommended adjustments, ranked by impact.

Each item is a sentence with its figure, an *impact* in the run's currency (what ranks it) and a link to the section
that holds the evidence. Candidates, each taken only where its input exists:

Findings
    the biggest mover (the channel whose revenue changed most in the evaluated period), a target at risk by run-rate
    (the running quarter's projection short of its target), the largest white space (headroom to the peers'
    penetration), the forecast direction (next months against the last as many), the top alert (new and most
    severe first).
Adjustments
    grow a category in the channel that over-indexes on it, close the largest white space, act on the partners to
    watch or eliminate, shift cost away from the channel with the lowest return on its costs.

The fit matrix, the white space and the period decomposition are computed once per region and shared with the
sections below (:func:`chanlib.report.sections.shared`), so the figures agree and no work is done twice. An item whose
input is absent or too thin is skipped (never guessed); a summary with no item says so.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from chanlib import periods
from chanlib.analytics import period_evaluation as evaluation
from chanlib.analytics import product_fit as fit
from chanlib.data import store
from chanlib.errors import MissingInput
from chanlib.report import sections
from chanlib.report.display import markdown, note
from chanlib.report.narrative import esc, money, percent
from chanlib.report.sections import RegionContext

log = logging.getLogger(__name__)

#: section headings of the region report (their anchors are the headings with spaces as hyphens)
SECTIONS = {"alerts": "Early warnings", "kpis": "Channel KPIs", "run_rate": "Run rate to target", "fit": "Product fit",
            "planning": "Regional planning",
            "evaluation": "Period evaluation", "outlook": "Outlook", "partners": "Partners"}
MIN_FINDINGS, MAX_ITEMS = 3, 5
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Item:
    """One line of the summary: markdown text (data escaped), its impact in the currency, the section it links."""

    text: str
    impact: float
    section: str

    def line(self) -> str:
        heading = SECTIONS[self.section]
        return f"- {self.text} ([{heading}](#{heading.replace(' ', '-')}))"


def _safe(build: Callable[[RegionContext], Item | None], ctx: RegionContext) -> Item | None:
    """An item, or None when its input is absent (the section below says why)."""
    try:
        return build(ctx)
    except MissingInput:
        return None


def _name(ctx: RegionContext, channel: str) -> str:
    return esc(ctx.labels.channel(channel))


def biggest_mover(ctx: RegionContext) -> Item | None:
    grain = ctx.params.evaluation.period
    p = evaluation.latest_complete_period(ctx.con, grain, **ctx.period_args)
    against: Literal["last_year", "previous"] = "last_year" if p.ly_covered else "previous"
    if against == "previous" and not p.prev_covered:
        return None
    base = p.ly_label if p.ly_covered else p.prev_label
    dec = sections.decomposition(ctx, grain, against)
    dec = dec[dec["change"].notna()]
    if dec.empty:
        return None
    row = dec.loc[dec["change"].abs().idxmax()]
    if row["change"] == 0:
        return None
    direction = "grew" if row["change"] > 0 else "fell"
    growth = row["change"] / row["revenue_base"] if row["revenue_base"] > 0 else float("nan")
    growth_text = f" ({percent(growth)})" if pd.notna(growth) else ""
    return Item(f"Biggest mover: **{_name(ctx, row['channel'])}** {direction} by "
                f"**{money(abs(row['change']), ctx.currency)}**{growth_text} in {esc(p.label)} against {esc(base)}.",
                abs(float(row["change"])), "evaluation")


def target_at_risk(ctx: RegionContext) -> Item | None:
    cube = store.read_result(ctx.con, "kpi_region_channel_quarter", ctx.region)
    if cube.empty or "projected_attainment" not in cube:
        return None
    latest = cube[pd.to_datetime(cube["period"]) == pd.to_datetime(cube["period"]).max()]
    latest = latest[latest["projected_attainment"].notna() & (latest["projected_attainment"] < 1)]
    if latest.empty:
        return None
    gap = latest["target_revenue"] - latest["projected_revenue"]
    row = latest.loc[gap.idxmax()]
    quarter = pd.Timestamp(row["period"])
    label = periods.label(quarter, "quarter")
    short = money(float(gap.max()), ctx.currency)
    if periods.is_partial(ctx.windows.as_of, "quarter", ctx.params.periods.complete_tolerance_days):
        text = (f"Target at risk: **{_name(ctx, row['channel'])}** is on course for "
                f"{percent(row['projected_attainment'], signed=False)} of its {label} target at the current "
                f"run-rate, **{short}** short.")
    else:
        text = (f"Target missed: **{_name(ctx, row['channel'])}** reached "
                f"{percent(row['projected_attainment'], signed=False)} of its {label} target, **{short}** short.")
    return Item(text, float(gap.max()), "run_rate")


def _largest_white_space(ctx: RegionContext) -> pd.Series | None:
    """The channel with the most headroom to its peers' penetration (the first row of the planning section's
    ranking), or None when no channel has any."""
    space = sections.white_space_table(ctx)
    space = space[space["headroom"] > 0]
    return None if space.empty else space.iloc[0]


def white_space(ctx: RegionContext) -> Item | None:
    row = _largest_white_space(ctx)
    if row is None:
        return None
    return Item(f"Largest white space: **{_name(ctx, row['channel'])}** reaches "
                f"{percent(row['penetration'], signed=False)} of its market against "
                f"{percent(row['benchmark_penetration'], signed=False)} for its peers: "
                f"**{money(row['headroom'], ctx.currency)}** a year of headroom.", float(row["headroom"]), "planning")


def close_white_space(ctx: RegionContext) -> Item | None:
    row = _largest_white_space(ctx)
    if row is None:
        return None
    return Item(f"Close the white space in **{_name(ctx, row['channel'])}**: recruit or activate partners to move "
                f"its penetration toward its peers' {percent(row['benchmark_penetration'], signed=False)} "
                f"(up to **{money(row['headroom'], ctx.currency)}** a year).", float(row["headroom"]), "planning")


def forecast_direction(ctx: RegionContext) -> Item | None:
    if not store.has_result(ctx.con, "forecast"):
        return None
    ahead = ctx.con.execute(f"SELECT ds, yhat FROM {store.result_table('forecast')} WHERE unique_id = ?",
                            [ctx.region]).df()
    if ahead.empty:
        return None
    past = ctx.con.execute("SELECT ds, y FROM result_forecast_actuals WHERE unique_id = ? ORDER BY ds",
                           [ctx.region]).df()
    horizon = len(ahead)
    past = past[past["y"].ne(0).cummax()].tail(horizon)
    if len(past) < horizon or past["y"].sum() <= 0:
        return None
    total, before = float(ahead["yhat"].sum()), float(past["y"].sum())
    change = total - before
    direction = "up" if change >= 0 else "down"
    return Item(f"Forecast: the next {horizon} months are expected at **{money(total, ctx.currency)}**, "
                f"{direction} {percent(abs(change) / before, signed=False)} on the last {horizon}.",
                abs(change), "outlook")


def top_alert(ctx: RegionContext) -> Item | None:
    if not store.has_result(ctx.con, "alerts"):
        return None
    alerts = store.read_result(ctx.con, "alerts", ctx.region)
    if alerts.empty:
        return None
    alerts = alerts[alerts["state"] != "resolved"]
    if alerts.empty:
        return None
    alerts = alerts.assign(_new=alerts["state"].ne("new"), _sev=alerts["severity"].map(SEVERITY_RANK).fillna(9))
    row = alerts.sort_values(["_new", "_sev"]).iloc[0]
    impact = 0.0  # an alert on a ratio or a count has no amount; one on revenue is as far off as its range
    if "revenue" in str(row.get("metric", "")) and pd.notna(row.get("value")):
        bounds = [float(b) for b in (row.get("expected_lo"), row.get("expected_hi"), row.get("threshold"))
                  if b is not None and pd.notna(b)]
        if bounds:
            impact = min(abs(float(row["value"]) - b) for b in bounds)
    state = "new" if row["state"] == "new" else "continuing"
    entity = f" on {esc(row['entity'])}" if pd.notna(row.get("entity")) and str(row.get("entity")) else ""
    return Item(f"Top alert ({state}, {esc(row['severity'])}){entity}: {esc(brief(str(row['evidence'])))}", impact,
                "alerts")


#: the longest evidence an item of the summary quotes; the section it links to gives all of it
BRIEF_CHARS = 160


def brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """``text`` cut at a word before ``limit`` characters, with an ellipsis (a summary item stays a line or two).

    >>> brief("Revenue below 95% of target 3 months running: March 72%, April 70%, May 72%.", 40)
    'Revenue below 95% of target 3 months…'
    >>> brief("Short.")
    'Short.'
    """
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def grow_category(ctx: RegionContext) -> Item | None:
    matrix = sections.fit_matrix(ctx)
    if matrix.empty:
        return None
    recs = fit.recommendations(matrix, ctx.params.fit)
    grow = recs[recs["action"] == "grow"]
    if grow.empty:
        return None
    row = grow.iloc[0]
    impact = row["margin_at_stake"] if pd.notna(row["margin_at_stake"]) else row["gap"]
    what = "margin" if pd.notna(row["margin_at_stake"]) else "revenue"
    return Item(f"Grow **{esc(row['category'])}** in **{_name(ctx, row['channel'])}**, which sells "
                f"{row['share_index']:.2f}× its usual share of it ({money(abs(impact), ctx.currency)} of {what} "
                "at stake).", abs(float(impact)), "fit")


def act_on_partners(ctx: RegionContext) -> Item | None:
    if not store.has_result(ctx.con, "partner_scorecard"):
        return None
    cards = store.read_result(ctx.con, "partner_scorecard", ctx.region)
    flagged = cards[cards["action"].isin(["watch", "eliminate"])] if "action" in cards else cards.iloc[0:0]
    if flagged.empty:
        return None
    revenue_column = next((c for c in ("revenue", "revenue_12m", "revenue_window") if c in flagged), None)
    at_stake = float(flagged[revenue_column].sum()) if revenue_column else 0.0
    n_elim = int((flagged["action"] == "eliminate").sum())
    n_watch = len(flagged) - n_elim
    parts = [f"{n} to {a}" for n, a in ((n_elim, "eliminate"), (n_watch, "watch")) if n]
    stake = f" ({money(at_stake, ctx.currency)} of revenue)" if revenue_column else ""
    return Item(f"Act on partners: {' and '.join(parts)}{stake}; the Partners section gives each one's reasons.",
                at_stake, "partners")


def shift_cost(ctx: RegionContext) -> Item | None:
    cube = store.read_result(ctx.con, "kpi_region_channel_quarter", ctx.region)
    if cube.empty or "channel_roi" not in cube:
        return None
    try:
        p = evaluation.latest_complete_period(ctx.con, "quarter", **ctx.period_args)
    except MissingInput:
        return None
    current = cube[(pd.to_datetime(cube["period"]) == pd.Timestamp(p.start)) & cube["channel_roi"].notna()
                   & (cube["channel_costs"] > 0)]
    if len(current) < 2:
        return None
    average = float(current["contribution_margin"].sum() / current["channel_costs"].sum())
    row = current.loc[current["channel_roi"].idxmin()]
    gain = float(row["channel_costs"]) * (average - float(row["channel_roi"]))
    if gain <= 0:
        return None
    return Item(f"Shift cost away from **{_name(ctx, row['channel'])}**: each unit of cost there returned "
                f"{row['channel_roi']:.2f} in contribution margin in {esc(p.label)} against {average:.2f} across the "
                f"region's channels; spent at the average return, its {money(row['channel_costs'], ctx.currency)} "
                f"would earn **{money(gain, ctx.currency)}** more.", gain, "kpis")


FINDINGS: tuple[Callable[[RegionContext], Item | None], ...] = (
    top_alert, biggest_mover, target_at_risk, white_space, forecast_direction)
ADJUSTMENTS: tuple[Callable[[RegionContext], Item | None], ...] = (
    grow_category, close_white_space, act_on_partners, shift_cost)


def ranked(builders: tuple[Callable[[RegionContext], Item | None], ...], ctx: RegionContext) -> list[Item]:
    """The items that apply, largest impact first, at most :data:`MAX_ITEMS`."""
    items = [item for item in (_safe(b, ctx) for b in builders) if item is not None]
    return sorted(items, key=lambda i: -i.impact)[:MAX_ITEMS]


def executive_summary(ctx: RegionContext) -> list[Any]:
    """The findings and adjustments of ``ctx``'s region as displayable markdown (each item linked to its section)."""
    findings, adjustments = ranked(FINDINGS, ctx), ranked(ADJUSTMENTS, ctx)
    out: list[Any] = []
    if findings:
        out.append(markdown("**What matters now**\n\n" + "\n".join(i.line() for i in findings)))
        if len(findings) < MIN_FINDINGS:
            out.append(note("Fewer findings than usual: the data are too thin for the others (each section below "
                            "says what it lacks)."))
    else:
        out.append(note("No finding stands out: the data are too thin for one (each section below says why)."))
    if adjustments:
        out.append(markdown("**Recommended adjustments for the next period**\n\n"
                            + "\n".join(i.line() for i in adjustments)))
    out.append(note(f"Ranked by impact in {esc(ctx.currency)}: the change, gap or headroom each item names."))
    return out
