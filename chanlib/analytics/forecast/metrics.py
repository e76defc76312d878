"""Accuracy measures on arrays: sMAPE, MASE and MAE (``nan`` where undefined).

Examples
--------
>>> import numpy as np
>>> round(smape(np.array([100.0, 100.0]), np.array([110.0, 90.0])), 4)
10.0251
>>> mae(np.array([1.0, 2.0]), np.array([2.0, 2.0]))
0.5
>>> mase(np.array([3.0, 4.0]), np.array([3.0, 5.0]), insample=np.array([1.0, 2.0, 3.0]), season_length=1)
0.5
"""
from __future__ import annotations

import numpy as np


def smape(y: np.ndarray, f: np.ndarray) -> float:
    """Mean of ``200·|y−f|/(|y|+|f|)`` (M3 definition; a point where both are zero counts as 0)."""
    y = np.asarray(y, dtype=float)
    f = np.asarray(f, dtype=float)
    den = np.abs(y) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(den > 0, 200.0 * np.abs(y - f) / den, 0.0)
    return float(np.mean(terms)) if terms.size else float("nan")


def mae(y: np.ndarray, f: np.ndarray) -> float:
    """Mean absolute error."""
    diff = np.abs(np.asarray(y, dtype=float) - np.asarray(f, dtype=float))
    return float(np.mean(diff)) if diff.size else float("nan")


def mase_scale(insample: np.ndarray, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast (naive when the history is shorter than two seasons)."""
    insample = np.asarray(insample, dtype=float)
    m = season_length if insample.size > season_length else 1
    if insample.size <= m:
        return float("nan")
    return float(np.mean(np.abs(insample[m:] - insample[:-m])))


def mase(y: np.ndarray, f: np.ndarray, insample: np.ndarray, season_length: int) -> float:
    """MAE scaled by the in-sample seasonal naive MAE (``nan`` when that scale is 0 or undefined)."""
    scale = mase_scale(insample, season_length)
    if not np.isfinite(scale) or scale <= 0:
        return float("nan")
    return mae(y, f) / scale


def score(metric: str, y: np.ndarray, f: np.ndarray, insample: np.ndarray, season_length: int) -> float:
    """The named metric (``smape``, ``mase`` or ``mae``)."""
    if metric == "smape":
        return smape(y, f)
    if metric == "mae":
        return mae(y, f)
    if metric == "mase":
        return mase(y, f, insample, season_length)
    raise ValueError(f"unknown metric {metric!r} (known: smape, mase, mae)")
