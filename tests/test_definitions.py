"""KPI definitions, written once (chanlib.analytics.definitions) and computed to them by the KPI engine: table-driven
cases with hand-computed values, the labels reports take from the definitions, and the Definitions page."""
from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from chanlib.analytics import definitions, kpi
from chanlib.analytics.segment import naming
from chanlib.analytics.segment.cluster import PartnerSegmenter
from chanlib.analytics.segment.features import partner_features
from chanlib.config import MEAN_FEATURES, Params, SegmentSettings, load_params
from chanlib.report import narrative, sections
from chanlib.report.html import external_references
from chanlib.report.runner import render_definitions

ROOT = Path(__file__).resolve().parent.parent
DAY = pd.Timestamp("2025-03-10")


def _by_channel(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return kpi.kpi_table(tables, ["channel"]).frame.set_index("channel")


# --- sell-through: sold / (sold + closing stock), never above 100 %; sell-out / sell-in under its own name ---------

SELL_THROUGH = [
    # sold, on hand at the last count, sell-in, sell-through, sell-out / sell-in
    (30.0, 10.0, 20.0, 0.75, 1.50),
    (10.0, 30.0, 40.0, 0.25, 0.25),
    (40.0, 0.0, 40.0, 1.00, 1.00),
    (0.0, 12.0, 12.0, 0.00, 0.00),
    (0.0, 0.0, 5.0, math.nan, 0.00),
]


@pytest.fixture(scope="module")
def stock_kpis() -> pd.DataFrame:
    channels = [f"c{i}" for i in range(len(SELL_THROUGH))]
    sales = pd.DataFrame({"date": DAY, "region": "R", "channel": channels, "partner_id": [f"p{i}" for i in
                          range(len(channels))], "product_id": "x", "revenue": 100.0,
                          "units": [case[0] for case in SELL_THROUGH]})
    inventory = pd.DataFrame({
        "date": [DAY - pd.Timedelta(days=20), DAY] * len(channels),
        "partner_id": [f"p{i}" for i in range(len(channels)) for _ in range(2)],
        "product_id": "x",
        "on_hand_units": [v for case in SELL_THROUGH for v in (99.0, case[1])],  # the earlier count does not count
        "sell_in_units": [v for case in SELL_THROUGH for v in (0.0, case[2])],
    })
    return _by_channel({"sales": sales, "inventory": inventory})


@pytest.mark.parametrize(("i", "case"), list(enumerate(SELL_THROUGH)))
def test_sell_through_is_sold_over_sold_plus_closing_stock(stock_kpis, i, case) -> None:
    sold, on_hand, _, through, out_in = case
    row = stock_kpis.loc[f"c{i}"]
    assert row["sell_out_units"] == sold and row["on_hand_units"] == on_hand
    if math.isnan(through):
        assert pd.isna(row["sell_through_rate"])
    else:
        assert row["sell_through_rate"] == pytest.approx(through)
    assert row["sell_out_to_sell_in"] == pytest.approx(out_in)


def test_sell_through_never_exceeds_100_percent(stock_kpis) -> None:
    assert (stock_kpis["sell_through_rate"].dropna() <= 1.0).all()
    assert stock_kpis.loc["c0", "sell_out_to_sell_in"] > 1.0  # 30 sold on 20 bought in: 150 %, its own KPI


def test_segment_feature_uses_the_same_sell_through() -> None:
    """Segments and channel KPIs use one definition: 30 sold, 10 left at the last count -> 75 % in both."""
    days = pd.date_range("2025-01-01", "2025-03-10", freq="D")
    sales = pd.DataFrame({"date": days, "region": "R", "channel": "web", "partner_id": "p1", "product_id": "x",
                          "revenue": 10.0, "units": 0.0})
    sales.loc[sales.index[-1], "units"] = 30.0
    inventory = pd.DataFrame({"date": [days[-1]], "partner_id": ["p1"], "product_id": ["x"], "on_hand_units": [10.0],
                              "sell_in_units": [20.0]})
    tables = {"sales": sales, "inventory": inventory}
    feature = partner_features(tables, SegmentSettings()).frame.loc["p1", "sell_through"]
    assert feature == pytest.approx(0.75) == _by_channel(tables).loc["web", "sell_through_rate"]
    assert definitions.label("partner_sell_through") == definitions.label("sell_through_rate") == "Sell-through"


# --- partner concentration: HHI, and top-N with N = min(5, partners - 1) stated --------------------------------

CONCENTRATION = [
    # partner revenues, HHI, N, top-N share
    ([50.0, 30.0, 20.0], 0.38, 2, 0.80),
    ([100.0], 1.0, None, None),
    ([25.0, 25.0, 25.0, 25.0], 0.25, 3, 0.75),
    ([10.0] * 7, 1 / 7, 5, 5 / 7),
    ([60.0, 40.0, 0.0], 0.52, 1, 0.60),  # a partner without revenue is not active: 2 partners -> top 1
]


@pytest.fixture(scope="module")
def concentration() -> pd.DataFrame:
    rows = [{"date": DAY, "region": "R", "channel": f"c{i}", "partner_id": f"c{i}p{j}", "revenue": r}
            for i, (revenues, *_) in enumerate(CONCENTRATION) for j, r in enumerate(revenues)]
    return _by_channel({"sales": pd.DataFrame(rows)})


@pytest.mark.parametrize(("i", "case"), list(enumerate(CONCENTRATION)))
def test_hhi_and_top_n_share_with_n_below_the_partner_count(concentration, i, case) -> None:
    revenues, hhi, n, share = case
    row = concentration.loc[f"c{i}"]
    assert row["hhi"] == pytest.approx(hhi)
    if n is None:
        assert pd.isna(row["top_partner_n"]) and pd.isna(row["top_partner_share"])
    else:
        assert row["top_partner_n"] == n < row["active_partners"]
        assert row["top_partner_share"] == pytest.approx(share) and row["top_partner_share"] < 1.0
    assert "top5_partner_share" not in concentration


# --- contribution margin beside ROI ---------------------------------------------------------------------------

CONTRIBUTION = [
    # revenue, cost of goods, channel costs, contribution margin, its points of revenue, ROI
    (1000.0, 600.0, 250.0, 150.0, 0.15, 0.6),
    (500.0, 400.0, 150.0, -50.0, -0.10, -1 / 3),
    (100.0, 60.0, 0.0, 40.0, 0.40, math.nan),  # no channel costs: ROI undefined, contribution margin is not
]


@pytest.mark.parametrize("case", CONTRIBUTION)
def test_contribution_margin_in_points_beside_roi(case) -> None:
    revenue, cogs, channel_costs, margin, pts, roi = case
    sales = pd.DataFrame({"date": [DAY], "region": ["R"], "channel": ["web"], "revenue": [revenue], "cost": [cogs]})
    costs = pd.DataFrame({"period": [DAY.replace(day=1)], "region": ["R"], "channel": ["web"],
                          "cost_type": ["marketing"], "amount": [channel_costs]})
    row = _by_channel({"sales": sales, "costs": costs}).loc["web"]
    assert row["contribution_margin"] == pytest.approx(margin)
    assert row["contribution_margin_pct"] == pytest.approx(pts)
    assert pd.isna(row["channel_roi"]) if math.isnan(roi) else row["channel_roi"] == pytest.approx(roi)
    assert narrative.kpi_value("contribution_margin_pct", row["contribution_margin_pct"]) == f"{100 * pts:.1f} pts"


# --- NPS with its number of responses ---------------------------------------------------------------------------

FEEDBACK = [
    # scores, NPS, responses, shown
    ([10, 9, 9, 8, 7, 0, 3], 100 * (3 - 2) / 7, 7, "14 (n = 7)"),
    ([0] * 15, -100.0, 15, "-100 (n = 15)"),
    ([9, 10, 6, 7], 25.0, 4, "25 (n = 4)"),
]


@pytest.mark.parametrize("case", FEEDBACK)
def test_nps_comes_with_its_response_count(case) -> None:
    scores, nps, n, shown = case
    sales = pd.DataFrame({"date": [DAY], "region": ["R"], "channel": ["web"], "revenue": [1.0]})
    feedback = pd.DataFrame({"date": DAY, "region": "R", "channel": "web", "score": [float(s) for s in scores]})
    tables = {"sales": sales, "feedback": feedback}
    row = _by_channel(tables).loc["web"]
    assert kpi.feedback_is_nps(tables)
    assert row["feedback_score"] == pytest.approx(nps) and row["feedback_responses"] == n
    assert narrative.score_with_count(row["feedback_score"], row["feedback_responses"]) == shown


def test_mean_score_when_scores_are_not_0_to_10_whole_numbers() -> None:
    sales = pd.DataFrame({"date": [DAY], "region": ["R"], "channel": ["web"], "revenue": [1.0]})
    feedback = pd.DataFrame({"date": DAY, "region": "R", "channel": "web", "score": [3.5, 4.0, 4.5]})
    tables = {"sales": sales, "feedback": feedback}
    assert not kpi.feedback_is_nps(tables) and not kpi.feedback_is_nps({"sales": sales})
    row = _by_channel(tables).loc["web"]
    assert narrative.score_with_count(row["feedback_score"], row["feedback_responses"], nps=False) == "4.0 (n = 3)"


# --- the channel KPI table: headers from the definitions, N and n stated ------------------------------------------

def _params(columns: dict[str, str] | None = None, name: str = "demo") -> Params:
    return Params(name=name, currency="EUR", tables={"sales": {"path": "sales.csv", "columns": columns or {}}})


def test_channel_kpi_table_labels_and_cells() -> None:
    ctx = sections.RegionContext(region="R", params=_params(), con=duckdb.connect())
    current = pd.DataFrame({"channel": ["web"], "revenue": [1000.0], "growth_yoy": [0.1], "margin_pct": [0.4],
                            "contribution_margin_pct": [0.15], "channel_roi": [0.6], "hhi": [0.38],
                            "top_partner_share": [0.8], "top_partner_n": [2.0], "active_partners": [3],
                            "sell_through_rate": [0.75], "sell_out_to_sell_in": [1.5], "weeks_of_supply": [2.04],
                            "feedback_score": [14.3], "feedback_responses": [7]})
    shown = sections.channel_kpi_table(ctx, current)
    expected = {"Revenue": "EUR 1,000", "Growth vs last year": "+10.0%", "Gross margin %": "40.0%",
                "Contribution margin (pts)": "15.0 pts", "Channel ROI": "60.0%", "Active partners": "3",
                "Partner HHI": "0.38", "Top-N partner share": "80.0% (top\u00a02)", "Sell-through": "75.0%",
                "Sell-out ÷ sell-in": "150.0%", "Weeks of supply": "2.0", "NPS": "14 (n\u00a0=\u00a07)"}
    assert shown.drop(columns="channel").iloc[0].to_dict() == expected
    for header in expected:  # every header is a definition's label: no second copy
        assert header in definitions.labels().values()
    assert not [c for c in shown.columns if "_" in c and c != "channel"]  # no raw identifiers


def test_channel_kpi_sentence_states_n_and_points() -> None:
    frame = pd.DataFrame({"channel": ["web", "shop"], "contribution_margin_pct": [0.15, 0.04],
                          "channel_roi": [0.6, 0.18], "hhi": [0.38, 0.5], "top_partner_share": [0.8, 0.5],
                          "top_partner_n": [2.0, 1.0], "active_partners": [3, 2], "feedback_score": [0.0, 10.0],
                          "feedback_responses": [15, 4]})
    text = narrative.channel_kpi_sentence(frame, "R", "2025 Q1", margin_from_profit=True)
    assert "(profit − channel costs, in points of revenue)" in text and "15.0 pts in **web**" in text
    assert "HHI 0.50, the largest 1 of its 2 partners hold 50.0%" in text
    assert "NPS is lowest in **web**: 0 (n = 15)" in text


# --- a profit column mapped as profit is labelled profit ----------------------------------------------------------

@pytest.mark.parametrize(("columns", "from_profit"), [
    ({"revenue": "Sales", "profit": "Profit"}, True),
    ({"revenue": "Sales", "cost": "COGS"}, False),
    ({"revenue": "Sales", "cost": "COGS", "profit": "Profit"}, False),
    ({"revenue": "Sales"}, False),
])
def test_margin_is_labelled_profit_when_profit_is_mapped(columns, from_profit) -> None:
    params = _params(columns)
    assert definitions.margin_from_profit(params) is from_profit
    ctx = sections.RegionContext(region="R", params=params, con=duckdb.connect())
    assert ctx.margin_from_profit is from_profit
    assert definitions.label("gross_margin", from_profit) == ("Profit" if from_profit else "Gross margin")
    assert definitions.label("margin_pct", from_profit) == ("Profit margin" if from_profit else "Gross margin %")
    row = pd.Series({"region": "R", "window_start": DAY, "window_end": DAY, "revenue": 100.0, "gross_margin": 12.0,
                     "margin_pct": 0.12, "growth_yoy": float("nan"), "revenue_prev_year": float("nan")})
    sentence = narrative.headline_sentence(row, "USD", 12, margin_from_profit=from_profit)
    assert ("at a profit margin of **12.0%**" if from_profit else "at a gross margin of **12.0%**") in sentence


def test_superstore_params_map_profit() -> None:
    assert definitions.margin_from_profit(load_params(ROOT / "params" / "superstore.yaml"))
    assert not definitions.margin_from_profit(load_params(ROOT / "params" / "default.yaml"))


# --- segments: "allocated target", and the statistic a profile label names is the one it computes ---------------

@pytest.mark.parametrize(("level", "word"), [(1.2, "above allocated target"), (1.02, "on allocated target"),
                                             (0.7, "below allocated target")])
def test_segment_attainment_is_named_as_an_allocation(level, word) -> None:
    assert naming.describe("target_attainment", 0.5, level) == word
    words = [w for pair in naming.WORDS.values() for w in pair] + [w for a in naming.ANCHORED.values() for w in a[2:]]
    assert all("allocated target" in w for w in words if "target" in w)


def test_profile_labels_name_the_statistic_they_compute() -> None:
    features = pd.DataFrame({"revenue": [10.0, 20.0, 90.0, 1000.0, 1100.0, 5000.0],
                             "online_share": [0.0, 0.0, 0.9, 0.1, 0.2, 0.9]},
                            index=[f"p{i}" for i in range(6)])
    seg = PartnerSegmenter(SegmentSettings(k_min=2, k_max=2)).fit(features)
    labels = narrative.profile_labels()
    for sid, members in features.groupby(seg.segments_.reindex(features.index)):
        profile = seg.profiles_.set_index("segment_id").loc[sid]
        for column in ("revenue", "online_share"):
            statistic = labels[column].rsplit(", ", 1)[1]
            assert statistic == ("mean" if column in MEAN_FEATURES else "median")
            assert profile[column] == pytest.approx(getattr(members[column], statistic)())
    intro = narrative.profile_intro(seg.profiles_)
    assert "median" in intro and "online share the mean" in intro
    assert labels["target_attainment"] == "Attainment of allocated target, median"
    assert narrative.profile_labels(True)["margin"] == "Profit margin, median"


# --- the definitions themselves and the Definitions page ---------------------------------------------------------

def test_every_report_kpi_has_one_complete_definition() -> None:
    keys = [d.key for d in definitions._ENTRIES]
    assert len(keys) == len(set(keys))
    for d in definitions.DEFINITIONS.values():
        assert d.label and d.formula and d.kind in definitions.UNITS and d.topic
        assert "{" not in definitions.get(d.key).label + definitions.get(d.key, True).formula
    for key in sections.CHANNEL_KPI_COLUMNS:
        assert key in definitions.DEFINITIONS
    with pytest.raises(KeyError, match="top5_partner_share"):
        definitions.get("top5_partner_share")
    frame = definitions.as_frame()
    assert list(frame.columns) == ["topic", "label", "formula", "unit", "note", "key"]
    assert len(frame) == len(definitions.DEFINITIONS)


def test_definitions_page_is_self_contained_and_escaped() -> None:
    page = render_definitions(_params({"profit": "Profit"}, name="A & <B>"))
    assert external_references(page) == []
    assert "<title>A &amp; &lt;B&gt;: definitions</title>" in page and "<B>" not in page
    assert '<tr id="gross_margin"><td class="label">Profit</td>' in page
    assert "units sold ÷ (units sold + closing stock on hand)" in page
    assert page.count("<tr id=") == len(definitions.DEFINITIONS)


@pytest.mark.parametrize(("html", "refs"), [
    ('<a href="definitions.html">Definitions</a>', []),
    ('<a href="./definitions.html#hhi">HHI</a>', []),
    ('<link rel="stylesheet" href="definitions.css">', ["definitions.css"]),
    ('<img src="https://example.org/x.png">', ["https://example.org/x.png"]),
    ('<script src="//cdn.example.org/x.js"></script>', ["//cdn.example.org/x.js"]),
])
def test_a_relative_link_to_the_definitions_page_is_not_an_external_resource(html, refs) -> None:
    assert external_references(html) == refs
