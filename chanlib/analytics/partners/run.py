"""One call for the build: every partner-management result table from the store (or DataFrames).

:func:`partner_results` reads the indicators (:mod:`~chanlib.analytics.partners.indicators`), scores them
(:mod:`~chanlib.analytics.partners.scorecard`), checks the termination conditions
(:mod:`~chanlib.analytics.partners.contracts`), recommends tiers and actions (:mod:`~chanlib.analytics.partners.tiers`),
computes the incentives (:mod:`~chanlib.analytics.partners.incentives`), reviews the contracts and screens the
candidates (:mod:`~chanlib.analytics.partners.screening`). The tables it returns (kept as ``result_<name>``):

``partner_scores``
    per partner and scored quarter: the indicators, their points, the score, the peer group, the tier held and the
    tier the score supported then.
``partner_scorecard``
    per partner, its latest quarter: partner_id, region, channel, score, current_tier, recommended_tier, action,
    reasons, mis_tiered, then name, quarter, score_prev, trend, peer group and the indicators with their points;
    sorted by what needs attention first.
``partner_incentives``
    per partner and quarter: rebate, bonus, penalty, total, ROI and the distance to the next rebate band.
``partner_contracts``
    per partner with a contract end date: when it ends, whether it needs a decision, the recommendation, the
    termination conditions met and any decision recorded.
``partner_benchmarks``
    anonymised peer-group quartiles of every indicator and the score, latest quarter (for the partner pages).
``candidate_shortlist``
    every candidate, ranked ones first, with the reasons (needs the ``candidates`` table).

A part whose input is absent is left out (``left_out``: item -> reason); without partner ids in the sales the whole
analysis raises :class:`~chanlib.errors.MissingInput`.

Examples
--------
>>> import pandas as pd
>>> days = pd.date_range("2023-01-01", "2025-12-31", freq="7D")
>>> sales = pd.concat([pd.DataFrame({"date": days, "region": "N", "channel": "web", "partner_id": f"P{i}",
...                                  "revenue": 1000.0 * (1 + i) * (0.7 + 0.1 * i) ** (days.year - 2023)})
...                    for i in range(6)])
>>> result = partner_results({"sales": sales})
>>> sorted(result.tables)
['partner_benchmarks', 'partner_incentives', 'partner_scorecard', 'partner_scores']
>>> result.tables["partner_scorecard"][["partner_id", "score", "action"]].round(1).head(2).to_dict("records")
[{'partner_id': 'P0', 'score': 8.9, 'action': 'eliminate'}, {'partner_id': 'P1', 'score': 20.9, 'action': 'watch'}]
>>> print(result.tables["partner_scorecard"]["reasons"].iloc[1])
score 21, below the watch line of 30, 5th quarter in a row; growth -20%, 5th quarter below +0%
>>> sorted(result.left_out)
['candidates', 'compliance', 'contracts', 'feedback', 'margin', 'sell_through', 'target_attainment', 'tiers']
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from chanlib import periods
from chanlib.analytics.partners.contracts import contract_review, termination_check
from chanlib.analytics.partners.incentives import incentive_amounts
from chanlib.analytics.partners.indicators import partner_indicators
from chanlib.analytics.partners.scorecard import peer_benchmarks, scorecard
from chanlib.analytics.partners.screening import screen
from chanlib.analytics.partners.tiers import assign_tiers
from chanlib.config import INDICATORS, PartnerSettings
from chanlib.data.store import Tables, as_connection, has_table, table_columns

log = logging.getLogger(__name__)

#: the first columns of ``partner_scorecard`` (what ``chanlib scorecard`` writes first)
SCORECARD_COLUMNS = ["partner_id", "region", "channel", "score", "current_tier", "recommended_tier", "action",
                     "reasons", "mis_tiered"]


@dataclass
class PartnerResults:
    """The result tables (name -> frame), what was left out (item -> reason), the as-of date and the latest
    complete quarter (its first day)."""

    tables: dict[str, pd.DataFrame]
    left_out: dict[str, str] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None
    quarter: pd.Timestamp | None = None


def partner_results(data: Tables, settings: PartnerSettings | None = None, *,
                    tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS, min_growth_base: float = 1000.0,
                    slack_days: int = periods.COVERAGE_SLACK_DAYS, currency: str = "") -> PartnerResults:
    """Every partner-management table (see the module docstring). ``tolerance_days`` decides when a quarter is
    complete, ``min_growth_base`` the smallest year-earlier revenue growth is measured on, ``slack_days`` when the
    data cover an earlier period (``periods:``), and
    ``currency`` names the amounts quoted in reasons."""
    settings = settings or PartnerSettings()
    con = as_connection(data)
    ind = partner_indicators(con, settings.scorecard, tolerance_days=tolerance_days, min_growth_base=min_growth_base,
                             slack_days=slack_days)
    left_out = dict(ind.left_out)
    scored = scorecard(ind.frame, settings)
    if not scored["score"].notna().any():
        left_out["scores"] = ("no partner could be scored: the weighted indicators have no values yet (growth and "
                              "attainment need a year of history)")
    termination = termination_check(scored, settings, currency)
    partners = ind.partners
    has_tiers = partners["tier"].notna().any()
    if not has_tiers:
        left_out["tiers"] = ("the store has no partners table with a tier: tiers are recommended from the score "
                             "alone")
    current = partners.set_index("partner_id")["tier"] if has_tiers else None
    evidence = termination["evidence"].where(termination["terminate"], "")
    history, latest = assign_tiers(scored, settings, current=current, termination=evidence, currency=currency)
    names = partners.set_index("partner_id")["name"]
    latest["name"] = latest["partner_id"].map(names)
    points = [c for c in latest.columns if c.startswith("points_")]
    extra = ["name", "quarter", "score_prev", "trend", "peer_group", "peer_level", "peers", "revenue", "min_purchase",
             *(i for i in INDICATORS if i != "revenue"), *points]
    latest = latest[SCORECARD_COLUMNS + [c for c in dict.fromkeys(extra) if c in latest and c not in
                                         SCORECARD_COLUMNS]]
    score_columns = ["partner_id", "region", "channel", "quarter", "tier", "recommended_tier", "score", "peer_group",
                     "peers", "peer_level", "peer_region", "peer_channel", "revenue", "revenue_quarter", "gross_margin",
                     "gross_margin_ly", "min_purchase", *(i for i in INDICATORS if i != "revenue"), *points]
    tables = {
        "partner_scores": history[[c for c in score_columns if c in history]],
        "partner_scorecard": latest,
        "partner_incentives": incentive_amounts(history, settings),
        "partner_benchmarks": peer_benchmarks(history[history["quarter"] == ind.quarter],
                                              settings.scorecard.min_peers),
    }
    if has_table(con, "partners") and "contract_end" in table_columns(con, "partners"):
        tables["partner_contracts"] = contract_review(partners, latest, ind.as_of, settings, termination)
    else:
        left_out["contracts"] = "the store has no partners table with contract_end dates"
    if has_table(con, "candidates"):
        candidates = con.execute("SELECT * FROM candidates ORDER BY candidate_id").df()
        tables["candidate_shortlist"] = screen(candidates, settings)
    else:
        left_out["candidates"] = "the store has no candidates table"
    for item, why in left_out.items():
        log.info("partners: %s left out: %s", item, why)
    actions = latest["action"].value_counts().to_dict()
    log.info("partners: %d scored as of %s; actions %s", len(latest), ind.quarter.date(), actions)
    return PartnerResults(tables=tables, left_out=left_out, as_of=ind.as_of, quarter=ind.quarter)
