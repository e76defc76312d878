"""Charts that don't mislead (issue 16): what is DRAWN, read from the matplotlib artists the plot functions return.

One palette per run (a channel has one colour in every chart of every region), zero-filled months, a partial month
marked, markers or bars with few points, bar axes from zero with a zero line for negatives, one colour meaning in
every heat map, display names instead of raw identifiers, alt text on every image up to the exported HTML, and the
report header's as-of date and windows.
"""
from __future__ import annotations

import base64
import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import matplotlib.colors as mcolors
import nbformat
import numpy as np
import pandas as pd
import pytest
from IPython.core.formatters import format_display_data
from IPython.display import HTML, Markdown
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from chanlib.report import display, plots, sections
from chanlib.report.display import Chart, Labels, readable
from chanlib.report.html import export_html

# -- helpers ---------------------------------------------------------------------------------------------------------


def hexes(colour) -> str:
    return mcolors.to_hex(colour)


def text_of(outputs: list) -> str:
    return "\n".join(o.data for o in outputs if isinstance(o, (HTML, Markdown)))


@pytest.fixture
def recorded(monkeypatch):
    """Every figure the sections display, kept (the sections still render it through the real display.figure)."""
    figures: list[Figure] = []

    def keep(fig: Figure, alt: str | None = None) -> Chart:
        figures.append(fig)
        return display.figure(fig, alt=alt)

    monkeypatch.setattr(sections, "figure", keep)
    return figures


def channel_colours(fig: Figure, names: set[str]) -> dict[str, set[str]]:
    """Display name -> colours it is drawn in: lines and bars labelled with a channel (white-space bars are labelled
    ``region · channel``), and the forecast line of a panel titled with a channel."""
    found: dict[str, set[str]] = defaultdict(set)
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label() in names:
                found[line.get_label()].add(hexes(line.get_color()))
            elif line.get_label() == "forecast" and ax.get_title() in names:
                found[ax.get_title()].add(hexes(line.get_color()))
        for patch in ax.patches:
            name = str(patch.get_label()).split(" · ")[-1]
            if name in names:
                found[name].add(hexes(patch.get_facecolor()))
    return found


def visible_text(fig: Figure) -> list[str]:
    """Titles, axis labels, tick labels, legend entries and annotations of a figure."""
    texts = [fig.get_suptitle()]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels() + ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
    return texts


DEMO_CHANNELS = ["cross_border_ecom", "distributors", "export_distributors", "franchise_stores", "marketplace",
                 "own_stores", "web_store"]


CHART_SECTIONS = ["monthly", "mix", "channel_kpis", "product_fit", "regional_planning", "outlook", "segments"]
TEXT_SECTIONS = ["title", "headline", "period_evaluation", "about"]


@pytest.fixture(scope="module")
def demo_regions(demo_store_forecast: Path):
    """North and South of the demo (with forecasts, for the outlook's panels), every section called once:
    (context, outputs, figures) per region."""
    demo_store = demo_store_forecast
    params = Path(demo_store).parent / "params.yaml"
    rendered = []
    with pytest.MonkeyPatch.context() as patch:
        for region in ("North", "South"):
            figures: list[Figure] = []

            def keep(fig: Figure, alt: str | None = None, figures=figures) -> Chart:
                figures.append(fig)
                return display.figure(fig, alt=alt)

            patch.setattr(sections, "figure", keep)
            ctx = sections.open_region(region, params, demo_store)
            outputs = [o for name in CHART_SECTIONS + TEXT_SECTIONS for o in getattr(sections, name)(ctx)]
            rendered.append((ctx, outputs, figures))
    yield rendered
    for ctx, _, _ in rendered:
        ctx.con.close()


# -- one palette per run -----------------------------------------------------------------------------------------------


def test_palette_follows_the_sorted_full_channel_list() -> None:
    colours = plots._channel_colours(3)
    palette = plots.channel_palette(["web", "shop", "b2b", "web"])
    assert palette == {"b2b": colours[0], "shop": colours[1], "web": colours[2]}
    # a chart showing only some channels still uses the run's colours: nothing is derived from the names it shows
    frame = pd.DataFrame({"channel": ["web"], "revenue": [1.0], "share": [1.0]})
    ax = plots.channel_mix(frame, "EUR", palette=palette).axes[0]
    assert hexes(ax.patches[0].get_facecolor()) == hexes(palette["web"])


