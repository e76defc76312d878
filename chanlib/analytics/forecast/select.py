"""Choosing a candidate per series from its backtest scores.

Examples
--------
>>> rows = [{"model": "ets", "score": 2.0}, {"model": "theta", "score": 1.0}, {"model": "ets", "score": 1.0},
...         {"model": "theta", "score": float("nan")}]
>>> rank(rows, ["ets", "theta"])
['ets', 'theta']
>>> rows = [{"model": "ets", "score": 8.0}, {"model": "combo", "score": 10.0}]
>>> rank(rows, ["ets", "combo"], prefer="combo", margin=0.3), rank(rows, ["ets", "combo"], prefer="combo", margin=0.1)
(['combo', 'ets'], ['ets', 'combo'])
"""
from __future__ import annotations

import math


def mean_scores(rows: list[dict], candidates: list[str]) -> dict[str, float]:
    """Mean backtest score per candidate (nan when any window failed or there is no window)."""
    out: dict[str, float] = {}
    for name in candidates:
        values = [r["score"] for r in rows if r["model"] == name]
        out[name] = sum(values) / len(values) if values and all(math.isfinite(v) for v in values) else math.nan
    return out


def rank(rows: list[dict], candidates: list[str], prefer: str | None = None, margin: float = 0.0) -> list[str]:
    """Candidates from best (lowest mean score) to worst; failed ones last; ties keep the given order.

    With ``prefer`` (e.g. the combination) and ``margin`` > 0, ``prefer`` stays first unless the best candidate's
    score is lower than ``(1 - margin)`` times its score.
    """
    scores = mean_scores(rows, candidates)
    order = {name: i for i, name in enumerate(candidates)}
    ranked = sorted(candidates, key=lambda n: (not math.isfinite(scores[n]), scores[n] if math.isfinite(scores[n])
                                               else 0.0, order[n]))
    if prefer in scores and math.isfinite(scores[prefer]) and ranked[0] != prefer and margin > 0:
        if not scores[ranked[0]] < (1.0 - margin) * scores[prefer]:
            ranked.remove(prefer)
            ranked.insert(0, prefer)
    return ranked
