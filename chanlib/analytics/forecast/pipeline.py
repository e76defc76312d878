"""Forecast one series end to end: fallback check, backtest, choice, final fit (runs inside a worker)."""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chanlib.analytics.forecast.backtest import COMBO, backtest_series, candidate_predictions, cutoffs, season_for
from chanlib.analytics.forecast.fallbacks import FALLBACK_MODEL, classify, fallback_prediction
from chanlib.analytics.forecast.frames import Series
from chanlib.analytics.forecast.models import Prediction, predict
from chanlib.analytics.forecast.select import mean_scores, rank
from chanlib.config import ForecastSettings

log = logging.getLogger(__name__)

#: candidates that never join the combination
NAIVE_MODELS = ("naive", "seasonal_naive")
#: what a series shorter than ``min_seasons`` seasons is forecast with: models that read neither a trend nor a
#: season, so a seasonal peak at the end of a short history is not taken for a trend -- simple exponential smoothing
#: and the mean of the last season, and (by default) their combination. On M3 monthly histories cut to 12-23
#: months their combination scores sMAPE 14.2-14.3 over the next 12 months, SES alone 14.5, the trend models 14.5
#: (23 months) to 16.1 (12 months), naive 16.8
SHORT_MODELS = ("ses", "season_mean")
#: flag of a series forecast by the benchmark because its model did clearly worse in the backtest
BENCHMARK_FLAG = "benchmark"
#: flag of a series whose model did worse than the benchmark in the backtest, but not by enough to replace it
BELOW_BENCHMARK_FLAG = "below_benchmark"
#: flag of a series whose model's backtest sMAPE is above ``unreliable_smape``
UNRELIABLE_FLAG = "unreliable"


@dataclass
class SeriesResult:
    """What one series produced: its forecast, its backtest rows and its selection record."""

    unique_id: str
    model: str
    flag: str
    prediction: Prediction
    backtest: list[dict] = field(default_factory=list)
    selection: dict = field(default_factory=dict)
    #: the history was never negative (and ``clip_negative``): no forecast or bound may go below zero
    non_negative: bool = False


def members_of(models: Sequence[str]) -> list[str]:
    """Models that make up the combination: the candidates other than the naive ones."""
    return [m for m in models if m not in NAIVE_MODELS]


def candidates_of(settings: ForecastSettings, models: Sequence[str] | None = None) -> list[str]:
    """The candidates a series is backtested on: the models (default ``settings.models``), then ``combo`` when
    enabled and meaningful."""
    names: list[str] = list(settings.models if models is None else models)
    if settings.combination and len(members_of(names)) >= 2:
        names.append(COMBO)
    return names


def benchmark_of(season_length: int) -> str:
    """The benchmark a series' chosen model has to beat: seasonal naive, or naive for a series forecast without
    season (``season_length`` 1: a short history, or no seasonal cycle set)."""
    return "seasonal_naive" if season_length > 1 else "naive"


def worse_than_benchmark(score: float, benchmark: float, margin: float = 0.0) -> bool:
    """Whether a backtest score (lower is better) is worse than the benchmark's by more than ``margin`` (a share).

    >>> worse_than_benchmark(103.0, 40.0), worse_than_benchmark(10.0, 10.0), worse_than_benchmark(float("nan"), 5.0)
    (True, False, False)
    """
    return math.isfinite(score) and math.isfinite(benchmark) and score > benchmark * (1.0 + margin)


def clip_prediction(pred: Prediction) -> Prediction:
    """The prediction with its forecast and bounds floored at zero (``nan`` bounds stay ``nan``)."""
    pred.mean = np.maximum(pred.mean, 0.0)
    pred.lower = {k: np.where(v < 0, 0.0, v) for k, v in pred.lower.items()}
    pred.upper = {k: np.where(v < 0, 0.0, v) for k, v in pred.upper.items()}
    return pred


def _default_choice(candidates: list[str]) -> list[str]:
    """Order of preference without a backtest: the combination, then statistical models, then naive ones."""
    head = [COMBO] if COMBO in candidates else []
    stats = [c for c in candidates if c not in NAIVE_MODELS and c != COMBO]
    rest = [c for c in candidates if c in NAIVE_MODELS]
    return head + stats + rest


def _backtest_smape(rows: list[dict], model: str) -> float:
    """The mean backtest sMAPE of ``model`` (``nan`` without a successful window)."""
    values = [r["_smape"] for r in rows if r["model"] == model and "_smape" in r]
    return float(np.mean(values)) if values else math.nan


