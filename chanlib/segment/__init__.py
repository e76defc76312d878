"""Segmentation: partner segments with generated names and profiles, ABC/XYZ classes, customer RFM.

- :class:`SegmentSettings` — the typed settings (``segment:`` in the params)
- :func:`segment_partners` / :class:`PartnerSegmenter` — features from the store (DuckDB SQL), robust scaling,
  k-means or Gaussian mixture with k chosen by silhouette or BIC, stable ids (1 = highest mean revenue), names
  such as "large, growing, high-margin" derived from each centre's difference from the whole
- :func:`abc_classes`, :func:`xyz_classes`, :func:`abc_xyz_matrix`, :func:`abc_xyz_table` — Pareto and
  demand-variability classes of partners and products
- :func:`rfm`, :func:`customer_rfm`, :func:`load_online_retail` — customer recency/frequency/monetary scores and
  named clusters
- :func:`analyses` and the report helpers :func:`region_sizes`, :func:`profile_table`, :func:`segment_sentence`

Bad input raises :class:`SegmentInputError`, a :class:`ValueError` and a :class:`chanlib.errors.DataError`.

Names are imported lazily (PEP 562), so ``chanlib.config`` can import :mod:`chanlib.segment.settings` without
pulling in the modules that themselves import ``chanlib.config`` (store, features).
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "SegmentSettings": "settings", "SegmentInputError": "errors", "PartnerSegmenter": "cluster",
    "SegmentResult": "partners", "segment_partners": "partners", "segment_frame": "partners",
    "PartnerFeatures": "features", "partner_features": "features", "name_segments": "naming",
    "abc_classes": "abc_xyz", "xyz_classes": "abc_xyz", "abc_xyz_matrix": "abc_xyz", "abc_xyz_table": "abc_xyz",
    "rfm": "customers", "score_rfm": "customers", "rfm_summary": "customers", "customer_rfm": "customers",
    "load_online_retail": "customers", "RetailLoad": "customers", "analyses": "views", "region_sizes": "views", "profile_table": "views",
    "segment_sentence": "views", "PROFILE_MONEY": "views", "PROFILE_PERCENT": "views",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
