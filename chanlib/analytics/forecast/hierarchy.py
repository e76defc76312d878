"""Hierarchy forecasts: every node of the sales hierarchy, forecast once per store build, reconciled, and scored later.

A build takes monthly revenue up to the last complete month (the *cutoff*) for every node of the hierarchy in params
(``forecast.hierarchy``, default total → region → channel → partner, less any level the sales have no column for; node
ids like ``North/online/P00001``), forecasts all of them in parallel worker processes
(:func:`chanlib.analytics.forecast.forecast`), makes them add up with the reconciliation in params (MinT-shrink by
default; the structural WLS when in-sample residuals cannot support MinT) and keeps them in the store. Periods before
a node's first sale are not part of its history (a partner that joined three months ago is a three-month series,
flagged ``new``).

**Accuracy history.** Every build also keeps the forecasts of earlier builds (carried over from the previous store by
the build, one set per cutoff) and scores those whose months have since arrived: ``forecast_vs_actual`` (row level) and
``forecast_accuracy`` (per cutoff, level and model: sMAPE, MAE, bias, interval coverage).
"""
from __future__ import annotations

import logging
import os
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from chanlib import periods
from chanlib.analytics.forecast.auto import forecast
from chanlib.analytics.forecast.metrics import smape
from chanlib.analytics.forecast.reconcile import Method, aggregate, reconcile
from chanlib.config import DaskSettings, ForecastSettings
from chanlib.data import store
from chanlib.data.store import Tables, as_connection
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

#: hierarchy level name -> sales column
LEVEL_COLUMNS = {"region": "region", "channel": "channel", "partner": "partner_id", "product": "product_id"}
NONE_LABEL = "(none)"


def hierarchy_levels(con: duckdb.DuckDBPyConnection, settings: ForecastSettings) -> tuple[list[str], list[str]]:
    """The hierarchy levels the sales can support (names and key columns): a level whose column is absent or
    empty is left out, with a log line, and the levels below it move up (e.g. no partner_id: total → region →
    channel)."""
    have = store.table_columns(con, "sales")
    names: list[str] = []
    for name in settings.hierarchy:
        column = LEVEL_COLUMNS[name]
        if column in have and con.execute(f"SELECT count({column}) FROM sales").fetchall()[0][0]:
            names.append(name)
        else:
            log.info("forecast level %s left out: the sales have no %s", name, column)
    return names, [LEVEL_COLUMNS[name] for name in names]


def monthly_actuals(con: duckdb.DuckDBPyConnection, keys: list[str],
                    through: pd.Timestamp | None = None) -> pd.DataFrame:
    """Bottom-level monthly revenue (key columns, ``ds`` = first day of the month, ``y``), up to ``through``."""
    select = ", ".join(f"coalesce(CAST({k} AS VARCHAR), '{NONE_LABEL}') AS {k}" for k in keys)
    where = "WHERE date <= ?" if through is not None else ""
    args = [through.date()] if through is not None else []
    # ORDER BY: the same node order in every run (a parallel GROUP BY returns its groups in any order)
    frame = con.execute(f"SELECT {select}{', ' if keys else ''} CAST(date_trunc('month', date) AS DATE) AS ds, "
                        f"sum(revenue) AS y FROM sales {where} GROUP BY ALL ORDER BY ALL", args).df()
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame


def node_table(bottom: pd.DataFrame, keys: list[str], names: list[str]) -> pd.DataFrame:
    """One row per node: unique_id, level (total/region/channel/...) and its key values."""
    rows = [{"unique_id": "total", "level": "total"}]
    for depth in range(1, len(keys) + 1):
        combos = bottom[keys[:depth]].drop_duplicates().astype(str)
        ids = combos.agg("/".join, axis=1)
        for uid, (_, values) in zip(ids, combos.iterrows()):
            rows.append({"unique_id": uid, "level": names[depth - 1], **values.to_dict()})
    return pd.DataFrame(rows)


