"""Every KPI and figure the reports show, defined once: a reader's label, the formula in words, its unit.

Report code takes its labels from here (section tables, sentences, the run's "Definitions" page), so a KPI has one
definition in one place. Each :class:`Definition` has

* ``key`` -- the column name the analyses use (``sell_through_rate``),
* ``label`` -- what a reader sees (``Sell-through``),
* ``formula`` -- how it is computed, in words,
* ``kind`` -- its unit: ``money`` (the run's currency), ``percent``, ``points`` (percentage points), ``number``,
  ``weeks``, ``days``, ``score`` or ``index`` (a unitless ratio),
* ``topic`` -- the group it is listed under on the Definitions page,
* ``note`` -- when it is left out or how to read it (optional).

Margins come from the sales table's ``cost``; an export that gives ``profit`` instead (mapped as
``tables.sales.columns.profit``, with no ``cost``) has cost derived as revenue - profit, and its margin *is* the
export's profit: :func:`catalogue` with ``margin_from_profit=True`` (see :func:`margin_from_profit`) labels it so.

Examples
--------
>>> d = get("sell_through_rate")
>>> d.label, d.kind
('Sell-through', 'percent')
>>> d.formula
'units sold ÷ (units sold + closing stock on hand); between 0% and 100%'
>>> label("gross_margin"), label("gross_margin", margin_from_profit=True)
('Gross margin', 'Profit')
>>> label("contribution_margin_pct"), get("contribution_margin_pct").kind
('Contribution margin (pts)', 'points')
>>> as_frame(["hhi", "top_partner_share"])[["label", "unit"]].values.tolist()
[['Partner HHI', 'index (0 to 1)'], ['Top-N partner share', '%']]
>>> label("margin_pct", margin_from_profit=True)
'Profit margin'
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import pandas as pd

if TYPE_CHECKING:
    from chanlib.config import Params

Kind = Literal["money", "percent", "points", "number", "weeks", "days", "score", "index", "ratio", "category"]

#: kind -> the unit a reader sees
UNITS: dict[str, str] = {
    "money": "currency", "percent": "%", "points": "percentage points", "number": "count", "weeks": "weeks",
    "days": "days", "score": "score", "index": "index (0 to 1)", "ratio": "ratio", "category": "category",
}


@dataclass(frozen=True)
class Definition:
    """One KPI or figure: see the module docstring."""

    key: str
    label: str
    formula: str
    kind: Kind
    topic: str
    note: str = ""
    #: a change (growth, a change in points): shown with its sign
    signed: bool = False

    @property
    def unit(self) -> str:
        return UNITS[self.kind]


# "{margin}" in a label or text is the margin's name: "gross margin", or "profit" when the export gives profit
_SALES, _PARTNERS, _TARGETS = "Sales", "Partners", "Targets and channel costs"
_STOCK, _FEEDBACK, _MARKET = "Partner stock", "Customer feedback", "Market and planning"
_CUSTOMERS = "Customers"
_FIT, _EVALUATION, _SEGMENTS, _FORECAST = "Product fit", "Period evaluation", "Partner segments", "Forecast"
_SCORECARD = "Partner scorecard, tiers and incentives"

_ENTRIES: tuple[Definition, ...] = (
    # -- sales -------------------------------------------------------------------------------------------------------
    Definition("revenue", "Revenue", "sum of the sales table's revenue (net of returns where the export has them)",
               "money", _SALES),
    Definition("units", "Units", "sum of units sold", "number", _SALES,
               "left out when the sales table has no units column"),
    Definition("orders", "Orders", "number of distinct order ids", "number", _SALES,
               "left out when the sales table has no order id"),
    Definition("average_order_value", "Average order value", "revenue ÷ orders", "money", _SALES,
               "left out when the sales table has no order id"),
    Definition("gross_margin", "{Margin}", "{margin_formula}", "money", _SALES,
               "left out when the sales table has neither a cost nor a profit column"),
    Definition("margin_pct", "{Margin_pct}", "{margin} ÷ revenue", "percent", _SALES,
               "left out when the sales table has neither a cost nor a profit column"),
    Definition("growth_yoy", "Growth vs last year",
               "revenue ÷ revenue of the same months (or period) a year earlier − 1", "percent", _SALES,
               "n/a when the earlier months have no revenue or the data do not reach back to them", signed=True),
    Definition("revenue_prev_year", "Revenue a year earlier", "revenue of the same months (or period) a year earlier",
               "money", _SALES),
    Definition("growth_prev_period", "Growth vs previous period", "revenue ÷ revenue of the period before − 1",
               "percent", _SALES, "n/a when the period before has no revenue", signed=True),
    Definition("share", "Share of revenue", "the channel's revenue ÷ the region's revenue, over the same window",
               "percent", _SALES, "with returns, the channel mix shows shares of gross revenue, between 0% and 100%"),
    Definition("gross_revenue", "Gross revenue", "sum of the positive revenue amounts (sales before returns)",
               "money", _SALES),
    Definition("returns", "Returns", "sum of the negative revenue amounts, as a positive number; revenue = gross "
               "revenue − returns", "money", _SALES, "only where the export has returns (validation.allow_returns)"),
    Definition("share_of_parent", "Share of region", "revenue ÷ revenue of the group one level up (for a channel: "
               "its region) in the same period", "percent", _SALES),
    # -- partners ----------------------------------------------------------------------------------------------------
    Definition("active_partners", "Active partners", "distinct partners with at least one sale of positive revenue",
               "number", _PARTNERS, "left out when the sales table has no partner id"),
    Definition("revenue_per_partner", "Revenue per partner", "revenue ÷ active partners", "money", _PARTNERS),
    Definition("hhi", "Partner HHI", "Herfindahl-Hirschman index: the sum over partners of (partner's share of "
               "revenue)²", "index", _PARTNERS,
               "1 when one partner has all the revenue, 1/n for n partners of equal size; above 0.25 is "
               "highly concentrated"),
    Definition("top_partner_share", "Top-N partner share", "revenue of the N largest partners ÷ revenue, with N = "
               "the smaller of 5 and active partners − 1 (N is stated beside it)", "percent", _PARTNERS,
               "left out where a channel has a single partner; N stays below the partner count, so it is never "
               "100% by construction"),
    Definition("top_partner_n", "N (largest partners counted)", "the number of partners top-N partner share counts: "
               "the smaller of 5 and active partners − 1", "number", _PARTNERS),
    # -- targets and channel costs -----------------------------------------------------------------------------------
    Definition("target_revenue", "Target", "sum of the targets table's target revenue", "money", _TARGETS),
    Definition("target_attainment", "Target attainment", "revenue ÷ target, over the region × channel months that "
               "have a target", "percent", _TARGETS, "left out without a targets table"),
    Definition("projected_attainment", "Projected attainment", "revenue of a running period scaled to its full "
               "length (revenue × days in period ÷ days elapsed) ÷ target", "percent", _TARGETS),
    Definition("projected_revenue", "Projected revenue", "revenue of a running period so far (in the months that "
               "have a target) × days in the period ÷ days elapsed: the period's revenue if the rest of it sells at "
               "the same daily rate; a complete period's revenue", "money", _TARGETS,
               "a straight line: it ignores seasonality within the period"),
    Definition("channel_costs", "Channel costs", "sum of the costs table's amounts (every cost type: marketing, "
               "incentives, ...)", "money", _TARGETS, "left out without a costs table"),
    Definition("cost_to_serve", "Cost to serve", "channel costs ÷ revenue", "percent", _TARGETS),
    Definition("incentive_cost_pct", "Incentive cost %", "incentive costs ÷ revenue", "percent", _TARGETS),
    Definition("contribution_margin", "Contribution margin", "{margin} − channel costs", "money", _TARGETS,
               "left out without a costs table or without cost (or profit) in the sales table"),
    Definition("contribution_margin_pct", "Contribution margin (pts)", "({margin} − channel costs) ÷ revenue, in "
               "points: what is left of every 100 of revenue after cost of goods and channel costs", "points",
               _TARGETS, "read it beside channel ROI: it does not blow up when channel costs are small"),
    Definition("channel_roi", "Channel ROI", "({margin} − channel costs) ÷ channel costs", "percent", _TARGETS,
               "magnifies small differences where channel costs are small; n/a when they are zero"),
    # -- partner stock -----------------------------------------------------------------------------------------------
    Definition("sell_in_units", "Sell-in units", "units partners bought in (the inventory table's sell-in)",
               "number", _STOCK),
    Definition("sell_out_units", "Sell-out units", "units sold (sales table) by partners that report stock",
               "number", _STOCK),
    Definition("on_hand_units", "Closing stock", "units on hand at the period's last stock count", "number", _STOCK),
    Definition("sell_through_rate", "Sell-through", "units sold ÷ (units sold + closing stock on hand); between 0% "
               "and 100%", "percent", _STOCK,
               "left out without an inventory table or without units and partner ids in the sales table"),
    Definition("sell_out_to_sell_in", "Sell-out ÷ sell-in", "units sold ÷ units bought in, in the same period",
               "percent", _STOCK, "above 100% when partners sell down their stock, below when they build it up; "
               "left out when the inventory table has no sell-in"),
    Definition("weeks_of_supply", "Weeks of supply", "closing stock ÷ average units sold per week in the period",
               "weeks", _STOCK),
    # -- customer feedback -------------------------------------------------------------------------------------------
    Definition("feedback_score", "NPS", "net promoter score: % of responses scoring 9-10 (promoters) − % scoring "
               "0-6 (detractors), from −100 to 100; shown with its number of responses n", "score", _FEEDBACK,
               "when the scores are not whole numbers from 0 to 10 this is the mean score instead; a score on a "
               "few responses moves a lot"),
    Definition("feedback_mean_score", "Mean feedback score", "the mean of the feedback scores; shown instead of the "
               "NPS when the scores are not whole numbers from 0 to 10, with its number of responses n", "score",
               _FEEDBACK),
    Definition("feedback_responses", "Responses (n)", "number of feedback responses behind the score", "number",
               _FEEDBACK),
    Definition("comment_responses", "Times given", "number of feedback responses in the window with the comment "
               "(spelling, case and spaces aside)", "number", _FEEDBACK),
    Definition("comment_share", "Share of the channel's comments", "responses with the comment ÷ responses with any "
               "comment in the channel", "percent", _FEEDBACK),
    Definition("comment_mean_score", "Mean score", "the mean feedback score of the responses with the comment",
               "score", _FEEDBACK),
    # -- customers (RFM: chanlib.analytics.segment.customers) ----------------------------------------------------
    Definition("customers", "Customers", "distinct customer ids with sales, each counted in the channel of most of "
               "its revenue in the region", "number", _CUSTOMERS, "left out when the sales have no customer id"),
    Definition("repeat_customer_share", "Repeat buyers", "customers with at least two orders ÷ customers",
               "percent", _CUSTOMERS, "orders over all the data; a customer without order ids orders once a day"),
    Definition("one_off_share", "One-off buyers", "customers with a single order ÷ customers", "percent",
               _CUSTOMERS),
    Definition("repeat_revenue_share", "Revenue from repeat buyers", "revenue of customers with at least two orders "
               "÷ revenue of all customers", "percent", _CUSTOMERS),
    Definition("orders_per_customer", "Orders per customer", "orders ÷ customers", "ratio", _CUSTOMERS),
    Definition("revenue_per_customer", "Revenue per customer", "the customers' revenue in the region ÷ customers",
               "money", _CUSTOMERS),
    Definition("median_recency_days", "Days since last order (median)", "the median over customers of the days "
               "from the customer's last order to the last sale date", "days", _CUSTOMERS),
    # -- market and planning -----------------------------------------------------------------------------------------
    Definition("market_size", "Market size", "sum of the market table's market size", "money", _MARKET),
    Definition("market_share", "Market share", "revenue ÷ market size", "percent", _MARKET),
    Definition("market_share_change", "Market share change", "market share − market share of the period before",
               "points", _MARKET, signed=True),
    Definition("market_share_change_yoy", "Market share change vs last year", "market share − market share of the "
               "same period a year earlier", "points", _MARKET, "n/a when the market table or the sales do not "
               "reach back to it", signed=True),
    Definition("competitor_sales", "Competitor sales", "sum of the market table's competitor sales", "money", _MARKET),
    Definition("competitor_share", "Competitor share", "competitor sales ÷ market size", "percent", _MARKET,
               "left out when the market table has no competitor_sales column"),
    Definition("competitor_share_change_yoy", "Competitor share change vs last year", "competitor share − competitor "
               "share of the same period a year earlier", "points", _MARKET, signed=True),
    Definition("penetration", "Penetration", "the channel's revenue ÷ the size of the market it is measured against",
               "percent", _MARKET, "a channel is measured against the market it serves (the channels table's market, "
               "e.g. domestic or cross-border, sized by the market table's rows for it), else against the whole "
               "regional market, which the report then says"),
    Definition("peers", "Peer regions", "the other regions (the region itself excluded) that sell in the channel",
               "number", _MARKET),
    Definition("benchmark_penetration", "Peer benchmark", "the upper quartile (planning.benchmark_quantile) of the "
               "channel's penetration in its peer regions", "percent", _MARKET,
               "none with fewer than planning.min_peers (default 3) peer regions: \"too few peers (n)\""),
    Definition("headroom", "Headroom", "(benchmark penetration − penetration) × market size, where positive: the "
               "extra revenue at the peers' penetration", "money", _MARKET,
               "only for channels the region sells in; channels it does not sell in are listed apart with their "
               "potential (benchmark penetration × market size)"),
    Definition("partners_per_million", "Partners per 1M of market", "active partners per planning.partners_per "
               "(default 1,000,000) of market size, in the report's currency", "number", _MARKET),
    # -- product fit -------------------------------------------------------------------------------------------------
    Definition("share_index", "Share index", "the category's share of the channel's revenue ÷ its share of all "
               "revenue (1 = the channel sells it like the business does)", "index", _FIT),
    Definition("expected_revenue", "Revenue at an average mix", "the category's share of all revenue × the "
               "channel's revenue", "money", _FIT),
    Definition("gap", "Revenue vs an average mix", "revenue − revenue at an average mix", "money", _FIT,
               "sums to zero per channel: it shows where a channel's revenue sits, not money at stake", signed=True),
    Definition("margin_at_stake", "Margin at stake", "|revenue vs an average mix| × |the category's margin − the "
               "margin of the channel's other categories|: the gross margin that moves if the category went to an "
               "average mix", "money", _FIT, "ranks the grow / develop / review recommendations"),
    # -- period evaluation -------------------------------------------------------------------------------------------
    Definition("market_growth", "Market growth", "(region revenue now − region revenue then) × the channel's "
               "earlier share of the region: the region's change allocated at the base shares", "money", _EVALUATION,
               signed=True),
    Definition("share_shift", "Share shift", "region revenue now × (the channel's share now − its share then); the "
               "shifts add up to zero in a region", "money", _EVALUATION, signed=True),
    Definition("price_effect", "Price effect", "(revenue per unit now − revenue per unit then) × units now",
               "money", _EVALUATION, "needs units", signed=True),
    Definition("volume_effect", "Volume effect", "(region units now ÷ region units then − 1) × the channel's "
               "revenue then: the change in units at the earlier prices and mix", "money", _EVALUATION,
               "needs units", signed=True),
    Definition("mix_effect", "Mix effect", "revenue per unit then × (units now − region units now × the channel's "
               "earlier share of the region's units); price + volume + mix = the change", "money", _EVALUATION,
               "needs units", signed=True),
    # -- partner segments (profiles show the median partner of a segment; shares of partners: the mean) -------------
    Definition("partner_revenue", "Revenue", "the partner's revenue in the trailing window (annualised for partners "
               "younger than the window)", "money", _SEGMENTS),
    Definition("partner_growth", "Growth", "the partner's revenue in the window ÷ its revenue in the window before "
               "− 1, capped", "percent", _SEGMENTS, signed=True),
    Definition("partner_volatility", "Volatility (CV)", "standard deviation ÷ mean of the partner's monthly revenue",
               "index", _SEGMENTS),
    Definition("partner_margin", "{Margin_pct}", "the partner's {margin} ÷ its revenue in the window", "percent",
               _SEGMENTS),
    Definition("online_share", "Online share", "the partner's revenue through online channels ÷ its revenue",
               "percent", _SEGMENTS),
    Definition("recency_days", "Days since last sale", "days from the partner's last sale to the as-of date", "days",
               _SEGMENTS),
    Definition("partner_target_attainment", "Attainment of allocated target",
               "the partner's revenue ÷ its allocated share of the region × channel target, allocated by its share "
               "of the cell's revenue in the window before", "percent", _SEGMENTS,
               "targets are set per region and channel, not per partner: this is an allocation, not a partner's "
               "own target"),
    Definition("partner_sell_through", "Sell-through", "the partner's units sold in the window ÷ (units sold + its "
               "closing stock on hand)", "percent", _SEGMENTS),
    Definition("partner_share", "Share of partners", "the segment's partners ÷ all partners", "percent", _SEGMENTS),
    Definition("partner_revenue_share", "Share of revenue", "the segment's revenue ÷ all partners' revenue",
               "percent", _SEGMENTS),
    # -- partner scorecard, tiers and incentives (chanlib.analytics.partners; settings: partners.*) ----------------
    Definition("scorecard_growth", "Growth (scorecard)", "the partner's revenue over the last four quarters ÷ its "
               "revenue over the same quarters a year earlier − 1, capped (partners.scorecard.window_quarters, "
               "growth_cap)", "percent", _SCORECARD, "n/a for a partner younger than that or on a base below "
               "periods.min_growth_base", signed=True),
    Definition("scorecard_target_attainment", "Target attainment (scorecard)", "the partner's revenue ÷ its "
               "allocated target over the last four quarters; each quarter's region × channel target is allocated "
               "by the partner's share of the cell's revenue in the same quarter a year earlier", "percent",
               _SCORECARD, "an allocation: targets are set per region and channel, not per partner"),
    Definition("scorecard_margin", "{Margin_pct} (scorecard)", "the partner's {margin} ÷ its revenue over the last "
               "four quarters", "percent", _SCORECARD),
    Definition("scorecard_sell_through", "Sell-through (scorecard)", "units the partner sold over the last four "
               "quarters ÷ (those units + its stock on hand at the quarter's last count)", "percent", _SCORECARD),
    Definition("scorecard_feedback", "Feedback (scorecard)", "the mean score of the partner's feedback responses "
               "over the last four quarters", "score", _SCORECARD,
               "n/a with fewer than partners.scorecard.min_responses responses"),
    Definition("scorecard_compliance", "Minimum purchase met", "the quarter's revenue ÷ the partner's minimum "
               "purchase commitment per quarter (partners.min_purchase), at most 100%", "percent", _SCORECARD,
               "below 100%: the minimum was missed"),
    Definition("indicator_points", "Points", "100 × Φ(z), z = (the partner's value − its peers' median) ÷ "
               "max(interquartile range ÷ 1.349, partners.scorecard.min_scale), clipped to ±3; peers: the partners "
               "of its region × channel (its channel across regions, or all partners, when fewer than "
               "partners.scorecard.min_peers)", "score", _SCORECARD,
               "50 = the peers' median, 84 about one spread above it, 16 one below"),
    Definition("partner_score", "Partner score", "the weighted mean of the partner's points "
               "(partners.scorecard.weights) over the indicators it has a value for, from 0 to 100", "score",
               _SCORECARD, "n/a when those carry less than partners.scorecard.min_weight of the weights"),
    Definition("recommended_tier", "Recommended tier", "the highest tier whose threshold (partners.tiers.thresholds) "
               "the score reaches, with hysteresis: up only when the score clears a threshold by the band, down "
               "only when it falls more than the band below the current tier's", "category", _SCORECARD,
               "mis-tiered: the recommended tier differs from the current one"),
    Definition("partner_action", "Action", "eliminate: a termination condition is met (partners.contracts."
               "termination); watch: the score was below partners.tiers.watch_score in each of the last "
               "watch_quarters quarters; upgrade: the recommended tier is above the current one; keep: otherwise",
               "category", _SCORECARD),
    Definition("rebate", "Rebate", "the quarter's revenue × the rate of the band it reached in the partner's "
               "schedule (tier × channel, partners.incentives.rebates); marginal: each band's rate on the revenue "
               "inside it", "money", _SCORECARD),
    Definition("incentive_total", "Net incentive cost", "rebates + bonuses − penalties", "money", _SCORECARD),
    Definition("incentive_roi", "Incentive ROI", "(the partner's gross margin in the quarter − its gross margin in "
               "the same quarter a year earlier) ÷ (rebates + bonuses paid)", "ratio", _SCORECARD,
               "a before/after comparison with the partner's own baseline, not proof the incentive caused it"),
    Definition("candidate_score", "Candidate score", "the weighted mean (partners.screening.weights) of the "
               "candidate's attributes on 0-100 scales (partners.screening.scales)", "score", _SCORECARD,
               "a candidate failing a gate (partners.screening.gates, require_qualified) is never ranked"),
    # -- forecast ----------------------------------------------------------------------------------------------------
    Definition("smape", "sMAPE", "symmetric mean absolute percentage error: the mean of |actual − forecast| ÷ "
               "((|actual| + |forecast|) ÷ 2), in % (0 is perfect, 200 the worst)", "percent", _FORECAST),
    Definition("interval_coverage", "Interval coverage", "share of backtest actuals inside the forecast interval; "
               "should be close to the interval's level", "percent", _FORECAST),
)

#: key -> definition, with the margin worded as gross margin
DEFINITIONS: dict[str, Definition] = {d.key: d for d in _ENTRIES}

_MARGIN_WORDS = {
    False: {"margin": "gross margin", "Margin": "Gross margin",
            "Margin_pct": "Gross margin %",
            "margin_formula": "revenue − cost of the goods sold (the sales table's cost)"},
    True: {"margin": "profit", "Margin": "Profit", "Margin_pct": "Profit margin",
           "margin_formula": "the export's profit column, summed (cost is taken as revenue − profit)"},
}


def _worded(d: Definition, margin_from_profit: bool) -> Definition:
    words = _MARGIN_WORDS[margin_from_profit]
    text = {name: getattr(d, name).format(**words) for name in ("label", "formula", "note")}
    return replace(d, **text)


def catalogue(margin_from_profit: bool = False) -> dict[str, Definition]:
    """Every definition (key -> :class:`Definition`), the margin worded as profit when ``margin_from_profit``."""
    return {key: _worded(d, margin_from_profit) for key, d in DEFINITIONS.items()}


def get(key: str, margin_from_profit: bool = False) -> Definition:
    """The definition of ``key``; raises ``KeyError`` naming the key when there is none."""
    if key not in DEFINITIONS:
        raise KeyError(f"no definition of {key!r} in chanlib.analytics.definitions")
    return _worded(DEFINITIONS[key], margin_from_profit)


def label(key: str, margin_from_profit: bool = False) -> str:
    """The reader's label of ``key`` (see :func:`get`)."""
    return get(key, margin_from_profit).label


def margin_from_profit(params: Params) -> bool:
    """Whether the run's margin is the export's profit: ``sales.profit`` is mapped (or derived) and ``cost`` is not."""
    sales = params.tables.get("sales")
    if sales is None:
        return False
    given = set(sales.columns) | set(sales.derive)
    return "profit" in given and "cost" not in given


def as_frame(keys: Iterable[str] | None = None, margin_from_profit: bool = False) -> pd.DataFrame:
    """The definitions as a table a notebook can display: topic, label, formula, unit, note (and the key).

    ``keys`` picks and orders the rows (all, grouped by topic, by default).
    """
    chosen = list(DEFINITIONS) if keys is None else list(keys)
    rows = [get(key, margin_from_profit) for key in chosen]
    return pd.DataFrame({"topic": [d.topic for d in rows], "label": [d.label for d in rows],
                         "formula": [d.formula for d in rows], "unit": [d.unit for d in rows],
                         "note": [d.note for d in rows], "key": [d.key for d in rows]})


def labels(margin_from_profit: bool = False) -> dict[str, str]:
    """key -> the reader's label, for every definition (table headers)."""
    return {key: d.label for key, d in catalogue(margin_from_profit).items()}
