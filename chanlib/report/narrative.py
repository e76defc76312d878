"""Words and numbers for readers: money and percent formatting and sentences generated from results.

Every string that comes from data (region, channel or partner names) is HTML-escaped here, so a name like
``Smith & Sons <Retail>`` shows as text in a report and never as markup.

Examples
--------
>>> money(1234567.891, "EUR")
'EUR 1,234,568'
>>> money(1234567.891, "USD", compact=True), money(-50267.2, "EUR")
('USD 1.23M', '-EUR 50,267')
>>> percent(0.1234), percent(float("nan"))
('+12.3%', 'n/a')
>>> esc("Smith & Sons <Retail>")
'Smith &amp; Sons &lt;Retail&gt;'
"""
from __future__ import annotations

import html
import math

import pandas as pd

from chanlib.periods import Periods


def esc(value: object) -> str:
    """HTML-escape a data-derived value for Markdown or HTML output."""
    return html.escape(str(value), quote=True)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def money(value: float | None, currency: str, compact: bool = False) -> str:
    """An amount with the currency code; ``compact`` gives 1.23M / 45.6k."""
    if value is None or _missing(value):
        return "n/a"
    value = float(value)
    sign, value = ("-" if value < 0 else ""), abs(value)
    if compact:
        for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if value >= threshold:
                return f"{sign}{currency} {value / threshold:.3g}{suffix}"
        return f"{sign}{currency} {value:.0f}"
    return f"{sign}{currency} {value:,.0f}"


def percent(value: float | None, signed: bool = True) -> str:
    """A ratio as a percentage with one decimal, ``n/a`` when undefined."""
    if value is None or _missing(value) or math.isinf(float(value)):
        return "n/a"
    return f"{float(value):+.1%}" if signed else f"{float(value):.1%}"


def number(value: float | None) -> str:
    """A count or quantity with thousands separators."""
    return "n/a" if value is None or _missing(value) else f"{float(value):,.0f}"


def headline_sentence(row: pd.Series, currency: str, window_months: int) -> str:
    """Two sentences on a region's headline KPIs (``row`` is one row of :func:`chanlib.analytics.kpi.headline`)."""
    start, end = pd.Timestamp(row["window_start"]).date(), pd.Timestamp(row["window_end"]).date()
    text = (f"In the {window_months} months from {start} to {end}, **{esc(row['region'])}** sold "
            f"**{money(row['revenue'], currency)}**")
    if not _missing(row.get("gross_margin")):
        text += f" at a gross margin of **{percent(row['margin_pct'], signed=False)}**"
    text += "."
    growth = row.get("growth_yoy")
    if _missing(growth):
        text += (" Growth against the same months a year earlier cannot be computed: the data do not reach back "
                 "that far.")
    else:
        direction = "up" if growth >= 0 else "down"
        text += (f" That is {direction} **{percent(abs(growth), signed=False)}** on the same months a year earlier "
                 f"({money(row['revenue_prev_year'], currency)}).")
    return text


def mix_sentence(mix: pd.DataFrame, region: str) -> str:
    """One sentence naming the leading channel and the concentration of the mix."""
    if mix.empty:
        return f"{esc(region)} has no sales in the window."
    top = mix.sort_values("share", ascending=False).iloc[0]
    return (f"**{esc(top['channel'])}** is the largest of {len(mix)} channels in {esc(region)}, with "
            f"{percent(top['share'], signed=False)} of revenue.")


def trend_sentence(monthly: pd.DataFrame, currency: str) -> str:
    """One sentence on which channel grew most over the last year of monthly data."""
    if monthly.empty:
        return "No monthly sales to show."
    last = monthly["month"].max()
    recent = monthly[monthly["month"] > last - pd.DateOffset(months=12)].groupby("channel")["revenue"].sum()
    earlier = monthly[(monthly["month"] <= last - pd.DateOffset(months=12))
                      & (monthly["month"] > last - pd.DateOffset(months=24))].groupby("channel")["revenue"].sum()
    change = (recent - earlier.reindex(recent.index)).dropna()
    if change.empty:
        return "There is less than two years of data, so channel trends are not compared yet."
    best, worst = change.idxmax(), change.idxmin()
    text = f"Over the last twelve months **{esc(best)}** added the most revenue ({money(change[best], currency)})"
    if worst != best and change[worst] < 0:
        text += f", while **{esc(worst)}** lost the most ({money(change[worst], currency)})"
    return text + " compared with the year before."


