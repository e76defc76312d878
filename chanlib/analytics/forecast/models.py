"""The forecasting models, one function call per series: ``predict(name, y, horizon, season_length, levels)``.

Every model returns a :class:`Prediction` (point forecast and central intervals per level) from a 1-D history.
Two engines implement the statistical models:

- ``statsforecast`` (Nixtla's compiled implementations; used when installed, much faster):
  ``ets`` = ``AutoETS``, ``ets_damped`` = ``AutoETS(damped=True)`` (damped trend only), ``ses`` =
  ``AutoETS(model="ANN")`` (simple exponential smoothing: a level, no trend, no season), ``theta`` = ``Theta``
  (standard theta method), ``dotm`` = ``DynamicOptimizedTheta``
  (Fiorucci et al. 2016), ``ces`` = ``AutoCES``, ``arima`` = ``AutoARIMA``.
- ``statsmodels``: ``ets`` = ``ETSModel`` with the model (error, trend, damping, season) of lowest AICc
  (``ets_damped``: among damped-trend models; ``ses``: ETS(A,N,N)),
  ``theta`` = ``ThetaModel``, ``arima`` = ``SARIMAX`` with a small AICc order search; ``dotm`` and ``ces`` are not
  available there.

``naive``, ``seasonal_naive``, ``season_mean`` (the mean of the last season, flat: a level that no seasonal peak
or trough biases) and ``croston`` (SBA, for intermittent demand) are plain numpy in both.

Examples
--------
>>> import numpy as np
>>> y = np.tile([1.0, 2.0, 3.0, 4.0], 3)
>>> p = predict("seasonal_naive", y, horizon=5, season_length=4, levels=[80])
>>> p.mean.tolist()
[1.0, 2.0, 3.0, 4.0, 1.0]
>>> bool((p.lower[80] <= p.mean).all() and (p.upper[80] >= p.mean).all())
True
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import norm

log = logging.getLogger(__name__)

#: models implemented in numpy, identical in both engines
SIMPLE = ("naive", "seasonal_naive", "season_mean", "croston")
#: models whose implementation depends on the engine
STATISTICAL = ("ets", "ets_damped", "ses", "theta", "dotm", "ces", "arima")
STATSMODELS_MODELS = ("ets", "ets_damped", "ses", "theta", "arima")
#: models that extrapolate neither a trend nor a season (what a short history is forecast with)
LEVEL_ONLY = ("ses", "season_mean", "naive")


@dataclass
class Prediction:
    """A point forecast with central intervals (``lower[level]``, ``upper[level]``)."""

    mean: np.ndarray
    lower: dict[int, np.ndarray] = field(default_factory=dict)
    upper: dict[int, np.ndarray] = field(default_factory=dict)
    #: in-sample one-step-ahead fitted values (``nan`` where undefined), when asked for
    fitted: np.ndarray | None = None
    #: the ETS form an automatic ETS chose (error, trend, season letters, ``d`` when damped, e.g. ``MAMd``), so a
    #: later fit of the same series can reuse it instead of searching again
    spec: str | None = None


@lru_cache(maxsize=1)
def statsforecast_available() -> bool:
    """Whether the statsforecast package can be imported."""
    try:
        import statsforecast.models  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


def resolve_engine(engine: str) -> str:
    """``auto`` becomes ``statsforecast`` when installed, else ``statsmodels``."""
    if engine == "auto":
        return "statsforecast" if statsforecast_available() else "statsmodels"
    if engine == "statsforecast" and not statsforecast_available():
        raise ValueError("engine 'statsforecast' was asked for but the statsforecast package is not installed")
    return engine


def _z(level: int) -> float:
    return float(norm.ppf(0.5 + level / 200.0))


def _normal(mean: np.ndarray, sd: np.ndarray, levels: list[int]) -> Prediction:
    pred = Prediction(mean)
    for level in levels:
        half = _z(level) * sd
        pred.lower[level] = mean - half
        pred.upper[level] = mean + half
    return pred


def _sigma(residuals: np.ndarray) -> float:
    residuals = residuals[np.isfinite(residuals)]
    if residuals.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(residuals**2)))


def naive(y: np.ndarray, horizon: int, levels: list[int]) -> Prediction:
    """Last value, random-walk intervals (``nan`` width for a one-point history)."""
    mean = np.full(horizon, y[-1], dtype=float)
    sigma = _sigma(np.diff(y)) if y.size > 1 else float("nan")
    pred = _normal(mean, sigma * np.sqrt(np.arange(1, horizon + 1)), levels)
    pred.fitted = np.concatenate([[np.nan], y[:-1]])
    return pred


def seasonal_naive(y: np.ndarray, horizon: int, season_length: int, levels: list[int]) -> Prediction:
    """Value of the same period one season ago (naive when the history is shorter than a season)."""
    m = season_length
    if m <= 1 or y.size < m:
        return naive(y, horizon, levels)
    mean = np.array([y[y.size - m + (i % m)] for i in range(horizon)], dtype=float)
    sigma = _sigma(y[m:] - y[:-m]) if y.size > m else float("nan")
    k = np.arange(horizon) // m + 1
    pred = _normal(mean, sigma * np.sqrt(k), levels)
    pred.fitted = np.concatenate([np.full(m, np.nan), y[:-m]])
    return pred


def season_mean(y: np.ndarray, horizon: int, season_length: int, levels: list[int]) -> Prediction:
    """The mean of the last ``season_length`` periods (of all when fewer), flat: a level without trend or season
    that a seasonal peak at the end of the history does not pull up. Intervals from the spread of the history
    around its rolling level (random-walk widths, as :func:`naive`).

    >>> season_mean(np.array([1.0, 9.0, 100.0, 100.0, 180.0, 220.0]), 2, 4, [80]).mean.tolist()
    [150.0, 150.0]
    """
    m = max(1, min(season_length, y.size))
    level = float(np.mean(y[-m:]))
    mean = np.full(horizon, level)
    sigma = _sigma(np.diff(y)) if y.size > 1 else float("nan")
    pred = _normal(mean, sigma * np.sqrt(np.arange(1, horizon + 1)), levels)
    rolling = pd.Series(y).rolling(m, min_periods=1).mean().to_numpy()
    pred.fitted = np.concatenate([[np.nan], rolling[:-1]])
    return pred


def croston(y: np.ndarray, horizon: int, levels: list[int], alpha: float = 0.1) -> Prediction:
    """Croston's method with the Syntetos–Boylan bias correction; intervals from the empirical quantiles of the
    history (demand is never negative there, so neither are the bounds when the history is not)."""
    nonzero = np.flatnonzero(y != 0)
    if nonzero.size == 0:
        return Prediction(np.zeros(horizon), {l: np.zeros(horizon) for l in levels},
                          {l: np.zeros(horizon) for l in levels})
    sizes = y[nonzero]
    gaps = np.diff(np.concatenate([[-1], nonzero])).astype(float)
    z, p = sizes[0], gaps[0]
    for size, gap in zip(sizes[1:], gaps[1:]):
        z = z + alpha * (size - z)
        p = p + alpha * (gap - p)
    mean = np.full(horizon, (1 - alpha / 2) * z / p)
    pred = Prediction(mean)
    for level in levels:
        lo, hi = np.quantile(y, [0.5 - level / 200.0, 0.5 + level / 200.0])
        pred.lower[level] = np.full(horizon, min(lo, mean[0]))
        pred.upper[level] = np.full(horizon, max(hi, mean[0]))
    return pred


# --------------------------------------------------------------------------------------------- statsforecast
def _sf_model(name: str, m: int):
    from statsforecast import models as sfm

    if name == "ets":
        return sfm.AutoETS(season_length=m)
    if name == "ets_damped":
        return sfm.AutoETS(season_length=m, damped=True)
    if name == "ses":
        return sfm.AutoETS(season_length=1, model="ANN")
    if name == "theta":
        return sfm.Theta(season_length=m)
    if name == "dotm":
        return sfm.DynamicOptimizedTheta(season_length=m)
    if name == "ces":
        return sfm.AutoCES(season_length=m)
    if name == "arima":
        return sfm.AutoARIMA(season_length=m)
    raise ValueError(f"unknown model {name!r}")


def _ets_spec(components) -> str:
    """``MAMd``-style form from statsforecast's ETS components (error, trend, season, damped)."""
    error, trend, season, damped = (str(c) for c in list(components)[:4])
    return f"{error}{trend}{season}{'d' if damped in ('True', 'D', '1') else ''}"


