"""chanlib.analytics.forecast: input checks, fallbacks, determinism, simple-model sanity, intervals, batch."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.forecast import AutoForecaster, ForecastSettings, forecast
from chanlib.analytics.forecast.models import predict, statsforecast_available

needs_sf = pytest.mark.skipif(not statsforecast_available(), reason="statsforecast is not installed")


def _frame(series: dict[str, np.ndarray], start: str = "2018-01-01", freq: str = "MS") -> pd.DataFrame:
    parts = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(y), freq=freq), "y": y})
             for uid, y in series.items()]
    return pd.concat(parts, ignore_index=True)


def _seasonal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.5 * t + 15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)


#: n_jobs=1 (the old default; the default is now one worker per core): these tests forecast in this process, and
#: test_deterministic_and_independent_of_n_jobs compares that with two workers
FAST = ForecastSettings(season_length=12, horizon=6, models=["seasonal_naive", "theta"], backtest_windows=1, n_jobs=1)


# ------------------------------------------------------------------------------------------------ bad input
def test_missing_column_is_named():
    df = pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2020-01-01")]})
    with pytest.raises(ValueError, match=r"missing column\(s\) y"):
        forecast(df, FAST)


def test_duplicate_keys_name_rows():
    df = _frame({"a": np.arange(30.0)})
    df = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"duplicate \(unique_id, ds\) in rows 3, 30"):
        forecast(df, FAST)


def test_non_numeric_y_names_column_and_rows():
    df = _frame({"a": np.arange(30.0)})
    df["y"] = df["y"].astype(object)
    df.loc[5, "y"] = "n/a"
    with pytest.raises(ValueError, match=r"column y: non-numeric values in rows 5 \(e.g. 'n/a'\)"):
        forecast(df, FAST)


def test_missing_ds_names_rows():
    df = _frame({"a": np.arange(30.0)})
    df.loc[7, "ds"] = pd.NaT
    with pytest.raises(ValueError, match=r"column ds: missing values in rows 7"):
        forecast(df, FAST)


# ------------------------------------------------------------------------------------------------ output
def test_output_contract_and_selection():
    df = _frame({"a": _seasonal(48), "b": _seasonal(48, seed=1)})
    res = forecast(df, FAST)
    fc = res.forecasts
    assert list(fc.columns) == ["unique_id", "ds", "model", "yhat", "lo_80", "hi_80", "lo_95", "hi_95", "flag"]
    assert len(fc) == 12 and set(fc["flag"]) == {"ok"}
    assert fc.groupby("unique_id")["ds"].min().eq(pd.Timestamp("2022-01-01")).all()
    assert (fc["lo_95"] <= fc["lo_80"]).all() and (fc["lo_80"] <= fc["yhat"]).all()
    assert (fc["yhat"] <= fc["hi_80"]).all() and (fc["hi_80"] <= fc["hi_95"]).all()
    assert set(res.selection["model"]) <= {"seasonal_naive", "theta"}
    assert set(res.backtest["model"]) == {"seasonal_naive", "theta"}
    assert res.backtest["cutoff"].eq(pd.Timestamp("2021-06-01")).all()
    assert {"model", "level", "coverage"} <= set(res.coverage.columns)
    assert "selected" in set(res.coverage["model"])


def test_estimator_attributes():
    df = _frame({"a": _seasonal(40)})
    est = AutoForecaster(FAST).fit(df)
    assert est.selection_.loc[0, "unique_id"] == "a"
    assert len(est.backtest_) == 2 and not est.coverage_.empty
    pd.testing.assert_frame_equal(est.predict(), est.forecasts_)
    with pytest.raises(RuntimeError, match="not fitted"):
        AutoForecaster(FAST).predict()


def test_deterministic_and_independent_of_n_jobs():
    df = _frame({f"s{i}": _seasonal(40, seed=i) for i in range(6)})
    one = forecast(df, FAST)
    again = forecast(df, FAST)
    two = forecast(df, FAST, n_jobs=2)
    pd.testing.assert_frame_equal(one.forecasts, again.forecasts)
    pd.testing.assert_frame_equal(one.forecasts, two.forecasts)
    pd.testing.assert_frame_equal(one.backtest, two.backtest)


def test_integer_time_and_gaps_filled():
    df = pd.DataFrame({"unique_id": "a", "ds": [1, 2, 3, 5, 6, 7, 8, 9, 10, 11], "y": np.arange(10.0) + 1})
    res = forecast(df, ForecastSettings(season_length=1, horizon=2, models=["naive"], backtest_windows=1, n_jobs=1))
    assert res.forecasts["ds"].tolist() == [12, 13]
    assert res.selection.loc[0, "filled"] == 1


# ------------------------------------------------------------------------------------------------ fallbacks
def test_fallbacks_are_flagged():
    rng = np.random.default_rng(3)
    intermittent = np.where(rng.random(36) < 0.7, 0.0, rng.integers(1, 5, 36).astype(float))
    df = _frame({"zero": np.zeros(24), "one": np.array([7.0]), "two": np.array([3.0, 4.0]),
                 "short": _seasonal(15), "intermittent": intermittent, "flat": np.full(20, 5.0),
                 "ok": _seasonal(48)})
    res = forecast(df, FAST)
    flags = res.selection.set_index("unique_id")["flag"].to_dict()
    assert flags == {"flat": "constant", "intermittent": "intermittent", "ok": "ok", "one": "new",
                     "short": "short", "two": "new", "zero": "all_zero"}
    fc = res.forecasts.set_index("unique_id")
    assert (fc.loc["zero", "yhat"] == 0).all() and (fc.loc["zero", "hi_95"] == 0).all()
    assert (fc.loc["one", "yhat"] == 7.0).all() and fc.loc["one", "hi_80"].isna().all()
    assert (fc.loc["two", "yhat"] == 4.0).all()
    assert (fc.loc["flat", "yhat"] == 5.0).all()
    assert (fc.loc["intermittent", "lo_95"] >= 0).all() and (fc.loc["intermittent", "yhat"] > 0).all()
    assert res.selection.set_index("unique_id").loc["short", "season_length"] == 1
    assert fc.groupby(level=0).size().eq(6).all()
    assert res.forecasts["flag"].notna().all()


def test_brand_new_series_alone():
    df = pd.DataFrame({"unique_id": ["new"], "ds": [pd.Timestamp("2024-03-01")], "y": [12.0]})
    res = forecast(df, ForecastSettings(horizon=3, freq="MS", n_jobs=1))
    assert res.forecasts["ds"].tolist() == list(pd.date_range("2024-04-01", periods=3, freq="MS"))
    assert res.forecasts["flag"].eq("new").all() and res.forecasts["yhat"].eq(12.0).all()


# ------------------------------------------------------------------------------------------------ model sanity
def test_seasonal_naive_repeats_last_season():
    y = np.tile([10.0, 20.0, 30.0, 40.0], 4)
    p = predict("seasonal_naive", y, horizon=6, season_length=4, levels=[80])
    assert p.mean.tolist() == [10.0, 20.0, 30.0, 40.0, 10.0, 20.0]
    assert np.allclose(p.lower[80], p.mean)  # a perfect seasonal series has zero-width intervals


@pytest.mark.parametrize("engine", ["statsmodels", pytest.param("statsforecast", marks=needs_sf)])
def test_ets_and_theta_follow_a_linear_trend(engine):
    y = 50.0 + 2.0 * np.arange(40) + np.random.default_rng(0).normal(0, 0.1, 40)
    for model in ("ets", "theta"):
        p = predict(model, y, horizon=4, season_length=1, levels=[95], engine=engine)
        expected = 50.0 + 2.0 * np.arange(40, 44)
        assert np.allclose(p.mean, expected, rtol=0.03), (model, p.mean)
        assert (p.lower[95] < p.mean).all() and (p.upper[95] > p.mean).all()


@pytest.mark.parametrize("engine", ["statsmodels", pytest.param("statsforecast", marks=needs_sf)])
def test_ets_captures_seasonality(engine):
    pattern = np.array([5.0, 8.0, 12.0, 6.0])
    y = np.tile(pattern, 10) + 100 + np.random.default_rng(1).normal(0, 0.05, 40)
    p = predict("ets", y, horizon=4, season_length=4, levels=[80], engine=engine)
    assert np.allclose(p.mean, pattern + 100, atol=0.5)


# ------------------------------------------------------------------------------------------------ intervals
def _coverage(fc: pd.DataFrame, future: pd.DataFrame, level: int) -> float:
    m = fc.merge(future, on=["unique_id", "ds"])
    return float(((m["y"] >= m[f"lo_{level}"]) & (m["y"] <= m[f"hi_{level}"])).mean())


def test_naive_interval_coverage_on_random_walks():
    rng = np.random.default_rng(42)
    n, h = 60, 4
    paths = {f"rw{i}": 100 + np.cumsum(rng.normal(0, 1, n + h)) for i in range(400)}
    full = _frame(paths)
    train = full.groupby("unique_id").head(n)
    future = full.groupby("unique_id").tail(h)
    s = ForecastSettings(season_length=1, horizon=h, models=["naive"], backtest_windows=0, clip_negative=False,
                         n_jobs=1)
    fc = forecast(train, s).forecasts
    for level in (80, 95):
        assert abs(_coverage(fc, future, level) - level / 100) <= 0.05


@needs_sf
def test_ets_interval_coverage_on_local_level_series():
    rng = np.random.default_rng(7)
    n, h = 60, 6
    paths = {}
    for i in range(300):
        level, y = 50.0, []
        for _ in range(n + h):
            e = rng.normal(0, 1)
            y.append(level + e)
            level += 0.3 * e
        paths[f"ll{i}"] = np.array(y)
    full = _frame(paths)
    train = full.groupby("unique_id").head(n)
    future = full.groupby("unique_id").tail(h)
    s = ForecastSettings(season_length=1, horizon=h, models=["ets"], backtest_windows=1, engine="statsforecast",
                         n_jobs=1)
    res = forecast(train, s)
    for level in (80, 95):
        assert abs(_coverage(res.forecasts, future, level) - level / 100) <= 0.05
        reported = res.coverage.query("model == 'ets' and level == @level")["coverage"].item()
        assert abs(reported - level / 100) <= 0.06


# ------------------------------------------------------------------------------------------------ M3 slice
def test_m3_slice_beats_seasonal_naive(shared_data):
    df = pd.read_csv(shared_data / "m3_monthly.csv.gz")
    df = df[df["series"].isin(sorted(df["series"].unique())[:12])]
    df["ds"] = pd.to_datetime(df["period"] + "-01")
    long = df.rename(columns={"series": "unique_id", "value": "y"})
    train, test = long[long["split"] == "train"], long[long["split"] == "test"]
    s = ForecastSettings(season_length=12, horizon=18, models=["seasonal_naive", "theta"], backtest_windows=1,
                         n_jobs=1)
    res = forecast(train[["unique_id", "ds", "y"]], s)
    m = test.merge(res.forecasts, on=["unique_id", "ds"])
    smape = float(np.mean(200 * np.abs(m["y"] - m["yhat"]) / (m["y"].abs() + m["yhat"].abs())))
    sn = forecast(train[["unique_id", "ds", "y"]], s.model_copy(update={"models": ["seasonal_naive"]}))
    m2 = test.merge(sn.forecasts, on=["unique_id", "ds"])
    smape_sn = float(np.mean(200 * np.abs(m2["y"] - m2["yhat"]) / (m2["y"].abs() + m2["yhat"].abs())))
    assert len(m) == 12 * 18 and smape < smape_sn


# ------------------------------------------------------------------------------------------------ choice, calibration
def test_combination_kept_unless_clearly_beaten():
    df = _frame({f"s{i}": _seasonal(48, seed=i) for i in range(4)})
    # the benchmark fallback (tested in test_thin_data) would replace a combination that seasonal naive beats by 2x
    s = ForecastSettings(season_length=12, horizon=6, models=["seasonal_naive", "theta", "ets"], backtest_windows=1,
                         n_jobs=1, benchmark_fallback=False)
    strict = forecast(df, s.model_copy(update={"combination_margin": 0.0}))
    bt = strict.backtest.pivot(index="unique_id", columns="model", values="score")
    assert (strict.selection.set_index("unique_id")["model"] == bt.idxmin(axis=1)).all()
    lenient = forecast(df, s.model_copy(update={"combination_margin": 0.99}))
    assert lenient.selection["model"].eq("combo").all()


def test_calibration_scales_intervals_around_the_forecast():
    """The factor is checked against its definition: the chosen models' backtest intervals, scaled by it, contain
    at least the nominal share of the backtest actuals, and no smaller factor does (within one point)."""
    t = np.arange(48)
    df = _frame({f"s{i}": 100 + 1.5 * t + 15 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(i).normal(0, 4, 48)
                 for i in range(8)})
    raw = forecast(df, FAST.model_copy(update={"calibrate_intervals": False}))
    cal = forecast(df, FAST.model_copy(update={"calibrate_intervals": True}))
    sel = cal.coverage.query("model == 'selected'").set_index("level")["scale"]
    assert raw.coverage["scale"].eq(1.0).all() and (sel > 0).all()
    pd.testing.assert_series_equal(raw.forecasts["yhat"], cal.forecasts["yhat"])
    # the backtest, again, by hand: one window (FAST) = the last `horizon` points; each series' chosen model refit on
    # what precedes them (42 points: two full seasons, so the season length is kept)
    h, chosen = FAST.horizon, cal.selection.set_index("unique_id")["model"]
    actual, mean = [], []
    lower, upper = {level: [] for level in FAST.levels}, {level: [] for level in FAST.levels}
    for uid, part in df.groupby("unique_id"):
        y = part["y"].to_numpy()
        p = predict(chosen[uid], y[:-h], h, FAST.season_length, FAST.levels, engine=cal.engine, seed=FAST.seed)
        row = cal.backtest[(cal.backtest["unique_id"] == uid) & (cal.backtest["model"] == chosen[uid])]
        for level in FAST.levels:  # ... the same intervals as the code's backtest: the same actuals inside
            inside = int(((y[-h:] >= p.lower[level]) & (y[-h:] <= p.upper[level])).sum())
            assert row[f"inside_{level}"].item() == inside, (uid, level)
            lower[level].append(p.lower[level])
            upper[level].append(p.upper[level])
        actual.append(y[-h:])
        mean.append(p.mean)
    a, m = np.concatenate(actual), np.concatenate(mean)
    n = a.size
    assert n == 8 * h >= 30  # enough points to calibrate on
    assert chosen.nunique() == 2  # both candidates are chosen somewhere: only the chosen one's points count

    def covered(level: int, k: float) -> int:
        lo, hi = np.concatenate(lower[level]), np.concatenate(upper[level])
        return int(((a >= m - k * (m - lo)) & (a <= m + k * (hi - m))).sum())

    # the raw intervals cover too little at 80 % and more than needed at 95 %: one widens, the other narrows
    assert covered(80, 1.0) < np.ceil(0.8 * n) and covered(95, 1.0) > np.ceil(0.95 * n)
    assert sel.loc[80] > 1.0 > sel.loc[95]
    for level in FAST.levels:
        k = sel.loc[level]
        needed = int(np.ceil(level / 100 * n))
        assert covered(level, k * (1 + 1e-9)) >= needed, (level, k)  # the nominal share, at least
        assert covered(level, k * (1 - 1e-9)) <= needed, (level, k)  # any smaller factor: at most one point more
        # the final intervals are the raw ones scaled by k around the forecast
        f, c = raw.forecasts, cal.forecasts
        np.testing.assert_allclose(c[f"hi_{level}"], f["yhat"] + k * (f[f"hi_{level}"] - f["yhat"]), rtol=1e-9)
        np.testing.assert_allclose(c[f"lo_{level}"], f["yhat"] - k * (f["yhat"] - f[f"lo_{level}"]), rtol=1e-9)
    assert set(cal.frames()) == {"forecasts", "backtest", "selection", "coverage"}


def test_fitted_values_for_reconciliation():
    df = _frame({"a": _seasonal(40), "z": np.zeros(40)})
    res = forecast(df, FAST.model_copy(update={"fitted": True, "models": ["seasonal_naive"]}))
    fit = res.fitted
    assert list(fit.columns) == ["unique_id", "ds", "y", "fitted", "resid"] and len(fit) == 80
    a = fit[fit["unique_id"] == "a"]
    assert a["ds"].iloc[-1] == pd.Timestamp("2021-04-01")
    assert np.allclose(a["fitted"].iloc[12:].to_numpy(), a["y"].iloc[:-12].to_numpy())
    assert fit.loc[fit["unique_id"] == "z", "resid"].eq(0).all()


@needs_sf
def test_final_fit_reuses_the_ets_form_its_backtest_chose():

    rng = np.random.default_rng(3)
    t = np.arange(72)
    y = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, t.size)
    searched = predict("ets_damped", y, 12, 12, [80])
    assert searched.spec and searched.spec.endswith("d")
    fixed = predict("ets_damped", y, 12, 12, [80], spec=searched.spec)
    assert fixed.spec == searched.spec
    np.testing.assert_allclose(fixed.mean, searched.mean, rtol=1e-6)  # same form, same data: same forecast
    frame = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2019-01-01", periods=72, freq="MS"), "y": y})
    settings = ForecastSettings(season_length=12, horizon=12, models=["ets_damped", "theta"], backtest_windows=1,
                                n_jobs=1)
    assert forecast(frame, settings).selection["flag"].item() == "ok"
