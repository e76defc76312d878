"""Forecasting series with gaps at any frequency: ``chanlib forecast --input ... --freq F --fill zero|none`` and
``ForecastSettings.freq`` / ``fill_value`` in the library; the real command line and forecaster, no mocks."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.forecast import ForecastSettings, forecast
from chanlib.analytics.forecast.frames import FrequencyError, GapError, resolve_freq, split_series
from chanlib.cli import main


@pytest.fixture(autouse=True)
def _chanlib_logging():
    """``main`` points the chanlib logger at this test's captured stderr: put it back afterwards."""
    logger = logging.getLogger("chanlib")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def _closed_on_saturdays(path: Path, weeks: int = 8) -> pd.DataFrame:
    """Daily revenue of two shops from Monday 2025-03-03, no rows on Saturdays (closed): Sundays 50, weekdays 100
    (shop A) or 200 (shop B)."""
    days = pd.date_range("2025-03-03", periods=7 * weeks, freq="D")
    days = days[days.dayofweek != 5]
    frame = pd.DataFrame([{"shop": shop, "day": d.strftime("%Y-%m-%d"),
                           "sales": (50.0 if d.dayofweek == 6 else base)} for shop, base in (("A", 100.0),
                                                                                           ("B", 200.0))
                          for d in days])
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture
def daily(tmp_path: Path) -> tuple[Path, Path]:
    """The closed-on-Saturdays table and a params file (one process, no backtest search beyond one window)."""
    _closed_on_saturdays(tmp_path / "daily.csv")
    params = tmp_path / "p.yaml"
    params.write_text("store: s.duckdb\ntables:\n  sales: {path: none.csv}\nforecast: {n_jobs: 1}\n")
    return tmp_path / "daily.csv", params


def _forecast(daily, *extra: str) -> list[str]:
    path, params = daily
    return ["forecast", "--params", str(params), "--input", str(path), "--id", "shop", "--time", "day", "--value",
            "sales", "--out", str(path.parent / "out.csv"), *extra]


def test_without_freq_the_error_names_the_cli_option(daily, capsys):
    assert main(_forecast(daily)) == 1
    err = capsys.readouterr().err
    assert "cannot infer the frequency" in err and "'day' (--time)" in err and "--freq D" in err
    assert "ForecastSettings" not in err


def test_closed_saturdays_with_freq_d_and_fill_zero(daily, capsys):
    assert main(_forecast(daily, "--freq", "D", "--fill", "zero", "--horizon", "14")) == 0
    out = pd.read_csv(daily[0].parent / "out.csv", parse_dates=["ds"])
    for shop, part in out.groupby("unique_id"):
        # the day after the last row (Sunday 2025-04-27), every day for 14 days, Saturdays included
        assert part["ds"].tolist() == list(pd.date_range("2025-04-28", periods=14, freq="D")), shop
        saturday = part.loc[part["ds"].dt.dayofweek == 5, "yhat"]
        weekday = part.loc[part["ds"].dt.dayofweek == 2, "yhat"]
        # the weekly season (7, from --freq D) learns the closed day: Saturdays near 0, weekdays near the level
        assert (saturday < 0.2 * weekday.mean()).all() and len(saturday) == 2
    assert "2 series forecast" in capsys.readouterr().err


def test_fill_none_names_the_gaps(daily, capsys):
    assert main(_forecast(daily, "--freq", "D", "--fill", "none")) == 1
    err = capsys.readouterr().err
    assert "series A misses 8 of its 56 periods (2025-03-08, 2025-03-15, 2025-03-22, ...)" in err
    assert "--fill zero" in err


def test_a_freq_that_does_not_fit(daily, capsys):
    assert main(_forecast(daily, "--freq", "M")) == 1
    assert "--freq M does not fit the dates" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(_forecast(daily, "--freq", "fortnightly"))
    assert exc.value.code == 2


def test_library_call_with_freq_and_fill_value():
    frame = _closed_on_saturdays(Path("/dev/null"))  # the CSV is not needed: to_csv to /dev/null
    long = frame.rename(columns={"shop": "unique_id", "day": "ds", "sales": "y"}).assign(
        ds=lambda f: pd.to_datetime(f["ds"]))
    with pytest.raises(FrequencyError, match="set ForecastSettings.freq"):
        forecast(long, ForecastSettings(horizon=7, n_jobs=1))
    result = forecast(long, ForecastSettings(freq="D", fill_value=0.0, season_length=7, horizon=7, n_jobs=1))
    assert result.selection.set_index("unique_id")["filled"].to_dict() == {"A": 8, "B": 8}
    with pytest.raises(GapError, match="series A misses 8"):
        forecast(long, ForecastSettings(freq="D", fill_value=float("nan"), season_length=7, horizon=7, n_jobs=1))


@pytest.mark.parametrize("freq, dates, expected", [
    ("D", ["2025-01-06", "2025-01-08"], "D"),
    ("w", ["2025-01-07", "2025-01-14"], "W-TUE"),  # anchored on the first date's weekday
    ("M", ["2025-01-01", "2025-03-01"], "MS"),
    ("M", ["2025-01-31", "2025-02-28"], "ME"),
    ("Q", ["2025-02-01", "2025-05-01"], "QS-FEB"),
    ("Q", ["2025-03-31", "2025-06-30"], "QE-DEC"),
    ("Q", ["2025-01-31", "2025-04-30"], "QE-OCT"),
    ("14", ["2025-01-01", "2025-01-15"], "14D"),
    ("W-MON", ["2025-01-06", "2025-01-13"], "W-MON"),
    (None, ["2025-01-01", "2025-02-01", "2025-03-01"], "MS"),
])
def test_resolve_freq(freq, dates, expected):
    df = pd.DataFrame({"unique_id": "a", "ds": pd.to_datetime(dates), "y": 1.0})
    assert resolve_freq(freq, df) == expected
    grid = pd.date_range(dates[0], periods=3, freq=expected)
    assert grid[0] == pd.Timestamp(dates[0]) and pd.Timestamp(dates[1]) in grid  # the dates are on the grid


@pytest.mark.parametrize("freq, dates, message", [
    ("M", ["2025-01-15", "2025-02-15"], "neither all first nor all last days"),
    ("bogus", ["2025-01-01", "2025-01-02"], "unknown frequency 'bogus'"),
    ("0", ["2025-01-01", "2025-01-02"], "at least 1"),
])
def test_resolve_freq_errors(freq, dates, message):
    df = pd.DataFrame({"unique_id": "a", "ds": pd.to_datetime(dates), "y": 1.0})
    with pytest.raises(FrequencyError, match=message):
        resolve_freq(freq, df)


def test_integer_time_in_steps():
    """Integer periods 10, 13, 19 with step 3: 16 is a gap (filled), the forecast goes on 22, 25, 28."""
    long = pd.DataFrame({"unique_id": "s", "ds": [10, 13, 19] * 1, "y": [1.0, 2.0, 4.0]})
    series = split_series(long, resolve_freq(3, long), 0.0)
    assert series[0].y.tolist() == [1.0, 2.0, 0.0, 4.0] and series[0].filled == 1
    with pytest.raises(FrequencyError, match="off the steps of 3"):
        split_series(long.assign(ds=[10, 13, 20]), 3, 0.0)
    result = forecast(long.assign(y=[1.0, 2.0, 4.0]), ForecastSettings(freq=3, season_length=1, horizon=3, n_jobs=1,
                                                                       backtest_windows=0))
    assert result.forecasts["ds"].tolist() == [22, 25, 28]
    assert np.isfinite(result.forecasts["yhat"]).all()
