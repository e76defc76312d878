"""Human-readable segment names generated from how each segment's centre differs from the whole.

A centre's *deviation* on a feature is (segment mean - mean of all) in robust units (IQRs of that feature, after
its log transform). The features whose deviation reaches ``threshold`` earn a word -- the ``max_words`` largest,
said in the order the features are listed -- e.g. "large, growing, high-margin". A segment with no large deviation
is "typical". Names are unique within a run: colliding names take further words (by size of deviation) and, as a
last resort, the segment id. No name is tied to a cluster number; they come from the numbers only.

Features with a natural reference level are worded by the segment's own typical value once they are picked, so a
name never contradicts the numbers: growth (reference 0, band +-5 %) reads "growing", "flat" or "declining" and
target attainment (reference 1, band +-5 %) "above allocated target", "on allocated target" or "below allocated
target" -- a segment growing 3 % among partners that grow 20 % is "flat", not "declining". Targets are set per
region x channel and a partner's part of one is allocated by its prior-year share of the cell
(:mod:`chanlib.analytics.segment.features`), so the words say "allocated target", never a plain "target".

Examples
--------
>>> import pandas as pd
>>> dev = pd.DataFrame({"revenue": [1.5, -0.9, 0.1], "growth": [0.2, 1.2, -0.1], "margin": [0.8, 0.0, 0.05]},
...                    index=[1, 2, 3])
>>> name_segments(dev)
{1: 'large, high-margin', 2: 'small, growing', 3: 'typical'}
>>> name_segments(dev, levels=pd.DataFrame({"growth": [0.01, -0.2, 0.0]}, index=[1, 2, 3]), max_words=3)
{1: 'large, high-margin', 2: 'small, declining', 3: 'typical'}
>>> describe("headcount", 1.0), describe("headcount", -1.0)
('high headcount', 'low headcount')
"""
from __future__ import annotations

import pandas as pd

#: feature -> (word when above the whole, word when below)
WORDS: dict[str, tuple[str, str]] = {
    "revenue": ("large", "small"),
    "growth": ("growing", "declining"),
    "volatility": ("erratic", "steady"),
    "margin": ("high-margin", "low-margin"),
    "online_share": ("online-heavy", "offline-heavy"),
    "recency_days": ("lapsing", "recently active"),
    "target_attainment": ("above allocated target", "below allocated target"),
    "sell_through": ("fast-selling", "overstocked"),
    # RFM
    "recency": ("recent", "lapsed"),
    "frequency": ("frequent", "occasional"),
    "monetary": ("high-spending", "low-spending"),
}
TYPICAL = "typical"
#: feature -> (reference level, half-width of the band around it, word above, word within, word below)
ANCHORED: dict[str, tuple[float, float, str, str, str]] = {
    "growth": (0.0, 0.05, "growing", "flat", "declining"),
    "target_attainment": (1.0, 0.05, "above allocated target", "on allocated target", "below allocated target"),
}


def describe(feature: str, deviation: float, level: float | None = None) -> str:
    """The word for a deviation of ``feature`` (``high <feature>`` / ``low <feature>`` for unknown features).

    ``level`` is the segment's typical value in the feature's own units; it decides the word of
    :data:`ANCHORED` features.
    """
    if feature in ANCHORED and level is not None and pd.notna(level):
        ref, band, above, within, below = ANCHORED[feature]
        return above if level > ref + band else below if level < ref - band else within
    high, low = WORDS.get(feature, (f"high {feature.replace('_', ' ')}", f"low {feature.replace('_', ' ')}"))
    return high if deviation > 0 else low


def _render(chosen: list[str], order: list[str], dev: pd.Series, level: pd.Series | None) -> str:
    if not chosen:
        return TYPICAL
    words = [describe(f, dev[f], None if level is None else level.get(f)) for f in order if f in chosen]
    return ", ".join(dict.fromkeys(words))


def name_segments(deviations: pd.DataFrame, threshold: float = 0.4, max_words: int = 3,
                  levels: pd.DataFrame | None = None) -> dict:
    """A unique name per row of ``deviations`` (segment x feature, robust units); returns {segment: name}.

    ``levels`` (segment x feature, the segment's typical values in their own units) words :data:`ANCHORED`
    features.
    """
    order = list(deviations.columns)
    ranked = {}
    chosen = {}
    for seg, dev in deviations.iterrows():
        by_size = dev.abs().sort_values(ascending=False, kind="stable")
        ranked[seg] = [f for f in by_size.index if dev[f] != 0 and pd.notna(dev[f])]
        chosen[seg] = [f for f in ranked[seg] if abs(dev[f]) >= threshold][:max_words]
    def render(seg) -> str:
        level = levels.loc[seg] if levels is not None and seg in levels.index else None
        return _render(chosen[seg], order, deviations.loc[seg], level)

    names = {seg: render(seg) for seg in deviations.index}
    for _ in range(len(order) + 1):
        groups: dict[str, list] = {}
        for seg, name in names.items():
            groups.setdefault(name, []).append(seg)
        clashes = [segs for segs in groups.values() if len(segs) > 1]
        if not clashes:
            return names
        for segs in clashes:
            for seg in segs:
                extra = [f for f in ranked[seg] if f not in chosen[seg]]
                if extra:
                    chosen[seg].append(extra[0])
                    names[seg] = render(seg)
    seen: dict[str, int] = {}
    for seg in deviations.index:  # last resort: the segment id makes it unique
        seen[names[seg]] = seen.get(names[seg], 0) + 1
    return {seg: (f"{name} ({seg})" if seen[name] > 1 else name) for seg, name in names.items()}
