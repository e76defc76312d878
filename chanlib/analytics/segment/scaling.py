"""Put features on one robust scale before clustering: log transform, impute, centre on the median, divide by the IQR.

* columns named in ``log_features`` are transformed with ``log1p`` (they must be > -1);
* an empty value is imputed with the column's median (after the transform) and counted in ``imputed_``;
* each column is centred on its median and divided by its interquartile range; a column with only two distinct
  values (a 0/1 flag such as "sells online") or without interquartile spread (a value most partners share) is
  divided by its range instead, so a flag spans exactly one unit whatever share of partners holds it (an IQR of
  such a column is 0, 1 or an interpolation artefact in between); a column with no spread at all (constant, or
  entirely empty) carries no information and is dropped, with the reason in ``dropped_``;
* a scale is never below the feature's ``min_scale`` (a difference too small to matter, in the feature's units
  after the log transform), so near-agreement is not inflated into a difference.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"revenue": [0.0, 9.0, 99.0, 999.0], "flag": [0, 0, 1, 1], "const": [5.0] * 4})
>>> s = RobustScaler(log_features=["revenue"]).fit(X)
>>> s.columns_, s.dropped_
(['revenue', 'flag'], {'const': 'constant (every value is 5)'})
>>> s.transform(X).round(2).tolist()
[[-1.0, -0.5], [-0.33, -0.5], [0.33, 0.5], [1.0, 0.5]]
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from chanlib.analytics.segment.errors import SegmentInputError

log = logging.getLogger(__name__)


def check_features(frame: pd.DataFrame, what: str = "features") -> pd.DataFrame:
    """Validate a feature frame (numeric columns, unique index, no infinities) and return it as float64."""
    if not isinstance(frame, pd.DataFrame):
        raise SegmentInputError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty or frame.shape[1] == 0:
        raise SegmentInputError(f"{what}: no rows or no columns to segment")
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise SegmentInputError(f"{what}: columns {bad} are not numeric")
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()].unique()[:3].tolist()
        raise SegmentInputError(f"{what}: the index (partner id) has duplicates, e.g. {dup}")
    values = frame.astype("float64")
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        rows, cols = np.nonzero(infinite)
        raise SegmentInputError(f"{what}: column {values.columns[cols[0]]!r} has infinite values "
                                f"(e.g. row {values.index[rows[0]]!r})")
    return values


class RobustScaler:
    """Log-transform, median-impute and robust-scale a feature frame; drops features without spread."""

    def __init__(self, log_features: Iterable[str] = (), min_scale: Mapping[str, float] | None = None):
        self.log_features = list(log_features)
        self.min_scale = dict(min_scale or {})

    def _log(self, values: pd.DataFrame) -> pd.DataFrame:
        out = values.copy()
        for column in self.log_features:
            if column in out.columns:
                col = out[column]
                if (col <= -1).any():
                    raise SegmentInputError(f"features: column {column!r} is log-transformed (log1p) and must be "
                                            f"> -1; its minimum is {col.min()}")
                out[column] = np.log1p(col)
        return out

    def fit(self, frame: pd.DataFrame) -> RobustScaler:
        values = self._log(check_features(frame))
        self.dropped_: dict[str, str] = {}
        self.median_, self.scale_, self.imputed_ = {}, {}, {}
        for column in values.columns:
            col = values[column].dropna()
            if col.empty:
                self.dropped_[column] = "no values"
                continue
            low, high = col.min(), col.max()
            if high == low:
                self.dropped_[column] = f"constant (every value is {frame[column].dropna().iloc[0]:g})"
                continue
            q1, median, q3 = np.quantile(col.to_numpy(), [0.25, 0.5, 0.75])
            scale = q3 - q1
            if col.nunique() == 2:
                scale = high - low
            elif scale <= 1e-12 * max(abs(high), abs(low), 1.0):
                log.info("feature %s has no interquartile spread; scaled by its range", column)
                scale = high - low
            scale = max(scale, self.min_scale.get(column, 0.0))
            self.median_[column], self.scale_[column] = float(median), float(scale)
            self.imputed_[column] = int(values[column].isna().sum())
        for column, reason in self.dropped_.items():
            log.info("feature %s dropped from clustering: %s", column, reason)
        for column, n in self.imputed_.items():
            if n:
                log.info("feature %s: %d empty value(s) imputed with the median", column, n)
        self.columns_ = list(self.median_)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The scaled matrix (rows of ``frame``, columns :attr:`columns_`), empty values at the median (0)."""
        values = self._log(check_features(frame))[self.columns_]
        median = pd.Series(self.median_)[self.columns_]
        scale = pd.Series(self.scale_)[self.columns_]
        return ((values - median) / scale).fillna(0.0).to_numpy(dtype="float64")
