"""KPI cube benchmark: region x channel x month over the large demo (~10M sales lines), chanlib against pandas.

Both sides do the same work from the same files and end with the same cube as a DataFrame: every KPI of
:func:`chanlib.analytics.kpi.kpi_table` for 12 regions x 7 channels x 36 months (sales, distinct orders, partner
concentration, growth, shares, targets, costs, feedback, inventory). The files are the demo's tables after chanlib's
ingest (the clean, validated tables a store holds), written once as Parquet with dates as timestamps, in
``<dir>/<size>/clean/``; generating the demo and writing them is not timed (about 10 minutes for the large demo on 2
busy cores). Each timed run starts from those files and ends with the cube:

- chanlib: ``kpi_table`` on a new in-memory DuckDB connection whose tables are views over the Parquet files (DuckDB
  reads only the columns each query needs), with DuckDB's default threads: the number of cores.
- pandas: ``bench/kpi_pandas.py`` on DataFrames read with ``pd.read_parquet`` (pyarrow engine), only the columns the
  grouping needs (``kpi_pandas.needed_columns``); it joins only the tables the grouping needs, computes the month
  once and groups with ``observed=True, sort=False``. Three variants of the string columns: ``pandas`` (object,
  pandas' default), ``pandas_arrow`` (pyarrow-backed strings, ``future.infer_string``) and ``pandas_category`` (the
  keys read as categoricals, the order ids as pyarrow strings). ``speedup`` is against the fastest. pandas computes
  on one thread; pyarrow reads the files on as many threads as there are cores.

Each side runs in its own process (``python bench/kpi.py --side NAME ...``, started by this script): ``seconds`` is
the median of ``--repeat`` timed runs, ``*_rss_mb`` the process's peak resident set (``VmHWM``: interpreter,
libraries, inputs and working memory). Before printing, every pandas variant's cube must equal chanlib's: the same
cells, every KPI within a relative 1e-9, NaN in the same places. Each side's figures go to stderr, then one line::

    kpi input_rows=<sales lines> cube_rows=<cells> seconds=<chanlib> pandas_seconds=<fastest variant>
        speedup=<x> chanlib_rss_mb=<m> pandas_rss_mb=<m, that variant's> threads=duckdb:<n>,pandas:1,pyarrow_read:<n>
        cores=<n>

    python bench/kpi.py [--size large] [--dir /tmp/chanlib-bench] [--seed 42] [--repeat 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chanlib.analytics import kpi  # noqa: E402
from chanlib.config import load_params  # noqa: E402
from chanlib.data import ingest, store  # noqa: E402
from chanlib.data.demo import generate  # noqa: E402
from chanlib.data.schema import TABLES  # noqa: E402

_spec = importlib.util.spec_from_file_location("kpi_pandas", ROOT / "bench" / "kpi_pandas.py")
assert _spec and _spec.loader
kpi_pandas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kpi_pandas)

BY, PERIOD = ["region", "channel"], "month"
#: the tables the cube can use, written as Parquet from the clean tables
CUBE_TABLES = ("sales", "channels", "partners", "products", "targets", "costs", "inventory", "feedback", "market")
PANDAS_VARIANTS = ("pandas", "pandas_arrow", "pandas_category")
#: string columns the category variant reads as categoricals: keys with few distinct values
CATEGORY_COLUMNS = {"region", "channel", "partner_id", "product_id", "category", "cost_type", "channel_type", "model",
                    "market"}


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def peak_rss_mb() -> float:
    """This process's peak resident set in MB: ``VmHWM`` (counted from this program's start; ``ru_maxrss`` would
    carry over the peak of the parent it was forked from), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(size: str, seed: int, folder: Path) -> Path:
    """The clean tables of the ``size`` demo as Parquet (made once): generate the demo, ingest it, write each table."""
    demo = folder / size
    clean = demo / "clean"
    done = clean / "READY"
    if done.exists():
        return clean
    if not (demo / "params.yaml").exists():
        print(f"generating the {size} demo in {demo} ...", file=sys.stderr)
        generate(demo, size=size, seed=seed)
    params = load_params(demo / "params.yaml")
    clean.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    database = clean / "ingest.duckdb"
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    try:
        con.execute("SET enable_progress_bar = false")
        ingest.load_all(con, params)
        for name in CUBE_TABLES:
            if not store.has_table(con, name):
                continue
            dates = [c for c in store.table_columns(con, name) if TABLES[name].types.get(c) == "date"]
            cast = f" REPLACE ({', '.join(f'CAST({c} AS TIMESTAMP) AS {c}' for c in dates)})" if dates else ""
            target = store.quote_literal(str(clean / f"{name}.parquet"))
            con.execute(f"COPY (SELECT *{cast} FROM {name}) TO {target} (FORMAT parquet)")
    finally:
        con.close()
        database.unlink(missing_ok=True)
    done.touch()
    print(f"clean Parquet tables written to {clean} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return clean


# --- the sides: each in its own process ------------------------------------------------------------------------------

def chanlib_cube(clean: Path) -> pd.DataFrame:
    """chanlib's cube: ``kpi_table`` over views of the Parquet files (dates cast back to DATE, as in a store)."""
    con = duckdb.connect()
    for path in sorted(clean.glob("*.parquet")):
        name = path.stem
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({store.quote_literal(str(path))})")
                   .fetchall()]
        dates = [c for c in columns if TABLES[name].types.get(c) == "date"]
        cast = f" REPLACE ({', '.join(f'CAST({c} AS DATE) AS {c}' for c in dates)})" if dates else ""
        con.execute(f"CREATE VIEW {name} AS SELECT *{cast} FROM read_parquet({store.quote_literal(str(path))})")
    frame = kpi.kpi_table(con, BY, PERIOD).frame
    con.close()
    return frame