# --- channel evaluation (chanlib.analytics: product_fit, planning, period_evaluation) ------------------------------

def period_total_sentence(region: str, label: str, revenue: float, prev_label: str, revenue_prev: float,
                          ly_label: str, revenue_ly: float, currency: str) -> str:
    """One sentence on a period's revenue against the previous period and the same period last year.

    >>> period_total_sentence("A & B", "December 2025", 120.0, "November 2025", 100.0, "December 2024",
    ...                       float("nan"), "EUR")
    'In December 2025 **A &amp; B** sold **EUR 120**, +20.0% on November 2025 (EUR 100); the data do not reach back
    to December 2024.'
    """
    parts, missing = [], []
    bases = [(prev_label, revenue_prev)] + ([(ly_label, revenue_ly)] if ly_label != prev_label else [])
    for name, base in bases:  # for yearly periods the previous period is last year: compare once
        if _missing(base):
            missing.append(name)
        elif base > 0:
            parts.append(f"{percent(revenue / base - 1)} on {name} ({money(base, currency)})")
        else:
            parts.append(f"with no sales in {name}")
    text = f"In {label} **{esc(region)}** sold **{money(revenue, currency)}**"
    text += (", " + " and ".join(parts)) if parts else ""
    if missing:
        text += f"; the data do not reach back to {' or '.join(missing)}"
    return text + "."


def channel_change_sentence(channel: str, region: str | None, base_label: str, revenue: float, revenue_base: float,
                            volume: float, mix: float, share: float, share_base: float, currency: str) -> str:
    """One sentence on a channel's revenue change, split into volume and mix effects.

    >>> channel_change_sentence("web <x>", None, "December 2024", 150.0, 90.0, 20.0, 40.0, 0.75, 0.6, "EUR")
    '**web &lt;x&gt;** rose by EUR 60 (+66.7%) on December 2024 to EUR 150: EUR 20 from the overall change in
    revenue (volume) and EUR 40 from its share of the mix (75.0%, was 60.0%).'
    """
    name = f"**{esc(channel)}**" + (f" in {esc(region)}" if region is not None else "")
    change = revenue - revenue_base
    if revenue_base <= 0:
        return (f"{name} sold {money(revenue, currency)} with no sales in {base_label} "
                f"(growth cannot be computed).")
    if revenue <= 0:
        return f"{name} had no sales, against {money(revenue_base, currency)} in {base_label}."
    verb = "rose" if change >= 0 else "fell"
    return (f"{name} {verb} by {money(abs(change), currency)} ({percent(change / revenue_base)}) on {base_label} "
            f"to {money(revenue, currency)}: {money(volume, currency)} from the overall change in revenue (volume) "
            f"and {money(mix, currency)} from its share of the mix ({percent(share, signed=False)}, was "
            f"{percent(share_base, signed=False)}).")


def fit_recommendation_sentence(row: pd.Series, currency: str) -> str:
    """One sentence for a row of :func:`chanlib.analytics.product_fit.recommendations` (names escaped).

    >>> row = pd.Series({"action": "grow", "category": "Toys & Games", "channel": "web", "share_index": 2.5,
    ...                  "share_in_channel": 0.25, "share_overall": 0.1, "margin_pct": 0.3,
    ...                  "channel_margin_pct": 0.28, "gap": 1500.0})
    >>> fit_recommendation_sentence(row, "EUR")
    '**Grow Toys &amp; Games in web**: it is 25.0% of the channel against 10.0% overall (share index 2.50), EUR
    1,500 above an average mix, at a 30.0% margin (channel 28.0%).'
    """
    gap = row["gap"]
    where = "above" if gap >= 0 else "below"
    text = (f"**{row['action'].capitalize()} {esc(row['category'])} in {esc(row['channel'])}**: it is "
            f"{percent(row['share_in_channel'], signed=False)} of the channel against "
            f"{percent(row['share_overall'], signed=False)} overall (share index {row['share_index']:.2f}), "
            f"{money(abs(gap), currency)} {where} an average mix")
    if not _missing(row.get("margin_pct")):
        text += (f", at a {percent(row['margin_pct'], signed=False)} margin "
                 f"(channel {percent(row['channel_margin_pct'], signed=False)})")
    return text + "."


