"""The explorer's library (chanlib.report.explorer): views, the widgets' redraw, the export and the static view,
on the example business (chanlib.workbench.example_tables) with numbers worked out by hand. The real JupyterLab run
is tests/test_lab.py."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd
import pytest

from chanlib.report import plots
from chanlib.report.explorer import ALL_CHANNELS, ALL_REGIONS, Explorer, Selection
from chanlib.workbench import example


@pytest.fixture
def ex(tmp_path: Path) -> Explorer:
    return Explorer(example(), exports=tmp_path / "exports")


@pytest.mark.parametrize("sel, title, first_row", [
    # per quarter of 2025: East 3 x (110 + 60), West 3 x (80 + 40); shops East 330 + West 240
    (Selection(grain="quarter"), "Revenue by channel: all regions, per quarter",
     [ALL_REGIONS, ALL_CHANNELS, "2025-10-01", 870.0]),
    (Selection(region="West", grain="year"), "Revenue by channel: West, per year",
     ["West", ALL_CHANNELS, "2025-01-01", 1440.0]),
    (Selection(region="East", channel="web", metric="units"), "Units: East · Web, per month",
     ["East", "web", "2025-12-01", 6.0]),
    (Selection(channel="shop", grain="quarter", start="2024-01", end="2024-06"), "Revenue: all regions · Shop, "
     "per quarter", [ALL_REGIONS, "shop", "2024-04-01", 540.0]),
])
def test_views(ex, sel, title, first_row):
    view = ex.view(sel)
    assert view.title == title
    row = view.table.iloc[0]
    assert [row["region"], row["channel"], str(row["period"].date()), row[sel.metric]] == first_row
    assert view.figure.axes[0].get_title() == title
    assert view.table["period"].is_monotonic_decreasing


def test_all_channels_rows_and_chart_lines(ex):
    view = ex.view(Selection(region="East", grain="year"))
    table = view.table
    assert table[["channel", "revenue"]].values.tolist()[:3] == [[ALL_CHANNELS, 2040.0], ["shop", 1320.0],
                                                                ["web", 720.0]]
    assert table["growth_yoy"].round(4).tolist()[:3] == [round(2040 / 1800 - 1, 4), 0.1, 0.2]
    lines = {line.get_label(): list(line.get_ydata()) for line in view.figure.axes[0].get_lines()}
    assert lines == {ALL_CHANNELS: [1800.0, 2040.0], "Shop": [1200.0, 1320.0], "Web": [600.0, 720.0]}


def test_metrics_offered(ex):
    keys = [k for _, k in ex.metrics()]
    assert keys[:2] == ["revenue", "units"] and "margin_pct" in keys and "growth_yoy" in keys
    assert "top_partner_n" not in keys and "target_attainment" not in keys  # no targets table: no values


def test_empty_selection_says_so(ex):
    view = ex.view(Selection(region="East", start="2026-01", end="2026-01"))
    assert view.figure is None and view.table.empty
    [note] = ex.outputs(view)
    assert "no sales in East through All channels from 2026-01 to 2026-01" in note.data


def test_export_writes_the_whole_table(ex):
    path = ex.export(Selection(region="West", channel="web"))
    assert path.parent == ex.exports and path.name == "explorer_West_web_month_revenue_2024-01_2025-12.csv"
    written = pd.read_csv(path)
    assert len(written) == 24 and set(written["region"]) == {"West"}
    assert written["revenue"].sum() == pytest.approx(12 * 20 + 12 * 40)


def test_widgets_redraw_in_place(ex):
    """Changing a picker redraws through interactive_output: the current view follows, and the export button
    writes what is shown."""
    with contextlib.redirect_stdout(io.StringIO()):  # outside a kernel the displays print their text form
        box = ex.widget()
        assert ex.current is not None and ex.current.selection == Selection(start="2024-01", end="2025-12")
        view = ex.select(region="West", grain="quarter")
        assert view is ex.current and view.title == "Revenue by channel: West, per quarter"
        ex.select(metric="margin_pct", months=("2025-01", "2025-06"))
        assert ex.current.table["period"].astype(str).str[:7].unique().tolist() == ["2025-04", "2025-01"]
        button = box.children[0].children[-1].children[0]
        button.click()
    exported = list(ex.exports.glob("explorer_West_All-channels_quarter_margin-pct_2025-01_2025-06.csv"))
    assert len(exported) == 1 and "Exported to" in ex._status.value


def test_static_view_for_viewers_without_widgets(ex):
    page = ex.static_html()
    assert page.startswith('<img class="chanlib-chart" alt="Revenue by channel: all regions, per month. Lines')
    assert "<td>All regions</td>" in page and "Showing 24 of 72 rows" in page


def test_metric_over_time_marks_a_partial_last_period():
    frame = pd.DataFrame({"period": pd.to_datetime(["2025-10-01", "2025-11-01", "2025-12-01"]), "channel": "web",
                          "value": [0.2, 0.25, 0.3]})
    fig = plots.metric_over_time(frame, "Margin", "percent", "EUR", "month", "Margin: East", partial_to="2025-12-09")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "December 2025 partial: sales to 2025-12-09" in labels
    assert fig.axes[0].get_ylim()[0] == 0.0 and "December 2025 partial" in fig.get_label()
    bars = plots.metric_over_time(frame.tail(1), "Margin", "percent", "EUR", "month", "Margin: East")
    assert [t.get_text() for t in bars.axes[0].texts] == ["30.0%"]
