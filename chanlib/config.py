"""Run settings: one tree of typed models, loaded from ``params/*.yaml``.

Every tunable that changes a number in a report lives here, with the library's defaults: :class:`Params` is the
root; its sections are the settings of each capability (``forecast:`` is :class:`ForecastSettings`, ``segment:``
:class:`SegmentSettings`, ``fit:``, ``planning:``, ``evaluation:``, ``periods:``, ...). A library call without
settings uses the same defaults as a run. ``params/default.yaml`` shows every key with a one-line comment.

Relative paths inside a params file are resolved against the directory of that file, so a params file and the data it
names can move together (``chanlib demo --out DIR`` relies on this). Paths given on the command line
(``--data TABLE=PATH``) are resolved against the current directory. When ``store:`` is absent the store is
``data/chanlib.duckdb`` under the current directory.

The run's ``seed`` is the seed of every random choice: it is handed to ``forecast.seed`` and ``segment.seed`` unless
those are set explicitly.

Examples
--------
>>> from chanlib.config import Params
>>> p = Params.model_validate({"tables": {"sales": {"path": "sales.csv"}}, "seed": 7})
>>> p.validation.max_reject_share, p.segment.seed, p.forecast.models
(0.05, 7, ['ets_damped', 'dotm', 'theta'])
>>> Params.model_validate({"tables": {"sales": {"path": "s.csv", "colums": {}}}})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Params
...
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chanlib.data.schema import TABLES
from chanlib.errors import ParamsError

log = logging.getLogger(__name__)

TableName = Literal["sales", "channels", "partners", "products", "targets", "costs", "inventory", "feedback", "market",
                    "candidates", "tier_history"]
DEFAULT_STORE = Path("data/chanlib.duckdb")
#: settings that moved: (old section, old key) -> new section and key
MOVED_KEYS: tuple[tuple[tuple[str, str], str, str], ...] = ((("report", "window_months"), "periods", "window_months"),)


class StrictModel(BaseModel):
    """Base of every settings model: unknown keys are errors, defaults are validated too."""

    model_config = ConfigDict(extra="forbid", strict=False, validate_default=True)


#: every model name a settings file may list (see :mod:`chanlib.analytics.forecast.models`)
ModelName = Literal["naive", "seasonal_naive", "season_mean", "ets", "ets_damped", "ses", "theta", "dotm", "ces",
                    "arima"]
Metric = Literal["smape", "mase", "mae"]
Engine = Literal["auto", "statsforecast", "statsmodels"]
#: a level of the sales hierarchy below the total
HierarchyLevel = Literal["region", "channel", "partner", "product"]
DEFAULT_HIERARCHY: tuple[HierarchyLevel, ...] = ("region", "channel", "partner")
DEFAULT_MODELS: tuple[ModelName, ...] = ("ets_damped", "dotm", "theta")


class ForecastSettings(StrictModel):
    """``forecast:`` how series are forecast: the candidate models, how one is chosen per series, the intervals,
    and the hierarchy a store build forecasts and reconciles.

    The defaults are the plain combination benchmarked on M3 (``bench/forecast_m3.py``): the equal-weight mean of
    damped ETS, the dynamic optimised Theta and the standard Theta, no backtest; monthly seasonality. A per-series
    choice by backtest did not beat it (M3 monthly sMAPE 13.50 against 13.46, and slower), so it is not the
    default. A library call ``forecast(df)`` and a store build use the same defaults.

    With ``backtest_windows`` > 0 each series is also forecast by every model in ``models`` (and, with
    ``combination``, by the mean of the non-naive ones) on that many rolling origins ``step`` periods apart: that
    measures the interval coverage (and calibrates it), scores each series against seasonal naive (flags) and
    lets a candidate with a clearly lower mean ``metric`` (by ``combination_margin``) replace the combination.
    The chosen candidate is fit on the whole history and forecasts ``horizon`` periods.
    Series too short, intermittent, all zero or brand new get a simple fallback, flagged in the output.
    """

    #: forecast at every store build (false: no Outlook section, no forecast tables)
    enabled: bool = True
    #: the sales hierarchy below the total, top down (a level whose column the sales lack is skipped)
    hierarchy: list[HierarchyLevel] = Field(default_factory=lambda: list(DEFAULT_HIERARCHY), min_length=1)
    #: how a build's forecasts are made to add up across levels
    reconciliation: Literal["none", "bottom_up", "top_down", "ols", "wls_struct", "mint_shrink"] = "mint_shrink"
    #: periods per seasonal cycle (12 for monthly data with a yearly pattern, 4 for quarterly, 1 for none)
    season_length: int = Field(12, ge=1, le=366)
    #: periods to forecast ahead
    horizon: int = Field(12, ge=1, le=1000)
    #: central prediction-interval levels in percent; output columns ``lo_<l>`` and ``hi_<l>``
    levels: list[int] = Field(default_factory=lambda: [80, 95])
    #: candidate models (see :data:`ModelName`)
    models: list[ModelName] = Field(default_factory=lambda: list(DEFAULT_MODELS))
    #: also consider the equal-weight mean of the non-naive candidate models (``combo``)
    combination: bool = True
    #: another candidate replaces the combination only when its mean backtest score is lower by more than this
    #: share (0: plain lowest score). Choosing per series on a few windows is noisy; on M3 a fixed equal-weight
    #: combination beats a plain per-series choice, and this margin keeps only the clear wins of the choice
    combination_margin: float = Field(0.3, ge=0.0, lt=1.0)
    #: rescale every automatic series' intervals (per level, one factor for the run) so that the chosen models'
    #: intervals would have had the nominal coverage in the backtest (split-conformal style); needs a backtest
    calibrate_intervals: bool = True
    #: a series whose chosen model scores worse in the backtest than the seasonal-naive benchmark (naive when the
    #: history is shorter than ``min_seasons`` seasons) falls back to that benchmark, flagged ``benchmark``
    benchmark_fallback: bool = True
    #: ... only when the model's backtest score is worse than the benchmark's by more than this share (1.0: twice
    #: the benchmark's error); a model worse by less is kept and flagged ``below_benchmark``. One backtest window
    #: is a noisy judge: on M3 monthly falling back at any margin costs 0.56 sMAPE points, at 1.0 nothing
    benchmark_margin: float = Field(1.0, ge=0.0)
    #: a series whose chosen model's backtest sMAPE is above this is flagged ``unreliable`` (50: the forecast was off
    #: by a factor of about 1.7 either way), even when it beat the benchmark (an erratic series beats a seasonal
    #: naive forecast easily)
    unreliable_smape: float = Field(50.0, gt=0.0, le=200.0)
    #: warn when an interval's coverage misses its nominal level by more than this (0.10: ten points)
    coverage_tolerance: float = Field(0.10, ge=0.0, le=1.0)
    #: rolling-origin backtest windows used to choose the model, calibrate the intervals and flag series that lose
    #: to seasonal naive (0: no backtest; the combination, or else the first listed model, is used). 0 by default:
    #: on M3 the backtest choice scored worse than the plain combination and took longer (forecast README)
    backtest_windows: int = Field(0, ge=0, le=50)
    #: periods between two backtest origins; default: the horizon
    backtest_step: int | None = Field(None, ge=1)
    #: accuracy measure that ranks the candidates in the backtest
    metric: Metric = "smape"
    #: worker processes for a batch of series (1: in this process; none: the number of cores)
    n_jobs: int | None = Field(None, ge=1, le=256)
    #: fewer observations than this: brand-new series, forecast by its last value (flag ``new``)
    min_length: int = Field(3, ge=1)
    #: fewer complete seasons than this: no seasonal model (flag ``short`` when also below the backtest need)
    min_seasons: int = Field(2, ge=1)
    #: share of zero observations from which a series is intermittent (Croston SBA; flag ``intermittent``)
    intermittent_share: float = Field(0.5, gt=0.0, le=1.0)
    #: where the implementations come from: ``statsforecast`` (fast, compiled) or ``statsmodels``; ``auto``
    #: takes statsforecast when it is installed
    engine: Engine = "auto"
    #: frequency of ``ds``: D, W, M or Q (anchored on the data: weeks on the first date's weekday, months and
    #: quarters on their first or last days), an integer step (integer time; days for dates) or a pandas frequency
    #: (``MS``, ``W-MON``); inferred from the data when absent (``chanlib forecast --freq``)
    freq: str | int | None = None
    #: value that fills periods missing inside a series' span (sales data: no row means no sales); ``.nan``: fill
    #: nothing, a series with a missing period is an error (``chanlib forecast --fill zero|none``)
    fill_value: float = 0.0
    #: a series that was never negative gets no negative forecast or bound (they are clipped at 0)
    clip_negative: bool = True
    #: also return the in-sample one-step fitted values of the chosen models (``ForecastResult.fitted``; needed
    #: for MinT reconciliation)
    fitted: bool = False
    #: seed of every random choice (none of the default models draws random numbers); default: the run's ``seed``
    seed: int = 0

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, levels: list[int]) -> list[int]:
        for level in levels:
            if not 0 < level < 100:
                raise ValueError(f"interval level {level} must be between 0 and 100 (exclusive)")
        return sorted(set(levels))

    @field_validator("models")
    @classmethod
    def _check_models(cls, models: list[str]) -> list[str]:
        if not models:
            raise ValueError("at least one model is required")
        return list(dict.fromkeys(models))

    @property
    def step(self) -> int:
        """Periods between backtest origins."""
        return self.backtest_step or self.horizon


Method = Literal["kmeans", "gmm"]
Criterion = Literal["silhouette", "bic"]
#: every partner feature :func:`chanlib.analytics.segment.features.partner_features` can compute
FeatureName = Literal["revenue", "growth", "volatility", "margin", "online_share", "recency_days",
                      "target_attainment", "sell_through"]
ALL_FEATURES: tuple[FeatureName, ...] = ("revenue", "growth", "volatility", "margin", "online_share", "recency_days",
                                         "target_attainment", "sell_through")
#: features a segment profile summarises by their mean (a share of 0/1 partners), the others by their median
MEAN_FEATURES: frozenset[str] = frozenset({"online_share"})


class SegmentSettings(StrictModel):
    """``segment:`` how partners are segmented, how ABC/XYZ classes are cut and how customers are RFM-scored.

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
    #: seed of every random choice (k-means starts, silhouette sample); default: the run's ``seed``
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
    def _check(self) -> SegmentSettings:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if self.criterion == "bic" and self.method != "gmm":
            raise ValueError("criterion 'bic' needs method 'gmm' (k-means has no likelihood)")
        return self






