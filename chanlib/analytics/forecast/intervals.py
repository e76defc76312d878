"""Interval columns and their empirical coverage.

Examples
--------
>>> interval_columns([80, 95])
['lo_80', 'hi_80', 'lo_95', 'hi_95']
>>> import numpy as np
>>> hits(np.array([1.0, 5.0]), np.array([0.0, 0.0]), np.array([2.0, 2.0]))
1
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def interval_columns(levels: list[int]) -> list[str]:
    """Output column names ``lo_<l>, hi_<l>`` per level, in level order."""
    return [name for level in levels for name in (f"lo_{level}", f"hi_{level}")]


def hits(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> int:
    """How many actuals fall inside their interval (bounds included)."""
    return int(np.sum((y >= lower) & (y <= upper)))


def calibration_factors(ratios: dict[int, list[np.ndarray]], levels: list[int],
                        min_points: int = 30) -> dict[int, float]:
    """Per level, the factor on interval half-widths that would have made the backtest coverage nominal: the
    ``level`` % quantile of the errors relative to the half-widths (1.0 with fewer than ``min_points``)."""
    out = {}
    for level in levels:
        values = np.concatenate(ratios.get(level) or [np.array([])])
        values = values[~np.isnan(values)]
        out[level] = float(np.quantile(values, level / 100.0, method="higher")) if values.size >= min_points else 1.0
        if not np.isfinite(out[level]) or out[level] <= 0:  # most errors exactly 0: no basis for narrowing
            out[level] = 1.0
    return out


def coverage_table(backtest: pd.DataFrame, selection: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """Empirical coverage per candidate model and level from backtest rows, plus the row ``selected``: the
    coverage of the candidate chosen for each series (measured on the same windows that chose it).

    Columns: ``model, level, nominal, coverage, n`` (``n`` = backtest points behind the figure).
    """
    columns = ["model", "level", "nominal", "coverage", "n"]
    if backtest.empty or not levels:
        return pd.DataFrame(columns=columns)
    chosen = backtest.merge(selection[["unique_id", "model"]], on=["unique_id", "model"], how="inner")
    rows = []
    for label, frame in [*backtest.groupby("model", sort=True), ("selected", chosen)]:
        n = int(frame["n"].sum())
        for level in levels:
            inside = int(frame[f"inside_{level}"].sum())
            rows.append((label, level, level / 100.0, inside / n if n else float("nan"), n))
    return pd.DataFrame(rows, columns=columns)
