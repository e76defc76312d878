"""Load, map and validate raw exports into clean tables of a DuckDB database (the first step of the store build,
:func:`chanlib.build.build_store`).

All the work runs inside DuckDB, so a 10M-row export is validated in seconds and never held in pandas.

What is fatal (one line naming the file, the column and up to 5 example rows; nothing is written):
a missing file, an empty file, a required column missing, a column none of whose values can be read as its type,
and a table whose share of rejected rows exceeds ``validation.max_reject_share``.

What is a row problem (the row is set aside in ``<store>_rejects/<table>.csv`` with its reason, and counted):
``missing_<col>`` (a required value is empty), ``unparseable_<col>`` (a value that is not a date/number),
``negative_<col>`` (a negative amount where params do not allow returns), ``duplicate_row`` (a sales line seen
before: every source column equal; the first one is kept), ``duplicate_key`` (a second row for the same key of a
master or plan table, e.g. the same partner_id or the same period/region/channel target) and ``unknown_<col>`` (a
key of an optional table that matches nothing in the table it refers to). Each rejected row is counted once, under
its first reason.

Row numbers count like a spreadsheet: the header is row 1, the first record row 2.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from chanlib.config import Params, TableSource
from chanlib.data.schema import TABLES, TableSpec
from chanlib.data.store import has_table
from chanlib.data.store import quote_ident as _q
from chanlib.data.store import quote_literal as _lit
from chanlib.errors import DataError

log = logging.getLogger(__name__)

#: order in which tables are loaded: referenced tables first
LOAD_ORDER = ("sales", "channels", "products", "partners", "targets", "costs", "inventory", "feedback", "market",
              "candidates", "tier_history")
NATIVE_CSV_ENCODINGS = {"utf-8", "utf8", "utf-8-sig", "utf-16", "latin-1", "latin1", "iso-8859-1"}
ROW = "__row"
REASON = "__reason"


@dataclass
class TableQuality:
    """What ingest saw in one input table."""

    table: str
    file: str
    rows_read: int
    rows_kept: int
    rejected: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[int]] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass
class QualityReport:
    """Data-quality summary of one ingest or validate run."""

    tables: list[TableQuality]

    def to_frame(self) -> pd.DataFrame:
        """One row per table and reason (reason ``-`` where nothing was rejected)."""
        rows = []
        for t in self.tables:
            base = {"table": t.table, "file": t.file, "rows_read": t.rows_read, "rows_kept": t.rows_kept,
                    "rows_rejected": t.rows_rejected}
            if not t.rejected:
                rows.append({**base, "reason": "-", "count": 0, "example_rows": ""})
            for reason, count in sorted(t.rejected.items(), key=lambda kv: -kv[1]):
                rows.append({**base, "reason": reason, "count": count,
                             "example_rows": ", ".join(map(str, t.examples.get(reason, [])))})
        return pd.DataFrame(rows)

    def render(self) -> str:
        """A plain-text summary for the terminal."""
        lines = []
        for t in self.tables:
            lines.append(f"{t.table:<10} {t.file}: read {t.rows_read:,}, kept {t.rows_kept:,}, "
                         f"rejected {t.rows_rejected:,}")
            for reason, count in sorted(t.rejected.items(), key=lambda kv: -kv[1]):
                rows = ", ".join(map(str, t.examples.get(reason, [])))
                lines.append(f"{'':<10}   {reason}: {count:,} (rows {rows})")
        return "\n".join(lines)


def _rows(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:5])


def _load_raw(con: duckdb.DuckDBPyConnection, name: str, source: TableSource) -> tuple[str, int]:
    """Create ``raw_<name>``: the source as read (text columns for CSV/Excel) plus ``__row``; return it and its
    row count."""
    path = source.path
    if not path.exists():
        raise DataError(f"{path}: file not found (table {name})")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (table {name})")
    raw = f"raw_{name}"
    fmt = source.file_format
    try:
        if fmt == "parquet":
            con.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_parquet({_lit(str(path))})")
        elif fmt == "csv" and source.encoding.lower() in NATIVE_CSV_ENCODINGS:
            encoding = {"utf8": "utf-8", "utf-8-sig": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1"}.get(
                source.encoding.lower(), source.encoding.lower())
            nulls = "[" + ", ".join(_lit(v) for v in ["", *source.na_values]) + "]"
            con.execute(
                f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv({_lit(str(path))}, header=true, all_varchar=true,"
                f" delim={_lit(source.delimiter)}, encoding={_lit(encoding)}, nullstr={nulls}, quote='\"')"
            )
        else:
            if fmt == "excel":
                frame = pd.read_excel(path, sheet_name=source.sheet, dtype=str, na_values=source.na_values)
            else:
                frame = pd.read_csv(path, dtype=str, encoding=source.encoding, sep=source.delimiter,
                                    keep_default_na=False, na_values=["", *source.na_values])
            frame = frame.astype(object).where(frame.notna(), None)
            con.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM frame")
    except (duckdb.Error, ValueError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as {fmt} (table {name}): {first}") from None
    count = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]
    if count == 0:
        raise DataError(f"{path}: no data rows (table {name})")
    con.execute(f"ALTER TABLE {raw} ADD COLUMN {ROW} BIGINT")
    con.execute(f"UPDATE {raw} SET {ROW} = rowid + 2")
    return raw, count


def _source_columns(con: duckdb.DuckDBPyConnection, raw: str) -> dict[str, str]:
    """Source column name -> DuckDB type (``table_columns`` gives names only)."""
    rows = con.execute(f"DESCRIBE {raw}").fetchall()
    return {r[0]: r[1] for r in rows if r[0] != ROW}


def _parse_expr(source_sql: str, source_type: str, target: str, date_format: str | None) -> str:
    """SQL that parses one source value as its canonical type (NULL where it cannot)."""
    text = source_type.upper() == "VARCHAR"
    if target == "str":
        return f"NULLIF(TRIM(CAST({source_sql} AS VARCHAR)), '')"
    if target == "float":
        return f"TRY_CAST({source_sql} AS DOUBLE)" if text else f"CAST({source_sql} AS DOUBLE)"
    if not text:
        return f"TRY_CAST({source_sql} AS DATE)"
    if date_format:
        return f"CAST(TRY_STRPTIME(TRIM({source_sql}), {_lit(date_format)}) AS DATE)"
    return f"TRY_CAST(TRY_CAST(TRIM({source_sql}) AS TIMESTAMP) AS DATE)"


@dataclass
class _Column:
    name: str  # canonical
    label: str  # how to name it in messages: the source column or the derive expression
    source_sql: str  # raw value
    parsed_sql: str  # typed value
    type: str


def _map_columns(spec: TableSpec, source: TableSource, source_types: dict[str, str]) -> list[_Column]:
    """Resolve every canonical column to a source column or expression; a missing required one is fatal."""
    mapped: list[_Column] = []
    for column, kind in spec.types.items():
        if column in source.derive:
            expr = f"({source.derive[column]})"
            mapped.append(_Column(column, f"derived {column}", expr,
                                  _parse_expr(expr, "VARCHAR", kind, source.date_format), kind))
            continue
        src = source.columns.get(column, column)
        if src not in source_types:
            if column in spec.required or column in source.columns:
                known = ", ".join(list(source_types)[:12])
                raise DataError(
                    f"{source.path}: column {src!r} (mapped to {spec.name}.{column}) is missing; columns found: {known}"
                )
            continue
        text = source_types[src].upper() == "VARCHAR"
        raw_sql = f"NULLIF(TRIM({_q(src)}), '')" if text else _q(src)  # blank text is a missing value
        mapped.append(_Column(column, src, raw_sql, _parse_expr(_q(src), source_types[src], kind, source.date_format),
                              kind))
    return mapped


def _check_whole_columns(con: duckdb.DuckDBPyConnection, raw: str, source: TableSource,
                         columns: list[_Column]) -> None:
    """Fatal when a column has values but none of them can be read as its type (or a derive expression fails)."""
    for col in columns:
        if col.type == "str":
            continue
        try:
            parsed, present = con.execute(
                f"SELECT count({col.parsed_sql}), count({col.source_sql}) FROM {raw}").fetchall()[0]
        except duckdb.Error as exc:
            raise DataError(f"{source.path}: column {col.label} cannot be computed: "
                            f"{str(exc).splitlines()[0]}") from None
        if present and not parsed:
            examples = [r[0] for r in con.execute(
                f"SELECT {ROW} FROM {raw} WHERE {col.source_sql} IS NOT NULL ORDER BY {ROW} LIMIT 5").fetchall()]
            what = f"a date with format {source.date_format!r}" if col.type == "date" and source.date_format else (
                "a date" if col.type == "date" else "a number")
            raise DataError(f"{source.path}: column {col.label!r} ({col.name}) cannot be read as {what} "
                            f"in any row (rows {_rows(examples)})")


def _reason_sql(spec: TableSpec, columns: list[_Column], params: Params, con: duckdb.DuckDBPyConnection,
                all_source: list[str]) -> str:
    """A CASE expression giving each row's first problem, NULL for a good row."""
    cases = []
    present = {c.name for c in columns}
    for col in columns:
        if col.name in spec.required:
            cases.append(f"WHEN {col.source_sql} IS NULL THEN 'missing_{col.name}'")
        cases.append(f"WHEN {col.source_sql} IS NOT NULL AND {col.parsed_sql} IS NULL THEN 'unparseable_{col.name}'")
    if not params.validation.allow_returns:
        for col in columns:
            if col.name in spec.amount_columns:
                cases.append(f"WHEN {col.parsed_sql} < 0 THEN 'negative_{col.name}'")
    for column, (table, target) in spec.references.items():
        if column in present and has_table(con, table) and table != spec.name:
            col = next(c for c in columns if c.name == column)
            cases.append(f"WHEN {col.parsed_sql} IS NOT NULL AND {col.parsed_sql} NOT IN "
                         f"(SELECT {_q(target)} FROM {table} WHERE {_q(target)} IS NOT NULL) THEN 'unknown_{column}'")
    if spec.unique == ("*",):
        partition = ", ".join(_q(c) for c in all_source)
        cases.append(f"WHEN row_number() OVER (PARTITION BY {partition} ORDER BY {ROW}) > 1 THEN 'duplicate_row'")
    elif spec.unique and set(spec.unique) & set(spec.required) <= present:
        # an optional key column the source lacks (market.market) is left out of the key
        partition = ", ".join(next(c.parsed_sql for c in columns if c.name == k) for k in spec.unique if k in present)
        cases.append(f"WHEN row_number() OVER (PARTITION BY {partition} ORDER BY {ROW}) > 1 THEN 'duplicate_key'")
    return "CASE " + " ".join(cases) + " END"


