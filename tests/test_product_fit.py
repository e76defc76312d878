"""Product-channel fit: DuckDB results against pandas on the small demo, the planted affinities on the medium demo,
absent inputs and zero costs."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.analytics import product_fit as fit
from chanlib.config import FitSettings
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
    # a 1.5x boost blurred by each partner's own mix; on 40 partners the runner-up can come close (1.05 vs 1.09 for
    # one category on this seed), so 6 of 8 is the bar; the medium demo (below) finds every one
    assert (top.reindex(truth.index) == truth).mean() >= 0.75


def test_recommendations_follow_the_rules(demo) -> None:
    con, _, _ = demo
    matrix = fit.fit_matrix(con)
    recs = fit.recommendations(matrix, top_n=12)
    assert len(recs) == 12 and recs["rank"].tolist() == list(range(1, 13))
    margin_gap = recs["margin_pct"] - recs["channel_margin_pct"]
    thin = margin_gap < -0.05
    under = recs["share_index"] <= 0.8
    grow, develop, review = (recs["action"] == a for a in ("grow", "develop", "review"))
    assert (grow | develop | review).all()
    assert (recs.loc[grow, "share_index"] >= 1.25).all() and not thin[grow].any()
    assert (develop == (under & (margin_gap > 0))).all()  # under-sold and more profitable: an opportunity
    assert ((under & (margin_gap <= 0)) | thin)[review].all()
    # ranked by the margin at stake: |gap| x |margin - margin of the channel's other categories|, computed here
    merged = recs.merge(matrix, on=["category", "channel"], suffixes=("", "_m"))
    rest = (merged["channel_margin_pct_m"] * merged["channel_revenue"] - merged["gross_margin"]) / (
        merged["channel_revenue"] - merged["revenue_m"])
    np.testing.assert_allclose(merged["margin_at_stake"], merged["gap_m"].abs() * (merged["margin_pct_m"] - rest).abs(),
                               rtol=1e-9)
    assert recs["margin_at_stake"].is_monotonic_decreasing
    np.testing.assert_allclose(merged["share_index"], merged["share_index_m"])
    assert merged["reason"].str.contains("share index").all() and merged["reason"].str.contains("at stake").all()
    # every cell that qualifies and is not shown has a smaller stake than the last one shown
    full = fit.recommendations(matrix, top_n=1000)
    assert full["margin_at_stake"].iloc[12:].max() <= recs["margin_at_stake"].min()
    # the gap is revenue vs an average mix: it sums to zero per channel, so it is no ranking of money at stake
    assert matrix.groupby("channel")["gap"].sum().abs().max() < 1e-6
    sentence = fit_recommendation_sentence(recs.iloc[0], "EUR")
    assert sentence.startswith(f"**{recs.iloc[0]['action'].capitalize()} ")
    assert "revenue than at an average mix" in sentence and "margin at stake EUR" in sentence
    fig = plots.fit_heatmap(matrix)
    assert fig.axes[0].get_title().startswith("Product-channel fit")


# share index, margin %, channel margin %, expected action (fit defaults: grow 1.25, review 0.8, tolerance 5 points)
RULES = [
    (1.50, 0.30, 0.30, "grow"),
    (1.50, 0.26, 0.30, "grow"),  # 4 points below the channel: within the tolerance
    (1.50, 0.24, 0.30, "review"),  # 6 points below: thin, even though the channel favours it
    (1.00, 0.20, 0.30, "review"),  # thin at an average share
    (1.00, 0.35, 0.30, ""),  # nothing to say
    (0.50, 0.35, 0.30, "develop"),  # under-sold but earns more than the channel: an opportunity, not a problem
    (0.80, 0.31, 0.30, "develop"),  # at the review index, one point above the channel
    (0.50, 0.30, 0.30, "review"),  # under-sold and earns no more
    (0.50, 0.28, 0.30, "review"),
    (0.50, 0.20, 0.30, "review"),  # under-sold and thin
    (0.90, 0.40, 0.30, ""),  # between the two indices
    (0.50, float("nan"), float("nan"), "review"),  # no cost: the index alone decides
    (1.50, float("nan"), float("nan"), "grow"),
]


@pytest.mark.parametrize(("share_index", "margin", "channel_margin", "action"), RULES)
def test_recommendation_rules(share_index: float, margin: float, channel_margin: float, action: str) -> None:
    share_overall, channel_revenue = 0.2, 1000.0
    revenue = share_index * share_overall * channel_revenue
    cell = pd.DataFrame({
        "category": ["Toys"], "channel": ["web"], "revenue": [revenue], "gross_margin": [revenue * margin],
        "margin_pct": [margin], "channel_revenue": [channel_revenue], "channel_margin_pct": [channel_margin],
        "rest_margin_pct": [(channel_margin * channel_revenue - revenue * margin) / (channel_revenue - revenue)],
        "share_in_channel": [revenue / channel_revenue], "share_overall": [share_overall],
        "share_index": [share_index], "expected_revenue": [share_overall * channel_revenue],
        "gap": [revenue - share_overall * channel_revenue]})
    recs = fit.recommendations(cell)
    assert recs["action"].tolist() == ([action] if action else [])
    if action and not np.isnan(margin):
        want = abs(cell["gap"].iloc[0]) * abs(margin - cell["rest_margin_pct"].iloc[0])
        assert recs["margin_at_stake"].iloc[0] == pytest.approx(want)
        text = fit_recommendation_sentence(recs.iloc[0], "EUR")
        assert ("an opportunity" in text) == (action == "develop")


def test_margin_at_stake_ranks_by_hand() -> None:
    # web: Toys 80 at 50%, Tools 20 at 50%; shop: Toys 20 at 50%, Tools 80 at 25% (the module's example)
    products = pd.DataFrame({"product_id": ["p1", "p2"], "category": ["Toys", "Tools"]})
    sales = pd.DataFrame({"date": pd.Timestamp("2025-01-31"), "region": "East",
                          "channel": ["web", "web", "shop", "shop"], "product_id": ["p1", "p2", "p1", "p2"],
                          "revenue": [80.0, 20.0, 20.0, 80.0], "cost": [40.0, 10.0, 10.0, 60.0]})
    recs = fit.recommendations(fit.fit_matrix({"sales": sales, "products": products}))
    # Tools in shop: gap 80 - 0.5 x 100 = 30, margin 25% vs 50% for Toys in shop -> 30 x 0.25 = 7.5; Toys in shop:
    # gap -30, 50% vs 25% -> 7.5 (develop: under-sold at a better margin than the channel's 30%); web: equal margins
    assert recs[["action", "category", "channel"]].values.tolist() == [
        ["grow", "Tools", "shop"], ["develop", "Toys", "shop"], ["review", "Tools", "web"], ["grow", "Toys", "web"]]
    assert recs["margin_at_stake"].tolist() == pytest.approx([7.5, 7.5, 0.0, 0.0])
    assert recs["gap"].tolist() == pytest.approx([30.0, -30.0, -30.0, 30.0])


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


def test_category_from_the_sales_table_when_there_is_no_products_table(make_store) -> None:
    sales = SALES[SALES["product_id"] != "p9"].assign(category=["Toys & Games", "Tools", "Toys & Games"])
    # the last sale is on 7 January, so there is no complete month: take all the data
    with_products = fit.fit_matrix({"sales": sales.drop(columns="category"), "products": PRODUCTS}, months=None)
    assert len(with_products) == 3
    from_sales = fit.fit_matrix({"sales": sales.drop(columns="product_id")}, months=None)
    pd.testing.assert_frame_equal(from_sales, with_products)
    # with a products table, its categories win over the sales table's (here deliberately different)
    other = fit.fit_matrix({"sales": sales.assign(category="Other"), "products": PRODUCTS}, months=None)
    pd.testing.assert_frame_equal(other, with_products)
    # a line without a category is left out, as a product without one is; through a real store too
    con = make_store(sales=sales.assign(category=["Toys & Games", "Tools", None]).drop(columns="product_id"))
    m = fit.fit_matrix(con, months=None)
    assert m[["category", "channel", "revenue"]].values.tolist() == [["Tools", "web", 20.0],
                                                                      ["Toys & Games", "web", 80.0]]


def test_empty_window_gives_empty_results(make_store) -> None:
    con = make_store(sales=SALES, products=PRODUCTS)
    empty = fit.fit_matrix(con, region="nowhere")
    assert empty.empty and list(empty.columns) == fit.MATRIX_COLUMNS
    assert fit.recommendations(empty).empty and fit.top_channel_per_category(empty).empty


@pytest.fixture(scope="module")
def medium(medium_demo: Path):
    """The medium demo (~2M order lines, Parquet) and its store: the session's, shared with the segment tests."""
    con = duckdb.connect(str(medium_demo / "chanlib.duckdb"), read_only=True)
    yield con, medium_demo
    con.close()


