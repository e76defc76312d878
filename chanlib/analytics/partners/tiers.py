"""Tiers and actions: the tier a partner's score supports (with hysteresis), and upgrade / keep / watch / eliminate
with the reasons in words.

**Recommended tier.** ``tiers.thresholds`` are the scores from which each tier above the lowest is recommended.
With the band ``b`` (``tiers.band``) a partner in tier ``c`` moves *up* to the highest tier ``k > c`` whose
threshold it clears by ``b`` (score >= threshold_k + b), and *down* only when its score is more than ``b`` below
its own tier's threshold, to the highest tier whose threshold minus ``b`` it still reaches. So a score moving by
less than the band keeps the tier: no flip-flopping around a threshold. A partner without a known tier gets the
plain tier of its score.

**Action**, first match wins:

* ``eliminate`` -- a termination condition (``partners.contracts.termination``) is met, with its evidence;
* ``watch`` -- the score was below ``tiers.watch_score`` in each of the last ``tiers.watch_quarters`` quarters (a
  single low quarter is noise, two in a row a trend);
* ``upgrade`` -- the recommended tier is above the current one;
* ``keep`` -- otherwise, also when the score supports a lower tier (the reasons say which, and ``mis_tiered`` is
  set: a demotion is a tier decision, not a concern about the partner), and for a partner with too little data.

**Reasons** quote the numbers behind the action: the score against the threshold that decided it, then the
indicators that pull the score down (fewer than 30 points against the peers; for an upgrade, those above 70 that
carry it), each with its value and, where ``tiers.floors`` gives a floor and the value is below it, for how many
quarters in a row: "target attainment 61%, 3rd quarter below 80%". ``mis_tiered`` is true when the recommended
tier differs from the current one.

Examples
--------
>>> from chanlib.config import TierSettings
>>> t = TierSettings(names=["bronze", "silver", "gold"], thresholds=[40, 60], band=5)
>>> recommend_tier(57.0, "gold", t), recommend_tier(54.0, "gold", t), recommend_tier(64.0, "silver", t)
('gold', 'silver', 'silver')
>>> recommend_tier(66.0, "silver", t), recommend_tier(66.0, None, t)
('gold', 'gold')
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from chanlib.analytics.partners.indicators import consecutive_below, fmt, label
from chanlib.analytics.partners.scorecard import score_trend
from chanlib.config import INDICATORS, PartnerSettings, TierSettings

ACTIONS = ("eliminate", "watch", "upgrade", "keep")
#: indicators with fewer points than this are named as pulling the score down
WEAK_POINTS = 30.0
#: ... and with more than this as carrying an upgrade
STRONG_POINTS = 70.0
#: at most this many indicators are named in a reason
MAX_NAMED = 3


def _index(tier: object, names: list[str]) -> int | None:
    return names.index(tier) if isinstance(tier, str) and tier in names else None


def plain_tier(score: float, settings: TierSettings) -> str:
    """The tier of ``score`` without hysteresis: the highest whose threshold it reaches."""
    k = sum(score >= t for t in settings.thresholds)
    return settings.names[k]


def recommend_tier(score: float, current: object, settings: TierSettings) -> str | None:
    """The tier ``score`` supports for a partner now in ``current`` (see the module docstring); ``None`` without a
    score."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return current if isinstance(current, str) and current in settings.names else None
    c = _index(current, settings.names)
    if c is None:
        return plain_tier(score, settings)
    up = sum(score >= t + settings.band for t in settings.thresholds)
    down = sum(score >= t - settings.band for t in settings.thresholds)
    if up > c:
        return settings.names[up]
    if down < c:
        return settings.names[down]
    return settings.names[c]


def _threshold(settings: TierSettings, tier: str) -> float:
    k = settings.names.index(tier)
    return settings.thresholds[k - 1] if k > 0 else 0.0


