"""Partner segmentation: features, clustering, names and the frames a run keeps.

:func:`segment_partners` is what ``chanlib segment --params P --out F`` writes (``SegmentResult.partners``) and what
the store build keeps for the region reports (:meth:`SegmentResult.tables`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> p, d = np.meshgrid(np.arange(40), np.arange(730), indexing="ij")
>>> sales = pd.DataFrame({"date": pd.Timestamp("2024-01-01") + pd.to_timedelta(d.ravel(), unit="D"),
...                       "region": "East", "channel": "web", "partner_id": [f"P{i}" for i in p.ravel()],
...                       "revenue": np.where(p.ravel() < 20, 100.0, 5.0)
...                                  * (1 + ((p.ravel() * 7 + d.ravel()) % 11) / 10)})
>>> result = segment_partners({"sales": sales}, SegmentSettings(k_max=4))
>>> list(result.partners.columns)
['partner_id', 'segment_id', 'segment_name', 'revenue', 'growth', 'volatility', 'recency_days']
>>> result.k, result.profiles["segment_name"].tolist()
(2, ['large', 'small'])
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import pandas as pd

from chanlib.analytics.segment.cluster import PartnerSegmenter
from chanlib.analytics.segment.features import partner_features
from chanlib.config import SegmentSettings
from chanlib.data.store import Tables

log = logging.getLogger(__name__)


@dataclass
class SegmentResult:
    """The outcome of one partner segmentation.

    ``partners``: partner_id, segment_id, segment_name and the features (in their own units; empty where a partner
    has no value); ``profiles``: one row per segment (see :attr:`PartnerSegmenter.profiles_`); ``points``:
    partner_id, region, segment_id, segment_name, pc1, pc2 (the 2-D PCA view); ``deviations``: segment x feature
    centre minus the whole in robust units; ``scores``: k and the criterion of each k tried; ``left_out``: features
    not used, with the reason.
    """

    partners: pd.DataFrame
    profiles: pd.DataFrame
    points: pd.DataFrame
    deviations: pd.DataFrame
    scores: pd.DataFrame
    k: int
    as_of: dt.date | None
    left_out: dict[str, str] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The frames a store build keeps (``result_<name>``); ``segment_partners`` has a region column."""
        partners = self.partners.merge(self.points[["partner_id", "region", "pc1", "pc2"]], on="partner_id")
        return {"segment_partners": partners, "segment_profiles": self.profiles,
                "segment_deviations": self.deviations.reset_index(), "segment_scores": self.scores}


def segment_frame(features: pd.DataFrame, settings: SegmentSettings, region: pd.Series | None = None,
                  as_of: dt.date | None = None, left_out: dict[str, str] | None = None) -> SegmentResult:
    """Segment a ready feature frame (index partner_id) and package the result."""
    seg = PartnerSegmenter(settings).fit(features)
    left = dict(left_out or {})
    left.update(seg.dropped_)
    ids = seg.segments_
    names = ids.map(seg.names_).rename("segment_name")
    partners = pd.concat([ids, names, features.reindex(ids.index)], axis=1).rename_axis("partner_id").reset_index()
    regions = region.reindex(ids.index) if region is not None else pd.Series(pd.NA, index=ids.index, dtype=object)
    points = pd.DataFrame({"region": regions, "segment_id": ids, "segment_name": names}).join(seg.embedding_)
    points = points.rename_axis("partner_id").reset_index()
    scores = seg.scores_.rename("score").reset_index().assign(criterion=settings.criterion,
                                                            chosen=lambda f: f["k"] == seg.k_)
    return SegmentResult(partners=partners, profiles=seg.profiles_, points=points,
                         deviations=seg.deviations_.rename_axis("segment_id"), scores=scores, k=seg.k_,
                         as_of=as_of, left_out=left)


def segment_partners(data: Tables, settings: SegmentSettings | None = None) -> SegmentResult:
    """Compute partner features from ``data`` (a store, or a mapping of canonical table name to DataFrame) and
    segment the partners (all regions at once)."""
    settings = settings or SegmentSettings()
    pf = partner_features(data, settings)
    return segment_frame(pf.frame, settings, pf.region, pf.as_of, pf.left_out)
