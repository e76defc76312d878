"""ABC/XYZ classes on crafted data and customer RFM on the real UCI Online Retail sample."""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.segment import (
    SegmentInputError,
    SegmentSettings,
    abc_classes,
    abc_xyz_matrix,
    abc_xyz_table,
    customer_rfm,
    load_online_retail,
    rfm,
    rfm_summary,
    xyz_classes,
)
from chanlib.analytics.segment.customers import RFM_NAMES
from chanlib.errors import MissingInput
from chanlib.report import plots

# -- ABC ---------------------------------------------------------------------------------------------------------

def test_abc_thresholds_exact() -> None:
    # shares 0.40 0.25 0.15 | 0.10 0.05 | 0.03 0.02 0.00: A reaches 80 % exactly, B reaches 95 % exactly
    frame = pd.DataFrame({"product_id": list("abcdefgh"), "revenue": [40, 25, 15, 10, 5, 3, 2, 0]})
    frame = frame.sample(frac=1.0, random_state=3)  # input order does not matter
    out = abc_classes(frame, "product_id", thresholds=[0.8, 0.95])
    assert out["product_id"].tolist() == list("abcdefgh")
    assert out["abc"].tolist() == ["A", "A", "A", "B", "B", "C", "C", "C"]
    assert out["cum_share"].round(12).tolist() == [0.4, 0.65, 0.8, 0.9, 0.95, 0.98, 1.0, 1.0]
    # the item that crosses a threshold belongs to the class it completes
    crossing = abc_classes(pd.DataFrame({"k": ["x", "y", "z"], "revenue": [50.0, 40.0, 10.0]}), "k")
    assert crossing["abc"].tolist() == ["A", "A", "B"]
    out = abc_classes(frame, "product_id", thresholds=[0.79, 0.9])
    assert out["abc"].tolist() == ["A", "A", "A", "B", "C", "C", "C", "C"]


def test_abc_single_item_and_ties_and_groups() -> None:
    assert abc_classes(pd.DataFrame({"k": ["x"], "revenue": [5.0]}), "k")["abc"].tolist() == ["A"]
    ties = abc_classes(pd.DataFrame({"k": ["b", "a", "c"], "revenue": [1.0, 1.0, 1.0]}), "k")
    assert ties["k"].tolist() == ["a", "b", "c"] and ties["abc"].tolist() == ["A", "A", "A"]
    grouped = abc_classes(pd.DataFrame({"region": ["N", "N", "S", "S"], "k": ["a", "b", "a", "b"],
                                        "revenue": [90.0, 10.0, 50.0, 50.0]}), "k", by=["region"])
    assert grouped["abc"].tolist() == ["A", "B", "A", "A"]
    negative = abc_classes(pd.DataFrame({"k": ["a", "b"], "revenue": [10.0, -3.0]}), "k")
    assert negative["abc"].tolist() == ["A", "C"]


# -- XYZ ---------------------------------------------------------------------------------------------------------

def _monthly(series: dict[str, list[float]], start: str = "2024-01-01") -> pd.DataFrame:
    rows = []
    for key, values in series.items():
        for i, v in enumerate(values):
            rows.append((key, pd.Timestamp(start) + pd.DateOffset(months=i), v))
    return pd.DataFrame(rows, columns=["product_id", "date", "units"])


def test_xyz_on_crafted_series() -> None:
    series = {
        "steady": [10.0] * 12,                       # cv 0
        "x_edge": [5.0, 15.0] * 6,                   # cv exactly 0.5 -> X
        "y": [0.0, 20.0] * 6,                        # cv 1.0 -> Y
        "z": [0.0] * 11 + [120.0],                   # cv sqrt(11) -> Z
        "late": [0.0] * 9 + [10.0, 10.0, 10.0],      # zeros before the first sale still count (row exists)
        "new": [10.0, 30.0],                         # 2 months: too new for a class
    }
    frame = _monthly(series)
    frame = frame[~((frame["product_id"] == "new") & (frame["units"] == 0))]
    frame.loc[frame["product_id"] == "new", "date"] = [pd.Timestamp("2024-11-01"), pd.Timestamp("2024-12-01")]
    out = xyz_classes(frame, "product_id", thresholds=[0.5, 1.0], months=12).set_index("product_id")
    expected_cv = {k: np.std(v) / np.mean(v) for k, v in series.items() if k != "new"}
    for key, cv in expected_cv.items():
        assert out.loc[key, "cv"] == pytest.approx(cv, abs=1e-12), key
    assert out["xyz"].to_dict() == {"late": "Z", "new": None, "steady": "X", "x_edge": "X", "y": "Y", "z": "Z"}
    assert xyz_classes(frame, "product_id", thresholds=[0.4, 0.9])["xyz"].tolist()[:5] == ["Z", None, "X", "Y", "Z"]
    assert out.loc["new", "months"] == 2


