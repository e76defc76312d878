"""The embedded store: one DuckDB file holding the clean tables and the results computed once per build.

This module keeps the connection, the metadata and the fingerprint, and reads results; it imports no ingest or
analysis code. Notebooks open the store read-only (many at once); only :func:`chanlib.build.build_store` writes it, to
a temporary file that is renamed into place. A store is *fresh* when its recorded fingerprint — every input file's
path, size and modification time, the params that shape the data, and chanlib's own code — equals the current one;
commands rebuild a stale or missing store (:func:`chanlib.build.ensure`).

Every analysis takes its tables as ``data``: an open store, or a mapping of table name to a DataFrame in the data
contract's columns (:func:`as_connection` turns the mapping into an in-memory DuckDB database), so an analyst can
call any of them on DataFrames of their own.

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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import duckdb

from chanlib import __version__
from chanlib.config import Params
from chanlib.data.schema import TABLES
from chanlib.errors import DataError, MissingInput

if TYPE_CHECKING:
    import pandas as pd

#: what an analysis reads its tables from: an open store, or canonical table name -> DataFrame
Tables = Union[duckdb.DuckDBPyConnection, Mapping[str, "pd.DataFrame"]]

log = logging.getLogger(__name__)

META_TABLE = "chanlib_meta"
#: DuckDB settings for :func:`duckdb.connect` (:func:`engine_config`)
EngineConfig = dict[str, str | bool | int | float | list[str]]


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
        size, mtime_ns = _input_stat(path)
        inputs[name] = {"path": str(path), "size": size, "mtime_ns": mtime_ns}
    shaping = params.model_dump(mode="json", include={"tables", "validation", "currency", "seed", "periods", "fit",
                                                      "planning", "evaluation", "forecast", "segment",
                                                      "alerts", "partners"})
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()
    return {"inputs": inputs, "params_sha256": digest, "chanlib": __version__, "code_sha256": code_digest()}


def _input_stat(path: Path) -> tuple[int | None, int | None]:
    """Size and modification time (ns) of an input: of a file, or the total size and the newest time of the files
    of a folder (a partitioned Parquet table); ``(None, None)`` when it does not exist."""
    if path.is_dir():
        stats = [p.stat() for p in sorted(path.rglob("*")) if p.is_file()]
        return sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=path.stat().st_mtime_ns)
    if path.exists():
        stat = path.stat()
        return stat.st_size, stat.st_mtime_ns
    return None, None


def engine_config(params: Params) -> EngineConfig:
    """DuckDB settings of ``params.duckdb`` for :func:`duckdb.connect`: the memory budget, where to spill beyond it
    (default ``<store>.tmp``) and the threads, so a build or a KPI query over data larger than memory runs out of
    core.

    >>> p = Params.model_validate({"tables": {"sales": {"path": "s.csv"}}, "store": "/d/x.duckdb",
    ...                            "duckdb": {"memory_limit": "2GB", "threads": 2}})
    >>> engine_config(p)
    {'temp_directory': '/d/x.duckdb.tmp', 'memory_limit': '2GB', 'threads': '2'}
    """
    settings = params.duckdb
    store_path = Path(params.store)
    spill = settings.temp_directory or store_path.with_name(store_path.name + ".tmp")
    config: EngineConfig = {"temp_directory": str(spill)}
    if settings.memory_limit:
        config["memory_limit"] = settings.memory_limit.replace(" ", "")
    if settings.threads:
        config["threads"] = str(settings.threads)
    return config


#: chanlib's modules above the build (tests/test_structure.py's layers): they read the store and never shape it, so
#: changing them (a chart, a sentence, the runner) leaves a store fresh; a report page's key covers them instead
NOT_IN_STORE = ("report/", "workbench.py", "cli.py", "__main__.py")


@functools.cache
def code_digest() -> str:
    """A hash of the source of chanlib's modules that shape the store (all but :data:`NOT_IN_STORE`): a store
    built by other code (other analyses) is stale."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*.py")
                       if not p.relative_to(package).as_posix().startswith(NOT_IN_STORE)):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def write_meta(con: duckdb.DuckDBPyConnection, params: Params, quality: Any) -> None:
    """Record the fingerprint, the data-quality summary and when it was built (UTC, ISO 8601) in the store being
    built."""
    import datetime as dt

    meta = {"fingerprint": fingerprint(params), "currency": params.currency, "name": params.name,
            "quality": quality.to_frame().to_dict(orient="records"),
            "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    con.execute(f"CREATE OR REPLACE TABLE {META_TABLE} (key VARCHAR, value VARCHAR)")
    con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?)", [[k, json.dumps(v)] for k, v in meta.items()])


