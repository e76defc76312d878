"""Benchmark: coherent forecasts of Australian domestic tourism (fpp3 §11.4), chanlib's reconciliation against
Nixtla's hierarchicalforecast on the same base forecasts.

Hierarchy ``aggregate_key((State/Region) * Purpose, Trips)``: total (1), state (8), region (76, State/Region),
purpose (4), state × purpose (32), region × purpose (304, the bottom): 425 series (fpp3's tourism data has no zone
level; zones belong to fpp2's ``visnights`` hierarchy). ETS base forecasts (AICc choice,
no backtest, as fable's ``ETS(Trips)``) on data to 2015Q4, h = 8 (2016Q1–2017Q4), reconciled bottom-up, OLS and
MinT (shrink) twice from the same base forecasts and in-sample residuals: by chanlib
(:func:`chanlib.analytics.forecast.reconcile`) and by hierarchicalforecast (``HierarchicalReconciliation`` with
``BottomUp()``, ``MinTrace(method="ols")``, ``MinTrace(method="mint_shrink")``, its documented DataFrame API).

MASE per series (scale: the in-sample MAE of the seasonal naive forecast, m = 4, as fable's ``MASE``), averaged per
level and over all 425 series. Every series is scored: the script stops if a level scores fewer series than it has
nodes or if any series' MASE is undefined (no ``nanmean``). The per-level table goes to stderr beside fpp3's
published figures (Table 11.2 gives the total and all series: base 1.53/1.04, bottom-up 3.17/1.08, OLS 1.63/1.03,
MinT 2.09/0.98). Reconciliation times are the fastest of ``--repeat`` runs of each side (DataFrames in and out);
the base forecasts are made once, in ``--n-jobs`` worker processes, and timed separately. Prints one line:

    tourism mase_base=<x> mase_bottom_up=<x> mase_ols=<x> mase_mint=<x> hf_mase_bottom_up=<x> hf_mase_ols=<x>
        hf_mase_mint=<x> reconcile_seconds=<s> hf_reconcile_seconds=<s> base_seconds=<s> series=425 processes=<n>
        threads=1 cores=<n>

    python bench/forecast_tourism.py [--data PATH] [--n-jobs N] [--repeat R] [--top-down]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from chanlib.analytics.forecast import ForecastSettings, aggregate, forecast, reconcile
from chanlib.analytics.forecast.metrics import mase

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "tourism_au_quarterly.csv.gz"
LEVELS = [[], ["State"], ["State", "Region"], ["Purpose"], ["State", "Purpose"], ["State", "Region", "Purpose"]]
#: level label in ``S.attrs["levels"]`` -> the table's name, in the table's order
LEVEL_NAMES = {"total": "total", "State": "state", "State/Region": "region", "Purpose": "purpose",
               "State/Purpose": "state x purpose", "State/Region/Purpose": "region x purpose"}
METHODS = ("bottom_up", "ols", "mint_shrink")
#: fpp3 Table 11.2 (fable), MASE: the total and all series
FPP3 = {"base": {"total": 1.53, "all": 1.04}, "bottom_up": {"total": 3.17, "all": 1.08},
        "ols": {"total": 1.63, "all": 1.03}, "mint_shrink": {"total": 2.09, "all": 0.98}}


def load(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("Unnamed") or c == ""])
    raw["ds"] = pd.to_datetime(raw["Quarter"])
    return raw.rename(columns={"Trips": "y"})[["State", "Region", "Purpose", "ds", "y"]]


def mase_by_series(fc: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, horizon: int) -> pd.Series:
    """MASE of every series; raises when a series lacks a forecast or a test point, or its MASE is undefined."""
    history = {uid: g["y"].to_numpy() for uid, g in train.groupby("unique_id", sort=False)}
    merged = fc[["unique_id", "ds", "yhat"]].merge(test, on=["unique_id", "ds"], how="outer")
    if merged[["yhat", "y"]].isna().any().any():
        raise RuntimeError(f"{int(merged[['yhat', 'y']].isna().any(axis=1).sum())} test points lack a forecast "
                           "or an actual")
    counts = merged.groupby("unique_id").size()
    if not counts.eq(horizon).all():
        raise RuntimeError(f"series with other than {horizon} test points: {counts[counts != horizon].to_dict()}")
    out = pd.Series({uid: mase(g["y"].to_numpy(), g["yhat"].to_numpy(), history[uid], 4)
                     for uid, g in merged.groupby("unique_id")})
    if not np.isfinite(out.to_numpy()).all():
        raise RuntimeError(f"undefined MASE for {list(out.index[~np.isfinite(out.to_numpy())])}")
    return out


def level_table(scores: dict[str, pd.Series], S: pd.DataFrame) -> pd.DataFrame:
    """Mean MASE per level (rows) and method (columns); checks every level scores all of its nodes."""
    level_of = pd.Series(S.attrs["levels"])
    rows = {}
    for label, name in LEVEL_NAMES.items():
        nodes = level_of.index[level_of == label]
        for method, s in scores.items():
            scored = s.reindex(nodes)
            if scored.isna().any() or len(nodes) == 0:
                raise RuntimeError(f"{method}: level {name} scores {int(scored.notna().sum())} of {len(nodes)} nodes")
        rows[f"{name} ({len(nodes)})"] = {method: float(s.reindex(nodes).mean()) for method, s in scores.items()}
    n_all = len(S)
    for method, s in scores.items():
        if len(s) != n_all or s.isna().any():
            raise RuntimeError(f"{method}: {len(s)} series scored, the hierarchy has {n_all}")
    rows[f"all ({n_all})"] = {method: float(s.mean()) for method, s in scores.items()}
    return pd.DataFrame(rows).T


def hf_inputs(base, S: pd.DataFrame) -> dict:
    """hierarchicalforecast's inputs from the same base forecasts, in-sample fitted values and S."""
    level_of = pd.Series(S.attrs["levels"])
    tags = {label: np.asarray(level_of.index[level_of == label], dtype=object) for label in LEVEL_NAMES}
    S_df = S.reset_index(names="unique_id")
    Y_hat_df = base.forecasts[["unique_id", "ds", "yhat"]].rename(columns={"yhat": "ETS"})
    Y_df = base.fitted[["unique_id", "ds", "y", "fitted"]].rename(columns={"fitted": "ETS"})
    return {"Y_hat_df": Y_hat_df, "Y_df": Y_df, "S_df": S_df, "tags": tags}


