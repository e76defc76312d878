"""Scale benchmark (issue #10): out of core at ~100M sales rows, and the forecasting batch on a Dask cluster.

Prints two lines::

    scale rows=<sales rows kept> ingest_seconds=<s> kpi_seconds=<s> peak_rss_mb=<m> memory_limit=<duckdb> cores=<n>
    dask series=<n> seconds=<s> local_seconds=<s> ratio=<dask / local> workers=2 cores=<n>

**scale**: the xxl demo (``chanlib demo --size xxl``: ~100M order lines as a folder of monthly Parquet files, made
first when ``--data`` has none; its generation time goes to stderr) is ingested into a new store file
(:func:`chanlib.data.ingest.load_all`: load, map, validate, write the clean tables; every table of the demo), then
the build's KPI cube (region x channel x quarter, :func:`chanlib.analytics.kpi.kpi_table`) is computed on that
store. Each step runs in its own process with DuckDB's ``memory_limit``/``temp_directory``/``threads`` as params
give them (``--memory-limit``, default 2500MB, and ``--threads``, default 1: the measured configuration), spilling to
``<store>.tmp`` (up to ~35 GB at 100M rows); ``peak_rss_mb`` is the larger of the two processes' peak resident sets
(``ru_maxrss``: interpreter, libraries and DuckDB included). Goal: < 4096.

**dask**: ``--series`` synthetic monthly series (36 months, seeded) forecast by :func:`chanlib.analytics.forecast.
forecast` in one process (``local_seconds``) and on a ``LocalCluster`` of 2 worker processes with one thread each
(``seconds``; the cluster's start and a two-series warm-up on each side, which loads the libraries and their
compiled code, are not timed), and the two results must be identical.
``ratio`` = seconds / local_seconds. The models are ``--models`` (default ``ses,theta``: cheap models, so the
dispatch overhead weighs more than with the build's defaults; ``--models default`` uses the params' defaults).

    python bench/scale.py [--data /tmp/chanlib-xxl] [--memory-limit 2500MB] [--threads 1] [--series 10000]
                          [--models ses,theta] [--skip-scale] [--skip-dask] [--keep-store]

The xxl data take ~1.1 GB on disk, the store 1.9 GB and DuckDB's spill up to ~35 GB while ingesting: keep
``--data`` outside the repository (default /tmp/chanlib-xxl) and delete it afterwards.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chanlib.config import ForecastSettings, load_params  # noqa: E402

log = logging.getLogger("bench.scale")


def _params(data: Path, memory_limit: str, threads: int | None):
    params = load_params(data / "params.yaml")
    duck = params.duckdb.model_copy(update={"memory_limit": memory_limit, "threads": threads})
    return params.model_copy(update={"duckdb": duck, "store": data / "scale.duckdb"})


def _child(side: str, data: Path, memory_limit: str, threads: int | None) -> dict:
    """One timed step in this process; returns seconds, rows and the process's peak RSS in MB."""
    import duckdb

    from chanlib.analytics import kpi
    from chanlib.data import ingest, store

    params = _params(data, memory_limit, threads)
    started = time.perf_counter()
    if side == "ingest":
        Path(params.store).unlink(missing_ok=True)
        con = duckdb.connect(str(params.store), config=store.engine_config(params))
        try:
            quality = ingest.load_all(con, params)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        rows = next(t.rows_kept for t in quality.tables if t.table == "sales")
    else:
        con = store.connect(params.store, config=store.engine_config(params))
        try:
            cube = kpi.kpi_table(con, ["region", "channel"], "quarter")
            rows = len(cube.frame)
        finally:
            con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run_child(side: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", side, "--data", str(args.data), "--memory-limit",
               args.memory_limit] + (["--threads", str(args.threads)] if args.threads else [])
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stderr.write(result.stderr)
    if result.returncode:
        raise SystemExit(f"{side} failed")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    log.info("%s: %.1f s, peak RSS %.0f MB", side, out["seconds"], out["rss_mb"])
    return out


def scale_line(args: argparse.Namespace) -> str:
    data = Path(args.data)
    if not (data / "params.yaml").exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chanlib.cli", "demo", "--size", "xxl", "--seed", "42", "--out",
                        str(data)], check=True, cwd=ROOT)
        log.info("xxl demo generated in %.0f s", time.perf_counter() - started)
    ingest = _run_child("ingest", args)
    cube = _run_child("kpi", args)
    peak = max(ingest["rss_mb"], cube["rss_mb"])
    return (f"scale rows={ingest['rows']} ingest_seconds={ingest['seconds']:.1f} kpi_seconds={cube['seconds']:.1f} "
            f"peak_rss_mb={peak:.0f} memory_limit={args.memory_limit} cores={os.cpu_count()}")


def synthetic_series(n: int, months: int = 36, seed: int = 0) -> pd.DataFrame:
    """``n`` monthly series with level, trend, a yearly season and noise (seeded)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=months, freq="MS")
    t = np.arange(months)
    level = rng.lognormal(6, 1, n)[:, None]
    trend = (1 + rng.normal(0.01, 0.02, n)[:, None]) ** t
    season = 1 + rng.uniform(0, 0.4, n)[:, None] * np.sin(2 * np.pi * (t + rng.integers(0, 12, n)[:, None]) / 12)
    y = level * trend * season * np.exp(rng.normal(0, 0.15, (n, months)))
    ids = [f"s{i:06d}" for i in range(n)]
    return pd.DataFrame({"unique_id": np.repeat(ids, months), "ds": np.tile(ds, n), "y": y.ravel()})


def dask_line(args: argparse.Namespace) -> str:
    import distributed

    from chanlib.analytics.forecast import forecast

    df = synthetic_series(args.series)
    update: dict = {"freq": "MS"}
    if args.models != "default":
        update["models"] = args.models.split(",")
    settings = ForecastSettings().model_copy(update=update)
    warm = synthetic_series(2, seed=1)  # imports and compiled code loaded before the clocks start, on both sides
    forecast(warm, settings, n_jobs=1)
    started = time.perf_counter()
    local = forecast(df, settings, n_jobs=1)
    local_seconds = time.perf_counter() - started
    log.info("local (one process): %.1f s", local_seconds)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        client.run(forecast, warm, settings, n_jobs=1)
        started = time.perf_counter()
        remote = forecast(df, settings, scheduler=client)
        seconds = time.perf_counter() - started
    log.info("dask (2 workers): %.1f s", seconds)
    for name, frame in local.frames().items():
        pd.testing.assert_frame_equal(remote.frames()[name], frame, check_exact=True, obj=name)
    return (f"dask series={args.series} seconds={seconds:.1f} local_seconds={local_seconds:.1f} "
            f"ratio={seconds / local_seconds:.2f} workers=2 cores={os.cpu_count()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/chanlib-xxl"))
    parser.add_argument("--memory-limit", default="2500MB")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--models", default="ses,theta")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--keep-store", action="store_true", help="keep <data>/scale.duckdb afterwards")
    parser.add_argument("--child", choices=["ingest", "kpi"], default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
        print(json.dumps(_child(args.child, args.data, args.memory_limit, args.threads)))
        return
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if not args.skip_scale:
        print(scale_line(args), flush=True)
        if not args.keep_store:
            (args.data / "scale.duckdb").unlink(missing_ok=True)
            shutil.rmtree(args.data / "scale.duckdb.tmp", ignore_errors=True)
    if not args.skip_dask:
        print(dask_line(args), flush=True)


if __name__ == "__main__":
    main()
