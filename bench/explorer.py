"""Explorer benchmark: how long the explorer (notebooks/explorer.ipynb) takes to redraw after a dropdown change.

The explorer's widgets are built as in JupyterLab and the region dropdown is set to each region in turn, as a user
would pick them; each change redraws the chart and the table through the widgets' own observers (compute, draw, PNG)
and is timed from the change to the end of the redraw. The KPI tables the views read are computed when the explorer
opens (``startup``), as in the notebook; the browser's share (sending the PNG, painting) is not in these numbers
(``tests/test_lab.py`` notes it for the small demo in ``test-artifacts/``).

Prints one line: ``explorer redraw_median_s=<s> redraw_max_s=<s> changes=<n> regions=<r> sales_rows=<rows>
startup_s=<s> cores=<n>``.

    python bench/explorer.py [--params P] [--store S] [--dir data/bench] [--rounds 2]

Without ``--params`` the medium demo is generated in ``<dir>/medium`` (forecasting off: the explorer does not need
it) and its store built, once.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chanlib.data.demo import generate  # noqa: E402
from chanlib.report.explorer import ALL_REGIONS, open_explorer  # noqa: E402


def _medium(folder: Path) -> Path:
    params = folder / "params.yaml"
    if not params.exists():
        print(f"generating the medium demo in {folder} ...", file=sys.stderr)
        generate(folder, size="medium", seed=42)
        params.write_text(params.read_text(encoding="utf-8") + "forecast: {enabled: false}\n", encoding="utf-8")
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=None, help="params file (default: the medium demo)")
    parser.add_argument("--store", type=Path, default=None, help="a built store to read as it is")
    parser.add_argument("--dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--rounds", type=int, default=2, help="times every region is picked")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    params = args.params or _medium(args.dir / "medium")
    started = time.perf_counter()
    ex = open_explorer(params, args.store)
    sink = io.StringIO()  # outside a kernel the widgets' displays print their text form
    with contextlib.redirect_stdout(sink):
        ex.widget()
    startup = time.perf_counter() - started
    region = ex._controls["region"]
    times = []
    picks = [*ex.regions, ALL_REGIONS] * args.rounds
    with contextlib.redirect_stdout(sink):
        for name in picks:
            if region.value == name:
                continue
            tick = time.perf_counter()
            region.value = name
            times.append(time.perf_counter() - tick)
            assert ex.current is not None and ex.current.selection.region == name
    rows = int(ex.wb.con.execute("SELECT count(*) FROM sales").fetchall()[0][0])
    print(f"explorer redraw_median_s={statistics.median(times):.3f} redraw_max_s={max(times):.3f} "
          f"changes={len(times)} regions={len(ex.regions)} sales_rows={rows} startup_s={startup:.1f} "
          f"cores={os.cpu_count()}")


if __name__ == "__main__":
    main()
