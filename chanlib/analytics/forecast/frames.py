"""The long-format contract: check ``unique_id, ds, y`` input, split it into series, build future dates.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"unique_id": ["a", "a"], "ds": pd.to_datetime(["2024-01-01", "2024-01-01"]), "y": [1.0, 2.0]})
>>> check_long_frame(df)
Traceback (most recent call last):
...
ValueError: duplicate (unique_id, ds) in rows 0, 1: a @ 2024-01-01 00:00:00
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED = ("unique_id", "ds", "y")


def _rows(index: pd.Index, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in list(index[:limit]))
    more = len(index) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def check_long_frame(df: pd.DataFrame, value: str = "y") -> pd.DataFrame:
    """Validate a long frame and return a clean copy sorted by ``unique_id, ds`` with ``y`` as float64.

    Raises ``ValueError`` naming the column and the offending rows (labels of ``df.index``) for a missing
    column, a missing ``unique_id`` or ``ds``, a non-numeric or infinite ``y``, or a duplicate
    ``(unique_id, ds)``. A missing ``y`` (NaN) is allowed: it is filled like a missing period.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"expected a DataFrame with columns unique_id, ds, {value}; got {type(df).__name__}")
    needed = ("unique_id", "ds", value)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}: a long frame needs {', '.join(needed)} "
            f"(has {', '.join(map(str, df.columns))})"
        )
    for column in ("unique_id", "ds"):
        bad = df.index[df[column].isna().to_numpy()]
        if len(bad):
            raise ValueError(f"column {column}: missing values in rows {_rows(bad)}")
    raw = df[value]
    if pd.api.types.is_bool_dtype(raw) or not (pd.api.types.is_numeric_dtype(raw) or raw.dtype == object
                                               or pd.api.types.is_string_dtype(raw)):
        raise ValueError(f"column {value}: expected numbers, got dtype {raw.dtype}")
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = df.index[(numbers.isna() & raw.notna()).to_numpy()]
    if len(bad):
        examples = ", ".join(repr(v) for v in raw.loc[bad[:3]].tolist())
        raise ValueError(f"column {value}: non-numeric values in rows {_rows(bad)} (e.g. {examples})")
    numbers = numbers.astype("float64")
    bad = df.index[np.isinf(numbers.to_numpy())]
    if len(bad):
        raise ValueError(f"column {value}: infinite values in rows {_rows(bad)}")
    out = pd.DataFrame({"unique_id": df["unique_id"].astype(str).to_numpy(), "ds": df["ds"].to_numpy(),
                        "y": numbers.to_numpy()}, index=df.index)
    dup = out.duplicated(["unique_id", "ds"], keep=False).to_numpy()
    if dup.any():
        rows = df.index[dup]
        first = out.loc[rows[0]]
        raise ValueError(
            f"duplicate (unique_id, ds) in rows {_rows(rows)}: {first['unique_id']} @ {first['ds']}"
        )
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def infer_freq(df: pd.DataFrame) -> str | None:
    """The pandas frequency of ``ds`` from the longest series (``None`` for integer time or when unclear)."""
    if not pd.api.types.is_datetime64_any_dtype(df["ds"]):
        return None
    sizes = df.groupby("unique_id", sort=True).size()
    for uid in sizes.sort_values(ascending=False, kind="stable").index[:5]:
        ds = pd.DatetimeIndex(df.loc[df["unique_id"] == uid, "ds"])
        if len(ds) >= 3:
            with warnings.catch_warnings():  # pandas 3 announces offsets instead of strings; both are handled
                warnings.simplefilter("ignore", FutureWarning)
                warnings.filterwarnings("ignore", message=".*infer_freq.*")
                offset = pd.infer_freq(ds)
            if offset is not None:
                return offset if isinstance(offset, str) else offset.freqstr
    return None


@dataclass(frozen=True)
class Series:
    """One series ready for the models: values on a regular grid and the time stamps to forecast."""

    unique_id: str
    y: np.ndarray
    last_ds: object
    #: periods filled with ``fill_value`` because they were missing
    filled: int = 0


def split_series(df: pd.DataFrame, freq: str | None, fill_value: float) -> list[Series]:
    """Split a checked long frame into :class:`Series`, filling missing periods (and NaN ``y``)."""
    out: list[Series] = []
    datetime = pd.api.types.is_datetime64_any_dtype(df["ds"])
    for uid, group in df.groupby("unique_id", sort=True):
        ds = group["ds"]
        y = group["y"].to_numpy(dtype=float)
        filled = 0
        if len(group) > 1:
            if datetime and freq:
                grid = pd.date_range(ds.iloc[0], ds.iloc[-1], freq=freq)
                if len(grid) != len(ds) or not (grid == pd.DatetimeIndex(ds)).all():
                    values = pd.Series(y, index=pd.DatetimeIndex(ds)).reindex(grid)
                    y = values.to_numpy(dtype=float)
                    if np.isnan(y).all():
                        raise ValueError(f"column ds: series {uid} does not fit the frequency {freq!r}")
            elif not datetime and pd.api.types.is_integer_dtype(ds):
                grid = np.arange(ds.iloc[0], ds.iloc[-1] + 1)
                if len(grid) != len(ds):
                    y = pd.Series(y, index=ds.to_numpy()).reindex(grid).to_numpy(dtype=float)
        nan = np.isnan(y)
        if nan.any():
            filled = int(nan.sum())
            y = np.where(nan, fill_value, y)
        out.append(Series(str(uid), y, ds.iloc[-1], filled))
    return out


def future_dates(last_ds: object, horizon: int, freq: str | None) -> np.ndarray:
    """The ``horizon`` time stamps after ``last_ds`` (integers count on by one)."""
    if isinstance(last_ds, (pd.Timestamp, np.datetime64)):
        if freq is None:
            raise ValueError("column ds: cannot infer the frequency of the dates; set ForecastSettings.freq")
        return pd.date_range(pd.Timestamp(last_ds), periods=horizon + 1, freq=freq)[1:].to_numpy()
    return np.asarray(last_ds) + np.arange(1, horizon + 1)
