"""Regional planning: coverage, penetration and white space against pandas on the small demo, and edge cases."""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.analytics import planning
from chanlib.errors import MissingInput
from chanlib.report import plots
from chanlib.report.narrative import white_space_sentence


@pytest.fixture(scope="module")
def demo(demo_dir: Path, demo_store: Path):
    con = duckdb.connect(str(demo_store), read_only=True)
    sales = pd.read_csv(demo_dir / "sales.csv", parse_dates=["date"])
    market = pd.read_csv(demo_dir / "market.csv", parse_dates=["period"])
    yield con, sales, market
    con.close()


def pandas_cells(sales: pd.DataFrame, market: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """Coverage per region x channel, independently from the CSV files."""
    last = sales["date"].max()
    end = last if (last + pd.Timedelta(days=1)).day == 1 else last.replace(day=1) - pd.Timedelta(days=1)
    start = end.replace(day=1) - pd.DateOffset(months=months - 1)
    mkt = market[(market["period"] >= start) & (market["period"] <= end)]
    size = mkt.groupby("region")["market_size"].sum()
    months_with_market = set(zip(mkt["region"], mkt["period"].dt.to_period("M")))
    s = sales[(sales["date"] >= start) & (sales["date"] <= end)]
    s = s[[k in months_with_market for k in zip(s["region"], s["date"].dt.to_period("M"))]]
    agg = s.groupby(["region", "channel"]).agg(revenue=("revenue", "sum"), active_partners=("partner_id", "nunique"))
    grid = pd.MultiIndex.from_product([sorted(size.index), sorted(s["channel"].unique())], names=["region", "channel"])
    cells = agg.reindex(grid, fill_value=0).reset_index()
    cells["market_size"] = cells["region"].map(size)
    cells["penetration"] = cells["revenue"] / cells["market_size"]
    cells["partners_per_million"] = cells["active_partners"] / cells["market_size"] * 1e6
    return cells


def test_coverage_matches_pandas(demo) -> None:
    con, sales, market = demo
    got = planning.coverage(con)
    want = pandas_cells(sales, market)
    assert got[["region", "channel"]].values.tolist() == want[["region", "channel"]].values.tolist()
    for col in ("revenue", "active_partners", "market_size", "penetration", "partners_per_million"):
        np.testing.assert_allclose(got[col], want[col].astype(float), rtol=1e-9, err_msg=col)
    assert (got["market_months"] == 12).all()


def test_region_level_coverage_matches_pandas(demo) -> None:
    con, sales, market = demo
    got = planning.coverage(con, by="region").set_index("region")
    cells = pandas_cells(sales, market)
    revenue = cells.groupby("region")["revenue"].sum()
    np.testing.assert_allclose(got["revenue"], revenue.reindex(got.index), rtol=1e-9)
    np.testing.assert_allclose(got["penetration"], (revenue / cells.groupby("region")["market_size"].first())
                               .reindex(got.index), rtol=1e-9)
    partners = sales[sales["date"] >= "2025-01-01"].groupby("region")["partner_id"].nunique()
    np.testing.assert_allclose(got["active_partners"], partners.reindex(got.index))
    one = planning.coverage(con, region="South", by="region")
    assert one["region"].tolist() == ["South"] and one["revenue"].iloc[0] == pytest.approx(got.loc["South", "revenue"])


@pytest.mark.parametrize("quantile", [0.75, 1.0])
def test_white_space_matches_pandas(demo, quantile: float) -> None:
    con, sales, market = demo
    cells = pandas_cells(sales, market)
    active = cells[cells["revenue"] > 0]
    bench = active.groupby("channel")["penetration"].quantile(quantile)
    cells["benchmark_penetration"] = cells["channel"].map(bench)
    cells["headroom"] = (cells["benchmark_penetration"] - cells["penetration"]).clip(lower=0) * cells["market_size"]
    want = cells[cells["headroom"] > 0].sort_values(["headroom", "region", "channel"],
                                                    ascending=[False, True, True]).head(8)
    got = planning.white_space(con, top_n=8, benchmark_quantile=quantile)
    assert got[["region", "channel"]].values.tolist() == want[["region", "channel"]].values.tolist()
    np.testing.assert_allclose(got["headroom"], want["headroom"], rtol=1e-9)
    np.testing.assert_allclose(got["benchmark_penetration"], want["benchmark_penetration"], rtol=1e-9)
    assert got["rank"].tolist() == list(range(1, 9))
    assert ((got["status"] == "untapped") == (got["revenue"] == 0)).all()
    # a region's list: the same cells and numbers as in the full ranking (peers still benchmark)
    north = planning.white_space(con, top_n=100, region="North", benchmark_quantile=quantile)
    full = planning.white_space(con, top_n=1000, benchmark_quantile=quantile)
    pd.testing.assert_frame_equal(north.drop(columns="rank"),
                                  full[full["region"] == "North"].drop(columns="rank").reset_index(drop=True))
    text = white_space_sentence(got.iloc[0], "EUR")
    assert text.startswith(f"**{got.iloc[0]['channel']} in {got.iloc[0]['region']}**")
    assert plots.white_space_bars(got, "EUR").axes[0].get_xlabel() == "Headroom (EUR)"


# --- edge cases -------------------------------------------------------------------------------------------------

SALES = pd.DataFrame({
    "date": ["2025-01-10", "2025-02-10", "2025-02-11", "2025-02-28", "2025-02-20"],
    "region": ["Long", "Long", "Long", "Short & <Co>", "NoMarket"],
    "channel": ["web", "web", "shop", "web", "web"],
    "revenue": [100.0, 100.0, 50.0, 10.0, 5.0], "partner_id": ["p1", "p1", "p2", "p3", "p4"]})
MARKET = pd.DataFrame({"period": ["2025-01-01", "2025-02-01", "2025-02-01", "2025-02-01"],
                       "region": ["Long", "Long", "Short & <Co>", "Short & <Co>"],
                       "category": ["toys", "toys", "toys", "tools"],
                       "market_size": [1000.0, 1000.0, 400.0, 600.0]})


def test_region_with_one_month_and_region_without_market(make_store, caplog: pytest.LogCaptureFixture) -> None:
    con = make_store(sales=SALES, market=MARKET)
    with caplog.at_level("WARNING", logger="chanlib.analytics.planning"):
        got = planning.coverage(con).set_index(["region", "channel"])
    assert "NoMarket" in caplog.text and "NoMarket" not in got.index.get_level_values(0)
    assert got.loc[("Long", "web"), "penetration"] == pytest.approx(200 / 2000)
    assert got.loc[("Short & <Co>", "web"), "penetration"] == pytest.approx(10 / 1000)
    assert got.loc[("Short & <Co>", "shop"), ["revenue", "active_partners"]].tolist() == [0, 0]
    ws = planning.white_space(con)
    assert ws[["region", "channel", "status"]].values.tolist() == [["Short & <Co>", "web", "under-penetrated"],
                                                                  ["Short & <Co>", "shop", "untapped"]]
    # web: the upper quartile of (0.1, 0.01) is 0.0775; shop: one peer at 50 / 2000
    assert ws["headroom"].tolist() == pytest.approx([(0.0775 - 0.01) * 1000, 0.025 * 1000])
    assert ws["peers"].tolist() == [2, 1]
    assert "Short &amp; &lt;Co&gt;" in white_space_sentence(ws.iloc[1], "EUR")


def test_without_partner_id_partners_are_nan(make_store) -> None:
    con = make_store(sales=SALES.drop(columns="partner_id"), market=MARKET)
    got = planning.coverage(con)
    assert got["active_partners"].isna().all() and got["partners_per_million"].isna().all()
    assert got["penetration"].notna().all()
    assert planning.white_space(con)["active_partners"].isna().all()


def test_without_market_raises_missing_input(make_store) -> None:
    con = make_store(sales=SALES, market=None)
    for call in (planning.coverage, planning.white_space):
        with pytest.raises(MissingInput) as info:
            call(con)
        assert info.value.table == "market" and "no market table" in str(info.value)
