"""KPI cube benchmark: region x channel x month over the large demo (~10M sales rows).

chanlib computes the cube from its DuckDB store; the baseline computes the same KPIs with plain pandas
(``bench/kpi_pandas.py``) from DataFrames already in memory. Both results are checked to agree before timing counts.
Data preparation (demo generation, store build, reading the files into pandas) is done once and not timed.

Prints one line: ``kpi rows=<n> seconds=<s> pandas_seconds=<s> speedup=<x> peak_rss_mb=<m>``
(seconds: best of ``--repeat`` runs each; peak_rss_mb: the process's peak resident memory).

    python bench/kpi.py [--size large] [--dir data/bench] [--repeat 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chanlib.analytics import kpi  # noqa: E402
from chanlib.build import ensure  # noqa: E402
from chanlib.config import load_params  # noqa: E402
from chanlib.data import store  # noqa: E402
from chanlib.data.demo import generate  # noqa: E402

_spec = importlib.util.spec_from_file_location("kpi_pandas", ROOT / "bench" / "kpi_pandas.py")
kpi_pandas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kpi_pandas)

BY, PERIOD = ["region", "channel"], "month"


def _best(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def _read(source) -> pd.DataFrame:
    frame = pd.read_parquet(source.path) if source.file_format == "parquet" else pd.read_csv(source.path)
    for column in ("date", "period"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large", "xl"])
    parser.add_argument("--dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    demo = args.dir / args.size
    if not (demo / "params.yaml").exists():
        print(f"generating the {args.size} demo in {demo} ...", file=sys.stderr)
        generate(demo, size=args.size, seed=args.seed)
    params = load_params(demo / "params.yaml")
    started = time.perf_counter()
    ensure(params)
    print(f"store ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    con = store.connect(params.store)
    seconds, ours = _best(lambda: kpi.kpi_table(con, BY, PERIOD).frame, args.repeat)

    tables = {name: _read(src) for name, src in params.tables.items()}
    pandas_seconds, theirs = _best(lambda: kpi_pandas.kpi_cube(tables, BY, PERIOD), args.repeat)

    keys = BY + ["period"]
    a = ours.sort_values(keys).reset_index(drop=True)
    b = theirs.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b), (len(a), len(b))
    for column in ("revenue", "orders", "gross_margin", "hhi", "target_attainment", "channel_roi", "weeks_of_supply"):
        np.testing.assert_allclose(a[column].to_numpy(float), b[column].to_numpy(float), rtol=1e-6, err_msg=column)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"kpi rows={len(ours)} seconds={seconds:.3f} pandas_seconds={pandas_seconds:.3f} "
          f"speedup={pandas_seconds / seconds:.1f} peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
