"""The DuckDB store: round trip, freshness (rebuilt when inputs change), read-only access."""
from __future__ import annotations

import os
import time

import duckdb
import pandas as pd
import pytest

from chanlib.build import ensure
from chanlib.config import load_params
from chanlib.data import store
from chanlib.errors import DataError


@pytest.fixture
def params(demo_copy):
    """A private copy of the small demo, not built yet."""
    return load_params(demo_copy / "params.yaml")


@pytest.fixture
def built(demo_store):
    """The params of the session's small demo store (built, up to date): for tests that only read it."""
    return load_params(demo_store.parent / "params.yaml")


def test_round_trip_equals_the_input_files(built):
    params = built
    ensure(params)
    con = store.connect(params.store)
    for table in ("sales", "partners", "targets"):
        source = pd.read_csv(params.tables[table].path)
        stored = con.execute(f"SELECT * FROM {table}").df()
        assert len(stored) == len(source), table
        assert set(stored.columns) <= set(source.columns)
    sales = pd.read_csv(params.tables["sales"].path)
    stored = con.execute("SELECT sum(revenue), sum(cost), sum(units), count(DISTINCT order_id) FROM sales").fetchone()
    assert stored[0] == pytest.approx(sales["revenue"].sum())
    assert stored[1] == pytest.approx(sales["cost"].sum())
    assert stored[2] == pytest.approx(sales["units"].sum())
    assert stored[3] == sales["order_id"].nunique()


def test_store_is_rebuilt_when_an_input_changes(params):
    assert not store.is_fresh(params)
    ensure(params)
    assert store.is_fresh(params)
    built = os.stat(params.store).st_mtime_ns
    ensure(params)
    assert os.stat(params.store).st_mtime_ns == built  # fresh: not rebuilt
    path = params.tables["sales"].path
    time.sleep(0.01)
    path.write_text(path.read_text())  # same content, newer file
    assert not store.is_fresh(params)
    ensure(params)
    assert store.is_fresh(params)
    changed = params.model_copy(update={"currency": "USD"})
    assert not store.is_fresh(changed)


def test_store_opens_read_only(built):
    params = built
    ensure(params)
    con = store.connect(params.store)
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE x AS SELECT 1")
    other = store.connect(params.store)  # many readers at once
    assert store.regions(other) == store.regions(con)


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="store not found"):
        store.connect(tmp_path / "none.duckdb")