def test_xyz_window_and_partial_last_month() -> None:
    # daily sales to 2024-12-10: December is incomplete, so the window is Jan..Nov 2024 (11 months asked)
    days = pd.date_range("2023-06-01", "2024-12-10", freq="D")
    frame = pd.DataFrame({"product_id": "p", "date": days, "units": 1.0})
    out = xyz_classes(frame, "product_id", months=11)
    assert out["months"].item() == 11
    assert out["cv"].item() == pytest.approx(np.std([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30]) / (335 / 11))


def test_matrix_counts_and_shares() -> None:
    classes = pd.DataFrame({"abc": ["A", "A", "B", "C"], "xyz": ["X", "Z", "X", None],
                            "revenue": [50.0, 30.0, 15.0, 5.0]})
    m = abc_xyz_matrix(classes).set_index(["abc", "xyz"])
    assert len(m) == 12 and m["items"].sum() == 4
    assert m.loc[("A", "X"), "value_share"] == 0.5 and m.loc[("C", "n/a"), "items"] == 1
    # the heat map draws those cells: colour = share of revenue, text = items and share, A..C down, X..Z across
    ax = plots.abc_xyz_heatmap(m.reset_index(), "products").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["X", "Y", "Z", "n/a"]
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_array()).reshape(3, 4),
                               [[0.5, 0, 0.3, 0], [0.15, 0, 0, 0], [0, 0, 0, 0.05]])
    assert [t.get_text() for t in ax.texts] == ["1\n50%", "0\n0%", "1\n30%", "0\n0%", "1\n15%", "0\n0%", "0\n0%",
                                                "0\n0%", "0\n0%", "0\n0%", "0\n0%", "1\n5%"]
    assert ax.collections[0].get_clim()[0] == 0.0  # shares from zero