#: the partner scorecard's indicators (see :mod:`chanlib.analytics.partners.indicators`), each "higher is better"
INDICATORS: tuple[str, ...] = ("growth", "target_attainment", "margin", "sell_through", "feedback", "compliance",
                               "revenue")
#: what a bonus, penalty or termination rule may test: an indicator's value or the partner's score (0-100)
RULE_MEASURES: tuple[str, ...] = (*INDICATORS, "score")
#: the candidate attributes screening can weigh and gate on (``qualified`` is a yes/no gate of its own)
CANDIDATE_ATTRIBUTES: tuple[str, ...] = ("stores", "credit_score", "years_in_business", "willingness")
#: the tolerance of "weights sum to 1"
WEIGHT_TOLERANCE = 1e-6


def _known(kind: str, names: Any, known: tuple[str, ...]) -> None:
    unknown = [str(n) for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))} (known: {', '.join(known)})")


def _weights(kind: str, weights: dict[str, float], known: tuple[str, ...]) -> dict[str, float]:
    """Check that ``weights`` name known things, are not negative and sum to 1."""
    _known(kind, weights, known)
    negative = [k for k, v in weights.items() if v < 0]
    if negative:
        raise ValueError(f"weights must not be negative ({', '.join(negative)})")
    total = sum(weights.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise ValueError(f"weights sum to {total:.6g}, not 1 ({', '.join(f'{k}: {v:g}' for k, v in weights.items())})")
    return weights


class Scale(StrictModel):
    """How a candidate attribute becomes 0-100 points: linear from ``low`` (0 points) to ``high`` (100), clipped;
    with ``log`` on log(1 + value)."""

    #: the value worth 0 points (and below)
    low: float = 0.0
    #: the value worth 100 points (and above)
    high: float = 100.0
    #: measure on log(1 + value): a step from 1 to 10 stores counts like one from 10 to 100
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if not self.high > self.low:
            raise ValueError(f"scale high ({self.high:g}) must be above low ({self.low:g})")
        if self.log and self.low <= -1:
            raise ValueError(f"a log scale needs low above -1, got {self.low:g}")
        return self


class ScreeningSettings(StrictModel):
    """``partners.screening:`` candidate screening: hard gates first, then a weighted 0-100 score over the
    attributes of :data:`CANDIDATE_ATTRIBUTES` (potential: ``stores``; reputation: ``credit_score``,
    ``years_in_business``; willingness: ``willingness``). A candidate failing a gate is never ranked, whatever its
    score."""

    #: gate: the qualification check (certifications) must be passed (``qualified`` yes)
    require_qualified: bool = True
    #: gates: attribute -> the minimum value a candidate needs (an unknown value fails the gate)
    gates: dict[str, float] = Field(default_factory=lambda: {"credit_score": 50.0, "years_in_business": 1.0})
    #: attribute -> weight in the score (the weights sum to 1)
    weights: dict[str, float] = Field(default_factory=lambda: {
        "stores": 0.3, "credit_score": 0.25, "years_in_business": 0.15, "willingness": 0.3})
    #: attribute -> its scale to 0-100 points
    scales: dict[str, Scale] = Field(default_factory=lambda: {
        "stores": Scale(low=0.0, high=100.0, log=True), "credit_score": Scale(low=50.0, high=95.0),
        "years_in_business": Scale(low=0.0, high=25.0), "willingness": Scale(low=0.0, high=10.0)})

    @field_validator("gates")
    @classmethod
    def _gates(cls, value: dict[str, float]) -> dict[str, float]:
        _known("candidate attribute", value, CANDIDATE_ATTRIBUTES)
        return value

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        return _weights("candidate attribute", value, CANDIDATE_ATTRIBUTES)

    @model_validator(mode="after")
    def _check(self) -> ScreeningSettings:
        _known("candidate attribute", self.scales, CANDIDATE_ATTRIBUTES)
        lacking = [a for a, w in self.weights.items() if w > 0 and a not in self.scales]
        if lacking:
            raise ValueError(f"weighted attribute(s) without a scale: {', '.join(lacking)}")
        return self


class ScorecardSettings(StrictModel):
    """``partners.scorecard:`` the partner scorecard: every indicator of :data:`INDICATORS` is computed per partner
    and quarter, compared with the partner's peers (robust z: (value - peers' median) / max(IQR / 1.349,
    ``min_scale``), clipped to +-3, as 0-100 points by the normal distribution: a typical peer scores 50) and
    weighted into a 0-100 score."""

    #: indicator -> weight in the score (the weights sum to 1; ``revenue``, the size of the business, can be added)
    weights: dict[str, float] = Field(default_factory=lambda: {
        "growth": 0.15, "target_attainment": 0.15, "margin": 0.25, "sell_through": 0.25, "feedback": 0.1,
        "compliance": 0.1})
    #: peers are the partners of the same region x channel with a score; a cell with fewer is compared with the
    #: channel across regions, and with fewer still with all partners
    min_peers: int = Field(5, ge=2, le=1000)
    #: indicator -> the smallest spread (robust standard deviation) a peer group is measured with, so peers that
    #: nearly agree are not told apart by noise (in the indicator's units: 0.05 = 5 points of a ratio)
    min_scale: dict[str, float] = Field(default_factory=lambda: {
        "growth": 0.15, "target_attainment": 0.15, "margin": 0.03, "sell_through": 0.1, "feedback": 0.5,
        "compliance": 0.1, "revenue": 0.25})
    #: complete quarters scored (the latest complete one and those before it), kept as the score history
    history_quarters: int = Field(8, ge=1, le=40)
    #: every indicator but compliance is measured over this many quarters ending with the scored one (4: a rolling
    #: year, which evens out seasons, a one-off quarter and the few feedback responses a partner gets a quarter)
    window_quarters: int = Field(4, ge=1, le=12)
    #: fewer feedback responses than this in the window: no feedback indicator
    min_responses: int = Field(3, ge=1)
    #: growth (revenue over the same quarter a year earlier - 1) is capped at this
    growth_cap: float = Field(3.0, gt=0)
    #: a score needs indicators carrying at least this share of the weights of the indicators the data provide (else
    #: it is left empty: too little data)
    min_weight: float = Field(0.5, gt=0.0, le=1.0)

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        return _weights("indicator", value, INDICATORS)

    @field_validator("min_scale")
    @classmethod
    def _check_scales(cls, value: dict[str, float]) -> dict[str, float]:
        _known("indicator", value, INDICATORS)
        if any(v <= 0 for v in value.values()):
            raise ValueError("min_scale values must be positive")
        return value


class TierSettings(StrictModel):
    """``partners.tiers:`` the recommended tier (from the score, with hysteresis) and the action: upgrade, keep,
    watch or eliminate (see :mod:`chanlib.analytics.partners.tiers`)."""

    #: tier names, lowest first (the partners table's ``tier`` uses them)
    names: list[str] = Field(default_factory=lambda: ["bronze", "silver", "gold", "platinum"])
    #: the score from which each tier above the lowest is recommended (one per tier after the first, increasing)
    thresholds: list[float] = Field(default_factory=lambda: [40.0, 55.0, 70.0])
    #: hysteresis: a partner moves up only with a score at least this far above the next tier's threshold, and down
    #: only this far below its own tier's, so a score moving by less than the band keeps the tier
    band: float = Field(5.0, ge=0.0, le=50.0)
    #: a partner scoring below this in each of the last ``watch_quarters`` quarters is put on watch
    watch_score: float = Field(30.0, ge=0.0, le=100.0)
    #: quarters in a row below ``watch_score`` before a partner is put on watch (1: on the first low quarter)
    watch_quarters: int = Field(2, ge=1, le=12)
    #: indicator -> the floor quoted in reasons with the quarters in a row below it ("target attainment 61%, 3rd
    #: quarter below 80%")
    floors: dict[str, float] = Field(default_factory=lambda: {
        "growth": 0.0, "target_attainment": 0.8, "sell_through": 0.5, "compliance": 1.0})

    @field_validator("names")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if len(value) < 2 or len(set(value)) != len(value):
            raise ValueError(f"at least two distinct tier names are needed, got {value}")
        return value

    @field_validator("floors")
    @classmethod
    def _floors(cls, value: dict[str, float]) -> dict[str, float]:
        _known("indicator", value, INDICATORS)
        return value

    @model_validator(mode="after")
    def _check(self) -> TierSettings:
        if len(self.thresholds) != len(self.names) - 1:
            raise ValueError(f"{len(self.names)} tiers need {len(self.names) - 1} thresholds (one per tier above "
                             f"{self.names[0]}), got {len(self.thresholds)}")
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:])):
            raise ValueError(f"tier thresholds must increase, got {self.thresholds}")
        return self