def load_table(con: duckdb.DuckDBPyConnection, name: str, source: TableSource, params: Params) -> TableQuality:
    """Load one input into ``con`` as the clean table ``name`` plus ``rejects_<name>``; return its quality."""
    spec = TABLES[name]
    raw, rows_read = _load_raw(con, name, source)
    source_types = _source_columns(con, raw)
    columns = _map_columns(spec, source, source_types)
    _check_whole_columns(con, raw, source, columns)
    reason = _reason_sql(spec, columns, params, con, list(source_types))
    selected = ", ".join(f"{c.parsed_sql} AS {_q(c.name)}" for c in columns)
    con.execute(f"CREATE TEMP TABLE typed_{name} AS SELECT {ROW}, {reason} AS {REASON}, {selected} FROM {raw}")

    names = {col.name for col in columns}
    stored = [c for c in spec.stored_columns if c in names]
    exprs = [_q(c) for c in stored]
    if name == "sales" and "profit" in names and "cost" not in names:
        exprs.append('"revenue" - "profit" AS "cost"')
        stored.append("cost")
    order = ", ".join(_q(c) for c in ("region", "date") if c in stored) or ROW
    con.execute(f"CREATE TABLE {name} AS SELECT {', '.join(exprs)} FROM typed_{name} "
                f"WHERE {REASON} IS NULL ORDER BY {order}")
    con.execute(f"CREATE TEMP TABLE rejects_{name} AS SELECT r.{ROW} AS row, t.{REASON} AS reason, r.* EXCLUDE ({ROW}) "
                f"FROM typed_{name} t JOIN {raw} r USING ({ROW}) WHERE t.{REASON} IS NOT NULL ORDER BY r.{ROW}")

    counts = dict(con.execute(f"SELECT reason, count(*) FROM rejects_{name} GROUP BY reason").fetchall())
    examples = {
        r: [row for (row,) in con.execute(
            f"SELECT row FROM rejects_{name} WHERE reason = ? ORDER BY row LIMIT 5", [r]).fetchall()]
        for r in counts
    }
    quality = TableQuality(name, str(source.path), rows_read, rows_read - sum(counts.values()), counts, examples)
    share = quality.rows_rejected / rows_read
    if share > params.validation.max_reject_share:
        top = max(counts, key=lambda r: counts[r])
        raise DataError(
            f"{source.path}: {share:.1%} of rows rejected (max {params.validation.max_reject_share:.1%}); "
            f"most common: {top} in column {_reason_column(top, columns)} {counts[top]:,} rows "
            f"(rows {_rows(examples[top])})"
        )
    con.execute(f"DROP TABLE typed_{name}")
    con.execute(f"DROP TABLE {raw}")
    log.info("%s: read %d rows, kept %d, rejected %d", source.path, rows_read, quality.rows_kept, quality.rows_rejected)
    return quality


