"""Benchmark: the planted anomalies of the medium demo found by the alerts of a store build, over three seeds.

For each seed the medium demo (600 partners, 12 regions, ~2M order lines; ``chanlib demo --size medium --seed N``,
generated into ``DATA/medium_seedN`` when missing or made by an older generator) is built into a store of its own
with ``alerts.lookback_months`` covering the whole history (so every day of the three years can raise an alert) and,
by default, without forecasts (``--forecast`` keeps them: a single build has no earlier forecast to compare with, so
the revenue alerts are the same). The planted anomalies (``truth/anomalies.csv``: one day's expected orders of a
region x channel moved by 5-8 standard deviations on the Anscombe scale, x2.0-4.3 or x0.0-0.37 on the medium demo;
generator 1, before issue #15, multiplied them by 5 or 0.05, generator 2 moved them by 3.5-6 SDs) are matched with
the revenue alerts at region x channel level (point anomalies, level shifts, revenue below forecast):

* an alert matches an anomaly of the same region and channel dated within +-7 days;
* recall: the share of anomalies with a matching alert; precision: the share of those alerts matching an anomaly.

Prints one line: ``alerts seeds=1,2,3 recall=<per seed> precision=<per seed> ... cores=<n>``; the goal is recall >=
0.9 at precision >= 0.8 on every seed. ``--alerts`` sets alerts settings over the defaults (``{point_z_up: 4.0}``).
``--rescore`` re-runs only the alerts step on each seed's store already in ``--work`` (built after its demo; else it
is built): seconds per seed instead of a build, for trying settings.

    .venv/bin/python bench/alerts.py [--seeds 1,2,3] [--data /tmp] [--work DIR] [--forecast] [--alerts YAML] [--rescore]

Holdout record (forecast off, point_cap 4, point_z 4.8 unless said):

* seed 1 is the tuning seed (its false alerts and misses were read; run many times);
* seeds 2 and 3 were the first holdout, run once with the defaults (recall 0.972 / 0.917, precision 0.824 /
  0.759: seed 3 fails); every setting considered after that has seen their figures, so they are no holdout any more;
* seeds 4, 5 and 6 were the fresh holdout, generated after ``point_z_up: 5.0`` had been chosen on seed 1 alone
  and run once per configuration: defaults recall 0.958 / 0.889 / 0.944, precision 0.784 / 0.753 / 0.782;
  ``point_z_up: 5.0`` recall 0.944 / 0.889 / 0.944, precision 0.819 / 0.771 / 0.791 (seed 1: 0.944 / 0.883 with
  the defaults, 0.944 / 0.919 with it). Neither meets the goal there, so the defaults stay; the per-seed false
  alerts of 4-6 were then counted by rule and direction, so they are no holdout for what comes next either.

All of the above is on generator 1's anomalies (x5 / x0.05 days). On generator 2's moderate ones (3.5-6 SDs, issue
#15) the defaults find far fewer, seeds 1-3 (``bench/recovery.py``, same params and scoring): recall 0.278 / 0.236 /
0.236 at precision 1.000 / 0.895 / 1.000 (20 / 19 / 17 revenue alerts).

Generator 3 (5-8 SDs): with the old defaults (point_z 4.8, point_z_up None, point_min_ratio 2) seeds 7-9 give recall
0.681 / 0.722 / 0.736 at precision 0.980 / 0.981 / 0.981. Seeds 7-9 were the tuning seeds (a grid of thresholds on
their scored series, then ``--rescore``): at z 3.8 both ways seed 7's 14 false alerts were all falls (several zero
days of channels expecting 6-10 orders, where the Anscombe scale understates Poisson's lower tail), while planted
spikes scored a median 1.1 below their planted z (partners' excess trimmed; drops 0.7, Poisson noise SD 1). Kept:
point_z 4.2, point_z_up 3.4, point_min_ratio 1.6: recall 0.903 / 0.931 / 0.903, precision 0.855 / 0.859 / 0.833
(false alerts then ~60 % rises). Seeds 10-12 were the holdout, generated and run once with those defaults: recall 0.917
/ 0.917 / 0.958, precision 0.943 / 0.880 / 0.932 (70 / 75 / 74 revenue alerts). Seeds >= 13 are unseen.
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

from chanlib.analytics.alerts import run_alerts
from chanlib.build import build_store
from chanlib.config import Params, load_params
from chanlib.data.demo import generate, is_current

log = logging.getLogger("bench.alerts")

#: the rules whose alerts are revenue alerts of a region x channel
REVENUE_RULES = ("point_anomaly", "level_shift", "revenue_below_forecast")
MATCH_DAYS = 7


def demo(data: Path, seed: int) -> Path:
    """The medium demo of ``seed`` in ``data/medium_seed<seed>`` (generated when missing)."""
    folder = data / f"medium_seed{seed}"
    if not is_current(folder) or not (folder / "truth" / "anomalies.csv").exists():  # missing, or an older generator
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


def built(store: Path, folder: Path) -> bool:
    """Whether ``store`` was built after the demo in ``folder`` was generated."""
    return store.is_file() and store.stat().st_mtime > (folder / "params.yaml").stat().st_mtime


def rescore(params: Params) -> pd.DataFrame:
    """The alerts of the store already built at ``params.store``, re-run with ``params.alerts`` (only the alerts step
    of a build, as the build calls it; nothing is written). A rebuild would mark the previous build's other alerts
    resolved, which :func:`score` leaves out, so the revenue alerts scored are the same."""
    con = duckdb.connect(str(params.store), read_only=True)
    try:
        tables, _ = run_alerts(con, params.alerts, currency=params.currency, window_months=params.periods.window_months,
                               tolerance_days=params.periods.complete_tolerance_days)
    finally:
        con.close()
    return tables["alerts"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()),
                        help="folder of the medium demos (medium_seedN; generated when missing)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "chanlib_bench_alerts",
                        help="where the stores are built")
    parser.add_argument("--forecast", action="store_true", help="keep the forecasts in the build (slower)")
    parser.add_argument("--alerts", default="{}", help="alerts settings over the defaults, in YAML ({point_z: 5.0})")
    parser.add_argument("--rescore", action="store_true",
                        help="re-run only the alerts on each seed's store in --work when it was built after its demo "
                             "(seconds instead of minutes; a missing or older store is built)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = [int(s) for s in args.seeds.split(",")]
    overrides = yaml.safe_load(args.alerts) or {}
    recalls, precisions, counts, seconds, steps = [], [], [], [], []
    for seed in seeds:
        folder = demo(args.data, seed)
        work = args.work / f"seed{seed}{'_forecast' if args.forecast else ''}"
        work.mkdir(parents=True, exist_ok=True)
        params = load_params(params_file(folder, work, args.forecast, overrides))
        started = time.perf_counter()
        if args.rescore and built(Path(params.store), folder):
            alerts = rescore(params)
            steps.append("alerts")
        else:
            build_store(params)
            steps.append("build")
            con = duckdb.connect(str(params.store), read_only=True)
            try:
                alerts = con.execute("SELECT * FROM result_alerts").df()
            finally:
                con.close()
        seconds.append(time.perf_counter() - started)
        recall, precision, n = score(alerts, pd.read_csv(folder / "truth" / "anomalies.csv"))
        log.warning("seed %d: %d revenue alerts, recall %.3f, precision %.3f, %s %.0f s", seed, n, recall,
                    precision, steps[-1], seconds[-1])
        recalls.append(recall)
        precisions.append(precision)
        counts.append(n)

    def fmt(values: list[float]) -> str:
        return ",".join(f"{v:.3f}" for v in values)

    print(f"alerts seeds={','.join(map(str, seeds))} recall={fmt(recalls)} precision={fmt(precisions)} "
          f"revenue_alerts={','.join(map(str, counts))} step={','.join(steps)} "
          f"seconds={','.join(f'{s:.0f}' for s in seconds)} forecast={'on' if args.forecast else 'off'}"
          f"{' alerts=' + json.dumps(overrides, sort_keys=True).replace(' ', '') if overrides else ''} "
          f"cores={os.cpu_count()}")


if __name__ == "__main__":
    main()
