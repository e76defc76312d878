"""Benchmark: chanlib's automatic forecasting on M3 against the strongest simple peer, a plain statsforecast mean.

The peer (``sf_combo``) is statsforecast used as its documentation shows: ``StatsForecast(models=[AutoETS(damped=True),
DynamicOptimizedTheta(), Theta()], n_jobs=N).forecast(..., level=[80, 95])`` and the equal-weight mean of the three
forecasts, no backtest; it computes the same 80 %/95 % intervals chanlib's output carries (without them it takes
about 5 % less CPU). chanlib runs :data:`SETTINGS` (the library's defaults, see
``chanlib/analytics/forecast/README.md``).

Two sets, each scored by sMAPE = mean over series and horizons of 200·|y−f|/(|y|+|f|) (the M3 definition), on the
rows with split=test:

- ``m3_quarterly`` (756 series, h = 8, season 4): the **holdout**, the headline. Nothing was tuned on it; it is run
  once per configuration kept (the runs are logged in the forecast README, "Quarterly holdout log").
- ``m3_monthly`` (1,428 series, h = 18, season 12): the set the configuration was chosen on, so its figure is
  in-sample (``split=tuned``).

Both sides get the same series, horizon, season length and ``n_jobs`` worker processes (one BLAS thread each), and a
warm-up on a tiny series first (imports, compiled code) that is not timed. The machine may be shared and its load
drifts, so each side is timed ``--repeat`` times (default 2) in the order chanlib, peer, peer, chanlib, ... and the
fastest run of each is reported (the forecasts are identical across repeats), in wall-clock seconds and in CPU
seconds of the process and its workers (steadier on a shared machine). Prints one line per set, the holdout first:

    m3_quarterly split=holdout smape=<x> seconds=<s> sf_combo_smape=<x> sf_combo_seconds=<s> time_ratio=<ours/sf>
        cpu_seconds=<s> sf_combo_cpu_seconds=<s> series=<n> processes=<n> threads=1 cores=<n>
    m3_monthly split=tuned ...

    python bench/forecast_m3.py [--split both|holdout|tuned] [--n-jobs N] [--limit K] [--set key=value ...]

``--limit K`` keeps K series spread evenly over the set (quick checks; the line then says ``series=K``);
``--set`` overrides a setting (e.g. ``--set backtest_windows=1``) for tuning on the monthly set.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from chanlib.analytics.forecast import ForecastSettings, forecast

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
#: name -> (file, split label, horizon, season length)
SETS = {"m3_quarterly": ("m3_quarterly.csv.gz", "holdout", 8, 4),
        "m3_monthly": ("m3_monthly.csv.gz", "tuned", 18, 12)}

#: the configuration benchmarked: chanlib's defaults (chosen on the monthly set only); horizon and season per set
SETTINGS: dict = {}


def load(path: Path, limit: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(path)
    if limit:
        ids = raw["series"].drop_duplicates().to_numpy()
        keep = ids[np.linspace(0, len(ids) - 1, min(limit, len(ids))).round().astype(int)]
        raw = raw[raw["series"].isin(keep)]
    # an integer time index: the models need no calendar, and some M3 series carry placeholder years
    # (e.g. "-001-12") that pandas cannot parse as dates
    raw["ds"] = raw["t"].astype("int64")
    long = raw.rename(columns={"series": "unique_id", "value": "y"})
    train = long.loc[long["split"] == "train", ["unique_id", "ds", "y"]].reset_index(drop=True)
    test = long.loc[long["split"] == "test", ["unique_id", "ds", "y"]].reset_index(drop=True)
    return train, test


def smape(forecasts: pd.DataFrame, test: pd.DataFrame, column: str) -> float:
    """sMAPE over every test point; a test point without a forecast is an error, not skipped."""
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


def sf_combo_models(season_length: int) -> list:
    from statsforecast.models import AutoETS, DynamicOptimizedTheta, Theta

    return [AutoETS(season_length=season_length, damped=True), DynamicOptimizedTheta(season_length=season_length),
            Theta(season_length=season_length)]


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished worker processes (user + system): less sensitive than
    wall-clock time to other work on a shared machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_sf_combo(train: pd.DataFrame, test: pd.DataFrame, n_jobs: int, horizon: int, season_length: int,
                 levels: list[int]) -> tuple[float, float, float]:
    """The peer: statsforecast's three models, fit and forecast in one call (with the same interval levels as
    chanlib's output), and their equal-weight mean."""
    from statsforecast import StatsForecast

    # warm-up on its own object: StatsForecast caps n_jobs at the number of series it was first fit on
    StatsForecast(models=sf_combo_models(season_length), freq=1, n_jobs=1).forecast(df=tiny(train["ds"]), h=horizon)
    started, cpu = time.perf_counter(), cpu_seconds()
    sf = StatsForecast(models=sf_combo_models(season_length), freq=1, n_jobs=n_jobs)
    with threadpool_limits(limits=1):  # as chanlib's workers: one BLAS thread each (forked workers inherit it)
        fc = sf.forecast(df=train, h=horizon, level=levels or None)
    fc["combo"] = fc[["AutoETS", "DynamicOptimizedTheta", "Theta"]].mean(axis=1)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return smape(fc, test, "combo"), seconds, cpu


