"""Rolling-origin backtest of the candidate models of one series.

Examples
--------
>>> cutoffs(n=30, horizon=6, windows=3, step=6, min_train=4)
[(12, 6), (18, 6), (24, 6)]
>>> cutoffs(n=8, horizon=6, windows=2, step=6, min_train=4)
[(4, 4)]
"""
from __future__ import annotations

import logging

import numpy as np

from chanlib.analytics.forecast.intervals import hits
from chanlib.analytics.forecast.metrics import score, smape
from chanlib.analytics.forecast.models import Prediction, combine, predict

log = logging.getLogger(__name__)

COMBO = "combo"


def relative_errors(actual: np.ndarray, pred: Prediction, level: int) -> np.ndarray:
    """Each error as a share of the interval's half-width on its side (an actual is inside when <= 1)."""
    up = actual >= pred.mean
    half = np.where(up, pred.upper[level] - pred.mean, pred.mean - pred.lower[level])
    err = np.abs(actual - pred.mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(half > 0, err / half, np.where(err > 0, np.inf, 0.0))


def cutoffs(n: int, horizon: int, windows: int, step: int, min_train: int) -> list[tuple[int, int]]:
    """Origins ``(training length, window horizon)``, earliest first; a history too short for the full horizon
    gets one shorter window, and origins leaving fewer than ``min_train`` training points are dropped."""
    if windows <= 0:
        return []
    h = min(horizon, n - min_train)
    if h < 1:
        return []
    out = [(n - h - k * step, h) for k in range(windows)]
    return sorted((c, h) for c, h in out if c >= min_train)


def season_for(n: int, season_length: int, min_seasons: int) -> int:
    """The season length a model may use with ``n`` points (1 when fewer than ``min_seasons`` full seasons)."""
    return season_length if season_length > 1 and n >= min_seasons * season_length else 1


def candidate_predictions(y: np.ndarray, models: list[str], members: list[str], horizon: int, season_length: int,
                          levels: list[int], engine: str, seed: int, fitted: bool = False,
                          specs: dict[str, str] | None = None) -> dict[str, Prediction | Exception]:
    """Predictions of every model, plus :data:`COMBO` (mean of ``members``) when it has two or more.
    ``specs`` fixes the form of automatic ETS models (model name -> spec from an earlier fit)."""
    out: dict[str, Prediction | Exception] = {}
    for name in models:
        try:
            out[name] = predict(name, y, horizon, season_length, levels, engine=engine, seed=seed, fitted=fitted,
                                spec=(specs or {}).get(name))
        except Exception as exc:  # noqa: BLE001 - a failing model is reported and skipped, never fatal
            log.debug("model %s failed: %s", name, exc)
            out[name] = exc
    ok = [p for p in (out.get(name) for name in members) if isinstance(p, Prediction)]
    if len(members) >= 2:
        out[COMBO] = combine(ok) if len(ok) == len(members) else RuntimeError("a member of the combination failed")
    return out


def backtest_series(y: np.ndarray, models: list[str], members: list[str], *, horizon: int, season_length: int,
                    min_seasons: int, windows: int, step: int, min_train: int, levels: list[int], metric: str,
                    engine: str, seed: int, benchmark: str | None = None) -> list[dict]:
    """One row per (window, candidate): ``window, cutoff`` (training length), ``model, score, n`` and
    ``inside_<level>`` (actuals inside the interval); a failed candidate gets ``score`` nan. ``benchmark`` (e.g.
    ``seasonal_naive``) is scored on the same windows, with the full ``season_length`` whatever the window's length
    allows the candidates."""
    rows: list[dict] = []
    for window, (cut, h) in enumerate(cutoffs(y.size, horizon, windows, step, min_train), start=1):
        train, actual = y[:cut], y[cut:cut + h]
        m = season_for(cut, season_length, min_seasons)
        preds = candidate_predictions(train, models, members, h, m, levels, engine, seed)
        if benchmark is not None and benchmark not in preds:
            preds.update(candidate_predictions(train, [benchmark], [], h, season_length, levels, engine, seed))
        for name, pred in preds.items():
            row: dict = {"window": window, "cutoff": cut, "model": name, "n": h}
            if isinstance(pred, Exception):
                row["score"] = float("nan")
                row.update({f"inside_{level}": 0 for level in levels})
                row["n"] = 0
            else:
                row["score"] = score(metric, actual, pred.mean, train, season_length)
                row["_smape"] = smape(actual, pred.mean)  # judges reliability whatever metric ranks
                row.update({f"inside_{level}": hits(actual, pred.lower[level], pred.upper[level])
                            for level in levels})
                row["_ratios"] = {level: relative_errors(actual, pred, level) for level in levels}
                if pred.spec:
                    row["_spec"] = pred.spec
            rows.append(row)
    return rows