def forecast_series(series: Series, settings: ForecastSettings, engine: str) -> SeriesResult:
    """Forecast one series per ``settings`` with the resolved ``engine``.

    A history shorter than ``min_seasons`` seasons is forecast by :data:`SHORT_MODELS` only (flag ``short``). The
    chosen model's backtest score is compared with the benchmark's (:func:`benchmark_of`) on the same windows: a
    model worse by more than ``benchmark_margin`` is replaced by the benchmark when ``benchmark_fallback`` is set
    (flag ``benchmark``); one that did worse otherwise is flagged ``below_benchmark``, and one whose backtest sMAPE
    is above ``unreliable_smape`` ``unreliable`` (a short series keeps the flag ``short``).
    """
    y = series.y
    h, levels = settings.horizon, settings.levels
    non_negative = bool(settings.clip_negative and y.size and (y >= 0).all())
    record = {"unique_id": series.unique_id, "n_obs": int(y.size), "filled": series.filled}
    flag = classify(y, settings)
    if flag is not None:
        pred = fallback_prediction(flag, y, h, levels)
        model = FALLBACK_MODEL[flag]
        record.update(model=model, flag=flag, season_length=1, windows=0, score=math.nan, benchmark_score=math.nan)
        return SeriesResult(series.unique_id, model, flag, clip_prediction(pred) if non_negative else pred,
                            selection=record, non_negative=non_negative)

    m = season_for(y.size, settings.season_length, settings.min_seasons)
    short_history = m == 1 and settings.season_length > 1
    models: list[str] = list(SHORT_MODELS) if short_history else list(settings.models)
    members = members_of(models)
    candidates = candidates_of(settings, models)
    benchmark = benchmark_of(m)
    min_train = max(settings.min_length, 4)
    windows = cutoffs(y.size, h, settings.backtest_windows, settings.step, min_train)
    rows: list[dict] = []
    if windows:
        # a short series' models use no season; season_mean averages over the last full season_length periods
        rows = backtest_series(y, models, members, horizon=h, season_length=settings.season_length,
                               min_seasons=0 if short_history else settings.min_seasons,
                               windows=settings.backtest_windows,
                               step=settings.step, min_train=min_train, levels=levels, metric=settings.metric,
                               engine=engine, seed=settings.seed,
                               benchmark=benchmark if benchmark not in models else None)
        order = rank(rows, candidates, prefer=COMBO, margin=settings.combination_margin)
    else:
        order = _default_choice(candidates)
    short = short_history or (not windows and settings.backtest_windows > 0)
    flag = "short" if short else "ok"

    # automatic ETS keeps the form its latest backtest window chose (same season length): only re-estimated
    last = max((r["window"] for r in rows), default=None)
    specs = {r["model"]: r["_spec"] for r in rows if r["window"] == last and r.get("_spec")}
    if rows and season_for(rows[-1]["cutoff"], settings.season_length, settings.min_seasons) != m:
        specs = {}
    scores = mean_scores(rows, [*candidates, benchmark]) if rows else {}
    bench_score = scores.get(benchmark, math.nan)
    for name in order:
        needed = members if name == COMBO else [name]
        preds = candidate_predictions(y, needed, needed if name == COMBO else [], h,
                                      settings.season_length if short_history else m, levels, engine,
                                      settings.seed, fitted=settings.fitted, specs=specs)
        candidate = preds.get(name)
        if isinstance(candidate, Prediction):
            chosen, pred = name, candidate
            break
        log.debug("series %s: final fit of %s failed (%s)", series.unique_id, name, candidate)
    else:  # no candidate could be fit
        flag, chosen = "model_error", FALLBACK_MODEL["model_error"]
        pred = fallback_prediction(flag, y, h, levels)
    score = scores.get(chosen, math.nan)
    if flag != "model_error" and chosen != benchmark and worse_than_benchmark(score, bench_score):
        replace = settings.benchmark_fallback and worse_than_benchmark(score, bench_score, settings.benchmark_margin)
        if not short_history:
            flag = BENCHMARK_FLAG if replace else BELOW_BENCHMARK_FLAG
        if replace:
            log.debug("series %s: %s scored %.3g in the backtest, the benchmark %s %.3g: falling back",
                      series.unique_id, chosen, score, benchmark, bench_score)
            chosen = benchmark
            pred = predict(benchmark, y, h, settings.season_length, levels, engine=engine, seed=settings.seed,
                           fitted=settings.fitted)
    if flag == "ok" and _backtest_smape(rows, chosen) > settings.unreliable_smape:
        flag = UNRELIABLE_FLAG
    record.update(model=chosen, flag=flag, season_length=m, windows=len(windows),
                  score=scores.get(chosen, math.nan), benchmark_score=bench_score)
    for row in rows:
        row["unique_id"] = series.unique_id
    if non_negative:
        pred = clip_prediction(pred)
    return SeriesResult(series.unique_id, chosen, flag, pred, rows, record, non_negative)
