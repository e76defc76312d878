"""The partner scorecard: each indicator compared with the partner's peers, weighted into a 0-100 score.

**Normalisation (robust z within region x channel).** In every quarter, each indicator of a partner is compared
with the same indicator of its peers: ``z = (value - median) / max(IQR / 1.349, min_scale)``, clipped to +-3, and
turned into 0-100 points by the normal distribution (``100 x Phi(z)``): a partner at its peers' median gets 50, one
a robust standard deviation above 84, two above 98. The median and the interquartile range resist a few extreme
peers; ``scorecard.min_scale`` keeps peers that nearly agree from being told apart by noise. ``revenue`` is compared
on a log scale. A partner's peers are the partners of its region x channel with a value in that quarter; when that
cell has fewer than ``scorecard.min_peers``, its channel across all regions is the peer group, and with fewer still
all partners are (``peer_group`` says which, ``peers`` how many). An indicator with fewer than two values in the
group gives no points.

**Score.** The weighted mean of the points (``scorecard.weights``) over the indicators the partner has a value for
(the weights of the missing ones are shared out); empty when those carry less than ``scorecard.min_weight`` of the
weight of the indicators the data provide at all (an indicator no partner has, e.g. sell-through without an
inventory table, is not held against anyone).

Examples
--------
>>> import pandas as pd
>>> kpis = pd.DataFrame({"partner_id": ["A", "B", "C", "D", "E"], "region": "North", "channel": "web",
...                      "growth": [0.30, 0.10, 0.05, 0.0, -0.40], "margin": [0.30, 0.30, 0.28, 0.31, 0.20]})
>>> from chanlib.config import PartnerSettings
>>> settings = PartnerSettings.model_validate({"scorecard": {"weights": {"growth": 0.5, "margin": 0.5}}})
>>> scorecard(kpis, settings)[["partner_id", "points_growth", "points_margin", "score"]].round(1).to_dict("list")
{'partner_id': ['A', 'B', 'C', 'D', 'E'], 'points_growth': [95.2, 63.1, 50.0, 36.9, 0.1], \
'points_margin': [50.0, 50.0, 25.2, 63.1, 0.1], 'score': [72.6, 56.5, 37.6, 50.0, 0.1]}
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from chanlib.config import INDICATORS, PartnerSettings, ScorecardSettings

#: indicators compared on log(1 + value)
LOG_INDICATORS = frozenset({"revenue"})
#: robust z-scores are clipped to +- this
Z_CLIP = 3.0
#: IQR / this = the standard deviation of a normal distribution
IQR_TO_SD = 1.349
#: peer levels, finest first: (name, key columns besides the quarter)
LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (("region x channel", ("region", "channel")),
                                                   ("channel", ("channel",)), ("all partners", ()))


def _settings(settings: PartnerSettings | ScorecardSettings | None) -> ScorecardSettings:
    if isinstance(settings, PartnerSettings):
        return settings.scorecard
    return settings or ScorecardSettings()


def points(values: pd.Series, median: pd.Series, iqr: pd.Series, min_scale: float) -> pd.Series:
    """0-100 points of ``values`` against their peers' ``median`` and ``iqr`` (see the module docstring).

    >>> points(pd.Series([10.0, 12.0]), pd.Series([10.0, 10.0]), pd.Series([2.698, 2.698]), 0.1).round(1).tolist()
    [50.0, 84.1]
    """
    scale = np.maximum(iqr.to_numpy(dtype="float64") / IQR_TO_SD, min_scale)
    z = np.clip((values.to_numpy(dtype="float64") - median.to_numpy(dtype="float64")) / scale, -Z_CLIP, Z_CLIP)
    return pd.Series(100.0 * ndtr(z), index=values.index)


def _peer_keys(frame: pd.DataFrame, has_value: pd.Series, min_peers: int) -> pd.DataFrame:
    """Per row: the peer level, the group's region and channel (``*`` where the level spans them) and its size."""
    rows = frame.loc[has_value, ["_q", "region", "channel"]]
    out = pd.DataFrame(index=frame.index, data={"peer_level": LEVELS[-1][0], "peer_region": "*", "peer_channel": "*"})
    out["peers"] = frame["_q"].map(rows.groupby("_q").size()).fillna(0).astype(int)
    decided = pd.Series(False, index=frame.index)
    for level, keys in LEVELS[:-1]:
        counts = rows.groupby(["_q", *keys]).size().rename("n")
        n = frame[["_q", *keys]].merge(counts, left_on=["_q", *keys], right_index=True, how="left")["n"].fillna(0)
        take = ~decided & (n >= min_peers)
        out.loc[take, "peer_level"] = level
        out.loc[take, "peers"] = n[take].astype(int)
        for key in keys:
            out.loc[take, f"peer_{key}"] = frame.loc[take, key].astype(str)
        decided |= take
    return out