class RebateBand(StrictModel):
    """One band of a rebate schedule: quarterly revenue from ``min`` (inclusive) up to ``max`` (exclusive; none: no
    upper end) earns ``rate``."""

    min: float = Field(ge=0.0)
    max: float | None = None
    rate: float = Field(ge=0.0, le=1.0)


def _band_text(band: RebateBand) -> str:
    return f"{band.min:,.2f} and up" if band.max is None else f"{band.min:,.2f} to {band.max:,.2f}"


class IncentiveRule(StrictModel):
    """A bonus or penalty: when ``indicator`` (a :data:`RULE_MEASURES` name) of a partner's quarter is
    ``at_least`` (or ``below``) a value, ``amount`` + ``rate`` x basis is paid (bonus) or charged (penalty)."""

    #: what the rule tests: an indicator or ``score``
    indicator: str
    #: the rule applies when the value is at least this ...
    at_least: float | None = None
    #: ... or when it is below this (give exactly one of the two)
    below: float | None = None
    #: share of the basis
    rate: float = Field(0.0, ge=0.0)
    #: a fixed amount on top
    amount: float = Field(0.0, ge=0.0)
    #: revenue: the quarter's revenue; shortfall: the minimum purchase minus the quarter's revenue (when positive)
    basis: Literal["revenue", "shortfall"] = "revenue"

    @model_validator(mode="after")
    def _check(self) -> IncentiveRule:
        _known("indicator", [self.indicator], RULE_MEASURES)
        if (self.at_least is None) == (self.below is None):
            raise ValueError(f"rule on {self.indicator}: give exactly one of at_least and below")
        return self


