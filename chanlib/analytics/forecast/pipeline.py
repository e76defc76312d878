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
from chanlib.analytics.forecast.models import Prediction
from chanlib.analytics.forecast.select import mean_scores, rank
from chanlib.config import ForecastSettings

log = logging.getLogger(__name__)

#: candidates that never join the combination
NAIVE_MODELS = ("naive", "seasonal_naive")


@dataclass
class SeriesResult:
    """What one series produced: its forecast, its backtest rows and its selection record."""

    unique_id: str
    model: str
    flag: str
    prediction: Prediction
    backtest: list[dict] = field(default_factory=list)
    selection: dict = field(default_factory=dict)


def members_of(models: Sequence[str]) -> list[str]:
    """Models that make up the combination: the candidates other than the naive ones."""
    return [m for m in models if m not in NAIVE_MODELS]


def candidates_of(settings: ForecastSettings) -> list[str]:
    """The candidates a series is backtested on: the models, then ``combo`` when enabled and meaningful."""
    names: list[str] = list(settings.models)
    if settings.combination and len(members_of(names)) >= 2:
        names.append(COMBO)
    return names


def _clip(pred: Prediction, y: np.ndarray) -> Prediction:
    if y.size and (y >= 0).all():
        pred.mean = np.maximum(pred.mean, 0.0)
        pred.lower = {k: np.maximum(v, 0.0) for k, v in pred.lower.items()}
        pred.upper = {k: np.maximum(v, 0.0) for k, v in pred.upper.items()}
    return pred


def _default_choice(candidates: list[str]) -> list[str]:
    """Order of preference without a backtest: the combination, then statistical models, then naive ones."""
    head = [COMBO] if COMBO in candidates else []
    stats = [c for c in candidates if c not in NAIVE_MODELS and c != COMBO]
    rest = [c for c in candidates if c in NAIVE_MODELS]
    return head + stats + rest


def forecast_series(series: Series, settings: ForecastSettings, engine: str) -> SeriesResult:
    """Forecast one series per ``settings`` with the resolved ``engine``."""
    y = series.y
    h, levels = settings.horizon, settings.levels
    record = {"unique_id": series.unique_id, "n_obs": int(y.size), "filled": series.filled}
    flag = classify(y, settings)
    if flag is not None:
        pred = fallback_prediction(flag, y, h, levels)
        model = FALLBACK_MODEL[flag]
        record.update(model=model, flag=flag, season_length=1, windows=0, score=math.nan)
        return SeriesResult(series.unique_id, model, flag, _clip(pred, y) if settings.clip_negative else pred,
                            selection=record)

    m = season_for(y.size, settings.season_length, settings.min_seasons)
    candidates = candidates_of(settings)
    min_train = max(settings.min_length, 4)
    windows = cutoffs(y.size, h, settings.backtest_windows, settings.step, min_train)
    rows: list[dict] = []
    if windows:
        rows = backtest_series(y, list(settings.models), members_of(list(settings.models)), horizon=h,
                               season_length=settings.season_length, min_seasons=settings.min_seasons,
                               windows=settings.backtest_windows, step=settings.step, min_train=min_train,
                               levels=levels, metric=settings.metric, engine=engine, seed=settings.seed)
        order = rank(rows, candidates, prefer=COMBO, margin=settings.combination_margin)
    else:
        order = _default_choice(candidates)
    short = (m == 1 and settings.season_length > 1) or (not windows and settings.backtest_windows > 0)
    flag = "short" if short else "ok"

    # automatic ETS keeps the form its latest backtest window chose (same season length): only re-estimated
    last = max((r["window"] for r in rows), default=None)
    specs = {r["model"]: r["_spec"] for r in rows if r["window"] == last and r.get("_spec")}
    if rows and season_for(rows[-1]["cutoff"], settings.season_length, settings.min_seasons) != m:
        specs = {}
    for name in order:
        needed = members_of(list(settings.models)) if name == COMBO else [name]
        preds = candidate_predictions(y, needed, needed if name == COMBO else [], h, m, levels, engine,
                                      settings.seed, fitted=settings.fitted, specs=specs)
        candidate = preds.get(name)
        if isinstance(candidate, Prediction):
            chosen, pred = name, candidate
            break
        log.debug("series %s: final fit of %s failed (%s)", series.unique_id, name, candidate)
    else:  # no candidate could be fit
        flag, chosen = "model_error", FALLBACK_MODEL["model_error"]
        pred = fallback_prediction(flag, y, h, levels)
    scores = mean_scores(rows, candidates) if rows else {}
    record.update(model=chosen, flag=flag, season_length=m, windows=len(windows),
                  score=scores.get(chosen, math.nan))
    for row in rows:
        row["unique_id"] = series.unique_id
    if settings.clip_negative:
        pred = _clip(pred, y)
    return SeriesResult(series.unique_id, chosen, flag, pred, rows, record)