def white_space_sentence(row: pd.Series, currency: str) -> str:
    """One sentence for a row of :func:`chanlib.analytics.planning.white_space` (names escaped).

    >>> row = pd.Series({"region": "North", "channel": "web", "revenue": 0.0, "market_size": 1e6,
    ...                  "penetration": 0.0, "benchmark_penetration": 0.02, "headroom": 20000.0})
    >>> white_space_sentence(row, "EUR")
    '**web in North**: no sales yet in a market of EUR 1,000,000; at the peer benchmark of 2.0% penetration that is
    EUR 20,000.'
    """
    head = f"**{esc(row['channel'])} in {esc(row['region'])}**: "
    if row["revenue"] <= 0:
        head += f"no sales yet in a market of {money(row['market_size'], currency)}"
    else:
        head += (f"{money(row['revenue'], currency)} is {percent(row['penetration'], signed=False)} of a market of "
                 f"{money(row['market_size'], currency)}")
    return (f"{head}; at the peer benchmark of {percent(row['benchmark_penetration'], signed=False)} penetration "
            f"that is {money(row['headroom'], currency)}" + (" more." if row["revenue"] > 0 else "."))


def channel_kpi_sentence(frame: pd.DataFrame, region: str, period_label: str) -> str:
    """A few sentences on a region's channel KPIs for one period (rows of :func:`chanlib.analytics.kpi.kpi_table`)."""
    if frame.empty:
        return f"{esc(region)} has no channel sales in {esc(period_label)}."
    parts = []
    growth = frame.dropna(subset=["growth_yoy"]) if "growth_yoy" in frame else frame.iloc[0:0]
    if len(growth):
        best = growth.loc[growth["growth_yoy"].idxmax()]
        parts.append(f"In {esc(period_label)}, **{esc(best['channel'])}** grew fastest against the same quarter last "
                     f"year ({percent(best['growth_yoy'])}).")
    if "target_attainment" in frame and frame["target_attainment"].notna().any():
        missed = frame[frame["target_attainment"] < 1].sort_values("target_attainment")
        if len(missed):
            names = ", ".join(f"**{esc(r.channel)}** ({percent(r.target_attainment, signed=False)})"
                              for r in missed.head(3).itertuples())
            parts.append(f"Below target: {names}.")
        else:
            parts.append("Every channel met its target.")
    if "channel_roi" in frame and frame["channel_roi"].notna().any():
        worst = frame.loc[frame["channel_roi"].idxmin()]
        best = frame.loc[frame["channel_roi"].idxmax()]
        parts.append(f"Channel ROI ranges from {percent(worst['channel_roi'], signed=False)} in "
                     f"**{esc(worst['channel'])}** to {percent(best['channel_roi'], signed=False)} in "
                     f"**{esc(best['channel'])}**.")
    if "weeks_of_supply" in frame and frame["weeks_of_supply"].notna().any():
        slow = frame.loc[frame["weeks_of_supply"].idxmax()]
        parts.append(f"Partners' stock is heaviest in **{esc(slow['channel'])}**: "
                     f"{slow['weeks_of_supply']:.1f} weeks of supply.")
    return " ".join(parts)


