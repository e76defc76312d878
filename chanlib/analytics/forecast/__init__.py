"""Forecasting: automatic models chosen per series by backtest, intervals, and hierarchical reconciliation.

Long format everywhere: ``unique_id, ds, y`` in; ``unique_id, ds, model, yhat, lo_<l>, hi_<l>, flag`` out.

- :class:`ForecastSettings` — the typed settings (``forecast:`` in the params)
- :func:`forecast` / :class:`AutoForecaster` — forecast every series (in worker processes with ``n_jobs``)
- :func:`summing_matrix`, :func:`aggregate`, :func:`reconcile` — coherent hierarchies (bottom-up, top-down,
  OLS, MinT shrink)

The statistical models come from statsforecast when it is installed (compiled, far faster than the equivalent
statsmodels code for ETS, Theta, CES and ARIMA) and from statsmodels otherwise; see
:mod:`chanlib.analytics.forecast.models`.
"""
from __future__ import annotations

from chanlib.analytics.forecast.auto import AutoForecaster, ForecastResult, forecast
from chanlib.analytics.forecast.frames import check_long_frame
from chanlib.analytics.forecast.metrics import mase, smape
from chanlib.analytics.forecast.reconcile import aggregate, reconcile, summing_matrix
from chanlib.config import ForecastSettings

__all__ = ["AutoForecaster", "ForecastResult", "ForecastSettings", "aggregate", "check_long_frame", "forecast",
           "mase", "reconcile", "smape", "summing_matrix"]
