"""White space against peers and served markets: hand-computed examples with four regions (the region itself is no
peer of its own; two peers are too few), a cross-border channel measured against the cross-border market, the
fallback to the whole regional market, and what the report section says about all three."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from IPython.display import HTML, Markdown

from chanlib.analytics import planning
from chanlib.report import sections
from chanlib.report.narrative import white_space_sentence

REGIONS = ["A", "B", "C", "D"]


def _sales(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Timestamp("2025-01-31"), "region": [r for r, _, _ in rows],
                         "channel": [c for _, c, _ in rows], "revenue": [v for _, _, v in rows]})


#: every region has a market of 1000 in January 2025 (one category, no split by market)
MARKET = pd.DataFrame({"period": pd.Timestamp("2025-01-01"), "region": REGIONS, "category": "toys",
                       "market_size": 1000.0})
#: web in all four regions (penetration 1%, 2%, 3%, 4%), shop in three, fax in two
SALES = _sales([("A", "web", 10.0), ("B", "web", 20.0), ("C", "web", 30.0), ("D", "web", 40.0),
                ("A", "shop", 5.0), ("B", "shop", 10.0), ("C", "shop", 15.0),
                ("A", "fax", 50.0), ("B", "fax", 10.0)])


@pytest.fixture
def cells() -> pd.DataFrame:
    return planning.coverage({"sales": SALES, "market": MARKET}).set_index(["region", "channel"])


# region, channel, peers, benchmark (upper quartile of the OTHER regions, linear interpolation), headroom, status
EXPECTED = [
    # web in A: peers B, C, D at 2%, 3%, 4% -> 3% + 0.5 x 1% = 3.5% (with A itself it would be 3.25%)
    ("A", "web", 3, 0.035, 25.0, "under-penetrated"),
    ("B", "web", 3, 0.035, 15.0, "under-penetrated"),  # peers 1%, 3%, 4%
    ("C", "web", 3, 0.030, 0.0, "at or above benchmark"),  # peers 1%, 2%, 4% -> 2% + 0.5 x 2%
    ("D", "web", 3, 0.025, 0.0, "at or above benchmark"),  # peers 1%, 2%, 3%
    ("A", "shop", 2, None, None, "too few peers"),  # B and C only
    ("C", "shop", 2, None, None, "too few peers"),
    ("D", "shop", 3, 0.0125, None, "untapped"),  # peers 0.5%, 1%, 1.5% -> 1% + 0.5 x 0.5%
    ("A", "fax", 1, None, None, "too few peers"),
    ("C", "fax", 2, None, None, "untapped"),
]


@pytest.mark.parametrize(("region", "channel", "peers", "benchmark", "headroom", "status"), EXPECTED)
def test_benchmark_excludes_the_region_and_needs_three_peers(cells, region, channel, peers, benchmark, headroom,
                                                             status) -> None:
    row = cells.loc[(region, channel)]
    assert row["peers"] == peers and row["status"] == status
    if benchmark is None:
        assert pd.isna(row["benchmark_penetration"]) and pd.isna(row["headroom"])
    else:
        assert row["benchmark_penetration"] == pytest.approx(benchmark)
    if headroom is not None:
        assert row["headroom"] == pytest.approx(headroom)


def test_white_space_ranks_sold_channels_and_lists_untapped_apart() -> None:
    data = {"sales": SALES, "market": MARKET}
    ws = planning.white_space(data)
    assert ws[["rank", "region", "channel", "peers"]].values.tolist() == [[1, "A", "web", 3], [2, "B", "web", 3]]
    assert ws["headroom"].tolist() == pytest.approx([25.0, 15.0])
    absent = planning.untapped(data)
    # D's shop has a benchmark (potential 1.25% x 1000) and comes first in D; fax has two peers only
    assert absent[["region", "channel", "peers"]].values.tolist() == [["C", "fax", 2], ["D", "shop", 3],
                                                                       ["D", "fax", 2]]
    assert absent["potential"].iloc[1] == pytest.approx(12.5) and absent["potential"].isna().tolist() == [
        True, False, True]
    # with two peers enough, shop in A gets one: B and C at 1% and 1.5% -> 1% + 0.75 x 0.5%
    two = planning.white_space(data, min_peers=2).set_index(["region", "channel"])
    assert two.loc[("A", "shop"), "benchmark_penetration"] == pytest.approx(0.01375)
    assert two.loc[("A", "shop"), "headroom"] == pytest.approx((0.01375 - 0.005) * 1000)


# --- served markets ---------------------------------------------------------------------------------------------

CHANNELS = pd.DataFrame({"channel": ["web", "xb", "pos"], "market": ["domestic", "cross_border", None]})
#: domestic 800 everywhere; the cross-border market differs by region
SPLIT = pd.DataFrame({
    "period": pd.Timestamp("2025-01-01"), "region": REGIONS * 2, "category": "toys",
    "market": ["domestic"] * 4 + ["cross_border"] * 4,
    "market_size": [800.0] * 4 + [100.0, 200.0, 400.0, 200.0]})
XB = _sales([("A", "xb", 10.0), ("B", "xb", 30.0), ("C", "xb", 80.0), ("D", "xb", 50.0),
             ("A", "web", 8.0), ("A", "pos", 9.0)])


def test_cross_border_channel_is_measured_against_the_cross_border_market() -> None:
    data = {"sales": XB, "market": SPLIT, "channels": CHANNELS}
    cells = planning.coverage(data).set_index(["region", "channel"])
    # xb penetration of the cross-border market: 10/100, 30/200, 80/400, 50/200
    assert cells.xs("xb", level="channel")["penetration"].tolist() == pytest.approx([0.1, 0.15, 0.2, 0.25])
    assert set(cells.xs("xb", level="channel")["served_market"]) == {"cross_border"}
    # web serves the domestic market (800); pos has no market in the channels table: the whole region (900 in A)
    assert cells.loc[("A", "web"), ["served_market", "market_size"]].tolist() == ["domestic", 800.0]
    assert pd.isna(cells.loc[("A", "pos"), "served_market"]) and cells.loc[("A", "pos"), "market_size"] == 900.0
    assert cells.loc[("A", "pos"), "penetration"] == pytest.approx(9 / 900)
    ws = planning.white_space(data)
    # A: peers 15%, 20%, 25% -> 22.5%, headroom (22.5% - 10%) x 100; B: peers 10%, 20%, 25% -> 22.5%, x 200
    assert ws[["region", "channel"]].values.tolist() == [["B", "xb"], ["A", "xb"]]
    assert ws["headroom"].tolist() == pytest.approx([(0.225 - 0.15) * 200, (0.225 - 0.1) * 100])
    assert ws["served_market"].tolist() == ["cross_border"] * 2
    text = white_space_sentence(ws.iloc[1], "EUR")
    assert "10.0% of the cross-border market of EUR 100" in text and "benchmark of 3 peer regions is 22.5%" in text
    # against the whole regional market (1000 in B) the same sales would be 3%, not 15%
    whole = planning.coverage({"sales": XB, "market": SPLIT.drop(columns="market")}).set_index(["region", "channel"])
    assert whole.loc[("B", "xb"), "penetration"] == pytest.approx(30 / 1000)
    assert whole["served_market"].isna().all()


def test_region_without_the_served_market_falls_back_to_the_whole_market() -> None:
    market = pd.concat([SPLIT, pd.DataFrame({"period": pd.Timestamp("2025-01-01"), "region": ["E"],
                                             "category": "toys", "market": [None], "market_size": [500.0]})])
    sales = pd.concat([XB, _sales([("E", "xb", 5.0)])])
    cells = planning.coverage({"sales": sales, "market": market, "channels": CHANNELS}).set_index(
        ["region", "channel"])
    assert pd.isna(cells.loc[("E", "xb"), "served_market"]) and cells.loc[("E", "xb"), "market_size"] == 500.0
    assert cells.loc[("A", "xb"), "served_market"] == "cross_border"


def test_section_shows_peers_untapped_fallback_and_the_per_market_unit(make_store, tmp_path: Path) -> None:
    sales = pd.concat([SALES.assign(partner_id=[f"p{i}" for i in range(len(SALES))]),
                       _sales([("A", "pos", 7.0)]).assign(partner_id="p99")])
    channels = pd.DataFrame({"channel": ["web", "shop", "fax", "pos"],
                             "market": ["domestic", "domestic", "domestic", None]})
    market = MARKET.assign(market="domestic")
    make_store(sales=sales, market=market, channels=channels).close()
    ctx = sections.open_region("A", tmp_path / "p.yaml")
    try:
        outputs = sections.regional_planning(ctx)
    finally:
        ctx.con.close()
    text = "\n".join(o.data for o in outputs if isinstance(o, (HTML, Markdown)))
    assert "**Web in A**: EUR 10 is 1.0% of the domestic market of EUR 1,000; the benchmark of 3 peer regions is " \
           "3.5% penetration, EUR 25 more." in text
    assert "No benchmark for **Fax** (too few peers (1)), **Pos** (too few peers (0)), **Shop** (too few peers (2))" \
           in text
    assert "**Pos**: measured against the whole regional market" in text
    assert "Partners per EUR 1M of market" in text and "<th>Peer regions</th>" in text
    assert "too few peers (2)</td>" in text
