"""Every chart chanlib draws, in one style.

Charts are built on explicit :class:`matplotlib.figure.Figure` objects (no pyplot state), so a notebook cell shows
exactly the figure it asks for, via :func:`chanlib.display.figure`.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
...                       "channel": ["web", "web", "store", "store"], "revenue": [1.0, 2.0, 3.0, 4.0]})
>>> fig = monthly_revenue_by_channel(frame, currency="EUR")
>>> fig.axes[0].get_ylabel()
'Revenue (EUR)'
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .narrative import money  # noqa: E402

PALETTE = "colorblind"
FIGSIZE = (9.0, 4.2)
STYLE = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titleweight": "bold",
    "axes.titlesize": 12,
    "font.size": 10,
    "legend.frameon": False,
    "figure.dpi": 100,
}


def _figure(figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure, object]:
    sns.set_theme(style="whitegrid", palette=PALETTE, rc=STYLE)
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def palette(names: list[str]) -> dict[str, tuple[float, float, float]]:
    """A colour per name, stable across charts: the same channel has the same colour everywhere."""
    ordered = sorted(set(map(str, names)))
    colours = sns.color_palette(PALETTE, n_colors=max(len(ordered), 1))
    return {name: colours[i % len(colours)] for i, name in enumerate(ordered)}


def _date_axis(axis) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    axis.set_major_locator(locator)
    axis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _money_axis(axis, currency: str) -> None:
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: money(v, currency, compact=True)))


def monthly_revenue_by_channel(frame: pd.DataFrame, currency: str) -> Figure:
    """Lines of monthly revenue, one per channel. ``frame``: month, channel, revenue."""
    fig, ax = _figure()
    order = frame.groupby("channel")["revenue"].sum().sort_values(ascending=False).index.tolist()
    sns.lineplot(data=frame, x="month", y="revenue", hue="channel", hue_order=order, ax=ax, linewidth=1.6,
                 palette=palette(order))
    ax.set_title("Monthly revenue by channel")
    _date_axis(ax.xaxis)
    ax.set_xlabel("")
    ax.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax.yaxis, currency)
    ax.legend(title="Channel", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def channel_mix(frame: pd.DataFrame, currency: str) -> Figure:
    """Horizontal bars of each channel's share of revenue. ``frame``: channel, revenue, share."""
    fig, ax = _figure((9.0, 0.45 * max(len(frame), 3) + 1.2))
    ordered = frame.sort_values("share", ascending=False)
    sns.barplot(data=ordered, y="channel", x="share", hue="channel", legend=False, ax=ax, orient="h",
                palette=palette(ordered["channel"].tolist()))
    for patch, (_, row) in zip(ax.patches, ordered.iterrows()):
        ax.annotate(f"{row['share']:.0%}  {money(row['revenue'], currency, compact=True)}",
                    (patch.get_width(), patch.get_y() + patch.get_height() / 2),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_title("Channel mix (share of revenue)")
    ax.set_xlabel("Share of revenue")
    ax.set_ylabel("")
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlim(0, max(float(ordered["share"].max()) * 1.3, 0.1))
    return fig
