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

from chanlib.analytics import definitions
from chanlib.config import MEAN_FEATURES, PeriodSettings
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


def growth_reason(value: float | None, base: float | None, months: float | None,
                  settings: PeriodSettings | None = None, currency: str = "", base_label: str = "the earlier period",
                  period_months: int | None = None) -> str | None:
    """Why a growth figure must not be shown, or ``None`` when it may (escaped text).

    ``value`` is the growth ratio (``0.12`` = +12%), ``base`` the earlier period's revenue (``NaN``: the data do
    not reach back to it; 0: it had no sales), ``months`` how many calendar months of it had sales (``None``: not
    known). Growth is shown only on a base of at least ``periods.min_growth_base`` with sales in at least
    ``periods.min_growth_months`` months (at most ``period_months``, the length of the period compared), and not
    when net revenue has turned negative (returns larger than sales: a "-115%" says nothing).

    >>> s = PeriodSettings(min_growth_base=1000, min_growth_months=3)
    >>> growth_reason(10.548, 8.0, 2, s, "GBP")
    'only GBP 8 in the earlier period, below the minimum base of GBP 1,000'
    >>> growth_reason(0.1, 5000.0, 2, s, "GBP", "the same months a year earlier")
    'sales in only 2 months of the same months a year earlier (at least 3 needed)'
    >>> growth_reason(-1.147, 5000.0, 12, s, "GBP"), growth_reason(0.1, 5000.0, 12, s, "GBP") is None
    ('net revenue is negative now (returns exceed sales)', True)
    >>> growth_reason(float("nan"), 0.0, 0, s), growth_reason(float("nan"), float("nan"), None, s)
    ('no sales in the earlier period', 'the data do not reach back to the earlier period')
    """
    s = settings or PeriodSettings()
    label = esc(base_label)
    if _missing(base):
        return f"the data do not reach back to {label}"
    base = float(base)  # type: ignore[arg-type]
    if base == 0:
        return f"no sales in {label}"
    if base < 0:
        return f"net revenue in {label} was negative ({money(base, currency).strip()}: returns exceeded sales)"
    if base < s.min_growth_base:
        return (f"only {money(base, currency).strip()} in {label}, below the minimum base of "
                f"{money(s.min_growth_base, currency).strip()}")
    need = min(s.min_growth_months, period_months) if period_months else s.min_growth_months
    if not _missing(months) and float(months) < need:  # type: ignore[arg-type]
        n = int(months)  # type: ignore[arg-type]
        return f"sales in only {n} month{'s' if n != 1 else ''} of {label} (at least {need} needed)"
    if _missing(value) or math.isinf(float(value)):  # type: ignore[arg-type]
        return "growth cannot be computed"
    if float(value) < -1:  # type: ignore[arg-type]
        return "net revenue is negative now (returns exceed sales)"
    return None


def growth_or_reason(value: float | None, base: float | None, months: float | None,
                     settings: PeriodSettings | None = None, currency: str = "",
                     base_label: str = "the earlier period", period_months: int | None = None) -> str:
    """The growth as a signed percentage, or "too little data (<why>)" (see :func:`growth_reason`).

    >>> s = PeriodSettings(min_growth_base=1000, min_growth_months=3)
    >>> growth_or_reason(0.25, 4000.0, 12, s, "EUR"), growth_or_reason(0.25, 0.0, 0, s, "EUR")
    ('+25.0%', 'too little data (no sales in the earlier period)')
    """
    reason = growth_reason(value, base, months, settings, currency, base_label, period_months)
    return percent(value) if reason is None else f"too little data ({reason})"


