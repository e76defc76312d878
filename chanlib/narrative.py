"""Words and numbers for readers: money and percent formatting and sentences generated from results.

Every string that comes from data (region, channel or partner names) is HTML-escaped here, so a name like
``Smith & Sons <Retail>`` shows as text in a report and never as markup.

Examples
--------
>>> money(1234567.891, "EUR")
'EUR 1,234,568'
>>> money(1234567.891, "USD", compact=True)
'USD 1.23M'
>>> percent(0.1234), percent(float("nan"))
('+12.3%', 'n/a')
>>> esc("Smith & Sons <Retail>")
'Smith &amp; Sons &lt;Retail&gt;'
"""
from __future__ import annotations

import html
import math

import pandas as pd


def esc(value: object) -> str:
    """HTML-escape a data-derived value for Markdown or HTML output."""
    return html.escape(str(value), quote=True)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def money(value: float | None, currency: str, compact: bool = False) -> str:
    """An amount with the currency code; ``compact`` gives 1.23M / 45.6k."""
    if _missing(value):
        return "n/a"
    value = float(value)
    if compact:
        for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= threshold:
                return f"{currency} {value / threshold:.3g}{suffix}"
        return f"{currency} {value:.0f}"
    return f"{currency} {value:,.0f}"


def percent(value: float | None, signed: bool = True) -> str:
    """A ratio as a percentage with one decimal, ``n/a`` when undefined."""
    if _missing(value) or math.isinf(float(value)):
        return "n/a"
    return f"{float(value):+.1%}" if signed else f"{float(value):.1%}"


def number(value: float | None) -> str:
    """A count or quantity with thousands separators."""
    return "n/a" if _missing(value) else f"{float(value):,.0f}"


def headline_sentence(row: pd.Series, currency: str, window_months: int) -> str:
    """Two sentences on a region's headline KPIs (``row`` is one row of :func:`chanlib.kpi.headline`)."""
    start, end = pd.Timestamp(row["window_start"]).date(), pd.Timestamp(row["window_end"]).date()
    text = (f"In the {window_months} months from {start} to {end}, **{esc(row['region'])}** sold "
            f"**{money(row['revenue'], currency)}**")
    if not _missing(row.get("gross_margin")):
        text += f" at a gross margin of **{percent(row['margin_pct'], signed=False)}**"
    text += "."
    growth = row.get("growth_yoy")
    if _missing(growth):
        text += " Growth against the same months a year earlier cannot be computed: the data do not reach back that far."
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
