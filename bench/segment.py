"""Benchmark: segment 100,000 partners x 10 features with automatic k (k-means, silhouette, k = 2..8).

The features are drawn from a seeded mixture of 6 partner groups with skewed, differently scaled features (revenue
in money, growth ratios, day counts, shares) so the scaling and the choice of k have real work to do. Prints one
line, ``segment n=100000 k=<k> seconds=<s>`` (fit only, features in memory); the goal is <= 10 s on 2 cores.

    .venv/bin/python bench/segment.py [--n 100000] [--seed 0]
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

from chanlib.analytics.segment import PartnerSegmenter, SegmentSettings

log = logging.getLogger("bench.segment")


def features(n: int, seed: int, groups: int = 6) -> pd.DataFrame:
    """``n`` partners x 10 features from ``groups`` planted groups (and the group of each, as ``attrs['truth']``)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, n)
    centre = rng.normal(0, 1.2, (groups, 10))
    z = centre[group] + rng.normal(0, 0.5, (n, 10))
    frame = pd.DataFrame({
        "revenue": np.exp(11 + z[:, 0]),
        "growth": np.expm1(0.3 * z[:, 1]),
        "volatility": np.exp(-1 + 0.4 * z[:, 2]),
        "margin": 0.25 + 0.05 * z[:, 3],
        "online_share": 1 / (1 + np.exp(-z[:, 4])),
        "recency_days": np.round(np.exp(1.5 + 0.6 * z[:, 5])),
        "target_attainment": np.exp(0.2 * z[:, 6]),
        "sell_through": 1 / (1 + np.exp(-1 - z[:, 7])),
        "stores": np.round(np.exp(1 + 0.5 * z[:, 8])),
        "credit_score": 60 + 10 * z[:, 9],
    }, index=pd.Index([f"P{i:06d}" for i in range(n)], name="partner_id"))
    frame.attrs["truth"] = group
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--method", choices=["kmeans", "gmm"], default="kmeans")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    X = features(args.n, args.seed)
    settings = SegmentSettings(k_min=2, k_max=8, method=args.method, seed=args.seed)
    started = time.perf_counter()
    seg = PartnerSegmenter(settings).fit(X)
    seconds = time.perf_counter() - started
    from sklearn.metrics import adjusted_rand_score
    log.warning("scores %s; ARI vs planted groups %.3f", seg.scores_.round(3).to_dict(),
                adjusted_rand_score(X.attrs["truth"], seg.labels_))
    print(f"segment n={args.n} k={seg.k_} seconds={seconds:.2f}")


if __name__ == "__main__":
    main()
