"""What every alert is made of: the columns, the context a build's rules share, episodes and number formats.

An alert is one row of :data:`COLUMNS`. The rules and the statistical detectors produce *findings*: rows of
:data:`FINDING_COLUMNS` (the entity, the metric, the value against its threshold or expected range, since when, the
date that fired, the evidence in words and the *excess*, how far past the threshold it is: 1 at the threshold, 2
twice as far; each rule says how it measures it). :func:`chanlib.analytics.alerts.severity.finish` adds the id, the
severity and the response, :func:`chanlib.analytics.alerts.state.apply_state` the state against the previous build.

Examples
--------
>>> frame = findings([{"rule": "price_gap", "region": "North", "metric": "unit_price_ratio", "value": 1.8,
...                    "threshold": 1.5, "since": "2025-10-01", "ds": "2025-12-01", "excess": 1.2}])
>>> frame.loc[0, ["channel", "partner_id"]].tolist(), str(frame.loc[0, "since"].date())
(['', ''], '2025-10-01')
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from chanlib import periods
from chanlib.config import AlertSettings

#: the entity columns of an alert ("" where not applicable)
ENTITY_COLUMNS: tuple[str, ...] = ("region", "channel", "partner_id", "product_id")
#: what a rule or detector finds
FINDING_COLUMNS: tuple[str, ...] = ("rule", *ENTITY_COLUMNS, "entity", "metric", "value", "threshold", "expected_lo",
                                    "expected_hi", "since", "ds", "evidence", "excess")
#: an alert as the store, the CLI and the report keep it
COLUMNS: tuple[str, ...] = ("alert_id", "state", "severity", "rule", *ENTITY_COLUMNS, "entity", "metric", "value",
                            "threshold", "expected_lo", "expected_hi", "since", "ds", "evidence", "response",
                            "first_seen", "excess")
#: the series behind an alert, for its chart: the values around the date that fired, with the expected value and
#: range (statistical alerts and forecasts) or the threshold (rules)
SERIES_COLUMNS: tuple[str, ...] = ("alert_id", "ds", "value", "expected", "expected_lo", "expected_hi", "threshold")
_FLOAT_COLUMNS = ("value", "threshold", "expected_lo", "expected_hi", "excess")


def findings(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Finding rows with every column of :data:`FINDING_COLUMNS`: entity columns "" where absent, numbers as float
    (NaN where absent), ``since`` and ``ds`` as dates (midnight timestamps)."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for column in FINDING_COLUMNS:
        if column not in frame:
            frame[column] = "" if column in (*ENTITY_COLUMNS, "entity", "evidence") else float("nan")
    for column in ENTITY_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str)
    for column in _FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("since", "ds"):
        frame[column] = pd.to_datetime(frame[column]).dt.normalize()
    if len(frame):
        empty = frame["entity"].astype(str).eq("")
        frame.loc[empty, "entity"] = [entity_name(r) for r in frame.loc[empty, list(ENTITY_COLUMNS)].to_dict("records")]
    return frame[list(FINDING_COLUMNS)].reset_index(drop=True)


def entity_name(row: Mapping[str, Any], partner_name: str = "") -> str:
    """A readable entity: its non-empty keys joined by `` / `` (``North / web_store / P00012 Smith Ltd``)."""
    parts = [str(row.get(c) or "") for c in ENTITY_COLUMNS]
    if partner_name and parts[2]:
        parts[2] = f"{parts[2]} {partner_name}"
    return " / ".join(p for p in parts if p)


@dataclass(frozen=True)
class AlertContext:
    """What the rules of one build share: the settings, the currency and the dates (all from
    :mod:`chanlib.periods`)."""

    settings: AlertSettings
    currency: str
    #: first and last sale date
    first: pd.Timestamp
    as_of: pd.Timestamp
    #: first and last day of the latest complete month
    month: pd.Timestamp
    through: pd.Timestamp
    #: statistical alerts are raised on dates from this day on
    lookback_start: pd.Timestamp
    #: the trailing window of the headline KPIs (partner concentration uses it)
    window_months: int = 12
    #: a period is complete when the data reach within this many days of its end
    tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS

    @classmethod
    def create(cls, settings: AlertSettings, first: pd.Timestamp, as_of: pd.Timestamp, currency: str = "",
               tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS, window_months: int = 12) -> AlertContext:
        month, through = periods.latest_complete(as_of, "month", tolerance_days)
        lookback_start, _ = periods.trailing_window(as_of, settings.lookback_months)
        return cls(settings, currency, pd.Timestamp(first).normalize(), pd.Timestamp(as_of).normalize(), month,
                   through, lookback_start, window_months, tolerance_days)

    def money(self, value: float) -> str:
        return money(value, self.currency)


def money(value: float, currency: str = "") -> str:
    """An amount for evidence: ``EUR 12,345`` (``n/a`` when undefined)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency + ' ' if currency else ''}{abs(float(value)):,.0f}"


def pct(value: float, signed: bool = False) -> str:
    """A share for evidence: ``12.3%``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def month_label(day: Any) -> str:
    return periods.label(periods.period_start(day, "month"), "month")


def day_label(day: Any) -> str:
    """``Fri 2025-03-14``."""
    ts = pd.Timestamp(day)
    return f"{ts.strftime('%a')} {ts.date()}"


def episodes(frame: pd.DataFrame, keys: list[str], time: str, flag: str, latest: pd.Timestamp | None = None
             ) -> pd.DataFrame:
    """The run of consecutive ``flag`` rows that reaches each key's latest ``time`` (and, with ``latest``, only
    when that is ``latest``): the last row of the run with ``since`` (its first ``time``) and ``run`` (its length in
    rows). ``frame`` holds one row per key and period on a gap-free grid, sorted or not.

    >>> f = pd.DataFrame({"k": ["a"] * 4 + ["b"] * 4, "t": list(range(4)) * 2,
    ...                   "x": [True, False, True, True, True, True, True, False]})
    >>> episodes(f, ["k"], "t", "x")[["k", "t", "since", "run"]].values.tolist()
    [['a', 3, 2, 2]]
    """
    if frame.empty:
        return frame.assign(since=pd.Series(dtype=frame[time].dtype), run=pd.Series(dtype="int64"))
    ordered = frame.sort_values([*keys, time]).reset_index(drop=True)
    group = ordered.groupby(keys, sort=False, dropna=False)
    change = ordered[flag].ne(group[flag].shift()).astype(int)
    run_id = change.groupby([ordered[k] for k in keys], sort=False, dropna=False).cumsum()
    ordered["_run"] = run_id
    key_run = [*keys, "_run"]
    ordered["since"] = ordered.groupby(key_run, sort=False, dropna=False)[time].transform("min")
    ordered["run"] = ordered.groupby(key_run, sort=False, dropna=False)[time].transform("size")
    last = ordered.groupby(keys, sort=False, dropna=False).tail(1)
    last = last[last[flag].astype(bool)]
    if latest is not None:
        last = last[last[time] == latest]
    return last.drop(columns="_run").reset_index(drop=True)