def _statsforecast(name: str, y: np.ndarray, horizon: int, m: int, levels: list[int],
                   fitted: bool = False, spec: str | None = None) -> Prediction:
    from statsforecast import models as sfm

    spec_out = None
    if name in ("ets", "ets_damped") and spec:
        # the form chosen on this series' backtest window: re-estimate its parameters, skip the search
        model = sfm.AutoETS(season_length=m, model=spec[:3], damped=spec.endswith("d"))
        out = model.forecast(y=y, h=horizon, level=list(levels) or None, fitted=fitted)
        spec_out = spec
    elif name in ("ets", "ets_damped") and not fitted:
        model = _sf_model(name, m).fit(y)
        out = model.predict(h=horizon, level=list(levels) or None)
        spec_out = _ets_spec(model.model_["components"])
    else:
        out = _sf_model(name, m).forecast(y=y, h=horizon, level=list(levels) or None, fitted=fitted)
    pred = Prediction(np.asarray(out["mean"], dtype=float), spec=spec_out)
    if fitted:
        pred.fitted = np.asarray(out["fitted"], dtype=float)
    for level in levels:
        pred.lower[level] = np.asarray(out[f"lo-{level}"], dtype=float)
        pred.upper[level] = np.asarray(out[f"hi-{level}"], dtype=float)
    return pred