@pytest.mark.parametrize("n", [1, 7, 8, 30])
def test_channel_colours_are_distinct_and_never_up_down_or_grey(n: int) -> None:
    colours = list(plots.channel_palette([f"channel {i:02d}" for i in range(n)]).values())
    assert len({hexes(c) for c in colours}) == n
    for reserved in (plots.UP_COLOUR, plots.DOWN_COLOUR):
        distances = np.linalg.norm(np.array(colours) - np.array(mcolors.to_rgb(reserved)), axis=1)
        assert distances.min() >= plots.RESERVED_DISTANCE
    assert not {hexes(c) for c in colours} & {hexes(g) for g in plots.NEUTRAL_COLOURS}


def test_every_channel_has_one_colour_in_every_chart_of_two_regions(demo_regions) -> None:
    (north, _, north_figures), (south, _, south_figures) = demo_regions
    assert sections.all_channels(north.con) == DEMO_CHANNELS
    assert north.palette == south.palette == plots.channel_palette(DEMO_CHANNELS)
    names = {north.labels.channel(c): c for c in DEMO_CHANNELS}
    seen: dict[str, set[str]] = defaultdict(set)
    charts_with_channels = 0
    for fig in north_figures + south_figures:
        found = channel_colours(fig, set(names))
        charts_with_channels += bool(found)
        for channel, colours in found.items():
            seen[channel] |= colours
    # monthly lines, mix bars, attainment and ROI bars, white space, forecast panels, in both regions
    assert charts_with_channels >= 10
    assert len(seen) >= 5
    for channel, colours in seen.items():
        assert colours == {hexes(north.palette[names[channel]])}, channel
    assert not {c for cs in seen.values() for c in cs} & {hexes(plots.UP_COLOUR), hexes(plots.DOWN_COLOUR)}


# -- the monthly chart -------------------------------------------------------------------------------------------------


def _monthly(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["month", "channel", "revenue"])
    return frame.assign(month=pd.to_datetime(frame["month"]))


def _lines(fig: Figure) -> dict[str, list]:
    return {line.get_label(): line for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")}


def test_months_without_sales_are_drawn_as_zero_never_bridged() -> None:
    frame = _monthly([("2024-01-01", "web", 5.0), ("2024-03-01", "web", 7.0), ("2024-02-01", "shop", 3.0)])
    fig = plots.monthly_revenue_by_channel(frame, "EUR", months=("2024-01-01", "2024-04-01"))
    lines = _lines(fig)
    assert [float(y) for y in lines["Web"].get_ydata()] == [5.0, 0.0, 7.0, 0.0]
    assert [float(y) for y in lines["Shop"].get_ydata()] == [0.0, 3.0, 0.0, 0.0]
    assert list(pd.to_datetime(lines["Web"].get_xdata())) == list(pd.date_range("2024-01-01", periods=4, freq="MS"))
    assert fig.axes[0].get_ylim()[0] == 0.0


def test_a_partial_last_month_is_dashed_hollow_and_labelled() -> None:
    frame = _monthly([(m, "web", 10.0) for m in ("2024-01-01", "2024-02-01", "2024-03-01")])
    fig = plots.monthly_revenue_by_channel(frame, "EUR", partial_to="2024-03-09")
    ax = fig.axes[0]
    solid = _lines(fig)["Web"]
    assert len(solid.get_xdata()) == 2 and solid.get_linestyle() == "-"  # the complete months
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata()) == 2]
    assert len(dashed) == 1 and [float(y) for y in dashed[0].get_ydata()] == [10.0, 10.0]
    assert dashed[0].get_markerfacecolor() == "white"
    assert any(t.get_text() == "partial: sales to the 9th" for t in ax.texts)
    assert "March 2024 (partial: sales to the 9th)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "March 2024 is a partial month (sales to the 9th), drawn dashed" in fig.get_label()


@pytest.mark.parametrize(("months", "marker"), [(2, "o"), (6, "o"), (7, "None"), (24, "None")])
def test_few_months_get_markers(months: int, marker: str) -> None:
    frame = _monthly([(str(m.date()), "web", 1.0 + i) for i, m in
                      enumerate(pd.date_range("2023-01-01", periods=months, freq="MS"))])
    line = _lines(plots.monthly_revenue_by_channel(frame, "EUR"))["Web"]
    assert line.get_marker() == marker


