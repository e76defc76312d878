"""Benchmark: chanlib's automatic forecasting on the 1,428 M3 monthly series against statsforecast's AutoETS.

Train = rows with split=train, horizon 18, season 12; sMAPE = mean over series and horizons of
200·|y−f|/(|y|+|f|). The baseline is a plain use of statsforecast: ``AutoETS(season_length=12)`` fit+predict on the
same series with the same n_jobs. Both get a warm-up on a tiny series first (imports, compiled code, first calls)
which is not timed. The machine is shared and its load drifts, so each side is timed ``--repeat`` times (default 2)
in the order chanlib, baseline, baseline, chanlib, ... and the fastest run of each is reported (the forecasts are
identical across repeats). Prints one line:

    m3_monthly smape=<x> seconds=<s> sf_autoets_smape=<x> sf_autoets_seconds=<s> time_ratio=<chanlib/sf>

    python bench/forecast_m3.py [--data PATH] [--n-jobs N] [--limit K] [--no-baseline]

The chanlib settings used are :data:`SETTINGS` below (the tuned configuration; see chanlib/forecast/README).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from chanlib.analytics.forecast import ForecastSettings, forecast

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "m3_monthly.csv.gz"
H, M = 18, 12

#: the configuration benchmarked (tuned on the monthly set only)
SETTINGS = dict(season_length=M, horizon=H, models=["ets_damped", "dotm", "theta"], combination=True,
                combination_margin=0.3, backtest_windows=1, metric="smape", levels=[80, 95], calibrate_intervals=True,
                engine="statsforecast")


def load(path: Path, limit: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(path)
    if limit:
        raw = raw[raw["series"].isin(raw["series"].drop_duplicates().iloc[:limit])]
    # an integer time index: the models need no calendar, and some M3 series carry placeholder years
    # (e.g. "-001-12") that pandas cannot parse as dates
    raw["ds"] = raw["t"].astype("int64")
    long = raw.rename(columns={"series": "unique_id", "value": "y"})
    train = long.loc[long["split"] == "train", ["unique_id", "ds", "y"]].reset_index(drop=True)
    test = long.loc[long["split"] == "test", ["unique_id", "ds", "y"]].reset_index(drop=True)
    return train, test


def smape(forecasts: pd.DataFrame, test: pd.DataFrame, column: str) -> float:
    m = test.merge(forecasts[["unique_id", "ds", column]], on=["unique_id", "ds"], how="left")
    if m[column].isna().any():
        raise RuntimeError(f"{int(m[column].isna().sum())} test points without a forecast")
    y, f = m["y"].to_numpy(), m[column].to_numpy()
    return float(np.mean(200.0 * np.abs(y - f) / (np.abs(y) + np.abs(f))))


def test_coverage(forecasts: pd.DataFrame, test: pd.DataFrame, levels: list[int]) -> dict[int, float]:
    m = test.merge(forecasts, on=["unique_id", "ds"], how="inner")
    return {lv: round(float(((m["y"] >= m[f"lo_{lv}"]) & (m["y"] <= m[f"hi_{lv}"])).mean()), 3) for lv in levels}


def tiny(freq_ds: pd.Series) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ds = pd.Series(freq_ds.sort_values().unique()[:40])
    return pd.DataFrame({"unique_id": ["w1"] * len(ds), "ds": ds, "y": 100 + rng.normal(0, 1, len(ds))})


def run_baseline(train: pd.DataFrame, test: pd.DataFrame, n_jobs: int, freq: str | int) -> tuple[float, float]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    # warm-up on its own object: StatsForecast caps n_jobs at the number of series it was first fit on
    StatsForecast(models=[AutoETS(season_length=M)], freq=freq, n_jobs=1).forecast(df=tiny(train["ds"]), h=H)
    started = time.perf_counter()
    sf = StatsForecast(models=[AutoETS(season_length=M)], freq=freq, n_jobs=n_jobs)
    fc = sf.forecast(df=train, h=H)
    seconds = time.perf_counter() - started
    return smape(fc, test, "AutoETS"), seconds


def run_chanlib(train: pd.DataFrame, test: pd.DataFrame, settings: ForecastSettings) -> tuple[float, float, object]:
    forecast(tiny(train["ds"]), settings.model_copy(update={"n_jobs": 1}))  # warm-up
    started = time.perf_counter()
    res = forecast(train, settings)
    seconds = time.perf_counter() - started
    return smape(res.forecasts, test, "yhat"), seconds, res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="only the first K series (quick checks)")
    parser.add_argument("--no-baseline", action="store_true", help="skip statsforecast AutoETS")
    parser.add_argument("--name", default=None, help="label of the result line (default from the file name)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each side (fastest reported)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    quarterly = "quarterly" in args.data.name
    global H, M
    if quarterly:
        H, M = 8, 4
    settings = ForecastSettings(**{**SETTINGS, "season_length": M, "horizon": H, "n_jobs": args.n_jobs})
    train, test = load(args.data, args.limit)
    freq = 1  # integer time index (see load)
    name = args.name or ("m3_quarterly" if quarterly else "m3_monthly")
    print(f"[{name}] {train['unique_id'].nunique()} series, n_jobs={args.n_jobs}", file=sys.stderr)

    ours_times, base_times = [], []
    for i in range(max(1, args.repeat)):
        sides = ("chanlib", "baseline") if i % 2 == 0 else ("baseline", "chanlib")
        for side in sides:
            if side == "chanlib":
                ours, took, res = run_chanlib(train, test, settings)
                ours_times.append(took)
                chosen = res.selection["model"].value_counts().to_dict()
                cover = res.coverage[res.coverage["model"] == "selected"][["level", "coverage"]].round(3)
                print(f"[{name}] chanlib smape={ours:.3f} in {took:.1f}s; chosen {chosen}; backtest coverage "
                      f"{cover.to_dict('records')}; test coverage "
                      f"{test_coverage(res.forecasts, test, settings.levels)}", file=sys.stderr)
            elif not args.no_baseline:
                base, took = run_baseline(train, test, args.n_jobs, freq)
                base_times.append(took)
                print(f"[{name}] statsforecast AutoETS smape={base:.3f} in {took:.1f}s", file=sys.stderr)
    seconds = min(ours_times)
    print(f"[{name}] timings chanlib={[round(t, 1) for t in ours_times]} "
          f"statsforecast={[round(t, 1) for t in base_times]}", file=sys.stderr)
    if args.no_baseline:
        print(f"{name} smape={ours:.3f} seconds={seconds:.1f}")
        return 0
    base_seconds = min(base_times)
    print(f"{name} smape={ours:.3f} seconds={seconds:.1f} sf_autoets_smape={base:.3f} "
          f"sf_autoets_seconds={base_seconds:.1f} time_ratio={seconds / base_seconds:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
