"""Benchmark: ``chanlib report`` against the papermill loop a user would write, on the medium demo (12 regions).

Measured in one run, on a store that is already built (building it is not timed):

* ``seconds``: ``chanlib report`` into an empty folder, every region (the cold run);
* ``rerun_seconds``: the same command again with nothing changed (every region skipped);
* ``marginal_per_region``: (cold seconds - seconds of a cold run of 2 regions) / 10;
* ``naive_seconds``: for each region, the papermill CLI on the same notebook with the same parameters, then
  ``jupyter nbconvert --to html --no-input`` -- what a competent papermill user runs, one region after another
  (the papermill CLI has no parallel mode; each call starts its own kernel);
* ``speedup`` = naive_seconds / seconds;
* ``naive_parallel_seconds``: the same papermill-then-nbconvert chain per region, ``cores`` regions at a time
  (``xargs -P``), the strongest simple form of that loop; ``speedup_vs_parallel`` = naive_parallel_seconds / seconds;
* ``cpu_seconds`` / ``naive_cpu_seconds``: the CPU time (user + system) of each side's processes (runner, workers,
  kernels; papermill, nbconvert, kernels), which a busy machine inflates less than wall time;
* ``rss_mb`` / ``naive_rss_mb``: the peak memory of each side, the resident sets of all its processes summed
  (sampled every 0.1 s from /proc).

Prints one line::

    report regions=12 seconds=<s> naive_seconds=<s> speedup=<x> marginal_per_region=<s> rerun_seconds=<s>
           cpu_seconds=<s> naive_cpu_seconds=<s> rss_mb=<m> naive_rss_mb=<m> naive_parallel_seconds=<s>
           speedup_vs_parallel=<x> workers=<n> cores=<n>   (one line)

Goals (issue #12): speedup >= 8, marginal cost per extra region <= 1.5 s, unchanged rerun <= 3 s.

    .venv/bin/python bench/report.py [--demo DIR] [--seed 42] [--skip-naive]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "region_report.ipynb"


@dataclass
class Side:
    """What one side's commands cost: wall seconds, CPU seconds of all their processes, peak summed RSS (MB)."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    rss_mb: float = 0.0


def _tree_rss_mb(pid: int) -> float:
    """The resident sets of ``pid`` and every process below it, summed (MB)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2:].split()[1])
    tree, todo = {pid}, [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in tree:
                tree.add(child)
                todo.append(child)
    total = 0
    for member in tree:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run(args: list[str], side: Side | None = None, **kw) -> float:
    """Run a command to its end (it must succeed); add its wall and CPU seconds and its peak memory to ``side``."""
    side = side if side is not None else Side()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    while proc.poll() is None:
        side.rss_mb = max(side.rss_mb, _tree_rss_mb(proc.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    side.seconds += seconds
    side.cpu_seconds += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path(tempfile.gettempdir()) / "chanlib-bench-report-medium",
                        help="medium demo folder (generated and built when missing)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) papermill loop")
    args = parser.parse_args()
    chanlib = str(BIN / "chanlib")
    cores = os.cpu_count() or 1
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
        ours = Side()
        cold = run([chanlib, "report", "--params", str(params), "--out", str(out / "all"), "-q"], ours)
        rerun = run([chanlib, "report", "--params", str(params), "--out", str(out / "all"), "-q"])
        two = run([chanlib, "report", "--params", str(params), "--out", str(out / "two"), "-q",
                   "--regions", ",".join(regions[:2])])
        marginal = (cold - two) / (len(regions) - 2)
        theirs = Side(seconds=float("nan"), cpu_seconds=float("nan"), rss_mb=float("nan"))
        theirs_parallel = Side(seconds=float("nan"))
        if not args.skip_naive:
            theirs_parallel = Side()
            loop = out / "naive"
            loop.mkdir()
            theirs = Side()
            for region in regions:
                nb = loop / f"{region}.ipynb"
                run([str(BIN / "papermill"), str(NOTEBOOK), str(nb), "-p", "region", region,
                     "-p", "params_path", str(params.resolve()), "-p", "store_path", str(store.resolve()),
                     "--cwd", str(NOTEBOOK.parent)], theirs)
                run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb)], theirs)
            parallel = out / "parallel"
            parallel.mkdir()
            one_region = (f'"{BIN / "papermill"}" "{NOTEBOOK}" "{parallel}/$1.ipynb" -p region "$1" '
                          f'-p params_path "{params.resolve()}" -p store_path "{store.resolve()}" '
                          f'--cwd "{NOTEBOOK.parent}" && "{BIN / "jupyter"}" nbconvert --to html --no-input '
                          f'"{parallel}/$1.ipynb"')
            run(["bash", "-c", f"printf '%s\\n' \"$@\" | xargs -d '\\n' -P {cores} -n 1 bash -c '{one_region}' _",
                 "_", *regions], theirs_parallel)
        naive = theirs.seconds
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"report regions={len(regions)} seconds={cold:.1f} naive_seconds={naive:.1f} speedup={naive / cold:.1f} "
          f"marginal_per_region={marginal:.2f} rerun_seconds={rerun:.2f} cpu_seconds={ours.cpu_seconds:.1f} "
          f"naive_cpu_seconds={theirs.cpu_seconds:.1f} rss_mb={ours.rss_mb:.0f} naive_rss_mb={theirs.rss_mb:.0f} "
          f"naive_parallel_seconds={theirs_parallel.seconds:.1f} "
          f"speedup_vs_parallel={theirs_parallel.seconds / cold:.1f} workers={cores} cores={cores}")


if __name__ == "__main__":
    main()