# ----------------------------------------------------------------------------------------------- statsmodels
def _sm_ets(y: np.ndarray, horizon: int, m: int, levels: list[int], seed: int,
            damped_only: bool = False, level_only: bool = False) -> Prediction:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    positive = bool((y > 0).all())
    seasonal_options: list[str | None] = [None]
    if m > 1 and y.size >= 2 * m + 2 and not level_only:
        seasonal_options += ["add"] + (["mul"] if positive else [])
    trends: tuple[tuple[str | None, bool], ...] = ((None, False), ("add", False), ("add", True))
    if damped_only:
        trends = (("add", True),)
    elif level_only:
        trends = ((None, False),)
    best = None
    for error in ["add"] + ([] if level_only or not positive else ["mul"]):
        for trend, damped in trends:
            for seasonal in seasonal_options:
                if error == "add" and seasonal == "mul":
                    continue  # numerically unstable combination, excluded as in Hyndman et al. (2008)
                try:
                    model = ETSModel(pd.Series(y), error=error, trend=trend, damped_trend=damped, seasonal=seasonal,
                                     seasonal_periods=m if seasonal else None)
                    res = model.fit(disp=False, maxiter=200)
                except Exception:  # noqa: BLE001 - a configuration that cannot be fit is skipped
                    continue
                if np.isfinite(res.aicc) and (best is None or res.aicc < best.aicc):
                    best = res
    if best is None:
        raise RuntimeError("no ETS configuration could be fit")
    linear = best.model.error == "add" and best.model.seasonal != "mul"
    kwargs = {} if linear else {"method": "simulated", "simulate_repetitions": 500,
                                "rng": np.random.default_rng(seed)}
    fc = best.get_prediction(start=y.size, end=y.size + horizon - 1, **kwargs)
    pred = Prediction(np.asarray(fc.predicted_mean, dtype=float), fitted=np.asarray(best.fittedvalues, dtype=float))
    for level in levels:
        frame = fc.summary_frame(alpha=1 - level / 100.0)
        pred.lower[level] = frame["pi_lower"].to_numpy(dtype=float)
        pred.upper[level] = frame["pi_upper"].to_numpy(dtype=float)
    return pred


def _sm_theta(y: np.ndarray, horizon: int, m: int, levels: list[int], fitted: bool = False) -> Prediction:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    deseasonalize = m > 1 and y.size >= 2 * m
    method = "multiplicative" if bool((y > 0).all()) else "additive"
    kwargs = {"period": m if deseasonalize else 1, "deseasonalize": deseasonalize, "method": method}
    res = ThetaModel(y, **kwargs).fit()
    pred = Prediction(np.asarray(res.forecast(horizon), dtype=float))
    pred.fitted = _theta_fitted(y, **kwargs) if fitted else None
    for level in levels:
        frame = res.prediction_intervals(horizon, alpha=1 - level / 100.0)
        pred.lower[level] = frame["lower"].to_numpy(dtype=float)
        pred.upper[level] = frame["upper"].to_numpy(dtype=float)
    return pred