def test_top_channel_matches_planted_affinity_on_medium(medium) -> None:
    con, out = medium
    truth = pd.read_csv(out / "truth/affinities.csv").set_index("category")["channel"]
    matrix = fit.fit_matrix(con)
    top = fit.top_channel_per_category(matrix)
    match = float((top.reindex(truth.index) == truth).mean())
    log.info("medium: top channel matches the planted affinity for %.0f%% of categories", 100 * match)
    assert match >= 0.9
    # the planted boost is 1.5x: the home channel leads moderately (1.28-1.42 on this seed), not by 2-3x
    index = matrix.set_index(["category", "channel"])["share_index"]
    home = index.loc[list(truth.items())]
    assert 1.15 < home.median() < 1.6 and home.max() < 1.8


def test_fit_heatmap_draws_the_share_index(demo) -> None:
    """Each cell of the heat map is its category x channel share index: coloured by log2 of it (so 2 and 1/2 are
    equally far from white), annotated with it; rows are the categories, columns the channels."""
    con, _, _ = demo
    matrix = fit.fit_matrix(con)
    pivot = matrix.pivot_table(index="category", columns="channel", values="share_index", aggfunc="first")
    assert pivot.shape[0] >= 3 and pivot.shape[1] >= 3 and (pivot.to_numpy() > 0).all()
    ax = plots.fit_heatmap(matrix).axes[0]
    mesh = ax.collections[0]
    logged = np.log2(pivot.to_numpy())
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(pivot.shape), logged, rtol=1e-12)
    assert [t.get_text() for t in ax.texts] == [f"{v:.2f}" for v in pivot.to_numpy().ravel()]
    assert [t.get_text() for t in ax.get_yticklabels()] == pivot.index.tolist()
    shown = [t.get_text().lower().replace(" ", "_") for t in ax.get_xticklabels()]
    assert shown == [c.lower() for c in pivot.columns]
    assert mesh.get_clim() == pytest.approx((-np.abs(logged).max(), np.abs(logged).max()))  # white at index 1
    assert ax.get_title().startswith("Product-channel fit")