def pandas_cube(clean: Path, variant: str) -> pd.DataFrame:
    """The pandas cube: only the needed columns of the needed tables, read with the variant's string dtype."""
    tables = {}
    for name, columns in kpi_pandas.needed_columns(BY).items():
        path = clean / f"{name}.parquet"
        if not path.exists():
            continue
        options = {}
        if variant == "pandas_category":
            options["read_dictionary"] = [c for c in columns if c in CATEGORY_COLUMNS]
        tables[name] = pd.read_parquet(path, columns=columns, engine="pyarrow", **options)
    return kpi_pandas.kpi_cube(tables, BY, PERIOD)


def run_side(side: str, clean: Path, repeat: int, cube_path: Path) -> None:
    """Time ``side`` (median of ``repeat`` runs), write its cube to ``cube_path`` and print its figures as JSON."""
    if side in ("pandas_arrow", "pandas_category"):
        pd.set_option("future.infer_string", True)
    compute = (lambda: chanlib_cube(clean)) if side == "chanlib" else (lambda: pandas_cube(clean, side))
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        cube = compute()
        times.append(time.perf_counter() - started)
    rss_mb = peak_rss_mb()
    cube.to_parquet(cube_path)
    if side == "chanlib":  # DuckDB's threads; for pandas, those pyarrow reads the files on
        threads = int((duckdb.connect().execute("SELECT current_setting('threads')").fetchone() or [1])[0])
    else:
        threads = pa.cpu_count()
    print(json.dumps({"side": side, "seconds": statistics.median(times), "times": times, "rss_mb": rss_mb,
                      "cube_rows": len(cube), "threads": threads}))


def _child(side: str, clean: Path, repeat: int, cube_path: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--clean", str(clean),
               "--repeat", str(repeat), "--cube", str(cube_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{side} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _comparable(cube: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    cube = cube.copy()
    for key in keys:
        cube[key] = pd.to_datetime(cube[key]) if key == "period" else cube[key].astype(str).astype(object)
    return cube.sort_values(keys).reset_index(drop=True)


def check_same(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str], label: str) -> None:
    """Assert that two cubes have the same cells and every KPI agrees (relative 1e-9, NaN in the same places)."""
    a, b = _comparable(ours, keys), _comparable(theirs, keys)
    assert len(a) == len(b), f"{label}: {len(a)} cells against chanlib's {len(b)}"
    pd.testing.assert_frame_equal(a[keys], b[keys], check_dtype=False, obj=f"{label} keys")
    kpis = [c for c in a.columns if c not in keys]
    missing = sorted(set(kpis) ^ (set(b.columns) - set(keys)))
    assert not missing, f"{label}: KPIs on one side only: {missing}"
    for column in kpis:
        x, y = a[column].to_numpy("float64"), b[column].to_numpy("float64")
        assert np.array_equal(np.isnan(x), np.isnan(y)), f"{label}: {column} is NaN in other places"
        np.testing.assert_allclose(y[~np.isnan(y)], x[~np.isnan(x)], rtol=1e-9, atol=0, err_msg=f"{label}: {column}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large", "xl"])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chanlib-bench",
                        help="where the demo and its clean Parquet tables are made once and kept")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--side", choices=["chanlib", *PANDAS_VARIANTS], help=argparse.SUPPRESS)
    parser.add_argument("--clean", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cube", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.side:
        run_side(args.side, args.clean, args.repeat, args.cube)
        return

    clean = prepare(args.size, args.seed, args.dir)
    input_rows = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet({store.quote_literal(str(clean / 'sales.parquet'))})").fetchone()[0]
    with tempfile.TemporaryDirectory(prefix="kpi-cubes-") as cubes:
        results = {side: _child(side, clean, args.repeat, Path(cubes) / f"{side}.parquet")
                   for side in ("chanlib", *PANDAS_VARIANTS)}
        ours = pd.read_parquet(Path(cubes) / "chanlib.parquet")
        keys = [kpi.DIMENSIONS[b][0] for b in BY] + ["period"]
        for side in PANDAS_VARIANTS:
            check_same(ours, pd.read_parquet(Path(cubes) / f"{side}.parquet"), keys, side)
    mine = results["chanlib"]
    best = min(PANDAS_VARIANTS, key=lambda side: results[side]["seconds"])
    theirs = results[best]
    print(f"{input_rows} sales lines; every pandas variant's cube equals chanlib's", file=sys.stderr)
    for side, r in results.items():
        print(f"  {side}: median {r['seconds']:.3f} s of {', '.join(f'{t:.3f}' for t in r['times'])}; "
              f"peak RSS {r['rss_mb']:.0f} MB{' (the fastest pandas)' if side == best else ''}", file=sys.stderr)
    print(f"kpi input_rows={input_rows} cube_rows={mine['cube_rows']} seconds={mine['seconds']:.3f} "
          f"pandas_seconds={theirs['seconds']:.3f} speedup={theirs['seconds'] / mine['seconds']:.1f} "
          f"chanlib_rss_mb={mine['rss_mb']:.0f} pandas_rss_mb={theirs['rss_mb']:.0f} "
          f"threads=duckdb:{mine['threads']},pandas:1,pyarrow_read:{theirs['threads']} cores={cores()}")


if __name__ == "__main__":
    main()
