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
    channels = pd.read_csv(demo_dir / "channels.csv")
    yield con, sales, market, channels
    con.close()


def pandas_cells(sales: pd.DataFrame, market: pd.DataFrame, channels: pd.DataFrame, months: int = 12,
                 quantile: float = 0.75, min_peers: int = 3) -> pd.DataFrame:
    """Coverage per region x channel against the channel's served market, with the benchmark of the other regions,
    independently from the CSV files."""
    last = sales["date"].max()
    end = last if (last + pd.Timedelta(days=1)).day == 1 else last.replace(day=1) - pd.Timedelta(days=1)
    start = end.replace(day=1) - pd.DateOffset(months=months - 1)
    mkt = market[(market["period"] >= start) & (market["period"] <= end)]
    size = mkt.groupby("region")["market_size"].sum()
    served = mkt.groupby(["region", "market"])["market_size"].sum()
    months_with_market = set(zip(mkt["region"], mkt["period"].dt.to_period("M")))
    s = sales[(sales["date"] >= start) & (sales["date"] <= end)]
    s = s[[k in months_with_market for k in zip(s["region"], s["date"].dt.to_period("M"))]]
    agg = s.groupby(["region", "channel"]).agg(revenue=("revenue", "sum"), active_partners=("partner_id", "nunique"))
    grid = pd.MultiIndex.from_product([sorted(size.index), sorted(s["channel"].unique())], names=["region", "channel"])
    cells = agg.reindex(grid, fill_value=0).reset_index()
    cells["served_market"] = cells["channel"].map(channels.set_index("channel")["market"])
    cells["market_size"] = [served[(r, m)] for r, m in zip(cells["region"], cells["served_market"])]
    cells["penetration"] = cells["revenue"] / cells["market_size"]
    cells["partners_per_million"] = cells["active_partners"] / cells["market_size"] * 1e6
    bench, peers = [], []
    for region, channel in zip(cells["region"], cells["channel"]):
        others = cells[(cells["channel"] == channel) & (cells["region"] != region) & (cells["revenue"] > 0)]
        peers.append(len(others))
        bench.append(others["penetration"].quantile(quantile) if len(others) >= min_peers else np.nan)
    cells["peers"], cells["benchmark_penetration"] = peers, bench
    cells["headroom"] = (cells["benchmark_penetration"] - cells["penetration"]).clip(lower=0) * cells["market_size"]
    return cells


def test_coverage_matches_pandas(demo) -> None:
    con, sales, market, channels = demo
    got = planning.coverage(con, min_peers=2)
    want = pandas_cells(sales, market, channels, min_peers=2)
    assert got[["region", "channel"]].values.tolist() == want[["region", "channel"]].values.tolist()
    for col in ("revenue", "active_partners", "market_size", "penetration", "partners_per_million",
                "benchmark_penetration", "headroom"):
        np.testing.assert_allclose(got[col], want[col].astype(float), rtol=1e-9, err_msg=col)
    assert got["peers"].tolist() == want["peers"].tolist()
    # every demo channel is measured against the market it serves, which is smaller than the whole region's
    assert got["served_market"].tolist() == want["served_market"].tolist()
    assert set(got["served_market"]) == {"domestic", "cross_border"}
    whole = planning.coverage(con, by="region").set_index("region")["market_size"]
    assert (got["market_size"] < got["region"].map(whole)).all()
    assert (got["market_months"] == 12).all()


def test_region_level_coverage_matches_pandas(demo) -> None:
    con, sales, market, channels = demo
    got = planning.coverage(con, by="region").set_index("region")
    cells = pandas_cells(sales, market, channels)
    revenue = cells.groupby("region")["revenue"].sum()
    whole = market[market["period"].between("2025-01-01", "2025-12-31")].groupby("region")["market_size"].sum()
    np.testing.assert_allclose(got["revenue"], revenue.reindex(got.index), rtol=1e-9)
    np.testing.assert_allclose(got["penetration"], (revenue / whole).reindex(got.index), rtol=1e-9)
    partners = sales[sales["date"] >= "2025-01-01"].groupby("region")["partner_id"].nunique()
    np.testing.assert_allclose(got["active_partners"], partners.reindex(got.index))
    one = planning.coverage(con, region="South", by="region")
    assert one["region"].tolist() == ["South"] and one["revenue"].iloc[0] == pytest.approx(got.loc["South", "revenue"])


