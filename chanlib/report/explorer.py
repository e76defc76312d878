"""The explorer of ``notebooks/explorer.ipynb``: pickers for region, channel, period grain, metric and date range
that redraw a chart and a table in place, and a button that exports the table.

Everything is computed by the KPI engine (:meth:`chanlib.workbench.Workbench.kpis`, the engine of ``chanlib kpi``)
once per grouping and grain and then kept, so a change of region, channel, metric or dates only filters and draws
(well under a second on the medium demo: ``bench/explorer.py``). The notebook only calls :func:`open_explorer` and
:meth:`Explorer.show`.

:meth:`Explorer.show` displays one output with two representations: the live widgets, which JupyterLab shows, and a
static picture of the default view (chart and table), which papermill runs, nbconvert and viewers without a widget
manager show instead.

Examples
--------
>>> from chanlib.workbench import example
>>> ex = Explorer(example())
>>> view = ex.view(Selection(region="West", channel=ALL_CHANNELS, grain="quarter", metric="revenue"))
>>> view.title
'Revenue by channel: West, per quarter'
>>> view.table.head(3)[["region", "channel", "period", "revenue"]]
  region       channel     period  revenue
0   West  All channels 2025-10-01    360.0
1   West          shop 2025-10-01    240.0
2   West           web 2025-10-01    120.0
"""
from __future__ import annotations

import html
import logging
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import HTML, display

from chanlib import periods
from chanlib.analytics import definitions
from chanlib.io import write_table
from chanlib.report import plots
from chanlib.report.display import Labels, figure, table
from chanlib.workbench import Workbench, open_workbench

log = logging.getLogger(__name__)

ALL_REGIONS = "All regions"
ALL_CHANNELS = "All channels"
GRAINS: tuple[str, ...] = ("month", "quarter", "year")
#: metrics that add up over channels and periods: a period without sales shows 0 (the others show a gap)
ADDITIVE: frozenset[str] = frozenset({"revenue", "units", "orders", "gross_margin", "active_partners",
                                      "channel_costs", "contribution_margin", "sell_in_units", "sell_out_units",
                                      "feedback_responses"})
#: columns the table always shows beside the chosen metric (when the store has them)
TABLE_METRICS: tuple[str, ...] = ("revenue", "growth_yoy", "margin_pct", "units", "active_partners")
#: rows the view shows (the export writes them all)
SHOWN_ROWS = 24


@dataclass(frozen=True)
class Selection:
    """What the pickers say: region (or :data:`ALL_REGIONS`), channel (or :data:`ALL_CHANNELS`), period grain,
    metric (a KPI key) and the first and last month shown (``YYYY-MM``; None: from the first / to the last)."""

    region: str = ALL_REGIONS
    channel: str = ALL_CHANNELS
    grain: str = "month"
    metric: str = "revenue"
    start: str | None = None
    end: str | None = None


@dataclass
class View:
    """One drawn view: its selection, chart title, the figure and the table (every row; the view shows the first
    :data:`SHOWN_ROWS`) and how long it took to compute and draw."""

    selection: Selection
    title: str
    #: the chart (None when the selection has no sales)
    figure: Any
    table: pd.DataFrame
    seconds: float = 0.0


