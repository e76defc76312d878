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
from typing import TypeAlias

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


class FrequencyError(ValueError):
    """The dates of a long frame have no frequency that can be inferred or that fits the one given."""


class GapError(ValueError):
    """A series misses periods and nothing may fill them (``fill_value`` NaN)."""


#: the short frequency names anyone can give: each is anchored on the data (W on the first date's weekday, M and Q
#: on month starts or month ends)
FREQ_ALIASES = ("D", "W", "M", "Q")

#: a resolved frequency: a pandas frequency string for dates, an integer step for integer time
Freq: TypeAlias = str | int


def resolve_freq(freq: Freq | None, df: pd.DataFrame) -> Freq | None:
    """The frequency of a checked long frame's ``ds`` as the forecaster uses it: a pandas frequency for dates, an
    integer step for integer time, ``None`` for integer time counted by one or when nothing can be inferred.

    ``freq`` may be ``None`` (inferred from the longest series), ``D``, ``W``, ``M`` or ``Q`` (anchored on the data:
    weeks on the first date's weekday, months and quarters on their first or last days, whichever the dates are), an
    integer step (``7`` or ``"7"``: integer time in steps of 7, or every 7 days for dates), or any pandas frequency
    (``MS``, ``W-MON``, ``2h``). Raises :class:`FrequencyError` when the dates do not fit ``M`` or ``Q``.

    >>> df = pd.DataFrame({"unique_id": "a", "ds": pd.to_datetime(["2025-01-06", "2025-01-13"]), "y": [1.0, 2.0]})
    >>> resolve_freq("W", df), resolve_freq("D", df), resolve_freq(7, df), resolve_freq("MS", df)
    ('W-MON', 'D', '7D', 'MS')
    >>> ends = df.assign(ds=pd.to_datetime(["2025-03-31", "2025-06-30"]))
    >>> resolve_freq("M", ends), resolve_freq("Q", ends)
    ('ME', 'QE-DEC')
    >>> resolve_freq("3", pd.DataFrame({"unique_id": "a", "ds": [3, 6], "y": [1.0, 2.0]}))
    3
    """
    if freq is None:
        return infer_freq(df)
    text = str(freq).strip()
    datetime = pd.api.types.is_datetime64_any_dtype(df["ds"])
    if text.isdigit():
        step = int(text)
        if step < 1:
            raise FrequencyError(f"the frequency step must be at least 1, not {step}")
        return f"{step}D" if datetime else step
    if not datetime:
        raise FrequencyError(f"frequency {text!r} needs dates in column ds; integer time takes an integer step")
    ds = pd.DatetimeIndex(df["ds"])
    upper = text.upper()
    if upper == "D":
        return "D"
    if upper == "W":
        return "W-" + ds.min().day_name()[:3].upper()
    if upper in ("M", "Q"):
        months = {"M": "month", "Q": "quarter"}[upper]
        if (ds.day == 1).all():
            anchor = "MS" if upper == "M" else "QS-" + ds.min().month_name()[:3].upper()
        elif ds.is_month_end.all():
            anchor = "ME" if upper == "M" else "QE-" + _quarter_end_month(ds.min())
        else:
            raise FrequencyError(f"the dates are neither all first nor all last days of a month, so they are not "
                                 f"one per {months}; aggregate them to one row per {months} first")
        return anchor
    try:
        with warnings.catch_warnings():  # pandas announces renamed aliases; an unknown one still raises
            warnings.simplefilter("ignore", FutureWarning)
            pd.tseries.frequencies.to_offset(text)
    except ValueError:
        raise FrequencyError(f"unknown frequency {text!r}: give D, W, M, Q, an integer step or a pandas "
                             "frequency such as MS") from None
    return text


def _quarter_end_month(day: pd.Timestamp) -> str:
    """The anchor (OCT, NOV or DEC) of quarters that end in ``day``'s month: quarters ending in Mar/Jun/Sep/Dec are
    anchored DEC, as pandas names them (``QE-DEC``)."""
    return pd.Timestamp(2000, (day.month - 1) % 3 + 10, 1).month_name()[:3].upper()


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