def run_chanlib(train: pd.DataFrame, test: pd.DataFrame,
                settings: ForecastSettings) -> tuple[float, float, float, object]:
    forecast(tiny(train["ds"]), settings.model_copy(update={"n_jobs": 1}))  # warm-up
    started, cpu = time.perf_counter(), cpu_seconds()
    res = forecast(train, settings)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return smape(res.forecasts, test, "yhat"), seconds, cpu, res


def parse_sets(pairs: list[str]) -> dict:
    """``key=value`` pairs (values read as JSON when they parse, else as strings)."""
    out: dict = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_set(name: str, args: argparse.Namespace, overrides: dict) -> str:
    file, split, horizon, season = SETS[name]
    settings = ForecastSettings(**{**SETTINGS, **overrides, "season_length": season, "horizon": horizon,
                                   "n_jobs": args.n_jobs})
    train, test = load(DATA / file, args.limit)
    n_series = train["unique_id"].nunique()
    print(f"[{name}] {n_series} series, n_jobs={args.n_jobs}, settings {overrides or 'default'}", file=sys.stderr)
    ours_times: list[float] = []
    base_times: list[float] = []
    ours_cpu: list[float] = []
    base_cpu: list[float] = []
    ours = base = float("nan")
    for i in range(max(1, args.repeat)):
        for side in (("chanlib", "sf") if i % 2 == 0 else ("sf", "chanlib")):
            if side == "chanlib":
                ours, took, cpu, res = run_chanlib(train, test, settings)
                ours_times.append(took)
                ours_cpu.append(cpu)
                chosen = res.selection["model"].value_counts().to_dict()
                flags = res.selection["flag"].value_counts().to_dict()
                cover = res.coverage[res.coverage["model"] == "selected"][["level", "coverage"]].round(3)
                print(f"[{name}] chanlib smape={ours:.3f} in {took:.1f}s; chosen {chosen}; flags {flags}; backtest "
                      f"coverage {cover.to_dict('records')}; test coverage "
                      f"{test_coverage(res.forecasts, test, settings.levels)}; cpu {cpu:.1f}s", file=sys.stderr)
            else:
                base, took, cpu = run_sf_combo(train, test, args.n_jobs, horizon, season, settings.levels)
                base_times.append(took)
                base_cpu.append(cpu)
                print(f"[{name}] statsforecast combo smape={base:.3f} in {took:.1f}s, cpu {cpu:.1f}s",
                      file=sys.stderr)
    seconds, base_seconds = min(ours_times), min(base_times)
    print(f"[{name}] timings chanlib={[round(t, 1) for t in ours_times]} "
          f"sf_combo={[round(t, 1) for t in base_times]}", file=sys.stderr)
    return (f"{name} split={split} smape={ours:.3f} seconds={seconds:.1f} sf_combo_smape={base:.3f} "
            f"sf_combo_seconds={base_seconds:.1f} time_ratio={seconds / base_seconds:.2f} "
            f"cpu_seconds={min(ours_cpu):.1f} sf_combo_cpu_seconds={min(base_cpu):.1f} series={n_series} "
            f"processes={args.n_jobs} threads=1 cores={os.cpu_count()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--split", choices=["both", "holdout", "tuned"], default="both",
                        help="holdout: M3 quarterly; tuned: M3 monthly; both (default): the holdout first")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes of each side")
    parser.add_argument("--limit", type=int, default=None, help="only K series, spread evenly (quick checks)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each side (fastest reported)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a chanlib forecast setting (tuning, on the monthly set only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    overrides = parse_sets(args.overrides)
    names = {"both": ["m3_quarterly", "m3_monthly"], "holdout": ["m3_quarterly"], "tuned": ["m3_monthly"]}
    for name in names[args.split]:
        print(run_set(name, args, overrides), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