class Explorer:
    """Region, channel, grain, metric and date pickers over a :class:`~chanlib.workbench.Workbench`.

    ``exports``: where the export button writes CSV files (default: ``<report.out>/exports``, i.e.
    ``reports/exports/`` of the default params).
    """

    def __init__(self, wb: Workbench, exports: str | Path | None = None) -> None:
        self.wb = wb
        self.exports = (Path(exports) if exports is not None else Path(wb.params.report.out) / "exports").resolve()
        self.labels = Labels.from_params(wb.params)
        self.currency = wb.currency
        self.regions = wb.regions()
        self.channels = wb.channels()
        self.palette = plots.channel_palette(self.channels)
        first, self.as_of = wb.period()
        self.months = [str(m)[:7] for m in pd.period_range(first, self.as_of, freq="M")]
        self.tolerance = wb.params.periods.complete_tolerance_days
        self.profit = definitions.margin_from_profit(wb.params)
        self._cubes: dict[tuple[tuple[str, ...], str], pd.DataFrame] = {}
        self.current: View | None = None
        self._controls: dict[str, widgets.ValueWidget] = {}
        self._status: widgets.HTML | None = None

    # -- data --------------------------------------------------------------------------------------------------------

    def cube(self, by: tuple[str, ...], grain: str) -> pd.DataFrame:
        """The KPI table by ``by`` and ``grain`` (:meth:`Workbench.kpis`), computed once and kept."""
        key = (by, grain)
        if key not in self._cubes:
            started = time.perf_counter()
            self._cubes[key] = self.wb.kpis(by=list(by), period=grain)
            log.info("KPI cube by %s per %s: %d rows in %.2f s", by or "total", grain, len(self._cubes[key]),
                     time.perf_counter() - started)
        return self._cubes[key]

    def metrics(self) -> list[tuple[str, str]]:
        """The metrics the pickers offer, as (label, KPI key): every KPI with a definition that the store has
        values for, in the engine's order."""
        cube = self.cube(("region", "channel"), "month")
        known = definitions.catalogue(self.profit)
        keys = [c for c in cube.columns if c in known and c not in ("period", "region", "channel", "top_partner_n")
                and pd.api.types.is_numeric_dtype(cube[c]) and cube[c].notna().any()]
        return [(known[k].label, k) for k in keys]

    def kind(self, metric: str) -> str:
        """The unit of ``metric`` (money, percent, points, number, ...)."""
        return definitions.get(metric, self.profit).kind

    def _rows(self, sel: Selection, by_region: bool, by_channel: bool) -> pd.DataFrame:
        by = tuple(k for k, on in (("region", by_region), ("channel", by_channel)) if on)
        rows = self.cube(by, sel.grain)
        if by_region:
            rows = rows[rows["region"] == sel.region]
        if sel.channel != ALL_CHANNELS and by_channel:
            rows = rows[rows["channel"] == sel.channel]
        first = periods.period_start(pd.Timestamp(sel.start or self.months[0]), sel.grain)
        last = periods.period_start(pd.Timestamp(sel.end or self.months[-1]), sel.grain)
        rows = rows[(rows["period"] >= first) & (rows["period"] <= last)]
        return rows.assign(region=sel.region if by_region else ALL_REGIONS,
                           channel=rows["channel"] if by_channel else ALL_CHANNELS)

    def table(self, sel: Selection) -> pd.DataFrame:
        """The rows of ``sel``: per period (latest first) the total over the channels shown and, with every channel,
        each channel's row; columns region, channel, period, the metric, then revenue, growth, margin, units and
        active partners where the store has them."""
        by_region = sel.region != ALL_REGIONS
        parts = [self._rows(sel, by_region, True)]
        if sel.channel == ALL_CHANNELS:
            parts.insert(0, self._rows(sel, by_region, False))
        rows = pd.concat(parts, ignore_index=True)
        metrics = list(dict.fromkeys([sel.metric, *(m for m in TABLE_METRICS if m in rows)]))
        rows = rows.assign(_total=rows["channel"] != ALL_CHANNELS)
        rows = rows.sort_values(["period", "_total", "channel"], ascending=[False, True, True], kind="stable")
        return rows[["region", "channel", "period", *metrics]].reset_index(drop=True)

    def chart_frame(self, sel: Selection) -> pd.DataFrame:
        """What the chart draws: period, channel, value of the metric; every period of the date range, with 0 for
        an additive metric where a channel sold nothing."""
        rows = self.table(sel)
        frame = rows[["period", "channel", sel.metric]].rename(columns={sel.metric: "value"})
        first = periods.period_start(pd.Timestamp(sel.start or self.months[0]), sel.grain)
        last = periods.period_start(pd.Timestamp(sel.end or self.months[-1]), sel.grain)
        step = {"month": "MS", "quarter": "QS", "year": "YS"}[sel.grain]
        grid = pd.MultiIndex.from_product([pd.date_range(first, last, freq=step), frame["channel"].unique()],
                                          names=["period", "channel"])
        frame = frame.set_index(["period", "channel"]).reindex(grid)
        if sel.metric in ADDITIVE:
            frame = frame.fillna(0.0)
        return frame.reset_index()

    # -- drawing ----------------------------------------------------------------------------------------------------

    def title(self, sel: Selection) -> str:
        """The chart's title: the metric, the region and the channel (or "by channel"), and the grain."""
        label = definitions.label(sel.metric, self.profit)
        where = "all regions" if sel.region == ALL_REGIONS else sel.region
        if sel.channel == ALL_CHANNELS:
            return f"{label} by channel: {where}, per {sel.grain}"
        return f"{label}: {where} · {self.labels.channel(sel.channel)}, per {sel.grain}"

    def view(self, sel: Selection) -> View:
        """Compute and draw ``sel``: the chart (:func:`chanlib.report.plots.metric_over_time`) and the table."""
        started = time.perf_counter()
        rows = self.table(sel)
        chart = self.chart_frame(sel)
        partial = self.as_of if periods.is_partial(self.as_of, sel.grain, self.tolerance) else None
        title = self.title(sel)
        if rows.empty:
            return View(sel, title, None, rows, time.perf_counter() - started)
        fig = plots.metric_over_time(chart, definitions.label(sel.metric, self.profit), self.kind(sel.metric),
                                     self.currency, sel.grain, title, palette=self.palette, labels=self.labels,
                                     total=ALL_CHANNELS if sel.channel == ALL_CHANNELS else None,
                                     partial_to=partial)
        return View(sel, title, fig, rows, time.perf_counter() - started)

    def outputs(self, view: View) -> list[Any]:
        """What a view displays: the chart (SVG with alt text), the table's first :data:`SHOWN_ROWS` rows and a note
        of how many there are; a one-line note when the selection has no sales."""
        sel = view.selection
        if view.table.empty:
            where = "all regions" if sel.region == ALL_REGIONS else sel.region
            return [HTML(f"<p class=\"chanlib-note\"><em>{html.escape(view.title)}: no sales in {html.escape(where)}"
                         f" through {html.escape(self.labels.channel(sel.channel))} from "
                         f"{html.escape(sel.start or self.months[0])} to {html.escape(sel.end or self.months[-1])}."
                         "</em></p>")]
        money: list[str] = []
        percent: list[str] = []
        for column in view.table.columns[3:]:
            kind = self.kind(str(column))
            (money if kind == "money" else percent if kind in ("percent", "points") else []).append(str(column))
        shown = view.table.head(SHOWN_ROWS).assign(period=[periods.label(p, view.selection.grain)
                                                           for p in view.table["period"].head(SHOWN_ROWS)])
        for column in shown.columns[3:]:
            if column not in money and column not in percent:
                shown[column] = [f"{v:,.4g}" if pd.notna(v) else "n/a" for v in shown[column]]
        note = (f"Showing {len(shown)} of {len(view.table)} rows, latest period first; Export writes them all."
                if len(view.table) > SHOWN_ROWS else f"{len(view.table)} rows, latest period first.")
        return [_image(view.figure), table(shown, money_columns=money, percent_columns=percent,
                                           currency=self.currency, labels=self.labels),
                HTML(f"<p class=\"chanlib-note\"><em>{html.escape(note)}</em></p>")]

    def static_html(self, view: View | None = None) -> str:
        """A view (default: the default view) as one HTML fragment with the chart embedded."""
        return "\n".join(str(item.data) for item in self.outputs(view or self.view(Selection())))

    def export(self, sel: Selection | None = None) -> Path:
        """Write the table of ``sel`` (default: what the pickers show now) to a CSV file under :attr:`exports`,
        named after the selection; return its path."""
        sel = sel or (self.current.selection if self.current is not None else Selection())
        rows = self.table(sel)
        parts = [sel.region, sel.channel, sel.grain, sel.metric, sel.start or self.months[0],
                 sel.end or self.months[-1]]
        name = "explorer_" + "_".join(re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-") for p in parts) + ".csv"
        path = write_table(rows, self.exports / name)
        log.info("exported %d rows to %s", len(rows), path)
        return path

    # -- widgets ------------------------------------------------------------------------------------------------

    def selection(self) -> Selection:
        """What the pickers say now (the default selection before :meth:`widget` made them)."""
        if not self._controls:
            return Selection()
        c = self._controls
        start, end = c["months"].value
        return Selection(c["region"].value, c["channel"].value, c["grain"].value, c["metric"].value, start, end)

    def widget(self) -> widgets.VBox:
        """The explorer's widgets: the pickers, the chart and table (an ``interactive_output`` that redraws in
        place on every change), the export button and a status line."""
        style = {"description_width": "initial"}
        c: dict[str, widgets.ValueWidget] = {
            "region": widgets.Dropdown(options=[ALL_REGIONS, *self.regions], value=ALL_REGIONS,
                                       description="Region", style=style),
            "channel": widgets.Dropdown(options=[(ALL_CHANNELS, ALL_CHANNELS),
                                                 *((self.labels.channel(ch), ch) for ch in self.channels)],
                                        value=ALL_CHANNELS, description="Channel", style=style),
            "grain": widgets.ToggleButtons(options=list(GRAINS), value="month", description="Period",
                                           style=style),
            "metric": widgets.Dropdown(options=self.metrics(), value="revenue", description="Metric", style=style),
            "months": widgets.SelectionRangeSlider(options=self.months, index=(0, len(self.months) - 1),
                                                   description="Months", continuous_update=False,
                                                   layout=widgets.Layout(width="560px"), style=style),
        }
        self._controls = c
        self._status = widgets.HTML()
        button = widgets.Button(description="Export table to CSV", icon="download",
                                tooltip=f"writes the table to {self.exports}",
                                layout=widgets.Layout(width="auto", min_width="190px"))
        button.on_click(lambda _: self._export_clicked())

        def draw(region: str, channel: str, grain: str, metric: str, months: tuple[str, str]) -> None:
            view = self.view(Selection(region, channel, grain, metric, months[0], months[1]))
            self.current = view
            display(*self.outputs(view))
            if self._status is not None:
                self._status.value = f"<small>Drawn in {view.seconds:.2f} s.</small>"

        output = widgets.interactive_output(draw, dict(c))
        pickers = widgets.VBox([widgets.HBox([c["region"], c["channel"], c["metric"]]),
                                widgets.HBox([c["grain"]]), c["months"],
                                widgets.HBox([button, self._status])])
        box = widgets.VBox([pickers, output])
        box.add_class("chanlib-explorer")
        return box

    def _export_clicked(self) -> None:
        path = self.export()
        if self._status is not None:
            self._status.value = f"<small>Exported to <code>{html.escape(str(path))}</code>.</small>"

    def show(self) -> None:
        """Display the explorer: live widgets in JupyterLab, and the default view as a static chart and table where
        no widget manager runs (papermill, nbconvert, a viewer)."""
        box = self.widget()
        bundle = box._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/html"] = self.static_html(self.current)  # interactive_output drew the default view already
        data["text/plain"] = "chanlib explorer (open the notebook in JupyterLab to use the pickers)"
        display(data, raw=True)

    def select(self, **changes: Any) -> View | None:
        """Change pickers by name (``region``, ``channel``, ``grain``, ``metric``, ``months``) as a user would;
        the view redraws; returns it."""
        if not self._controls:
            months = changes.pop("months", None)
            if months is not None:
                changes.update(start=months[0], end=months[1])
            self.current = self.view(replace(self.selection(), **changes))
            return self.current
        for name, value in changes.items():
            self._controls[name].value = value
        return self.current


def _image(fig: Any) -> HTML:
    """The chart as an embedded SVG in an ``<img>`` with its alt text (:func:`chanlib.report.display.figure`),
    as HTML: JupyterLab's image renderer would drop the alt text."""
    return HTML(figure(fig)._repr_html_())


def open_explorer(params_path: str | Path | None = None, store_path: str | Path | None = None,
                  exports: str | Path | None = None) -> Explorer:
    """The explorer over the store of a params file (default ``params/default.yaml``; the store is built or
    refreshed first unless ``store_path`` is given), with the default grain's KPI tables computed up front."""
    ex = Explorer(open_workbench(params_path, store_path), exports)
    for by in (("region", "channel"), ("region",), ("channel",), ()):
        ex.cube(by, "month")
    return ex
