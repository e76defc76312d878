"""One build's alerts: every switched-on rule and detector over the store, severity, response and state.

:func:`run_alerts` is what the store build runs (``chanlib.build``: the analysis ``alerts``, after the forecasts so
that it reads the forecasts kept in the store being built). It returns the result tables ``alerts`` (this build's
alerts and those resolved since the previous build), ``alert_history`` (every build's alerts, carried over) and
``alert_series`` (the series behind each raised alert, for its chart), and what it left out (rule -> reason).
"""
from __future__ import annotations

import logging

import duckdb
import pandas as pd

from chanlib import periods
from chanlib.analytics.alerts import rules, statistical
from chanlib.analytics.alerts.base import COLUMNS, SERIES_COLUMNS, AlertContext, findings
from chanlib.analytics.alerts.severity import SEVERITY_RANK, finish
from chanlib.analytics.alerts.state import STATES, append_history, apply_state, ids
from chanlib.config import ALERT_RULES, AlertSettings
from chanlib.data import store
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

#: days either side of a point anomaly its chart shows
POINT_CHART_DAYS = 45
#: the text columns of the alert tables
TEXT_COLUMNS = ("state", "severity", "rule", "region", "channel", "partner_id", "product_id", "entity", "metric",
                "evidence", "response", "first_seen", "build")
Found = tuple[pd.DataFrame, pd.DataFrame]