def _history(long: pd.DataFrame) -> pd.DataFrame:
    """Drop each node's periods before its first non-zero month (it did not exist yet)."""
    started = long["y"].ne(0).groupby(long["unique_id"]).cummax()
    return long[started | long.groupby("unique_id")["ds"].transform("max").eq(long["ds"])]


def _residuals(fitted: pd.DataFrame, nodes: pd.Index) -> pd.DataFrame:
    """In-sample residuals of every node on every date: naive differences where a fallback model has none,
    0 where the node did not exist yet."""
    frame = fitted.sort_values(["unique_id", "ds"]).copy()
    naive = frame.groupby("unique_id")["y"].diff()
    frame["resid"] = frame["resid"].fillna(naive).fillna(0.0)
    wide = frame.pivot(index="ds", columns="unique_id", values="resid").reindex(columns=nodes).fillna(0.0)
    wide.index.name, wide.columns.name = "ds", "unique_id"
    return wide.stack().rename("resid").reset_index()


def _reconcile(base, S: pd.DataFrame, method: Method | Literal["none"]) -> tuple[pd.DataFrame, str]:
    if method == "none":
        return base.forecasts.assign(model=base.forecasts["model"].astype(str)), "none"
    residuals = _residuals(base.fitted, S.index) if method == "mint_shrink" else None
    try:
        with np.errstate(all="raise"):
            return reconcile(base.forecasts, S, method=method, residuals=residuals), method
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        log.warning("reconciliation %s failed (%s); using wls_struct", method, exc)
        return reconcile(base.forecasts, S, method="wls_struct"), "wls_struct"