def _indicator_phrases(row: pd.Series, history: pd.DataFrame, settings: TierSettings, strong: bool,
                       currency: str) -> list[str]:
    """"target attainment 61%, 3rd quarter below 80%" for the indicators that pull the score down (or, ``strong``,
    carry it up), weakest (strongest) first."""
    candidates = []
    for indicator in INDICATORS:
        p = row.get(f"points_{indicator}")
        if p is None or pd.isna(p):
            continue
        if (strong and p > STRONG_POINTS) or (not strong and p < WEAK_POINTS):
            candidates.append((-p if strong else p, indicator))
    phrases = []
    for _, indicator in sorted(candidates)[:MAX_NAMED]:
        value = float(row[indicator])
        text = f"{label(indicator)} {fmt(indicator, value, currency)}"
        floor = settings.floors.get(indicator)
        if floor is not None and value < floor and not strong:
            run = consecutive_below(history[indicator], floor)
            text += f", {_ordinal(run)} quarter below {fmt(indicator, floor, currency)}" if run > 1 else \
                f", below {fmt(indicator, floor, currency)}"
        phrases.append(text)
    return phrases


def _keep_lead(score: float, current: object, recommended: object, settings: TierSettings) -> str:
    """Why a kept partner is where it is (or which tier its score supports instead)."""
    s = f"score {score:.0f}"
    c, r = _index(current, settings.names), _index(recommended, settings.names)
    if c is None:
        return f"{s}: {recommended} by score (no current tier known)"
    low = _threshold(settings, str(current)) if c > 0 else None
    high = settings.thresholds[c] if c < len(settings.thresholds) else None
    if r is not None and r < c:
        return (f"{s} is more than {settings.band:g} below {current}'s threshold of {low:g}: {recommended} "
                f"recommended instead of {current}")
    if low is not None and score < low:
        return (f"{s} is below {current}'s threshold of {low:g} by less than the band of {settings.band:g}: "
                f"{current} kept")
    if high is not None and score >= high:
        return (f"{s} is above the next tier's threshold of {high:g} by less than the band of {settings.band:g}: "
                f"{current} kept")
    span = f"{low:g} to {high:g}" if low is not None and high is not None else (
        f"below {high:g}" if high is not None else f"{low:g} and up")
    return f"{s} fits {current} ({span})"


def tier_reason(score: float, current: object, recommended: object, settings: TierSettings) -> str:
    """Why the score supports ``recommended`` for a partner now in ``current``, in numbers.

    >>> t = TierSettings(names=["bronze", "silver", "gold"], thresholds=[40, 60], band=5)
    >>> tier_reason(66.0, "silver", "gold", t), tier_reason(33.0, "silver", "bronze", t)
    ("score 66 clears gold's threshold of 60 by at least the band of 5", \
"score 33 is more than 5 below silver's threshold of 40: bronze recommended instead of silver")
    """
    if score is None or pd.isna(score):
        return "not scored: too little data"
    c, r = _index(current, settings.names), _index(recommended, settings.names)
    if c is not None and r is not None and r > c:
        return (f"score {score:.0f} clears {recommended}'s threshold of {_threshold(settings, str(recommended)):g} "
                f"by at least the band of {settings.band:g}")
    return _keep_lead(float(score), current, recommended, settings)


