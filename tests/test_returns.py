"""Returns (negative amounts, kept with ``validation.allow_returns``) are shown as gross revenue, returns and net
revenue -- never as negative shares or shares above 100 % -- in the channel mix and the headline, down to a region
with only returns."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from IPython.display import HTML, Markdown

from chanlib.analytics import kpi
from chanlib.build import build_store
from chanlib.config import load_params
from chanlib.report import plots, sections
from chanlib.report.display import Chart

#: Main sells 100 and 60 and takes 20 back; Back has only returns (30 and 6)
SALES = pd.DataFrame({
    "date": ["2025-01-10", "2025-02-10", "2025-03-10", "2025-02-15", "2025-03-01"],
    "region": ["Main", "Main", "Main", "Back", "Back"],
    "channel": ["web", "web", "shop", "web", "shop"],
    "revenue": [100.0, -20.0, 60.0, -30.0, -6.0],
    "cost": [60.0, -12.0, 36.0, -18.0, -3.6],
    "units": [2.0, -1.0, 3.0, -1.0, -1.0]})


def test_channel_mix_is_gross_returns_net_with_shares_of_gross() -> None:
    mix = kpi.channel_mix({"sales": SALES.assign(date=pd.to_datetime(SALES["date"]))}).set_index(
        ["region", "channel"])
    assert mix.loc[("Main", "web"), ["revenue", "gross_revenue", "returns"]].tolist() == [80.0, 100.0, 20.0]
    assert mix.loc[("Main", "shop"), ["revenue", "gross_revenue", "returns"]].tolist() == [60.0, 60.0, 0.0]
    # shares of gross revenue: 100 / 160 and 60 / 160 (net shares would be 80 / 140 and 60 / 140)
    assert mix.loc["Main", "share"].tolist() == pytest.approx([0.625, 0.375])
    # only returns: no gross revenue, so no share at all -- never 83% and 17% of a negative total
    assert mix.loc[("Back", "web"), ["revenue", "gross_revenue", "returns"]].tolist() == [-30.0, 0.0, 30.0]
    assert mix.loc["Back", "share"].isna().all()
    assert (mix["revenue"] == mix["gross_revenue"] - mix["returns"]).all()


def test_headline_has_gross_returns_and_net() -> None:
    head = kpi.headline({"sales": SALES.assign(date=pd.to_datetime(SALES["date"]))}).set_index("region")
    assert head.loc["Main", ["revenue", "gross_revenue", "returns"]].tolist() == pytest.approx([140.0, 160.0, 20.0])
    # gross margin 40 - 8 + 24 = 56 on net revenue 140
    assert head.loc["Main", "margin_pct"] == pytest.approx(56 / 140)
    assert head.loc["Back", ["revenue", "gross_revenue", "returns"]].tolist() == pytest.approx([-36.0, 0.0, 36.0])
    assert pd.isna(head.loc["Back", "margin_pct"])  # a margin on negative net revenue means nothing


@pytest.fixture(scope="module")
def returns_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("returns")
    SALES.to_csv(folder / "sales.csv", index=False)
    (folder / "p.yaml").write_text(
        "store: store.duckdb\ncurrency: EUR\ntables:\n  sales:\n    path: sales.csv\n    date_format: '%Y-%m-%d'\n"
        "validation:\n  allow_returns: true\nforecast:\n  enabled: false\n"
        "report:\n  min_region_share: 0.0\n", encoding="utf-8")  # every region gets the full report
    params = load_params(folder / "p.yaml")
    quality = build_store(params)
    assert quality.tables[0].rows_kept == len(SALES)
    return folder / "p.yaml"


def _text(outputs: list) -> str:
    return "\n".join(o.data if isinstance(o, (HTML, Markdown)) else str(getattr(o, "alt", ""))
                     for o in outputs if isinstance(o, (HTML, Markdown, Chart)))


def _percentages(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"(-?\d+(?:\.\d+)?)%", text)]


@pytest.mark.parametrize("region", ["Back", "Main"])
def test_sections_show_no_share_outside_0_to_100(returns_store: Path, region: str) -> None:
    ctx = sections.open_region(region, returns_store)
    try:
        text = _text(sections.mix(ctx)) + "\n" + _text(sections.headline(ctx))
    finally:
        ctx.con.close()
    assert all(0 <= v <= 100 for v in _percentages(text)), _percentages(text)
    assert "Returns" in text and "Gross revenue" in text and "Net revenue" in text
    if region == "Back":
        assert "Only returns in the window: EUR 36 returned and no sales" in text
        assert "has only returns in the window" in text
    else:
        assert "gross sales EUR 160, returns EUR 20 (12.5% of gross sales), net EUR 140" in text
        assert "62.5%" in text and "37.5%" in text


def test_channel_mix_chart_of_a_region_with_only_returns() -> None:
    mix = pd.DataFrame({"channel": ["web", "shop"], "revenue": [-30.0, -6.0], "share": [float("nan")] * 2,
                        "gross_revenue": [0.0, 0.0], "returns": [30.0, 6.0]})
    fig = plots.channel_mix(mix, "EUR")
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == [0.0, 0.0] and ax.get_xlim()[0] == 0.0
    assert [t.get_text() for t in ax.texts] == ["n/a  gross EUR 0, returns EUR 30", "n/a  gross EUR 0, returns EUR 6"]
    assert ax.get_title() == "Channel mix (share of gross revenue)"


def test_period_split_holds_when_returns_exceed_sales() -> None:
    from chanlib.analytics import period_evaluation as ev
    from chanlib.report.narrative import channel_change_sentence

    # November: web 35, shop 41; December: web -2654 (returns), shop nothing
    sales = pd.DataFrame({"date": pd.to_datetime(["2025-11-05", "2025-11-06", "2025-12-31"]), "region": "HK",
                          "channel": ["web", "shop", "web"], "revenue": [35.0, 41.0, -2654.0]})
    dec = ev.share_shift_decomposition({"sales": sales}, "month", against="previous").set_index("channel")
    # no shares in December (its total is negative): each channel's whole change is market growth, no share shift
    assert dec["market_growth"].to_dict() == pytest.approx({"shop": -41.0, "web": -2689.0})
    assert (dec["share_shift"] == 0).all() and dec["share"].isna().all()
    assert dec.loc["web", "share_base"] == pytest.approx(35 / 76)
    text = channel_change_sentence("web", None, "November 2025", -2654.0, 35.0, -2689.0, 0.0, float("nan"),
                                   35 / 76, "GBP")
    assert text == "**web** had more returns than sales, GBP 2,654 net, against GBP 35 in November 2025."
