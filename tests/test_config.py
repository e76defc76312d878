"""Params: typed models from YAML; unknown keys and wrong types are one-line errors naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest

from chanlib.config import Params, default_params_path, load_params
from chanlib.errors import ParamsError

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_shipped_params_files_load():
    default = load_params(default_params_path())
    assert default.tables["sales"].path == (ROOT / "data" / "demo" / "sales.csv")
    assert default.store == ROOT / "data" / "chanlib.duckdb"
    superstore = load_params(ROOT / "params" / "superstore.yaml")
    assert superstore.tables["sales"].columns["channel"] == "Segment"
    assert superstore.tables["sales"].date_format == "%m/%d/%Y"


def test_relative_paths_resolve_against_the_params_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "p.yaml"
    path.write_text("store: s.duckdb\ntables:\n  sales: {path: ../x.csv}\n")
    params = load_params(path)
    assert params.tables["sales"].path == tmp_path / "x.csv"
    assert params.store == tmp_path / "sub" / "s.duckdb"


@pytest.mark.parametrize("text, expected", [
    ("tables:\n  sales: {path: s.csv}\ncurrencyy: EUR\n", "currencyy: unknown key"),
    ("tables:\n  sales: {path: s.csv, colums: {}}\n", "tables.sales.colums: unknown key"),
    ("tables:\n  sales: {path: s.csv}\nreport: {workers: many}\n", "report.workers"),
    ("tables:\n  sales: {path: s.csv}\nvalidation: {max_reject_share: 2}\n", "validation.max_reject_share"),
    ("tables:\n  sales: {path: s.csv, columns: {revenu: Sales}}\n", "tables.sales.columns.revenu"),
    ("tables:\n  salez: {path: s.csv}\n", "tables.salez"),
    ("tables:\n  channels: {path: c.csv}\n", "tables.sales is required"),
    ("currency: EUR\n", "tables: required key is missing"),
    ("- a list\n", "mapping"),
    ("tables: [unclosed\n", "not valid YAML"),
])
def test_bad_params_are_one_line_errors_naming_the_key(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message


def test_missing_params_file(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_data_override_replaces_path_and_keeps_mapping(tmp_path):
    params = load_params(ROOT / "params" / "superstore.yaml", {"sales": tmp_path / "other.csv"})
    assert params.tables["sales"].path == tmp_path / "other.csv"
    assert params.tables["sales"].columns["revenue"] == "Sales"
    added = params.with_data({"channels": tmp_path / "c.csv"})
    assert added.tables["channels"].path == tmp_path / "c.csv"
    with pytest.raises(ParamsError, match="unknown table 'salez'"):
        params.with_data({"salez": tmp_path / "x.csv"})


def test_moved_key_still_works_with_a_warning(tmp_path, caplog):
    path = _write(tmp_path, "tables:\n  sales: {path: s.csv}\nreport: {window_months: 6}\n")
    with caplog.at_level("WARNING", logger="chanlib.config"):
        params = load_params(path)
    assert params.periods.window_months == 6
    assert "report.window_months is now periods.window_months" in caplog.text
    both = _write(tmp_path, "tables:\n  sales: {path: s.csv}\nreport: {window_months: 6}\n"
                            "periods: {window_months: 3}\n")
    with pytest.raises(ParamsError, match="give it once, as periods.window_months"):
        load_params(both)


def test_file_format_from_suffix():
    assert Params.model_validate({"tables": {"sales": {"path": "a.parquet"}}}).tables["sales"].file_format == "parquet"
    assert Params.model_validate({"tables": {"sales": {"path": "a.xlsx"}}}).tables["sales"].file_format == "excel"
    explicit = Params.model_validate({"tables": {"sales": {"path": "a.txt", "format": "csv"}}})
    assert explicit.tables["sales"].file_format == "csv"
