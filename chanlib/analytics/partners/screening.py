"""Candidate screening: hard gates, then a weighted 0-100 score, and a ranked shortlist with the reasons for each
candidate's rank or rejection.

**Gates** come first and cannot be outweighed: with ``screening.require_qualified`` a candidate must have passed
the qualification check (``qualified`` yes), and each attribute in ``screening.gates`` must be at least its minimum
(an unknown value fails the gate). A candidate failing a gate gets its score (for information) but no rank,
however high the score.

**Score.** Each attribute of ``screening.weights`` is turned into 0-100 points on its scale
(``screening.scales``: linear from ``low`` to ``high``, clipped, optionally on log(1 + value)) and the points are
weighted (weights sum to 1): potential is ``stores`` (market reach), reputation ``credit_score`` and
``years_in_business``, willingness the survey score ``willingness``. An unknown attribute value scores 0 points
(the reason says so).

``qualified`` reads yes/no, y/n, true/false and 1/0 (any case); anything else, or empty, is "not qualified".

Examples
--------
>>> import pandas as pd
>>> candidates = pd.DataFrame({"candidate_id": ["C1", "C2", "C3"], "name": ["Ann", "Bob", "Cid"],
...                            "stores": [40.0, 90.0, 5.0], "credit_score": [80.0, 45.0, 70.0],
...                            "years_in_business": [10.0, 30.0, 3.0], "qualified": ["yes", "yes", "no"],
...                            "willingness": [8.0, 9.0, 6.0]})
>>> shortlist = screen(candidates)
>>> shortlist[["candidate_id", "passed_gates", "score", "rank"]].round(1).to_dict("records")
[{'candidate_id': 'C1', 'passed_gates': True, 'score': 70.8, 'rank': 1.0}, \
{'candidate_id': 'C2', 'passed_gates': False, 'score': 71.3, 'rank': nan}, \
{'candidate_id': 'C3', 'passed_gates': False, 'score': 42.6, 'rank': nan}]
>>> shortlist["reasons"].iloc[1]
'failed gates: credit score 45 below 50 (score 71 not ranked)'
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from chanlib.config import CANDIDATE_ATTRIBUTES, PartnerSettings, Scale, ScreeningSettings

#: attribute -> how reasons name it
ATTRIBUTE_LABELS = {"stores": "reach", "credit_score": "credit score", "years_in_business": "years in business",
                    "willingness": "willingness"}
YES = frozenset({"yes", "y", "true", "t", "1", "1.0"})


def _screening_settings(settings: PartnerSettings | ScreeningSettings | None) -> ScreeningSettings:
    if isinstance(settings, PartnerSettings):
        return settings.screening
    return settings or ScreeningSettings()


def qualified(values: pd.Series) -> pd.Series:
    """``qualified`` as booleans (see the module docstring).

    >>> qualified(pd.Series(["Yes", "no", None, "1", 0.0, 1.0])).tolist()
    [True, False, False, True, False, True]
    """
    return values.map(lambda v: str(v).strip().lower() in YES if v is not None and not
                      (isinstance(v, float) and math.isnan(v)) else False).astype(bool)


def scale_points(values: pd.Series, scale: Scale) -> pd.Series:
    """0-100 points of ``values`` on ``scale`` (empty values stay empty).

    >>> scale_points(pd.Series([0.0, 50.0, 120.0]), Scale(low=0, high=100)).tolist()
    [0.0, 50.0, 100.0]
    """
    x = values.astype("float64")
    low, high = scale.low, scale.high
    if scale.log:
        x, low, high = np.log1p(x.clip(lower=-0.999999)), math.log1p(low), math.log1p(high)
    return ((x - low) / (high - low)).clip(0.0, 1.0) * 100.0


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 or abs(value) >= 100 else f"{value:,.1f}"


def screen(candidates: pd.DataFrame, settings: PartnerSettings | ScreeningSettings | None = None) -> pd.DataFrame:
    """Gate, score and rank ``candidates`` (columns of the contract's ``candidates`` table; see the module
    docstring).

    Returns one row per candidate: candidate_id, name, region, channel, passed_gates, score, rank (1 = best, empty
    for a candidate failing a gate), reasons, then ``points_<attribute>`` and the attributes; ranked candidates
    first, by rank, then the rejected ones by score.
    """
    s = _screening_settings(settings)
    frame = candidates.reset_index(drop=True).copy()
    for column in ("name", "region", "channel", "qualified", *CANDIDATE_ATTRIBUTES):
        if column not in frame:
            frame[column] = None
    for column in CANDIDATE_ATTRIBUTES:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["candidate_id"] = frame["candidate_id"].astype(str)
    is_qualified = qualified(frame["qualified"])

    failures: list[list[str]] = [[] for _ in range(len(frame))]
    if s.require_qualified:
        for j in np.flatnonzero(~is_qualified.to_numpy()):
            failures[int(j)].append("not qualified")
    for attribute, minimum in s.gates.items():
        values = frame[attribute]
        for i, value in enumerate(values):
            name = ATTRIBUTE_LABELS[attribute]
            if pd.isna(value):
                failures[i].append(f"{name} unknown")
            elif value < minimum:
                failures[i].append(f"{name} {_num(value)} below {_num(minimum)}")

    weights = {a: w for a, w in s.weights.items() if w > 0}
    for attribute in weights:
        frame[f"points_{attribute}"] = scale_points(frame[attribute], s.scales[attribute])
    contributions = pd.DataFrame({a: frame[f"points_{a}"].fillna(0.0) * w for a, w in weights.items()},
                                 index=frame.index)
    frame["score"] = contributions.sum(axis=1) if weights else 0.0
    frame["passed_gates"] = [not f for f in failures]
    passed = frame[frame["passed_gates"]].sort_values(["score", "candidate_id"], ascending=[False, True])
    frame["rank"] = pd.Series(np.arange(1, len(passed) + 1, dtype="float64"), index=passed.index)
    n_ranked = len(passed)

    reasons = []
    for i, row in frame.iterrows():
        if failures[i]:
            reasons.append(f"failed gates: {'; '.join(failures[i])} (score {row['score']:.0f} not ranked)")
            continue
        parts = []
        for attribute in sorted(weights, key=lambda a: -contributions.at[i, a]):
            value, pts = row[attribute], row[f"points_{attribute}"]
            name = ATTRIBUTE_LABELS[attribute]
            parts.append(f"{name} unknown (0 points)" if pd.isna(value) else
                         f"{name} {_num(value)} ({pts:.0f} points, weight {weights[attribute]:.0%})")
        reasons.append(f"rank {int(row['rank'])} of {n_ranked}, score {row['score']:.0f}: " + ", ".join(parts))
    frame["reasons"] = reasons
    frame["qualified"] = is_qualified
    ordered = pd.concat([frame.loc[passed.index],
                         frame[~frame["passed_gates"]].sort_values(["score", "candidate_id"], ascending=[False, True])])
    columns = ["candidate_id", "name", "region", "channel", "passed_gates", "score", "rank", "reasons",
               *[f"points_{a}" for a in weights], "qualified", *CANDIDATE_ATTRIBUTES]
    return ordered[columns].reset_index(drop=True)