def test_one_month_is_drawn_as_bars_from_zero_with_distinct_ticks() -> None:
    frame = _monthly([("2025-03-01", "web", 36.0), ("2025-03-01", "shop", 5.0)])
    ax = plots.monthly_revenue_by_channel(frame, "GBP").axes[0]
    assert ax.get_lines() == []
    assert [(p.get_label(), p.get_height()) for p in ax.patches] == [("Web", 36.0), ("Shop", 5.0)]
    assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] > 36.0
    formatter = ax.yaxis.get_major_formatter()
    ticks = [formatter(v, i) for i, v in enumerate(ax.get_yticks()) if ax.get_ylim()[0] <= v <= ax.get_ylim()[1]]
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks)  # never an axis repeating "GBP 36"
    assert ax.get_title() == "Revenue by channel, March 2025"


@pytest.fixture
def region_store(make_store, tmp_path: Path):
    """Region A sells from January 2024 to 2025-03-09 (a partial March) with no web_store sales in June 2024;
    region B sells only in March 2025."""
    rows = []
    for day in pd.date_range("2024-01-05", "2025-03-09", freq="7D"):
        if day.month != 6 or day.year != 2024:
            rows.append((day, "A", "web_store", 100.0))
        rows.append((day, "A", "cross_border_ecom", 40.0))
    rows += [(pd.Timestamp("2025-03-03"), "B", "web_store", 10.0), (pd.Timestamp("2025-03-09"), "B", "web_store", 26.0)]
    sales = pd.DataFrame(rows, columns=["date", "region", "channel", "revenue"])
    sales["date"] = sales["date"].dt.strftime("%Y-%m-%d")
    make_store(sales=sales).close()
    params = tmp_path / "p.yaml"
    params.write_text(params.read_text() + "display: {channels: {cross_border_ecom: Cross-border e-commerce}}\n",
                      encoding="utf-8")
    return params, tmp_path / "store.duckdb"


def test_monthly_section_zero_fills_marks_the_partial_month_and_says_so(region_store, recorded) -> None:
    params, path = region_store
    ctx = sections.open_region("A", params, path)
    try:
        outputs = sections.monthly(ctx)
    finally:
        ctx.con.close()
    text = text_of(outputs)
    assert "Window: every month from January 2024 to March 2025" in text
    assert "March 2025 is a partial month (sales to the 9th): it is drawn dashed" in text
    (fig,) = recorded
    lines = _lines(fig)
    assert set(lines) == {"Web store", "Cross-border e-commerce", "March 2025 (partial: sales to the 9th)"}
    web = pd.Series(lines["Web store"].get_ydata(), index=pd.to_datetime(lines["Web store"].get_xdata()))
    assert web[pd.Timestamp("2024-06-01")] == 0.0 and len(web) == 14  # January 2024 .. February 2025, solid
    image = next(o for o in outputs if isinstance(o, Chart))
    assert image.alt.startswith("Monthly revenue by channel. Lines of revenue in EUR for 2 channel(s)")


def test_a_region_with_one_month_gets_bars(region_store, recorded) -> None:
    params, path = region_store
    ctx = sections.open_region("B", params, path)
    try:
        text = text_of(sections.monthly(ctx))
    finally:
        ctx.con.close()
    (fig,) = recorded
    ax = fig.axes[0]
    assert [p.get_label() for p in ax.patches] == ["Web store"] and ax.patches[0].get_height() == 36.0
    assert ax.get_ylim()[0] == 0.0
    assert "Window: March 2025." in text and "drawn hatched" in text


# -- bars from zero, negative values visible ------------------------------------------------------------------------


def _zero_lines(ax) -> list:
    return [line for line in ax.get_lines() if list(line.get_xdata()) == [0, 0]]


@pytest.mark.parametrize(("values", "starts_at_zero"), [([0.4, 0.9, 1.3], True), ([0.18, -0.25, 1.19], False)])
def test_metric_bars_start_at_zero_and_show_negatives(values: list[float], starts_at_zero: bool) -> None:
    frame = pd.DataFrame({"channel": ["a", "b", "c"], "channel_roi": values})
    fig = plots.metric_bars(frame, "channel_roi", "Channel ROI")
    ax = fig.axes[0]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == sorted(values)
    low, high = ax.get_xlim()
    if starts_at_zero:
        assert low == 0.0 and not _zero_lines(ax)
    else:
        assert low < min(values) and len(_zero_lines(ax)) == 1
    assert high > max(values)
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.0%}" for v in values)  # every bar carries its value