class IncentiveSettings(StrictModel):
    """``partners.incentives:`` rebates, bonuses and penalties per partner and quarter (see
    :mod:`chanlib.analytics.partners.incentives`)."""

    #: tier -> channel -> rebate bands (``*``: any tier / any channel; the most specific schedule applies:
    #: tier and channel, then tier, then channel, then ``*``/``*``); bands must not overlap; a gap pays nothing
    rebates: dict[str, dict[str, list[RebateBand]]] = Field(default_factory=lambda: {
        "*": {"*": [RebateBand(min=0, max=50_000, rate=0.0), RebateBand(min=50_000, max=150_000, rate=0.01),
                    RebateBand(min=150_000, rate=0.02)]},
        "gold": {"*": [RebateBand(min=0, max=50_000, rate=0.005), RebateBand(min=50_000, max=150_000, rate=0.015),
                       RebateBand(min=150_000, rate=0.025)]},
        "platinum": {"*": [RebateBand(min=0, max=50_000, rate=0.01), RebateBand(min=50_000, max=150_000, rate=0.02),
                           RebateBand(min=150_000, rate=0.03)]}})
    #: all: the whole quarter's revenue earns the rate of the band it reached; marginal: each band's rate applies to
    #: the revenue inside that band
    rebate_basis: Literal["all", "marginal"] = "all"
    #: name -> bonus rule
    bonuses: dict[str, IncentiveRule] = Field(default_factory=lambda: {
        "target_met": IncentiveRule(indicator="target_attainment", at_least=1.0, rate=0.01)})
    #: name -> penalty rule
    penalties: dict[str, IncentiveRule] = Field(default_factory=lambda: {
        "minimum_purchase_missed": IncentiveRule(indicator="compliance", below=1.0, rate=0.1, basis="shortfall")})

    @field_validator("rebates")
    @classmethod
    def _bands(cls, value: dict[str, dict[str, list[RebateBand]]]) -> dict[str, dict[str, list[RebateBand]]]:
        for tier, channels in value.items():
            for channel, bands in channels.items():
                where = f"rebates {tier}/{channel}"
                if not bands:
                    raise ValueError(f"{where}: no bands")
                ordered = sorted(bands, key=lambda b: b.min)
                for band in ordered:
                    if band.max is not None and band.max <= band.min:
                        raise ValueError(f"{where}: band {band.min:,.2f}-{band.max:,.2f} is empty (max <= min)")
                for a, b in zip(ordered, ordered[1:]):
                    if a.max is None or a.max > b.min:
                        raise ValueError(f"{where}: bands {_band_text(a)} and {_band_text(b)} overlap")
                channels[channel] = ordered
        return value


class TerminationRule(StrictModel):
    """A termination condition: ``indicator`` (a :data:`RULE_MEASURES` name) below ``below`` for ``quarters``
    complete quarters in a row, up to the latest."""

    #: what is tested: an indicator or ``score``
    indicator: str
    #: the minimum
    below: float
    #: quarters in a row
    quarters: int = Field(2, ge=1, le=40)

    @field_validator("indicator")
    @classmethod
    def _indicator(cls, value: str) -> str:
        _known("indicator", [value], RULE_MEASURES)
        return value


class ContractSettings(StrictModel):
    """``partners.contracts:`` contracts ending soon, with a renew / renegotiate / let-expire recommendation, and
    termination conditions (see :mod:`chanlib.analytics.partners.contracts`)."""

    #: contracts ending within this many days after the as-of date (or already ended) need a decision
    horizon_days: int = Field(90, ge=1, le=3650)
    #: renew when the score is at least this and not falling
    renew_score: float = Field(55.0, ge=0.0, le=100.0)
    #: let expire when the score is below this (or the partner is to be eliminated); in between: renegotiate
    let_expire_score: float = Field(35.0, ge=0.0, le=100.0)
    #: the score's trend is its average change per quarter over this many quarters
    trend_quarters: int = Field(4, ge=2, le=40)
    #: a trend below this (score points per quarter) is falling: renegotiate rather than renew
    falling_trend: float = -3.0
    #: name -> termination condition; a partner meeting one is to be eliminated, with the evidence
    termination: dict[str, TerminationRule] = Field(default_factory=lambda: {
        "minimum_purchase": TerminationRule(indicator="compliance", below=1.0, quarters=3),
        "low_score": TerminationRule(indicator="score", below=20.0, quarters=4)})

    @model_validator(mode="after")
    def _check(self) -> ContractSettings:
        if self.let_expire_score > self.renew_score:
            raise ValueError(f"let_expire_score ({self.let_expire_score:g}) must not exceed renew_score "
                             f"({self.renew_score:g})")
        return self