def peer_group_name(level: str, region: str, channel: str) -> str:
    """How reasons and pages name a peer group: ``North x web_store``, ``web_store, all regions``, ``all
    partners``."""
    if level == LEVELS[0][0]:
        return f"{region} x {channel}"
    if level == LEVELS[1][0]:
        return f"{channel}, all regions"
    return "all partners"


def scorecard(kpis: pd.DataFrame, settings: PartnerSettings | ScorecardSettings | None = None) -> pd.DataFrame:
    """Score every row of ``kpis`` (one per partner and quarter: ``partner_id``, ``region``, ``channel``, optionally
    ``quarter``, and indicator columns named as in :data:`chanlib.config.INDICATORS`) against its peers.

    Returns ``kpis`` with ``points_<indicator>`` (0-100) for every weighted indicator it has, ``score`` (0-100,
    empty with too little data), ``peer_level``, ``peer_region``, ``peer_channel``, ``peer_group`` and ``peers``.
    """
    s = _settings(settings)
    frame = kpis.reset_index(drop=True).copy()
    frame["_q"] = frame["quarter"] if "quarter" in frame else 0
    weights = {k: w for k, w in s.weights.items() if w > 0 and k in frame and frame[k].notna().any()}
    values = {k: (np.log1p(frame[k].astype("float64").clip(lower=0)) if k in LOG_INDICATORS
                  else frame[k].astype("float64")) for k in weights}
    has_value = pd.concat([v.notna() for v in values.values()], axis=1).any(axis=1) if values else \
        pd.Series(False, index=frame.index)
    peers = _peer_keys(frame, has_value, s.min_peers)
    level_of = peers["peer_level"]
    for indicator, x in values.items():
        median = pd.Series(np.nan, index=frame.index)
        iqr = pd.Series(np.nan, index=frame.index)
        count = pd.Series(0.0, index=frame.index)
        for level, keys in LEVELS:
            rows = level_of == level
            if not rows.any():
                continue
            grouped = x[has_value].groupby([frame.loc[has_value, k] for k in ("_q", *keys)])
            stats = pd.DataFrame({"m": grouped.median(), "q1": grouped.quantile(0.25), "q3": grouped.quantile(0.75),
                                  "n": grouped.count()})
            stats.index.names = ["_q", *keys]
            at = frame.loc[rows, ["_q", *keys]].merge(stats, left_on=["_q", *keys], right_index=True, how="left")
            median[rows], iqr[rows], count[rows] = at["m"], at["q3"] - at["q1"], at["n"].fillna(0)
        scored = points(x, median, iqr, s.min_scale.get(indicator, 1e-9))
        frame[f"points_{indicator}"] = scored.where(x.notna() & (count >= 2))
    if weights:
        pts = frame[[f"points_{k}" for k in weights]].to_numpy(dtype="float64")
        w = np.array(list(weights.values()))
        present = ~np.isnan(pts)
        carried = (present * w).sum(axis=1)
        total = np.nansum(pts * w, axis=1)
        frame["score"] = np.where(carried >= s.min_weight * w.sum() - 1e-12,
                                  total / np.where(carried > 0, carried, 1.0), np.nan)
    else:
        frame["score"] = np.nan
    frame = frame.drop(columns="_q")
    for column in ("peer_level", "peer_region", "peer_channel", "peers"):
        frame[column] = peers[column]
    frame["peer_group"] = [peer_group_name(lv, r, c) for lv, r, c in
                           zip(peers["peer_level"], frame["region"].astype(str), frame["channel"].astype(str))]
    return frame