def _entities(frame: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {uid: {"region": str(r), "channel": str(c), "entity": f"{r} / {c}"}
            for uid, r, c in frame[["unique_id", "region", "channel"]].drop_duplicates().itertuples(index=False)}


def point_anomaly(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> Found:
    """Point anomalies of region x channel revenue dated within the lookback: daily (robust to single partners'
    big days, significance from the orders) or, for monthly sales data, monthly."""
    s = ctx.settings
    grain = statistical.GRAINS[statistical.sales_grain(con)]
    if grain.name == "day":
        frame, label = statistical.daily_series(con, s.point_cap)
        columns = ["unique_id", "ds", "y", "n", "value"]
    else:
        frame, label = statistical.monthly_series(con, ctx.through), "orders"
        frame["value"] = frame["y"]
        columns = ["unique_id", "ds", "y", "value"]
    periods_seen = frame["ds"].nunique() if len(frame) else 0
    if periods_seen < grain.window:
        raise MissingInput("sales", f"point anomalies need {grain.window} {grain.name}s of sales for a baseline; the "
                                    f"data have {periods_seen}")
    frame["unique_id"] = frame["region"].astype(str) + "/" + frame["channel"].astype(str)
    found, scored = statistical.point_anomalies(frame[columns], s, grain)
    found = found[(found["ds"] >= ctx.lookback_start) & (found["ds"] <= ctx.as_of)]
    result = statistical.point_findings(found, s, _entities(frame), currency=ctx.currency, count_label=label)
    if result.empty:
        return result.drop(columns="unique_id"), pd.DataFrame()
    span = pd.Timedelta(days=POINT_CHART_DAYS) if scored["grain"].iloc[0] == "day" else pd.DateOffset(months=24)
    keys = result[[*rules.SERIES_KEY, "unique_id", "ds"]].rename(columns={"ds": "_fired"})
    series = keys.merge(scored[["unique_id", "ds", "value", "expected", "expected_lo", "expected_hi"]],
                        on="unique_id")
    series = series[(series["ds"] >= series["_fired"] - span) & (series["ds"] <= series["_fired"] + span)]
    return result.drop(columns="unique_id"), series.assign(threshold=float("nan"))


def level_shift(con: duckdb.DuckDBPyConnection, ctx: AlertContext) -> Found:
    """Level shifts of monthly region x channel revenue (complete months) whose first month lies within the
    lookback."""
    s = ctx.settings
    monthly = statistical.monthly_series(con, ctx.through)
    if monthly.empty:
        raise MissingInput("sales", "no complete month of sales")
    monthly["unique_id"] = monthly["region"].astype(str) + "/" + monthly["channel"].astype(str)
    if monthly.groupby("unique_id")["ds"].nunique().max() < s.shift_min_months:
        raise MissingInput("sales", f"level shifts need {s.shift_min_months} complete months of a region x channel "
                                    f"(alerts.shift_min_months); the data have fewer")
    found, fitted = statistical.level_shifts(monthly[["unique_id", "ds", "y"]], s)
    found = found[found["ds"] >= periods.period_start(ctx.lookback_start, "month")]
    result = statistical.shift_findings(found, s, _entities(monthly), currency=ctx.currency)
    if result.empty:
        return result.drop(columns="unique_id"), pd.DataFrame()
    series = result[[*rules.SERIES_KEY, "unique_id"]].merge(fitted, on="unique_id").assign(threshold=float("nan"))
    return result.drop(columns="unique_id"), series


#: every detector of a build, by rule, in report order (rules first)
DETECTORS = {**rules.RULES, "point_anomaly": point_anomaly, "level_shift": level_shift}


def order(alerts: pd.DataFrame) -> pd.DataFrame:
    """Report order: new first, then continuing, then resolved; within each, most severe first, then by rule, region
    and entity."""
    rank = {s: i for i, s in enumerate(STATES)}
    rule_rank = {r: i for i, r in enumerate(ALERT_RULES)}
    keys = pd.DataFrame({"a": alerts["state"].map(rank).fillna(9), "b": alerts["severity"].map(SEVERITY_RANK),
                         "c": alerts["rule"].map(rule_rank).fillna(99), "d": alerts["region"].astype(str),
                         "e": alerts["entity"].astype(str)}, index=alerts.index)
    return alerts.loc[keys.sort_values(list(keys.columns), kind="stable").index].reset_index(drop=True)


def _typed(frame: pd.DataFrame, dates: tuple[str, ...]) -> pd.DataFrame:
    """Dates as midnight timestamps and text as strings, also when empty (the store's column types do not depend on
    whether a build raised anything)."""
    out = frame.copy()
    for column in out.columns:
        if column in dates:
            out[column] = pd.to_datetime(out[column]).dt.normalize().astype("datetime64[us]")
        elif column in TEXT_COLUMNS:
            out[column] = out[column].astype("string")
        elif column not in ("alert_id",):
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    if "alert_id" in out:
        out["alert_id"] = out["alert_id"].astype("string")
    return out


def run_alerts(con: duckdb.DuckDBPyConnection, settings: AlertSettings, *, currency: str = "",
               window_months: int = 12, tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
               previous: pd.DataFrame | None = None, history: pd.DataFrame | None = None,
               build: str = "") -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """This build's alerts over the store ``con`` (see the module docstring); ``previous`` and ``history`` are the
    ``alerts`` and ``alert_history`` of the store being replaced, ``build`` this build's label (its ``first_seen``).
    """
    if not settings.enabled:
        raise MissingInput("alerts", "alerts are switched off in params (alerts.enabled: false)")
    first, as_of = store.date_bounds(con)
    ctx = AlertContext.create(settings, first, as_of, currency, tolerance_days, window_months)
    left_out: dict[str, str] = {}
    found, series = [], []
    for rule, detector in DETECTORS.items():
        if not settings.runs(rule):
            left_out[rule] = f"switched off in params (alerts.rules.{rule}: false)"
            continue
        try:
            result, behind = detector(con, ctx)
        except MissingInput as exc:
            left_out[rule] = exc.reason
            log.info("alert rule %s left out: %s", rule, exc.reason)
            continue
        log.info("alert rule %s: %d alert(s)", rule, len(result))
        found.append(result)
        series.append(behind)
    parts = [f for f in found if len(f)]
    current = finish(pd.concat(parts, ignore_index=True) if parts else findings([]), settings)
    alerts = apply_state(current.reindex(columns=[c for c in COLUMNS if c not in ("state", "first_seen")]),
                         previous, build)
    alerts = _typed(order(alerts), ("since", "ds"))
    behind = [s for s in series if len(s)]
    chart = pd.concat(behind, ignore_index=True) if behind else pd.DataFrame(columns=[*rules.SERIES_KEY, "ds"])
    if len(chart):
        chart["alert_id"] = ids(chart)
        chart = chart[chart["alert_id"].isin(set(current["alert_id"]))]
    chart = _typed(chart.reindex(columns=list(SERIES_COLUMNS)), ("ds",))
    kept = append_history(alerts, history, build, as_of)
    counts = alerts["state"].value_counts().to_dict()
    log.info("alerts: %d new, %d continuing, %d resolved", counts.get("new", 0), counts.get("continuing", 0),
             counts.get("resolved", 0))
    return {"alerts": alerts, "alert_history": _typed(kept, ("as_of", "since", "ds")), "alert_series": chart}, \
        left_out
