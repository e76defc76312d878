"""ABC (Pareto share of revenue) and XYZ (variability of monthly demand) classes, and the ABC x XYZ matrix.

**ABC.** Items are ranked by revenue, largest first (ties by key). Class A is the *fewest top items that together
reach* the first threshold of the total (default 80 %), B the next items until the second threshold (95 %) is
reached, C the rest; an item with no positive revenue is always C. Precisely: an item is A when the share of the
items ranked above it is below the first threshold, B when it is below the second.

**XYZ.** The coefficient of variation (population standard deviation / mean) of an item's monthly demand over the
last ``months`` complete calendar months, counted from the item's first sale when that is later (months without
sales are 0). X when CV <= the first threshold (default 0.5), Y when <= the second (1.0), Z above. An item with fewer
than ``min_months`` months in the window or no demand in it has no class (empty). Which month is complete follows
:func:`chanlib.periods.latest_complete` (when every date is the first of a month the frame holds monthly periods, and
the last one counts).

Examples
--------
>>> import pandas as pd
>>> sales = pd.DataFrame({"product_id": ["a", "b", "c", "d"], "revenue": [50.0, 30.0, 15.0, 5.0]})
>>> abc_classes(sales, "product_id")[["product_id", "cum_share", "abc"]].to_dict("list")
{'product_id': ['a', 'b', 'c', 'd'], 'cum_share': [0.5, 0.8, 0.95, 1.0], 'abc': ['A', 'A', 'B', 'C']}
>>> monthly = pd.DataFrame({"product_id": ["a"] * 4 + ["b"] * 4,
...                         "date": pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"] * 2),
...                         "units": [10.0, 10, 10, 10, 0, 40, 0, 0]})
>>> xyz_classes(monthly, "product_id", months=4)[["product_id", "cv", "xyz"]].round(3).to_dict("list")
{'product_id': ['a', 'b'], 'cv': [0.0, 1.732], 'xyz': ['X', 'Z']}
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from chanlib import periods
from chanlib.analytics.segment.errors import SegmentInputError
from chanlib.config import SegmentSettings
from chanlib.data.store import Tables, as_connection, require
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

#: share comparisons tolerate this much floating-point error (so 0.5 + 0.3 reaches 0.8)
TOLERANCE = 1e-9
ABC = ("A", "B", "C")
XYZ = ("X", "Y", "Z")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SegmentInputError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SegmentInputError(f"{what}: missing column(s) {missing} (have {list(frame.columns)})")


def _thresholds(thresholds: Sequence[float], what: str, upper: float | None) -> tuple[float, float]:
    if len(thresholds) != 2 or not 0 < thresholds[0] < thresholds[1] or (upper and thresholds[1] > upper):
        raise SegmentInputError(f"{what}: expected two increasing positive thresholds"
                                f"{' up to ' + str(upper) if upper else ''}, got {list(thresholds)}")
    return float(thresholds[0]), float(thresholds[1])


def abc_classes(frame: pd.DataFrame, key: str, value: str = "revenue", by: Sequence[str] = (),
                thresholds: Sequence[float] = (0.8, 0.95)) -> pd.DataFrame:
    """ABC class per ``key`` (within each ``by`` group) from the sum of ``value``.

    Returns ``*by, key, value, share, cum_share, abc`` ordered by group and rank.
    """
    by = list(by)
    _require(frame, [*by, key, value], "abc_classes")
    a, b = _thresholds(thresholds, "abc thresholds", 1.0)
    if not pd.api.types.is_numeric_dtype(frame[value]):
        raise SegmentInputError(f"abc_classes: column {value!r} is not numeric")
    totals = frame.groupby([*by, key], dropna=False, sort=False)[value].sum().reset_index()
    totals = totals.sort_values([*by, value, key], ascending=[True] * len(by) + [False, True], kind="stable")
    positive = totals[value].clip(lower=0)
    total = (totals.groupby(by, sort=False)[value].transform(lambda v: v.clip(lower=0).sum()) if by
             else positive.sum())
    cum = positive.groupby([totals[c] for c in by]).cumsum() if by else positive.cumsum()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = positive / total
        cum_share = cum / total
    before = cum_share - share
    totals["share"] = share.fillna(0.0)
    totals["cum_share"] = cum_share.fillna(0.0)
    totals["abc"] = np.select([(positive > 0) & (before < a - TOLERANCE), (positive > 0) & (before < b - TOLERANCE)],
                              ["A", "B"], "C")
    return totals.reset_index(drop=True)


def last_complete_month(dates: pd.Series, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS) -> pd.Timestamp:
    """The first day of the last complete month of ``dates`` (:func:`chanlib.periods.latest_complete`).

    Dates that are all the first of a month are monthly periods: the last one counts.
    """
    dates = pd.to_datetime(pd.Series(dates))
    last = pd.Timestamp(dates.max()).normalize()
    if (dates.dt.day == 1).all():
        return last
    return periods.latest_complete(last, "month", tolerance_days)[0]


def monthly_demand(frame: pd.DataFrame, key: str, value: str = "units", date: str = "date",
                   by: Sequence[str] = ()) -> pd.DataFrame:
    """Sum ``value`` per ``by``, ``key`` and calendar month (column ``month``, the first day)."""
    by = list(by)
    _require(frame, [*by, key, value, date], "monthly_demand")
    month = pd.to_datetime(frame[date]).dt.to_period("M").dt.to_timestamp()
    return (frame.assign(month=month).groupby([*by, key, "month"], dropna=False)[value].sum().reset_index())


def xyz_classes(frame: pd.DataFrame, key: str, value: str = "units", date: str = "date", by: Sequence[str] = (),
                thresholds: Sequence[float] = (0.5, 1.0), months: int = 12, min_months: int = 3,
                end: pd.Timestamp | None = None) -> pd.DataFrame:
    """XYZ class per ``key`` (within each ``by`` group) from the CV of monthly ``value``; see the module docstring.

    ``frame`` may hold transactions or monthly sums (any dates; they are summed per calendar month). ``end`` is the
    first day of the last month to use (default: :func:`last_complete_month`). Returns ``*by, key, months, mean,
    cv, xyz`` (``xyz`` empty for items without a class).
    """
    by = list(by)
    x, y = _thresholds(thresholds, "xyz thresholds", None)
    if months < 2 or min_months < 2:
        raise SegmentInputError(f"xyz_classes: months ({months}) and min_months ({min_months}) must be >= 2")
    monthly = monthly_demand(frame, key, value, date, by)
    if monthly.empty:
        return pd.DataFrame(columns=[*by, key, "months", "mean", "cv", "xyz"])
    end = pd.Timestamp(end) if end is not None else last_complete_month(pd.to_datetime(frame[date]))
    start = end - pd.DateOffset(months=months - 1)
    first = monthly.groupby([*by, key], dropna=False)["month"].min().rename("first")
    window = monthly[(monthly["month"] >= start) & (monthly["month"] <= end)]
    s = window.groupby([*by, key], dropna=False)[value].agg(s1="sum", s2=lambda v: float((v * v).sum()))
    out = first.to_frame().join(s).reset_index()
    out[["s1", "s2"]] = out[["s1", "s2"]].fillna(0.0)
    span_start = out["first"].where(out["first"] > start, start)
    out["months"] = ((end.year - span_start.dt.year) * 12 + (end.month - span_start.dt.month) + 1).clip(lower=0)
    n = out["months"].where(out["months"] > 0)
    out["mean"] = out["s1"] / n
    var = (out["s2"] / n - out["mean"] ** 2).clip(lower=0)
    ok = (out["months"] >= min_months) & (out["mean"] > 0)
    out["cv"] = np.where(ok, np.sqrt(var) / out["mean"].where(ok), np.nan)
    cls = np.select([out["cv"] <= x + TOLERANCE, out["cv"] <= y + TOLERANCE], ["X", "Y"], "Z")
    out["xyz"] = pd.Series([str(c) if o else None for c, o in zip(cls, ok)], index=out.index, dtype=object)
    out["months"] = out["months"].astype(int)
    return out[[*by, key, "months", "mean", "cv", "xyz"]].sort_values([*by, key], kind="stable").reset_index(drop=True)


def abc_xyz_matrix(classes: pd.DataFrame, value: str = "revenue", by: Sequence[str] = ()) -> pd.DataFrame:
    """Items and ``value`` per ABC x XYZ cell (all nine cells, plus ``n/a`` for items without an XYZ class).

    ``classes`` has ``abc``, ``xyz`` and ``value`` columns (e.g. :func:`abc_xyz_table`). Returns ``*by, abc, xyz,
    items, <value>, item_share, value_share`` (shares within each group).
    """
    by = list(by)
    _require(classes, [*by, "abc", "xyz", value], "abc_xyz_matrix")
    frame = classes.assign(xyz=classes["xyz"].fillna("n/a").astype(str))
    cells = frame.groupby([*by, "abc", "xyz"], dropna=False).agg(items=("abc", "size"), total=(value, "sum"))
    groups = [g for g, _ in frame.groupby(by, dropna=False)] if by else [()]
    xyz_levels = list(XYZ) + (["n/a"] if (frame["xyz"] == "n/a").any() else [])
    index = pd.MultiIndex.from_tuples([(*((g,) if len(by) == 1 and not isinstance(g, tuple) else g), a, z)
                                       for g in groups for a in ABC for z in xyz_levels],
                                      names=[*by, "abc", "xyz"])
    cells = cells.reindex(index, fill_value=0).reset_index()
    cells["items"] = cells["items"].astype(int)
    if by:
        g = cells.groupby(by, dropna=False)
        cells["item_share"] = cells["items"] / g["items"].transform("sum")
        cells["value_share"] = cells["total"] / g["total"].transform("sum")
    else:
        cells["item_share"] = cells["items"] / cells["items"].sum()
        cells["value_share"] = cells["total"] / cells["total"].sum()
    return cells.rename(columns={"total": value})


def abc_xyz_table(data: Tables, key: str, settings: SegmentSettings | None = None,
                  by: Sequence[str] = ("region",), tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS
                  ) -> pd.DataFrame:
    """ABC and XYZ classes of ``partner_id`` or ``product_id`` from the store's sales, within each ``by`` group.

    Monthly revenue and demand (units when the sales table has them, else revenue) are summed in DuckDB; both
    classes use the last ``settings.xyz_months`` complete months. Returns ``*by, <key>, revenue, share,
    cum_share, abc, months, mean, cv, xyz``. Raises :class:`~chanlib.errors.MissingInput` when the sales have no
    ``key`` column or no row has one. ``data``: an open store or a mapping with a ``sales`` DataFrame.
    """
    settings = settings or SegmentSettings()
    con = as_connection(data)
    by = list(by)
    if key not in ("partner_id", "product_id"):
        raise SegmentInputError(f"abc_xyz_table: key must be partner_id or product_id, got {key!r}")
    cols = require(con, "sales", (key,), f"ABC/XYZ classes of {key.removesuffix('_id')}s need it")
    demand = "units" if "units" in cols else "revenue"
    group = ", ".join([*by, key])
    monthly = con.execute(f"""
        SELECT {group}, date_trunc('month', date)::DATE AS month, sum(revenue) AS revenue, sum({demand}) AS demand
        FROM sales WHERE {key} IS NOT NULL GROUP BY ALL ORDER BY ALL
    """).df()
    if monthly.empty:
        raise MissingInput("sales", f"no sale has a {key} (ABC/XYZ classes need it)")
    last = con.execute(f"SELECT max(date) FROM sales WHERE {key} IS NOT NULL").fetchall()[0][0]
    end = periods.latest_complete(pd.Timestamp(last), "month", tolerance_days)[0]
    start = end - pd.DateOffset(months=settings.xyz_months - 1)
    monthly["month"] = pd.to_datetime(monthly["month"])
    recent = monthly[(monthly["month"] >= start) & (monthly["month"] <= end)]
    abc = abc_classes(recent, key, "revenue", by, settings.abc_thresholds)
    xyz = xyz_classes(monthly, key, "demand", "month", by, settings.xyz_thresholds, settings.xyz_months,
                      settings.xyz_min_months, end=end)
    out = abc.merge(xyz, on=[*by, key], how="left")
    log.info("ABC/XYZ of %s: %d rows over %s..%s (demand = %s)", key, len(out), start.date(), end.date(), demand)
    return out
