"""Automatic forecasting of many series: :func:`forecast` and the estimator :class:`AutoForecaster`.

Every series is forecast independently (see :mod:`chanlib.analytics.forecast.pipeline`); with ``n_jobs > 1`` the
series are cut into contiguous chunks forecast in worker processes, and the results are put back in ``unique_id``
order, so the output does not depend on ``n_jobs`` or on timing.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from chanlib.analytics.forecast import ForecastSettings, forecast
>>> ds = pd.date_range("2020-01-01", periods=36, freq="MS")
>>> y = 100 + 10 * np.sin(2 * np.pi * np.arange(36) / 12) + np.arange(36)
>>> df = pd.DataFrame({"unique_id": "north/online", "ds": ds, "y": y})
>>> s = ForecastSettings(season_length=12, horizon=3, models=["seasonal_naive", "theta"], backtest_windows=1)
>>> res = forecast(df, s)
>>> list(res.forecasts.columns)
['unique_id', 'ds', 'model', 'yhat', 'lo_80', 'hi_80', 'lo_95', 'hi_95', 'flag']
>>> len(res.forecasts), res.selection.loc[0, "flag"]
(3, 'ok')
"""
from __future__ import annotations

import dataclasses
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from chanlib.analytics.forecast.fallbacks import FALLBACK_MODEL
from chanlib.analytics.forecast.frames import (
    Freq,
    FrequencyError,
    Series,
    check_long_frame,
    future_dates,
    resolve_freq,
    split_series,
)
from chanlib.analytics.forecast.intervals import calibration_factors, coverage_table, interval_columns
from chanlib.analytics.forecast.models import resolve_engine
from chanlib.analytics.forecast.pipeline import SeriesResult, clip_prediction, forecast_series
from chanlib.config import ForecastSettings

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

SELECTION_COLUMNS = ["unique_id", "model", "flag", "score", "benchmark_score", "windows", "season_length", "n_obs",
                     "filled"]


@dataclass
class ForecastResult:
    """The frames a forecasting run produces.

    - ``forecasts``: ``unique_id, ds, model, yhat, lo_<l>, hi_<l>..., flag`` (``horizon`` rows per series)
    - ``backtest``: ``unique_id, window, cutoff, model, score, n, inside_<l>...`` (one row per series, window and
      candidate; ``cutoff`` is the last training time stamp, ``score`` the settings' metric)
    - ``selection``: ``unique_id, model, flag, score, benchmark_score, windows, season_length, n_obs, filled``
      (``score``: the chosen model's mean backtest score; ``benchmark_score``: seasonal naive's on the same windows,
      naive's for a series forecast without season)
    - ``coverage``: ``model, level, nominal, coverage, n, scale`` (empirical coverage of the models' own intervals
      in the backtest; ``scale`` is the calibration factor applied to the final intervals, see
      ``ForecastSettings.calibrate_intervals``)
    - ``fitted`` (with ``settings.fitted``): ``unique_id, ds, y, fitted, resid`` of the chosen models
    """

    forecasts: pd.DataFrame
    backtest: pd.DataFrame
    selection: pd.DataFrame
    coverage: pd.DataFrame
    engine: str = ""
    fitted: pd.DataFrame | None = None

    def frames(self) -> dict[str, pd.DataFrame]:
        """The result frames by name (what a run writes to the store)."""
        out = {"forecasts": self.forecasts, "backtest": self.backtest, "selection": self.selection,
               "coverage": self.coverage}
        if self.fitted is not None:
            out["fitted"] = self.fitted
        return out


def _run_chunk(chunk: list[Series], settings: ForecastSettings, engine: str) -> list[SeriesResult]:
    # one BLAS/OpenMP thread per worker: the models are small and the parallelism is across series
    with threadpool_limits(limits=1):
        return [forecast_series(s, settings, engine) for s in chunk]