def ordinal(n: int) -> str:
    """An English ordinal: 1st, 2nd, 3rd, 9th, 11th, 22nd.

    >>> [ordinal(n) for n in (1, 2, 3, 9, 11, 12, 13, 21, 22, 31)]
    ['1st', '2nd', '3rd', '9th', '11th', '12th', '13th', '21st', '22nd', '31st']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def headline_sentence(row: pd.Series, currency: str, window_months: int, margin_from_profit: bool = False,
                      growth_settings: PeriodSettings | None = None) -> str:
    """Two sentences on a region's headline KPIs (``row`` is one row of :func:`chanlib.analytics.kpi.headline`);
    ``margin_from_profit`` calls the margin a profit margin (see
    :func:`chanlib.analytics.definitions.margin_from_profit`); growth is stated only on the base and history
    ``growth_settings`` ask for (see :func:`growth_reason`)."""
    start, end = pd.Timestamp(row["window_start"]).date(), pd.Timestamp(row["window_end"]).date()
    text = (f"In the {window_months} months from {start} to {end}, **{esc(row['region'])}** sold "
            f"**{money(row['revenue'], currency)}**")
    if not _missing(row.get("gross_margin")):
        margin = definitions.label("margin_pct", margin_from_profit).removesuffix(" %").lower()
        text += f" at a {margin} of **{percent(row['margin_pct'], signed=False)}**"
    text += "."
    growth = row.get("growth_yoy")
    reason = growth_reason(growth, row.get("revenue_prev_year"), row.get("months_prev_year"), growth_settings,
                           currency, "the same months a year earlier", window_months)
    if reason is not None:
        text += f" Growth against the same months a year earlier is not shown: too little data ({reason})."
    else:
        direction = "up" if growth >= 0 else "down"
        text += (f" That is {direction} **{percent(abs(growth), signed=False)}** on the same months a year earlier "
                 f"({money(row['revenue_prev_year'], currency)}).")
    return text


def as_of_sentence(data_set: str, as_of: pd.Timestamp, currency: str, tolerance_days: int) -> str:
    """The report header's sentence on the one as-of date and what counts as a complete period (escaped).

    >>> as_of_sentence("demo", pd.Timestamp("2025-12-09"), "EUR", 3)
    "Data set **demo**, amounts in EUR. **As of 2025-12-09**, the last sale in the data (the same date in every
    region's report). A month, quarter or year counts as complete when the data reach within 3 days of its end."
    """
    days = f"{tolerance_days} day{'s' if tolerance_days != 1 else ''}"
    return (f"Data set **{esc(data_set)}**, amounts in {esc(currency)}. **As of {pd.Timestamp(as_of).date()}**, the "
            f"last sale in the data (the same date in every region's report). A month, quarter or year counts as "
            f"complete when the data reach within {days} of its end.")


def windows_table(rows: list[tuple[str, str]]) -> str:
    """A Markdown table of which window each section covers (``rows``: section, window; not data-derived)."""
    return "\n".join(["| Section | Window |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def partial_month_sentence(month_label: str, last_sale: pd.Timestamp, drawn: str = "dashed") -> str:
    """What the monthly chart does with a partial last month (``drawn``: how the chart marks it).

    >>> partial_month_sentence("December 2025", pd.Timestamp("2025-12-09"))
    'December 2025 is a partial month (sales to the 9th): it is drawn dashed and is not comparable with full months.'
    """
    return (f"{month_label} is a partial month (sales to the {ordinal(pd.Timestamp(last_sale).day)}): it is drawn "
            f"{drawn} and is not comparable with full months.")


def mix_sentence(mix: pd.DataFrame, region: str) -> str:
    """One sentence naming the leading channel and the concentration of the mix."""
    if mix.empty:
        return f"{esc(region)} has no sales in the window."
    if mix["share"].isna().all():  # only returns (chanlib.analytics.kpi.channel_mix): no share to name
        return f"{esc(region)} has only returns in the window, no sales to share out among channels."
    top = mix.sort_values("share", ascending=False).iloc[0]
    what = "gross revenue" if "returns" in mix and (mix["returns"] > 0).any() else "revenue"
    if len(mix) == 1:
        return f"**{esc(top['channel'])}** is the only channel in {esc(region)}."
    return (f"**{esc(top['channel'])}** is the largest of {len(mix)} channels in {esc(region)}, with "
            f"{percent(top['share'], signed=False)} of {what}.")


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
                          ly_label: str, revenue_ly: float, currency: str,
                          growth_settings: PeriodSettings | None = None) -> str:
    """One sentence on a period's revenue against the previous period and the same period last year; a growth
    figure is stated only on the base ``growth_settings`` ask for (see :func:`growth_reason`).

    >>> period_total_sentence("A & B", "December 2025", 12000.0, "November 2025", 10000.0, "December 2024",
    ...                       float("nan"), "EUR")
    'In December 2025 **A &amp; B** sold **EUR 12,000**, +20.0% on November 2025 (EUR 10,000); the data do not reach
    back to December 2024.'
    >>> period_total_sentence("A", "December 2025", 120.0, "November 2025", 100.0, "December 2024", 90.0, "EUR")
    ... # doctest: +ELLIPSIS
    'In December 2025 **A** sold **EUR 120**, growth not shown (only EUR 100 in November 2025, below the minimum base of
    EUR 1,000) and growth not shown (...).'
    """
    parts, missing = [], []
    bases = [(prev_label, revenue_prev)] + ([(ly_label, revenue_ly)] if ly_label != prev_label else [])
    for name, base in bases:  # for yearly periods the previous period is last year: compare once
        if _missing(base):
            missing.append(name)
        elif base > 0:
            reason = growth_reason(revenue / base - 1, base, None, growth_settings, currency, name)
            growth = percent(revenue / base - 1) if reason is None else f"growth not shown ({reason})"
            parts.append(f"{growth} on {name} ({money(base, currency)})" if reason is None else growth)
        else:
            parts.append(f"with no sales in {name}")
    text = f"In {label} **{esc(region)}** sold **{money(revenue, currency)}**"
    text += (", " + " and ".join(parts)) if parts else ""
    if missing:
        text += f"; the data do not reach back to {' or '.join(missing)}"
    return text + "."


def channel_change_sentence(channel: str, region: str | None, base_label: str, revenue: float, revenue_base: float,
                            market_growth: float, share_shift: float, share: float, share_base: float,
                            currency: str, growth_settings: PeriodSettings | None = None) -> str:
    """One sentence on a channel's revenue change, split into market growth (the region's change at the channel's
    base share) and share shift (:func:`chanlib.analytics.period_evaluation.share_shift_decomposition`).

    >>> channel_change_sentence("web <x>", None, "December 2024", 15000.0, 9000.0, 2000.0, 4000.0, 0.75, 0.6, "EUR")
    "**web &lt;x&gt;** rose by EUR 6,000 (+66.7%) on December 2024 to EUR 15,000: EUR 2,000 from the region's market
    growth (its December 2024 share of the region's change) and EUR 4,000 from a shift in its share of the region
    (75.0%, was 60.0%)."
    """
    name = f"**{esc(channel)}**" + (f" in {esc(region)}" if region is not None else "")
    change = revenue - revenue_base
    if revenue_base <= 0:
        return (f"{name} sold {money(revenue, currency)} with no sales in {base_label} "
                f"(growth cannot be computed).")
    if revenue < 0:
        return (f"{name} had more returns than sales, {money(-revenue, currency)} net, against "
                f"{money(revenue_base, currency)} in {base_label}.")
    if revenue == 0:
        return f"{name} had no sales, against {money(revenue_base, currency)} in {base_label}."
    verb = "rose" if change >= 0 else "fell"
    reason = growth_reason(change / revenue_base, revenue_base, None, growth_settings, currency, base_label)
    growth = percent(change / revenue_base) if reason is None else "growth not shown: too little data"
    return (f"{name} {verb} by {money(abs(change), currency)} ({growth}) on {base_label} "
            f"to {money(revenue, currency)}: {money(market_growth, currency)} from the region's market growth (its "
            f"{base_label} share of the region's change) and {money(share_shift, currency)} from a shift in its share "
            f"of the region ({percent(share, signed=False)}, was {percent(share_base, signed=False)}).")


def fit_recommendation_sentence(row: pd.Series, currency: str) -> str:
    """One sentence for a row of :func:`chanlib.analytics.product_fit.recommendations` (names escaped): the share
    index, the revenue vs an average mix (which sums to zero per channel, so it is not money at stake), the margins
    and the margin at stake.

    >>> row = pd.Series({"action": "develop", "category": "Toys & Games", "channel": "web", "share_index": 0.5,
    ...                  "share_in_channel": 0.05, "share_overall": 0.1, "margin_pct": 0.4, "channel_margin_pct": 0.3,
    ...                  "rest_margin_pct": 0.295, "gap": -1500.0, "margin_at_stake": 157.5,
    ...                  "rule": "under-sold but more profitable than the channel"})
    >>> fit_recommendation_sentence(row, "EUR")
    '**Develop Toys &amp; Games in web**: it is 5.0% of the channel against 10.0% overall (share index 0.50), EUR
    1,500 less revenue than at an average mix, at a 40.0% margin against 30.0% for the channel: under-sold but more
    profitable than the channel, an opportunity; margin at stake EUR 158.'
    """
    gap = row["gap"]
    text = (f"**{str(row['action']).capitalize()} {esc(row['category'])} in {esc(row['channel'])}**: it is "
            f"{percent(row['share_in_channel'], signed=False)} of the channel against "
            f"{percent(row['share_overall'], signed=False)} overall (share index {row['share_index']:.2f}), "
            f"{money(abs(gap), currency)} {'more' if gap >= 0 else 'less'} revenue than at an average mix")
    if _missing(row.get("margin_pct")):
        return text + "."
    text += (f", at a {percent(row['margin_pct'], signed=False)} margin against "
             f"{percent(row['channel_margin_pct'], signed=False)} for the channel")
    why = "" if str(row["action"]) == "grow" else str(row.get("rule") or "")
    if row["action"] == "develop":
        why += ", an opportunity" if why else "an opportunity"
    if why:
        text += f": {why}"
    stake = row.get("margin_at_stake")
    if not _missing(stake):
        text += (f"; margin at stake {money(stake, currency)}" if why else
                 f" (margin at stake {money(stake, currency)})")
    return text + "."


def market_name(served_market: object) -> str:
    """The market a planning cell is measured against, in words (``None``: the whole regional market).

    >>> market_name("cross_border"), market_name(None)
    ('cross-border market', 'whole regional market')
    """
    if _missing(served_market):
        return "whole regional market"
    return f"{esc(str(served_market).replace('_', '-'))} market"


def per_market_label(partners_per: float, currency: str) -> str:
    """What ``partners_per_million`` counts per: e.g. "partners per EUR 1M of market".

    >>> per_market_label(1e6, "EUR"), per_market_label(250_000, "GBP")
    ('Partners per EUR 1M of market', 'Partners per GBP 250k of market')
    """
    return f"Partners per {money(partners_per, currency, compact=True)} of market"


def white_space_sentence(row: pd.Series, currency: str) -> str:
    """One sentence for a row of :func:`chanlib.analytics.planning.white_space` (names escaped): penetration of the
    served market against the benchmark of its peers, with their number.

    >>> row = pd.Series({"region": "North", "channel": "web", "revenue": 20000.0, "market_size": 1e6,
    ...                  "served_market": "domestic", "penetration": 0.02, "benchmark_penetration": 0.035,
    ...                  "peers": 3, "headroom": 15000.0})
    >>> white_space_sentence(row, "EUR")
    '**web in North**: EUR 20,000 is 2.0% of the domestic market of EUR 1,000,000; the benchmark of 3 peer regions
    is 3.5% penetration, EUR 15,000 more.'
    """
    head = f"**{esc(row['channel'])} in {esc(row['region'])}**: "
    market = market_name(row.get("served_market"))
    if row["revenue"] <= 0:
        head += f"no sales yet in the {market} of {money(row['market_size'], currency)}"
    else:
        head += (f"{money(row['revenue'], currency)} is {percent(row['penetration'], signed=False)} of the {market} "
                 f"of {money(row['market_size'], currency)}")
    peers = row.get("peers")
    who = "peer benchmark" if _missing(peers) else f"benchmark of {int(peers)} peer region{'s' * (int(peers) != 1)}"
    return (f"{head}; the {who} is {percent(row['benchmark_penetration'], signed=False)} penetration, "
            f"{money(row['headroom'], currency)}" + (" more." if row["revenue"] > 0 else "."))


def too_few_peers(peers: object) -> str:
    """The benchmark's stand-in when too few other regions sell a channel.

    >>> too_few_peers(2)
    'too few peers (2)'
    """
    return f"too few peers ({0 if _missing(peers) else int(float(str(peers)))})"


def untapped_sentence(frame: pd.DataFrame, currency: str) -> str:
    """One sentence listing the channels a region does not sell in (rows of
    :func:`chanlib.analytics.planning.untapped`), with their market and, where peers allow, the potential.

    >>> f = pd.DataFrame({"channel": ["web", "fax & co"], "served_market": ["cross_border", None],
    ...                   "market_size": [2e6, 5e5], "peers": [3, 1], "benchmark_penetration": [0.02, float("nan")],
    ...                   "potential": [40000.0, float("nan")]})
    >>> untapped_sentence(f, "EUR")
    'Not sold here: **web** (cross-border market of EUR 2M; at the benchmark of 3 peer regions, 2.0% penetration, EUR
    40k), **fax &amp; co** (whole regional market of EUR 500k; too few peers (1)).'
    """
    if frame.empty:
        return ""
    parts = []
    for row in frame.itertuples(index=False):
        text = f"**{esc(row.channel)}** ({market_name(row.served_market)} of {money(row.market_size, currency, True)}; "
        if _missing(row.benchmark_penetration):
            text += f"{too_few_peers(row.peers)})"
        else:
            text += (f"at the benchmark of {int(row.peers)} peer regions, "
                     f"{percent(row.benchmark_penetration, signed=False)} penetration, "
                     f"{money(row.potential, currency, True)})")
        parts.append(text)
    return "Not sold here: " + ", ".join(parts) + "."


def no_benchmark_sentence(frame: pd.DataFrame, min_peers: int) -> str:
    """One sentence on the channels a region sells in that have no benchmark (``frame``: channel, peers).

    >>> no_benchmark_sentence(pd.DataFrame({"channel": ["web", "shop"], "peers": [2, 0]}), 3)
    'No benchmark for **web** (too few peers (2)), **shop** (too few peers (0)): a benchmark needs at least 3 other
    regions selling the channel.'
    """
    if frame.empty:
        return ""
    names = ", ".join(f"**{esc(r.channel)}** ({too_few_peers(r.peers)})" for r in frame.itertuples(index=False))
    return (f"No benchmark for {names}: a benchmark needs at least {min_peers} other region"
            f"{'s' * (min_peers != 1)} selling the channel.")


def whole_market_sentence(channels: list[str]) -> str:
    """One line naming the channels measured against the whole regional market, because the data do not size the
    market they serve.

    >>> whole_market_sentence(["web", "a & b"])
    '**web**, **a &amp; b**: measured against the whole regional market, since the data have no market of their own
    for them (the market column of the channels and market tables).'
    """
    if not channels:
        return ""
    return (", ".join(f"**{esc(c)}**" for c in channels) + ": measured against the whole regional market, since the "
            "data have no market of their own for them (the market column of the channels and market tables).")


#: the run's Definitions page, written beside the region reports (:func:`chanlib.report.runner.run_report`)
DEFINITIONS_PAGE = "definitions.html"


def definitions_link() -> str:
    """The report header's link to the run's Definitions page (relative: the page sits beside the report).

    >>> definitions_link()
    'How every figure is computed: [Definitions](definitions.html).'
    """
    return f"How every figure is computed: [Definitions]({DEFINITIONS_PAGE})."


def points(value: float | None, signed: bool = False) -> str:
    """A share of revenue in percentage points (``0.15`` -> ``15.0 pts``), ``n/a`` when undefined.

    >>> points(0.15), points(-0.021, signed=True), points(float("nan"))
    ('15.0 pts', '-2.1 pts', 'n/a')
    """
    if value is None or _missing(value) or math.isinf(float(value)):
        return "n/a"
    return f"{100 * float(value):+.1f} pts" if signed else f"{100 * float(value):.1f} pts"


def score_with_count(value: float | None, responses: float | None, nps: bool = True) -> str:
    """A feedback score with its number of responses: ``12 (n = 15)``; an NPS is a whole number, a mean score has
    one decimal.

    >>> score_with_count(12.4, 15), score_with_count(3.46, 8, nps=False), score_with_count(float("nan"), 0)
    ('12 (n = 15)', '3.5 (n = 8)', 'n/a')
    """
    if value is None or _missing(value):
        return "n/a"
    shown = f"{float(value):.0f}" if nps else f"{float(value):.1f}"
    return f"{shown} (n = {number(responses)})"


def kpi_value(key: str, value: object, currency: str = "") -> str:
    """``value`` of KPI ``key`` formatted by its kind (:mod:`chanlib.analytics.definitions`): money, percent,
    points, number, weeks, days, score or index.

    >>> kpi_value("sell_through_rate", 0.75), kpi_value("contribution_margin_pct", 0.15), kpi_value("hhi", 0.38)
    ('75.0%', '15.0 pts', '0.38')
    >>> kpi_value("revenue", 1234.5, "EUR"), kpi_value("growth_yoy", 0.1), kpi_value("weeks_of_supply", 16.84)
    ('EUR 1,234', '+10.0%', '16.8')
    """
    d = definitions.get(key)
    if value is None or _missing(value):
        return "n/a"
    v = float(value)  # type: ignore[arg-type]
    if d.kind == "money":
        return money(v, currency)
    if d.kind == "percent":
        return percent(v, signed=d.signed)
    if d.kind == "points":
        return points(v, signed=d.signed)
    if d.kind in ("weeks", "score"):
        return f"{v:.1f}"
    if d.kind == "index":
        return f"{v:.2f}"
    return number(v)


def channel_kpi_sentence(frame: pd.DataFrame, region: str, period_label: str, margin_from_profit: bool = False,
                         nps: bool = True, growth_settings: PeriodSettings | None = None) -> str:
    """A few sentences on a region's channel KPIs for one period (rows of :func:`chanlib.analytics.kpi.kpi_table`):
    growth, targets, contribution margin beside ROI, partner concentration (HHI and top-N with N), sell-through
    beside sell-out ÷ sell-in, and NPS with its number of responses. ``margin_from_profit`` words the margin as
    profit; ``nps`` says ``feedback_score`` is an NPS (else a mean score).

    >>> f = pd.DataFrame({"channel": ["web", "shop"], "contribution_margin_pct": [0.15, 0.04],
    ...                   "channel_roi": [0.6, 0.18], "hhi": [0.38, 1.0], "top_partner_share": [0.8, None],
    ...                   "top_partner_n": [2.0, None], "active_partners": [3, 1], "sell_through_rate": [0.75, 0.4],
    ...                   "sell_out_to_sell_in": [1.5, 0.9], "weeks_of_supply": [2.0, 20.0],
    ...                   "feedback_score": [12.0, -20.0], "feedback_responses": [15, 5]})
    >>> print(channel_kpi_sentence(f, "East", "2025 Q3"))  # doctest: +NORMALIZE_WHITESPACE
    Contribution margin (gross margin − channel costs, in points of revenue) ranges from 4.0 pts in **shop** to
    15.0 pts in **web** (channel ROI, contribution margin ÷ channel costs: 18.0% and 60.0%). Partner revenue is
    most concentrated in **shop**: HHI 1.00, a single partner. Sell-through (units sold ÷ (sold + closing stock))
    is lowest in **shop**: 40.0%, with 20.0 weeks of supply; sell-out ÷ sell-in there is 90.0%. NPS is lowest in
    **shop**: -20 (n = 5); highest in **web**: 12 (n = 15).
    """
    if frame.empty:
        return f"{esc(region)} has no channel sales in {esc(period_label)}."
    parts = []
    growth = frame.dropna(subset=["growth_yoy"]) if "growth_yoy" in frame else frame.iloc[0:0]
    if len(growth) and "revenue_prev_year" in growth:  # growth on a tiny base says nothing (periods.min_growth_base)
        growth = growth[growth["revenue_prev_year"] >= (growth_settings or PeriodSettings()).min_growth_base]
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
    margin = definitions.label("gross_margin", margin_from_profit).lower()

    def has(column: str) -> bool:
        return column in frame and frame[column].notna().any()

    def at(column: str, which: str) -> pd.Series:
        values = frame[column].astype("float64")
        return frame.loc[values.idxmin() if which == "min" else values.idxmax()]

    if has("contribution_margin_pct"):
        low, high = at("contribution_margin_pct", "min"), at("contribution_margin_pct", "max")
        text = (f"Contribution margin ({margin} − channel costs, in points of revenue) ranges from "
                f"{points(low['contribution_margin_pct'])} in **{esc(low['channel'])}** to "
                f"{points(high['contribution_margin_pct'])} in **{esc(high['channel'])}**")
        if has("channel_roi"):
            text += (f" (channel ROI, contribution margin ÷ channel costs: {percent(low['channel_roi'], signed=False)} "
                     f"and {percent(high['channel_roi'], signed=False)})")
        parts.append(text + ".")
    elif has("channel_roi"):
        worst, best = at("channel_roi", "min"), at("channel_roi", "max")
        parts.append(f"Channel ROI ranges from {percent(worst['channel_roi'], signed=False)} in "
                     f"**{esc(worst['channel'])}** to {percent(best['channel_roi'], signed=False)} in "
                     f"**{esc(best['channel'])}**.")
    if has("hhi"):
        top = at("hhi", "max")
        text = f"Partner revenue is most concentrated in **{esc(top['channel'])}**: HHI {top['hhi']:.2f}"
        if "top_partner_share" in top and not _missing(top["top_partner_share"]):
            n, active = int(top["top_partner_n"]), top.get("active_partners")
            text += (f", the largest {n} of its {number(active)} partners hold "
                     f"{percent(top['top_partner_share'], signed=False)}")
        elif not _missing(top.get("active_partners")) and top["active_partners"] == 1:
            text += ", a single partner"
        parts.append(text + ".")
    if has("sell_through_rate"):
        slow = at("sell_through_rate", "min")
        text = (f"Sell-through (units sold ÷ (sold + closing stock)) is lowest in **{esc(slow['channel'])}**: "
                f"{percent(slow['sell_through_rate'], signed=False)}")
        if not _missing(slow.get("weeks_of_supply")):
            text += f", with {slow['weeks_of_supply']:.1f} weeks of supply"
        if not _missing(slow.get("sell_out_to_sell_in")):
            text += f"; sell-out ÷ sell-in there is {percent(slow['sell_out_to_sell_in'], signed=False)}"
        parts.append(text + ".")
    elif has("weeks_of_supply"):
        slow = at("weeks_of_supply", "max")
        parts.append(f"Partners' stock is heaviest in **{esc(slow['channel'])}**: "
                     f"{slow['weeks_of_supply']:.1f} weeks of supply.")
    if has("feedback_score"):
        name = definitions.label("feedback_score" if nps else "feedback_mean_score")
        low, high = at("feedback_score", "min"), at("feedback_score", "max")
        counts = frame["feedback_responses"] if "feedback_responses" in frame else pd.Series(float("nan"), frame.index)
        low_n, high_n = counts.loc[low.name], counts.loc[high.name]
        text = (f"{name} is lowest in **{esc(low['channel'])}**: "
                f"{score_with_count(low['feedback_score'], low_n, nps)}")
        if high.name != low.name:
            text += f"; highest in **{esc(high['channel'])}**: {score_with_count(high['feedback_score'], high_n, nps)}"
        parts.append(text + ".")
    return " ".join(parts)


def _signed_money(value: float, currency: str) -> str:
    return ("+" if value > 0 else "") + money(value, currency)


def price_volume_mix_sentence(pvm: pd.DataFrame, base_label: str, currency: str) -> str:
    """One sentence on a region's price, volume and mix effects (rows of
    :func:`chanlib.analytics.period_evaluation.price_volume_mix` for one region).

    >>> f = pd.DataFrame({"units": [12.0, 5.0], "units_base": [10.0, 10.0], "change": [30.0, -30.0],
    ...                   "price_effect": [6.0, 10.0], "volume_effect": [-18.0, -12.0], "mix_effect": [42.0, -28.0]})
    >>> price_volume_mix_sentence(f, "November 2025", "EUR")
    'From units, the change of EUR 0 on November 2025 splits into price +EUR 16 (revenue per unit), volume -EUR 30
    (units -15.0%, at November 2025 prices and channel mix) and channel mix +EUR 14.'
    """
    if pvm.empty:
        return ""
    if pvm[["price_effect", "volume_effect", "mix_effect"]].isna().any().any():
        return ("A price/volume/mix split cannot be made here: some sales have revenue without units, or the data "
                f"do not reach back to {base_label}.")
    u1, u0 = float(pvm["units"].sum()), float(pvm["units_base"].sum())
    units = f"units {percent(u1 / u0 - 1)}, " if u0 > 0 else ""
    return (f"From units, the change of {_signed_money(float(pvm['change'].sum()), currency)} on {base_label} splits "
            f"into price {_signed_money(float(pvm['price_effect'].sum()), currency)} (revenue per unit), volume "
            f"{_signed_money(float(pvm['volume_effect'].sum()), currency)} ({units}at {base_label} prices and "
            f"channel mix) and channel mix {_signed_money(float(pvm['mix_effect'].sum()), currency)}.")


def returns_sentence(gross: float, returns: float, net: float, currency: str) -> str:
    """One sentence on returns, when there are any: gross sales, returns and net revenue ("" without returns).

    >>> returns_sentence(1000.0, 50.0, 950.0, "EUR")
    'Revenue is net of returns: gross sales EUR 1,000, returns EUR 50 (5.0% of gross sales), net EUR 950.'
    >>> returns_sentence(208.0, 2665.0, -2457.0, "GBP")
    'Revenue is net of returns: gross sales GBP 208, returns GBP 2,665 (more than the gross sales: goods sold before
    the window came back), net -GBP 2,457.'
    >>> returns_sentence(0.0, 36.0, -36.0, "GBP")
    'Only returns in the window: GBP 36 returned and no sales, so net revenue is -GBP 36 and there is no mix to
    show.'
    """
    if _missing(returns) or returns <= 0:
        return ""
    if _missing(gross) or gross <= 0:
        return (f"Only returns in the window: {money(returns, currency)} returned and no sales, so net revenue is "
                f"{money(net, currency)} and there is no mix to show.")
    rate = (f"{percent(returns / gross, signed=False)} of gross sales" if returns <= gross
            else "more than the gross sales: goods sold before the window came back")
    return (f"Revenue is net of returns: gross sales {money(gross, currency)}, returns {money(returns, currency)} "
            f"({rate}), net {money(net, currency)}.")


# --- outlook (chanlib.analytics.forecast) ----------------------------------------------------------------------------

def short_history_sentence(series: list[tuple[str, int]], needed: int) -> str:
    """Which series have too short a history for a seasonal model, and what that means for their forecast.

    ``series`` holds (display name, months of history) of the series flagged ``short``; ``needed`` is
    ``min_seasons`` x ``season_length`` months.

    >>> short_history_sentence([("North <x>", 12)], 24)
    '**The history is short**: North &lt;x&gt; has 12 months of sales, fewer than the 24 a seasonal model needs. Its
    forecast extrapolates no trend and no season: it is a level (simple exponential smoothing, the mean of the last
    season, or the two averaged), so a recent peak or dip is not read as a trend.'
    """
    if not series:
        return ""
    names = ", ".join(f"{esc(name)} ({months} months)" for name, months in series[1:])
    first = f"{esc(series[0][0])} has {series[0][1]} months of sales"
    subject = first + (f" (and {names})" if names else "")
    many = len(series) > 1
    return (f"**The history is short**: {subject}, fewer than the {needed} a seasonal model needs. "
            f"{'Their forecasts extrapolate' if many else 'Its forecast extrapolates'} no trend and no season: "
            f"{'they are levels' if many else 'it is a level'} (simple exponential smoothing, the mean of the last "
            f"season, or the two averaged), so a recent peak or dip is not read as a trend.")


def benchmark_sentence(series: list[str], metric: str) -> str:
    """The series whose chosen model did worse than the seasonal-naive benchmark in the backtest.

    >>> benchmark_sentence(["North / Online"], "smape")
    '**Below benchmark**: for North / Online the best model scored worse in the backtest (smape) than the seasonal
    naive forecast (the same month a year earlier), so that benchmark is its forecast (flag *benchmark*).'
    """
    if not series:
        return ""
    names = ", ".join(esc(s) for s in series)
    return (f"**Below benchmark**: for {names} the best model scored worse in the backtest ({esc(metric)}) than the "
            f"seasonal naive forecast (the same month a year earlier), so that benchmark is "
            f"{'their forecast' if len(series) > 1 else 'its forecast'} (flag *benchmark*).")


def weak_forecast_sentence(below: list[str], unreliable: list[str], metric: str, threshold: float) -> str:
    """The series whose forecast is kept although the backtest judged it weak: worse than the seasonal-naive
    benchmark (``below``, flag *below_benchmark*), or with a backtest sMAPE above ``threshold`` (``unreliable``).

    >>> weak_forecast_sentence(["South / Home Office"], ["South"], "smape", 50)
    '**Weak forecasts**: South / Home Office scored worse in the backtest (smape) than the seasonal naive forecast
    (flag *below_benchmark*); South missed by more than 50% (sMAPE) in the backtest (flag *unreliable*). Read them as
    a rough level, not month by month.'
    """
    parts = []
    if below:
        parts.append(f"{', '.join(esc(s) for s in below)} scored worse in the backtest ({esc(metric)}) than the "
                     f"seasonal naive forecast (flag *below_benchmark*)")
    if unreliable:
        parts.append(f"{', '.join(esc(s) for s in unreliable)} missed by more than {threshold:g}% (sMAPE) in the "
                     f"backtest (flag *unreliable*)")
    if not parts:
        return ""
    return f"**Weak forecasts**: {'; '.join(parts)}. Read them as a rough level, not month by month."


def coverage_warnings(frame: pd.DataFrame, tolerance: float) -> list[str]:
    """A warning per interval level whose coverage misses its nominal level by more than ``tolerance``.

    ``frame`` has one row per level: ``level`` (percent), ``backtest`` (share of backtest actuals inside the
    models' own intervals), ``scale`` (factor the shown intervals were widened by; 1: none) and ``realised`` (share
    of later actuals inside earlier runs' intervals; ``NaN``: none yet).

    >>> f = pd.DataFrame({"level": [80, 95], "backtest": [0.609, 0.93], "scale": [1.3, 1.0],
    ...                   "realised": [float("nan"), 0.80]})
    >>> for w in coverage_warnings(f, 0.10): print(w)
    The models' own 80% intervals held 60.9% of the backtest actuals, 19.1 points below nominal; the intervals shown
    are widened ×1.30 to make up for it.
    Only 80.0% of the later actuals fell inside earlier runs' 95% intervals, 15.0 points below nominal: the band is
    too narrow.
    """
    out = []
    for row in frame.itertuples(index=False):
        nominal = row.level / 100.0
        if not _missing(row.backtest) and abs(row.backtest - nominal) > tolerance + 1e-12:
            gap = abs(row.backtest - nominal) * 100
            below = row.backtest < nominal
            text = (f"The models' own {row.level}% intervals held {percent(row.backtest, signed=False)} of the "
                    f"backtest actuals, {gap:.1f} points {'below' if below else 'above'} nominal")
            if not _missing(row.scale) and abs(row.scale - 1.0) > 1e-9:
                text += (f"; the intervals shown are {'widened' if row.scale > 1 else 'narrowed'} ×{row.scale:.2f} to "
                         f"make up for it.")
            else:
                text += "; the band shown is " + ("too narrow." if below else "wider than it needs to be.")
            out.append(text)
        if not _missing(row.realised) and abs(row.realised - nominal) > tolerance + 1e-12:
            gap = abs(row.realised - nominal) * 100
            below = row.realised < nominal
            out.append(f"{'Only ' if below else ''}{percent(row.realised, signed=False)} of the later actuals fell "
                       f"inside earlier runs' {row.level}% intervals, {gap:.1f} points {'below' if below else 'above'} "
                       f"nominal: the band is {'too narrow' if below else 'wider than it needs to be'}.")
    return out


def key_changes(p: Periods, comparison: pd.DataFrame, decomposition: pd.DataFrame, against: str, region: str | None,
                currency: str, n: int = 3, growth_settings: PeriodSettings | None = None) -> list[str]:
    """A few Markdown sentences on the changes that matter most (data-derived names escaped).

    ``comparison`` and ``decomposition`` come from :func:`chanlib.analytics.period_evaluation.period_comparison` and
    :func:`~chanlib.analytics.period_evaluation.share_shift_decomposition` (against ``against``) of period ``p``.
    The first sentence gives the total against the previous period and last year (for ``region=None``: the whole
    business). Then up to ``n`` region x channel cells with the largest absolute revenue change, each split into the
    region's market growth and its share shift.
    """
    # a covered period without sales is 0 ("no sales"); only an uncovered one is missing ("no data")
    totals = comparison[["revenue", "revenue_prev", "revenue_ly"]].sum()
    if not p.prev_covered:
        totals["revenue_prev"] = float("nan")
    if not p.ly_covered:
        totals["revenue_ly"] = float("nan")
    sentences = [period_total_sentence(region or "All regions", p.label, totals["revenue"], p.prev_label,
                                       totals["revenue_prev"], p.ly_label, totals["revenue_ly"], currency,
                                       growth_settings)]
    if decomposition["change"].isna().all():
        return sentences
    dec = decomposition[decomposition["change"].abs() > 0]
    top = dec.reindex(dec["change"].abs().sort_values(ascending=False).index).head(n)
    base_label = p.ly_label if against == "last_year" else p.prev_label
    for row in top.itertuples(index=False):
        sentences.append(channel_change_sentence(
            row.channel, None if region is not None else row.region, base_label, row.revenue, row.revenue_base,
            row.market_growth, row.share_shift, row.share, row.share_base, currency, growth_settings))
    return sentences


# --- segmentation (chanlib.analytics.segment) ----------------------------------------------------------------------

#: profile column -> its KPI definition (:mod:`chanlib.analytics.definitions`)
PROFILE_KEYS = {
    "share": "partner_share", "revenue_share": "partner_revenue_share", "revenue": "partner_revenue",
    "growth": "partner_growth", "volatility": "partner_volatility", "margin": "partner_margin",
    "online_share": "online_share", "recency_days": "recency_days", "target_attainment": "partner_target_attainment",
    "sell_through": "partner_sell_through",
}
#: profile columns that are the segment's totals; every other feature is a statistic over its partners
PROFILE_TOTALS = ("share", "revenue_share")


def profile_statistic(column: str) -> str:
    """How a profile shows a feature over a segment's partners: ``mean`` for
    :data:`chanlib.config.MEAN_FEATURES`, else ``median`` (what the profile computes)."""
    return "mean" if column in MEAN_FEATURES else "median"


def profile_labels(margin_from_profit: bool = False) -> dict[str, str]:
    """Profile column -> header: the definition's label, with the statistic (``Revenue, median``) for features."""
    out = {"segment_id": "Segment", "segment_name": "Name", "partners": "Partners"}
    for column, key in PROFILE_KEYS.items():
        name = definitions.label(key, margin_from_profit)
        out[column] = name if column in PROFILE_TOTALS else f"{name}, {profile_statistic(column)}"
    return out


def profile_formats(margin_from_profit: bool = False) -> tuple[list[str], list[str]]:
    """Headers of :func:`profile_table` to format as money and as (unsigned) percentages."""
    names = profile_labels(margin_from_profit)
    kinds = {column: definitions.get(key) for column, key in PROFILE_KEYS.items()}
    money_columns = [names[c] for c, d in kinds.items() if d.kind == "money"]
    percent_columns = [names[c] for c, d in kinds.items() if d.kind == "percent" and not d.signed]
    return money_columns, percent_columns


#: profile column -> label in the report (margin worded as gross margin)
PROFILE_LABELS = profile_labels()
#: labels of profile columns to format as money / as percentages (for :func:`chanlib.report.display.table`)
PROFILE_MONEY, PROFILE_PERCENT = profile_formats()


def profile_intro(profiles: pd.DataFrame) -> str:
    """What the profile table's numbers are: medians over a segment's partners (means where the profile takes the
    mean), and the segment's shares.

    >>> profile_intro(pd.DataFrame(columns=["segment_id", "share", "revenue", "online_share"]))
    "Every segment's profile across all regions: each feature is the median over the segment's partners (for online
    share the mean); the shares of partners and of revenue are the segment's."
    """
    means = [definitions.label(PROFILE_KEYS[c]).lower() for c in PROFILE_KEYS
             if c in profiles.columns and c not in PROFILE_TOTALS and profile_statistic(c) == "mean"]
    text = "Every segment's profile across all regions: each feature is the median over the segment's partners"
    if means:
        text += f" (for {', '.join(means)} the mean)"
    return text + "; the shares of partners and of revenue are the segment's."


def profile_table(profiles: pd.DataFrame, margin_from_profit: bool = False) -> pd.DataFrame:
    """The profile of every segment with readable column labels (see :func:`profile_labels`,
    :func:`profile_formats`).

    Growth is a signed percentage (text); volatility and days are rounded numbers; the rest is left to
    :func:`chanlib.report.display.table` with the headers of :func:`profile_formats`.
    """
    names = profile_labels(margin_from_profit)
    shown = profiles[[c for c in names if c in profiles.columns]].copy()
    if "growth" in shown.columns:
        shown["growth"] = [percent(v) for v in shown["growth"]]
    for column in ("volatility", "recency_days"):
        if column in shown.columns:
            shown[column] = shown[column].round(2 if column == "volatility" else 0)
    return shown.rename(columns=names)


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


# -- the overview of all regions (chanlib.report.overview) ---------------------------------------------------------

def league_sentence(league: pd.DataFrame, currency: str) -> str:
    """The league table in one sentence: the largest region, its share, and the fastest grower among the regions
    whose growth is shown (``league``: region, revenue, share, growth with NaN where it is not shown; escaped).

    >>> f = pd.DataFrame({"region": ["North", "South & Co"], "revenue": [3000.0, 1000.0], "share": [0.75, 0.25],
    ...                   "growth": [0.05, 0.2]})
    >>> league_sentence(f, "EUR")
    '**North** sold the most, EUR 3,000 (75.0% of all regions); **South &amp; Co** grew fastest, +20.0%.'
    """
    if league.empty:
        return "No region has sales in the window."
    top = league.sort_values(["revenue", "region"], ascending=[False, True]).iloc[0]
    text = (f"**{esc(top['region'])}** sold the most, {money(top['revenue'], currency)} "
            f"({percent(top['share'], signed=False)} of all regions)")
    shown = league[league["growth"].notna()]
    if shown.empty:
        return text + "; no region has enough history a year earlier for a growth figure."
    fast = shown.sort_values(["growth", "region"], ascending=[False, True]).iloc[0]
    return text + f"; **{esc(fast['region'])}** grew fastest, {percent(fast['growth'])}."


def movers_sentence(up: pd.DataFrame, down: pd.DataFrame, currency: str) -> str:
    """The largest rise and fall of revenue among region x channel cells (``up``/``down``: region, channel as
    display names, change; largest first; escaped).

    >>> up = pd.DataFrame({"region": ["N"], "channel": ["Web"], "change": [1200.0]})
    >>> down = pd.DataFrame({"region": ["S"], "channel": ["Shops"], "change": [-300.0]})
    >>> movers_sentence(up, down, "EUR")
    'The largest rise: **N · Web**, +EUR 1,200; the largest fall: **S · Shops**, -EUR 300.'
    """
    parts = []
    for what, frame in (("rise", up), ("fall", down)):
        if not frame.empty:
            row = frame.iloc[0]
            parts.append(f"the largest {what}: **{esc(row['region'])} · {esc(row['channel'])}**, "
                         f"{_signed_money(float(row['change']), currency)}")
    if not parts:
        return "No region and channel changed its revenue against the same months a year earlier."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def next_quarter_sentence(frame: pd.DataFrame, currency: str, period_label: str, base_label: str,
                          cutoff: object) -> str:
    """The forecast of the next quarter for all regions together and its change on the same quarter a year
    earlier (``frame``: region, forecast, base with NaN where unknown; escaped).

    >>> f = pd.DataFrame({"region": ["N", "S"], "forecast": [1100.0, 900.0], "base": [1000.0, 1000.0]})
    >>> next_quarter_sentence(f, "EUR", "2026 Q1", "2025 Q1", "2025-12-31")
    'With sales up to 2025-12-31, all regions together are forecast to sell **EUR 2,000** in 2026 Q1, +0.0% on 2025 Q1.'
    """
    total, base = float(frame["forecast"].sum()), float(frame["base"].sum(min_count=len(frame)))
    change = (f", {percent(total / base - 1)} on {esc(base_label)}" if not _missing(base) and base > 0
              else f" (no complete {esc(base_label)} to compare with)")
    return (f"With sales up to {esc(cutoff)}, all regions together are forecast to sell **{money(total, currency)}** "
            f"in {esc(period_label)}{change}.")


# -- partners (chanlib.analytics.partners) --------------------------------------------------------------------------

def partners_sentence(actions: dict[str, int], region: str, quarter_label: str, mis_tiered: int) -> str:
    """What the region's partner scorecard asks for (``actions``: action -> number of partners; escaped).

    >>> partners_sentence({"eliminate": 2, "watch": 3, "upgrade": 1, "keep": 14}, "North", "2025 Q4", 6)
    'In 2025 Q4, **North** has 20 scored partners: **2 to eliminate**, **3 on watch**, 1 up for an upgrade and 14 to \
keep. 6 sit in a tier their score does not support (mis-tiered).'
    """
    n = sum(actions.values())
    parts = []
    for action, words, bold in (("eliminate", "to eliminate", True), ("watch", "on watch", True),
                                ("upgrade", "up for an upgrade", False), ("keep", "to keep", False)):
        k = actions.get(action, 0)
        if k:
            text = f"{k} {words}"
            parts.append(f"**{text}**" if bold else text)
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "none"
    tier = ("Every partner sits in the tier its score supports." if not mis_tiered else
            f"{mis_tiered} sit{'s' if mis_tiered == 1 else ''} in a tier their score does not support (mis-tiered).")
    return (f"In {esc(quarter_label)}, **{esc(region)}** has {n} scored partner{'s' if n != 1 else ''}: {listed}. "
            f"{tier}")


def incentive_sentence(summary: dict[str, float], currency: str, quarter_label: str) -> str:
    """Incentive cost and ROI of a quarter (``summary``: :func:`chanlib.analytics.partners.incentives.summary`).

    >>> incentive_sentence({"rebate": 1000.0, "bonus": 500.0, "penalty": 200.0, "total": 1300.0, "paid": 1500.0,
    ...                     "incremental_margin": 3000.0, "roi": 2.0}, "EUR", "2025 Q4")
    'In 2025 Q4 partners earned **EUR 1,500** in rebates (EUR 1,000) and bonuses (EUR 500), less EUR 200 in \
penalties: a net incentive cost of **EUR 1,300**. Against their own baseline (the same quarter a year earlier) the \
paid partners added EUR 3,000 of gross margin: an incentive ROI of **2.00**.'
    """
    text = (f"In {esc(quarter_label)} partners earned **{money(summary['paid'], currency)}** in rebates "
            f"({money(summary['rebate'], currency)}) and bonuses ({money(summary['bonus'], currency)}), less "
            f"{money(summary['penalty'], currency)} in penalties: a net incentive cost of "
            f"**{money(summary['total'], currency)}**.")
    if _missing(summary.get("roi")):
        return text + " The incentive ROI needs partners that were paid and sold a year earlier: none here."
    return (text + " Against their own baseline (the same quarter a year earlier) the paid partners added "
            f"{money(summary['incremental_margin'], currency)} of gross margin: an incentive ROI of "
            f"**{float(summary['roi']):.2f}**.")


def contracts_sentence(ending: int, ended: int, terminate: int, undecided: int, horizon_days: int) -> str:
    """How many contracts need a decision (escaped; counts only).

    >>> contracts_sentence(3, 1, 2, 2, 90)
    '3 contracts end within 90 days and 1 has ended; 2 of them have no renewal decision recorded. 2 partners meet a \
termination condition.'
    """
    if not (ending or ended or terminate):
        return f"No contract ends within {horizon_days} days, and no partner meets a termination condition."
    parts = []
    if ending or ended:
        due = (f"{ending} contract{'s' if ending != 1 else ''} end{'s' if ending == 1 else ''} within {horizon_days} "
               f"days" if ending else "")
        gone = f"{ended} ha{'s' if ended == 1 else 've'} ended" if ended else ""
        text = " and ".join(p for p in (due, gone) if p)
        text = text[0].upper() + text[1:]
        if undecided:
            text += f"; {undecided} of them ha{'s' if undecided == 1 else 've'} no renewal decision recorded"
        parts.append(text + ".")
    if terminate:
        parts.append(f"{terminate} partner{'s' if terminate != 1 else ''} meet{'s' if terminate == 1 else ''} a "
                     "termination condition.")
    return " ".join(parts)


def shortlist_sentence(ranked: int, rejected: int, region: str) -> str:
    """The region's candidate shortlist in one sentence (escaped).

    >>> shortlist_sentence(4, 2, "North")
    '**North** has 6 candidate partners: 4 pass every gate and are ranked, 2 fail a gate and are not ranked, whatever \
their score.'
    """
    n = ranked + rejected
    if not n:
        return f"**{esc(region)}** has no candidate partners."
    return (f"**{esc(region)}** has {n} candidate partner{'s' if n != 1 else ''}: {ranked} pass every gate and "
            f"{'are' if ranked != 1 else 'is'} ranked, {rejected} fail{'s' if rejected == 1 else ''} a gate and "
            f"{'are' if rejected != 1 else 'is'} not ranked, whatever their score.")


#: what each alert rule is called in a report (``chanlib.config.ALERT_RULES``)
ALERT_RULE_LABELS: dict[str, str] = {
    "revenue_below_forecast": "Revenue below forecast", "target_missed": "Target missed",
    "margin_erosion": "Margin erosion", "partner_concentration": "Partner concentration",
    "weeks_of_supply_high": "Overstock (weeks of supply)", "weeks_of_supply_low": "Stock-out risk (weeks of supply)",
    "channel_stuffing": "Channel stuffing", "feedback_drop": "Feedback drop", "contract_ending": "Contract ending",
    "channel_conflict": "Channel conflict", "price_gap": "Price gap across channels", "level_shift": "Level shift",
    "point_anomaly": "Anomaly",
}


def alert_rule_label(rule: object) -> str:
    """A reader's name for an alert rule.

    >>> alert_rule_label("point_anomaly"), alert_rule_label("something_new")
    ('Anomaly', 'Something new')
    """
    key = str(rule)
    return ALERT_RULE_LABELS.get(key, key.replace("_", " ").capitalize())


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def alerts_sentence(alerts: pd.DataFrame, region: str) -> str:
    """The region's alerts in one sentence: new ones (by severity), continuing and resolved (escaped).

    >>> frame = pd.DataFrame({"state": ["new", "new", "continuing", "resolved"],
    ...                       "severity": ["critical", "medium", "high", "low"]})
    >>> alerts_sentence(frame, "North & South")
    '**North &amp; South**: **2 new alerts** since the last report (1 critical, 1 medium), 1 continuing and 1 resolved.'
    >>> alerts_sentence(frame.iloc[0:0], "North")
    '**North**: no alert is raised: every rule that could be checked is within its threshold.'
    """
    if alerts.empty:
        return f"**{esc(region)}**: no alert is raised: every rule that could be checked is within its threshold."
    states = alerts["state"].value_counts().to_dict()
    new = alerts[alerts["state"] == "new"]
    by = new["severity"].value_counts().to_dict()
    severities = ", ".join(f"{by[s]} {s}" for s in ("critical", "high", "medium", "low") if by.get(s))
    head = (f"**{_count(len(new), 'new alert')}** since the last report ({severities})" if len(new)
            else "no new alert since the last report")
    rest = [f"{states.get(s, 0)} {s}" for s in ("continuing", "resolved") if states.get(s)]
    tail = (", " + " and ".join(rest)) if rest else ""
    return f"**{esc(region)}**: {head}{tail}."


def alerts_left_out_sentence(left_out: dict[str, str]) -> str:
    """Which rules could not be checked, and why (escaped); empty when all ran.

    >>> alerts_left_out_sentence({"feedback_drop": "the store has no feedback table"})
    'Not checked: feedback drop (the store has no feedback table).'
    """
    if not left_out:
        return ""
    parts = [f"{alert_rule_label(rule).lower()} ({esc(why)})" for rule, why in left_out.items()]
    return "Not checked: " + "; ".join(parts) + "."


# -- surfaced results (issue 12): customers by channel, run rate to target, market share, feedback comments ----------

#: Markdown (and notebook math) punctuation that free text has backslash-escaped inside a sentence
_MARKDOWN_PUNCTUATION = frozenset("\\`*_[]()!|~$#")


def esc_text(value: object) -> str:
    r"""Free text from outside (a customer's comment) for a Markdown sentence: white space runs as one space, Markdown
    punctuation backslash-escaped (no emphasis, link, code or math), then HTML-escaped (:func:`esc`), so it reads as
    typed and is never markup.

    >>> print(esc_text("Great *service* <3  [me](javascript:x) $5"))
    Great \*service\* &lt;3 \[me\]\(javascript:x\) \$5
    """
    text = " ".join(str(value).split())
    return esc("".join(f"\\{c}" if c in _MARKDOWN_PUNCTUATION else c for c in text))


def customers_sentence(frame: pd.DataFrame, region: str, min_customers: int = 20) -> str:
    """Which channels bring loyal customers and which bring one-off buyers (escaped). ``frame``: a row per channel
    (display names) with customers, repeat_customer_share, one_off_share and orders_per_customer; only channels with
    at least ``min_customers`` customers are named.

    >>> f = pd.DataFrame({"channel": ["Web", "Shop & Co"], "customers": [40, 20],
    ...                   "repeat_customer_share": [0.75, 0.25], "one_off_share": [0.25, 0.75],
    ...                   "orders_per_customer": [2.5, 1.3]})
    >>> print(customers_sentence(f, "North"))  # doctest: +NORMALIZE_WHITESPACE
    **60 customers** bought in **North**; **58.3%** of them ordered more than once. **Web** brings the most loyal
    customers: 75.0% repeat buyers, 2.5 orders each on average; **Shop &amp; Co** the most one-off buyers: 75.0%
    ordered only once.
    """
    total = float(frame["customers"].sum())
    repeat = float((frame["repeat_customer_share"] * frame["customers"]).sum() / total) if total else float("nan")
    text = (f"**{number(total)} customer{'s' if total != 1 else ''}** bought in **{esc(region)}**; "
            f"**{percent(repeat, signed=False)}** of them ordered more than once.")
    ranked = frame[frame["customers"] >= min_customers]
    if len(frame) < 2:
        return text
    if len(ranked) < 2:
        return text + (f" Too few customers to compare channels: naming one needs at least {min_customers} "
                       "customers in each of two channels.")
    loyal = ranked.sort_values(["repeat_customer_share", "customers"], ascending=False).iloc[0]
    one_off = ranked.sort_values(["one_off_share", "customers"], ascending=False).iloc[0]
    if loyal["channel"] == one_off["channel"]:
        return text + f" The channels bring repeat buyers alike ({percent(loyal['repeat_customer_share'], False)})."
    return text + (f" **{esc(loyal['channel'])}** brings the most loyal customers: "
                   f"{percent(loyal['repeat_customer_share'], signed=False)} repeat buyers, "
                   f"{float(loyal['orders_per_customer']):.1f} orders each on average; **{esc(one_off['channel'])}** "
                   f"the most one-off buyers: {percent(one_off['one_off_share'], signed=False)} ordered only once.")


def run_rate_sentence(frame: pd.DataFrame, region: str, period_label: str, currency: str, running: bool,
                      elapsed: int, length: int, as_of: pd.Timestamp) -> str:
    """The region's run-rate projection against target for one quarter (escaped). ``frame``: a row per channel
    with a target (display names): target_revenue, targeted_revenue (revenue so far), projected_revenue and
    projected_attainment (:func:`chanlib.analytics.kpi.kpi_table`). ``running``: the quarter is not over; ``elapsed``
    of ``length`` days have passed, up to ``as_of``.

    >>> f = pd.DataFrame({"channel": ["Web", "Shop"], "target_revenue": [1000.0, 1000.0],
    ...                   "targeted_revenue": [600.0, 300.0], "projected_revenue": [1200.0, 600.0],
    ...                   "projected_attainment": [1.2, 0.6]})
    >>> print(run_rate_sentence(f, "North", "2025 Q4", "EUR", True, 46, 92, pd.Timestamp("2025-11-15")))
    ... # doctest: +NORMALIZE_WHITESPACE
    **2025 Q4** is running: day 46 of 92 (sales up to 2025-11-15). At the run-rate so far (EUR 900 sold),
    **North** is on course for **EUR 1,800**, **90.0%** of its target of EUR 2,000; 1 of 2 channels would reach
    their target. Furthest behind: **Shop**, on course for 60.0% of its target, EUR 400 short.
    """
    target, projected = float(frame["target_revenue"].sum()), float(frame["projected_revenue"].sum())
    attainment = projected / target if target > 0 else float("nan")
    reach, n = int((frame["projected_attainment"] >= 1).sum()), len(frame)
    gaps = frame["target_revenue"] - frame["projected_revenue"]
    if running:
        text = (f"**{esc(period_label)}** is running: day {elapsed} of {length} (sales up to {as_of.date()}). At the "
                f"run-rate so far ({money(frame['targeted_revenue'].sum(), currency)} sold), **{esc(region)}** is on "
                f"course for **{money(projected, currency)}**, **{percent(attainment, signed=False)}** of its target "
                f"of {money(target, currency)}; {reach} of {n} channel{'s' if n != 1 else ''} would reach "
                f"{'its' if n == 1 else 'their'} target.")
    else:
        text = (f"**{esc(period_label)}** is complete: **{esc(region)}** sold **{money(projected, currency)}**, "
                f"**{percent(attainment, signed=False)}** of its target of {money(target, currency)}; {reach} of {n} "
                f"channel{'s' if n != 1 else ''} reached {'its' if n == 1 else 'their'} target.")
    if (gaps > 0).any():
        row = frame.loc[gaps.idxmax()]
        verb = "on course for" if running else "reached"
        text += (f" {'Furthest behind' if n > 1 else 'It is behind'}: **{esc(row['channel'])}**, {verb} "
                 f"{percent(row['projected_attainment'], signed=False)} of its target, "
                 f"{money(float(gaps.max()), currency)} short.")
    return text


def market_share_sentence(frame: pd.DataFrame, total: pd.Series, region: str, period_label: str, ly_label: str,
                          currency: str, ly_reason: str | None = None) -> str:
    """The region's market share and its competitors' in one period against a year earlier, and the categories
    that gained and lost most (escaped). ``frame``: a row per category with market_share_change_yoy; ``total``:
    revenue, market_size, market_share, market_share_change_yoy, competitor_share, competitor_share_change_yoy
    (NaN where unknown); ``ly_reason``: why there is no year-earlier comparison.

    >>> f = pd.DataFrame({"category": ["Toys", "Tools & <Co>"], "market_share_change_yoy": [0.021, -0.013]})
    >>> t = pd.Series({"revenue": 300.0, "market_size": 1500.0, "market_share": 0.2, "market_share_change_yoy": 0.004,
    ...                "competitor_share": 0.5, "competitor_share_change_yoy": -0.01})
    >>> print(market_share_sentence(f, t, "North", "2025 Q3", "2024 Q3", "EUR"))  # doctest: +NORMALIZE_WHITESPACE
    In **2025 Q3** **North** sold **EUR 300** in markets worth **EUR 1,500**: a **20.0%** share (+0.4 pts on 2024 Q3),
    against **50.0%** for competitors (-1.0 pts). Biggest gain: **Toys** (+2.1 pts); biggest loss: **Tools &amp;
    &lt;Co&gt;** (-1.3 pts).
    """
    text = (f"In **{esc(period_label)}** **{esc(region)}** sold **{money(total['revenue'], currency)}** in markets "
            f"worth **{money(total['market_size'], currency)}**: a **{percent(total['market_share'], signed=False)}** "
            "share")
    has_ly = pd.notna(total.get("market_share_change_yoy"))
    if has_ly:
        text += f" ({points(total['market_share_change_yoy'], signed=True)} on {esc(ly_label)})"
    if pd.notna(total.get("competitor_share")):
        text += f", against **{percent(total['competitor_share'], signed=False)}** for competitors"
        if pd.notna(total.get("competitor_share_change_yoy")):
            text += f" ({points(total['competitor_share_change_yoy'], signed=True)})"
    text += "."
    if not has_ly:
        return text + (f" No comparison with {esc(ly_label)}: {esc(ly_reason)}." if ly_reason else "")
    changes = frame.dropna(subset=["market_share_change_yoy"])
    parts = []
    if len(changes) and changes["market_share_change_yoy"].max() > 0:
        up = changes.loc[changes["market_share_change_yoy"].idxmax()]
        parts.append(f"Biggest gain: **{esc(up['category'])}** ({points(up['market_share_change_yoy'], True)})")
    if len(changes) and changes["market_share_change_yoy"].min() < 0:
        down = changes.loc[changes["market_share_change_yoy"].idxmin()]
        parts.append(f"biggest loss: **{esc(down['category'])}** ({points(down['market_share_change_yoy'], True)})")
    if parts:
        parts[0] = parts[0][:1].upper() + parts[0][1:]
        text += " " + "; ".join(parts) + "."
    return text


def feedback_comments_sentence(top: pd.DataFrame, region: str, commented: int, responses: int,
                               min_responses: int = 2) -> str:
    """The region's most frequent feedback comment in each channel, and the lowest-scoring comment listed (escaped:
    comments are free text, :func:`esc_text`). ``top``: channel (display names), comment, comment_responses and
    comment_mean_score, most frequent first within each channel.

    >>> top = pd.DataFrame({"channel": ["Web", "Web", "Shop"], "comment": ["Great *service*", "Late", "OK"],
    ...                     "comment_responses": [5, 3, 2], "comment_mean_score": [9.2, 2.0, 7.0]})
    >>> print(feedback_comments_sentence(top, "North", 12, 40))  # doctest: +NORMALIZE_WHITESPACE
    **12** of 40 feedback responses in **North** carry a comment. The most frequent: **Web**: “Great \\*service\\*”
    (5 times, mean score 9.2); **Shop**: “OK” (2 times, mean score 7.0). The lowest-scoring listed: “Late” in **Web**
    (mean score 2.0, 3 times).
    """
    text = (f"**{number(commented)}** of {number(responses)} feedback response{'s' if responses != 1 else ''} in "
            f"**{esc(region)}** carr{'ies' if commented == 1 else 'y'} a comment.")
    if top.empty:
        return text + f" No comment was given {min_responses} times or more."
    first = top.groupby("channel", sort=False).head(1)
    text += " The most frequent: " + "; ".join(
        f"**{esc(r.channel)}**: “{esc_text(r.comment)}” ({number(r.comment_responses)} times, mean score "
        f"{float(r.comment_mean_score):.1f})" for r in first.itertuples()) + "."
    low = top.loc[top["comment_mean_score"].idxmin()]
    if low.name not in first.index:  # not named already
        text += (f" The lowest-scoring listed: “{esc_text(low['comment'])}” in **{esc(low['channel'])}** (mean score "
                 f"{float(low['comment_mean_score']):.1f}, {number(low['comment_responses'])} times).")
    return text


# -- data quality (chanlib.data.ingest) ------------------------------------------------------------------------------

def repairs_lines(quality: list[dict]) -> list[str]:
    """What ingest repaired and read on (a byte-order mark, a trailing totals row, Excel date cells): one Markdown
    line per input table with a repair, from the store's data-quality summary (the records of
    :meth:`chanlib.data.ingest.QualityReport.to_frame`, one per table and reason, each with the table's
    ``repairs``); the text escaped (:func:`esc_text`: it names the export's columns).

    >>> for line in repairs_lines([{"table": "sales", "repairs": "12 date cells of column '<Order Date>' read"},
    ...                            {"table": "sales", "repairs": "12 date cells of column '<Order Date>' read"},
    ...                            {"table": "targets", "repairs": ""}, {"table": "costs"}]):
    ...     print(line)
    Repaired in **sales**, and read on: 12 date cells of column &#x27;&lt;Order Date&gt;&#x27; read.
    """
    return [f"Repaired in **{esc(table)}**, and read on: {esc_text(text)}."
            for table, text in table_repairs(quality).items()]


def table_repairs(quality: list[dict]) -> dict[str, str]:
    """Input table -> what ingest repaired in it (raw text, to be escaped where it is shown), for the tables with a
    repair, from the data-quality records (one per table and reason, each carrying the table's ``repairs``)."""
    repairs: dict[str, str] = {}
    for record in quality:
        text = record.get("repairs")
        if isinstance(text, str) and text.strip():
            repairs.setdefault(str(record.get("table")), text.strip())
    return repairs
