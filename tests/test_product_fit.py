"""Product-channel fit: DuckDB results against pandas on the small demo, the planted affinities on the medium demo,
absent inputs and zero costs."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.analytics import product_fit as fit
from chanlib.build import build_store
from chanlib.config import FitSettings, load_params
from chanlib.data.demo import generate
from chanlib.errors import MissingInput
from chanlib.report import plots
from chanlib.report.narrative import fit_recommendation_sentence

log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def demo(demo_dir: Path, demo_store: Path):
    con = duckdb.connect(str(demo_store), read_only=True)
    sales = pd.read_csv(demo_dir / "sales.csv", parse_dates=["date"])
    products = pd.read_csv(demo_dir / "products.csv")
    yield con, sales.merge(products[["product_id", "category"]], on="product_id", how="inner"), demo_dir
    con.close()


def pandas_matrix(sales: pd.DataFrame, months: int | None = 12, region: str | None = None) -> pd.DataFrame:
    """The fit matrix computed independently from the CSV files."""
    s = sales if region is None else sales[sales["region"] == region]
    if months is not None:
        last = sales["date"].max()
        end = last if (last + pd.Timedelta(days=1)).day == 1 else last.replace(day=1) - pd.Timedelta(days=1)
        start = (end.replace(day=1) - pd.DateOffset(months=months - 1))
        s = s[(s["date"] >= start) & (s["date"] <= end)]
    s = s.assign(margin=s["revenue"] - s["cost"])
    cells = s.groupby(["category", "channel"])[["revenue", "margin"]].sum().reset_index()
    channel = cells.groupby("channel")[["revenue", "margin"]].transform("sum")
    category = cells.groupby("category")["revenue"].transform("sum")
    cells["margin_pct"] = cells["margin"] / cells["revenue"]
    cells["channel_margin_pct"] = channel["margin"] / channel["revenue"]
    cells["share_in_channel"] = cells["revenue"] / channel["revenue"]
    cells["share_overall"] = category / cells["revenue"].sum()
    cells["share_index"] = cells["share_in_channel"] / cells["share_overall"]
    cells["gap"] = cells["revenue"] - cells["share_overall"] * channel["revenue"]
    return cells.sort_values(["category", "channel"]).reset_index(drop=True)


@pytest.mark.parametrize("months,region", [(12, None), (None, None), (12, "North")])
def test_fit_matrix_matches_pandas(demo, months, region) -> None:
    con, sales, _ = demo
    got = fit.fit_matrix(con, region=region, months=months)
    want = pandas_matrix(sales, months, region)
    assert got[["category", "channel"]].values.tolist() == want[["category", "channel"]].values.tolist()
    for col in ("revenue", "margin_pct", "channel_margin_pct", "share_in_channel", "share_overall", "share_index",
                "gap"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-6, err_msg=col)
    # the gap sums to zero per channel, the shares to one
    assert got.groupby("channel")["gap"].sum().abs().max() < 1e-6
    np.testing.assert_allclose(got.groupby("channel")["share_in_channel"].sum(), 1.0, rtol=1e-12)


def test_top_channel_matches_planted_affinity_on_small(demo) -> None:
    con, _, demo_dir = demo
    truth = pd.read_csv(demo_dir / "truth/affinities.csv").set_index("category")["channel"]
    top = fit.top_channel_per_category(fit.fit_matrix(con))
    assert (top.reindex(truth.index) == truth).mean() >= 0.9


def test_recommendations_follow_the_rules(demo) -> None:
    con, _, _ = demo
    matrix = fit.fit_matrix(con)
    recs = fit.recommendations(matrix, top_n=12)
    assert len(recs) == 12 and recs["rank"].tolist() == list(range(1, 13))
    assert recs["gap"].abs().is_monotonic_decreasing
    thin = recs["margin_pct"] - recs["channel_margin_pct"] < -0.05
    grow, review = recs["action"] == "grow", recs["action"] == "review"
    assert (grow | review).all()
    assert (recs.loc[grow, "share_index"] >= 1.25).all() and not thin[grow].any()
    assert ((recs.loc[review, "share_index"] <= 0.8) | thin[review]).all()
    # the numbers behind each recommendation are the matrix's
    merged = recs.merge(matrix, on=["category", "channel"], suffixes=("", "_m"))
    np.testing.assert_allclose(merged["share_index"], merged["share_index_m"])
    assert merged["reason"].str.contains("share index").all()
    # every cell that qualifies and is not shown has a smaller stake than the last one shown
    full = fit.recommendations(matrix, top_n=1000)
    assert full["gap"].abs().iloc[12:].max() <= recs["gap"].abs().min()
    sentence = fit_recommendation_sentence(recs.iloc[0], "EUR")
    assert sentence.startswith(f"**{recs.iloc[0]['action'].capitalize()} ")
    fig = plots.fit_heatmap(matrix)
    assert fig.axes[0].get_title().startswith("Product-channel fit")


SALES = pd.DataFrame({"date": ["2025-01-05", "2025-01-06", "2025-01-07", "2025-01-31"],
                      "region": ["R"] * 4, "channel": ["web", "web", "shop <x>", "shop <x>"],
                      "product_id": ["p1", "p2", "p1", "p9"], "revenue": [80.0, 20.0, 50.0, 10.0],
                      "cost": [0.0, 0.0, 0.0, 0.0]})
PRODUCTS = pd.DataFrame({"product_id": ["p1", "p2"], "category": ["Toys & Games", "Tools"], "list_price": [1.0, 2.0]})


def test_zero_costs_and_unknown_products(make_store, caplog: pytest.LogCaptureFixture) -> None:
    con = make_store(sales=SALES, products=PRODUCTS)
    with caplog.at_level(logging.WARNING, logger="chanlib.analytics.product_fit"):
        m = fit.fit_matrix(con)
    assert "no product category" in caplog.text  # p9 is not in products: left out, logged
    assert m["revenue"].sum() == 150.0
    assert (m["margin_pct"] == 1.0).all() and np.isfinite(m[["share_index", "margin_pct"]].to_numpy()).all()
    recs = fit.recommendations(m)
    assert recs[["action", "category", "channel"]].values.tolist() == [["grow", "Tools", "web"]]
    assert recs["gap"].iloc[0] == pytest.approx(20 - 100 * 20 / 150)
    shop = m[m["channel"] == "shop <x>"].assign(action="review").iloc[0]
    text = fit_recommendation_sentence(shop, "EUR")
    assert "Toys &amp; Games in shop &lt;x&gt;" in text and "<x>" not in text and "100.0% margin" in text


def test_without_cost_margins_are_nan_and_rules_use_the_index(make_store) -> None:
    con = make_store(sales=SALES.drop(columns="cost"), products=PRODUCTS)
    m = fit.fit_matrix(con)
    assert m["margin_pct"].isna().all()
    recs = fit.recommendations(m, FitSettings(grow_index=1.1, review_index=0.9))
    assert not recs.empty and recs["reason"].str.contains("margin").sum() == 0


def test_absent_inputs_raise_missing_input(tmp_path: Path, make_store) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    con = make_store(tmp_path / "a", sales=SALES, products=None)
    with pytest.raises(MissingInput) as info:
        fit.fit_matrix(con)
    assert info.value.table == "products" and "no products table" in info.value.reason
    con = make_store(tmp_path / "b", sales=SALES.drop(columns="product_id"), products=PRODUCTS)
    with pytest.raises(MissingInput, match="no product_id column"):
        fit.fit_matrix(con)


def test_empty_window_gives_empty_results(make_store) -> None:
    con = make_store(sales=SALES, products=PRODUCTS)
    empty = fit.fit_matrix(con, region="nowhere")
    assert empty.empty and list(empty.columns) == fit.MATRIX_COLUMNS
    assert fit.recommendations(empty).empty and fit.top_channel_per_category(empty).empty


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory):
    """The medium demo (~2M order lines, Parquet), generated and built once (about 20 s on 2 cores)."""
    out = tmp_path_factory.mktemp("medium") / "demo"
    t0 = time.perf_counter()
    generate(out, size="medium", seed=42)
    t1 = time.perf_counter()
    params = load_params(out / "params.yaml")
    build_store(params)
    log.info("medium demo: generate %.1f s, build %.1f s", t1 - t0, time.perf_counter() - t1)
    con = duckdb.connect(str(params.store), read_only=True)
    yield con, out
    con.close()


def test_top_channel_matches_planted_affinity_on_medium(medium) -> None:
    con, out = medium
    truth = pd.read_csv(out / "truth/affinities.csv").set_index("category")["channel"]
    top = fit.top_channel_per_category(fit.fit_matrix(con))
    match = float((top.reindex(truth.index) == truth).mean())
    log.info("medium: top channel matches the planted affinity for %.0f%% of categories", 100 * match)
    assert match >= 0.9