class PartnerSettings(StrictModel):
    """``partners:`` partner management: candidate screening, the scorecard, tiers, incentives and contracts (see
    :mod:`chanlib.analytics.partners`)."""

    screening: ScreeningSettings = Field(default_factory=ScreeningSettings)
    scorecard: ScorecardSettings = Field(default_factory=ScorecardSettings)
    tiers: TierSettings = Field(default_factory=TierSettings)
    incentives: IncentiveSettings = Field(default_factory=IncentiveSettings)
    contracts: ContractSettings = Field(default_factory=ContractSettings)

    @model_validator(mode="after")
    def _check(self) -> PartnerSettings:
        unknown = [t for t in self.incentives.rebates if t != "*" and t not in self.tiers.names]
        if unknown:
            raise ValueError(f"incentives.rebates: unknown tier {', '.join(map(repr, unknown))} (tiers: "
                             f"{', '.join(self.tiers.names)}, or *)")
        return self


#: every alert rule (see :mod:`chanlib.analytics.alerts`): rule alerts on thresholds, then the statistical ones
AlertRule = Literal["revenue_below_forecast", "target_missed", "margin_erosion", "partner_concentration",
                    "weeks_of_supply_high", "weeks_of_supply_low", "channel_stuffing", "feedback_drop",
                    "contract_ending", "channel_conflict", "price_gap", "level_shift", "point_anomaly"]
ALERT_RULES: tuple[str, ...] = get_args(AlertRule)
#: the severities, most severe first
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
#: the hierarchy levels revenue_below_forecast checks by default
DEFAULT_ALERT_NODES: tuple[HierarchyLevel, ...] = ("region", "channel")
#: rule -> severity -> the smallest *excess* (how far past its threshold an alert is: 1 at the threshold, 2 twice as
#: far; each rule defines it, see :mod:`chanlib.analytics.alerts.severity`) from which an alert has that severity
DEFAULT_SEVERITY: dict[str, dict[str, float]] = {
    "revenue_below_forecast": {"medium": 1.0, "high": 1.5, "critical": 2.5},
    "target_missed": {"medium": 1.0, "high": 2.0},
    "margin_erosion": {"medium": 1.0, "high": 2.0},
    "partner_concentration": {"low": 1.0, "medium": 1.4, "high": 1.8},
    "weeks_of_supply_high": {"low": 1.0, "medium": 1.5, "high": 2.0},
    "weeks_of_supply_low": {"medium": 1.0, "high": 2.0},
    "channel_stuffing": {"medium": 1.0, "high": 1.33, "critical": 2.0},
    "feedback_drop": {"medium": 1.0, "high": 2.0},
    "contract_ending": {"medium": 1.0, "high": 3.0, "critical": 12.0},
    "channel_conflict": {"low": 1.0, "medium": 2.0},
    "price_gap": {"low": 1.0, "medium": 1.33},
    "level_shift": {"high": 1.0, "critical": 2.0},
    "point_anomaly": {"medium": 1.0, "high": 1.5, "critical": 2.0},
}
#: rule -> the agreed response (the contingency plan a reader is pointed to)
DEFAULT_RESPONSES: dict[str, str] = {
    "revenue_below_forecast": "Review the month with the channel owner (orders, stock-outs, price changes); if the "
                              "shortfall is confirmed, revise the forecast and start the channel's recovery plan "
                              "within two weeks.",
    "target_missed": "Hold a performance review with the channel owner: agree corrective actions (pipeline, "
                     "promotions, partner support) with a date; escalate to the sales director if the next period "
                     "misses too.",
    "margin_erosion": "Check discounts, product mix and cost increases in the channel; tighten discount approval and "
                      "renegotiate promotion funding or logistics costs.",
    "partner_concentration": "Reduce the dependence on the largest partner: recruit or develop more partners in this "
                             "region and channel, and secure the partner with a longer contract meanwhile.",
    "weeks_of_supply_high": "Hold or reduce shipments to the partner and agree a sell-out plan (promotion, stock "
                            "rotation or return) before the next order.",
    "weeks_of_supply_low": "Check the stock-out risk with the partner, expedite replenishment and review the order "
                           "plan.",
    "channel_stuffing": "Hold shipments above sell-out; review incentives that reward sell-in and check the partner's "
                        "stock and payment terms.",
    "feedback_drop": "Read the recent comments, contact the channel owner and the partners concerned, fix the "
                     "service issue and follow up with a customer survey.",
    "contract_ending": "Decide on renewal now: review the partner's scorecard and record renew, renegotiate or let "
                       "expire before the contract ends.",
    "channel_conflict": "Clarify customer ownership with the channel owners: rules of engagement (territory, account "
                        "assignment, pricing) between partner and direct sales.",
    "price_gap": "Align prices across channels: check the low-priced channel's discounts and enforce the price "
                 "policy with its partners.",
    "level_shift": "Find the cause of the step change (a partner lost or won, a listing, a price change, a data "
                   "feed) with the channel owner, then update plans and forecasts.",
    "point_anomaly": "Check the day's data and orders for errors (duplicates, a missing upload, an outage); if the "
                     "day is real, find its cause with the channel owner.",
}