def test_other_bar_charts_start_at_zero() -> None:
    mix = plots.channel_mix(pd.DataFrame({"channel": ["a", "b"], "revenue": [3.0, 1.0], "share": [0.75, 0.25]}),
                            "EUR").axes[0]
    space = plots.white_space_bars(pd.DataFrame({"region": ["N", "S"], "channel": ["a", "b"], "headroom": [2e5, 1e5],
                                                 "penetration": [0.0, 0.01], "benchmark_penetration": [0.03, 0.02]}),
                                   "EUR").axes[0]
    sizes = plots.segment_sizes(pd.DataFrame({"segment_id": [1, 2], "segment_name": ["x", "y"],
                                              "partners": [4, 9]})).axes[0]
    for ax in (mix, space, sizes):
        assert ax.get_xlim()[0] == 0.0
        assert all(p.get_x() == 0.0 for p in ax.patches)
    assert [t.get_text() for t in mix.texts] == ["75%  EUR 3", "25%  EUR 1"]
    assert space.texts[0].get_text().startswith("EUR 200k")


def test_a_negative_share_is_drawn_left_of_a_zero_line() -> None:
    ax = plots.channel_mix(pd.DataFrame({"channel": ["a", "b"], "revenue": [110.0, -10.0], "share": [1.1, -0.1]}),
                           "EUR").axes[0]
    assert ax.get_xlim()[0] < -0.1 and len(_zero_lines(ax)) == 1
    assert [round(p.get_width(), 2) for p in ax.patches] == [1.1, -0.1]


# -- one colour meaning for every heat map --------------------------------------------------------------------------


def _mesh(fig: Figure) -> QuadMesh:
    return next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))


def _cell_colours(fig: Figure) -> np.ndarray:
    mesh = _mesh(fig)
    return mesh.cmap(mesh.norm(np.ma.masked_invalid(mesh.get_array()).ravel()))


def test_every_heatmap_draws_more_in_blue_and_less_in_red() -> None:
    fit = plots.fit_heatmap(pd.DataFrame({"category": ["A", "A", "B", "B"], "channel": ["web", "shop"] * 2,
                                          "share_index": [2.0, 0.5, 0.5, 1.0]}))
    profile = plots.segment_profile(pd.DataFrame({"segment_id": [1, 2], "revenue": [1.5, -2.0],
                                                  "growth": [0.0, 0.5]}), {1: "big", 2: "small"})
    abc = plots.abc_xyz_heatmap(pd.DataFrame({"abc": ["A", "A", "B", "C"], "xyz": ["X", "Y", "X", "Z"],
                                              "items": [3, 2, 5, 9], "value_share": [0.6, 0.2, 0.15, 0.05]}))
    reference = matplotlib.colormaps[plots.HEATMAP_CMAP]
    for fig, (low, high) in ((fit, (0.0, 1.0)), (profile, (0.0, 1.0)), (abc, (0.5, 1.0))):
        cmap = _mesh(fig).cmap  # the one map (seaborn re-centres it: compare colours, not names)
        assert np.allclose(cmap(0.0), reference(low), atol=0.02) and np.allclose(cmap(1.0), reference(high), atol=0.02)
    for fig in (fit, profile, abc):
        values = np.ma.masked_invalid(_mesh(fig).get_array()).ravel()
        colours = _cell_colours(fig)
        top, bottom = colours[int(values.argmax())], colours[int(values.argmin())]
        assert top[2] > top[0] + 0.2, fig.axes[0].get_title()  # the largest value is blue
        if fig is not abc:
            assert bottom[0] > bottom[2] + 0.2  # the smallest (below average) is red
        else:
            assert bottom[:3].min() > 0.8  # the smallest share is near white: less, never red
        assert "blue" in fig.axes[1].get_ylabel()  # the colorbar says what blue means


# -- display names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "shown"), [
    ("cross_border_ecom", "Cross border ecom"), ("web", "Web"), ("channel_roi", "Channel ROI"),
    ("backtest smape", "Backtest sMAPE"), ("North East", "North East"), ("2025 Q4", "2025 Q4"),
    ("<script>x</script>", "<script>x</script>"),
])
def test_readable_default(raw: str, shown: str) -> None:
    assert readable(raw) == shown


def test_labels_prefer_params_then_definitions_then_readable() -> None:
    labels = Labels(channels={"web": "Online shop"}, columns={"revenue": "Net sales"})
    assert labels.channel("web") == "Online shop" and labels.channel("own_stores") == "Own stores"
    assert labels.column("revenue") == "Net sales"
    assert labels.column("expected_revenue") == "Revenue at an average mix"  # the KPI definitions' label
    assert labels.column("market size") == "Market size"
    assert labels.column("rows_read") == "Rows read"
    html = display.table(pd.DataFrame({"channel": ["web", "own_stores"], "expected_revenue": [1.0, 2.0]}),
                         labels=labels).data
    assert "<th>Channel</th>" in html and "<th>Revenue at an average mix</th>" in html
    assert "Online shop" in html and "Own stores" in html and "own_stores" not in html