def key_changes(p: Periods, comparison: pd.DataFrame, decomposition: pd.DataFrame, against: str, region: str | None,
                currency: str, n: int = 3) -> list[str]:
    """A few Markdown sentences on the changes that matter most (data-derived names escaped).

    ``comparison`` and ``decomposition`` come from :func:`chanlib.analytics.period_evaluation.period_comparison` and
    :func:`~chanlib.analytics.period_evaluation.mix_volume_decomposition` (against ``against``) of period ``p``. The
    first sentence gives the total against the previous period and last year (for ``region=None``: the whole
    business). Then up to ``n`` region x channel cells with the largest absolute revenue change, each with its
    volume and mix effects.
    """
    totals = comparison[["revenue", "revenue_prev", "revenue_ly"]].sum(min_count=1)
    if not p.prev_covered:
        totals["revenue_prev"] = float("nan")
    if not p.ly_covered:
        totals["revenue_ly"] = float("nan")
    sentences = [period_total_sentence(region or "All regions", p.label, totals["revenue"], p.prev_label,
                                       totals["revenue_prev"], p.ly_label, totals["revenue_ly"], currency)]
    if decomposition["change"].isna().all():
        return sentences
    dec = decomposition[decomposition["change"].abs() > 0]
    top = dec.reindex(dec["change"].abs().sort_values(ascending=False).index).head(n)
    base_label = p.ly_label if against == "last_year" else p.prev_label
    for row in top.itertuples(index=False):
        sentences.append(channel_change_sentence(
            row.channel, None if region is not None else row.region, base_label, row.revenue, row.revenue_base,
            row.volume_effect, row.mix_effect, row.share, row.share_base, currency))
    return sentences


# --- segmentation (chanlib.analytics.segment) ----------------------------------------------------------------------

#: profile column -> label in the report
PROFILE_LABELS = {
    "segment_id": "Segment", "segment_name": "Name", "partners": "Partners", "share": "Share of partners",
    "revenue_share": "Share of revenue", "revenue": "Revenue, median", "growth": "Growth, median",
    "volatility": "Volatility (CV)", "margin": "Gross margin", "online_share": "Online share",
    "recency_days": "Days since last sale", "target_attainment": "Target attainment", "sell_through": "Sell-through",
}
#: labels of profile columns to format as money / as percentages (for :func:`chanlib.report.display.table`)
PROFILE_MONEY = ["Revenue, median"]
PROFILE_PERCENT = ["Share of partners", "Share of revenue", "Gross margin", "Online share", "Target attainment",
                   "Sell-through"]


def profile_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """The profile of every segment with readable column labels (see :data:`PROFILE_MONEY`, :data:`PROFILE_PERCENT`).

    Growth is a signed percentage (text); volatility and days are rounded numbers; the rest is left to
    :func:`chanlib.report.display.table` with :data:`PROFILE_MONEY` and :data:`PROFILE_PERCENT`.
    """
    shown = profiles[[c for c in PROFILE_LABELS if c in profiles.columns]].copy()
    if "growth" in shown.columns:
        shown["growth"] = [percent(v) for v in shown["growth"]]
    for column in ("volatility", "recency_days"):
        if column in shown.columns:
            shown[column] = shown[column].round(2 if column == "volatility" else 0)
    return shown.rename(columns=PROFILE_LABELS)


def segment_sentence(sizes: pd.DataFrame, region: str) -> str:
    """One sentence on a region's segments: how many, and which holds the most revenue (escaped Markdown)."""
    if sizes.empty:
        return f"{esc(region)} has no segmented partners."
    n = int(sizes["partners"].sum())
    key = "revenue_share" if "revenue_share" in sizes.columns and sizes["revenue_share"].notna().any() else "partners"
    top = sizes.sort_values([key, "segment_id"], ascending=[False, True]).iloc[0]
    what = (f"the largest share of revenue ({percent(top['revenue_share'], signed=False)})" if key == "revenue_share"
            else "the most partners")
    return (f"{esc(region)} has {n} partner{'s' if n != 1 else ''} in {len(sizes)} segment"
            f"{'s' if len(sizes) != 1 else ''}; {what} comes from the {int(top['partners'])} partner(s) of segment "
            f"**{int(top['segment_id'])} · {esc(top['segment_name'])}**.")
