"""Segmentation: partner segments with generated names and profiles, ABC/XYZ classes, customer RFM.

- :class:`~chanlib.config.SegmentSettings` — the typed settings (``segment:`` in the params)
- :func:`segment_partners` / :class:`PartnerSegmenter` — partner features (DuckDB SQL over ``data``: a store or a
  mapping of DataFrames), robust scaling, k-means or Gaussian mixture with k chosen by silhouette or BIC, stable ids
  (1 = highest mean revenue), names such as "large, growing, high-margin" derived from each centre's difference from
  the whole; :func:`segment_frame` segments a ready feature DataFrame
- :func:`abc_classes`, :func:`xyz_classes`, :func:`abc_xyz_matrix`, :func:`abc_xyz_table` — Pareto and
  demand-variability classes of partners and products
- :func:`rfm`, :func:`customer_rfm`, :func:`load_online_retail` — customer recency/frequency/monetary scores and
  named clusters
- :func:`region_sizes` — a region's slice of the stored segments

An absent input (no partner_id, customer_id, ...) raises :class:`~chanlib.errors.MissingInput`; a malformed one
raises :class:`SegmentInputError`, a :class:`ValueError` and a :class:`chanlib.errors.DataError`.
"""
from __future__ import annotations

from chanlib.analytics.segment.abc_xyz import abc_classes, abc_xyz_matrix, abc_xyz_table, xyz_classes
from chanlib.analytics.segment.cluster import PartnerSegmenter
from chanlib.analytics.segment.customers import (
           RetailLoad,
           customer_rfm,
           load_online_retail,
           rfm,
           rfm_summary,
           score_rfm,
)
from chanlib.analytics.segment.errors import SegmentInputError
from chanlib.analytics.segment.features import PartnerFeatures, partner_features
from chanlib.analytics.segment.naming import name_segments
from chanlib.analytics.segment.partners import SegmentResult, segment_frame, segment_partners
from chanlib.analytics.segment.summary import region_sizes
from chanlib.config import SegmentSettings

__all__ = ["PartnerFeatures", "PartnerSegmenter", "RetailLoad", "SegmentInputError", "SegmentResult",
           "SegmentSettings", "abc_classes", "abc_xyz_matrix", "abc_xyz_table", "customer_rfm", "load_online_retail",
           "name_segments", "partner_features", "region_sizes", "rfm", "rfm_summary", "score_rfm", "segment_frame",
           "segment_partners", "xyz_classes"]
