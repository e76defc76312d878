"""The real Superstore export through params/superstore.yaml, ingest and the store, checked against published totals."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from chanlib.analytics import product_fit as fit
from chanlib.data import store

ROOT = Path(__file__).resolve().parent.parent


# superstore_store: the session's store of the export (tests/conftest.py), built and checked once


def test_totals_to_the_cent(superstore_store):
    con = store.connect(superstore_store)
    revenue, profit = con.execute("SELECT sum(revenue), sum(revenue - cost) FROM sales").fetchone()
    assert round(revenue, 2) == 2297200.86
    assert round(profit, 2) == 286397.02
    assert store.regions(con) == ["Central", "East", "South", "West"]
    first, last = con.execute("SELECT min(date), max(date) FROM sales").fetchone()
    assert (str(first), str(last)) == ("2016-01-03", "2019-12-30")


def test_region_by_segment_equals_plain_pandas(superstore_store, superstore_csv):
    raw = pd.read_csv(superstore_csv, encoding="utf-8-sig")
    expected = raw.groupby(["Region", "Segment"])[["Sales", "Profit"]].sum()
    con = store.connect(superstore_store)
    got = con.execute("SELECT region, channel, sum(revenue) AS revenue, sum(revenue - cost) AS profit "
                      "FROM sales GROUP BY ALL ORDER BY ALL").df().set_index(["region", "channel"])
    assert len(got) == 12
    # equal to the cent: sums of 4-decimal profits can land on a half cent, so compare within half a cent
    assert got["revenue"].tolist() == pytest.approx(expected["Sales"].tolist(), abs=0.005, rel=0)
    assert got["profit"].tolist() == pytest.approx(expected["Profit"].tolist(), abs=0.005, rel=0)


def test_validate_without_sales_column_exits_1_and_writes_no_store(superstore_csv, tmp_path):
    raw = pd.read_csv(superstore_csv, encoding="utf-8-sig", dtype=str)
    broken = tmp_path / "superstore_no_sales.csv"
    raw.drop(columns=["Sales"]).to_csv(broken, index=False)
    params = tmp_path / "superstore.yaml"
    shutil.copy(ROOT / "params" / "superstore.yaml", params)
    result = subprocess.run([sys.executable, "-m", "chanlib.cli", "validate", "--params", str(params),
                             "--data", f"sales={broken}"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "'Sales'" in errors[0] and "superstore_no_sales.csv" in errors[0]
    assert not list(tmp_path.rglob("*.duckdb*"))


def test_headline_kpis_on_superstore(superstore_store, superstore_csv):
    con = store.connect(superstore_store)
    head = store.read_result(con, "headline").set_index("region")
    raw = pd.read_csv(superstore_csv, encoding="utf-8-sig")
    raw["date"] = pd.to_datetime(raw["Order Date"], format="%m/%d/%Y")
    window = raw[raw["date"] > pd.Timestamp("2019-12-30") - pd.DateOffset(months=12)]
    prior = raw[(raw["date"] <= pd.Timestamp("2018-12-30")) & (raw["date"] > pd.Timestamp("2017-12-30"))]
    for region, row in head.iterrows():
        cur = window[window["Region"] == region]
        assert row["revenue"] == pytest.approx(cur["Sales"].sum())
        assert row["gross_margin"] == pytest.approx(cur["Profit"].sum())
        assert row["units"] == pytest.approx(cur["Quantity"].sum())
        prev = prior[prior["Region"] == region]["Sales"].sum()
        assert row["growth_yoy"] == pytest.approx(cur["Sales"].sum() / prev - 1)


def test_forecasts_use_the_levels_the_export_has(superstore_store):
    con = store.connect(superstore_store)
    nodes = store.read_result(con, "forecast_nodes")
    assert sorted(nodes["level"].unique()) == ["channel", "region", "total"]  # no partner_id in this export
    assert len(nodes) == 1 + 4 + 12
    forecast = store.read_result(con, "forecast")
    wide = forecast.pivot(index="unique_id", columns="ds", values="yhat")
    regions = nodes.loc[nodes["level"] == "region", "unique_id"]
    assert (abs(wide.loc[regions].sum() - wide.loc["total"]) < 1e-6).all()
    # the last order is on 2019-12-30, within the 3 days' tolerance of the month's end: December 2019 is complete
    assert str(pd.Timestamp(forecast["cutoff"].iloc[0]).date()) == "2019-12-31"


def test_product_fit_uses_the_category_column(superstore_store, superstore_csv):
    """Superstore has no products table: product fit takes the sales table's Category column."""
    con = store.connect(superstore_store)
    assert not store.has_table(con, "products")
    raw = pd.read_csv(superstore_csv, encoding="utf-8-sig")
    raw["date"] = pd.to_datetime(raw["Order Date"], format="%m/%d/%Y")
    # the last order is on 2019-12-30, within the 3 days' tolerance: the 12 complete months are all of 2019
    window = raw[raw["date"].dt.year == 2019]
    expected = window.groupby(["Category", "Segment"])["Sales"].sum()
    matrix = fit.fit_matrix(con).set_index(["category", "channel"])
    assert sorted(matrix.index.get_level_values(0).unique()) == ["Furniture", "Office Supplies", "Technology"]
    assert matrix["revenue"].sort_index().tolist() == pytest.approx(expected.sort_index().tolist())
    profit = window.groupby(["Category", "Segment"])["Profit"].sum()
    assert (matrix["margin_pct"].sort_index()).tolist() == pytest.approx((profit / expected).sort_index().tolist())
    recs = fit.recommendations(matrix.reset_index())
    assert set(recs["action"]) <= {"grow", "develop", "review"}


def test_period_evaluation_covers_2019_q4(superstore_store, superstore_csv):
    """The last order is on 2019-12-30: with the default 3 days' tolerance 2019 Q4 is complete and evaluated (with
    a tolerance of 0 the report would have evaluated 2019 Q3)."""
    from chanlib.analytics import period_evaluation as ev

    con = store.connect(superstore_store)
    try:
        p = ev.latest_complete_period(con, "quarter")
        assert (p.label, p.ly_label, p.ly_covered) == ("2019 Q4", "2018 Q4", True)
        assert ev.latest_complete_period(con, "quarter", tolerance_days=0).label == "2019 Q3"
        west = ev.period_comparison(con, "quarter", region="West")["revenue"].sum()
    finally:
        con.close()
    raw = pd.read_csv(superstore_csv, encoding="utf-8-sig")
    raw["date"] = pd.to_datetime(raw["Order Date"], format="%m/%d/%Y")
    assert west == pytest.approx(raw[(raw["Region"] == "West") & (raw["date"] >= "2019-10-01")]["Sales"].sum())
