"""The embedded store: one DuckDB file holding the clean tables and the results computed once per build.

Notebooks open it read-only (many at once); only :func:`chanlib.ingest.ingest` writes it, to a temporary file that is
renamed into place. A store is *fresh* when its recorded fingerprint — every input file's path, size and modification
time, the params that shape the data, and chanlib's own code — equals the current one; commands rebuild a stale or
missing store.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> con.execute("CREATE TABLE sales AS SELECT 'East' AS region UNION ALL SELECT 'West'")  # doctest: +ELLIPSIS
<...>
>>> regions(con)
['East', 'West']
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from . import __version__
from .config import Params
from .errors import DataError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

META_TABLE = "chanlib_meta"


def quote_ident(name: str) -> str:
    """An SQL identifier in double quotes, inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """An SQL string literal in single quotes, inner single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def fingerprint(params: Params) -> dict[str, Any]:
    """What the store's content depends on: the inputs (path, size, mtime) and the data-shaping params."""
    inputs = {}
    for name, source in sorted(params.tables.items()):
        path = Path(source.path).resolve()
        stat = path.stat() if path.exists() else None
        inputs[name] = {"path": str(path), "size": stat.st_size if stat else None,
                        "mtime_ns": stat.st_mtime_ns if stat else None}
    shaping = params.model_dump(mode="json", include={"tables", "validation", "currency", "forecast", "segment"})
    shaping["report"] = {"window_months": params.report.window_months}
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()
    return {"inputs": inputs, "params_sha256": digest, "chanlib": __version__, "code_sha256": code_digest()}


@functools.cache
def code_digest() -> str:
    """A hash of chanlib's own source: a store built by other code (other analyses) is stale."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write_meta(con: duckdb.DuckDBPyConnection, params: Params, quality: Any) -> None:
    """Record the fingerprint and the data-quality summary in the store being built."""
    meta = {"fingerprint": fingerprint(params), "currency": params.currency, "name": params.name,
            "quality": quality.to_frame().to_dict(orient="records")}
    con.execute(f"CREATE OR REPLACE TABLE {META_TABLE} (key VARCHAR, value VARCHAR)")
    con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?)", [[k, json.dumps(v)] for k, v in meta.items()])


def read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The metadata a build recorded (empty when there is none)."""
    try:
        return {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()}
    except duckdb.CatalogException:
        return {}


def connect(path: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open a store; read-only by default so any number of notebooks can read it at once."""
    path = Path(path)
    if read_only and not path.exists():
        raise DataError(f"{path}: store not found (run `chanlib ingest --params ...` first)")
    return duckdb.connect(str(path), read_only=read_only)


def is_fresh(params: Params) -> bool:
    """True when the store exists and was built from exactly the current inputs and params."""
    path = Path(params.store)
    if not path.exists():
        return False
    try:
        con = connect(path)
    except duckdb.Error as exc:
        log.warning("store %s cannot be opened (%s); it will be rebuilt", path, exc)
        return False
    try:
        recorded = read_meta(con).get("fingerprint")
    finally:
        con.close()
    return recorded == fingerprint(params)


def ensure(params: Params, force: bool = False) -> Path:
    """Build the store when it is missing, stale or ``force`` is set; return its path."""
    from .ingest import ingest

    if force or not is_fresh(params):
        log.info("building store %s", params.store)
        ingest(params)
    else:
        log.info("store %s is up to date", params.store)
    return Path(params.store)


def write_frame(con: duckdb.DuckDBPyConnection, table: str, frame: "pd.DataFrame") -> None:
    """Create (or replace) ``table`` from a DataFrame (DuckDB reads the local ``frame`` by name)."""
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM frame")


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables (and views) of the connection's main schema."""
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the store holds ``table``."""
    return table in tables(con)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of ``table``."""
    return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}


def regions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every region in the sales table, sorted."""
    return [r for (r,) in con.execute("SELECT DISTINCT region FROM sales ORDER BY region").fetchall()]