RAW = re.compile(r"\b(" + "|".join(c for c in DEMO_CHANNELS if "_" in c) + r"|expected_revenue|market_size|"
                 r"growth_yoy|channel_roi|target_attainment|share_index|margin_pct|revenue_base|n_obs|unique_id|"
                 r"partners_per_million|active_partners|top5_partner_share|weeks_of_supply|smape)\b")


def test_no_raw_identifier_reaches_a_reader(demo_regions) -> None:
    _, outputs, figures = demo_regions[0]
    assert RAW.findall(text_of(outputs)) == []
    assert RAW.findall(" ".join(o.alt for o in outputs if isinstance(o, Chart))) == []
    for fig in figures:
        assert RAW.findall(" ".join(visible_text(fig))) == [], fig.axes[0].get_title()


# -- alt text --------------------------------------------------------------------------------------------------------


def test_every_section_image_has_a_description(demo_regions) -> None:
    images = [o for o in demo_regions[0][1] if isinstance(o, Chart)]
    assert len(images) >= 8
    for image in images:
        assert len(image.alt) > 40 and "\n" not in image.alt
    alts = " | ".join(image.alt for image in images)
    for title in ("Monthly revenue by channel", "Channel mix", "Product-channel fit",
                  "Monthly revenue: actuals and forecast", "Segment profiles", "ABC x XYZ"):
        assert title in alts


def test_exported_html_carries_the_alt_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"channel": ["web", "shop"], "revenue": [3.0, 1.0], "share": [0.75, 0.25]})
    image = display.figure(plots.channel_mix(frame, "EUR"))
    plain = display.figure(plots.channel_mix(frame, "EUR"), alt='Mix of "A & <B>"')
    cell = nbformat.v4.new_code_cell("display(image)")
    for shown in (image, plain):
        data, metadata = format_display_data(shown)
        cell.outputs.append(nbformat.v4.new_output("display_data", data=data, metadata=metadata))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Charts"), cell])
    html = export_html(nb, tmp_path / "r.html", title="charts").read_text()
    images = _ImageTags()
    images.feed(html)
    assert [alt for alt, _ in images.found] == [image.alt, 'Mix of "A & <B>"']
    assert image.alt.startswith("Channel mix: bars of each channel's share of revenue")
    assert all(src.startswith("data:image/svg+xml;base64,") for _, src in images.found)
    assert all(b"<svg" in base64.b64decode(src.removeprefix("data:image/svg+xml;base64,"))[:1000]
               for _, src in images.found)
    assert "<script" not in html
    assert "No description has been provided" not in html


class _ImageTags(HTMLParser):
    """The (alt, src) of every <img> of an HTML document, unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str | None, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            found = dict(attrs)
            self.found.append((found.get("alt"), found.get("src") or ""))


# -- the header: as-of date and windows ------------------------------------------------------------------------------


def test_title_states_the_as_of_date_and_about_the_data_every_window(region_store) -> None:
    """The title is short (the summary follows it); the windows table is in "About the data", linked from it."""
    params, path = region_store
    ctx = sections.open_region("A", params, path)
    try:
        title, about = text_of(sections.title(ctx)), text_of(sections.about(ctx))
        headline, mix, kpis = (text_of(getattr(sections, n)(ctx)) for n in ("headline", "mix", "channel_kpis"))
    finally:
        ctx.con.close()
    assert "**As of 2025-03-09**" in title and "within 3 days of its end" in title
    assert "[About the data](#About-the-data)" in title and "| Channel KPIs |" not in title
    trailing = "the 12 months 2024-03-10 to 2025-03-09"
    for row in (f"| Headline, channel mix | {trailing}, against the same months a year earlier |",
                "| Monthly revenue by channel | every month with sales; March 2025 is partial (sales to the 9th) and "
                "marked |",
                "| Channel KPIs | 2024 Q4, the latest complete quarter, against 2024 Q3 |",
                "| Product fit, regional planning | the 12 complete months March 2024 to February 2025 |",
                "| Period evaluation | 2024 Q4, the latest complete quarter, against 2024 Q3 |"):
        assert row in about
    assert headline.startswith(f"*Window: {trailing}, against the same months a year earlier.*")
    assert mix.startswith(f"*Window: {trailing}.*")
    assert kpis.startswith("*Window: 2024 Q4, the latest complete quarter, against 2024 Q3.*")