@pytest.mark.parametrize(("quantile", "min_peers"), [(0.75, 1), (1.0, 1), (0.75, 2)])
def test_white_space_matches_pandas(demo, quantile: float, min_peers: int) -> None:
    con, sales, market, channels = demo
    cells = pandas_cells(sales, market, channels, quantile=quantile, min_peers=min_peers)
    # only channels the region sells in are ranked; untapped ones are listed apart
    want = cells[(cells["headroom"] > 0) & (cells["revenue"] > 0)].sort_values(
        ["headroom", "region", "channel"], ascending=[False, True, True]).head(8)
    assert len(want) >= 3
    got = planning.white_space(con, top_n=8, benchmark_quantile=quantile, min_peers=min_peers)
    assert got[["region", "channel"]].values.tolist() == want[["region", "channel"]].values.tolist()
    np.testing.assert_allclose(got["headroom"], want["headroom"], rtol=1e-9)
    np.testing.assert_allclose(got["benchmark_penetration"], want["benchmark_penetration"], rtol=1e-9)
    assert got["peers"].tolist() == want["peers"].tolist() and (got["peers"] >= min_peers).all()
    assert got["rank"].tolist() == list(range(1, len(want) + 1))
    assert (got["status"] == "under-penetrated").all() and (got["revenue"] > 0).all()
    absent = planning.untapped(con, benchmark_quantile=quantile, min_peers=min_peers)
    unsold = cells[cells["revenue"] == 0]
    assert sorted(absent[["region", "channel"]].values.tolist()) == sorted(unsold[["region", "channel"]]
                                                                           .values.tolist())
    merged = absent.merge(unsold, on=["region", "channel"], suffixes=("", "_want"))
    np.testing.assert_allclose(merged["potential"], merged["benchmark_penetration_want"] * merged["market_size_want"],
                               rtol=1e-9)
    # a region's list: the same cells and numbers as in the full ranking (peers still benchmark)
    north = planning.white_space(con, top_n=100, region="North", benchmark_quantile=quantile, min_peers=min_peers)
    full = planning.white_space(con, top_n=1000, benchmark_quantile=quantile, min_peers=min_peers)
    pd.testing.assert_frame_equal(north.drop(columns="rank"),
                                  full[full["region"] == "North"].drop(columns="rank").reset_index(drop=True))
    text = white_space_sentence(got.iloc[0], "EUR")
    assert text.startswith(f"**{got.iloc[0]['channel']} in {got.iloc[0]['region']}**")
    assert f"benchmark of {got.iloc[0]['peers']} peer region" in text
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
    # two regions: each has one peer at most, so with the default of three peers there is no benchmark at all
    assert planning.white_space(con).empty
    assert got["status"].tolist() == ["too few peers", "too few peers", "untapped", "too few peers"]
    ws = planning.white_space(con, min_peers=1)
    assert ws[["region", "channel", "status"]].values.tolist() == [["Short & <Co>", "web", "under-penetrated"]]
    # web in Short: its one peer (Long) is at 200 / 2000 = 0.1; Long's own penetration is not in its benchmark
    assert ws["headroom"].tolist() == pytest.approx([(0.1 - 0.01) * 1000]) and ws["peers"].tolist() == [1]
    absent = planning.untapped(con, min_peers=1)
    assert absent[["region", "channel", "peers"]].values.tolist() == [["Short & <Co>", "shop", 1]]
    assert absent["potential"].tolist() == pytest.approx([50 / 2000 * 1000])
    assert "Short &amp; &lt;Co&gt;" in white_space_sentence(ws.iloc[0], "EUR")


def test_without_partner_id_partners_are_nan(make_store) -> None:
    con = make_store(sales=SALES.drop(columns="partner_id"), market=MARKET)
    got = planning.coverage(con)
    assert got["active_partners"].isna().all() and got["partners_per_million"].isna().all()
    assert got["penetration"].notna().all()
    ws = planning.white_space(con, min_peers=1)
    assert len(ws) == 1 and ws["active_partners"].isna().all()


@pytest.mark.parametrize("partner_ids", [True, False])
@pytest.mark.parametrize("region", [None, "Long", "Short & <Co>"])
def test_white_space_and_untapped_from_given_cells_equal_the_computed_ones(make_store, partner_ids: bool,
                                                                         region: str | None) -> None:
    """A report computes coverage once and hands it to white_space and untapped: the same frames as reading the
    store again."""
    con = make_store(sales=SALES if partner_ids else SALES.drop(columns="partner_id"), market=MARKET)
    every = planning.coverage(con, min_peers=1)
    pd.testing.assert_frame_equal(planning.white_space(con, region=region, min_peers=1),
                                  planning.white_space(None, region=region, cells=every))
    pd.testing.assert_frame_equal(planning.untapped(con, region=region, min_peers=1),
                                  planning.untapped(None, region=region, cells=every))
    with pytest.raises(ValueError, match="lacks benchmark_penetration, channel, headroom, peers"):
        planning.white_space(con, cells=planning.coverage(con, by="region"))


def test_without_market_raises_missing_input(make_store) -> None:
    con = make_store(sales=SALES, market=None)
    for call in (planning.coverage, planning.white_space, planning.untapped):
        with pytest.raises(MissingInput) as info:
            call(con)
        assert info.value.table == "market" and "no market table" in str(info.value)


def test_white_space_bars_draw_the_headroom(demo) -> None:
    """The chart shows the ranking: one bar per cell from zero, as long as its headroom, largest on top, labelled
    with the region and annotated with the penetration against the benchmark; one colour per channel."""
    con = demo[0]
    ws = planning.white_space(con, top_n=8, min_peers=1)
    assert len(ws) >= 3
    ordered = ws.sort_values("headroom", ascending=False)
    ax = plots.white_space_bars(ws, "EUR").axes[0]
    bars = list(ax.patches)
    assert [b.get_width() for b in bars] == pytest.approx(ordered["headroom"].tolist(), rel=1e-12)
    assert all(b.get_x() == 0 for b in bars) and ax.get_xlim()[0] == 0
    assert ax.get_xlim()[1] > ordered["headroom"].max()
    assert ax.yaxis_inverted() and [b.get_y() for b in bars] == sorted(b.get_y() for b in bars)  # largest on top
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert [t.split(" · ")[0] for t in ticks] == ordered["region"].tolist()
    for text, (_, row) in zip(ax.texts, ordered.iterrows()):
        assert f"{row['penetration']:.1%} vs {row['benchmark_penetration']:.1%}" in text.get_text()
        assert text.xy[0] == pytest.approx(row["headroom"])
    channel_of_colour: dict[tuple, set] = {}
    for bar, channel in zip(bars, ordered["channel"]):
        channel_of_colour.setdefault(tuple(bar.get_facecolor()), set()).add(channel)
    assert all(len(c) == 1 for c in channel_of_colour.values())  # a colour means one channel
    assert len(channel_of_colour) == ordered["channel"].nunique()
    assert ax.get_xlabel() == "Headroom (EUR)"