def decide(row: pd.Series, history: pd.DataFrame, settings: PartnerSettings, termination: str = "",
           currency: str = "") -> tuple[str, str]:
    """The action and its reasons for one partner: ``row`` is its latest scored quarter (with ``current_tier`` and
    ``recommended_tier``), ``history`` its scored quarters in order, ``termination`` the evidence of a termination
    condition it meets ("" for none)."""
    t = settings.tiers
    score, current, recommended = row.get("score"), row.get("current_tier"), row.get("recommended_tier")
    c, r = _index(current, t.names), _index(recommended, t.names)
    has_score = score is not None and not pd.isna(score)
    low_run = consecutive_below(history["score"].astype("float64"), t.watch_score) if has_score else 0
    s = f"score {score:.0f}" if has_score else ""
    if termination:
        action, lead = "eliminate", termination
    elif not has_score:
        return "keep", "not scored: too little data in the latest quarter (a new partner or missing figures)"
    elif low_run >= t.watch_quarters:
        run = f", {_ordinal(low_run)} quarter in a row" if low_run > 1 else ""
        action, lead = "watch", f"{s}, below the watch line of {t.watch_score:g}{run}"
        if c is not None and r is not None and r < c:
            lead += f"; {recommended} recommended instead of {current}"
    elif c is not None and r is not None and r > c:
        action, lead = "upgrade", tier_reason(float(score), current, recommended, t)
    else:
        action, lead = "keep", _keep_lead(float(score), current, recommended, t)
        if low_run:
            lead += (f"; below the watch line of {t.watch_score:g} for the first quarter (watch after "
                     f"{t.watch_quarters} in a row)")
    phrases = _indicator_phrases(row, history, t, strong=action == "upgrade", currency=currency)
    if has_score and action == "eliminate" and "score below" not in lead:
        phrases.insert(0, s)
    return action, "; ".join([lead, *phrases])


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def assign_tiers(scored: pd.DataFrame, settings: PartnerSettings | None = None,
                 current: pd.Series | None = None, termination: pd.Series | None = None,
                 currency: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recommended tiers and actions from a score history.

    ``scored``: :func:`~chanlib.analytics.partners.scorecard.scorecard` rows per partner and quarter (with
    ``tier``, the tier held that quarter, when known); ``current``: partner_id -> current tier (default: the tier
    held in the latest quarter); ``termination``: partner_id -> evidence of a termination condition met (see
    :func:`chanlib.analytics.partners.contracts.termination_check`).

    Returns ``(history, latest)``: the history with ``recommended_tier`` per quarter (from the tier then held), and
    one row per partner for its latest quarter with ``current_tier``, ``recommended_tier``, ``action``, ``reasons``,
    ``mis_tiered``, ``score_prev`` (the quarter before) and ``trend`` (points per quarter, see
    :func:`~chanlib.analytics.partners.scorecard.score_trend` over ``contracts.trend_quarters``), sorted by what
    needs attention first (eliminate, watch, upgrade, keep; lowest score first).

    >>> import pandas as pd
    >>> scored = pd.DataFrame({"partner_id": ["A", "A", "B", "B"], "region": "N", "channel": "web",
    ...                        "quarter": pd.to_datetime(["2025-07-01", "2025-10-01"] * 2),
    ...                        "score": [62.0, 57.0, 20.0, 25.0], "tier": ["gold", "gold", "silver", "silver"]})
    >>> hist, latest = assign_tiers(scored)
    >>> latest[["partner_id", "recommended_tier", "action", "mis_tiered"]].to_dict("records")
    [{'partner_id': 'B', 'recommended_tier': 'bronze', 'action': 'watch', 'mis_tiered': True}, \
{'partner_id': 'A', 'recommended_tier': 'gold', 'action': 'keep', 'mis_tiered': False}]
    >>> latest["reasons"].iloc[0]
    'score 25, below the watch line of 30, 2nd quarter in a row; bronze recommended instead of silver'
    """
    settings = settings or PartnerSettings()
    t = settings.tiers
    history = scored.sort_values(["partner_id", "quarter"]).reset_index(drop=True).copy()
    held = history["tier"] if "tier" in history else pd.Series(None, index=history.index, dtype=object)
    history["recommended_tier"] = [recommend_tier(s, h, t) for s, h in zip(history["score"], held)]
    latest = history.groupby("partner_id", sort=True).tail(1).set_index("partner_id")
    previous = history.groupby("partner_id").nth(-2).set_index("partner_id")["score"] if len(history) else None
    latest["score_prev"] = previous.reindex(latest.index) if previous is not None else np.nan
    latest["trend"] = score_trend(history, settings.contracts.trend_quarters).reindex(latest.index)
    tiers_now = current.reindex(latest.index) if current is not None else latest.get("tier")
    latest["current_tier"] = tiers_now.where(tiers_now.notna(), None) if tiers_now is not None else None
    latest["recommended_tier"] = [recommend_tier(s, c, t) for s, c in zip(latest["score"], latest["current_tier"])]
    evidence = termination.reindex(latest.index).fillna("") if termination is not None else \
        pd.Series("", index=latest.index)
    by_partner = dict(tuple(history.groupby("partner_id", sort=False)))
    decided = [decide(row, by_partner[pid], settings, evidence[pid], currency) for pid, row in latest.iterrows()]
    latest["action"] = [a for a, _ in decided]
    latest["reasons"] = [r for _, r in decided]
    latest["mis_tiered"] = [bool(isinstance(c, str) and r is not None and c != r)
                            for c, r in zip(latest["current_tier"], latest["recommended_tier"])]
    latest = latest.reset_index()
    order = latest["action"].map({a: i for i, a in enumerate(ACTIONS)})
    latest = latest.assign(_o=order, _s=latest["score"].fillna(-1.0)).sort_values(["_o", "_s", "partner_id"]) \
        .drop(columns=["_o", "_s"]).reset_index(drop=True)
    return history, latest
