"""Partner management: candidate screening, partner scorecards, tiers with upgrade/keep/watch/eliminate,
incentives and rebates, contracts. Every decision is traceable to its numbers and to ``partners:`` in params.

One job per module:

* :mod:`~chanlib.analytics.partners.screening` -- gates, score and ranked shortlist of candidate partners;
* :mod:`~chanlib.analytics.partners.indicators` -- the scorecard's indicators per partner and quarter, from the
  store;
* :mod:`~chanlib.analytics.partners.scorecard` -- indicators normalised within region x channel, weighted into a
  0-100 score; peer benchmarks;
* :mod:`~chanlib.analytics.partners.tiers` -- recommended tier with hysteresis, the action and its reasons;
* :mod:`~chanlib.analytics.partners.incentives` -- rebates, bonuses, penalties and incentive ROI;
* :mod:`~chanlib.analytics.partners.contracts` -- termination conditions and contracts ending soon;
* :mod:`~chanlib.analytics.partners.run` -- :func:`partner_results`, every table for the store build.

Each works on DataFrames, e.g. ``screen(candidates_df, settings)`` or ``scorecard(kpis_df, settings)``, with
``settings`` a :class:`chanlib.config.PartnerSettings` (default: the library's defaults).
"""
from __future__ import annotations

from chanlib.analytics.partners.contracts import contract_review, termination_check
from chanlib.analytics.partners.incentives import incentive_amounts, rebate
from chanlib.analytics.partners.indicators import Indicators, partner_indicators
from chanlib.analytics.partners.run import PartnerResults, partner_results
from chanlib.analytics.partners.scorecard import peer_benchmarks, score_trend, scorecard
from chanlib.analytics.partners.screening import screen
from chanlib.analytics.partners.tiers import assign_tiers, recommend_tier, tier_reason

__all__ = ["Indicators", "PartnerResults", "assign_tiers", "contract_review", "incentive_amounts",
           "partner_indicators", "partner_results", "peer_benchmarks", "rebate", "recommend_tier", "score_trend",
           "scorecard", "screen", "termination_check", "tier_reason"]
