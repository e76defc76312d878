"""Benchmark: coherent forecasts of Australian domestic tourism (fpp3 §11.4).

Hierarchy ``aggregate_key((State/Region) * Purpose, Trips)``: Total, State, State/Region, Purpose, State×Purpose,
State/Region×Purpose (425 series). ETS base forecasts (AICc choice, no backtest, as fable's ``ETS(Trips)``) on
data to 2015Q4, h = 8 (2016Q1–2017Q4), reconciled bottom-up, OLS and MinT (shrink). Prints one line:

    tourism mase_base=<x> mase_bottom_up=<x> mase_ols=<x> mase_mint=<x>

MASE per series (scale: in-sample MAE of the seasonal naive forecast, m = 4), averaged over all 425 series.
Published (fable, fpp3 Table 11.2): base 1.04, bottom-up 1.08, OLS 1.03, MinT 0.98.

    python bench/forecast_tourism.py [--data PATH] [--n-jobs N] [--top-down]
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from chanlib.analytics.forecast import ForecastSettings, aggregate, forecast, reconcile
from chanlib.analytics.forecast.metrics import mase

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "tourism_au_quarterly.csv.gz"
LEVELS = [[], ["State"], ["State", "Region"], ["Purpose"], ["State", "Purpose"], ["State", "Region", "Purpose"]]


def load(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("Unnamed") or c == ""])
    raw["ds"] = pd.to_datetime(raw["Quarter"])
    return raw.rename(columns={"Trips": "y"})[["State", "Region", "Purpose", "ds", "y"]]


def mean_mase(fc: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame) -> float:
    history = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id", sort=False)}
    merged = fc.merge(test, on=["unique_id", "ds"], how="inner")
    values = [mase(g["y"].to_numpy(), g["yhat"].to_numpy(), history[uid], 4) for uid, g in merged.groupby("unique_id")]
    return float(np.nanmean(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--top-down", action="store_true", help="also report top-down (forecast proportions)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.perf_counter()

    long, S = aggregate(load(args.data), LEVELS)
    train = long[long["ds"] <= "2015-12-31"]
    test = long[long["ds"] > "2015-12-31"]
    settings = ForecastSettings(season_length=4, horizon=8, models=["ets"], combination=False, backtest_windows=0,
                                intermittent_share=1.0, clip_negative=False, fitted=True, n_jobs=args.n_jobs)
    base = forecast(train, settings)
    residuals = base.fitted[["unique_id", "ds", "resid"]]
    results = {"base": base.forecasts}
    for method in ("bottom_up", "ols", "mint_shrink") + (("top_down",) if args.top_down else ()):
        results[method] = reconcile(base.forecasts, S, method=method, residuals=residuals)
    scores = {name: mean_mase(fc, test, train) for name, fc in results.items()}
    print(f"[tourism] {len(S)} series, {time.perf_counter() - started:.1f}s", file=sys.stderr)
    line = (f"tourism mase_base={scores['base']:.3f} mase_bottom_up={scores['bottom_up']:.3f} "
            f"mase_ols={scores['ols']:.3f} mase_mint={scores['mint_shrink']:.3f}")
    if args.top_down:
        line += f" mase_top_down={scores['top_down']:.3f}"
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