def _theta_fitted(y: np.ndarray, **kwargs) -> np.ndarray:
    """One-step forecasts from refits on each prefix over the last 48 periods (statsmodels' ThetaModel gives no
    in-sample fitted values); earlier periods are nan."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    fitted = np.full(y.size, np.nan)
    for t in range(max(8, y.size - 48), y.size):
        try:
            fitted[t] = float(np.asarray(ThetaModel(y[:t], **kwargs).fit().forecast(1))[0])
        except Exception:  # noqa: BLE001 - fitted values are optional
            continue
    return fitted


def _sm_arima(y: np.ndarray, horizon: int, m: int, levels: list[int]) -> Prediction:
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    from statsmodels.tsa.stattools import kpss

    d = 0
    series = y.copy()
    while d < 2 and series.size > 8:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pvalue = kpss(series, regression="c", nlags="auto")[1]
        if pvalue >= 0.05:
            break
        series = np.diff(series)
        d += 1
    seasonal = (0, 1, 1, m) if m > 1 and y.size >= 3 * m else (0, 0, 0, 0)
    best = None
    for p, q in ((0, 1), (1, 0), (1, 1), (2, 0), (0, 2), (2, 1)):
        try:
            res = SARIMAX(y, order=(p, d, q), seasonal_order=seasonal, trend="c" if d == 0 else "n").fit(disp=False)
        except Exception:  # noqa: BLE001 - an order that cannot be fit is skipped
            continue
        if np.isfinite(res.aicc) and (best is None or res.aicc < best.aicc):
            best = res
    if best is None:
        raise RuntimeError("no ARIMA order could be fit")
    fc = best.get_forecast(horizon)
    pred = Prediction(np.asarray(fc.predicted_mean, dtype=float), fitted=np.asarray(best.fittedvalues, dtype=float))
    for level in levels:
        ci = np.asarray(fc.conf_int(alpha=1 - level / 100.0), dtype=float)
        pred.lower[level] = ci[:, 0]
        pred.upper[level] = ci[:, 1]
    return pred


def _statsmodels(name: str, y: np.ndarray, horizon: int, m: int, levels: list[int], seed: int,
                 fitted: bool = False) -> Prediction:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ("ets", "ets_damped", "ses"):
            return _sm_ets(y, horizon, m, levels, seed, damped_only=name == "ets_damped", level_only=name == "ses")
        if name == "theta":
            pred = _sm_theta(y, horizon, m, levels, fitted)
            return pred
        if name == "arima":
            return _sm_arima(y, horizon, m, levels)
    raise ValueError(f"model {name!r} needs the statsforecast engine "
                     f"(statsmodels has: {', '.join(STATSMODELS_MODELS)})")


def predict(name: str, y: np.ndarray, horizon: int, season_length: int, levels: list[int],
            engine: str = "auto", seed: int = 0, fitted: bool = False, spec: str | None = None) -> Prediction:
    """Fit model ``name`` to the history ``y`` and forecast ``horizon`` periods with intervals at ``levels``
    (and, with ``fitted``, the in-sample one-step fitted values in ``Prediction.fitted``). ``spec`` fixes the form
    of an automatic ETS (statsforecast engine), e.g. the one its backtest fit chose."""
    y = np.asarray(y, dtype=float)
    if name == "naive":
        return naive(y, horizon, levels)
    if name == "seasonal_naive":
        return seasonal_naive(y, horizon, season_length, levels)
    if name == "season_mean":
        return season_mean(y, horizon, season_length, levels)
    if name == "croston":
        return croston(y, horizon, levels)
    if name not in STATISTICAL:
        raise ValueError(f"unknown model {name!r}")
    engine = resolve_engine(engine)
    if engine == "statsforecast":
        pred = _statsforecast(name, y, horizon, season_length, levels, fitted, spec)
    else:
        pred = _statsmodels(name, y, horizon, season_length, levels, seed, fitted)
    if not np.isfinite(pred.mean).all():
        raise RuntimeError(f"model {name} produced non-finite forecasts")
    return _finite_bounds(pred, y, levels)


def _finite_bounds(pred: Prediction, y: np.ndarray, levels: list[int]) -> Prediction:
    """Replace infinite or missing interval bounds (a model fit on too few points for a variance, e.g. SES on four
    equal values) by random-walk widths around the model's own forecast, as :func:`naive` would give them."""
    bad = [level for level in levels
           if not (np.isfinite(pred.lower[level]).all() and np.isfinite(pred.upper[level]).all())]
    if bad:
        walk = naive(y, pred.mean.size, bad)
        for level in bad:
            pred.lower[level] = pred.mean - (walk.mean - walk.lower[level])
            pred.upper[level] = pred.mean + (walk.upper[level] - walk.mean)
    return pred


def combine(predictions: list[Prediction]) -> Prediction:
    """Equal-weight mean of point forecasts, of interval bounds and of fitted values."""
    out = Prediction(np.mean([p.mean for p in predictions], axis=0))
    fitted = [p.fitted for p in predictions if p.fitted is not None]
    if len(fitted) == len(predictions):
        out.fitted = np.mean(fitted, axis=0)
    for level in predictions[0].lower:
        out.lower[level] = np.mean([p.lower[level] for p in predictions], axis=0)
        out.upper[level] = np.mean([p.upper[level] for p in predictions], axis=0)
    return out
