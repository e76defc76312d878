"""Typed settings of the segmentation capability (embedded in the run's params as ``segment:``).

Examples
--------
>>> from chanlib.segment.settings import SegmentSettings
>>> s = SegmentSettings(k_min=3, k_max=5)
>>> s.method, s.criterion, s.abc_thresholds, s.xyz_thresholds
('kmeans', 'silhouette', [0.8, 0.95], [0.5, 1.0])
>>> SegmentSettings(k_min=6, k_max=4)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for SegmentSettings
...
>>> SegmentSettings(method="kmeans", criterion="bic")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for SegmentSettings
...
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..settings_base import StrictModel

Method = Literal["kmeans", "gmm"]
Criterion = Literal["silhouette", "bic"]
#: every partner feature :func:`chanlib.segment.features.partner_features` can compute
FeatureName = Literal["revenue", "growth", "volatility", "margin", "online_share", "recency_days",
                      "target_attainment", "sell_through"]
ALL_FEATURES: tuple[str, ...] = ("revenue", "growth", "volatility", "margin", "online_share", "recency_days",
                                 "target_attainment", "sell_through")


class SegmentSettings(StrictModel):
    """How partners are segmented, how ABC/XYZ classes are cut and how customers are RFM-scored.

    Partners are described by :data:`FeatureName` features over the trailing ``window_months``; the features in
    ``log_features`` are put on a log scale (``log1p``), every feature is robust-scaled (median, IQR), and
    ``method`` clusters them for each k in ``k_min..k_max``; ``criterion`` picks k (silhouette: highest mean
    silhouette on a sample of ``silhouette_sample`` partners; bic: lowest Bayesian information criterion, GMM only).
    """

    #: smallest and largest number of segments tried
    k_min: int = Field(2, ge=1, le=50)
    k_max: int = Field(8, ge=1, le=50)
    #: clustering algorithm: k-means (k-means++ start, ``n_init`` restarts) or a Gaussian mixture (diagonal
    #: covariances, ``n_init`` restarts)
    method: Method = "kmeans"
    #: how k is chosen; ``bic`` needs ``method: gmm``
    criterion: Criterion = "silhouette"
    #: partners the silhouette of each k is computed on (a seeded random sample; all when fewer)
    silhouette_sample: int = Field(4000, ge=100)
    #: the search over k runs on a seeded sample of this many partners; the chosen k is then refit on all of them,
    #: started from the sample's centres (all partners when there are fewer)
    fit_sample: int = Field(20000, ge=500)
    #: threads of the clustering (1 is fastest on a shared or busy machine: OpenMP threads spin-wait for cores)
    n_jobs: int = Field(1, ge=1, le=256)
    #: restarts of each clustering; the best (lowest inertia / highest likelihood) is kept
    n_init: int = Field(3, ge=1, le=50)
    #: features clustered on (default: every feature the store can provide); a feature whose table or column is
    #: absent is left out with a logged reason, never filled with zeros
    features: list[FeatureName] = Field(default_factory=lambda: list(ALL_FEATURES))
    #: features put on a log scale (log1p) before scaling: amounts, ratios and day counts with long right tails
    log_features: list[str] = Field(default_factory=lambda: ["revenue", "growth", "recency_days"])
    #: smallest scale per feature (in its units after the log transform): differences below it are not meaningful,
    #: so a feature on which all partners nearly agree (growth 0.1 % +- 0.2 %) is not blown up to the weight of a
    #: real difference by a tiny interquartile range
    min_scale: dict[str, float] = Field(default_factory=lambda: {
        "revenue": 0.1, "growth": 0.05, "volatility": 0.05, "margin": 0.01, "online_share": 0.05,
        "recency_days": 0.5, "target_attainment": 0.05, "sell_through": 0.02})
    #: trailing months the partner features describe (growth compares them with the same span a year earlier)
    window_months: int = Field(12, ge=3, le=60)
    #: growth (revenue ratio - 1) is clipped to [-0.95, growth_cap]
    growth_cap: float = Field(3.0, gt=0)
    #: a centre must differ from the whole by at least this many robust units (IQRs) to earn a word in its name
    name_threshold: float = Field(0.4, gt=0)
    #: at most this many words in a segment name
    name_words: int = Field(3, ge=1, le=8)
    #: cumulative revenue shares closing class A and class B (the rest is C)
    abc_thresholds: list[float] = Field(default_factory=lambda: [0.8, 0.95])
    #: coefficient-of-variation limits of classes X and Y (above the second: Z)
    xyz_thresholds: list[float] = Field(default_factory=lambda: [0.5, 1.0])
    #: complete calendar months the XYZ variation is measured over
    xyz_months: int = Field(12, ge=2, le=120)
    #: an item needs at least this many months (from its first sale in the window) to get an XYZ class
    xyz_min_months: int = Field(3, ge=2)
    #: quantile scores of RFM (5: quintile scores 1..5)
    rfm_quantiles: int = Field(5, ge=2, le=10)
    #: customer clusters on top of the RFM scores
    rfm_clusters: int = Field(4, ge=1, le=20)
    #: seed of every random choice (k-means starts, silhouette sample)
    seed: int = 0

    @field_validator("abc_thresholds", "xyz_thresholds")
    @classmethod
    def _two_increasing(cls, value: list[float]) -> list[float]:
        if len(value) != 2 or not value[0] < value[1]:
            raise ValueError(f"expected two increasing thresholds, got {value}")
        if value[0] <= 0:
            raise ValueError(f"thresholds must be positive, got {value}")
        return value

    @field_validator("abc_thresholds")
    @classmethod
    def _shares(cls, value: list[float]) -> list[float]:
        if value[1] > 1:
            raise ValueError(f"ABC thresholds are shares of revenue in (0, 1], got {value}")
        return value

    @field_validator("features")
    @classmethod
    def _features(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one feature is required")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _check(self) -> "SegmentSettings":
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if self.criterion == "bic" and self.method != "gmm":
            raise ValueError("criterion 'bic' needs method 'gmm' (k-means has no likelihood)")
        return self
