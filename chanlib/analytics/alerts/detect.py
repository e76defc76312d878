"""``detect``: the statistical alerts of any long table of series, as a library call.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> days = pd.date_range("2025-01-01", periods=180, freq="D")
>>> orders = rng.poisson(30, 180).astype(float)
>>> orders[120] = 150.0  # one day of five times the usual orders
>>> series = pd.DataFrame({"unique_id": "North/web", "ds": days, "y": 40.0 * orders, "n": orders})
>>> alerts = detect(series)
>>> alerts[["rule", "entity", "ds", "severity"]].astype(str).values.tolist()  # and a rare day of the noise itself
[['point_anomaly', 'North/web', '2025-05-01', 'critical'], ['point_anomaly', 'North/web', '2025-05-13', 'medium']]
>>> print(alerts.loc[1, "evidence"].split("robust ")[1])  # over point_z_up 3.4 and 1.6x: ~1 Poisson(30) day in 40,000
z +4.0); 55 orders against 29 expected.
>>> print(alerts.loc[0, "evidence"][:68])
Revenue on Thu 2025-05-01 was 6,000, 5.2x the expected 1,160 (normal
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from chanlib import periods
from chanlib.analytics.alerts.base import COLUMNS
from chanlib.analytics.alerts.severity import SEVERITY_RANK, finish
from chanlib.analytics.alerts.statistical import (
    infer_grain,
    level_shifts,
    point_anomalies,
    point_findings,
    shift_findings,
)
from chanlib.config import AlertSettings


def detect(series: pd.DataFrame, settings: AlertSettings | None = None, *, since: periods.DateLike | None = None,
           entities: Mapping[str, Mapping[str, str]] | None = None, metric: str = "revenue", currency: str = "",
           count_label: str = "orders") -> pd.DataFrame:
    """Point anomalies and level shifts of every series of a long frame, as alerts (:data:`COLUMNS`).

    ``series``: ``unique_id``, ``ds`` (days, weeks, months or quarters) and ``y``; optionally ``n`` (transaction
    counts: the significance of a day then comes from them, see
    :mod:`chanlib.analytics.alerts.statistical`) and ``value`` (what the alert reports, default ``y``). Daily or
    weekly series are also summed to complete months for level shifts. ``settings`` (default: the library's
    defaults, the same as a run's) gives the thresholds, severities and responses; ``since`` keeps only alerts
    dated on or after it; ``entities`` maps a ``unique_id`` to its entity columns (region, channel, partner_id,
    product_id, entity). Every alert is ``new`` (there is no previous build to compare with).
    """
    settings = settings or AlertSettings()
    missing = [c for c in ("unique_id", "ds", "y") if c not in series.columns]
    if missing:
        raise ValueError(f"series need the columns unique_id, ds and y (missing: {', '.join(missing)})")
    frame = series.assign(ds=pd.to_datetime(series["ds"]), unique_id=series["unique_id"].astype(str))
    if frame["ds"].nunique() < 2:  # nothing to compare a period with
        return pd.DataFrame(columns=list(COLUMNS))
    grain = infer_grain(frame["ds"])
    mapping = {k: dict(v) for k, v in (entities or {}).items()}
    parts = []
    if settings.runs("point_anomaly"):
        found, _ = point_anomalies(frame, settings, grain)
        parts.append(point_findings(found, settings, mapping, metric, currency, count_label))
    if settings.runs("level_shift") and grain.name in ("day", "week", "month"):
        monthly = frame.assign(ds=frame["ds"].dt.to_period("M").dt.to_timestamp())
        monthly = monthly.groupby(["unique_id", "ds"], as_index=False)["y" if "value" not in frame else "value"].sum()
        monthly.columns = ["unique_id", "ds", "y"]
        if grain.name != "month":
            _, through = periods.latest_complete(frame["ds"].max(), "month")
            monthly = monthly[monthly["ds"] <= through]
        found, _ = level_shifts(monthly, settings)
        parts.append(shift_findings(found, settings, mapping, metric, currency))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    alerts = finish(pd.concat(parts, ignore_index=True).drop(columns="unique_id"), settings)
    if since is not None:
        alerts = alerts[alerts["ds"] >= pd.Timestamp(since)]
    alerts = alerts.assign(state="new", first_seen="")
    order = alerts["severity"].map(SEVERITY_RANK)
    return alerts.assign(_o=order).sort_values(["_o", "ds", "entity"]).drop(columns="_o")[list(COLUMNS)].reset_index(
        drop=True)
