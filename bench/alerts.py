"""Benchmark: the planted anomalies of the medium demo found by the alerts of a store build, over three seeds.

For each seed the medium demo (600 partners, 12 regions, ~2M order lines; ``chanlib demo --size medium --seed N``,
generated into ``DATA/medium_seedN`` when missing) is built into a store of its own with ``alerts.lookback_months``
covering the whole history (so every day of the three years can raise an alert) and, by default, without forecasts
(``--forecast`` keeps them: a single build has no earlier forecast to compare with, so the revenue alerts are the
same). The planted anomalies (``truth/anomalies.csv``: one day's orders of a region x channel times 5 or 0.05) are
matched with the revenue alerts at region x channel level (point anomalies, level shifts, revenue below forecast):

* an alert matches an anomaly of the same region and channel dated within +-7 days;
* recall: the share of anomalies with a matching alert; precision: the share of those alerts matching an anomaly.

Prints one line: ``alerts seeds=1,2,3 recall=<per seed> precision=<per seed> cores=<n> ...``; the goal is recall >=
0.9 at precision >= 0.8 on every seed. ``--alerts`` sets alerts settings over the defaults (``{point_z_up: 5.0}``).

    .venv/bin/python bench/alerts.py [--seeds 1,2,3] [--data /tmp] [--work DIR] [--forecast] [--alerts YAML]

Holdout record (forecast off, point_cap 4, point_z 4.8 unless said):

* seed 1 is the tuning seed (its false alerts and misses were read; run many times);
* seeds 2 and 3 were the first holdout, run once with the defaults (recall 0.972 / 0.917, precision 0.824 /
  0.759: seed 3 fails); every setting considered after that has seen their figures, so they are no holdout any more;
* seeds 4, 5 and 6 were the fresh holdout, generated after ``point_z_up: 5.0`` had been chosen on seed 1 alone
  and run once per configuration: defaults recall 0.958 / 0.889 / 0.944, precision 0.784 / 0.753 / 0.782;
  ``point_z_up: 5.0`` recall 0.944 / 0.889 / 0.944, precision 0.819 / 0.771 / 0.791 (seed 1: 0.944 / 0.883 with
  the defaults, 0.944 / 0.919 with it). Neither meets the goal there, so the defaults stay; the per-seed false
  alerts of 4-6 were then counted by rule and direction, so they are no holdout for what comes next either.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from chanlib.build import build_store
from chanlib.config import load_params
from chanlib.data.demo import generate

log = logging.getLogger("bench.alerts")

#: the rules whose alerts are revenue alerts of a region x channel
REVENUE_RULES = ("point_anomaly", "level_shift", "revenue_below_forecast")
MATCH_DAYS = 7


def demo(data: Path, seed: int) -> Path:
    """The medium demo of ``seed`` in ``data/medium_seed<seed>`` (generated when missing)."""
    folder = data / f"medium_seed{seed}"
    if not (folder / "params.yaml").exists() or not (folder / "truth" / "anomalies.csv").exists():
        log.warning("generating the medium demo of seed %d in %s", seed, folder)
        generate(folder, size="medium", seed=seed)
    return folder


def params_file(folder: Path, work: Path, forecast: bool, alerts: dict | None = None) -> Path:
    """A params file reading the demo in ``folder`` (absolute paths) with its store in ``work`` (``alerts``: settings
    over the defaults)."""
    raw = yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8"))
    for table in raw["tables"].values():
        table["path"] = str((folder / table["path"]).resolve())
    raw["store"] = str(work / "chanlib.duckdb")
    raw["alerts"] = {**(alerts or {}), "lookback_months": 48}
    if not forecast:
        raw["forecast"] = {"enabled": False}
    path = work / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def score(alerts: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float, int]:
    """Recall, precision and the number of revenue alerts at region x channel level."""
    revenue = alerts[alerts["rule"].isin(REVENUE_RULES) & (alerts["channel"] != "") & (alerts["partner_id"] == "")
                     & (alerts["metric"] == "revenue") & (alerts["state"] != "resolved")].copy()
    revenue["ds"] = pd.to_datetime(revenue["ds"])
    truth = truth.assign(date=pd.to_datetime(truth["date"]))
    pairs = revenue.reset_index().merge(truth.reset_index(), on=["region", "channel"], suffixes=("", "_truth"))
    pairs = pairs[(pairs["ds"] - pairs["date"]).abs() <= pd.Timedelta(days=MATCH_DAYS)]
    recall = pairs["index_truth"].nunique() / len(truth) if len(truth) else float("nan")
    precision = pairs["index"].nunique() / len(revenue) if len(revenue) else float("nan")
    return recall, precision, len(revenue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()),
                        help="folder of the medium demos (medium_seedN; generated when missing)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "chanlib_bench_alerts",
                        help="where the stores are built")
    parser.add_argument("--forecast", action="store_true", help="keep the forecasts in the build (slower)")
    parser.add_argument("--alerts", default="{}", help="alerts settings over the defaults, in YAML ({point_z: 5.0})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = [int(s) for s in args.seeds.split(",")]
    overrides = yaml.safe_load(args.alerts) or {}
    recalls, precisions, counts, seconds = [], [], [], []
    for seed in seeds:
        folder = demo(args.data, seed)
        work = args.work / f"seed{seed}{'_forecast' if args.forecast else ''}"
        work.mkdir(parents=True, exist_ok=True)
        params = load_params(params_file(folder, work, args.forecast, overrides))
        started = time.perf_counter()
        build_store(params)
        seconds.append(time.perf_counter() - started)
        con = duckdb.connect(str(params.store), read_only=True)
        try:
            alerts = con.execute("SELECT * FROM result_alerts").df()
        finally:
            con.close()
        recall, precision, n = score(alerts, pd.read_csv(folder / "truth" / "anomalies.csv"))
        log.warning("seed %d: %d revenue alerts, recall %.3f, precision %.3f, build %.0f s", seed, n, recall,
                    precision, seconds[-1])
        recalls.append(recall)
        precisions.append(precision)
        counts.append(n)

    def fmt(values: list[float]) -> str:
        return ",".join(f"{v:.3f}" for v in values)

    print(f"alerts seeds={','.join(map(str, seeds))} recall={fmt(recalls)} precision={fmt(precisions)} "
          f"cores={os.cpu_count()} revenue_alerts={','.join(map(str, counts))} "
          f"build_seconds={','.join(f'{s:.0f}' for s in seconds)} forecast={'on' if args.forecast else 'off'}"
          f"{' alerts=' + json.dumps(overrides, sort_keys=True).replace(' ', '') if overrides else ''}")


if __name__ == "__main__":
    main()
