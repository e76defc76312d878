"""The ``xxl`` demo (``chanlib demo --size xxl``): about 100M order lines, streamed to partitioned Parquet.

The same business, schema and planted truth as the other sizes (:mod:`chanlib.data.demo`, same seed, same draws),
at a bigger scale: 12 regions, 10,000 partners and about 100M sales rows. The sales are drawn a month at a time
and each month is written as its own Parquet file of the folder ``DIR/sales.parquet/`` (``2023-01.parquet``,
``2023-02.parquet``, ...) and then dropped, so at most one month (~3M rows) is ever in memory. The generated
``DIR/params.yaml`` points ``tables.sales`` at that folder; ingest reads a folder of Parquet files as one table
(``read_parquet`` over ``<folder>/**/*.parquet`` in DuckDB, out of core). Every other table is small and written as
a single Parquet file, as for ``xl``.

The data take about 2.5 GB on disk; keep them outside the repository (e.g. ``--out /tmp/chanlib-xxl``).

Examples
--------
>>> XXL.sales_rows, XXL.partners, XXL.fmt
(100000000, 10000, 'parquet')
"""
from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chanlib.data.demo import DemoSize, _Sink, generate

log = logging.getLogger(__name__)

#: the shape of the xxl demo: xl's regions and products, more partners, twice the order lines
XXL = DemoSize(regions=12, partners=10_000, products_per_category=40, sales_rows=100_000_000, feedback_rows=200_000,
               fmt="parquet")


class PartitionedSink(_Sink):
    """Writes each chunk of a table (a month of sales) as its own Parquet file of a folder, named after the month of
    its first ``date`` (``2023-01.parquet``); the folder is built under a temporary name and moved into place on
    ``close``. Nothing but the current chunk is held."""

    def write(self, table: pa.Table) -> None:
        # the contract's "float" columns are float64 also when their values are whole numbers (as _Sink does)
        fields = [pa.field(f.name, pa.float64()) if pa.types.is_integer(f.type) else f for f in table.schema]
        table = table.cast(pa.schema(fields))
        self.tmp.mkdir(exist_ok=True)
        first = str(table.column("date")[0].as_py()) if table.num_rows else f"part-{self.rows:012d}"
        name = first[:7]
        target = self.tmp / f"{name}.parquet"
        n = 1
        while target.exists():  # a second chunk of the same month
            n += 1
            target = self.tmp / f"{name}-{n}.parquet"
        pq.write_table(table, target, compression="zstd", row_group_size=1 << 20)
        self.rows += table.num_rows
        log.debug("%s: %d rows (%d so far)", target.name, table.num_rows, self.rows)


def generate_xxl(out: Path, seed: int = 42, spec: DemoSize = XXL) -> dict[str, int]:
    """Write the xxl demo to ``out`` (sales as ``out/sales.parquet/<month>.parquet``); return {table: rows}.

    ``spec`` changes the shape (the tests use a tiny one); same ``spec`` and ``seed``, byte-identical files.
    """
    return generate(Path(out), "xxl", seed, spec=spec, sales_sink=PartitionedSink)