def test_abc_xyz_table_from_store() -> None:
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE sales AS SELECT DATE '2024-01-01' + INTERVAL (d) DAY AS date, 'R' AS region, 'web' AS channel,
               'P' || p AS partner_id, 'SKU' || p AS product_id, 1.0 AS units, (p + 1) * 10.0 AS revenue
        FROM range(4) a(p), range(366) b(d)
    """)
    out = abc_xyz_table(con, "product_id", SegmentSettings())
    assert out["product_id"].tolist() == ["SKU3", "SKU2", "SKU1", "SKU0"]
    assert out["abc"].tolist() == ["A", "A", "A", "B"]  # shares .4 .3 .2 .1: .7 falls short of .8
    assert set(out["xyz"]) == {"X"}
    with pytest.raises(ValueError, match="partner_id or product_id"):
        abc_xyz_table(con, "customer_id", SegmentSettings())
    con.execute("UPDATE sales SET partner_id = NULL")
    with pytest.raises(MissingInput, match="no sale has a partner_id"):
        abc_xyz_table(con, "partner_id")
    con.execute("ALTER TABLE sales DROP COLUMN product_id")
    with pytest.raises(MissingInput, match="no product_id column"):
        abc_xyz_table(con, "product_id")


@pytest.mark.parametrize("call, message", [
    (lambda: abc_classes(pd.DataFrame({"k": ["a"]}), "k"), "missing column"),
    (lambda: abc_classes(pd.DataFrame({"k": ["a"], "revenue": [1.0]}), "k", thresholds=[0.9, 0.8]), "increasing"),
    (lambda: abc_classes(pd.DataFrame({"k": ["a"], "revenue": ["x"]}), "k"), "not numeric"),
    (lambda: xyz_classes(pd.DataFrame({"k": ["a"], "date": ["2024-01-01"]}), "k"), "missing column"),
    (lambda: rfm(pd.DataFrame({"customer_id": ["a"]})), "missing column"),
    (lambda: rfm(pd.DataFrame({"customer_id": [None], "order_id": ["1"], "date": ["2024-01-01"],
                               "revenue": [1.0]})), "no row has a customer_id"),
])
def test_bad_input_raises_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# -- RFM on the real UCI Online Retail sample ------------------------------------------------------------------

@pytest.fixture(scope="module")
def retail(shared_data: Path):
    path = shared_data / "online_retail_sample.csv"
    return path, load_online_retail(path)


def test_uci_set_aside_counts_match_pandas(retail) -> None:
    path, loaded = retail
    raw = pd.read_csv(path)  # pandas' own reading: "NA" is missing
    assert loaded.rows_read == len(raw) == 20_000
    cancellations = raw["InvoiceNo"].astype(str).str.startswith("C")
    unknown = raw["CustomerID"].isna()
    negative = raw["Quantity"] < 0
    price = raw["UnitPrice"] <= 0
    assert loaded.counts["cancellation"] == cancellations.sum() > 0
    assert loaded.counts["unknown_customer"] == unknown.sum() > 0
    assert loaded.counts["negative_quantity"] == negative.sum() > 0
    assert loaded.counts["non_positive_price"] == price.sum()
    assert loaded.counts["unreadable"] == 0
    bad = cancellations | unknown | negative | price
    assert loaded.rows_kept == (~bad).sum() and len(loaded.set_aside) == bad.sum()
    assert loaded.rows_kept + len(loaded.set_aside) == loaded.rows_read
    assert not loaded.lines["order_id"].str.startswith("C").any()
    assert (loaded.lines["units"] > 0).all() and loaded.lines["customer_id"].notna().all()
    kept = raw[~bad]
    assert loaded.lines["revenue"].sum() == pytest.approx((kept["Quantity"] * kept["UnitPrice"]).sum(), abs=1.0)


def test_uci_rfm(retail) -> None:
    _, loaded = retail
    settings = SegmentSettings()
    table = rfm(loaded.lines, settings=settings)
    lines = loaded.lines
    assert table["customer_id"].is_unique and len(table) == lines["customer_id"].nunique()
    freq = lines.groupby("customer_id")["order_id"].nunique()
    assert table.set_index("customer_id")["frequency"].equals(freq.rename("frequency"))
    assert table["monetary"].sum() == pytest.approx(lines["revenue"].sum())
    assert table[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    # ties score alike: every one-order customer has the same F score, and it is the lowest
    assert table.loc[table["frequency"] == 1, "f_score"].eq(1).all()
    assert table.groupby("m_score")["monetary"].max().is_monotonic_increasing
    assert table.groupby("r_score")["recency_days"].min().is_monotonic_decreasing
    summary = rfm_summary(table)
    assert summary["rfm_cluster"].tolist() == list(range(1, settings.rfm_clusters + 1))
    assert summary["rfm_segment"].is_unique
    bases = set(RFM_NAMES.values())
    assert all(name.split(" (")[0] in bases for name in summary["rfm_segment"])
    means = table.groupby("rfm_cluster")[["r_score", "f_score", "m_score"]].mean().sum(axis=1)
    assert means.is_monotonic_decreasing  # cluster 1 = best customers
    assert summary.loc[0, "rfm_segment"] == "champions"
    again = rfm(loaded.lines.sample(frac=1.0, random_state=1), settings=settings)
    pd.testing.assert_frame_equal(again, table)


def test_customer_rfm_from_store_and_absent_customers() -> None:
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE sales AS SELECT DATE '2024-01-01' + INTERVAL (i % 200) DAY AS date,
               CASE WHEN i % 2 = 0 THEN 'N' ELSE 'S' END AS region, 'web' AS channel,
               CASE WHEN i % 10 = 9 THEN NULL ELSE 'C' || (i % 37) END AS customer_id, 'O' || i AS order_id,
               1.0 + i % 13 AS revenue FROM range(2000) t(i)
    """)
    out = customer_rfm(con, SegmentSettings())
    assert set(out["region"]) == {"N", "S"} and out["customer_id"].notna().all()
    assert out.groupby("region")["frequency"].sum().sum() == 1800  # the 200 lines without a customer are not counted
    con.execute("ALTER TABLE sales DROP COLUMN customer_id")
    with pytest.raises(MissingInput, match="no customer_id column"):
        customer_rfm(con)


def test_load_online_retail_errors(tmp_path: Path) -> None:
    with pytest.raises(SegmentInputError, match="not found"):
        load_online_retail(tmp_path / "missing.csv")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        load_online_retail(tmp_path / "x.csv")
