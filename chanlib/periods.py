"""Periods: one as-of date, one trailing window, one notion of a complete calendar period, and their labels.

Every section of a report and every analysis takes its dates from here:

* **as of** -- the last sale date in the data (the same date for every region, so regions compare);
* **trailing window** of ``months`` months -- the days after ``as_of - months`` up to ``as_of`` (calendar-month
  arithmetic, e.g. 2024-02-29 .. 2025-02-28 for 12 months as of 2025-02-28), and the same window a year earlier;
* **complete period** -- a calendar month, quarter or year is complete when the data reach within
  ``tolerance_days`` (default 3) of its last day (0: the last sale falls on its last day; Superstore's last order is
  on 2019-12-30, so its last quarter counts); the latest complete one is what period evaluations, fits and forecasts
  use;
* **covered** -- an earlier period or window counts as covered by the data when they start at most
  ``slack_days`` after its first day; a comparison with an uncovered period is not made.

Examples
--------
>>> import pandas as pd
>>> last = pd.Timestamp("2019-12-30")
>>> [str(d.date()) for d in latest_complete(last, "quarter", tolerance_days=0)]
['2019-07-01', '2019-09-30']
>>> [str(d.date()) for d in latest_complete(last, "quarter", tolerance_days=3)]
['2019-10-01', '2019-12-31']
>>> [str(d.date()) for d in trailing_window(pd.Timestamp("2025-02-28"), 12)]
['2024-02-29', '2025-02-28']
>>> label(pd.Timestamp("2025-10-01"), "quarter"), label(pd.Timestamp("2025-12-01"), "month")
('2025 Q4', 'December 2025')
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeAlias

import pandas as pd

from chanlib.errors import MissingInput

Grain = Literal["month", "quarter", "year"]
GRAINS: tuple[str, ...] = ("month", "quarter", "year")
MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
#: default of ``periods.coverage_slack_days``
COVERAGE_SLACK_DAYS = 7
#: default of ``periods.complete_tolerance_days``
COMPLETE_TOLERANCE_DAYS = 3

DateLike: TypeAlias = date | str | pd.Timestamp


def check_grain(period: str) -> int:
    """The months of a grain; ``ValueError`` for an unknown one."""
    if period not in MONTHS:
        raise ValueError(f"period must be one of {', '.join(GRAINS)}, not {period!r}")
    return MONTHS[period]


def period_start(day: DateLike, period: str) -> pd.Timestamp:
    """First day of the calendar period holding ``day``."""
    check_grain(period)
    return pd.Timestamp(day).to_period(_FREQ[period]).start_time.normalize()


def period_end(start: DateLike, period: str) -> pd.Timestamp:
    """Last day of the period starting on ``start``."""
    return pd.Timestamp(start) + pd.DateOffset(months=check_grain(period)) - pd.Timedelta(days=1)


def label(start: DateLike, period: str) -> str:
    """A reader's name for a period: ``December 2025``, ``2025 Q4`` or ``2025``."""
    ts = pd.Timestamp(start)
    if period == "month":
        return ts.strftime("%B %Y")
    if period == "quarter":
        return f"{ts.year} Q{(ts.month - 1) // 3 + 1}"
    return str(ts.year)


def latest_complete(last: DateLike, period: str, tolerance_days: int = COMPLETE_TOLERANCE_DAYS,
                    as_of: DateLike | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the latest complete ``period`` for data ending on ``last``: the latest period whose
    last day is at most ``tolerance_days`` after ``last`` (and, with ``as_of``, not after ``as_of``)."""
    check_grain(period)
    last = pd.Timestamp(last).normalize()
    cap = last if as_of is None else min(pd.Timestamp(as_of).normalize(), last)
    reach = cap + pd.Timedelta(days=tolerance_days)
    # the period holding the day after `reach` is the first incomplete one; the one before it is complete
    start = (period_start(reach + pd.Timedelta(days=1), period).to_period(_FREQ[period]) - 1).start_time.normalize()
    return start, period_end(start, period)


def is_partial(last: DateLike, period: str, tolerance_days: int = COMPLETE_TOLERANCE_DAYS) -> bool:
    """Whether the period holding ``last`` is cut off (the data end more than ``tolerance_days`` before its end)."""
    end = period_end(period_start(last, period), period)
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=tolerance_days) < end


def complete_months(last: DateLike, months: int, tolerance_days: int = COMPLETE_TOLERANCE_DAYS
                    ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the last ``months`` complete calendar months (the window may start before the data)."""
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    start, end = latest_complete(last, "month", tolerance_days)
    return start - pd.DateOffset(months=months - 1), end


def trailing_window(as_of: DateLike, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The trailing window of ``months`` months ending on ``as_of`` (inclusive first and last day)."""
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    end = pd.Timestamp(as_of).normalize()
    return end - pd.DateOffset(months=months) + pd.Timedelta(days=1), end


def year_earlier(window: tuple[pd.Timestamp, pd.Timestamp]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The same window a year earlier."""
    return window[0] - pd.DateOffset(years=1), window[1] - pd.DateOffset(years=1)


def window_days(as_of: DateLike, months: int) -> int:
    """Days in the trailing window of ``months`` months ending on ``as_of``."""
    start, end = trailing_window(as_of, months)
    return int((end - start).days) + 1


def covered(first: DateLike, start: DateLike, slack_days: int = COVERAGE_SLACK_DAYS) -> bool:
    """Whether data starting on ``first`` cover a period or window starting on ``start``."""
    return pd.Timestamp(first) <= pd.Timestamp(start) + pd.Timedelta(days=slack_days)


@dataclass(frozen=True)
class Periods:
    """An evaluated period and its two comparison periods (inclusive first and last days)."""

    period: str
    start: date
    end: date
    prev_start: date
    prev_end: date
    ly_start: date
    ly_end: date
    prev_covered: bool
    ly_covered: bool

    @property
    def label(self) -> str:
        return label(self.start, self.period)

    @property
    def prev_label(self) -> str:
        return label(self.prev_start, self.period)

    @property
    def ly_label(self) -> str:
        return label(self.ly_start, self.period)


def comparison_periods(first: DateLike, last: DateLike, period: str, as_of: DateLike | None = None,
                       tolerance_days: int = COMPLETE_TOLERANCE_DAYS,
                       slack_days: int = COVERAGE_SLACK_DAYS) -> Periods:
    """The latest complete ``period`` of data spanning ``first`` .. ``last`` (up to ``as_of``), the period before
    it and the same period a year earlier, with whether the data cover each.

    Raises :class:`~chanlib.errors.MissingInput` when no period is complete.

    >>> p = comparison_periods("2024-03-01", "2024-04-30", "month")
    >>> str(p.start), str(p.end), str(p.prev_start), p.prev_covered, p.ly_covered
    ('2024-04-01', '2024-04-30', '2024-03-01', True, False)
    """
    months = check_grain(period)
    first = pd.Timestamp(first)
    start, end = latest_complete(last, period, tolerance_days, as_of)
    if not covered(first, start, slack_days):
        raise MissingInput("sales", f"no complete {period} in the data (they start on {first.date()}, after the "
                                    f"start of {label(start, period)})")
    prev_start = start - pd.DateOffset(months=months)
    ly_start = start - pd.DateOffset(years=1)
    return Periods(period, start.date(), end.date(), prev_start.date(), (start - pd.Timedelta(days=1)).date(),
                   ly_start.date(), period_end(ly_start, period).date(),
                   covered(first, prev_start, slack_days), covered(first, ly_start, slack_days))
