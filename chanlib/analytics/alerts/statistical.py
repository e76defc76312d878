"""Statistical alerts on series in long format (``unique_id, ds, y``): point anomalies and level shifts.

**Point anomalies** -- one period far from a robust seasonal baseline (the kept forecasts are monthly, so daily
series always use the baseline; monthly forecasts are compared by the ``revenue_below_forecast`` rule):

1. *baseline*: the level is a centred rolling median (29 days; 13 months), times the median ratio of the same
   weekday (month of the year) to the level over the surrounding 13 weeks (years);
2. *calendar*: with at least ``calendar_min_series`` series, the median deviation of all series on a date is taken
   out (a promotion or a holiday moves every series at once: that is the calendar, not an anomaly);
3. *score*: with transaction counts (column ``n``: orders or sales lines), a robust z-score of the count on the
   Anscombe scale ``2 sqrt(n + 3/8)`` (so a quiet channel's empty day is no surprise, a busy channel's is), its
   spread the rolling MAD but never below Poisson's 1; without counts, a robust z-score of ``log(y + c)`` (``c`` a
   tenth of the typical value);
4. *flag*: a fall's z-score at least ``point_z`` below zero, a rise's at least ``point_z_up`` (``None``:
   ``point_z``) above (the build's daily counts leave out the largest partner's excess each day, which thins the
   upper tail of the noise and takes part of a channel-wide rise too, so rises get the lower threshold), the value
   at least ``point_min_ratio`` times the expected (or at most its inverse: the materiality of the change; a small
   channel is held back by the z-score, whose spread is never below Poisson's), and the neighbouring periods (3
   days, 1 month on each side) not deviating the same way by more than half of that threshold: a single period,
   not the start of a run (runs are level shifts).

Each anomaly reports its *normal range*: the values that would not have raised it.

**Level shifts** -- monthly series (complete months, at least ``shift_min_months``), compared with themselves a
year earlier (no seasonal pattern to estimate, a steady trend is no change): PELT (the ``ruptures`` library) finds
where the year-on-year growth steps, with the penalty ``shift_penalty`` x its noise variance x log(months); a step
of at least ``shift_min_change`` and three standard errors, seen in the seasonally adjusted series around that
month too, is a level shift (see :func:`level_shifts`).

The build feeds region x channel series: daily revenue where each partner's day counts at most ``point_cap`` times
its 4-week average and the partner with the largest excess is left out of the day (:func:`daily_series`), so one
partner's big order is no channel anomaly, with the day's orders as counts; and monthly revenue for level shifts.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ds = pd.date_range("2024-01-01", periods=120, freq="D")
>>> n = rng.poisson(40, 120).astype(float)
>>> n[70] = 2.0
>>> frame = pd.DataFrame({"unique_id": "North/web", "ds": ds, "y": 25.0 * n, "n": n})
>>> found, _ = point_anomalies(frame, AlertSettings())
>>> found[["ds", "direction"]].astype(str).values.tolist()
[['2024-03-11', 'down']]
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from chanlib.analytics.alerts.base import day_label, findings, money, month_label
from chanlib.config import AlertSettings
from chanlib.data import store

log = logging.getLogger(__name__)

#: Poisson's spread on the Anscombe scale: a count's z-score is never measured with less
POISSON_SCALE = 1.0
#: the smallest spread of log values (1 %), so a perfectly steady series does not alarm on a rounding difference
MIN_LOG_SCALE = 0.01
#: days of a partner's average (its day is capped at ``point_cap`` times it)
PARTNER_WINDOW_DAYS = 28
#: a level shift needs a step of at least this many noise standard deviations too
SHIFT_SIGMAS = 3.0
#: the root mean square of the 90 % smallest absolute deviations of normal noise, in standard deviations
TRIM_CONSISTENCY = 0.7893
#: the step's standard error is widened by this much: the segments are found where the noise happens to help
STEP_ERROR = 1.25


@dataclass(frozen=True)
class Grain:
    """The time grain of a series and the windows of its baseline, in periods."""

    name: str
    #: pandas frequency of the gap-free grid
    freq: str
    #: periods per seasonal cycle (1: none)
    season: int
    #: centred rolling median of the level
    window: int
    #: periods on each side that must not deviate the same way
    neighbours: int
    #: centred rolling window of the spread
    scale_window: int
    #: observations of one season position the profile is the rolling median of
    profile_window: int = 13


GRAINS: dict[str, Grain] = {
    "day": Grain("day", "D", 7, 29, 3, 91),
    "week": Grain("week", "7D", 1, 9, 1, 53),
    "month": Grain("month", "MS", 12, 13, 1, 37),
    "quarter": Grain("quarter", "QS", 4, 5, 1, 21),
}


def infer_grain(ds: pd.Series) -> Grain:
    """The grain of a series' dates from their typical spacing (days, weeks, months or quarters).

    >>> infer_grain(pd.Series(pd.date_range("2024-01-01", periods=5, freq="MS"))).name
    'month'
    """
    days = pd.Series(pd.to_datetime(ds).drop_duplicates().sort_values()).diff().dt.days.dropna()
    if days.empty:
        raise ValueError("a series needs at least two dates to tell its grain")
    step = float(days.median())
    for limit, name in ((1.5, "day"), (8.0, "week"), (32.0, "month"), (93.0, "quarter")):
        if step <= limit:
            return GRAINS[name]
    raise ValueError(f"series dates are {step:.0f} days apart: only days, weeks, months and quarters are supported")


def _period_start(ds: pd.Series, grain: Grain) -> pd.Series:
    ds = pd.to_datetime(ds).dt.normalize()
    if grain.name == "month":
        return ds.dt.to_period("M").dt.to_timestamp()
    if grain.name == "quarter":
        return ds.dt.to_period("Q").dt.to_timestamp()
    return ds


def regular(series: pd.DataFrame, grain: Grain, columns: list[str]) -> pd.DataFrame:
    """Every series on a gap-free grid from its first date to the last date of all series, missing periods 0 (no
    row means no sales)."""
    frame = series.assign(ds=_period_start(series["ds"], grain))
    frame = frame.groupby(["unique_id", "ds"], as_index=False, sort=True)[columns].sum()
    end = frame["ds"].max()
    parts = []
    for uid, group in frame.groupby("unique_id", sort=True):
        if grain.freq == "7D":
            index = pd.date_range(group["ds"].min(), end, freq="7D")
        else:
            index = pd.date_range(group["ds"].min(), end, freq=grain.freq)
        part = group.set_index("ds")[columns].reindex(index, fill_value=0.0)
        part.index.name = "ds"
        parts.append(part.reset_index().assign(unique_id=uid))
    if not parts:
        return pd.DataFrame(columns=["unique_id", "ds", *columns])
    return pd.concat(parts, ignore_index=True)[["unique_id", "ds", *columns]]


def _baseline(x: pd.Series, grain: Grain) -> pd.Series:
    """Level (centred rolling median) x seasonal profile (rolling median ratio of the same season position)."""
    level = x.rolling(grain.window, center=True, min_periods=grain.window // 2 + 1).median()
    if grain.season <= 1 or len(x) < 2 * grain.season:
        return level
    ratio = (x / level.where(level > 0)).replace([np.inf, -np.inf], np.nan)
    position = pd.Series(np.arange(len(x)) % grain.season, index=x.index)
    profile = ratio.groupby(position).transform(
        lambda r: r.rolling(grain.profile_window, center=True, min_periods=2).median())
    return level * profile.fillna(1.0)


def _rolling_mad(values: pd.Series, window: int) -> pd.Series:
    minimum = min(window, max(7, window // 3))
    centre = values.rolling(window, center=True, min_periods=minimum).median()
    mad = (values - centre).abs().rolling(window, center=True, min_periods=minimum).median()
    return 1.4826 * mad.bfill().ffill()


def _neighbours(z: pd.Series, k: int) -> tuple[pd.Series, pd.Series]:
    left = z.shift(1).rolling(k, min_periods=1).median()
    right = z[::-1].shift(1).rolling(k, min_periods=1).median()[::-1]
    return left.fillna(0.0), right.fillna(0.0)


def _calendar(frame: pd.DataFrame, actual: str, expected: str, offset: float, min_series: int) -> pd.Series:
    """``expected`` with each date's common deviation of all series taken out (the median log ratio across the
    series, when at least ``min_series`` have a value that date)."""
    if min_series <= 0 or frame["unique_id"].nunique() < min_series:
        return frame[expected]
    valid = frame[expected] > 0
    logratio = np.log((frame[actual].clip(lower=0) + offset) / (frame[expected] + offset)).where(valid)
    by_date = logratio.groupby(frame["ds"])
    common = by_date.transform("median").where(by_date.transform("count") >= min_series, 0.0).fillna(0.0)
    return frame[expected] * np.exp(common)


def score(series: pd.DataFrame, settings: AlertSettings, grain: Grain | None = None) -> pd.DataFrame:
    """Every period of every series with its expected value, normal range, robust z-score, ratio to the expected
    and whether it is a point anomaly (``direction`` up/down, else empty). ``series``: unique_id, ds, y and
    optionally n (transaction counts) and value (what is reported, default y)."""
    grain = grain or infer_grain(series["ds"])
    counts = "n" in series.columns
    columns = ["y"] + (["n"] if counts else []) + (["value"] if "value" in series.columns else [])
    frame = regular(series, grain, columns)
    if "value" not in frame:
        frame["value"] = frame["y"]
    frame["y"] = frame["y"].clip(lower=0.0)
    groups = frame.groupby("unique_id", sort=False)
    frame["expected"] = groups["y"].transform(lambda x: _baseline(x, grain))
    frame["expected"] = _calendar(frame, "y", "expected", 1.0, settings.calendar_min_series)
    thr, thr_up, ratio_min = settings.point_z, settings.z_up, settings.point_min_ratio
    if counts:
        frame["n"] = frame["n"].clip(lower=0.0)
        frame["mu"] = groups["n"].transform(lambda x: _baseline(x, grain))
        frame["mu"] = _calendar(frame, "n", "mu", 0.5, settings.calendar_min_series)
        root = np.sqrt(frame["mu"] + 3 / 8)
        anscombe = 2 * (np.sqrt(frame["n"] + 3 / 8) - root)
        spread = anscombe.groupby(frame["unique_id"], sort=False).transform(
            lambda a: _rolling_mad(a, grain.scale_window)).clip(lower=POISSON_SCALE)
        frame["z"] = anscombe / spread
        half, half_up = thr * spread / 2, thr_up * spread / 2
        n_lo = np.where(root > half, (root - half) ** 2 - 3 / 8, 0.0).clip(min=0.0)
        n_hi = (root + half_up) ** 2 - 3 / 8
        per_count = frame["expected"] / frame["mu"].where(frame["mu"] > 0)
        band_lo, band_hi = n_lo * per_count, n_hi * per_count
    else:
        offset = groups["y"].transform(lambda x: 0.1 * float(x[x > 0].median()) if (x > 0).any() else 1.0)
        resid = np.log(frame["y"] + offset) - np.log(frame["expected"].clip(lower=0) + offset)
        spread = resid.groupby(frame["unique_id"], sort=False).transform(
            lambda r: _rolling_mad(r, grain.scale_window)).clip(lower=MIN_LOG_SCALE)
        frame["z"] = resid / spread
        centre = np.log(frame["expected"].clip(lower=0) + offset)
        band_lo = (np.exp(centre - thr * spread) - offset).clip(lower=0.0)
        band_hi = np.exp(centre + thr_up * spread) - offset
    expected = frame["expected"]
    frame["expected_lo"] = np.fmin(band_lo, expected / ratio_min)
    frame["expected_hi"] = np.fmax(band_hi, expected * ratio_min)
    frame["ratio"] = frame["y"] / expected.where(expected > 0)
    left, right = zip(*(_neighbours(g, grain.neighbours) for _, g in frame.groupby("unique_id", sort=False)["z"]))
    frame["left"] = pd.concat(left)
    frame["right"] = pd.concat(right)
    up = ((frame["z"] >= thr_up) & (frame["ratio"] >= ratio_min) & (frame["left"] < thr_up / 2)
          & (frame["right"] < thr_up / 2))
    down = ((frame["z"] <= -thr) & (frame["ratio"] <= 1 / ratio_min) & (frame["left"] > -thr / 2)
            & (frame["right"] > -thr / 2))
    frame["direction"] = np.where(up, "up", np.where(down, "down", ""))
    frame["grain"] = grain.name
    return frame


def point_anomalies(series: pd.DataFrame, settings: AlertSettings, grain: Grain | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The point anomalies of every series (one row per run of consecutive flagged periods in the same direction:
    ``since`` its first period, ``ds`` its most extreme) and the scored periods (:func:`score`)."""
    scored = score(series, settings, grain)
    flagged = scored[scored["direction"] != ""].copy()
    if flagged.empty:
        return flagged.assign(since=pd.Series(dtype="datetime64[ns]")), scored
    step = scored.groupby("unique_id")["ds"].diff().dropna()
    period = step.min() if len(step) else pd.Timedelta(days=1)
    flagged = flagged.sort_values(["unique_id", "ds"])
    gap = flagged.groupby("unique_id")["ds"].diff().gt(period * 1.5) | flagged["direction"].ne(
        flagged.groupby("unique_id")["direction"].shift())
    flagged["run"] = gap.cumsum()
    flagged["since"] = flagged.groupby("run")["ds"].transform("min")
    peak = flagged.loc[flagged.assign(a=flagged["z"].abs()).groupby("run")["a"].idxmax()]
    return peak.drop(columns="run").reset_index(drop=True), scored


