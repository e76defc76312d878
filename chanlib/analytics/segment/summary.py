"""Per-region summaries of the stored segmentation (what a region report's "Segments" section reads).

Examples
--------
>>> import pandas as pd
>>> seg = pd.DataFrame({"partner_id": ["a", "b", "c"], "region": ["N", "N", "S"], "segment_id": [1, 2, 2],
...                     "segment_name": ["large", "small", "small"], "revenue": [90.0, 10.0, 5.0]})
>>> region_sizes(seg, "N")[["segment_name", "partners", "revenue_share"]].to_dict("list")
{'segment_name': ['large', 'small'], 'partners': [1, 1], 'revenue_share': [0.9, 0.1]}
"""
from __future__ import annotations

import pandas as pd


def region_sizes(segment_partners: pd.DataFrame, region: str) -> pd.DataFrame:
    """Per segment with partners in ``region``: segment_id, segment_name, partners, share, revenue, revenue_share."""
    part = segment_partners[segment_partners["region"] == region]
    g = part.groupby(["segment_id", "segment_name"], sort=True)
    out = g.size().rename("partners").to_frame()
    out["share"] = out["partners"] / max(len(part), 1)
    if "revenue" in part.columns:
        out["revenue"] = g["revenue"].sum()
        total = out["revenue"].sum()
        out["revenue_share"] = out["revenue"] / total if total > 0 else float("nan")
    return out.reset_index()