class AlertSettings(StrictModel):
    """``alerts:`` the early warnings each build raises (see :mod:`chanlib.analytics.alerts`): rule alerts on
    thresholds, statistical alerts (level shifts, point anomalies), each with a severity from ``severity`` and the
    response from ``responses``, and its state against the previous build (new, continuing, resolved).

    A rule alert is raised while its condition holds at the latest complete period (``since``: the first period of
    that run); a statistical alert while the date that fired lies within the last ``lookback_months``.
    """

    #: raise alerts at every store build (false: no Early warnings section, no alert tables)
    enabled: bool = True
    #: rule -> run it (a rule not listed runs); e.g. ``{price_gap: false}``
    rules: dict[str, bool] = Field(default_factory=dict)
    #: statistical alerts are raised for dates within this many trailing months (as of the last sale)
    lookback_months: int = Field(3, ge=1, le=240)
    #: revenue_below_forecast: the prediction-interval level whose lower bound an actual month must not fall below
    #: (one of ``forecast.levels``)
    forecast_level: int = Field(80, gt=0, lt=100)
    #: revenue_below_forecast: the hierarchy levels checked (node ids like ``North`` and ``North/web_store``)
    forecast_nodes: list[HierarchyLevel] = Field(default_factory=lambda: list(DEFAULT_ALERT_NODES), min_length=1)
    #: target_missed: a period whose revenue is below this share of its target is a miss
    target_attainment: float = Field(0.95, gt=0.0, le=2.0)
    #: target_missed: ... and this many target periods missed in a row, up to the latest, raise the alert
    target_periods: int = Field(3, ge=1, le=24)
    #: margin_erosion: margin % of the last ``margin_months`` complete months this many points (0.03 = 3 points)
    #: below the same months a year earlier
    margin_drop: float = Field(0.03, gt=0.0, le=1.0)
    #: margin_erosion: the months compared
    margin_months: int = Field(3, ge=1, le=12)
    #: partner_concentration: the largest partner's share of a region x channel's revenue over the trailing
    #: ``periods.window_months`` from which the alert is raised
    concentration_share: float = Field(0.5, gt=0.0, le=1.0)
    #: weeks_of_supply_high / _low: a partner's stock on hand in weeks of its sell-out rate at or above / below
    wos_high: float = Field(26.0, gt=0.0)
    wos_low: float = Field(1.0, ge=0.0)
    #: ... where the sell-out rate is the units sold over this many weeks before the stock date
    wos_weeks: int = Field(13, ge=1, le=104)
    #: channel_stuffing: a partner's sell-in units over the last ``stuffing_months`` complete months at least this
    #: multiple of its sell-out units
    stuffing_ratio: float = Field(1.5, gt=1.0)
    stuffing_months: int = Field(3, ge=1, le=24)
    #: feedback_drop: the score of the last ``feedback_months`` complete months against the
    #: ``feedback_baseline_months`` before them
    feedback_months: int = Field(3, ge=1, le=24)
    feedback_baseline_months: int = Field(12, ge=1, le=60)
    #: feedback_drop: the drop that raises the alert, in NPS points (0-10 integer scores) ...
    feedback_drop_nps: float = Field(15.0, gt=0.0)
    #: ... or in points of the mean score (other scores)
    feedback_drop_mean: float = Field(0.5, gt=0.0)
    #: feedback_drop: ... and at least this many standard errors of the difference (so a few answers do not alarm)
    feedback_z: float = Field(2.0, ge=0.0)
    #: feedback_drop: at least this many responses in the recent months
    feedback_min_responses: int = Field(30, ge=1)
    #: contract_ending: contracts ending within this many days after the as-of date with no renewal decision
    #: (``partners.renewal_decision`` empty or absent); a contract that ended up to this many days ago counts while
    #: the partner still sells
    contract_days: int = Field(90, ge=1, le=3650)
    #: channel_conflict: channel models (``channels.model``) of partner channels and of direct channels
    partner_models: list[str] = Field(default_factory=lambda: ["franchise", "distributor", "marketplace"])
    direct_models: list[str] = Field(default_factory=lambda: ["direct"])
    #: channel_conflict: a partner channel's customer who also bought direct within this many days is shared ...
    conflict_days: int = Field(30, ge=1, le=365)
    #: ... and the alert is raised when shared customers are at least this share of the partner channel's customers
    #: in a month, and at least ``conflict_min_customers``
    conflict_share: float = Field(0.2, gt=0.0, le=1.0)
    conflict_min_customers: int = Field(10, ge=1)
    #: price_gap: a product's highest unit price across a region's channels at least this multiple of its lowest,
    #: over the last ``price_months`` complete months
    price_gap_ratio: float = Field(1.5, gt=1.0)
    price_months: int = Field(3, ge=1, le=24)
    #: price_gap: a channel's price counts only on at least this many units
    price_min_units: float = Field(10.0, ge=1.0)
    #: price_gap: channel models that sell at wholesale prices and are left out of the comparison
    price_exclude_models: list[str] = Field(default_factory=lambda: ["distributor"])
    #: point_anomaly: a day (a month in monthly data) whose robust z-score is at least this far below its expected
    #: value (a fall), with its neighbours normal ...
    point_z: float = Field(4.2, gt=0.0)
    #: point_anomaly: ... or at least this far above it (a rise; None: ``point_z``). Daily rises are scored on
    #: orders with single partners' bursts trimmed (:func:`~chanlib.analytics.alerts.statistical.daily_series`), which
    #: thins their upper tail and takes part of a channel-wide rise too, so rises need less than falls
    point_z_up: float | None = Field(3.4, gt=0.0)
    #: ... and at least this many times (or at most 1/this of) the expected revenue: a +60 % (-37.5 %) day of a
    #: region x channel is material; small channels are held back by the z-score (Poisson's spread is its floor)
    point_min_ratio: float = Field(1.6, gt=1.0)
    #: point_anomaly: a partner's day counts at most this many times its 4-week average, and the partner with the
    #: largest excess is left out of the day, so one partner's big order is not a channel's anomaly
    point_cap: float = Field(4.0, gt=1.0)
    #: point_anomaly: with at least this many series, a day on which most series move together (a promotion, a
    #: holiday) is a calendar effect and is taken out before scoring (0: never)
    calendar_min_series: int = Field(5, ge=0)
    #: level_shift: months of history a series needs (complete months)
    shift_min_months: int = Field(24, ge=6, le=600)
    #: level_shift: the fewest months on each side of a change
    shift_min_size: int = Field(3, ge=2, le=24)
    #: level_shift: the change-point penalty in units of the series' noise variance x log(months) (higher: fewer)
    shift_penalty: float = Field(4.0, gt=0.0)
    #: level_shift: the smallest step in the level (0.25 = 25 %) that raises the alert
    shift_min_change: float = Field(0.25, gt=0.0)
    #: rule -> severity -> the smallest excess from which an alert has that severity (the most severe level reached
    #: applies; a rule listed here replaces its default)
    severity: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_SEVERITY.items()})
    #: rule -> the agreed response shown with its alerts (a rule listed here replaces its default)
    responses: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RESPONSES))

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: dict[str, bool]) -> dict[str, bool]:
        _known("alert rule", value, ALERT_RULES)
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        _known("alert rule", value, ALERT_RULES)
        for rule, bounds in value.items():
            _known(f"severity in severity.{rule}:", bounds, SEVERITIES)
            if not bounds:
                raise ValueError(f"severity.{rule}: give at least one severity")
            ordered = [bounds[s] for s in reversed(SEVERITIES) if s in bounds]
            if any(b < a for a, b in zip(ordered, ordered[1:])):
                raise ValueError(f"severity.{rule}: a more severe level needs a larger excess, got {bounds}")
        return {**{k: dict(v) for k, v in DEFAULT_SEVERITY.items()}, **value}

    @field_validator("responses")
    @classmethod
    def _responses(cls, value: dict[str, str]) -> dict[str, str]:
        _known("alert rule", value, ALERT_RULES)
        return {**DEFAULT_RESPONSES, **value}

    def runs(self, rule: str) -> bool:
        """Whether ``rule`` is switched on."""
        return self.enabled and self.rules.get(rule, True)

    @property
    def z_up(self) -> float:
        """The z-score a rise must reach to be a point anomaly: ``point_z_up``, else ``point_z``."""
        return self.point_z if self.point_z_up is None else self.point_z_up


