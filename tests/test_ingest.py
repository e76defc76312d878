"""Ingest and the data contract: mapping, whole-input (fatal) errors and single-row rejects."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from chanlib.build import build_store
from chanlib.config import load_params
from chanlib.data.ingest import rejects_dir, validate
from chanlib.errors import DataError

HEADER = "Day,Area,Route,Amount,Qty,Order\n"
GOOD = [
    "2024-01-05,North,web,100.50,2,A1",
    "2024-01-06,North,store,200.00,1,A2",
    "2024-02-07,South,web,50.25,1,A3",
    "2024-02-08,South,store,75.00,3,A4",
]


def _setup(tmp_path: Path, rows: list[str], extra: str = "", tables: str = "") -> Path:
    (tmp_path / "sales.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    params = tmp_path / "p.yaml"
    params.write_text(
        "store: store.duckdb\n"
        + (extra or "validation: {max_reject_share: 0.5}\n") +
        "tables:\n"
        "  sales:\n"
        "    path: sales.csv\n"
        "    date_format: '%Y-%m-%d'\n"
        "    columns: {date: Day, region: Area, channel: Route, revenue: Amount, units: Qty, order_id: Order}\n"
        + tables
    )
    return params


def _no_outputs(tmp_path: Path) -> None:
    leftovers = [p.name for p in tmp_path.iterdir() if "duckdb" in p.name or "rejects" in p.name]
    assert leftovers == []


def test_mapping_types_and_store(tmp_path):
    params = load_params(_setup(tmp_path, GOOD))
    quality = build_store(params)
    assert quality.tables[0].rows_read == 4 and quality.tables[0].rows_kept == 4
    con = duckdb.connect(str(params.store), read_only=True)
    frame = con.execute("SELECT * FROM sales ORDER BY order_id").df()
    assert list(frame.columns) == ["date", "region", "channel", "revenue", "units", "order_id"]
    assert frame["revenue"].dtype == "float64"
    assert str(frame["date"].iloc[0].date()) == "2024-01-05"
    assert frame["revenue"].sum() == pytest.approx(425.75)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'sales'").fetchall())
    assert types["date"] == "DATE" and types["revenue"] == "DOUBLE"


@pytest.mark.parametrize("bad, reason", [
    ("2024-13-45,North,web,10,1,B1", "unparseable_date"),
    (",North,web,10,1,B1", "missing_date"),
    ("2024-01-09,North,web,,1,B1", "missing_revenue"),
    ("2024-01-09,North,web,ten,1,B1", "unparseable_revenue"),
    ("2024-01-09,North,web,-10,1,B1", "negative_revenue"),
    ("2024-01-09,,web,10,1,B1", "missing_region"),
    ("2024-01-09,North,web,10,lots,B1", "unparseable_units"),
    ("2024-01-05,North,web,100.50,2,A1", "duplicate_row"),
])
def test_row_problems_are_set_aside_with_their_reason(tmp_path, bad, reason):
    params = load_params(_setup(tmp_path, GOOD + [bad]))
    quality = build_store(params)
    table = quality.tables[0]
    assert table.rejected == {reason: 1}
    assert table.examples[reason] == [6]  # header is row 1, the bad line is the 5th record
    assert table.rows_kept == 4
    rejects = pd.read_csv(rejects_dir(params.store) / "sales.csv", dtype=str)
    assert rejects[["row", "reason"]].values.tolist() == [["6", reason]]
    assert "Amount" in rejects.columns  # the source row is kept as it was
    con = duckdb.connect(str(params.store), read_only=True)
    assert con.execute("SELECT count(*) FROM sales").fetchone()[0] == 4


def test_returns_allowed_keeps_negative_revenue(tmp_path):
    params = load_params(_setup(tmp_path, GOOD + ["2024-01-09,North,web,-10,1,B1"],
                                extra="validation: {allow_returns: true}\n"))
    quality = validate(params).tables[0]
    assert quality.rejected == {} and quality.rows_kept == 5


def test_reject_share_over_threshold_is_fatal_and_writes_nothing(tmp_path):
    rows = GOOD + [f"2024-01-{d:02d},North,web,-1,1,N{d}" for d in range(10, 16)]
    params = load_params(_setup(tmp_path, rows))
    with pytest.raises(DataError) as info:
        build_store(params)
    message = str(info.value)
    assert "\n" not in message
    assert "sales.csv" in message and "negative_revenue" in message and "'Amount'" in message
    assert "rows 6, 7, 8, 9, 10)" in message  # at most 5 examples
    _no_outputs(tmp_path)


@pytest.mark.parametrize("content, expected", [
    ("Day,Area,Route,Qty,Order\n2024-01-05,North,web,2,A1\n", "column 'Amount' (mapped to sales.revenue) is missing"),
    (HEADER + "05/01/2024,North,web,1,1,A1\n06/01/2024,North,web,1,1,A2\n",
     "column 'Day' (date) cannot be read as a date with format '%Y-%m-%d' in any row (rows 2, 3)"),
    (HEADER + "2024-01-05,North,web,abc,1,A1\n", "column 'Amount' (revenue) cannot be read as a number"),
    ("", "empty file"),
    (HEADER, "no data rows"),
])
def test_whole_input_problems_are_fatal_one_line(tmp_path, content, expected):
    params_path = _setup(tmp_path, GOOD)
    (tmp_path / "sales.csv").write_text(content)
    params = load_params(params_path)
    with pytest.raises(DataError) as info:
        build_store(params)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    _no_outputs(tmp_path)


def test_missing_file_is_fatal(tmp_path):
    params = load_params(_setup(tmp_path, GOOD)).with_data({"sales": tmp_path / "nope.csv"})
    with pytest.raises(DataError, match="nope.csv: file not found"):
        validate(params)


def test_failed_rebuild_keeps_the_old_store(tmp_path):
    params_path = _setup(tmp_path, GOOD)
    build_store(load_params(params_path))
    before = (tmp_path / "store.duckdb").read_bytes()
    (tmp_path / "sales.csv").write_text("Day,Area\n2024-01-01,North\n")
    with pytest.raises(DataError):
        build_store(load_params(params_path))
    assert (tmp_path / "store.duckdb").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml", "sales.csv", "store.duckdb", "store_rejects"]


def test_orphan_keys_in_optional_tables_are_rejected(tmp_path):
    (tmp_path / "targets.csv").write_text(
        "period,region,channel,target_revenue\n2024-01-01,North,web,100\n2024-01-01,Atlantis,web,50\n"
        "2024-01-01,North,fax,10\n2024-01-01,South,web,100\n2024-01-01,South,store,100\n")
    (tmp_path / "channels.csv").write_text("channel,channel_type\nweb,online\nstore,offline\nnew_app,online\n")
    params = load_params(_setup(tmp_path, GOOD, tables="  targets: {path: targets.csv}\n"
                                                       "  channels: {path: channels.csv}\n"))
    quality = {t.table: t for t in build_store(params).tables}
    assert quality["targets"].rejected == {"unknown_region": 1, "unknown_channel": 1}
    assert quality["targets"].examples == {"unknown_region": [3], "unknown_channel": [4]}
    assert quality["channels"].rejected == {}  # a channel without sales yet is master data, not an error
    con = duckdb.connect(str(params.store), read_only=True)
    assert con.execute("SELECT count(*) FROM channels").fetchone()[0] == 3


def test_encodings_bom_and_na_values(tmp_path):
    params_path = _setup(tmp_path, GOOD)
    text = HEADER + "2024-01-05,Région Nord,web,10,NA,A1\n2024-01-06,Zürich,web,20,1,A2\n"
    (tmp_path / "sales.csv").write_bytes(text.encode("cp1252"))
    raw = params_path.read_text().replace("path: sales.csv",
                                          "path: sales.csv\n    encoding: cp1252\n    na_values: [NA]")
    params_path.write_text(raw)
    build_store(load_params(params_path))
    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    assert sorted(r for (r,) in con.execute("SELECT region FROM sales").fetchall()) == ["Région Nord", "Zürich"]
    assert con.execute("SELECT count(units) FROM sales").fetchone()[0] == 1

    (tmp_path / "sales.csv").write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n".join(GOOD)).encode())
    params_path.write_text(raw.replace("encoding: cp1252", "encoding: utf-8"))
    assert validate(load_params(params_path)).tables[0].rows_kept == 4


def test_parquet_and_excel_inputs(tmp_path):
    params_path = _setup(tmp_path, GOOD)
    frame = pd.read_csv(tmp_path / "sales.csv", dtype={"Order": str})
    frame["Day"] = pd.to_datetime(frame["Day"])
    frame.to_parquet(tmp_path / "sales.parquet")
    frame.assign(Day=frame["Day"].dt.strftime("%Y-%m-%d")).to_excel(tmp_path / "sales.xlsx", index=False)
    for name in ("sales.parquet", "sales.xlsx"):
        params = load_params(params_path, {"sales": tmp_path / name})
        quality = validate(params)
        assert quality.tables[0].rows_kept == 4, name


def test_derive_expression(tmp_path):
    params_path = _setup(tmp_path, GOOD)
    params_path.write_text(params_path.read_text().replace(
        "columns: {date: Day, region: Area, channel: Route, revenue: Amount, units: Qty, order_id: Order}",
        "columns: {date: Day, region: Area, revenue: Amount}\n"
        "    derive: {channel: \"'online'\", cost: 'TRY_CAST(\"Amount\" AS DOUBLE) * 0.5'}"))
    params = load_params(params_path)
    build_store(params)
    con = duckdb.connect(str(params.store), read_only=True)
    assert con.execute("SELECT DISTINCT channel FROM sales").fetchall() == [("online",)]
    assert con.execute("SELECT sum(cost) FROM sales").fetchone()[0] == pytest.approx(425.75 / 2)


def test_cli_validate_exit_codes(tmp_path):
    params_path = _setup(tmp_path, GOOD + ["2024-01-09,North,web,-10,1,B1"])
    ok = subprocess.run([sys.executable, "-m", "chanlib.cli", "validate", "--params", str(params_path)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "read 5, kept 4, rejected 1" in ok.stdout and "negative_revenue: 1 (rows 6)" in ok.stdout
    (tmp_path / "sales.csv").write_text("Day,Area\n2024-01-01,North\n")
    bad = subprocess.run([sys.executable, "-m", "chanlib.cli", "validate", "--params", str(params_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    errors = [line for line in bad.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "'Route'" in errors[0]
    usage = subprocess.run([sys.executable, "-m", "chanlib.cli", "validate", "--data", "nonsense"],
                           capture_output=True, text=True)
    assert usage.returncode == 2
    _no_outputs(tmp_path)


def test_duplicate_keys_in_plan_tables_but_not_in_survey_answers(tmp_path):
    (tmp_path / "targets.csv").write_text(
        "period,region,channel,target_revenue\n2024-01-01,North,web,100\n2024-01-01,North,web,120\n"
        "2024-01-01,South,web,100\n2024-02-01,North,web,100\n")
    (tmp_path / "feedback.csv").write_text(
        "date,region,channel,score\n2024-01-05,North,web,9\n2024-01-05,North,web,9\n2024-01-06,South,store,7\n")
    params = load_params(_setup(tmp_path, GOOD, tables="  targets: {path: targets.csv}\n"
                                                       "  feedback: {path: feedback.csv}\n"))
    quality = {t.table: t for t in build_store(params).tables}
    assert quality["targets"].rejected == {"duplicate_key": 1}
    assert quality["targets"].examples == {"duplicate_key": [3]}
    assert quality["feedback"].rejected == {}  # two identical answers are two answers


def test_blank_text_is_missing_not_unparseable(tmp_path):
    params = load_params(_setup(tmp_path, GOOD + ["2024-01-09,North,web,10,  ,B1", "2024-01-10,  ,web,10,1,B2"]))
    quality = validate(params).tables[0]
    assert quality.rejected == {"missing_region": 1}  # blank units are simply unknown
    assert quality.examples == {"missing_region": [7]}
