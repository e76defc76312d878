"""Benchmark: ``chanlib report`` against the papermill loop a user would write, on the medium demo (12 regions).

Measured in one run, on a store that is already built (building it is not timed):

* ``seconds``: ``chanlib report`` into an empty folder, every region (the cold run);
* ``rerun_seconds``: the same command again with nothing changed (every region skipped);
* ``marginal_per_region``: (cold seconds - seconds of a cold run of 2 regions) / 10;
* ``naive_seconds``: for each region, the papermill CLI on the same notebook with the same parameters, then
  ``jupyter nbconvert --to html --no-input`` -- what a competent papermill user runs, one region after another
  (the papermill CLI has no parallel mode; each call starts its own kernel);
* ``speedup`` = naive_seconds / seconds.

Prints one line::

    report regions=12 seconds=<s> naive_seconds=<s> speedup=<x> marginal_per_region=<s> rerun_seconds=<s>
           workers=<n> cores=<n>   (one line)

Goals (issue #12): speedup >= 8, marginal cost per extra region <= 1.5 s, unchanged rerun <= 3 s.

    .venv/bin/python bench/report.py [--demo DIR] [--seed 42] [--skip-naive]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "region_report.ipynb"


def run(args: list[str], **kw) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path(tempfile.gettempdir()) / "chanlib-bench-report-medium",
                        help="medium demo folder (generated and built when missing)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) papermill loop")
    args = parser.parse_args()
    chanlib = str(BIN / "chanlib")
    params = args.demo / "params.yaml"
    if not params.exists():
        subprocess.run([chanlib, "demo", "--size", "medium", "--seed", str(args.seed), "--out", str(args.demo), "-q"],
                       check=True)
    subprocess.run([chanlib, "ingest", "--params", str(params), "-q"], check=True, stdout=subprocess.DEVNULL)
    store = args.demo / "chanlib.duckdb"
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    regions = [r for (r,) in con.execute("SELECT DISTINCT region FROM sales ORDER BY region").fetchall()]
    con.close()
    out = Path(tempfile.mkdtemp(prefix="chanlib-bench-report-"))
    try:
        cold = run([chanlib, "report", "--params", str(params), "--out", str(out / "all"), "-q"])
        rerun = run([chanlib, "report", "--params", str(params), "--out", str(out / "all"), "-q"])
        two = run([chanlib, "report", "--params", str(params), "--out", str(out / "two"), "-q",
                   "--regions", ",".join(regions[:2])])
        marginal = (cold - two) / (len(regions) - 2)
        naive = float("nan")
        if not args.skip_naive:
            loop = out / "naive"
            loop.mkdir()
            started = time.perf_counter()
            for region in regions:
                nb = loop / f"{region}.ipynb"
                subprocess.run([str(BIN / "papermill"), str(NOTEBOOK), str(nb), "-p", "region", region,
                                "-p", "params_path", str(params.resolve()), "-p", "store_path", str(store.resolve()),
                                "--cwd", str(NOTEBOOK.parent)], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            naive = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cores = os.cpu_count() or 1
    print(f"report regions={len(regions)} seconds={cold:.1f} naive_seconds={naive:.1f} speedup={naive / cold:.1f} "
          f"marginal_per_region={marginal:.2f} rerun_seconds={rerun:.2f} workers={cores} cores={cores}")


if __name__ == "__main__":
    main()
