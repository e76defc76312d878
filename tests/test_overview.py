"""The overview of all regions (chanlib.report.overview, notebooks/overview.ipynb): its numbers on a hand-made
business worked out by hand, and `chanlib report` rendering it as overview.html that the index links first."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from chanlib.analytics import kpi
from chanlib.data import store
from chanlib.report import overview
from chanlib.report.html import external_references
from chanlib.report.runner import RegionResult, render_index
from chanlib.workbench import Workbench, example, example_tables


@pytest.fixture(scope="module")
def ctx() -> overview.OverviewContext:
    """The example business (chanlib.workbench.example_tables): East 1800 -> 2040, West 1200 -> 1440 a year."""
    return overview.OverviewContext(example())


def test_league_table(ctx):
    frame = overview.league(ctx)
    assert frame[["rank", "region", "revenue", "share"]].round(4).values.tolist() == [
        [1, "East", 2040.0, round(2040 / 3480, 4)], [2, "West", 1440.0, round(1440 / 3480, 4)]]
    assert frame["growth"].round(4).tolist() == [round(2040 / 1800 - 1, 4), 0.2]
    assert frame["margin_pct"].round(4).tolist() == [0.4, 0.4]
    text = overview.league_table(ctx)[1].data
    assert text == "**East** sold the most, EUR 2,040 (58.6% of all regions); **West** grew fastest, +20.0%."


def test_growth_cells_and_movers(ctx):
    cells = ctx.cells.set_index(["region", "channel"])
    # per month: E1 100 -> 110, E2 50 -> 60, W1 80 -> 80, W2 20 -> 40 (x12); W2's base 240 is below the
    # minimum base of 1,000 (periods.min_growth_base), so its growth is not shown
    assert cells["change"].to_dict() == {("East", "shop"): 120.0, ("East", "web"): 120.0, ("West", "shop"): 0.0,
                                         ("West", "web"): 240.0}
    assert cells.loc[("East", "shop"), "growth"] == pytest.approx(0.1)
    assert pd.isna(cells.loc[("West", "web"), "growth"]) and "below the minimum base" in cells.loc[("West", "web"),
                                                                                                   "why"]
    up, down = overview.mover_cells(ctx)
    assert up[["region", "channel", "change"]].values.tolist() == [["West", "web", 240.0], ["East", "shop", 120.0],
                                                                   ["East", "web", 120.0]]
    assert down.empty
    shown = overview.movers(ctx)
    assert shown[1].data == "The largest rise: **West · Web**, +EUR 240."
    assert shown[2].alt.startswith("Biggest movers: change in revenue by region and channel")
    heat = overview.growth_by_channel(ctx)[1]
    assert "2 regions (rows) by 2 channels" in heat.alt


def test_trailing_growth_by_region_is_the_headline(demo_store: Path):
    """The overview's growth per region x channel and the headline per region share one window and coverage rule."""
    con = store.connect(demo_store)
    try:
        by_region = kpi.trailing_growth(con, ("region",)).set_index("region")
        cells = kpi.trailing_growth(con).groupby("region")[["revenue", "revenue_prev_year"]].sum()
        heads = store.read_result(con, "headline").set_index("region")
    finally:
        con.close()
    for column in ("revenue", "revenue_prev_year", "growth_yoy", "months_with_sales", "months_prev_year"):
        pd.testing.assert_series_equal(by_region[column], heads[column].astype("float64"), check_names=False)
    pd.testing.assert_frame_equal(cells, by_region[["revenue", "revenue_prev_year"]], check_exact=False)


def test_next_quarter(ctx):
    frame, label, base_label, cutoff = overview.quarter_forecast(ctx)
    assert (label, base_label, str(cutoff.date())) == ("2026 Q1", "2025 Q1", "2025-12-31")
    # the base is the actual revenue of 2025 Q1: East 170 and West 120 a month
    assert frame.set_index("region")["base"].to_dict() == {"East": 510.0, "West": 360.0}
    # seasonal naive on flat months: the forecast repeats last year's quarter
    assert frame.set_index("region")["forecast"].round(6).to_dict() == {"East": 510.0, "West": 360.0}
    text = overview.next_quarter(ctx)[1].data
    assert "forecast to sell **EUR 870** in 2026 Q1, +0.0% on 2025 Q1" in text


