"""Partner scoring on DataFrames: normalisation within region x channel, hysteresis of tiers, actions with their
reasons, termination evidence, contract recommendations, candidate gates that no score overrides, and the params
errors of the scorecard (weights not summing to 1, an unknown indicator) -- with hand-computed values."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.partners import (
    assign_tiers,
    contract_review,
    recommend_tier,
    scorecard,
    screen,
    termination_check,
)
from chanlib.config import PartnerSettings, TierSettings, load_params
from chanlib.errors import ParamsError


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


GROWTH_ONLY = PartnerSettings.model_validate({"scorecard": {"weights": {"growth": 1.0}, "min_peers": 5,
                                                            "min_scale": {"growth": 0.01}}})


def _cell(region: str, channel: str, values: list[float], prefix: str) -> pd.DataFrame:
    return pd.DataFrame({"partner_id": [f"{prefix}{i}" for i in range(len(values))], "region": region,
                         "channel": channel, "growth": values})


def test_each_partner_is_compared_with_its_region_and_channel() -> None:
    # the same spread a whole point apart: the best of each cell scores the same
    kpis = pd.concat([_cell("North", "web", [0.1, 0.2, 0.3, 0.4, 0.5], "n"),
                      _cell("South", "web", [1.1, 1.2, 1.3, 1.4, 1.5], "s")])
    scored = scorecard(kpis, GROWTH_ONLY).set_index("partner_id")
    # median 0.3, quartiles 0.2 and 0.4: spread 0.2 / 1.349; the best is 0.2 above: z = 1.349
    expected = 100 * _phi(0.2 / (0.2 / 1.349))
    assert scored.loc["n4", "score"] == pytest.approx(expected)
    assert scored.loc["s4", "score"] == pytest.approx(expected)
    assert scored.loc["n2", "score"] == pytest.approx(50.0) and scored.loc["s2", "score"] == pytest.approx(50.0)
    assert scored.loc["n0", "score"] == pytest.approx(100 - expected)
    assert set(scored["peer_level"]) == {"region x channel"} and set(scored["peers"]) == {5}
    assert scored.loc["n0", "peer_group"] == "North x web"


def test_a_small_cell_is_compared_with_its_channel_across_regions() -> None:
    kpis = pd.concat([_cell("North", "web", [0.1, 0.2, 0.3, 0.4, 0.5], "n"),
                      _cell("East", "web", [0.9, 1.0], "e"),            # too few for a cell of their own
                      _cell("East", "shop", [5.0, 6.0], "x")])          # too few in the channel too
    scored = scorecard(kpis, GROWTH_ONLY).set_index("partner_id")
    assert scored.loc["e0", "peer_level"] == "channel" and scored.loc["e0", "peers"] == 7
    assert scored.loc["e0", "peer_group"] == "web, all regions"
    # against the 7 web partners: median 0.4, quartiles 0.25 and 0.7 -> spread 0.45 / 1.349
    assert scored.loc["e1", "score"] == pytest.approx(100 * _phi(min(3.0, 0.6 / (0.45 / 1.349))))
    assert scored.loc["x0", "peer_level"] == "all partners" and scored.loc["x0", "peers"] == 9
    assert scored.loc["n0", "peer_level"] == "region x channel"


def test_min_scale_keeps_near_equal_peers_from_being_told_apart() -> None:
    kpis = _cell("North", "web", [0.300, 0.301, 0.302, 0.303, 0.304], "n")
    settings = PartnerSettings.model_validate({"scorecard": {"weights": {"growth": 1.0},
                                                             "min_scale": {"growth": 0.1}}})
    scored = scorecard(kpis, settings)
    assert scored["score"].max() - scored["score"].min() < 2.0  # 0.004 apart on a 0.1 scale: near 50 all


def test_missing_indicators_share_out_their_weight_and_too_little_data_gives_no_score() -> None:
    settings = PartnerSettings.model_validate({"scorecard": {"weights": {"growth": 0.3, "margin": 0.7},
                                                             "min_weight": 0.5}})
    kpis = pd.DataFrame({"partner_id": list("ABCDEF"), "region": "N", "channel": "web",
                         "growth": [0.1, 0.2, 0.3, 0.4, 0.5, 0.9],
                         "margin": [0.2, 0.25, 0.3, 0.35, 0.4, np.nan]})
    scored = scorecard(kpis, settings).set_index("partner_id")
    assert pd.isna(scored.loc["F", "score"])  # only growth: 0.3 of the weight < 0.5
    a = scored.loc["A"]
    assert a["score"] == pytest.approx(0.3 * a["points_growth"] + 0.7 * a["points_margin"])


# -- tiers and hysteresis ------------------------------------------------------------------------------------------

TIERS = TierSettings(names=["bronze", "silver", "gold", "platinum"], thresholds=[40, 55, 70], band=5)


@pytest.mark.parametrize(("score", "current", "expected"), [
    (57.0, "gold", "gold"),        # above gold's 55
    (51.0, "gold", "gold"),        # 4 below 55: within the band, kept
    (50.0, "gold", "gold"),        # exactly the band below: kept
    (49.99, "gold", "silver"),     # more than the band below: down to silver
    (34.0, "gold", "bronze"),      # far below: the tier whose threshold - band it still reaches
    (58.0, "silver", "silver"),    # 3 above gold's 55: within the band, kept
    (59.99, "silver", "silver"),
    (60.0, "silver", "gold"),      # clears 55 by the band: up
    (76.0, "silver", "platinum"),  # clears 70 + 5: two tiers up
    (76.0, None, "platinum"),      # no current tier: the plain tier
    (52.0, None, "silver"),
    (float("nan"), "gold", "gold"),
])
def test_recommended_tier_with_hysteresis(score: float, current, expected: str) -> None:
    assert recommend_tier(score, current, TIERS) == expected


def test_a_score_moving_less_than_the_band_keeps_the_tier() -> None:
    # gold's threshold is 55: the score wanders 59 -> 52 -> 56 -> 51 (never more than 5 below): gold every quarter
    scored = pd.DataFrame({"partner_id": "A", "region": "N", "channel": "web", "tier": "gold",
                           "quarter": pd.date_range("2025-01-01", periods=4, freq="QS"),
                           "score": [59.0, 52.0, 56.0, 51.0]})
    history, latest = assign_tiers(scored, PartnerSettings(tiers=TIERS))
    assert history["recommended_tier"].tolist() == ["gold"] * 4
    row = latest.iloc[0]
    assert row["action"] == "keep" and not row["mis_tiered"]
    assert row["reasons"].startswith("score 51 is below gold's threshold of 55 by less than the band of 5: gold kept")
    # the same path without the band flips to silver twice
    flat = PartnerSettings(tiers=TierSettings(names=TIERS.names, thresholds=TIERS.thresholds, band=0))
    assert assign_tiers(scored, flat)[0]["recommended_tier"].tolist() == ["gold", "silver", "gold", "silver"]


def _history(scores: list[float], tier: str = "silver", **indicators: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"partner_id": "A", "region": "N", "channel": "web", "tier": tier,
                         "quarter": pd.date_range("2025-01-01", periods=len(scores), freq="QS"),
                         "score": scores, **indicators})


def test_watch_needs_two_quarters_below_the_line_and_the_reasons_quote_the_numbers() -> None:
    points = {"points_target_attainment": [20.0] * 4, "points_sell_through": [25.0] * 4,
              "points_margin": [60.0] * 4}
    values = {"target_attainment": [0.9, 0.75, 0.7, 0.61], "sell_through": [0.6, 0.55, 0.5, 0.48],
              "margin": [0.3] * 4}
    _, once = assign_tiers(_history([45.0, 40.0, 36.0, 28.0], **points, **values))
    assert once.iloc[0]["action"] == "keep"
    assert "below the watch line of 30 for the first quarter" in once.iloc[0]["reasons"]
    _, twice = assign_tiers(_history([45.0, 40.0, 29.0, 28.0], **points, **values))
    row = twice.iloc[0]
    assert row["action"] == "watch"
    assert row["reasons"] == ("score 28, below the watch line of 30, 2nd quarter in a row; bronze recommended "
                              "instead of silver; target attainment 61%, 3rd quarter below 80%; sell-through 48%, "
                              "below 50%")


def test_upgrade_and_its_reasons() -> None:
    _, latest = assign_tiers(_history([70.0, 72.0], tier="silver", points_growth=[90.0, 95.0], growth=[0.5, 0.6]))
    row = latest.iloc[0]
    # 72 clears gold's 55 by the band, not platinum's 70 (72 < 75)
    assert (row["recommended_tier"], row["action"], row["mis_tiered"]) == ("gold", "upgrade", True)
    assert row["reasons"] == "score 72 clears gold's threshold of 55 by at least the band of 5; growth +60%"


def test_termination_evidence_makes_eliminate_and_overrides_a_good_score() -> None:
    history = _history([70.0, 68.0, 66.0, 65.0], tier="gold", compliance=[1.0, 0.9, 0.8, 0.7],
                       revenue_quarter=[30000.0, 18000.0, 16000.0, 14000.0], min_purchase=[20000.0] * 4)
    check = termination_check(history, currency="EUR")
    assert bool(check.loc["A", "terminate"]) and check.loc["A", "conditions"] == "minimum_purchase"
    assert check.loc["A", "evidence"] == (
        "termination condition minimum_purchase met: minimum purchase missed 3 quarters in a row (2025 Q2: "
        "EUR 18,000 of EUR 20,000; 2025 Q3: EUR 16,000 of EUR 20,000; 2025 Q4: EUR 14,000 of EUR 20,000)")
    _, latest = assign_tiers(history, termination=check["evidence"].where(check["terminate"], ""))
    assert latest.iloc[0]["action"] == "eliminate"
    assert latest.iloc[0]["reasons"].startswith("termination condition minimum_purchase met") and \
        "score 65" in latest.iloc[0]["reasons"]
    # two misses are not enough (default: 3 quarters in a row); an unknown value breaks the run
    assert not termination_check(history.iloc[:3])["terminate"].any()
    gap = history.assign(compliance=[0.5, 0.5, np.nan, 0.5])
    assert not termination_check(gap)["terminate"].any()


@pytest.mark.parametrize(("days", "score", "trend", "action", "recommendation"), [
    (30, 70.0, 1.0, "keep", "renew"),
    (30, 70.0, -4.0, "keep", "renegotiate"),      # falling faster than 3 points a quarter
    (30, 45.0, 0.0, "keep", "renegotiate"),       # between 35 and 55
    (30, 30.0, 0.0, "watch", "let_expire"),
    (-10, 70.0, 0.0, "keep", "renew"),            # ended 10 days ago, still needs a decision
    (90, 70.0, 0.0, "keep", "renew"),             # exactly at the horizon
    (91, 70.0, 0.0, "keep", ""),                  # beyond it: no decision due
])
def test_contract_recommendations(days: int, score: float, trend: float, action: str, recommendation: str) -> None:
    as_of = pd.Timestamp("2025-12-31")
    partners = pd.DataFrame({"partner_id": ["A"], "contract_end": [as_of + pd.Timedelta(days=days)],
                             "renewal_decision": ["renew"]})
    latest = pd.DataFrame({"partner_id": ["A"], "region": "N", "channel": "web", "score": [score],
                           "trend": [trend], "action": [action]})
    row = contract_review(partners, latest, as_of).iloc[0]
    assert row["recommendation"] == recommendation
    assert bool(row["needs_action"]) == (days <= 90)
    assert bool(row["decision_differs"]) == (recommendation not in ("", "renew"))


# -- candidate screening -------------------------------------------------------------------------------------------

CANDIDATES = pd.DataFrame({
    "candidate_id": ["best_unqualified", "best_bad_credit", "ok", "good", "unknown_credit", "young"],
    "name": ["A", "B", "C", "D", "E", "F"],
    "stores": [500.0, 500.0, 10.0, 40.0, 40.0, 40.0],
    "credit_score": [99.0, 49.0, 60.0, 80.0, np.nan, 80.0],
    "years_in_business": [40.0, 40.0, 5.0, 12.0, 12.0, 0.0],
    "qualified": ["no", "yes", "YES", "true", "1", "y"],
    "willingness": [10.0, 10.0, 5.0, 8.0, 8.0, 8.0],
})


def test_a_high_score_never_overrides_a_gate() -> None:
    shortlist = screen(CANDIDATES).set_index("candidate_id")
    passed = shortlist[shortlist["passed_gates"]]
    assert set(passed.index) == {"ok", "good"}
    assert passed["rank"].to_dict() == {"good": 1.0, "ok": 2.0}
    failed = shortlist[~shortlist["passed_gates"]]
    assert failed["rank"].isna().all()
    # the two best scores of all fail a gate and stay unranked (credit 49 is worth 0 points: 30 + 0 + 15 + 30 = 75)
    assert min(failed.loc[["best_unqualified", "best_bad_credit"], "score"]) > passed["score"].max()
    assert shortlist.loc["best_unqualified", "reasons"] == "failed gates: not qualified (score 100 not ranked)"
    assert shortlist.loc["best_bad_credit", "reasons"] == "failed gates: credit score 49 below 50 (score 75 not ranked)"
    assert shortlist.loc["unknown_credit", "reasons"].startswith("failed gates: credit score unknown")
    assert shortlist.loc["young", "reasons"].startswith("failed gates: years in business 0 below 1")
    assert shortlist.loc["good", "reasons"].startswith("rank 1 of 2, score ")
    # ranked candidates come first, in rank order
    assert shortlist.index[:2].tolist() == ["good", "ok"]


def test_candidate_score_is_the_weighted_points() -> None:
    row = screen(CANDIDATES).set_index("candidate_id").loc["ok"]
    # stores 10 on log(1+x) 0..100: log(11)/log(101); credit (60-50)/45; years 5/25; willingness 5/10
    expected = 100 * (0.3 * math.log(11) / math.log(101) + 0.25 * 10 / 45 + 0.15 * 5 / 25 + 0.3 * 0.5)
    assert row["score"] == pytest.approx(expected)


# -- params errors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fragment"), [
    ("partners: {scorecard: {weights: {growth: 0.5, margin: 0.4}}}",
     "partners.scorecard.weights: weights sum to 0.9, not 1 (growth: 0.5, margin: 0.4)"),
    ("partners: {scorecard: {weights: {growth: 0.5, speed: 0.5}}}",
     "partners.scorecard.weights: unknown indicator 'speed' (known: growth, target_attainment, margin"),
    ("partners: {screening: {weights: {stores: 0.7, credit_score: 0.2}}}",
     "partners.screening.weights: weights sum to 0.9, not 1"),
    ("partners: {screening: {gates: {charisma: 3}}}", "unknown candidate attribute 'charisma'"),
    ("partners: {contracts: {termination: {x: {indicator: speed, below: 1}}}}", "unknown indicator 'speed'"),
    ("partners: {tiers: {names: [a, b, c], thresholds: [50]}}", "3 tiers need 2 thresholds"),
])
def test_bad_scorecard_params_are_one_line_errors(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("tables: {sales: {path: s.csv}}\n" + body + "\n", encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_weights_summing_to_one_in_decimals_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("tables: {sales: {path: s.csv}}\npartners: {scorecard: {weights: {growth: 0.1, margin: 0.2, "
                    "sell_through: 0.7}}}\n", encoding="utf-8")
    assert load_params(path).partners.scorecard.weights["sell_through"] == 0.7