def split_series(df: pd.DataFrame, freq: Freq | None, fill_value: float) -> list[Series]:
    """Split a checked long frame into :class:`Series` on the grid of ``freq`` (:func:`resolve_freq`), filling
    missing periods (and NaN ``y``) with ``fill_value``. With ``fill_value`` NaN nothing is filled: a series with a
    missing period raises :class:`GapError` naming it and the first missing periods; a series whose time stamps are
    not on the grid raises :class:`FrequencyError`.

    >>> df = pd.DataFrame({"unique_id": "shop", "ds": pd.to_datetime(["2025-01-03", "2025-01-05"]), "y": [4.0, 6.0]})
    >>> split_series(df, "D", 0.0)[0].y.tolist()
    [4.0, 0.0, 6.0]
    >>> split_series(df, "D", float("nan"))
    Traceback (most recent call last):
    ...
    chanlib.analytics.forecast.frames.GapError: series shop misses 1 of its 3 periods (2025-01-04)
    """
    out: list[Series] = []
    datetime = pd.api.types.is_datetime64_any_dtype(df["ds"])
    step = freq if isinstance(freq, int) else 1
    for uid, group in df.groupby("unique_id", sort=True):
        ds = group["ds"]
        y = group["y"].to_numpy(dtype=float)
        filled = 0
        grid: pd.Index | None = None
        if len(group) > 1:
            if datetime and freq:
                grid = pd.date_range(ds.iloc[0], ds.iloc[-1], freq=str(freq))
                if len(grid) != len(ds) or not (grid == pd.DatetimeIndex(ds)).all():
                    if not pd.DatetimeIndex(ds).isin(grid).all():
                        off = pd.DatetimeIndex(ds)[~pd.DatetimeIndex(ds).isin(grid)]
                        raise FrequencyError(f"column ds: series {uid} does not fit the frequency {freq!r} "
                                             f"(e.g. {', '.join(str(d.date()) for d in off[:3])})")
                    y = pd.Series(y, index=pd.DatetimeIndex(ds)).reindex(grid).to_numpy(dtype=float)
            elif not datetime and pd.api.types.is_integer_dtype(ds):
                grid = pd.Index(np.arange(ds.iloc[0], ds.iloc[-1] + 1, step))
                if not pd.Index(ds.to_numpy()).isin(grid).all():
                    raise FrequencyError(f"column ds: series {uid} has time values off the steps of {step} from "
                                         f"{ds.iloc[0]}")
                if len(grid) != len(ds):
                    y = pd.Series(y, index=ds.to_numpy()).reindex(grid).to_numpy(dtype=float)
        nan = np.isnan(y)
        if nan.any():
            if np.isnan(fill_value):
                where = grid[nan] if grid is not None and len(grid) == len(y) else pd.Index(ds.to_numpy())[nan]
                shown = ", ".join(str(v.date()) if isinstance(v, pd.Timestamp) else str(v) for v in where[:3])
                raise GapError(f"series {uid} misses {int(nan.sum())} of its {len(y)} periods ({shown}"
                               f"{', ...' if nan.sum() > 3 else ''})")
            filled = int(nan.sum())
            y = np.where(nan, fill_value, y)
        out.append(Series(str(uid), y, ds.iloc[-1], filled))
    return out


def future_dates(last_ds: object, horizon: int, freq: Freq | None) -> np.ndarray:
    """The ``horizon`` time stamps after ``last_ds`` (integers count on by the integer step ``freq``, else by one)."""
    if isinstance(last_ds, (pd.Timestamp, np.datetime64)):
        if freq is None:
            raise FrequencyError("column ds: cannot infer the frequency of the dates; set ForecastSettings.freq")
        return pd.date_range(pd.Timestamp(last_ds), periods=horizon + 1, freq=str(freq))[1:].to_numpy()
    step = freq if isinstance(freq, int) else 1
    return np.asarray(last_ds) + step * np.arange(1, horizon + 1)