def _reason_column(reason: str, columns: list[_Column]) -> str:
    name = reason.split("_", 1)[1] if "_" in reason else ""
    col = next((c for c in columns if c.name == name), None)
    return repr(col.label) if col else "(all)"


def load_all(con: duckdb.DuckDBPyConnection, params: Params) -> QualityReport:
    """Load every table named in params into ``con`` (clean tables and ``rejects_*``)."""
    report = []
    for name in LOAD_ORDER:
        if name in params.tables:
            report.append(load_table(con, name, params.tables[name], params))
    return QualityReport(report)


def validate(params: Params) -> QualityReport:
    """Check every input without writing anything; raise :class:`DataError` on a fatal problem."""
    con = duckdb.connect(":memory:")
    try:
        return load_all(con, params)
    finally:
        con.close()


def rejects_dir(store: Path) -> Path:
    """Where ingest puts the rejected rows of a store: ``<store without suffix>_rejects/``."""
    return store.with_name(store.stem + "_rejects")


def write_rejects(con: duckdb.DuckDBPyConnection, quality: QualityReport, folder: Path) -> None:
    """Write each table's rejected rows (``rejects_<table>``, with row number and reason) to ``folder/<table>.csv``."""
    for t in quality.tables:
        if t.rows_rejected:
            out = Path(folder) / f"{t.table}.csv"
            con.execute(f"COPY rejects_{t.table} TO {_lit(str(out))} (HEADER, DELIMITER ',')")
