"""Turn results into notebook outputs: embedded SVG charts with alt text, escaped HTML tables with readable headers,
Markdown text; and the display names readers see instead of raw identifiers.

Examples
--------
>>> import pandas as pd
>>> html = table(pd.DataFrame({"partner": ["A & <B>"], "revenue": [1234.4]}), money_columns=["revenue"], currency="EUR")
>>> "A &amp; &lt;B&gt;" in html.data, "EUR 1,234" in html.data, "<th>Revenue</th>" in html.data
(True, True, True)
>>> display_name("cross_border_ecom"), display_name("web", {"web": "Online shop"})
('Cross border ecom', 'Online shop')
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import pandas as pd
from IPython.display import HTML, Markdown
from matplotlib.figure import Figure

from chanlib.analytics import definitions
from chanlib.report.markers import OMITTED_SECTION
from chanlib.report.narrative import money, percent

if TYPE_CHECKING:
    from chanlib.config import Params

__all__ = ["figure", "Chart", "table", "markdown", "note", "HTML", "Markdown", "Labels", "display_name", "readable",
           "describe"]

#: words shown in capitals (or their usual spelling) when an identifier is made readable
ACRONYMS: dict[str, str] = {
    "roi": "ROI", "hhi": "HHI", "nps": "NPS", "kpi": "KPI", "yoy": "YoY", "smape": "sMAPE", "mape": "MAPE",
    "mae": "MAE", "rmse": "RMSE", "abc": "ABC", "xyz": "XYZ", "id": "ID", "pct": "%", "b2b": "B2B", "b2c": "B2C",
    "rfm": "RFM", "cv": "CV", "pc1": "PC1", "pc2": "PC2",
}

#: headers of report columns that are not KPIs (KPI labels come from :mod:`chanlib.analytics.definitions`)
COLUMN_LABELS: dict[str, str] = {
    "revenue_base": "Revenue, base period",
    "n_obs": "Months of history",
    "unique_id": "Series",
    "rows_read": "Rows read",
    "rows_kept": "Rows kept",
    "rows_rejected": "Rows rejected",
}


def readable(identifier: object) -> str:
    """An identifier as readers see it: underscores as spaces, the first letter capitalised, known acronyms in
    capitals (``channel_roi`` -> ``Channel ROI``). Text that is already readable is returned unchanged.

    >>> readable("cross_border_ecom"), readable("channel_roi"), readable("North East"), readable("smape")
    ('Cross border ecom', 'Channel ROI', 'North East', 'sMAPE')
    """
    text = str(identifier)
    if "_" not in text and not (text[:1].islower() or text.lower() in ACRONYMS):
        return text
    words = [ACRONYMS.get(w.lower(), w) for w in text.replace("_", " ").split()]
    if words and words[0][:1].islower() and words[0] not in ACRONYMS.values():
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def display_name(identifier: object, names: Mapping[str, str] | None = None) -> str:
    """The name readers see for ``identifier``: ``names[identifier]`` (e.g. ``params.display.channels``) when given,
    else :func:`readable`."""
    key = str(identifier)
    if names and key in names:
        return str(names[key])
    return readable(key)


@dataclass(frozen=True)
class Labels:
    """Display names of channels and table columns: the params' ``display.channels`` / ``display.columns`` first,
    then (columns) the labels of the KPI definitions (:func:`chanlib.analytics.definitions.labels`) and
    :data:`COLUMN_LABELS`, then :func:`readable`.

    >>> labels = Labels(channels={"web": "Online shop"})
    >>> labels.channel("web"), labels.channel("cross_border_ecom"), labels.column("market_size")
    ('Online shop', 'Cross border ecom', 'Market size')
    """

    channels: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    #: KPI key -> label (default: the definitions' labels, margin worded as gross margin)
    kpis: Mapping[str, str] = field(default_factory=definitions.labels)

    @classmethod
    def from_params(cls, params: Params) -> Labels:
        """The run's labels: ``params.display`` and the KPI definitions (the margin worded as profit when the export
        gives profit, :func:`chanlib.analytics.definitions.margin_from_profit`)."""
        return cls(dict(params.display.channels), dict(params.display.columns),
                   definitions.labels(definitions.margin_from_profit(params)))

    def channel(self, channel: object) -> str:
        """The display name of a channel id."""
        return display_name(channel, self.channels)

    def channels_of(self, values: Iterable[object]) -> list[str]:
        """The display names of several channel ids, in order."""
        return [self.channel(v) for v in values]

    def column(self, column: object) -> str:
        """The header of a column (``market_size`` and ``market size`` alike)."""
        text = str(column)
        for key in dict.fromkeys((text, text.replace(" ", "_"))):
            for names in (self.columns, self.kpis, COLUMN_LABELS):
                if key in names:
                    return str(names[key])
        return readable(text)

    def named(self, frame: pd.DataFrame, column: str = "channel") -> pd.DataFrame:
        """A copy of ``frame`` whose ``column`` holds display names (for sentences and tables)."""
        if column not in frame:
            return frame.copy()
        return frame.assign(**{column: self.channels_of(frame[column])})


def describe(fig: Figure) -> str:
    """A figure's description for readers who cannot see it: what its plot function said it shows (the figure's
    label), else its titles and axis labels."""
    if fig.get_label():
        return str(fig.get_label())
    parts = [fig.get_suptitle()]
    for ax in fig.axes:
        bits = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        parts.append(", ".join(b for b in bits if b))
    text = "; ".join(p for p in parts if p)
    return text or "Chart"


#: SVG settings of every chart: text stays text (small files, sharp on any screen, selectable), and element ids are
#: derived from a fixed salt so the same figure gives the same bytes
SVG_RC: dict[str, Any] = {"svg.fonttype": "none", "svg.hashsalt": "chanlib"}
#: the CSS pixels per inch a chart is shown at (its SVG size is in points, 72 per inch)
CHART_PPI = 110

_SVG_SIZE = re.compile(rb'<svg[^>]*?\swidth="([0-9.]+)pt"[^>]*?\sheight="([0-9.]+)pt"')


@dataclass(frozen=True)
class Chart:
    """A rendered chart: its SVG document and alt text. Notebooks and reports show it as an ``<img>`` whose source is
    the SVG as a data URI (self-contained, no script can run in it), ``width`` x ``height`` CSS pixels."""

    svg: bytes
    alt: str
    width: int
    height: int

    def _repr_html_(self) -> str:
        source = base64.b64encode(self.svg).decode()
        return (f'<img class="chanlib-chart" alt="{html.escape(self.alt, quote=True)}" width="{self.width}" '
                f'height="{self.height}" src="data:image/svg+xml;base64,{source}">')

    def __repr__(self) -> str:
        return f"<Chart: {self.alt[:60]}>"


def figure(fig: Figure, alt: str | None = None) -> Chart:
    """A figure as an embedded SVG chart with alt text (``alt``, default :func:`describe`). A figure of one plot is
    cropped to what it draws (``bbox_inches="tight"``), and so is a figure without a layout engine (its plot function
    spaced its plots); any other figure of several plots keeps its constrained layout, which keeps the plots apart.
    The figure is not kept open anywhere.

    >>> from chanlib.report import plots
    >>> frame = pd.DataFrame({"channel": ["web", "shop"], "revenue": [3.0, 1.0], "share": [0.75, 0.25]})
    >>> chart = figure(plots.channel_mix(frame, "EUR"))
    >>> chart.alt.startswith("Channel mix"), chart.svg.startswith(b"<?xml"), chart.width > 300
    (True, True, True)
    """
    buffer = io.BytesIO()
    extra: dict[str, Any] = {}
    if fig.get_layout_engine() is None or len([ax for ax in fig.axes if ax.get_visible()]) == 1:
        fig.set_layout_engine("none")
        extra["bbox_inches"] = "tight"
        extra["pad_inches"] = 0.08
    with mpl.rc_context(SVG_RC):  # type: ignore[arg-type]  # (matplotlib types rc keys as literals)
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, **extra)
    svg = buffer.getvalue()
    size = _SVG_SIZE.search(svg[:2000])
    width, height = ((float(size.group(1)), float(size.group(2))) if size else
                     (fig.get_figwidth() * 72, fig.get_figheight() * 72))
    return Chart(svg=svg, alt=" ".join((alt or describe(fig)).split()),
                 width=round(width * CHART_PPI / 72), height=round(height * CHART_PPI / 72))


#: charts drawn in this process, by what they were drawn from (:func:`shared_figure`); a few, as each report of a run
#: shows the same handful
_SHARED_CHARTS: dict[str, Chart] = {}
_SHARED_CHARTS_MAX = 16


def shared_figure(draw: Callable[..., Figure], *inputs: pd.DataFrame | Mapping | str | None) -> Chart:
    """``figure(draw(*inputs))``, drawn once per process for the same inputs: for a chart that every region's report
    shows alike (e.g. the profiles of segments found across all regions), so that a worker rendering several reports
    draws it once. The inputs (DataFrames, mappings, strings) are compared by content.

    >>> from chanlib.report import plots
    >>> frame = pd.DataFrame({"channel": ["web", "shop"], "revenue": [3.0, 1.0], "share": [0.75, 0.25]})
    >>> shared_figure(plots.channel_mix, frame, "EUR") is shared_figure(plots.channel_mix, frame.copy(), "EUR")
    True
    """
    digest = hashlib.sha256(f"{draw.__module__}.{draw.__qualname__}".encode())
    for value in inputs:
        if isinstance(value, pd.DataFrame):
            digest.update(repr((list(value.columns), list(value.dtypes.astype(str)))).encode())
            digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
        else:
            digest.update(repr(sorted(value.items()) if isinstance(value, Mapping) else value).encode())
    key = digest.hexdigest()
    if key not in _SHARED_CHARTS:
        if len(_SHARED_CHARTS) >= _SHARED_CHARTS_MAX:
            _SHARED_CHARTS.pop(next(iter(_SHARED_CHARTS)))
        _SHARED_CHARTS[key] = figure(draw(*inputs))
    return _SHARED_CHARTS[key]


def table(frame: pd.DataFrame, money_columns: Iterable[str] = (), percent_columns: Iterable[str] = (),
          currency: str = "", index: bool = False, labels: Labels | None = None) -> HTML:
    """An HTML table with every cell escaped, money/percent columns formatted, a ``channel`` column shown by its
    display names and every header by its display name (:class:`Labels`; ``labels`` default: readable names)."""
    labels = labels or Labels()
    shown = frame.copy()
    for column in money_columns:
        shown[column] = [money(v, currency) for v in shown[column]]
    for column in percent_columns:
        shown[column] = [percent(v, signed=False) for v in shown[column]]
    if "channel" in shown.columns:
        shown["channel"] = labels.channels_of(shown["channel"])
    shown.columns = [labels.column(c) for c in shown.columns]
    return HTML(shown.to_html(index=index, escape=True, border=0, classes="chanlib-table", na_rep="n/a"))


def markdown(text: str) -> Markdown:
    """Markdown built by :mod:`chanlib.report.narrative` (which has already escaped data-derived names)."""
    return Markdown(text)


def note(text: str) -> Markdown:
    """A one-line note, e.g. why a section is left out."""
    return Markdown(f"*{text}*")


def omitted() -> HTML:
    """What a section shows when a short report leaves it out: nothing, and its heading goes too (see
    :data:`OMITTED_SECTION`)."""
    return HTML(OMITTED_SECTION)