def read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The metadata a build recorded (empty when there is none)."""
    try:
        return {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()}
    except duckdb.CatalogException:
        return {}


def connect(path: str | Path, read_only: bool = True,
            config: EngineConfig | None = None) -> duckdb.DuckDBPyConnection:
    """Open a store; read-only by default so any number of notebooks can read it at once. ``config``: DuckDB
    settings, e.g. :func:`engine_config` for a heavy query."""
    path = Path(path)
    if read_only and not path.exists():
        raise DataError(f"{path}: store not found (run `chanlib ingest --params ...` first)")
    return duckdb.connect(str(path), read_only=read_only, config=config or {})


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


def write_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
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


def optional_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of an optional ``table``: empty when the store does not have it."""
    return table_columns(con, table) if has_table(con, table) else set()


def regions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every region in the sales table, sorted."""
    return [r for (r,) in con.execute("SELECT DISTINCT region FROM sales ORDER BY region").fetchall()]


def date_bounds(con: duckdb.DuckDBPyConnection) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last sale date; :class:`~chanlib.errors.MissingInput` when the sales table has no rows."""
    import pandas as pd

    first, last = con.execute("SELECT min(date), max(date) FROM sales").fetchall()[0]
    if last is None:
        raise MissingInput("sales", "the sales table has no rows")
    return pd.Timestamp(first), pd.Timestamp(last)


def require(con: duckdb.DuckDBPyConnection, table: str, needed: tuple[str, ...] = (), why: str = "") -> set[str]:
    """Raise :class:`~chanlib.errors.MissingInput` unless ``table`` exists with the ``needed`` columns; return its
    columns."""
    if not has_table(con, table):
        raise MissingInput(table, f"the store has no {table} table{f' ({why})' if why else ''}")
    have = table_columns(con, table)
    lacking = [c for c in needed if c not in have]
    if lacking:
        raise MissingInput(table, f"the {table} table has no {', '.join(lacking)} column"
                                  f"{'s' if len(lacking) > 1 else ''}{f' ({why})' if why else ''}")
    return have


def as_connection(data: Tables) -> duckdb.DuckDBPyConnection:
    """The connection an analysis runs on: ``data`` itself when it is one, else a new in-memory database holding
    each DataFrame of the mapping as a table (date columns of the contract cast to DATE).

    >>> import pandas as pd
    >>> con = as_connection({"sales": pd.DataFrame({"date": pd.to_datetime(["2025-01-31"]), "region": ["East"],
    ...                                             "channel": ["web"], "revenue": [10.0]})})
    >>> con.execute("SELECT typeof(date), revenue FROM sales").fetchall()
    [('DATE', 10.0)]
    """
    if isinstance(data, duckdb.DuckDBPyConnection):
        return data
    con = duckdb.connect(":memory:")
    for name, frame in data.items():
        if name not in TABLES:
            raise DataError(f"unknown table {name!r} (known: {', '.join(TABLES)})")
        spec = TABLES[name]
        missing = [c for c in spec.required if c not in frame.columns]
        if missing:
            raise DataError(f"{name}: missing column(s) {', '.join(missing)} "
                            f"(has {', '.join(map(str, frame.columns))})")
        exprs = []
        for column in frame.columns:
            kind = spec.types.get(str(column))
            q = quote_ident(str(column))
            exprs.append(f"CAST({q} AS DATE) AS {q}" if kind == "date" else
                         f"CAST({q} AS DOUBLE) AS {q}" if kind == "float" else
                         f"CAST({q} AS VARCHAR) AS {q}" if kind == "str" else q)
        con.register("chanlib_frame", frame)
        con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT {', '.join(exprs)} FROM chanlib_frame")
        con.unregister("chanlib_frame")
    return con


# --- results: what a build computed once, kept as ``result_<name>`` tables -----------------------------------------

OMITTED_TABLE = "result_omitted"


def result_table(name: str) -> str:
    """The store table holding analysis result ``name``."""
    return f"result_{name}"


def has_result(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store holds result ``name``."""
    return has_table(con, result_table(name))


def read_result(con: duckdb.DuckDBPyConnection, name: str, region: str | None = None) -> pd.DataFrame:
    """One stored result, optionally only one region's rows."""
    table = result_table(name)
    if region is None:
        return con.execute(f"SELECT * FROM {table}").df()
    return con.execute(f"SELECT * FROM {table} WHERE region = ?", [region]).df()


def write_omitted(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str]]) -> None:
    """Record what each analysis left out, and why: ``(analysis, item, reason)``; item ``*`` is the whole analysis."""
    con.execute(f"CREATE OR REPLACE TABLE {OMITTED_TABLE} (analysis VARCHAR, item VARCHAR, reason VARCHAR)")
    if rows:
        con.executemany(f"INSERT INTO {OMITTED_TABLE} VALUES (?, ?, ?)", rows)


def omitted(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """What analysis ``name`` left out, and why (item ``*``: the whole analysis)."""
    return dict(con.execute(f"SELECT item, reason FROM {OMITTED_TABLE} WHERE analysis = ?", [name]).fetchall())