def run_hf(inputs: dict, method: str) -> pd.DataFrame:
    from hierarchicalforecast.core import HierarchicalReconciliation
    from hierarchicalforecast.methods import BottomUp, MinTrace

    reconciler = BottomUp() if method == "bottom_up" else MinTrace(method=method)
    out = HierarchicalReconciliation(reconcilers=[reconciler]).reconcile(**inputs)
    column = [c for c in out.columns if c.startswith("ETS/")]
    return out[["unique_id", "ds", column[0]]].rename(columns={column[0]: "yhat"})


def fastest(fn, repeat: int) -> tuple[object, float]:
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return result, best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes for the base forecasts")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each reconciliation (fastest kept)")
    parser.add_argument("--top-down", action="store_true", help="also report chanlib's top-down (forecast proportions)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)

    long, S = aggregate(load(args.data), LEVELS)
    train = long[long["ds"] <= "2015-12-31"]
    test = long[long["ds"] > "2015-12-31"]
    settings = ForecastSettings(season_length=4, horizon=8, models=["ets"], combination=False, backtest_windows=0,
                                intermittent_share=1.0, clip_negative=False, fitted=True, n_jobs=args.n_jobs)
    started = time.perf_counter()
    base = forecast(train, settings)
    base_seconds = time.perf_counter() - started
    assert base.fitted is not None
    if base.fitted["fitted"].isna().any():
        raise RuntimeError("base models without in-sample fitted values: "
                           f"{sorted(base.fitted.loc[base.fitted['fitted'].isna(), 'unique_id'].unique())[:5]}")
    residuals = base.fitted[["unique_id", "ds", "resid"]]
    inputs = hf_inputs(base, S)
    ours: dict[str, pd.DataFrame] = {"base": base.forecasts}
    theirs: dict[str, pd.DataFrame] = {}
    ours_seconds = theirs_seconds = 0.0
    # one BLAS thread on both sides: the same resources, and the machine may be shared
    with threadpool_limits(limits=1):
        for method in METHODS + (("top_down",) if args.top_down else ()):
            ours[method], took = fastest(lambda m=method: reconcile(base.forecasts, S, method=m, residuals=residuals),
                                         args.repeat)
            ours_seconds += took if method in METHODS else 0.0
            print(f"[tourism] chanlib {method}: {took * 1000:.1f} ms", file=sys.stderr)
        for method in METHODS:
            theirs[method], took = fastest(lambda m=method: run_hf(inputs, m), args.repeat)
            theirs_seconds += took
            print(f"[tourism] hierarchicalforecast {method}: {took * 1000:.1f} ms", file=sys.stderr)

    horizon = settings.horizon
    scores = {name: mase_by_series(fc, test, train, horizon) for name, fc in ours.items()}
    scores.update({f"hf_{name}": mase_by_series(fc, test, train, horizon) for name, fc in theirs.items()})
    table = level_table(scores, S)
    for method, figures in FPP3.items():
        table[f"fpp3_{method}"] = [figures.get(row.split(" (")[0], np.nan) for row in table.index]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"[tourism] MASE per level (nodes); {len(S)} series, base forecasts in {base_seconds:.1f}s\n"
              f"{table.round(3).to_string(na_rep='-')}", file=sys.stderr)
    for method in METHODS:
        gap = (scores[method] - scores[f"hf_{method}"]).abs().max()
        print(f"[tourism] {method}: largest per-series MASE difference chanlib vs hierarchicalforecast {gap:.2e}",
              file=sys.stderr)
    everything = table.loc[f"all ({len(S)})"]
    line = (f"tourism mase_base={everything['base']:.3f} mase_bottom_up={everything['bottom_up']:.3f} "
            f"mase_ols={everything['ols']:.3f} mase_mint={everything['mint_shrink']:.3f} "
            f"hf_mase_bottom_up={everything['hf_bottom_up']:.3f} hf_mase_ols={everything['hf_ols']:.3f} "
            f"hf_mase_mint={everything['hf_mint_shrink']:.3f} reconcile_seconds={ours_seconds:.3f} "
            f"hf_reconcile_seconds={theirs_seconds:.3f} base_seconds={base_seconds:.1f} series={len(S)} "
            f"processes={args.n_jobs} threads=1")
    if args.top_down:
        line += f" mase_top_down={everything['top_down']:.3f}"
    print(f"{line} cores={os.cpu_count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
