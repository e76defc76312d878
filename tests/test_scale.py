"""Out of core (issue #10): the xxl demo's streaming writer, a folder of Parquet files as one input table, and the
DuckDB memory budget from params. The data are a tiny spec of the xxl writer, so each test takes seconds."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from chanlib.build import Analysis, BuildContext, Result, build_store
from chanlib.config import load_params
from chanlib.data import store
from chanlib.data.demo import generate
from chanlib.data.demo_stream import XXL, generate_xxl

TINY = replace(XXL, regions=4, partners=40, products_per_category=5, sales_rows=20_000, feedback_rows=300)
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]


@pytest.fixture(scope="module")
def tiny_xxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("xxl") / "demo"
    generate_xxl(out, seed=5, spec=TINY)
    return out


def test_xxl_writes_one_parquet_file_per_month_with_the_same_rows_as_one_file(tiny_xxl: Path,
                                                                                tmp_path: Path) -> None:
    """The streaming writer only changes the layout: month files whose rows, in order, are exactly the rows the
    one-file writer draws for the same spec and seed; every file holds its own month only."""
    folder = tiny_xxl / "sales.parquet"
    assert folder.is_dir()
    assert sorted(p.stem for p in folder.iterdir()) == MONTHS
    for path in sorted(folder.iterdir()):
        dates = pq.read_table(path, columns=["date"]).column("date").to_pylist()
        assert {d[:7] for d in dates} == {path.stem}
    single = tmp_path / "single"
    rows = generate(single, "xxl", seed=5, spec=TINY)
    one = pq.read_table(single / "sales.parquet")
    parts = pa.concat_tables(pq.read_table(p) for p in sorted(folder.iterdir()))
    assert parts.num_rows == one.num_rows == rows["sales"]
    assert parts.schema == one.schema and parts.equals(one)
    params = yaml.safe_load((tiny_xxl / "params.yaml").read_text(encoding="utf-8"))
    assert params["name"] == "demo-xxl" and params["tables"]["sales"]["path"] == "sales.parquet"
    # the other tables are the one-file writer's, byte for byte
    for name in ("partners", "inventory", "market"):
        assert (tiny_xxl / f"{name}.parquet").read_bytes() == (single / f"{name}.parquet").read_bytes(), name


def test_a_parquet_folder_is_ingested_within_the_duckdb_budget_of_params(tiny_xxl: Path, tmp_path: Path) -> None:
    """duckdb: in params sets the build's memory budget, spill folder and threads; the folder of month files is
    one sales table with every row."""
    text = (tiny_xxl / "params.yaml").read_text(encoding="utf-8")
    spill = tmp_path / "spill"
    params_file = tmp_path / "p.yaml"
    params_file.write_text(text.replace("store: chanlib.duckdb", f"store: {tmp_path / 's.duckdb'}")
                           + f"duckdb: {{memory_limit: 100MB, temp_directory: {spill}, threads: 1}}\n",
                           encoding="utf-8")
    params = load_params(params_file)
    params = params.model_copy(update={"tables": {
        name: src.model_copy(update={"path": tiny_xxl / src.path.name}) for name, src in params.tables.items()}})
    seen: dict[str, str] = {}

    def probe(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
        for key in ("memory_limit", "temp_directory", "threads"):
            seen[key] = str(con.execute(f"SELECT current_setting('{key}')").fetchall()[0][0])
        return Result({})

    build_store(params, (Analysis("probe", probe),))
    assert seen == {"memory_limit": "95.3 MiB", "temp_directory": str(spill), "threads": "1"}
    expected = sum(pq.ParquetFile(p).metadata.num_rows for p in (tiny_xxl / "sales.parquet").iterdir())
    con = store.connect(params.store)
    try:
        assert con.execute("SELECT count(*) FROM sales").fetchall()[0][0] == expected
    finally:
        con.close()
    assert store.is_fresh(params)
    # a new month file in the folder makes the store stale (the folder's files are the input's fingerprint)
    extra = tiny_xxl / "sales.parquet" / "2026-01.parquet"
    pq.write_table(pq.read_table(tiny_xxl / "sales.parquet" / "2025-12.parquet").slice(0, 5), extra)
    try:
        assert not store.is_fresh(params)
    finally:
        extra.unlink()
    assert store.is_fresh(params)