class TableSource(StrictModel):
    """Where one canonical table comes from and how its source columns map onto the contract."""

    path: Path
    #: csv, parquet or excel; by default from the file suffix
    format: Literal["csv", "parquet", "excel"] | None = None
    #: text encoding of a CSV file; a UTF-8 byte-order mark is always tolerated
    encoding: str = "utf-8"
    delimiter: str = ","
    #: Excel sheet name or index
    sheet: str | int = 0
    #: strftime format of every date column of this table (e.g. ``%m/%d/%Y``); ISO 8601 when absent. It applies to
    #: dates stored as text: a real Excel date cell is a date whatever it says
    date_format: str | None = None
    #: extra strings read as "no value" (an empty field always is), e.g. ``["NA"]``
    na_values: list[str] = Field(default_factory=list)
    #: canonical column -> source column
    columns: dict[str, str] = Field(default_factory=dict)
    #: canonical column -> DuckDB SQL expression over the (text) source columns, e.g. ``'Web'`` or
    #: ``TRY_CAST("Quantity" AS DOUBLE) * TRY_CAST("UnitPrice" AS DOUBLE)``
    derive: dict[str, str] = Field(default_factory=dict)

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = "".join(self.path.suffixes[-2:]).lower()
        if suffix.endswith((".parquet", ".pq")):
            return "parquet"
        if suffix.endswith((".xlsx", ".xlsm", ".xls")):
            return "excel"
        return "csv"


class Validation(StrictModel):
    """How strict ingest is with single bad rows."""

    #: a table whose share of rejected rows exceeds this fails the run
    max_reject_share: float = Field(0.05, ge=0.0, le=1.0)
    #: negative amounts are returns (kept) rather than row errors
    allow_returns: bool = False


class PeriodSettings(StrictModel):
    """``periods:`` one as-of date and one notion of a window and of a complete period for every section
    (see :mod:`chanlib.periods`)."""

    #: trailing months of the headline, channel mix, product fit and planning windows (compared with the same months
    #: a year earlier)
    window_months: int = Field(12, ge=1, le=120)
    #: a calendar month/quarter/year counts as complete when the data reach within this many days of its last day
    complete_tolerance_days: int = Field(3, ge=0, le=27)
    #: an earlier period or window counts as covered by the data when they start at most this many days after it
    coverage_slack_days: int = Field(7, ge=0, le=60)
    #: growth is shown only when the earlier period's revenue is at least this much (in the params' currency)
    min_growth_base: float = Field(1000.0, ge=0.0)
    #: ... and when the earlier period had sales in at least this many calendar months (of the window)
    min_growth_months: int = Field(3, ge=1, le=120)


class FitSettings(StrictModel):
    """``fit:`` product-channel fit recommendations (see :mod:`chanlib.analytics.product_fit`)."""

    #: share index from which a category is recommended to grow in a channel
    grow_index: float = Field(1.25, gt=1.0)
    #: share index up to which a category is recommended for review in a channel
    review_index: float = Field(0.8, gt=0.0, lt=1.0)
    #: a category's margin this far (in share points) below its channel's is thin
    margin_tolerance: float = Field(0.05, ge=0.0, le=1.0)
    #: recommendations shown per region
    top_n: int = Field(8, ge=1, le=100)


class PlanningSettings(StrictModel):
    """``planning:`` coverage, penetration and white space (see :mod:`chanlib.analytics.planning`)."""

    #: the peer benchmark penetration of a channel is this quantile of its penetration across regions
    benchmark_quantile: float = Field(0.75, ge=0.0, le=1.0)
    #: white-space cells shown per region
    top_n: int = Field(10, ge=1, le=100)
    #: active partners are counted per this much market size
    partners_per: float = Field(1_000_000.0, gt=0)
    #: a channel's benchmark needs at least this many peer regions (the region itself excluded)
    min_peers: int = Field(3, ge=1, le=100)


class EvaluationSettings(StrictModel):
    """``evaluation:`` the period evaluation of each report (see :mod:`chanlib.analytics.period_evaluation`)."""

    #: the grain of the evaluated period: the latest complete month, quarter or year
    period: Literal["month", "quarter", "year"] = "quarter"
    #: region x channel changes named in the key-changes sentences
    key_changes: int = Field(3, ge=0, le=20)


class ReportSettings(StrictModel):
    """Settings of ``chanlib report``."""

    #: the region notebook; default: notebooks/region_report.ipynb of this checkout
    notebook: Path | None = None
    #: where runs are written (``<out>/<run-id>/`` and ``<out>/latest``)
    out: Path = Path("reports")
    #: parallel worker processes; default: the number of cores
    workers: int | None = Field(None, ge=1)
    #: seconds a single notebook cell may run
    cell_timeout: int = Field(600, ge=1)
    #: regions with less than this share of the total revenue in the window are grouped as "Other" on the index
    #: (and get a short report of their own)
    min_region_share: float = Field(0.01, ge=0.0, lt=1.0)
    #: feedback comments listed per channel in a region report (the most frequent, each with its count and mean score)
    top_comments: int = Field(5, ge=1)


