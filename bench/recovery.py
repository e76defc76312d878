"""Benchmark: how much of the medium demo's planted truth chanlib recovers, over seeds 1, 2 and 3.

For each seed the medium demo (600 partners, 12 regions, ~2M order lines; generated into ``DATA/medium_seedN`` when
missing or made by an older generator) is built into one store without forecasts, with the alerts looking back over
the whole history (``bench/alerts.py``'s params file), and every other setting at the library's defaults. Then:

* ``segments_ari`` -- the adjusted Rand index of the build's partner segments (``result_segment_partners``: k-means,
  k chosen by silhouette) against ``truth/partner_segments.csv``; ``segments_ari_k4``: the same clustering with k
  fixed at the planted 4; ``single_feature_ari_max``: the best ARI of a k-means (k = 4) on any one of the build's
  segment features alone (robust-scaled), the yardstick the segments must beat; ``supervised_ari``: a linear
  discriminant trained on the truth (5-fold cross-validated) on the same features -- about the ceiling of any
  clustering of them;
* ``affinity_found`` -- the share of categories whose top channel by share index (:func:`top_channel_per_category`
  over the last 12 complete months) is the planted home channel of ``truth/affinities.csv``;
* ``declines_recall`` / ``declines_precision`` -- the partners the scorecard gives *watch* or *eliminate* against
  ``truth/declining_partners.csv`` (``bench/partners.py``'s measure);
* ``anomalies_recall`` / ``anomalies_precision`` -- the revenue alerts of region x channels against
  ``truth/anomalies.csv`` (``bench/alerts.py``'s score: same region and channel, within 7 days).

Prints one line with the minimum and mean over the seeds (``min/mean``) and then each seed's figures:

    recovery seeds=1,2,3 segments_ari_min= segments_ari_mean= ... cores=<n>

    .venv/bin/python bench/recovery.py [--seeds 1,2,3] [--data /tmp/chanlib_recovery] [--work DIR]

First run (generator 2, library defaults, seeds 1 / 2 / 3): segments ARI 0.194 / 0.145 / 0.239 (k = 2 chosen on
every seed), 0.267 / 0.314 / 0.368 with k = 4, against 0.166 / 0.169 / 0.185 for the best single feature (target
attainment) and 0.536 / 0.518 / 0.514 for the supervised ceiling; affinity found 1.0 on each; declines recall
0.367 / 0.473 / 0.460 at precision 0.902 / 0.934 / 0.958; anomalies recall 0.278 / 0.236 / 0.236 at precision
1.000 / 0.895 / 1.000. A store build takes ~4 minutes per seed on a busy 2-core machine.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import cross_val_predict

from chanlib.analytics import product_fit
from chanlib.analytics.segment import PartnerSegmenter, partner_features
from chanlib.analytics.segment.scaling import RobustScaler
from chanlib.build import ensure
from chanlib.config import Params, load_params

sys.path.insert(0, str(Path(__file__).resolve().parent))
import alerts as alerts_bench  # noqa: E402  (bench/alerts.py)
import partners as partners_bench  # noqa: E402  (bench/partners.py)

log = logging.getLogger("bench.recovery")
PLANTED_K = 4


def segment_figures(con: duckdb.DuckDBPyConnection, params: Params, truth: pd.Series) -> dict[str, float]:
    """ARI of the build's segments, of k fixed at 4, of the best single feature and of a supervised classifier."""
    built = con.execute("SELECT partner_id, segment_id FROM result_segment_partners").df().set_index("partner_id")
    features = partner_features(con, params.segment)
    X = features.frame
    y = truth.reindex(X.index)
    fixed = PartnerSegmenter(params.segment.model_copy(update={"k_min": PLANTED_K, "k_max": PLANTED_K})).fit(X)
    scaler = RobustScaler(params.segment.log_features, params.segment.min_scale).fit(X)
    Z = scaler.transform(X)
    single = {c: adjusted_rand_score(y, KMeans(PLANTED_K, n_init=10, random_state=0).fit_predict(Z[:, [i]]))
              for i, c in enumerate(scaler.columns_)}
    best = max(single, key=lambda c: single[c])
    supervised = cross_val_predict(LinearDiscriminantAnalysis(), Z, y.to_numpy(), cv=5)
    return {"segments_ari": adjusted_rand_score(truth.reindex(built.index), built["segment_id"]),
            "segments_k": int(built["segment_id"].nunique()),
            "segments_ari_k4": adjusted_rand_score(y, fixed.labels_),
            "single_feature_ari_max": single[best], "single_feature": best,
            "supervised_ari": adjusted_rand_score(y, supervised)}


def affinity_found(con: duckdb.DuckDBPyConnection, truth: pd.DataFrame) -> float:
    """Share of categories whose top channel by share index is the planted home channel."""
    top = product_fit.top_channel_per_category(product_fit.fit_matrix(con))
    home = truth.set_index("category")["channel"]
    return float((top.reindex(home.index) == home).mean())


def measure(data: Path, work: Path, seed: int) -> dict[str, float]:
    folder = alerts_bench.demo(data, seed)
    work.mkdir(parents=True, exist_ok=True)
    params_path = alerts_bench.params_file(folder, work, forecast=False)
    params = load_params(params_path)
    started = time.perf_counter()
    ensure(params)
    build_seconds = time.perf_counter() - started
    truth = folder / "truth"
    con = duckdb.connect(str(params.store), read_only=True)
    try:
        segments = pd.read_csv(truth / "partner_segments.csv").set_index("partner_id")["segment"]
        figures = segment_figures(con, params, segments)
        figures["affinity_found"] = affinity_found(con, pd.read_csv(truth / "affinities.csv"))
        alerts = con.execute("SELECT * FROM result_alerts").df()
    finally:
        con.close()
    recall, precision, n = alerts_bench.score(alerts, pd.read_csv(truth / "anomalies.csv"))
    figures.update(anomalies_recall=recall, anomalies_precision=precision, revenue_alerts=n)
    partners = partners_bench.measure(params_path, truth)
    figures.update(declines_recall=partners["recall"], declines_precision=partners["precision"],
                   build_seconds=build_seconds)
    log.warning("seed %d: %s", seed, {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "chanlib_recovery",
                        help="folder of the medium demos (medium_seedN; generated when missing or outdated)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "chanlib_recovery" / "stores",
                        help="where the stores are built")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = [int(s) for s in args.seeds.split(",")]
    figures = {seed: measure(args.data, args.work / f"seed{seed}", seed) for seed in seeds}

    def summary(key: str) -> str:
        values = np.array([figures[s][key] for s in seeds], dtype=float)
        return f"{key}_min={values.min():.3f} {key}_mean={values.mean():.3f}"

    keys = ["segments_ari", "segments_ari_k4", "single_feature_ari_max", "supervised_ari", "affinity_found",
            "declines_recall", "declines_precision", "anomalies_recall", "anomalies_precision"]
    per_seed = " ".join(f"seed{s}=k:{f['segments_k']},single:{f['single_feature']},alerts:{f['revenue_alerts']},"
                        f"build_s:{f['build_seconds']:.0f}" for s, f in figures.items())
    print(f"recovery seeds={','.join(map(str, seeds))} {' '.join(summary(k) for k in keys)} size=medium "
          f"forecast=off {per_seed} cores={os.cpu_count()}")


if __name__ == "__main__":
    main()