def point_findings(found: pd.DataFrame, settings: AlertSettings, entities: dict[str, dict[str, str]] | None = None,
                   metric: str = "revenue", currency: str = "", count_label: str = "orders") -> pd.DataFrame:
    """Point anomalies as findings (rule ``point_anomaly``), with evidence in words."""
    rows = []
    for r in found.itertuples(index=False):
        when = f"on {day_label(r.ds)}" if r.grain == "day" else (
            f"in {month_label(r.ds)}" if r.grain == "month" else f"in the {r.grain} of {pd.Timestamp(r.ds).date()}")
        how = (f"{r.ratio:.1f}x the expected {money(r.expected, currency)}" if r.direction == "up"
               else f"{r.ratio:.0%} of the expected {money(r.expected, currency)}")
        text = (f"{metric.capitalize()} {when} was {money(r.value, currency)}, {how} (normal range "
                f"{money(r.expected_lo, currency)} to {money(r.expected_hi, currency)}, robust z {r.z:+.1f})")
        if "n" in found.columns and pd.notna(getattr(r, "n", np.nan)):
            text += f"; {r.n:,.0f} {count_label} against {r.mu:,.0f} expected"
        if abs(r.value - r.y) > 0.05 * max(abs(r.value), 1.0):
            text += (f"; without single partners' outsized days (each capped at {settings.point_cap:g}x its 4-week "
                     f"average, the largest left out) {money(r.y, currency)}")
        entity = (entities or {}).get(r.unique_id, {})
        rows.append({"rule": "point_anomaly", **entity, "entity": entity.get("entity", r.unique_id), "metric": metric,
                     "value": r.value, "expected_lo": r.expected_lo, "expected_hi": r.expected_hi, "since": r.since,
                     "ds": r.ds, "evidence": text + ".",
                     "excess": abs(r.z) / (settings.z_up if r.direction == "up" else settings.point_z),
                     "unique_id": r.unique_id})
    out = findings(rows)
    out["unique_id"] = [r["unique_id"] for r in rows]
    return out