class DisplaySettings(StrictModel):
    """``display:`` what readers see instead of raw identifiers."""

    #: channel id -> display name; a channel not listed is shown as its id with underscores as spaces, capitalised
    channels: dict[str, str] = Field(default_factory=dict)
    #: column name -> display name (table headers); default: the built-in labels of chanlib's KPI definitions
    columns: dict[str, str] = Field(default_factory=dict)


class DuckDBSettings(StrictModel):
    """``duckdb:`` how the DuckDB engine of a build, ``validate`` and the KPI queries runs: out of core, within a
    memory budget, spilling to ``temp_directory`` beyond it (ingest, validation and the KPI cube are SQL over the
    inputs, so data larger than memory are processed in pieces)."""

    #: DuckDB's memory budget, e.g. ``2GB`` (none: DuckDB's default, 80 % of the machine's memory)
    memory_limit: str | None = Field(None, pattern=r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$")
    #: where DuckDB spills what does not fit in ``memory_limit`` (none: ``<store>.tmp`` beside the store)
    temp_directory: Path | None = None
    #: DuckDB worker threads (none: the number of cores)
    threads: int | None = Field(None, ge=1, le=1024)


class DaskSettings(StrictModel):
    """``dask:`` a Dask distributed cluster for the work that fans out: the store build's forecasting batch and the
    per-region rendering of ``chanlib report`` (``--scheduler`` overrides ``scheduler``)."""

    #: address of a running ``dask scheduler``, e.g. ``tcp://10.0.0.5:8786`` (none: local worker processes)
    scheduler: str | None = None
    #: forecasting tasks per Dask worker (series are sent in this many chunks per worker, in ``unique_id`` order)
    chunks_per_worker: int = Field(8, ge=1, le=1000)


class Params(StrictModel):
    """All settings of one run. See ``params/default.yaml`` for a commented example."""

    name: str = "chanlib"
    #: ISO code of the one currency every amount is in
    currency: str = "USD"
    store: Path = DEFAULT_STORE
    tables: dict[TableName, TableSource]
    #: seed of every random choice (forecast and segment seeds default to it)
    seed: int = 0
    validation: Validation = Field(default_factory=Validation)
    periods: PeriodSettings = Field(default_factory=PeriodSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    display: DisplaySettings = Field(default_factory=DisplaySettings)
    fit: FitSettings = Field(default_factory=FitSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    partners: PartnerSettings = Field(default_factory=PartnerSettings)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    duckdb: DuckDBSettings = Field(default_factory=DuckDBSettings)
    dask: DaskSettings = Field(default_factory=DaskSettings)

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, raw: Any) -> Any:
        """Keys that moved keep working: ``report.window_months`` is now ``periods.window_months``."""
        if isinstance(raw, dict):
            for old, section, new in MOVED_KEYS:
                value = (raw.get(old[0]) or {}).get(old[1]) if isinstance(raw.get(old[0]), dict) else None
                if value is None:
                    continue
                periods = dict(raw.get(section) or {})
                if new in periods and periods[new] != value:
                    raise ValueError(f"{'.'.join(old)} is now {section}.{new}; give it once, as {section}.{new}")
                log.warning("params: %s is now %s.%s (the old key still works)", ".".join(old), section, new)
                periods.setdefault(new, value)
                raw = {**raw, old[0]: {k: v for k, v in raw[old[0]].items() if k != old[1]}, section: periods}
        return raw

    @model_validator(mode="after")
    def _seed_sections(self) -> Params:
        for section in (self.forecast, self.segment):
            if "seed" not in section.model_fields_set:
                section.seed = self.seed
        return self

    @model_validator(mode="after")
    def _check_tables(self) -> Params:
        if "sales" not in self.tables:
            raise ValueError("tables.sales is required")
        for name, source in self.tables.items():
            known = TABLES[name].types
            for section in ("columns", "derive"):
                for column in getattr(source, section):
                    if column not in known:
                        raise ValueError(
                            f"tables.{name}.{section}.{column}: unknown column for table {name!r} "
                            f"(known: {', '.join(known)})"
                        )
        return self

    def with_data(self, overrides: dict[str, Path]) -> Params:
        """A copy with some tables read from other files (the CLI's ``--data TABLE=PATH``)."""
        tables: dict[str, TableSource] = dict(self.tables.items())
        for name, path in overrides.items():
            if name not in TABLES:
                raise ParamsError(f"--data {name}=...: unknown table {name!r} (known: {', '.join(TABLES)})")
            source = tables.get(name)
            tables[name] = source.model_copy(update={"path": Path(path)}) if source else TableSource(path=Path(path))
        return self.model_copy(update={"tables": tables})


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else Path(os.path.normpath(base / path))


def _format_error(source: str, error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(x) for x in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif "input" in item and not isinstance(item["input"], (dict, list)):
            message = f"{message} (got {item['input']!r})"
        parts.append(f"{location}: {message}" if location else message)
    return f"{source}: " + "; ".join(parts)


def load_params(path: str | Path, data: dict[str, Path] | None = None) -> Params:
    """Read and validate a params file; relative paths in it are made relative to its directory.

    Raises :class:`chanlib.errors.ParamsError` with one line naming the file and the offending key.
    """
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: params file not found") from None
    except OSError as exc:  # a folder, no permission
        raise ParamsError(f"{path}: params file cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ParamsError(f"{path}: params file is not UTF-8 text (line {line}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of settings at the top level")
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format_error(str(path), exc)) from None
    base = path.resolve().parent
    tables = {name: src.model_copy(update={"path": _resolve(base, src.path)}) for name, src in params.tables.items()}
    update: dict[str, Any] = {"tables": tables}
    if "store" in raw:
        update["store"] = _resolve(base, params.store)
    report_update = {"out": _resolve(base, params.report.out)} if "out" in (raw.get("report") or {}) else {}
    if params.report.notebook is not None:
        report_update["notebook"] = _resolve(base, params.report.notebook)
    if report_update:
        update["report"] = params.report.model_copy(update=report_update)
    params = params.model_copy(update=update)
    return params.with_data(data) if data else params


def project_root() -> Path:
    """The checkout chanlib runs from (the folder holding ``chanlib/``, ``notebooks/`` and ``params/``)."""
    return Path(__file__).resolve().parent.parent


def default_params_path() -> Path:
    """``params/default.yaml`` of this checkout."""
    return project_root() / "params" / "default.yaml"
