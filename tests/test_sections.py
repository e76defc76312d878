"""Report sections, called as a notebook cell calls them: what each returns for a full region, and the one-line note a
section gives instead when its input is absent."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from IPython.display import HTML, Markdown

from chanlib.data import store
from chanlib.errors import DataError
from chanlib.report import sections
from chanlib.report.display import Chart

SECTIONS = ["title", "headline", "monthly", "mix", "channel_kpis", "product_fit", "regional_planning",
            "period_evaluation", "outlook", "segments", "partners", "about"]


def text_of(outputs: list) -> str:
    return "\n".join(o.data if isinstance(o, (HTML, Markdown)) else "" for o in outputs)


@pytest.fixture(scope="module")
def north(demo_store_forecast: Path):
    """North of the small demo with its forecasts (the outlook shows them)."""
    ctx = sections.open_region("North", Path(demo_store_forecast).parent / "params.yaml", demo_store_forecast)
    yield ctx
    ctx.con.close()


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_shows_something_for_a_full_region(north, name: str) -> None:
    outputs = getattr(sections, name)(north)
    assert outputs, name
    assert all(isinstance(o, (HTML, Chart, Markdown)) for o in outputs)
    for image in (o for o in outputs if isinstance(o, Chart)):
        assert image.svg.startswith(b"<?xml") and b"<svg" in image.svg[:1000]


def test_headline_cards_carry_the_stored_numbers(north) -> None:
    head = store.read_result(north.con, "headline", "North").iloc[0]
    html = text_of(sections.headline(north))
    assert "chanlib-card" in html
    assert f"EUR {head['revenue']:,.0f}" in html


def test_title_names_region_and_data_set(north) -> None:
    text = text_of(sections.title(north))
    assert "# North: channel report" in text and "**demo-small**" in text


def test_title_links_the_definitions_page(north) -> None:
    assert "[Definitions](definitions.html)" in text_of(sections.title(north))


def test_open_region_refuses_an_unknown_region(demo_store: Path) -> None:
    with pytest.raises(DataError, match="region 'Atlantis' has no sales"):
        sections.open_region("Atlantis", Path(demo_store).parent / "params.yaml", demo_store)


@pytest.fixture
def thin(make_store, tmp_path: Path):
    """One region, one month of sales, no optional table: most sections must say what is missing."""
    sales = pd.DataFrame({"date": ["2025-03-03", "2025-03-17"], "region": ["Solo <b>"] * 2, "channel": ["web"] * 2,
                          "revenue": [10.0, 30.0]})
    con = make_store(sales=sales)
    con.close()
    params = tmp_path / "p.yaml"
    params.write_text(params.read_text() + "forecast: {enabled: false}\n", encoding="utf-8")
    ctx = sections.open_region("Solo <b>", params)
    yield ctx
    ctx.con.close()


@pytest.mark.parametrize(("name", "fragment"), [
    ("product_fit", "the store has no products table"),
    ("regional_planning", "the store has no market table"),
    ("outlook", "forecasting is switched off"),
    ("segments", "Segments are left out"),
    ("partners", "Partners are left out"),
])
def test_absent_input_becomes_a_one_line_note(thin, name: str, fragment: str) -> None:
    outputs = getattr(sections, name)(thin)
    assert len(outputs) == 1 and isinstance(outputs[0], Markdown)
    assert fragment in outputs[0].data and "\n" not in outputs[0].data.strip()


def test_thin_region_names_are_escaped(thin) -> None:
    text = text_of(sections.title(thin)) + text_of(sections.headline(thin))
    assert "Solo &lt;b&gt;" in text and "Solo <b>" not in text
