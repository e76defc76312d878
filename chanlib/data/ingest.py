"""Load, map and validate raw exports into clean tables of a DuckDB database (the first step of the store build,
:func:`chanlib.build.build_store`).

All the work runs inside DuckDB, so a 10M-row export is validated in seconds and never held in pandas.

What is fatal (one line naming the file, the column or line and up to 5 example rows; nothing is written): a missing,
unreadable or empty file or a folder; a CSV file in another encoding or delimiter than params say, with a duplicated
header column, a line with the wrong number of fields (a truncated last line) or an unterminated quote; a missing
Excel sheet; a required column missing (with a did-you-mean); a column none of whose values can be read as its type
(for dates with the likely fix: Excel serial numbers, day/month order); a number column holding formatted numbers
(``1,234.50``, ``€12``, ``12,50``: never guessed, since ``1,234`` means a thousand in one locale and one in another);
and a table whose share of rejected rows exceeds ``validation.max_reject_share``. docs/what-can-go-wrong.md lists
every message with its cause and fix.

What is a row problem (the row is set aside in ``<store>_rejects/<table>.csv`` with its reason, and counted):
``missing_<col>`` (a required value is empty), ``unparseable_<col>`` (a value that is not a date/number),
``nonfinite_<col>`` (NaN or infinite), ``too_large_<col>`` (beyond :data:`MAX_ABS_NUMBER`), ``future_<col>`` (an
event dated after tomorrow: :attr:`~chanlib.data.schema.TableSpec.past_dates`), ``negative_<col>`` (a negative
amount where params do not allow returns), ``duplicate_row`` (a sales line seen before: every source column equal;
the first one is kept), ``duplicate_key`` (a second row for the same key of a master or plan table, e.g. the same
partner_id or the same period/region/channel target) and ``unknown_<col>`` (a key of an optional table, or a sales
line's partner_id when a partners table is given, that matches nothing in the table it refers to). Each rejected row
is counted once, under its first reason.

What is repaired, and said in the data-quality summary (:attr:`TableQuality.repairs`): a UTF-8 byte-order mark;
a trailing totals row (strictly: the last row, its text and date columns empty or ``Total``, every number equal to
its column's sum over the other rows); the real date cells of an Excel sheet, read as dates whatever
``date_format`` says (it applies to dates stored as text).

Row numbers count like a spreadsheet: the header is row 1, the first record row 2.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import difflib
import io
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from chanlib.config import Params, TableSource
from chanlib.data.schema import TABLES, TableSpec
from chanlib.data.store import engine_config
from chanlib.data.store import quote_ident as _q
from chanlib.data.store import quote_literal as _lit
from chanlib.data.store import tables as store_tables
from chanlib.errors import DataError

log = logging.getLogger(__name__)

#: order in which tables are loaded: referenced tables first (the master tables, then sales, whose partner_id refers
#: to partners, then the tables that refer to sales)
LOAD_ORDER = ("channels", "products", "partners", "sales", "targets", "costs", "inventory", "feedback", "market",
              "candidates", "tier_history")
#: order of the tables in the data-quality summary: sales first
REPORT_ORDER = ("sales", "channels", "products", "partners", "targets", "costs", "inventory", "feedback", "market",
                "candidates", "tier_history")
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
    #: what ingest repaired and went on with (a byte-order mark, a trailing totals row, Excel date cells)
    repairs: list[str] = field(default_factory=list)

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
                    "rows_rejected": t.rows_rejected, "repairs": "; ".join(t.repairs)}
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
            lines += [f"{'':<10}   repaired: {repair}" for repair in t.repairs]
            for reason, count in sorted(t.rejected.items(), key=lambda kv: -kv[1]):
                rows = ", ".join(map(str, t.examples.get(reason, [])))
                lines.append(f"{'':<10}   {reason}: {count:,} (rows {rows})")
        return "\n".join(lines)


def _rows(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:5])


@dataclass
class _Raw:
    """The source as read into ``raw_<name>`` (text columns for CSV/Excel, plus ``__row``)."""

    table: str
    rows: int
    #: what was repaired while reading (said in the data-quality summary)
    repairs: list[str] = field(default_factory=list)
    #: Excel: source column -> number of real date cells in it (read as dates whatever ``date_format`` says)
    date_cells: dict[str, int] = field(default_factory=dict)


def _load_raw(con: duckdb.DuckDBPyConnection, name: str, source: TableSource) -> _Raw:
    """Create ``raw_<name>``: the source as read (text columns for CSV/Excel) plus ``__row``.

    Every problem reading the file is one :class:`DataError` line naming the file (and the line where there is
    one): missing, a folder, unreadable, empty, in another encoding or delimiter than params say, a line with the
    wrong number of fields (a truncated last line), an unterminated quote, a missing Excel sheet.
    """
    path = Path(source.path)
    if not path.exists():
        raise DataError(f"{path}: file not found (table {name})")
    raw = f"raw_{name}"
    fmt = source.file_format
    result = _Raw(raw, 0)
    if path.is_dir():
        if fmt != "parquet":
            raise DataError(f"{path}: is a folder, not a file (table {name}); only a folder of Parquet files "
                            "(format: parquet) can be one table")
        head = b"PAR1"
    else:
        try:
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError as exc:
            raise DataError(f"{path}: cannot be read (table {name}): {exc.strerror or exc}") from None
    if not head:
        raise DataError(f"{path}: empty file (table {name})")
    try:
        if fmt == "parquet":
            # a folder is a partitioned table: every Parquet file under it, in path order (rows numbered across them)
            files = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
            con.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_parquet({_lit(files)})")
        elif fmt == "excel":
            frame, result.date_cells = _read_excel(path, name, source)
            text = ", ".join(f"CAST({_q(str(c))} AS VARCHAR) AS {_q(str(c))}" for c in frame.columns)
            con.execute(f"CREATE TEMP TABLE {raw} AS SELECT {text} FROM frame")
        else:
            _read_csv(con, raw, name, source, path, head, result.repairs)
    except DataError:
        raise
    except (duckdb.Error, ValueError, UnicodeDecodeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as {fmt} (table {name}): {first}") from None
    result.rows = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]
    if result.rows == 0:
        raise DataError(f"{path}: no data rows (table {name})")
    con.execute(f"ALTER TABLE {raw} ADD COLUMN {ROW} BIGINT")
    con.execute(f"UPDATE {raw} SET {ROW} = rowid + 2")
    return result


#: bytes read from the start of a CSV file for its header, byte-order mark and encoding checks
HEAD_BYTES = 1 << 20
UTF8_BOM = b"\xef\xbb\xbf"
#: Python codec name -> DuckDB's name for the encodings DuckDB's CSV reader decodes itself; any other encoding is
#: decoded by Python into a temporary UTF-8 copy first
DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "iso8859-1": "latin-1", "utf-16": "utf-16"}


def _codec(name: str, path: Path, table: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise DataError(f"{path}: unknown encoding {name!r} (tables.{table}.encoding), e.g. utf-8, cp1252, "
                        "latin-1") from None


def _shown(delimiter: str) -> str:
    return {"\t": "tabs", ";": "semicolons ';'", ",": "commas ','", "|": "bars '|'"}.get(delimiter, repr(delimiter))


def _read_csv(con: duckdb.DuckDBPyConnection, raw: str, name: str, source: TableSource, path: Path, head: bytes,
              repairs: list[str]) -> None:
    """Read a CSV file into ``raw`` as text columns, strictly: every line must have the header's fields."""
    codec = _codec(source.encoding, path, name)
    if len(source.delimiter) != 1:
        raise DataError(f"{path}: tables.{name}.delimiter must be one character, got {source.delimiter!r}")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") and not codec.startswith("utf-16"):
        raise DataError(f"{path}: the file is UTF-16 text (it starts with a UTF-16 byte-order mark) but "
                        f"tables.{name}.encoding is {source.encoding!r}; set encoding: utf-16")
    body = head
    if head.startswith(UTF8_BOM):
        body = head[len(UTF8_BOM):]
        repairs.append("a UTF-8 byte-order mark at the start of the file was skipped")
    _check_not_utf8(path, name, source.encoding, codec, body)
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(body)
    if codec.startswith("utf-16"):
        text = text.lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(text), delimiter=source.delimiter, quotechar='"'), [])
    names = [h if h != "" else f"column{i}" for i, h in enumerate(header)]
    if not names:
        raise DataError(f"{path}: no header line (table {name})")
    seen: dict[str, int] = {}
    for i, column in enumerate(names, start=1):
        if column in seen:
            raise DataError(f"{path}: column {column!r} appears twice in the header (columns {seen[column]} and "
                            f"{i}); rename one (table {name})")
        seen[column] = i
    if len(names) == 1:
        for other in (";", "\t", "|", ","):
            if other != source.delimiter and other in names[0]:
                raise DataError(f"{path}: the header reads as one column {names[0][:60]!r}: the file looks "
                                f"separated by {_shown(other)}, not {_shown(source.delimiter)}; set "
                                f"tables.{name}.delimiter: {other!r}")
    columns = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in names) + "}"
    nulls = "[" + ", ".join(_lit(v) for v in ["", *source.na_values]) + "]"
    with contextlib.ExitStack() as stack:
        read_path, encoding = path, DUCKDB_ENCODINGS.get(codec)
        if encoding is None:  # decoded here into a UTF-8 copy (the error names the line)
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chanlib-csv-")))
            read_path, encoding = _transcode(path, name, source.encoding, codec, tmp / "utf8.csv"), "utf-8"
        try:
            con.execute(
                f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv({_lit(str(read_path))}, header=true, "
                f"auto_detect=false, columns={columns}, delim={_lit(source.delimiter)}, quote='\"', escape='\"', "
                f"encoding={_lit(encoding)}, nullstr={nulls}, strict_mode=true)")
        except duckdb.Error as exc:
            raise DataError(_csv_error(path, name, source, str(exc))) from None


def _csv_error(path: Path, name: str, source: TableSource, message: str) -> str:
    """DuckDB's CSV error as one line naming the file and the line."""
    found = re.search(r"CSV Error on Line: (\d+)", message)
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    if not found:
        return f"{path}: cannot be read as csv (table {name}): {first}"
    line = int(found.group(1))
    last = line >= _line_count(path)
    cut = "; it is the last line: the file looks truncated (cut off while it was written or copied)" if last else ""
    if "Invalid unicode" in message:
        return (f"{path}: line {line} is not valid {source.encoding} text (table {name}); set "
                f"tables.{name}.encoding to the file's encoding (e.g. cp1252 or latin-1)")
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counts:
        return (f"{path}: line {line} has {counts.group(2)} fields where the header has {counts.group(1)} "
                f"(table {name}){cut}")
    if "unterminated quote" in message:
        return f"{path}: line {line} has an unterminated quote (table {name}){cut}"
    return f"{path}: line {line} cannot be read (table {name}): {first}"


def _line_count(path: Path) -> int:
    """Lines of a file (a last line without a line break counts)."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _check_not_utf8(path: Path, name: str, declared: str, codec: str, body: bytes) -> None:
    """A file params call single-byte (latin-1, cp1252, ...) that is UTF-8 would be read as mojibake: fatal."""
    if codec.startswith("utf") or max(body, default=0) < 0x80:
        return
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return  # not UTF-8: the declared encoding may well be right
    i = next(i for i, ch in enumerate(text) if ord(ch) > 127)
    line = text.count("\n", 0, i) + 1
    word = re.findall(r"[^\s,;\t|\"]+", text[text.rfind("\n", 0, i) + 1:])
    example = next((w for w in word if any(ord(c) > 127 for c in w)), text[i])
    raise DataError(f"{path}: the file is UTF-8 text ({example!r} in line {line}) but tables.{name}.encoding is "
                    f"{declared!r}, which would misread it; set encoding: utf-8")


def _transcode(path: Path, name: str, declared: str, codec: str, out: Path) -> Path:
    """Decode ``path`` with ``codec`` into a UTF-8 copy at ``out``; a byte the codec cannot decode is fatal, with
    its line."""
    decoder = codecs.getincrementaldecoder(codec)()
    lines = 0
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            try:
                dst.write(decoder.decode(block))
            except UnicodeDecodeError as exc:
                line = lines + block.count(b"\n", 0, exc.start) + 1
                raise DataError(f"{path}: line {line} is not valid {declared} text (table {name}); set "
                                f"tables.{name}.encoding to the file's encoding (e.g. utf-8 or cp1252)") from None
            lines += block.count(b"\n")
        dst.write(decoder.decode(b"", final=True))
    return out


def _read_excel(path: Path, name: str, source: TableSource) -> tuple[pd.DataFrame, dict[str, int]]:
    """An Excel sheet as text cells. A real date cell is a date whatever ``date_format`` says: it is written in
    that format (ISO 8601 without one), so it parses like the text dates of a CSV export; returns the frame and
    the number of date cells per column."""
    try:
        book = pd.ExcelFile(path)
    except Exception as exc:  # openpyxl/xlrd raise their own types (BadZipFile, InvalidFileException, KeyError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as excel (table {name}): {first}; is it an Excel workbook? "
                        f"(tables.{name}.format: csv reads a CSV file whatever its name)") from None
    with book:
        sheets = book.sheet_names
        sheet = source.sheet
        if (isinstance(sheet, str) and sheet not in sheets) or (isinstance(sheet, int) and not
                                                                 0 <= sheet < len(sheets)):
            raise DataError(f"{path}: no sheet {sheet!r} (table {name}); its sheets: "
                            f"{', '.join(map(repr, sheets))}; set tables.{name}.sheet")
        frame = book.parse(sheet, dtype=object, keep_default_na=False, na_values=["", *source.na_values])
    frame.columns = [str(c) for c in frame.columns]
    fmt = source.date_format
    dates: dict[str, int] = {}

    def cell(value: object, column: str) -> str | None:
        if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, (dt.datetime, dt.date)):
            dates[column] = dates.get(column, 0) + 1
            if fmt:
                return value.strftime(fmt)
            if isinstance(value, dt.datetime) and value.time() != dt.time(0):
                return value.strftime("%Y-%m-%d %H:%M:%S")
            return value.strftime("%Y-%m-%d")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(value)

    text = pd.DataFrame({c: [cell(v, c) for v in frame[c].tolist()] for c in frame.columns}, dtype=object)
    return text, dates


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
    derived: bool = False  # computed by a ``derive`` expression, not read from a source column


def _map_columns(spec: TableSpec, source: TableSource, source_types: dict[str, str]) -> list[_Column]:
    """Resolve every canonical column to a source column or expression; a missing required one is fatal."""
    mapped: list[_Column] = []
    for column, kind in spec.types.items():
        if column in source.derive:
            expr = f"({source.derive[column]})"
            mapped.append(_Column(column, f"derived {column}", expr,
                                  _parse_expr(expr, "VARCHAR", kind, source.date_format), kind, derived=True))
            continue
        src = source.columns.get(column, column)
        if src not in source_types:
            if column in spec.required or column in source.columns:
                known = ", ".join(list(source_types)[:12])
                raise DataError(f"{source.path}: column {src!r} (mapped to {spec.name}.{column}) is missing"
                                f"{_did_you_mean(src, list(source_types))}; columns found: {known}")
            continue
        text = source_types[src].upper() == "VARCHAR"
        raw_sql = f"NULLIF(TRIM({_q(src)}), '')" if text else _q(src)  # blank text is a missing value
        mapped.append(_Column(column, src, raw_sql, _parse_expr(_q(src), source_types[src], kind, source.date_format),
                              kind))
    return mapped


def _did_you_mean(wanted: str, found: list[str]) -> str:
    """`` (did you mean 'Region '?)`` when a found column is the wanted one but for case, spaces or a typo."""
    def norm(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text).lower()

    same = [c for c in found if norm(c) == norm(wanted)]
    close = same or difflib.get_close_matches(wanted, found, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_whole_columns(con: duckdb.DuckDBPyConnection, raw: str, name: str, source: TableSource,
                         columns: list[_Column]) -> None:
    """Fatal when a column has values but none of them can be read as its type (or a derive expression fails),
    and when a number column holds formatted numbers (``1,234.56``, ``$12``) in any row."""
    for col in columns:
        if col.type == "str" and not col.derived:
            continue
        formatted = "0"
        if col.type == "float" and not col.derived:
            formatted = f"count(*) FILTER (WHERE {_formatted_sql(col)})"
        try:
            parsed, present, styled = con.execute(
                f"SELECT count({col.parsed_sql}), count({col.source_sql}), {formatted} FROM {raw}").fetchall()[0]
        except duckdb.Error as exc:
            raise DataError(f"{source.path}: column {col.label} cannot be computed: "
                            f"{str(exc).splitlines()[0]}") from None
        if styled:
            _formatted_numbers(con, raw, source, col)
        if present and not parsed and col.type != "str":
            found = con.execute(f"SELECT {ROW}, CAST({col.source_sql} AS VARCHAR) FROM {raw} "
                                f"WHERE {col.source_sql} IS NOT NULL ORDER BY {ROW} LIMIT 5").fetchall()
            what = f"a date with format {source.date_format!r}" if col.type == "date" and source.date_format else (
                "a date" if col.type == "date" else "a number")
            hint = _date_hint(con, raw, name, source, col, found[0][1]) if col.type == "date" else ""
            raise DataError(f"{source.path}: column {col.label!r} ({col.name}) cannot be read as {what} "
                            f"in any row (rows {_rows([r[0] for r in found])}){hint or f', e.g. {found[0][1]!r}'}")


#: a value that is a number only once its formatting is taken off: thousands separators (1,234.56 or 1.234,56 or
#: 1'234), a decimal comma (12,50), a currency symbol or code ($12, 12 €, EUR 12), a percent sign or accounting
#: brackets. Such a column is fatal, never guessed: 1,234 is a thousand in one locale and one in another.
FORMATTED_NUMBER = (r"^\(?\s*[-+]?\s*([$€£¥]|[A-Za-z]{3}\s)?\s*[-+]?([0-9]{1,3}([,.'’ ][0-9]{3})+([.,][0-9]+)?"
                    r"|[0-9]+,[0-9]+|[0-9]+([.][0-9]+)?)\s*([$€£¥%]|\s[A-Za-z]{3})?\s*\)?$")
#: Excel's serial day numbers of 1954-10-03 .. 2119-01-09: what a date column holds when Excel saved it as numbers
EXCEL_SERIAL = r"^[0-9]{5}(\.0+)?$"
EXCEL_EPOCH = "1899-12-30"
#: day, month and year with one separator, e.g. 03/04/2024, 3.4.24, 03-04-2024
DAY_MONTH = r"^\s*([0-9]{1,2})([/.-])([0-9]{1,2})[/.-]([0-9]{2}|[0-9]{4})\s*$"


def _formatted_sql(col: _Column) -> str:
    """The condition of a row whose value of ``col`` is a formatted number (:data:`FORMATTED_NUMBER`)."""
    return (f"{col.source_sql} IS NOT NULL AND {col.parsed_sql} IS NULL AND "
            f"regexp_matches(CAST({col.source_sql} AS VARCHAR), {_lit(FORMATTED_NUMBER)})")


def _formatted_numbers(con: duckdb.DuckDBPyConnection, raw: str, source: TableSource, col: _Column) -> None:
    """Fatal when a number column holds formatted numbers (thousands separators, currency symbols): naming the
    file, the column, an example and its rows."""
    bad = _formatted_sql(col)
    rows = con.execute(f"SELECT {ROW}, CAST({col.source_sql} AS VARCHAR) FROM {raw} WHERE {bad} ORDER BY {ROW} "
                       "LIMIT 5").fetchall()
    if rows:
        count = con.execute(f"SELECT count(*) FROM {raw} WHERE {bad}").fetchall()[0][0]
        raise DataError(f"{source.path}: column {col.label!r} ({col.name}) holds formatted numbers, e.g. "
                        f"{rows[0][1]!r} in {count:,} rows (rows {_rows([r[0] for r in rows])}): thousands "
                        "separators, currency symbols and decimal commas are not read; export plain numbers "
                        "such as 1234.56")


def _date_hint(con: duckdb.DuckDBPyConnection, raw: str, name: str, source: TableSource, col: _Column,
               example: str) -> str:
    """Why no value of a date column reads as a date, and the fix: Excel serial numbers, or day/month order."""
    value = f"CAST({col.source_sql} AS VARCHAR)"
    present, serial = con.execute(
        f"SELECT count({col.source_sql}), count(*) FILTER (WHERE regexp_matches({value}, {_lit(EXCEL_SERIAL)})) "
        f"FROM {raw}").fetchall()[0]
    if present and serial == present:
        day = con.execute(f"SELECT CAST(DATE {_lit(EXCEL_EPOCH)} + CAST(CAST(? AS DOUBLE) AS INTEGER) AS VARCHAR)",
                          [example]).fetchall()[0][0]
        return (f"; values like {example!r} look like Excel serial day numbers ({example} is {day}): format the "
                "column as dates in Excel and export again, or read the .xlsx itself")
    first, second, seps, years, matched = con.execute(
        f"SELECT max(CAST(regexp_extract({value}, {_lit(DAY_MONTH)}, 1) AS INTEGER)), "
        f"max(CAST(regexp_extract({value}, {_lit(DAY_MONTH)}, 3) AS INTEGER)), "
        f"min(regexp_extract({value}, {_lit(DAY_MONTH)}, 2)), max(length(regexp_extract({value}, {_lit(DAY_MONTH)}, "
        f"4))), count(*) FILTER (WHERE regexp_matches({value}, {_lit(DAY_MONTH)})) FROM {raw}").fetchall()[0]
    if not present or matched != present:
        return ""
    year = "%Y" if years == 4 else "%y"
    day_first, month_first = f"%d{seps}%m{seps}{year}", f"%m{seps}%d{seps}{year}"
    if first > 12 and second <= 12:
        return f"; they look like day{seps}month{seps}year: set tables.{name}.date_format: {day_first!r}"
    if second > 12 and first <= 12:
        return f"; they look like month{seps}day{seps}year: set tables.{name}.date_format: {month_first!r}"
    return (f"; dates like {example!r} could be day{seps}month or month{seps}day: set tables.{name}.date_format to "
            f"{day_first!r} or {month_first!r}")


def _drop_totals_row(con: duckdb.DuckDBPyConnection, raw: str, spec: TableSpec, columns: list[_Column],
                     rows: int) -> str | None:
    """Drop a trailing totals row and say so; None when the last row is not one.

    Strict, so that a real row is never dropped: it must be the last row, every mapped text and date column must be
    empty or a label such as ``Total`` / ``Grand total`` (and at least one of them mapped), and every number in it
    must equal the sum of its column over all the other rows (to a cent), the table's amount included.
    """
    keys = [c for c in columns if c.type != "float" and not c.derived]
    numbers = [c for c in columns if c.type == "float" and not c.derived]
    amounts = [c for c in numbers if c.name in spec.amount_columns or c.name == "profit"]
    if rows < 3 or not keys or not amounts:
        return None
    last = con.execute(f"SELECT max({ROW}) FROM {raw}").fetchall()[0][0]
    label = r"^\s*(grand\s+)?(totals?|sum|summe|gesamt|total general)\s*:?\s*$"
    key_ok = " AND ".join(f"({c.source_sql} IS NULL OR regexp_matches(lower(CAST({c.source_sql} AS VARCHAR)), "
                          f"{_lit(label)}))" for c in keys)
    # the labels are checked on the last row alone, and the columns summed only when it looks like a totals row: a
    # table without one (nearly all) costs one row's check, not a pass over every row
    looks = con.execute(f"SELECT {key_ok} FROM {raw} WHERE {ROW} = {last}").fetchall()
    if not looks or not looks[0][0]:
        return None
    values = ", ".join(f"max({c.parsed_sql}) FILTER (WHERE {ROW} = {last}), "
                       f"sum({c.parsed_sql}) FILTER (WHERE {ROW} <> {last})" for c in numbers)
    found = con.execute(f"SELECT {values} FROM {raw}").fetchall()[0]
    pairs = dict(zip([c.name for c in numbers], zip(found[0::2], found[1::2])))
    if any(pairs[c.name][0] is None for c in amounts):
        return None
    for value, total in pairs.values():
        if value is not None and (total is None or abs(value - total) > max(0.01, 1e-9 * abs(total))):
            return None
    con.execute(f"DELETE FROM {raw} WHERE {ROW} = {last}")
    shown = ", ".join(f"{c.label} {pairs[c.name][0]:,.2f}" for c in amounts)
    return (f"the last row (row {last}) was a totals row ({shown}: the sums of the rows above) and was dropped")


#: a number beyond this (in absolute value) is no amount or quantity any export means: the row is set aside as
#: ``too_large_<col>`` (float64 sums stop being exact to the cent long before)
MAX_ABS_NUMBER = 1e15


def _latest_date() -> dt.date:
    """The last date an event can have: tomorrow (today anywhere on earth); a later one is ``future_<col>``."""
    return dt.date.today() + dt.timedelta(days=1)


def _reason_sql(spec: TableSpec, columns: list[_Column], params: Params, con: duckdb.DuckDBPyConnection,
                all_source: list[str]) -> str:
    """A CASE expression giving each row's first problem, NULL for a good row."""
    cases = []
    present = {c.name for c in columns}
    loaded = store_tables(con) if spec.references else set()
    for col in columns:
        if col.name in spec.required:
            cases.append(f"WHEN {col.source_sql} IS NULL THEN 'missing_{col.name}'")
        cases.append(f"WHEN {col.source_sql} IS NOT NULL AND {col.parsed_sql} IS NULL THEN 'unparseable_{col.name}'")
        if col.type == "float":
            cases.append(f"WHEN isnan({col.parsed_sql}) OR isinf({col.parsed_sql}) THEN 'nonfinite_{col.name}'")
            cases.append(f"WHEN abs({col.parsed_sql}) > {MAX_ABS_NUMBER:.0e} THEN 'too_large_{col.name}'")
        if col.name in spec.past_dates:
            cases.append(f"WHEN {col.parsed_sql} > DATE {_lit(str(_latest_date()))} THEN 'future_{col.name}'")
    if not params.validation.allow_returns:
        for col in columns:
            if col.name in spec.amount_columns:
                cases.append(f"WHEN {col.parsed_sql} < 0 THEN 'negative_{col.name}'")
    for column, (table, target) in spec.references.items():
        if column in present and table in loaded and table != spec.name:
            col = next(c for c in columns if c.name == column)
            # DISTINCT: the lookup holds each key once (a region of 100M sales rows, not 100M rows: out of core)
            cases.append(f"WHEN {col.parsed_sql} IS NOT NULL AND {col.parsed_sql} NOT IN "
                         f"(SELECT DISTINCT {_q(target)} FROM {table} WHERE {_q(target)} IS NOT NULL) "
                         f"THEN 'unknown_{column}'")
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
    loaded = _load_raw(con, name, source)
    raw, rows_read, repairs = loaded.table, loaded.rows, loaded.repairs
    source_types = _source_columns(con, raw)
    columns = _map_columns(spec, source, source_types)
    for col in columns:
        cells = loaded.date_cells.get(col.label, 0) if col.type == "date" else 0
        if cells and source.date_format:
            repairs.append(f"{cells:,} date cells of column {col.label!r} read as dates (date_format "
                           f"{source.date_format!r} applies to text cells only)")
    totals = _drop_totals_row(con, raw, spec, columns, rows_read)
    if totals:
        repairs.append(totals)
        rows_read -= 1
    _check_whole_columns(con, raw, name, source, columns)
    reason = _reason_sql(spec, columns, params, con, list(source_types))
    selected = ", ".join(f"{c.parsed_sql} AS {_q(c.name)}" for c in columns)
    con.execute(f"CREATE TEMP TABLE typed_{name} AS SELECT {ROW}, {reason} AS {REASON}, {selected} FROM {raw}")

    names = {col.name for col in columns}
    stored = [c for c in spec.stored_columns if c in names]
    exprs = [_q(c) for c in stored]
    if name == "sales" and "profit" in names and "cost" not in names:
        exprs.append('"revenue" - "profit" AS "cost"')
        stored.append("cost")
    # a total order (the source row breaks ties): the same input gives the same table, row for row, in every build,
    # so every float sum over it adds in the same order and comes out the same to the last bit
    order = ", ".join([*(_q(c) for c in ("region", "date") if c in stored), ROW])
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
    quality = TableQuality(name, str(source.path), rows_read, rows_read - sum(counts.values()), counts, examples,
                           repairs)
    for repair in repairs:
        log.info("%s: repaired: %s", source.path, repair)
    share = quality.rows_rejected / rows_read
    if share > params.validation.max_reject_share:
        top = max(counts, key=lambda r: counts[r])
        raise DataError(
            f"{source.path}: {share:.1%} of rows rejected (max {params.validation.max_reject_share:.1%}); "
            f"most common: {top}{_reason_column(top, columns)}, {counts[top]:,} rows (rows {_rows(examples[top])})"
        )
    con.execute(f"DROP TABLE typed_{name}")
    con.execute(f"DROP TABLE {raw}")
    log.info("%s: read %d rows, kept %d, rejected %d", source.path, rows_read, quality.rows_kept, quality.rows_rejected)
    return quality


def _reason_column(reason: str, columns: list[_Column]) -> str:
    col = max((c for c in columns if reason.endswith("_" + c.name)), key=lambda c: len(c.name), default=None)
    return f" in column {col.label!r}" if col else ""


def load_all(con: duckdb.DuckDBPyConnection, params: Params) -> QualityReport:
    """Load every table named in params into ``con`` (clean tables and ``rejects_*``), in :data:`LOAD_ORDER`;
    the summary lists them in :data:`REPORT_ORDER`."""
    loaded = {name: load_table(con, name, params.tables[name], params) for name in LOAD_ORDER if name in params.tables}
    return QualityReport([loaded[name] for name in REPORT_ORDER if name in loaded])


def validate(params: Params) -> QualityReport:
    """Check every input without writing anything; raise :class:`DataError` on a fatal problem."""
    con = duckdb.connect(":memory:", config=engine_config(params))  # out of core (duckdb:)
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
