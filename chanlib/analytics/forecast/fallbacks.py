"""Series that automatic selection cannot serve, and what forecasts them instead.

Flags (output column ``flag``): ``ok`` (automatic choice), ``all_zero`` (forecast 0), ``new`` (fewer than
``min_length`` points: last value), ``constant`` (one repeated value: that value), ``intermittent`` (at least
``intermittent_share`` zeros: Croston SBA), ``short`` (fewer than ``min_seasons`` seasons: models without trend or
season, see :data:`chanlib.analytics.forecast.pipeline.SHORT_MODELS`; or too short for a backtest),
``model_error`` (every candidate failed: last value). Set after the backtest (see
:func:`chanlib.analytics.forecast.pipeline.forecast_series`): ``benchmark`` (the model did clearly worse than the
seasonal-naive benchmark: the benchmark's forecast), ``below_benchmark`` (worse, but kept), ``unreliable``
(backtest sMAPE above ``unreliable_smape``).

Examples
--------
>>> import numpy as np
>>> from chanlib.config import ForecastSettings
>>> s = ForecastSettings()
>>> [classify(np.array(v, dtype=float), s) for v in ([0, 0, 0], [5.0], [0, 0, 3, 0, 0, 2], [1, 2, 3, 4])]
['all_zero', 'new', 'intermittent', None]
"""
from __future__ import annotations

import numpy as np

from chanlib.analytics.forecast.models import Prediction, croston, naive
from chanlib.config import ForecastSettings

#: model label written for each fallback
FALLBACK_MODEL = {"all_zero": "zero", "new": "naive", "constant": "naive", "intermittent": "croston",
                  "model_error": "naive"}


def classify(y: np.ndarray, settings: ForecastSettings) -> str | None:
    """The fallback flag of a history, or ``None`` when it goes to automatic selection."""
    if y.size and not np.any(y):
        return "all_zero"
    if y.size < settings.min_length:
        return "new"
    if np.all(y == y[0]):
        return "constant"
    if np.mean(y == 0) >= settings.intermittent_share:
        return "intermittent"
    return None


def fallback_prediction(flag: str, y: np.ndarray, horizon: int, levels: list[int]) -> Prediction:
    """The forecast a flagged series gets (see :data:`FALLBACK_MODEL`)."""
    if flag == "all_zero":
        zeros = np.zeros(horizon)
        return Prediction(zeros, {l: zeros.copy() for l in levels}, {l: zeros.copy() for l in levels},
                          fitted=np.zeros(y.size))
    if flag == "intermittent":
        pred = croston(y, horizon, levels)
        pred.fitted = np.full(y.size, np.nan)
        return pred
    if flag == "constant":
        mean = np.full(horizon, float(y[-1]))
        return Prediction(mean, {l: mean.copy() for l in levels}, {l: mean.copy() for l in levels},
                          fitted=np.full(y.size, float(y[-1])))
    return naive(y, horizon, levels)