def _chunks(items: list[Series], n: int) -> list[list[Series]]:
    size = max(1, -(-len(items) // n))
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_series(series: list[Series], settings: ForecastSettings, engine: str, n_jobs: int,
               scheduler: str | Client | None = None, chunks_per_worker: int = 8) -> list[SeriesResult]:
    """Forecast every series, in ``n_jobs`` worker processes when more than one, or on the workers of a Dask
    distributed ``scheduler`` (an address or a ``Client``) when given (order is kept either way)."""
    if scheduler is not None and series:
        return _run_on_dask(series, settings, engine, scheduler, chunks_per_worker)
    n_jobs = max(1, min(n_jobs, len(series)))
    if n_jobs == 1:
        return _run_chunk(series, settings, engine)
    # long series first would balance better, but contiguous chunks keep the output order trivially stable;
    # several chunks per worker even out the load instead
    chunks = _chunks(series, n_jobs * 8)
    results: list[SeriesResult] = []
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        for part in pool.map(_run_chunk, chunks, [settings] * len(chunks), [engine] * len(chunks)):
            results.extend(part)
    return results


def _run_received_chunk(chunk: list[Series], settings: ForecastSettings, engine: str) -> list[SeriesResult]:
    """:func:`_run_chunk` on a Dask worker. Dask hands numpy arrays over as views into the received message, not
    always aligned (even to 8 bytes), and numpy's vectorised sums may then add in another order, changing the last
    digits; each series is first copied into memory of its own, as in a local process."""
    own = [dataclasses.replace(s, y=np.array(s.y, dtype=float, copy=True)) for s in chunk]
    return _run_chunk(own, settings, engine)


def _run_on_dask(series: list[Series], settings: ForecastSettings, engine: str, scheduler: str | Client,
                 chunks_per_worker: int) -> list[SeriesResult]:
    """The batch on a Dask cluster: contiguous chunks of series (``chunks_per_worker`` per worker), each forecast
    by :func:`_run_chunk` in a worker (one task per chunk, the series travel with it), gathered in order. The
    workers run the same code on the same inputs as local processes, so the results are identical."""
    from distributed import Client

    if isinstance(scheduler, Client):
        client, own = scheduler, False
    else:
        client, own = Client(scheduler, set_as_default=False), True
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = _chunks(series, workers * chunks_per_worker)
        log.info("forecasting %d series in %d tasks on the Dask scheduler %s (%d worker(s))", len(series),
                 len(chunks), client.scheduler.address, workers)
        futures = client.map(_run_received_chunk, chunks, settings=settings, engine=engine, pure=False)
        results: list[SeriesResult] = []
        for part in client.gather(futures):
            results.extend(part)
        return results
    finally:
        if own:
            client.close()


def _frames(series: list[Series], results: list[SeriesResult], settings: ForecastSettings,
            freq: Freq | None, ds_dtype) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    h, levels = settings.horizon, settings.levels
    ids, models, flags, dss, yhat = [], [], [], [], []
    bounds: dict[str, list[np.ndarray]] = {c: [] for c in interval_columns(levels)}
    last_ds = {s.unique_id: s.last_ds for s in series}
    for res in results:
        ids.append(np.repeat(res.unique_id, h))
        models.append(np.repeat(res.model, h))
        flags.append(np.repeat(res.flag, h))
        dss.append(future_dates(last_ds[res.unique_id], h, freq))
        yhat.append(res.prediction.mean)
        for level in levels:
            bounds[f"lo_{level}"].append(res.prediction.lower[level])
            bounds[f"hi_{level}"].append(res.prediction.upper[level])
    cat = (lambda parts: np.concatenate(parts)) if results else (lambda parts: np.array([]))
    forecasts = pd.DataFrame({"unique_id": cat(ids).astype(str) if results else np.array([], dtype=object),
                              "ds": pd.Series(cat(dss)).astype(ds_dtype) if results else pd.Series([], dtype=ds_dtype),
                              "model": cat(models), "yhat": cat(yhat).astype(float)})
    for name, parts in bounds.items():
        forecasts[name] = cat(parts).astype(float)
    forecasts["flag"] = cat(flags)

    rows = [{k: v for k, v in row.items() if not k.startswith("_")} for res in results for row in res.backtest]
    bt_cols = ["unique_id", "window", "cutoff", "model", "score", "n"] + [f"inside_{l}" for l in levels]
    backtest = pd.DataFrame(rows, columns=bt_cols)
    if not backtest.empty:
        # cutoff: training length -> the last training time stamp
        first = {s.unique_id: (s.last_ds, s.y.size) for s in series}
        backtest["cutoff"] = [_shift(first[u][0], c - first[u][1], freq)
                              for u, c in zip(backtest["unique_id"], backtest["cutoff"])]
    selection = pd.DataFrame([res.selection for res in results], columns=SELECTION_COLUMNS)
    return forecasts, backtest, selection


def _shift(last: Any, periods: int, freq: Freq | None) -> object:
    """The time stamp ``periods`` (<= 0) steps from ``last`` (a time stamp, else a number of any dtype): the
    backtest's last training period."""
    if isinstance(last, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(last) + periods * pd.tseries.frequencies.to_offset(str(freq)) if freq else pd.NaT
    return last + periods * (freq if isinstance(freq, int) else 1)


def forecast(df: pd.DataFrame, settings: ForecastSettings | None = None, n_jobs: int | None = None,
             scheduler: str | Client | None = None, chunks_per_worker: int = 8) -> ForecastResult:
    """Forecast every series of a long frame ``unique_id, ds, y`` (see :class:`ForecastResult`).

    ``n_jobs`` overrides ``settings.n_jobs`` (worker processes; none: the number of cores); ``scheduler`` (a Dask
    distributed address such as ``tcp://10.0.0.5:8786``, or a ``Client``) runs the batch on that cluster's workers
    instead, in ``chunks_per_worker`` tasks per worker, with the same results. Raises ``ValueError`` for a malformed
    frame.
    """
    settings = settings or ForecastSettings()
    clean = check_long_frame(df)
    freq = resolve_freq(settings.freq, clean)
    if freq is None and pd.api.types.is_datetime64_any_dtype(clean["ds"]) and clean["unique_id"].nunique() and \
            clean.groupby("unique_id").size().max() > 1:
        raise FrequencyError("column ds: cannot infer the frequency of the dates; set ForecastSettings.freq")
    engine = resolve_engine(settings.engine)
    series = split_series(clean, freq, settings.fill_value)
    jobs = (n_jobs if n_jobs is not None else settings.n_jobs) or os.cpu_count() or 1
    log.info("forecasting %d series (h=%d, engine=%s, %s)", len(series), settings.horizon, engine,
             f"n_jobs={jobs}" if scheduler is None else "on Dask")
    results = run_series(series, settings, engine, jobs, scheduler, chunks_per_worker)
    factors = _calibrate(results, settings) if settings.calibrate_intervals else {}
    forecasts, backtest, selection = _frames(series, results, settings, freq, clean["ds"].dtype)
    coverage = coverage_table(backtest, selection, settings.levels)
    coverage["scale"] = [factors.get(level, 1.0) if model == "selected" else 1.0
                         for model, level in zip(coverage["model"], coverage["level"])]
    fitted = _fitted_frame(series, results, freq) if settings.fitted else None
    return ForecastResult(forecasts, backtest, selection, coverage, engine, fitted)


def _calibrate(results: list[SeriesResult], settings: ForecastSettings) -> dict[int, float]:
    """Rescale the intervals of automatically chosen forecasts in place; returns the factor per level."""
    ratios: dict[int, list[np.ndarray]] = {level: [] for level in settings.levels}
    for res in results:
        for row in res.backtest:
            if row["model"] == res.model and "_ratios" in row:
                for level in settings.levels:
                    ratios[level].append(row["_ratios"][level])
    factors = calibration_factors(ratios, settings.levels)
    log.info("interval calibration factors: %s", factors)
    for res in results:
        if res.flag in FALLBACK_MODEL or not res.backtest:  # fallbacks keep their own bounds
            continue
        pred = res.prediction
        for level, k in factors.items():
            pred.lower[level] = pred.mean - k * (pred.mean - pred.lower[level])
            pred.upper[level] = pred.mean + k * (pred.upper[level] - pred.mean)
        if res.non_negative:  # widening must not take a never-negative series' bounds below zero again
            clip_prediction(pred)
    return factors


def _fitted_frame(series: list[Series], results: list[SeriesResult], freq: Freq | None) -> pd.DataFrame:
    parts = []
    for s, res in zip(series, results):
        n = s.y.size
        ds = [_shift(s.last_ds, k - n + 1, freq) for k in range(n)]
        fit = res.prediction.fitted if res.prediction.fitted is not None else np.full(n, np.nan)
        parts.append(pd.DataFrame({"unique_id": s.unique_id, "ds": ds, "y": s.y, "fitted": fit}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["unique_id", "ds", "y", "fitted"])
    out["resid"] = out["y"] - out["fitted"]
    return out


class AutoForecaster:
    """Estimator-style wrapper of :func:`forecast`: ``AutoForecaster(settings).fit(df).predict()``.

    After ``fit``: ``selection_`` (chosen model and flag per series), ``backtest_`` (backtest scores),
    ``coverage_`` (empirical interval coverage), ``engine_`` and ``forecasts_``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"unique_id": "a", "ds": np.arange(20), "y": np.arange(20.0)})
    >>> fc = AutoForecaster(ForecastSettings(season_length=1, horizon=2, models=["naive", "theta"])).fit(df)
    >>> fc.predict()[["ds", "model", "flag"]].to_dict("records")
    [{'ds': 20, 'model': 'theta', 'flag': 'ok'}, {'ds': 21, 'model': 'theta', 'flag': 'ok'}]
    """

    def __init__(self, settings: ForecastSettings | None = None) -> None:
        self.settings = settings or ForecastSettings()

    def fit(self, df: pd.DataFrame) -> AutoForecaster:
        """Backtest and choose per series, then fit the chosen candidate on the whole history."""
        result = forecast(df, self.settings)
        self.result_ = result
        self.forecasts_ = result.forecasts
        self.selection_ = result.selection
        self.backtest_ = result.backtest
        self.coverage_ = result.coverage
        self.engine_ = result.engine
        return self

    def predict(self) -> pd.DataFrame:
        """The forecast frame of the fitted series (``settings.horizon`` periods)."""
        if not hasattr(self, "forecasts_"):
            raise RuntimeError("AutoForecaster is not fitted: call fit(df) first")
        return self.forecasts_.copy()