def seasonal_profile(values: np.ndarray, period: int = 12) -> np.ndarray:
    """The seasonal component of a series, robustly: the median, per position in the season, of the series less
    its centred rolling median over one season (a rolling median follows a level shift where a moving average
    would smear it over the season); zero with less than two seasons.

    >>> wave = np.tile([0.0, 0.1, 0.3, 0.1, 0.0, -0.1, -0.2, -0.1, 0.0, 0.0, -0.1, 0.0], 3)
    >>> np.round(seasonal_profile(5 + wave), 2).tolist()[:6]
    [0.0, 0.1, 0.3, 0.1, 0.0, -0.1]
    """
    n = len(values)
    if period <= 1 or n < 2 * period:
        return np.zeros(n)
    series = pd.Series(values)
    window = period + 1 if period % 2 == 0 else period
    trend = series.rolling(window, center=True, min_periods=window // 2 + 1).median()
    detrended = series - trend
    position = np.arange(n) % period
    index = detrended.groupby(position).median()
    index = index - index.mean()
    return index.reindex(position).fillna(0.0).to_numpy()


def trimmed_sigma(steps: np.ndarray) -> float:
    """The standard deviation of normal noise from its differences ``steps``, robustly: the root mean square of the
    90 % of deviations from their median that are smallest, scaled to a normal's (a step or an outlier falls in
    the 10 % left out), / sqrt(2).

    >>> rng = np.random.default_rng(3)
    >>> round(trimmed_sigma(np.diff(rng.normal(0, 0.1, 2000))), 2)
    0.1
    """
    if len(steps) < 2:
        return MIN_LOG_SCALE
    deviations = np.sort(np.abs(steps - np.median(steps)))
    kept = deviations[: max(1, int(len(deviations) * 0.9))]
    return max(float(np.sqrt(np.mean(kept ** 2))) / TRIM_CONSISTENCY / math.sqrt(2), MIN_LOG_SCALE)


def level_shifts(monthly: pd.DataFrame, settings: AlertSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Level shifts of monthly series (``unique_id, ds, y``; ``ds`` first days of complete months).

    Each series (from its first month with sales, at least ``shift_min_months``) is compared with itself a year
    earlier: ``g = log(y) - log(y a year earlier)`` has no seasonal pattern and turns a steady trend into a
    constant, and a level shift into a step of ``g`` (which comes back twelve months later, when the shift leaves
    the year-ago months: that echo is no alert). PELT (``ruptures``, a piecewise-constant cost) segments ``g`` with
    the penalty ``shift_penalty`` x its noise variance x log(its length); a change is a level shift when ``g`` steps
    by at least ``shift_min_change`` (relative) and three standard errors of the step, and the seasonally adjusted
    series itself steps the same way around that month (which tells a shift from the echo of one a year before).

    Returns one row per shift (ds: the first month of the new level; growth_before / growth_after: year-on-year
    growth either side; change: the step; expected, lo, hi: the month's revenue expected at the growth before and
    its range) and the series for charts (unique_id, ds, value, expected, expected_lo, expected_hi: the revenue
    expected from the same month a year earlier at the growth of its segment, and after a shift at the growth
    before it).
    """
    import ruptures as rpt

    rows, fitted = [], []
    grid = regular(monthly, GRAINS["month"], ["y"])
    for uid, group in grid.groupby("unique_id", sort=True):
        group = group[group["y"].ne(0).cummax()]  # from the first month with sales
        y = group["y"].to_numpy(dtype=float)
        n = len(y)
        if n < max(settings.shift_min_months, 12 + 2 * settings.shift_min_size) or not (y > 0).any():
            continue
        offset = 0.1 * float(np.median(y[y > 0]))
        logs = np.log(np.clip(y, 0, None) + offset)
        adjusted = logs - seasonal_profile(logs)
        growth = logs[12:] - logs[:-12]
        m = len(growth)
        sigma = trimmed_sigma(np.diff(growth))
        algo = rpt.Pelt(model="l2", min_size=settings.shift_min_size, jump=1).fit(growth.reshape(-1, 1))
        bounds = [0, *algo.predict(pen=settings.shift_penalty * sigma ** 2 * math.log(m))]
        level = np.empty(m)
        for a, b in zip(bounds, bounds[1:]):
            level[a:b] = np.median(growth[a:b])
        expected_log = logs[:-12] + level
        shifts = []
        for i, k in enumerate(bounds[1:-1]):
            a, b = bounds[i], bounds[i + 2]
            before, after = float(np.median(growth[a:k])), float(np.median(growth[k:b]))
            jump = after - before
            error = SHIFT_SIGMAS * STEP_ERROR * sigma * math.sqrt(1 / (k - a) + 1 / (b - k))
            if abs(math.exp(jump) - 1) < settings.shift_min_change or abs(jump) < error:
                continue
            t = k + 12
            w = min(6, n - t, t)
            local = float(np.median(adjusted[t:t + w]) - np.median(adjusted[t - w:t]))
            if np.sign(local) != np.sign(jump) or abs(local) < 0.5 * abs(jump):
                continue  # the echo of an earlier shift (or no step in the series itself)
            expected_log[k:] = logs[:-12][k:] + before
            shifts.append((k, t, before, after, jump))
        ds = group["ds"].to_numpy()
        expected = np.full(n, np.nan)
        expected[12:] = np.exp(expected_log) - offset
        lo, hi = np.full(n, np.nan), np.full(n, np.nan)
        lo[12:] = np.clip(np.exp(expected_log - SHIFT_SIGMAS * sigma) - offset, 0, None)
        hi[12:] = np.exp(expected_log + SHIFT_SIGMAS * sigma) - offset
        for _, t, before, after, jump in shifts:
            rows.append({"unique_id": uid, "ds": pd.Timestamp(ds[t]), "value": y[t], "expected": expected[t],
                         "lo": lo[t], "hi": hi[t], "growth_before": math.exp(before) - 1,
                         "growth_after": math.exp(after) - 1, "change": math.exp(jump) - 1, "months": n})
        fitted.append(pd.DataFrame({"unique_id": uid, "ds": ds, "value": y, "expected": expected,
                                    "expected_lo": lo, "expected_hi": hi}))
    found = pd.DataFrame(rows, columns=["unique_id", "ds", "value", "expected", "lo", "hi", "growth_before",
                                        "growth_after", "change", "months"])
    series = (pd.concat(fitted, ignore_index=True) if fitted else
              pd.DataFrame(columns=["unique_id", "ds", "value", "expected", "expected_lo", "expected_hi"]))
    return found, series


def shift_findings(found: pd.DataFrame, settings: AlertSettings, entities: dict[str, dict[str, str]] | None = None,
                   metric: str = "revenue", currency: str = "") -> pd.DataFrame:
    """Level shifts as findings (rule ``level_shift``), with evidence in words."""
    rows = []
    for r in found.itertuples(index=False):
        text = (f"Monthly {metric} stepped {'up' if r.change > 0 else 'down'} from {month_label(r.ds)}: "
                f"{r.growth_after:+.0%} on the same months a year earlier since, against {r.growth_before:+.0%} "
                f"before (a {abs(r.change):.0%} step); {month_label(r.ds)} brought {money(r.value, currency)} "
                f"where {money(r.expected, currency)} was expected at the growth before (range "
                f"{money(r.lo, currency)} to {money(r.hi, currency)}; change point in {r.months} months).")
        entity = (entities or {}).get(r.unique_id, {})
        rows.append({"rule": "level_shift", **entity, "entity": entity.get("entity", r.unique_id), "metric": metric,
                     "value": r.value, "expected_lo": r.lo, "expected_hi": r.hi, "since": r.ds, "ds": r.ds,
                     "evidence": text, "excess": abs(r.change) / settings.shift_min_change,
                     "unique_id": r.unique_id})
    out = findings(rows)
    out["unique_id"] = [r["unique_id"] for r in rows]
    return out


# -- the series a build feeds in ----------------------------------------------------------------------------------

def sales_grain(con: duckdb.DuckDBPyConnection) -> str:
    """``month`` when the sales are monthly totals (nearly every row on the first of a month), else ``day``."""
    first_days = con.execute("SELECT avg(CASE WHEN day(date) = 1 THEN 1.0 ELSE 0.0 END), "
                             "count(DISTINCT date) FROM sales").fetchall()[0]
    share, dates = float(first_days[0] or 0.0), int(first_days[1] or 0)
    return "month" if share >= 0.95 and dates > 1 else "day"


def daily_series(con: duckdb.DuckDBPyConnection, cap: float) -> tuple[pd.DataFrame, str]:
    """Daily region x channel series for point anomalies: ``value`` the revenue, ``y`` the revenue with each
    partner's day capped at ``cap`` times its 28-day average and the partner with the largest excess that day left
    out (no ``partner_id``: ``y`` is the revenue), ``n`` the orders (distinct ``order_id``; without it the sales
    lines) treated the same way. Returns the frame and what ``n`` counts."""
    columns = store.table_columns(con, "sales")
    count = "count(DISTINCT order_id)" if "order_id" in columns else "count(*)"
    label = "orders" if "order_id" in columns else "sales lines"
    partner = "coalesce(CAST(partner_id AS VARCHAR), '')" if "partner_id" in columns else "''"
    half = PARTNER_WINDOW_DAYS // 2
    frame = con.execute(f"""
        WITH days AS (
            SELECT region, channel, {partner} AS partner, date AS ds, sum(revenue) AS rev, {count} AS n
            FROM sales GROUP BY ALL),
        bounds AS (SELECT min(ds) AS first, max(ds) AS last FROM days),
        avg AS (
            SELECT d.*, (sum(rev) OVER w) / span AS rev_avg, (sum(n) OVER w) / span AS n_avg
            FROM (SELECT days.*, datediff('day', greatest(ds - INTERVAL {half} DAY, first),
                                          least(ds + INTERVAL {half - 1} DAY, last)) + 1 AS span
                  FROM days, bounds) d
            WINDOW w AS (PARTITION BY region, channel, partner ORDER BY ds
                         RANGE BETWEEN INTERVAL {half} DAY PRECEDING AND INTERVAL {half - 1} DAY FOLLOWING)),
        capped AS (
            SELECT *, CASE WHEN partner = '' THEN rev ELSE least(greatest(rev, 0), {cap} * rev_avg) END AS rev_c,
                      CASE WHEN partner = '' THEN n ELSE least(n, {cap} * n_avg) END AS n_c
            FROM avg)
        SELECT region, channel, ds, sum(rev) AS value,
               sum(rev_c) - greatest(max(CASE WHEN partner = '' THEN 0 ELSE rev_c - rev_avg END), 0) AS y,
               sum(n_c) - greatest(max(CASE WHEN partner = '' THEN 0 ELSE n_c - n_avg END), 0) AS n
        FROM capped GROUP BY region, channel, ds ORDER BY region, channel, ds""").df()
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame, label


def monthly_series(con: duckdb.DuckDBPyConnection, through: pd.Timestamp) -> pd.DataFrame:
    """Monthly revenue per region x channel up to ``through`` (the last day of the latest complete month)."""
    frame = con.execute("""
        SELECT region, channel, CAST(date_trunc('month', date) AS DATE) AS ds, sum(revenue) AS y
        FROM sales WHERE date <= ? GROUP BY ALL ORDER BY ALL""", [through.date()]).df()
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame

