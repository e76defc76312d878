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
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chanlib.data.schema import TABLES
from chanlib.errors import ParamsError

log = logging.getLogger(__name__)

TableName = Literal["sales", "channels", "partners", "products", "targets", "costs", "inventory", "feedback", "market"]
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

    The defaults are the configuration benchmarked on M3 (``bench/forecast_m3.py``): damped ETS, the dynamic
    optimised Theta and the standard Theta, combined unless one clearly wins a one-window backtest; monthly
    seasonality. A library call ``forecast(df)`` and a store build use the same defaults.

    Each series is forecast by every model in ``models`` (and, with ``combination``, by the mean of the
    non-naive ones) on ``backtest_windows`` rolling origins ``step`` periods apart; the candidate with the
    lowest mean ``metric`` over the windows (the combination unless beaten by ``combination_margin``) is refit on
    the whole history and forecasts ``horizon`` periods.
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
    #: rolling-origin backtest windows used to choose the model and to measure interval coverage (0: no
    #: backtest; the combination, or else the first listed model, is used)
    backtest_windows: int = Field(1, ge=0, le=50)
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
    #: pandas frequency of ``ds`` (e.g. ``MS``, ``QS``); inferred from the data when absent
    freq: str | None = None
    #: value that fills periods missing inside a series' span (sales data: no row means no sales)
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
    #: strftime format of every date column of this table (e.g. ``%m/%d/%Y``); ISO 8601 when absent
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


class DisplaySettings(StrictModel):
    """``display:`` what readers see instead of raw identifiers."""

    #: channel id -> display name; a channel not listed is shown as its id with underscores as spaces, capitalised
    channels: dict[str, str] = Field(default_factory=dict)
    #: column name -> display name (table headers); default: the built-in labels of chanlib's KPI definitions
    columns: dict[str, str] = Field(default_factory=dict)


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
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)

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