def score_trend(history: pd.DataFrame, quarters: int) -> pd.Series:
    """Per partner: the least-squares slope of its score over its last ``quarters`` scored quarters, in points per
    quarter (empty with fewer than two scores). ``history``: partner_id, quarter, score.

    >>> h = pd.DataFrame({"partner_id": "A", "quarter": pd.date_range("2025-01-01", periods=4, freq="QS"),
    ...                   "score": [60.0, 55.0, 52.0, 45.0]})
    >>> score_trend(h, 4).round(2).to_dict()
    {'A': -4.8}
    """
    def slope(group: pd.DataFrame) -> float:
        part = group.dropna(subset=["score"]).sort_values("quarter").tail(quarters)
        if len(part) < 2:
            return float("nan")
        x = np.arange(len(part), dtype="float64")
        return float(np.polyfit(x, part["score"].to_numpy(dtype="float64"), 1)[0])

    out = {pid: slope(g) for pid, g in history.groupby("partner_id", sort=True)}
    return pd.Series(out, dtype="float64")


def peer_benchmarks(scored: pd.DataFrame, min_peers: int = 5) -> pd.DataFrame:
    """Anonymised benchmarks of each peer group a scored row was compared with: per quarter, group and indicator
    (and ``score``), the number of partners with a value and their lower quartile, median and upper quartile.
    Groups with fewer than ``min_peers`` values are left out, so no benchmark reveals a single partner's figure.

    >>> rows = pd.DataFrame({"partner_id": list("ABCDE"), "region": "N", "channel": "web", "growth": [0.1, 0.2, 0.3,
    ...                      0.4, 0.5], "score": 50.0, "peer_level": "region x channel", "peer_region": "N",
    ...                      "peer_channel": "web", "peer_group": "N x web"})
    >>> peer_benchmarks(rows)[["indicator", "n", "q1", "median", "q3"]].to_dict("records")[0]
    {'indicator': 'growth', 'n': 5, 'q1': 0.2, 'median': 0.3, 'q3': 0.4}
    """
    frame = scored.copy()
    frame["_q"] = frame["quarter"] if "quarter" in frame else 0
    rows = []
    wanted = [c for c in (*INDICATORS, "score") if c in frame]
    for level, keys in LEVELS:
        members = frame  # every partner of the group counts, whatever level its own score used
        used = frame[frame["peer_level"] == level]
        if used.empty:
            continue
        groups = used[["_q", *keys]].drop_duplicates()
        part = members.merge(groups, on=["_q", *keys])
        for key, group in part.groupby(["_q", *keys], sort=True):
            key = key if isinstance(key, tuple) else (key,)
            named = dict(zip(["_q", *keys], key))
            for indicator in wanted:
                v = group[indicator].dropna().astype("float64")
                if len(v) < min_peers:
                    continue
                region, channel = str(named.get("region", "*")), str(named.get("channel", "*"))
                rows.append({"quarter": named["_q"], "peer_level": level, "peer_region": region,
                             "peer_channel": channel, "peer_group": peer_group_name(level, region, channel),
                             "indicator": indicator, "n": int(len(v)), "q1": float(v.quantile(0.25)),
                             "median": float(v.median()), "q3": float(v.quantile(0.75))})
    out = pd.DataFrame(rows, columns=["quarter", "peer_level", "peer_region", "peer_channel", "peer_group", "indicator",
                                      "n", "q1", "median", "q3"])
    if "quarter" not in scored:
        out = out.drop(columns="quarter")
    return out