def test_sections_without_their_input(tmp_path: Path):
    """No forecasts and no alerts: one line each saying why."""
    bench = Workbench.from_frames(example_tables(), tmp_path, settings={"forecast": {"enabled": False},
                                                                        "alerts": {"enabled": False}})
    ctx = overview.OverviewContext(bench)
    [forecast_note] = overview.next_quarter(ctx)
    assert forecast_note.data == ("*The next-quarter forecast is left out: forecasting is switched off in params "
                                  "(forecast.enabled: false).*")
    [alerts_note] = overview.alerts(ctx)
    assert alerts_note.data.startswith("*Early warnings are left out: ")
    bench.close()


def test_alert_counts_per_region_and_severity(tmp_path: Path):
    """Counted from whatever alerts table the build keeps: per region, one column per severity."""
    bench = Workbench.from_frames(example_tables(), tmp_path, settings={"forecast": {"enabled": False}})
    ctx = overview.OverviewContext(bench)
    alerts = pd.DataFrame({"region": ["East", "East", "West", "West"], "severity": ["low", "high", "high", "low"],
                           "rule": ["a", "b", "c", "d"], "state": ["new", "continuing", "new", "resolved"]})
    bench.close()
    import duckdb

    con = duckdb.connect(str(tmp_path / "chanlib.duckdb"))
    store.write_frame(con, "result_alerts", alerts)
    con.close()
    bench = Workbench(bench.params, tmp_path / "chanlib.duckdb")
    counts = overview.alert_counts(overview.OverviewContext(bench))
    assert counts.values.tolist() == [["East", 1, 1, 2], ["West", 1, 0, 1]]
    assert list(counts.columns) == ["region", "high", "low", "alerts"]  # severe first; West's low one resolved
    assert overview.alerts(overview.OverviewContext(bench))[0].data == (
        "3 open early warnings in the latest build; the most in **East** (2).")
    bench.close()
    del ctx


def test_report_renders_the_overview_and_the_index_links_it_first(demo_report):
    result, out = demo_report.result, demo_report.out
    assert result.returncode == 0, result.stderr[-2000:]
    latest = out / "latest"
    page = (latest / "overview.html").read_text()
    assert external_references(page) == []
    for heading in ("League table", "Growth by region and channel", "Biggest movers", "Next quarter",
                    "Early warnings"):
        assert f">{heading}<" in page or heading in page
    assert "display(*overview" not in page  # no code
    assert len(re.findall(r'<img[^>]+src="data:image/svg\+xml;base64,', page)) >= 3
    index = (latest / "index.html").read_text()
    links = re.findall(r'<a href="([^"]+\.html)"', index)
    assert links[0] == "overview.html" and len(links) > 2
    manifest = json.loads((latest / "manifest.json").read_text())
    assert manifest["overview"]["status"] == "ok" and manifest["overview"]["html"] == "overview.html"
    assert (latest / "notebooks" / "overview.ipynb").exists()


def test_index_with_a_failed_overview(demo_store: Path):
    from chanlib.config import load_params

    params = load_params(demo_store.parent / "params.yaml")
    con = store.connect(demo_store)
    try:
        headline, meta = store.read_result(con, "headline"), store.read_meta(con)
    finally:
        con.close()
    failed = RegionResult("overview", "overview", "failed", None, "overview.ipynb", 1.0, "KeyError: <'x'>")
    page = render_index(params, [], headline, meta, "run", overview=failed)
    assert 'href="notebooks/overview.ipynb"' in page and "Overview of all regions failed" in page
    assert "KeyError: &lt;&#39;x&#39;&gt;" in page
    assert "overview.html" not in render_index(params, [], headline, meta, "run")