def non_negative(forecasts: pd.DataFrame, S: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Reconciled forecasts with no negative value or bound where a node's history never went below zero.

    Reconciliation can push a small node below zero (its bounds are the base bounds shifted with the point
    forecast). Negative bottom-level forecasts of never-negative nodes are set to zero and every node above is
    summed up again from the bottom (set-negative-to-zero, then bottom-up: the forecasts stay coherent); the bounds
    move with their point forecast and are then clipped at zero. A node with a negative month in its history
    (returns) keeps its values; a never-negative parent of such nodes is clipped even if that breaks coherence.

    Examples
    --------
    >>> S = pd.DataFrame([[1, 1], [1, 0], [0, 1]], index=["total", "a", "b"], columns=["a", "b"])
    >>> fc = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": 1, "yhat": [8.0, 10.0, -2.0],
    ...                    "lo_80": [5.0, 7.0, -6.0], "hi_80": [11.0, 13.0, 2.0]})
    >>> hist = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": 0, "y": [9.0, 8.0, 1.0]})
    >>> non_negative(fc, S, hist)[["unique_id", "yhat", "lo_80", "hi_80"]].values.tolist()
    [['total', 10.0, 7.0, 13.0], ['a', 10.0, 7.0, 13.0], ['b', 0.0, 0.0, 4.0]]
    """
    never_negative = history.groupby("unique_id")["y"].min().ge(0)
    keep = never_negative.reindex(S.index.astype(str), fill_value=False).to_numpy(dtype=bool)
    if not keep.any() or forecasts.empty:
        return forecasts
    nodes = S.index.astype(str)
    out = forecasts.copy()
    wide = out.pivot(index="unique_id", columns="ds", values="yhat").reindex(nodes)
    yhat = wide.to_numpy(dtype=float)
    bottom_rows = [nodes.get_loc(str(c)) for c in S.columns]
    bottom = yhat[bottom_rows]
    floor = keep[bottom_rows][:, None] & (bottom < 0)
    if floor.any():
        log.info("%d negative bottom-level forecast(s) of never-negative nodes set to 0 and summed up again",
                 int(floor.sum()))
        coherent = S.to_numpy(dtype=float) @ np.where(floor, 0.0, bottom)
        yhat = np.where(np.isfinite(yhat), coherent, yhat)
    clipped = keep[:, None] & (yhat < 0)
    if clipped.any():
        log.warning("%d forecast(s) of never-negative nodes are still below zero after summing up (nodes with "
                    "negative history below them): clipped at 0, so those nodes no longer add up exactly",
                    int(clipped.sum()))
        yhat = np.where(clipped, 0.0, yhat)
    new = pd.DataFrame(yhat, index=nodes, columns=wide.columns).stack().rename("new")
    key = pd.MultiIndex.from_frame(out[["unique_id", "ds"]].astype({"unique_id": str}))
    shift = new.reindex(key).to_numpy() - out["yhat"].to_numpy()
    shift = np.where(np.isfinite(shift), shift, 0.0)
    out["yhat"] = out["yhat"].to_numpy() + shift
    mask = never_negative.reindex(out["unique_id"].astype(str), fill_value=False).to_numpy(dtype=bool)
    for column in [c for c in out.columns if c.startswith(("lo_", "hi_"))]:
        moved = out[column].to_numpy(dtype=float) + shift
        out[column] = np.where(mask, np.where(moved < 0, 0.0, moved), moved)
    out["yhat"] = np.where(mask & (out["yhat"].to_numpy() < 0), 0.0, out["yhat"].to_numpy())
    return out


def run_forecasts(data: Tables, settings: ForecastSettings | None = None, history: pd.DataFrame | None = None,
                  tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS,
                  dask: DaskSettings | None = None) -> dict[str, pd.DataFrame]:
    """Read monthly revenue of every hierarchy node through the latest complete month from ``data`` (a store or a
    mapping with a ``sales`` DataFrame) and forecast it with :func:`forecast_hierarchy` (on the Dask cluster of
    ``dask.scheduler`` when set)."""
    settings = settings or ForecastSettings()
    con = as_connection(data)
    names, keys = hierarchy_levels(con, settings)
    _, last = store.date_bounds(con)
    _, through = periods.latest_complete(last, "month", tolerance_days)
    bottom = monthly_actuals(con, keys, through)
    if bottom.empty:
        raise MissingInput("sales", f"no complete month of sales to forecast from (the data end on {last.date()})")
    return forecast_hierarchy(bottom, dict(zip(names, keys)), settings, history, cutoff=through, dask=dask)


def forecast_hierarchy(bottom: pd.DataFrame, levels: dict[str, str], settings: ForecastSettings | None = None,
                       history: pd.DataFrame | None = None, cutoff: pd.Timestamp | None = None,
                       dask: DaskSettings | None = None) -> dict[str, pd.DataFrame]:
    """Forecast every node of a hierarchy, reconcile, and score earlier forecasts; the result tables of a build.

    ``bottom`` holds monthly values of the lowest level: one column per level (``levels``: level name -> column,
    top down), ``ds`` (first day of the month) and ``y``. ``history`` is the forecasts of earlier builds (the
    ``forecast_history`` table), scored against the actuals that have arrived since. ``cutoff`` (default: the last
    ``ds``) labels this run's forecasts. With ``dask.scheduler`` the batch of series runs on that Dask cluster
    (same results as local worker processes).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ds = pd.date_range("2022-01-01", periods=36, freq="MS")
    >>> wave = 100 + 20 * np.sin(2 * np.pi * np.arange(36) / 12)
    >>> bottom = pd.DataFrame({"region": np.repeat(["North", "South"], 36), "ds": np.tile(ds, 2),
    ...                        "y": np.concatenate([wave, 2 * wave])})
    >>> out = forecast_hierarchy(bottom, {"region": "region"}, ForecastSettings(horizon=3, n_jobs=1,
    ...                                                                          reconciliation="bottom_up"))
    >>> f = out["forecast"].pivot(index="ds", columns="unique_id", values="yhat")
    >>> bool(np.allclose(f["total"], f["North"] + f["South"]))
    True
    """
    settings = settings or ForecastSettings()
    names, keys = list(levels), list(levels.values())
    through = pd.Timestamp(cutoff if cutoff is not None else bottom["ds"].max())
    level_keys = [keys[:i] for i in range(len(keys) + 1)]
    long, S = aggregate(bottom, level_keys, value="y")
    long["ds"] = pd.to_datetime(long["ds"])
    nodes = node_table(bottom, keys, names)
    core = settings.model_copy(update={"fitted": settings.reconciliation == "mint_shrink", "freq": "MS"})
    n_jobs = settings.n_jobs or os.cpu_count() or 1
    log.info("forecasting %d series (%d levels) through %s with %d worker(s)", len(S), len(level_keys),
             through.date(), n_jobs)
    scheduler = dask.scheduler if dask is not None else None
    base = forecast(_history(long), core, n_jobs=n_jobs, scheduler=scheduler,
                    chunks_per_worker=dask.chunks_per_worker if dask is not None else 8)
    coherent, method = _reconcile(base, S, settings.reconciliation)
    if settings.clip_negative:
        coherent = non_negative(coherent, S, long)
    coherent = coherent.merge(nodes[["unique_id", "level"]], on="unique_id", how="left")
    coherent["cutoff"] = through.normalize()
    coherent["reconciliation"] = method

    earlier = history if history is not None else pd.DataFrame()
    if not earlier.empty:
        earlier = earlier.assign(cutoff=pd.to_datetime(earlier["cutoff"]), ds=pd.to_datetime(earlier["ds"]))
        earlier = earlier[earlier["cutoff"] != coherent["cutoff"].iloc[0]]
        log.info("carried over %d forecast rows of %d earlier build(s)", len(earlier), earlier["cutoff"].nunique())
    kept = pd.concat([earlier, coherent], ignore_index=True) if not earlier.empty else coherent.copy()
    scored = score_history(kept, long)
    return {
        "forecast": coherent,
        "forecast_nodes": nodes,
        "forecast_actuals": long,
        "forecast_selection": base.selection.merge(nodes[["unique_id", "level"]], on="unique_id", how="left"),
        "forecast_coverage": base.coverage,
        "forecast_history": kept,
        "forecast_vs_actual": scored,
        "forecast_accuracy": accuracy_summary(scored, core.levels),
    }


def score_history(history: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Earlier forecasts against the actuals that have arrived since their cutoff (``horizon`` in months)."""
    if history.empty:
        return pd.DataFrame(columns=["cutoff", "unique_id", "level", "model", "ds", "horizon", "yhat", "y"])
    merged = history.merge(actuals[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
    merged = merged[merged["ds"] > merged["cutoff"]].copy()
    merged["horizon"] = ((merged["ds"].dt.year - merged["cutoff"].dt.year) * 12
                         + merged["ds"].dt.month - merged["cutoff"].dt.month)
    return merged.sort_values(["cutoff", "unique_id", "ds"]).reset_index(drop=True)


def accuracy_summary(scored: pd.DataFrame, levels: list[int]) -> pd.DataFrame:
    """Per cutoff, level and model: months scored, sMAPE, MAE, bias and interval coverage."""
    columns = ["cutoff", "level", "model", "n", "smape", "mae", "bias"] + [f"coverage_{l}" for l in levels]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (cutoff, level, model), group in scored.groupby(["cutoff", "level", "model"], sort=True):
        y, f = group["y"].to_numpy(float), group["yhat"].to_numpy(float)
        row = {"cutoff": cutoff, "level": level, "model": model, "n": len(group), "smape": smape(y, f),
               "mae": float(np.mean(np.abs(y - f))), "bias": float(np.mean(f - y))}
        for l in levels:
            if f"lo_{l}" in group:
                row[f"coverage_{l}"] = float(np.mean((y >= group[f"lo_{l}"]) & (y <= group[f"hi_{l}"])))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
