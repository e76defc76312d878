"""The bad-input corpus of issue #13: every way an export goes wrong that chanlib must answer with one line, or
repair and say so.

Each :class:`Case` writes its inputs (from a slice of the small demo, or for the Excel cases a slice of the Superstore
export saved as .xlsx with real date cells) and names the outcome: ``reject`` (exit 1, one error line holding
``fragment``, nothing written) or ``repair`` (exit 0; ``fragment`` is the note in the data-quality summary).
``tests/test_corpus.py`` runs every case through ``chanlib validate`` and ``chanlib report``;
``docs/what-can-go-wrong.md`` explains every fragment (a test checks that it does).

Usage (the generated files are never committed)::

    python tests/corpus/generate.py OUT [--demo DIR] [--superstore CSV]

writes ``OUT/base`` (the good slice and its params), ``OUT/superstore``, ``OUT/cases/<name>/`` and
``OUT/cases.tsv`` (name, outcome, fragment, the command-line arguments). The base and reject-case params keep their
store and reports in ``OUT/state/``, which a reject must never change; a repair case keeps its own in its folder.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
REJECT, REPAIR = "reject", "repair"
#: rows of the demo's sales, inventory kept in the base slice: every n-th
SALES_STEP, INVENTORY_STEP = 80, 60
#: rows of the Superstore export in the Excel slice
SUPERSTORE_ROWS = 300


@dataclass
class Inputs:
    """How a case is run: its params file and ``--data TABLE=PATH`` overrides."""

    params: Path
    data: dict[str, Path] = field(default_factory=dict)

    def args(self) -> list[str]:
        """``--params P [--data T=PATH ...]``"""
        extra = [arg for table, path in self.data.items() for arg in ("--data", f"{table}={path}")]
        return ["--params", str(self.params), *extra]


class Corpus:
    """The base inputs (a slice of the small demo, a Superstore slice as .xlsx) and helpers that write a case."""

    def __init__(self, out: Path, demo: Path, superstore: Path) -> None:
        self.out, self.demo, self.superstore_csv = Path(out), Path(demo), Path(superstore)
        self.base, self.state, self.cases = self.out / "base", self.out / "state", self.out / "cases"
        for folder in (self.base, self.state, self.cases, self.out / "superstore"):
            folder.mkdir(parents=True, exist_ok=True)
        self._sales = self._read(demo / "sales.csv").iloc[::SALES_STEP].reset_index(drop=True)
        pairs = set(zip(self._sales["region"], self._sales["channel"]))
        targets = self._read(demo / "targets.csv")
        self._tables = {
            "sales": self._sales,
            "channels": self._read(demo / "channels.csv"),
            "partners": self._read(demo / "partners.csv"),
            "products": self._read(demo / "products.csv"),
            "targets": targets[[p in pairs for p in zip(targets["region"], targets["channel"])]],
            "inventory": self._read(demo / "inventory.csv").iloc[::INVENTORY_STEP],
        }
        for name, frame in self._tables.items():
            frame.to_csv(self.base / f"{name}.csv", index=False)
        dated = {"sales", "partners", "targets", "inventory"}
        self.base_params = {
            "name": "corpus", "currency": "EUR", "seed": 42, "store": str(self.state / "chanlib.duckdb"),
            "report": {"out": str(self.state / "reports")}, "forecast": {"enabled": False},
            "tables": {name: {"path": str(self.base / f"{name}.csv"),
                              **({"date_format": "%Y-%m-%d"} if name in dated else {})} for name in self._tables},
        }
        self.params_file(self.base, {})
        self._superstore()

    @staticmethod
    def _read(path: Path) -> pd.DataFrame:
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    def _superstore(self) -> None:
        """``OUT/superstore/orders.xlsx``: the first rows of the Superstore export with real date cells, and its
        params (params/superstore.yaml, written for the CSV export: ``date_format: '%m/%d/%Y'``)."""
        frame = pd.read_csv(self.superstore_csv, encoding="utf-8-sig", nrows=SUPERSTORE_ROWS)
        for column in ("Order Date", "Ship Date"):
            frame[column] = pd.to_datetime(frame[column], format="%m/%d/%Y")
        self.orders = frame
        self.xlsx(frame, self.out / "superstore" / "orders.xlsx")
        params = yaml.safe_load((ROOT / "params" / "superstore.yaml").read_text(encoding="utf-8"))
        params.update(store=str(self.state / "superstore.duckdb"), report={"out": str(self.state / "reports")},
                      forecast={"enabled": False})
        params["tables"]["sales"]["path"] = str(self.out / "superstore" / "orders.xlsx")
        self.superstore_params = params

    # -- writing a case ------------------------------------------------------------------------------------------

    def table(self, name: str = "sales") -> pd.DataFrame:
        """A copy of a base table (text columns)."""
        return self._tables[name].copy()

    @staticmethod
    def every(frame: pd.DataFrame, column: str, value: str, step: int = 10, start: int = 3) -> pd.DataFrame:
        """``frame`` with ``column`` set to ``value`` in every ``step``-th row (10 %: over the 5 % reject share)."""
        frame = frame.copy()
        frame.loc[frame.index[start::step], column] = value
        return frame

    @staticmethod
    def csv_text(frame: pd.DataFrame, sep: str = ",") -> str:
        return frame.to_csv(index=False, sep=sep, lineterminator="\n")

    @staticmethod
    def xlsx(frame: pd.DataFrame, path: Path, sheet: str = "Orders export") -> Path:
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name=sheet)
        return path

    def params_file(self, folder: Path, edits: dict, base: dict | None = None, local: bool = False) -> Path:
        """``folder/params.yaml``: the base params (or ``base``) with ``edits`` merged in (a ``None`` value deletes
        the key); ``local`` keeps store and reports in ``folder`` (a repair case writes them)."""
        params = copy.deepcopy(base or self.base_params)
        if local:
            params.update(store=str(folder / "chanlib.duckdb"), report={"out": str(folder / "reports")})
        _merge(params, edits)
        path = folder / "params.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    def data(self, folder: Path, table: str, content: str | bytes, name: str | None = None,
             params: dict | None = None, local: bool = False) -> Inputs:
        """The case's file for ``table`` (text is UTF-8), read with ``--data`` (with params edits: from its own
        params file)."""
        path = folder / (name or f"{table}.csv")
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        if params is None and not local:
            return Inputs(self.base / "params.yaml", {table: path})
        return Inputs(self.params_file(folder, params or {}, local=local), {table: path})

    def sales(self, folder: Path, frame: pd.DataFrame, **kw) -> Inputs:
        return self.data(folder, "sales", self.csv_text(frame), **kw)

    def superstore(self, folder: Path, frame: pd.DataFrame | None = None, edits: dict | None = None,
                   local: bool = False) -> Inputs:
        path = self.xlsx(self.orders if frame is None else frame, folder / "orders.xlsx")
        params = self.params_file(folder, edits or {}, base=self.superstore_params, local=local)
        return Inputs(params, {"sales": path})


def _merge(target: dict, edits: dict) -> None:
    for key, value in edits.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


# -- the cases -----------------------------------------------------------------------------------------------------

Make = Callable[[Corpus, Path], Inputs]


@dataclass(frozen=True)
class Case:
    """One bad input: its name, the outcome (``reject`` or ``repair``), the fragment of the one-line error (or of
    the data-quality note), and ``make(corpus, folder)`` that writes it and says how to run it."""

    name: str
    outcome: str
    fragment: str
    make: Make = field(repr=False, compare=False)


def _lines(c: Corpus, edit: Callable[[list[str]], list[str]]) -> str:
    return "\n".join(edit(c.csv_text(c.table()).rstrip("\n").split("\n"))) + "\n"


def _cut_last_line(c: Corpus, keep: int, tail: Callable[[str], str]) -> str:
    """The sales file cut inside its last line: its first ``keep`` fields, then ``tail(rest of the line)``, and no
    line break (a file cut off while it was written)."""
    def cut(lines: list[str]) -> list[str]:
        fields = lines[-1].split(",")
        return lines[:-1] + [",".join(fields[:keep]) + tail(",".join(fields[keep:]))]
    return _lines(c, cut).rstrip("\n")


def _replace_line(number: int, text: str) -> Callable[[list[str]], list[str]]:
    """Replace line ``number`` (the header is line 1)."""
    return lambda lines: lines[:number - 1] + [text] + lines[number:]


def _mixed_encoding(c: Corpus, d: Path) -> Inputs:
    lines = c.csv_text(c.table()).encode("utf-8").split(b"\n")
    fields = lines[1000].split(b",")
    fields[6] = "C-Müller".encode("latin-1")  # customer_id of line 1001, in latin-1 amid UTF-8
    lines[1000] = b",".join(fields)
    return c.data(d, "sales", b"\n".join(lines))


def _with_customers(c: Corpus) -> pd.DataFrame:
    return c.every(c.table(), "customer_id", "C-Müller-Lüdenscheid", step=50)


def _dates(c: Corpus, fmt: str, only_small_days: bool = False) -> pd.DataFrame:
    frame = c.table()
    days = pd.to_datetime(frame["date"])
    if only_small_days:  # day and month both <= 12: day/month and month/day read equally well
        frame, days = frame[days.dt.day <= 12], days[days.dt.day <= 12]
    return frame.assign(date=days.dt.strftime(fmt).to_numpy())


def _serials(dates: pd.Series) -> pd.Series:
    return (pd.to_datetime(dates) - pd.Timestamp("1899-12-30")).dt.days.astype(str)


def _duplicated_rows(c: Corpus, d: Path) -> Inputs:
    frame = c.table()
    return c.sales(d, pd.concat([frame, frame.iloc[5::9]]).sort_index(kind="stable"))


def _appended_extract(c: Corpus, d: Path) -> Inputs:
    frame = c.table()  # the last 10 % of the export appended again: an overlapping second extract
    return c.sales(d, pd.concat([frame, frame.iloc[-len(frame) // 9:]]))


def _totals_row(c: Corpus, d: Path) -> Inputs:
    frame = c.table()
    sums = {col: f"{pd.to_numeric(frame[col]).sum():.2f}" for col in ("units", "revenue", "cost")}
    total = pd.DataFrame([{**{col: "" for col in frame.columns}, "date": "Total", **sums}])
    return c.sales(d, pd.concat([frame, total]), local=True)


def _superstore_totals(c: Corpus, d: Path) -> Inputs:
    frame = c.orders.astype(object)
    total = {col: None for col in frame.columns}
    total.update({"Row ID": "Grand total", **{col: float(frame[col].sum()) for col in ("Sales", "Quantity",
                                                                                         "Profit")}})
    return c.superstore(d, pd.concat([frame, pd.DataFrame([total])]), local=True)


def _superstore_serials(c: Corpus, d: Path) -> Inputs:
    frame = c.orders.copy()
    frame["Order Date"] = (frame["Order Date"] - pd.Timestamp("1899-12-30")).dt.days  # numbers, not date cells
    return c.superstore(d, frame)


def _unreadable(c: Corpus, d: Path) -> Inputs:
    inputs = c.sales(d, c.table())
    inputs.data["sales"].chmod(0)
    return inputs


def _partners_not_defined(c: Corpus, d: Path) -> Inputs:
    partners = c.table("partners")  # the partners table lost its second half; the sales lines still name them
    return c.data(d, "partners", c.csv_text(partners.iloc[: len(partners) // 2]))


def _unknown_partners(table: str) -> Make:
    """``table`` naming a partner the partners table lacks in every 10th row (a partner added to the sales system
    but not yet to the partners export)."""
    return lambda c, d: c.data(d, table, c.csv_text(c.every(c.table(table), "partner_id", "P99999")))


def _targets(c: Corpus, d: Path, column: str, value: str) -> Inputs:
    return c.data(d, "targets", c.csv_text(c.every(c.table("targets"), column, value, step=5)))


def _params_text(c: Corpus, d: Path, text: str | bytes) -> Inputs:
    path = d / "params.yaml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return Inputs(path)


def _base_yaml(c: Corpus) -> str:
    return (c.base / "params.yaml").read_text(encoding="utf-8")


ISO = "%Y-%m-%d"

#: name, outcome, the fragment of the one-line error (reject) or of the data-quality note (repair), how to make it
CASES: list[Case] = [
    # -- columns and layout
    Case("missing_required_column", REJECT, "column 'revenue' (mapped to sales.revenue) is missing",
         lambda c, d: c.sales(d, c.table().drop(columns="revenue"))),
    Case("renamed_required_column", REJECT, "column 'region' (mapped to sales.region) is missing (did you mean "
                                            "'Region'?)",
         lambda c, d: c.sales(d, c.table().rename(columns={"region": "Region"}))),
    Case("renamed_key_in_optional_table", REJECT, "column 'channel' (mapped to channels.channel) is missing",
         lambda c, d: c.data(d, "channels", c.csv_text(c.table("channels").rename(columns={"channel": "name"})))),
    Case("duplicate_header_column", REJECT, "column 'units' appears twice in the header (columns 8 and 9)",
         lambda c, d: c.sales(d, c.table().rename(columns={"revenue": "units"}))),
    Case("semicolon_delimiter", REJECT, "the file looks separated by semicolons ';', not commas ','",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table(), sep=";"))),
    Case("tab_delimiter", REJECT, "the file looks separated by tabs, not commas ','",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table(), sep="\t"), name="sales.txt")),
    # -- encodings
    Case("latin1_file_read_as_utf8", REJECT, "line 5 is not valid utf-8 text (table sales)",
         lambda c, d: c.data(d, "sales", c.csv_text(_with_customers(c)).encode("latin-1"))),
    Case("mixed_encoding", REJECT, "line 1001 is not valid utf-8 text (table sales)", _mixed_encoding),
    Case("utf8_file_read_as_latin1", REJECT, "the file is UTF-8 text ('C-Müller-Lüdenscheid' in line 5) but "
                                             "tables.sales.encoding is 'latin-1'",
         lambda c, d: c.sales(d, _with_customers(c), params={"tables": {"sales": {"encoding": "latin-1"}}})),
    Case("utf16_file_read_as_utf8", REJECT, "the file is UTF-16 text",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table()).encode("utf-16"))),
    Case("cp1252_undefined_byte", REJECT, "line 2 is not valid cp1252 text (table sales)",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table()).encode().replace(b"web_store", b"web\x81store", 1),
                             params={"tables": {"sales": {"encoding": "cp1252"}}})),
    Case("unknown_encoding_name", REJECT, "unknown encoding 'utf-9' (tables.sales.encoding)",
         lambda c, d: c.sales(d, c.table(), params={"tables": {"sales": {"encoding": "utf-9"}}})),
    Case("utf8_bom", REPAIR, "a UTF-8 byte-order mark at the start of the file was skipped",
         lambda c, d: c.data(d, "sales", b"\xef\xbb\xbf" + c.csv_text(c.table()).encode(), local=True)),
    Case("utf8_bom_with_cp1252_params", REPAIR, "a UTF-8 byte-order mark at the start of the file was skipped",
         lambda c, d: c.data(d, "sales", b"\xef\xbb\xbf" + c.csv_text(c.table()).encode(), local=True,
                             params={"tables": {"sales": {"encoding": "cp1252"}}})),
    # -- dates
    Case("dates_in_another_format", REJECT, "column 'date' (date) cannot be read as a date with format '%Y-%m-%d' "
                                            "in any row (rows 2, 3, 4, 5, 6); they look like day.month.year",
         lambda c, d: c.sales(d, _dates(c, "%d.%m.%Y"))),
    Case("unparseable_dates", REJECT, "most common: unparseable_date in column 'date'",
         lambda c, d: c.sales(d, c.every(c.table(), "date", "2024-02-30"))),
    Case("ambiguous_dates", REJECT, "dates like '01/01/2023' could be day/month or month/day: set "
                                    "tables.sales.date_format to '%d/%m/%Y' or '%m/%d/%Y'",
         lambda c, d: c.sales(d, _dates(c, "%d/%m/%Y", only_small_days=True),
                              params={"tables": {"sales": {"date_format": None}}})),
    Case("day_first_dates_without_format", REJECT, "they look like day/month/year: set tables.sales.date_format: "
                                                   "'%d/%m/%Y'",
         lambda c, d: c.sales(d, _dates(c, "%d/%m/%Y"), params={"tables": {"sales": {"date_format": None}}})),
    Case("dates_in_the_future", REJECT, "most common: future_date in column 'date'",
         lambda c, d: c.sales(d, c.every(c.table(), "date", "2099-01-15"))),
    Case("excel_serial_dates_in_csv", REJECT, "values like '44927' look like Excel serial day numbers (44927 is "
                                              "2023-01-01)",
         lambda c, d: c.sales(d, c.table().assign(date=lambda f: _serials(f["date"])))),
    Case("xlsx_date_cells_with_csv_params", REPAIR, "date cells of column 'Order Date' read as dates (date_format "
                                                    "'%m/%d/%Y' applies to text cells only)",
         lambda c, d: c.superstore(d, local=True)),
    Case("xlsx_dates_saved_as_numbers", REJECT, "look like Excel serial day numbers", _superstore_serials),
    # -- amounts
    Case("thousands_separators", REJECT, "column 'revenue' (revenue) holds formatted numbers, e.g. '1,234.50'",
         lambda c, d: c.sales(d, c.every(c.table(), "revenue", "1,234.50", step=40))),
    Case("currency_symbols", REJECT, "holds formatted numbers, e.g. '€12.50'",
         lambda c, d: c.sales(d, c.every(c.table(), "revenue", "€12.50", step=40))),
    Case("decimal_commas", REJECT, "holds formatted numbers, e.g. '12,50'",
         lambda c, d: c.sales(d, c.every(c.table(), "cost", "12,50", step=40))),
    Case("text_in_amounts", REJECT, "column 'revenue' (revenue) cannot be read as a number in any row",
         lambda c, d: c.sales(d, c.table().assign(revenue="n/a"))),
    Case("negative_amounts", REJECT, "most common: negative_revenue in column 'revenue'",
         lambda c, d: c.sales(d, c.every(c.table(), "revenue", "-40.00"))),
    Case("nan_amounts", REJECT, "most common: nonfinite_revenue in column 'revenue'",
         lambda c, d: c.sales(d, c.every(c.table(), "revenue", "NaN"))),
    Case("infinite_amounts", REJECT, "most common: nonfinite_cost in column 'cost'",
         lambda c, d: c.sales(d, c.every(c.table(), "cost", "Infinity"))),
    Case("absurdly_large_amounts", REJECT, "most common: too_large_revenue in column 'revenue'",
         lambda c, d: c.sales(d, c.every(c.table(), "revenue", "1e300"))),
    Case("missing_required_values", REJECT, "most common: missing_region in column 'region'",
         lambda c, d: c.sales(d, c.every(c.table(), "region", ""))),
    # -- rows
    Case("duplicated_rows", REJECT, "most common: duplicate_row", _duplicated_rows),
    Case("duplicated_order_lines", REJECT, "most common: duplicate_row", _appended_extract),
    Case("duplicated_target_keys", REJECT, "most common: duplicate_key",
         lambda c, d: c.data(d, "targets", c.csv_text(pd.concat([c.table("targets"),
                                                                 c.table("targets").iloc[::8]])))),
    Case("totals_row", REPAIR, "was a totals row (revenue", _totals_row),
    Case("xlsx_totals_row", REPAIR, "was a totals row (Sales", _superstore_totals),
    # -- files
    Case("empty_file", REJECT, "empty file (table sales)", lambda c, d: c.data(d, "sales", b"")),
    Case("header_only", REJECT, "no data rows (table sales)",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table().iloc[:0]))),
    Case("truncated_last_line", REJECT, "has 4 fields where the header has 10 (table sales); it is the last line: "
                                        "the file looks truncated",
         lambda c, d: c.data(d, "sales", _cut_last_line(c, 3, lambda rest: "," + rest[:2]))),
    Case("truncated_inside_quotes", REJECT, "has an unterminated quote (table sales); it is the last line",
         lambda c, d: c.data(d, "sales", _cut_last_line(c, 2, lambda rest: ',"' + rest[:6]))),
    Case("unquoted_comma_in_a_field", REJECT, "line 501 has 11 fields where the header has 10 (table sales)",
         lambda c, d: c.data(d, "sales", _lines(c, lambda ls: _replace_line(501, ls[500] + ",extra")(ls)))),
    Case("missing_data_file", REJECT, "nope.csv: file not found (table sales)",
         lambda c, d: Inputs(c.base / "params.yaml", {"sales": d / "nope.csv"})),
    Case("data_path_is_a_folder", REJECT, "is a folder, not a file (table sales)",
         lambda c, d: Inputs(c.base / "params.yaml", {"sales": d})),
    Case("unreadable_file", REJECT, "cannot be read (table sales): Permission denied", _unreadable),
    Case("csv_saved_as_parquet", REJECT, "cannot be read as parquet (table sales)",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table()), name="sales.parquet")),
    Case("csv_saved_as_xlsx", REJECT, "cannot be read as excel (table sales)",
         lambda c, d: c.data(d, "sales", c.csv_text(c.table()), name="sales.xlsx")),
    Case("xlsx_wrong_sheet", REJECT, "no sheet 'Orders' (table sales); its sheets: 'Orders export'",
         lambda c, d: c.superstore(d, edits={"tables": {"sales": {"sheet": "Orders"}}})),
    # -- optional tables
    Case("unknown_regions_in_targets", REJECT, "most common: unknown_region in column 'region'",
         lambda c, d: _targets(c, d, "region", "Atlantis")),
    Case("unknown_channels_in_targets", REJECT, "most common: unknown_channel in column 'channel'",
         lambda c, d: _targets(c, d, "channel", "fax_orders")),
    Case("partners_referenced_not_defined", REJECT, "most common: unknown_partner_id in column 'partner_id'",
         _partners_not_defined),
    Case("sales_partners_not_defined", REJECT, "sales.csv: 10.0% of rows rejected (max 5.0%); most common: "
                                               "unknown_partner_id in column 'partner_id'",
         _unknown_partners("sales")),
    Case("inventory_partners_not_defined", REJECT, "inventory.csv: 10.0% of rows rejected (max 5.0%); most "
                                                   "common: unknown_partner_id in column 'partner_id'",
         _unknown_partners("inventory")),
    # -- params
    Case("params_unknown_key", REJECT, "validaton: unknown key",
         lambda c, d: _params_text(c, d, _base_yaml(c) + "validaton: {max_reject_share: 0.1}\n")),
    Case("params_unknown_table_key", REJECT, "tables.sales.date_fromat: unknown key",
         lambda c, d: Inputs(c.params_file(d, {"tables": {"sales": {"date_fromat": "%Y-%m-%d"}}}))),
    Case("params_unknown_column", REJECT, "tables.sales.columns.revnue: unknown column for table 'sales'",
         lambda c, d: Inputs(c.params_file(d, {"tables": {"sales": {"columns": {"revnue": "revenue"}}}}))),
    Case("params_wrong_type", REJECT, "validation.max_reject_share: Input should be a valid number",
         lambda c, d: Inputs(c.params_file(d, {"validation": {"max_reject_share": "five percent"}}))),
    Case("params_table_not_a_mapping", REJECT, "tables.sales: Input should be a valid dictionary",
         lambda c, d: Inputs(c.params_file(d, {"tables": {"sales": "sales.csv"}}))),
    Case("params_missing_path_key", REJECT, "tables.sales.path: required key is missing",
         lambda c, d: Inputs(c.params_file(d, {"tables": {"sales": {"path": None}}}))),
    Case("params_missing_data_path", REJECT, "missing.csv: file not found (table sales)",
         lambda c, d: Inputs(c.params_file(d, {"tables": {"sales": {"path": str(d / "missing.csv")}}}))),
    Case("params_not_yaml", REJECT, "not valid YAML (line 3)",
         lambda c, d: _params_text(c, d, "tables:\n  sales: {path: sales.csv\n")),
    Case("params_not_utf8", REJECT, "params file is not UTF-8 text (line 1)",
         lambda c, d: _params_text(c, d, "name: Région Süd\n".encode("latin-1") + _base_yaml(c).encode())),
    Case("params_file_missing", REJECT, "nope.yaml: params file not found", lambda c, d: Inputs(d / "nope.yaml")),
    Case("params_file_is_a_folder", REJECT, "params file cannot be read: Is a directory",
         lambda c, d: Inputs(d)),
    Case("data_unknown_table", REJECT, "--data salez=...: unknown table 'salez'",
         lambda c, d: Inputs(c.base / "params.yaml", {"salez": c.base / "sales.csv"})),
    Case("derive_expression_error", REJECT, "column derived channel cannot be computed",
         lambda c, d: Inputs(c.params_file(d, {"tables": {"sales": {"derive": {"channel": "no_such_column"}}}}))),
]


def generate(out: Path, demo: Path, superstore: Path) -> dict[str, tuple[Case, Inputs]]:
    """Write the base and every case under ``out``; return name -> (case, how to run it)."""
    corpus = Corpus(out, demo, superstore)
    made: dict[str, tuple[Case, Inputs]] = {}
    for case in CASES:
        folder = corpus.cases / case.name
        folder.mkdir(parents=True, exist_ok=True)
        made[case.name] = (case, case.make(corpus, folder))
    rows = [f"{c.name}\t{c.outcome}\t{c.fragment}\t{' '.join(i.args())}" for c, i in made.values()]
    (Path(out) / "cases.tsv").write_text("name\toutcome\tfragment\targs\n" + "\n".join(rows) + "\n",
                                         encoding="utf-8")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--demo", type=Path, default=None, help="a small demo folder (default: generate one)")
    parser.add_argument("--superstore", type=Path,
                        default=Path(os.environ.get("CHANLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))
                        / "superstore.csv")
    args = parser.parse_args(argv)
    if args.demo is None:
        from chanlib.data.demo import generate as demo

        args.demo = Path(tempfile.mkdtemp(prefix="chanlib-demo-")) / "small"
        demo(args.demo, size="small", seed=42)
    made = generate(args.out, args.demo, args.superstore)
    print(f"{len(made)} cases in {args.out / 'cases'} (list: {args.out / 'cases.tsv'}), on {dt.date.today()}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
