"""Typed settings of the forecasting capability (embedded in the run's params as ``forecast:``).

Examples
--------
>>> from chanlib.forecast.settings import ForecastSettings
>>> s = ForecastSettings(season_length=4, horizon=8)
>>> s.levels, s.metric, s.step
([80, 95], 'smape', 8)
>>> ForecastSettings(metric="rmse")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ForecastSettings
...
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..settings_base import StrictModel

#: every model name a settings file may list (see :mod:`chanlib.forecast.models`)
ModelName = Literal["naive", "seasonal_naive", "ets", "ets_damped", "theta", "dotm", "ces", "arima"]
Metric = Literal["smape", "mase", "mae"]
Engine = Literal["auto", "statsforecast", "statsmodels"]


class ForecastSettings(StrictModel):
    """How series are forecast: the candidate models, how one is chosen per series, and the intervals.

    Each series is forecast by every model in ``models`` (and, with ``combination``, by the mean of the
    non-naive ones) on ``backtest_windows`` rolling origins ``step`` periods apart; the candidate with the
    lowest mean ``metric`` over the windows (the combination unless beaten by ``combination_margin``) is refit on
    the whole history and forecasts ``horizon`` periods.
    Series too short, intermittent, all zero or brand new get a simple fallback, flagged in the output.
    """

    #: periods per seasonal cycle (12 for monthly data with a yearly pattern, 4 for quarterly, 1 for none)
    season_length: int = Field(12, ge=1, le=366)
    #: periods to forecast ahead
    horizon: int = Field(12, ge=1, le=1000)
    #: central prediction-interval levels in percent; output columns ``lo_<l>`` and ``hi_<l>``
    levels: list[int] = Field(default_factory=lambda: [80, 95])
    #: candidate models (see :data:`ModelName`)
    models: list[ModelName] = Field(default_factory=lambda: ["seasonal_naive", "ets", "theta", "arima"])
    #: also consider the equal-weight mean of the non-naive candidate models (``combo``)
    combination: bool = True
    #: another candidate replaces the combination only when its mean backtest score is lower by more than this
    #: share (0: plain lowest score). Choosing per series on a few windows is noisy; on M3 a fixed equal-weight
    #: combination beats a plain per-series choice, and this margin keeps only the clear wins of the choice
    combination_margin: float = Field(0.3, ge=0.0, lt=1.0)
    #: rescale every automatic series' intervals (per level, one factor for the run) so that the chosen models'
    #: intervals would have had the nominal coverage in the backtest (split-conformal style); needs a backtest
    calibrate_intervals: bool = True
    #: rolling-origin backtest windows used to choose the model and to measure interval coverage (0: no
    #: backtest; the combination, or else the first listed model, is used)
    backtest_windows: int = Field(2, ge=0, le=50)
    #: periods between two backtest origins; default: the horizon
    backtest_step: int | None = Field(None, ge=1)
    #: accuracy measure that ranks the candidates in the backtest
    metric: Metric = "smape"
    #: worker processes for a batch of series (1: in this process)
    n_jobs: int = Field(1, ge=1, le=256)
    #: fewer observations than this: brand-new series, forecast by its last value (flag ``new``)
    min_length: int = Field(3, ge=1)
    #: fewer complete seasons than this: no seasonal model (flag ``short`` when also below the backtest need)
    min_seasons: int = Field(2, ge=1)
    #: share of zero observations from which a series is intermittent (Croston SBA; flag ``intermittent``)
    intermittent_share: float = Field(0.5, gt=0.0, le=1.0)
    #: where the implementations come from: ``statsforecast`` (fast, compiled) or ``statsmodels``; ``auto``
    #: takes statsforecast when it is installed
    engine: Engine = "auto"
    #: pandas frequency of ``ds`` (e.g. ``MS``, ``QS``); inferred from the data when absent
    freq: str | None = None
    #: value that fills periods missing inside a series' span (sales data: no row means no sales)
    fill_value: float = 0.0
    #: a series that was never negative gets no negative forecast or bound (they are clipped at 0)
    clip_negative: bool = True
    #: also return the in-sample one-step fitted values of the chosen models (``ForecastResult.fitted``; needed
    #: for MinT reconciliation)
    fitted: bool = False
    #: seed of every random choice (none of the default models draws random numbers)
    seed: int = 0

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, levels: list[int]) -> list[int]:
        for level in levels:
            if not 0 < level < 100:
                raise ValueError(f"interval level {level} must be between 0 and 100 (exclusive)")
        return sorted(set(levels))

    @field_validator("models")
    @classmethod
    def _check_models(cls, models: list[str]) -> list[str]:
        if not models:
            raise ValueError("at least one model is required")
        return list(dict.fromkeys(models))

    @property
    def step(self) -> int:
        """Periods between backtest origins."""
        return self.backtest_step or self.horizon
