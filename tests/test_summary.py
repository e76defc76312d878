"""The executive summary that opens each region report (chanlib.report.summary): items with their figures, ranked by
impact, each linked to a section the region notebook has; honest when the data are too thin."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from chanlib.report import sections, summary

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "region_report.ipynb"


def _text(outputs) -> str:
    return "\n".join(str(getattr(o, "data", o)) for o in outputs)


def _notebook_headings() -> set[str]:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return {line[3:].strip() for c in cells if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("## ")}


def test_every_linked_section_is_a_heading_of_the_region_notebook() -> None:
    assert set(summary.SECTIONS.values()) <= _notebook_headings()


def test_demo_summary_items_are_ranked_by_impact_and_linked(demo_store_forecast: Path) -> None:
    ctx = sections.open_region("North", Path(demo_store_forecast).parent / "params.yaml", demo_store_forecast)
    try:
        findings = summary.ranked(summary.FINDINGS, ctx)
        adjustments = summary.ranked(summary.ADJUSTMENTS, ctx)
        text = _text(summary.executive_summary(ctx))
        # the analyses the summary shares with the sections run once per report
        cached = dict(ctx.cache)
        sections.product_fit(ctx), sections.regional_planning(ctx), sections.period_evaluation(ctx)
        assert {("fit_matrix",), ("white_space",)} <= set(cached) and any(k[0] == "decomposition" for k in cached)
        assert all(ctx.cache[k] is v for k, v in cached.items())
    finally:
        ctx.con.close()
    assert 3 <= len(findings) <= summary.MAX_ITEMS and 1 <= len(adjustments) <= summary.MAX_ITEMS
    for items in (findings, adjustments):
        impacts = [i.impact for i in items]
        assert impacts == sorted(impacts, reverse=True)
    assert "What matters now" in text and "Recommended adjustments for the next period" in text
    anchors = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert anchors and anchors <= {h.replace(" ", "-") for h in _notebook_headings()}
    assert "EUR" in text
    # the forecast direction comes from the kept forecasts; the biggest mover from the period evaluation
    assert any(i.section == "outlook" for i in findings) and any(i.section == "evaluation" for i in findings)


def _quarterly_sales(values: dict[str, list[float]]) -> pd.DataFrame:
    """One sale on the 15th of every month of 2024 and 2025 per channel; ``values[channel]`` is its revenue per
    month, 24 entries."""
    months = pd.date_range("2024-01-01", periods=24, freq="MS") + pd.Timedelta(days=14)
    rows = [{"date": d.strftime("%Y-%m-%d"), "region": "East", "channel": ch, "revenue": v, "units": 1.0,
             "cost": v / 2} for ch, series in values.items() for d, v in zip(months, series)]
    last = {"date": "2025-12-31", "region": "East", "channel": "web", "revenue": 1.0, "units": 1.0, "cost": 0.5}
    return pd.DataFrame([*rows, last])  # the data reach the quarter's last day: 2025 Q4 is complete


@pytest.fixture
def mover_store(make_store, tmp_path: Path) -> Path:
    web = [100.0] * 21 + [200.0] * 3
    shop = [100.0] * 21 + [50.0] * 3
    make_store(tmp_path, sales=_quarterly_sales({"web": web, "shop": shop})).close()
    return tmp_path


def test_biggest_mover_names_the_channel_and_its_change(mover_store: Path) -> None:
    ctx = sections.open_region("East", mover_store / "p.yaml", mover_store / "store.duckdb")
    try:
        item = summary.biggest_mover(ctx)
        text = _text(summary.executive_summary(ctx))
    finally:
        ctx.con.close()
    assert item is not None and item.section == "evaluation"
    assert item.impact == pytest.approx(301.0)  # (3 x 200 + 1) - 3 x 100
    assert "**Web**" in item.text and "grew by **EUR 301**" in item.text and "2025 Q4 against 2024 Q4" in item.text
    # no targets, market, forecasts, alerts or partners here: the summary says it has few findings, invents none
    assert "Fewer findings than usual" in text and "Target" not in text and "white space" not in text


def test_thin_data_gives_no_finding_and_says_so(make_store, tmp_path: Path) -> None:
    sales = pd.DataFrame({"date": ["2025-03-03", "2025-03-04"], "region": "Solo", "channel": "web",
                          "revenue": [10.0, 12.0]})
    make_store(tmp_path, sales=sales).close()
    ctx = sections.open_region("Solo", tmp_path / "p.yaml", tmp_path / "store.duckdb")
    try:
        text = _text(summary.executive_summary(ctx))
    finally:
        ctx.con.close()
    assert "No finding stands out: the data are too thin" in text
    assert "Recommended adjustments" not in text
