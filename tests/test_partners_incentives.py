"""Incentives by rule (chanlib.analytics.partners.incentives): rebates, bonuses and penalties equal hand-computed
amounts at every threshold edge -- exactly at a threshold, one cent below, one cent above -- and overlapping rebate
bands are a one-line params error."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chanlib.analytics.partners.incentives import incentive_amounts, rebate, schedule, summary
from chanlib.config import IncentiveSettings, load_params
from chanlib.errors import ParamsError

#: rates large enough that cents show: [0, 1000) 10 %, [1000, 2000) 25 %, [2000, ...) 50 %
SETTINGS = IncentiveSettings.model_validate({
    "rebates": {
        "*": {"*": [{"min": 0, "max": 1000, "rate": 0.10}, {"min": 1000, "max": 2000, "rate": 0.25},
                    {"min": 2000, "rate": 0.50}]},
        "gold": {"web": [{"min": 500, "max": 1000, "rate": 0.20}, {"min": 1000, "rate": 0.30}]},
    },
    "bonuses": {"big_quarter": {"indicator": "revenue", "at_least": 1500.0, "amount": 40.0},
                "target_met": {"indicator": "target_attainment", "at_least": 1.0, "rate": 0.02}},
    "penalties": {"minimum_missed": {"indicator": "compliance", "below": 1.0, "amount": 50.0, "rate": 0.1,
                                     "basis": "shortfall"}},
})

# revenue, rebate with basis "all" (the whole revenue at the band reached), rebate with basis "marginal"
REBATES = [
    (0.00, 0.00, 0.00),
    (999.99, 100.00, 100.00),     # 99.999 -> 100.00; marginal: the same (one band)
    (1000.00, 250.00, 100.00),    # exactly at the threshold: the new band's 25 % on everything / 0 inside it
    (1000.01, 250.00, 100.00),    # 250.0025 -> 250.00; marginal 100 + 0.0025 -> 100.00
    (1999.99, 500.00, 350.00),    # 499.9975 -> 500.00; marginal 100 + 249.9975 -> 350.00
    (2000.00, 1000.00, 350.00),   # at the top threshold: 50 %
    (2000.01, 1000.01, 350.01),   # 1000.005 -> 1000.01 (half up); marginal 350 + 0.005 -> 350.01
    (3000.00, 1500.00, 850.00),
    (-20.00, 0.00, 0.00),         # returns earn nothing
]


@pytest.mark.parametrize(("revenue", "all_", "marginal"), REBATES)
def test_rebate_at_every_band_edge(revenue: float, all_: float, marginal: float) -> None:
    bands = schedule(SETTINGS, "silver", "shop")
    assert rebate(revenue, bands, "all") == all_
    assert rebate(revenue, bands, "marginal") == marginal


@pytest.mark.parametrize(("tier", "channel", "first_rate"), [
    ("gold", "web", 0.20),      # the tier and channel schedule
    ("gold", "shop", 0.10),     # no gold/shop, no gold/*: the default */*
    ("silver", "web", 0.10),
    (None, "web", 0.10),
])
def test_the_most_specific_schedule_applies(tier, channel, first_rate) -> None:
    assert schedule(SETTINGS, tier, channel)[0].rate == first_rate


def test_revenue_in_a_gap_or_below_the_first_band_earns_nothing() -> None:
    bands = schedule(SETTINGS, "gold", "web")  # starts at 500
    assert rebate(499.99, bands) == 0.0
    assert rebate(500.00, bands) == 100.00


# revenue, minimum purchase, target attainment -> rebate, bonus, penalty, total (hand-computed)
QUARTERS = [
    # below the bonus threshold by a cent, minimum met exactly: rebate 25 % of 1499.99 = 374.9975 -> 375.00
    (1499.99, 1499.99, 0.99, 375.00, 0.00, 0.00, 375.00),
    # exactly at the bonus threshold: +40
    (1500.00, 1500.00, 0.99, 375.00, 40.00, 0.00, 415.00),
    # a cent above: 375.0025 -> 375.00, +40
    (1500.01, 1500.00, 0.99, 375.00, 40.00, 0.00, 415.00),
    # target met exactly: + 2 % of 1500 = 30; the minimum missed by one cent: 50 + 10 % of 0.01 = 50.001 -> 50.00
    (1500.00, 1500.01, 1.00, 375.00, 70.00, 50.00, 395.00),
    # attainment a hair below 100 %: no target bonus
    (1500.00, 1400.00, 0.9999, 375.00, 40.00, 0.00, 415.00),
    # the minimum missed by 500: 50 + 50 = 100; rebate 10 % of 700 = 70
    (700.00, 1200.00, 0.50, 70.00, 0.00, 100.00, -30.00),
    # no minimum agreed: no penalty
    (700.00, float("nan"), 0.50, 70.00, 0.00, 0.00, 70.00),
]


@pytest.mark.parametrize(("revenue", "minimum", "attainment", "rebate_", "bonus", "penalty", "total"), QUARTERS)
def test_bonus_and_penalty_at_their_edges(revenue, minimum, attainment, rebate_, bonus, penalty, total) -> None:
    compliance = min(1.0, revenue / minimum) if minimum == minimum else float("nan")
    history = pd.DataFrame({"partner_id": ["A"], "region": "N", "channel": "shop", "tier": "silver",
                            "quarter": pd.Timestamp("2025-10-01"), "revenue": [revenue], "min_purchase": [minimum],
                            "target_attainment": [attainment], "compliance": [compliance],
                            "gross_margin": [300.0], "gross_margin_ly": [200.0]})
    row = incentive_amounts(history, SETTINGS).iloc[0]
    assert (row["rebate"], row["bonus"], row["penalty"], row["total"]) == (rebate_, bonus, penalty, total)
    paid = rebate_ + bonus
    assert row["paid"] == pytest.approx(paid)
    assert row["roi"] == pytest.approx(100.0 / paid)  # (300 - 200) / paid


def test_distance_to_the_next_band_and_the_summary() -> None:
    history = pd.DataFrame({"partner_id": ["A", "B"], "region": "N", "channel": "shop", "tier": "silver",
                            "quarter": pd.Timestamp("2025-10-01"), "revenue": [1234.56, 2500.0],
                            "gross_margin": [400.0, 500.0], "gross_margin_ly": [300.0, float("nan")]})
    amounts = incentive_amounts(history, SETTINGS).set_index("partner_id")
    assert amounts.loc["A", "to_next_band"] == 765.44 and amounts.loc["A", "next_band_rate"] == 0.5
    assert pd.isna(amounts.loc["B", "to_next_band"])  # at the top band
    assert pd.isna(amounts.loc["B", "roi"])  # no baseline a year earlier
    total = summary(amounts.reset_index())
    # A: 25 % of 1234.56 = 308.64; B: 50 % of 2500 = 1250 + the 40 bonus
    assert total["rebate"] == 1558.64 and total["bonus"] == 40.0 and total["total"] == 1598.64
    assert total["roi"] == pytest.approx(100.0 / 308.64)  # only A has a baseline


@pytest.mark.parametrize(("body", "fragment"), [
    ("partners: {incentives: {rebates: {'*': {'*': [{min: 0, max: 1000, rate: 0.1}, {min: 900, rate: 0.2}]}}}}",
     "partners.incentives.rebates: rebates */*: bands 0.00 to 1,000.00 and 900.00 and up overlap"),
    ("partners: {incentives: {rebates: {gold: {web: [{min: 0, rate: 0.1}, {min: 100, rate: 0.2}]}}}}",
     "rebates gold/web: bands 0.00 and up and 100.00 and up overlap"),
    ("partners: {incentives: {rebates: {diamond: {'*': [{min: 0, rate: 0.1}]}}}}",
     "unknown tier 'diamond'"),
    ("partners: {incentives: {bonuses: {x: {indicator: target_attainment, rate: 0.1}}}}",
     "give exactly one of at_least and below"),
])
def test_bad_incentive_params_are_one_line_errors(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("tables: {sales: {path: s.csv}}\n" + body + "\n", encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.startswith(str(path))
