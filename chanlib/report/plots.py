"""Every chart chanlib draws, in one style.

Charts are built on explicit :class:`matplotlib.figure.Figure` objects (no pyplot state), so a notebook cell shows
exactly the figure it asks for, via :func:`chanlib.report.display.figure`.

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

import logging
from collections.abc import Iterable, Mapping
from typing import cast

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from chanlib import periods  # noqa: E402
from chanlib.periods import DateLike  # noqa: E402
from chanlib.report.display import Labels, readable  # noqa: E402
from chanlib.report.narrative import money, ordinal  # noqa: E402

log = logging.getLogger(__name__)

RGB = tuple[float, float, float]
PALETTE = "colorblind"
#: greys that mean "total", "actuals" or "not a channel"; never a channel's colour
OTHER_COLOUR = "#8c8c8c"
NEUTRAL_COLOURS: tuple[str, ...] = (OTHER_COLOUR, "#3b3b3b", "#57606a", "#d0d7de")
#: increases and decreases (waterfall steps): Paul Tol's colour-blind-safe muted green and wine, never channel colours
UP_COLOUR = "#117733"
DOWN_COLOUR = "#882255"
#: the first channel colours, most distinct first: the colour-blind palette's strong colours (its green is too close
#: to UP_COLOUR; its light pink and yellow are too faint as lines on white)
CHANNEL_COLOURS: tuple[str, ...] = ("#0173b2", "#de8f05", "#cc78bc", "#56b4e9", "#d55e00", "#ca9161")
#: how far (RGB distance) a channel colour stays from the up/down colours and the greys
RESERVED_DISTANCE = 0.35
#: the one colour map of every heat map: blue is above / more, red below / less (ColorBrewer RdBu, colour-blind safe)
HEATMAP_CMAP = "RdBu"
#: up to this many months the monthly chart marks every point
FEW_POINTS = 6
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
    "axes.titley": 1.0,
}


def _figure(figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure, Axes]:
    sns.set_theme(style="whitegrid", palette=PALETTE, rc=STYLE)
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _bars(ax: Axes) -> list[Rectangle]:
    """The bars of a bar plot on ``ax`` (matplotlib types ``ax.patches`` as the base class ``Patch``)."""
    return cast("list[Rectangle]", list(ax.patches))


def _finish_heatmap(ax, title: str) -> None:
    """The common finish of a heat map whose rows and columns name themselves: title, no axis labels or grid,
    slanted column labels."""
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(False)


def heatmap_upper_half() -> mcolors.Colormap:
    """The upper (blue) half of :data:`HEATMAP_CMAP`, white to blue, for heat maps of amounts that are never
    negative, so bluer means more there as in every other heat map."""
    import numpy as np

    cmap = matplotlib.colormaps[HEATMAP_CMAP]
    return mcolors.ListedColormap(cmap(np.linspace(0.5, 1.0, 128)), name=f"{HEATMAP_CMAP}_upper")


def channel_palette(channels: Iterable[object]) -> dict[str, RGB]:
    """One colour per channel for a whole run, from the full channel list (sorted): build it once from every channel
    in the data (``RegionContext.palette``) and pass it to every chart, so a channel has the same colour in every
    chart of every region's report. No channel gets the up/down colours (:data:`UP_COLOUR`, :data:`DOWN_COLOUR`) or
    the greys that mean "total", "actuals" or "other".

    >>> p = channel_palette(["web", "shop", "web"])
    >>> list(p), p["web"] == channel_palette(["shop", "web", "marketplace"])["web"]
    (['shop', 'web'], False)
    >>> len(set(channel_palette([f"c{i}" for i in range(25)]).values()))
    25
    """
    names = sorted({str(c) for c in channels})
    candidates = _channel_colours(len(names))
    return {name: candidates[i] for i, name in enumerate(names)}


def _channel_colours(n: int) -> list[RGB]:
    """``n`` distinct colours for channels: :data:`CHANNEL_COLOURS`, then evenly spaced hues, none of them close to
    the up/down colours (:data:`RESERVED_DISTANCE` apart in RGB) or to the greys."""
    signals = [mcolors.to_rgb(c) for c in (UP_COLOUR, DOWN_COLOUR)]
    greys = [mcolors.to_rgb(c) for c in NEUTRAL_COLOURS]

    def far(colour: RGB, others: list[RGB], distance: float) -> bool:
        return all(sum((a - b) ** 2 for a, b in zip(colour, other)) ** 0.5 >= distance for other in others)

    def allowed(colour: RGB) -> bool:
        return far(colour, signals, RESERVED_DISTANCE) and far(colour, greys, 0.2)

    chosen: list[RGB] = []
    for colour in (mcolors.to_rgb(c) for c in CHANNEL_COLOURS):
        if len(chosen) < n and allowed(colour):
            chosen.append(colour)
    size, spacing = max(n, 8), 0.3
    while len(chosen) < n:
        for colour in map(mcolors.to_rgb, sns.husl_palette(size, l=0.5) + sns.husl_palette(size, l=0.35)):
            if len(chosen) < n and allowed(colour) and far(colour, chosen, spacing):
                chosen.append(colour)
        size, spacing = size * 2, spacing / 2
    return chosen


def _channel_colour(channel: object, palette: Mapping[str, RGB]) -> RGB | str:
    """A channel's colour in ``palette``; a channel the palette lacks is drawn grey (and logged)."""
    key = str(channel)
    if key not in palette:
        log.warning("channel %r is not in the run's palette; drawn grey", key)
        return OTHER_COLOUR
    return palette[key]


def _run_palette(channels: Iterable[object], palette: Mapping[str, RGB] | None) -> Mapping[str, RGB]:
    """``palette`` (the run's, from :func:`channel_palette`), or for a chart drawn on its own one built from the
    channels it shows."""
    return palette if palette is not None else channel_palette(channels)


def _zero_line(ax: Axes, axis: str = "x") -> None:
    """A solid line at zero, so that negative values read as negative."""
    (ax.axvline if axis == "x" else ax.axhline)(0, color="#3b3b3b", linewidth=0.9, zorder=3)


def _value_limits(values: Iterable[float], headroom: float = 1.25) -> tuple[float, float]:
    """Axis limits that start at zero (or below it for negative values) with room for the value labels."""
    data = [float(v) for v in values if pd.notna(v)]
    low, high = min([0.0, *data]), max([0.0, *data])
    if low == high == 0.0:
        return 0.0, 1.0
    span = high - low
    return (low - (headroom - 1) * span if low < 0 else 0.0), (high + (headroom - 1) * span if high > 0 else 0.0)



class MonthTicks(mticker.Locator):
    """Ticks on month starts, every 1, 2, 3, 4, 6 or 12 months (aligned to January) so that at most ``maxticks``
    show; spans under ``min_months`` months fall back to matplotlib's AutoDateLocator. The same ticks the
    AutoDateLocator picks for monthly data, without its dateutil rrule search, which dominated the time to draw a
    grid of date axes.

    >>> lo, hi = mdates.date2num(pd.Timestamp("2023-01-01")), mdates.date2num(pd.Timestamp("2024-12-01"))
    >>> [mdates.num2date(t).strftime("%Y-%m") for t in MonthTicks().tick_values(lo, hi)][:3]
    ['2023-01', '2023-04', '2023-07']
    """

    STEPS = (1, 2, 3, 4, 6, 12, 24, 60)

    def __init__(self, maxticks: int = 10, min_months: int = 3) -> None:
        self.maxticks = maxticks
        self.min_months = min_months
        self._fallback = mdates.AutoDateLocator(minticks=4, maxticks=maxticks)

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self._fallback.set_axis(axis)

    def __call__(self) -> list[float]:
        lo, hi = self.axis.get_view_interval() if self.axis is not None else (0.0, 1.0)
        return self.tick_values(lo, hi)

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        vmin, vmax = sorted((vmin, vmax))
        start, end = mdates.num2date(vmin), mdates.num2date(vmax)
        months = (end.year - start.year) * 12 + end.month - start.month
        if months < self.min_months:
            return list(self._fallback.tick_values(vmin, vmax))
        step = next((s for s in self.STEPS if months // s + 1 <= self.maxticks), self.STEPS[-1])
        first = pd.Timestamp(year=start.year, month=1, day=1)
        ticks = pd.date_range(first, pd.Timestamp(end.replace(tzinfo=None)), freq=f"{step}MS")
        return [float(t) for t in mdates.date2num(ticks.to_pydatetime()) if vmin <= t <= vmax]


def _date_axis(axis, months: int | None = None, maxticks: int = 10) -> None:
    """Concise dates, at most ``maxticks`` ticks; with ``months`` (the months shown) up to 12, one tick per month."""
    locator: mticker.Locator = MonthTicks(maxticks=12 if months is not None and months <= 12 else maxticks)
    axis.set_major_locator(locator)
    axis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _money_axis(axis, currency: str) -> None:
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: money(v, currency, compact=True)))


def monthly_revenue_by_channel(frame: pd.DataFrame, currency: str, palette: Mapping[str, RGB] | None = None,
                               labels: Labels | None = None, months: tuple[DateLike, DateLike] | None = None,
                               partial_to: DateLike | None = None) -> Figure:
    """Monthly revenue, one line per channel. ``frame``: month, channel, revenue.

    Every month from ``months`` (first, last; default: the frame's first and last month) is drawn, a month in which
    a channel sold nothing as 0, never bridged. ``partial_to``: the last sale date when the last month is cut off
    (:func:`chanlib.periods.is_partial`); that month is drawn dashed with hollow markers and labelled "partial: sales
    to the 9th". With at most :data:`FEW_POINTS` months every point has a marker; a single month is drawn as bars.
    The revenue axis starts at zero.

    >>> frame = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-03-01"]), "channel": "web",
    ...                       "revenue": [5.0, 7.0]})
    >>> fig = monthly_revenue_by_channel(frame, "EUR")
    >>> [[float(y) for y in line.get_ydata()] for line in fig.axes[0].get_lines() if line.get_label() == "Web"]
    [[5.0, 0.0, 7.0]]
    """
    labels = labels or Labels()
    grid = _month_grid(frame, months)
    colours = _run_palette(grid.columns, palette)
    fig, ax = _figure()
    n = len(grid.index)
    partial_text = ""
    if partial_to is not None and n and grid.index[-1] == periods.period_start(partial_to, "month"):
        partial_text = f"partial: sales to the {ordinal(pd.Timestamp(partial_to).day)}"
    names = labels.channels_of(grid.columns)
    first, last = (periods.label(grid.index[0], "month"), periods.label(grid.index[-1], "month")) if n else ("", "")
    if n == 1:
        values = grid.iloc[0]
        bars = ax.bar(range(len(values)), values.to_numpy(), label=names,
                      color=[_channel_colour(c, colours) for c in grid.columns],
                      hatch="//" if partial_text else None, edgecolor="white")
        for patch, value in zip(bars, values):
            ax.annotate(money(value, currency, compact=True), (patch.get_x() + patch.get_width() / 2,
                                                                max(float(value), 0.0)),
                        xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
        ax.set_xticks(range(len(values)), names, rotation=30 if len(values) > 4 else 0,
                      ha="right" if len(values) > 4 else "center")
        ax.set_title(f"Revenue by channel, {first}" + (f" ({partial_text})" if partial_text else ""))
        ax.set_ylim(*_value_limits(values, 1.15))
        ax.grid(False, axis="x")
        shape = "Bars"
    else:
        marker = "o" if n <= FEW_POINTS else None
        for channel, name in zip(grid.columns, names):
            series, colour = grid[channel], _channel_colour(channel, colours)
            solid = series.iloc[:-1] if partial_text else series
            ax.plot(solid.index, solid.to_numpy(), color=colour, linewidth=1.8, marker=marker, markersize=4,
                    label=name)
            if partial_text:
                ax.plot(series.index[-2:], series.to_numpy()[-2:], color=colour, linewidth=1.6, linestyle="--",
                        marker="o", markevery=[1], markersize=5, markerfacecolor="white", label="_partial")
        if partial_text:
            ax.plot([], [], color="#57606a", linestyle="--", marker="o", markerfacecolor="white",
                    label=f"{last} ({partial_text})")
            ax.annotate(partial_text, (mdates.date2num(grid.index[-1]), 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, -2), textcoords="offset points", ha="right", va="top", fontsize=8,
                        color="#57606a")
        ax.set_ylim(*_value_limits(grid.to_numpy().ravel(), 1.08))
        _date_axis(ax.xaxis, months=n)
        ax.set_title("Monthly revenue by channel")
        ax.legend(title="Channel", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        shape = "Lines" + (" with a marker on every month" if marker else "")
    if float(grid.to_numpy().min(initial=0.0)) < 0:
        _zero_line(ax, "y")
    ax.set_xlabel("")
    ax.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax.yaxis, currency)
    span = first if n == 1 else f"from {first} to {last}"
    alt = (f"{ax.get_title()}. {shape} of revenue in {currency} for {len(names)} channel(s) ({', '.join(names)}), "
           f"{span}; the axis starts at zero and months without sales are drawn as zero.")
    if partial_text:
        alt += f" {last} is a partial month ({partial_text[len('partial: '):]}), drawn " + (
            "hatched." if n == 1 else "dashed.")
    fig.set_label(alt)
    return fig


def _month_grid(frame: pd.DataFrame, months: tuple[DateLike, DateLike] | None) -> pd.DataFrame:
    """Revenue per month (rows, every month of the span) and channel (columns, by total revenue, largest first),
    zero where a channel sold nothing."""
    data = frame.assign(month=pd.to_datetime(frame["month"]).dt.to_period("M").dt.to_timestamp())
    if months is None:
        if data.empty:
            return pd.DataFrame()
        months = (data["month"].min(), data["month"].max())
    index = pd.date_range(periods.period_start(months[0], "month"), periods.period_start(months[1], "month"),
                          freq="MS")
    grid = data.pivot_table(index="month", columns="channel", values="revenue", aggfunc="sum", fill_value=0.0)
    order = grid.sum().sort_values(ascending=False, kind="stable").index
    return grid.reindex(index=index, columns=order, fill_value=0.0).fillna(0.0).astype(float)


def channel_mix(frame: pd.DataFrame, currency: str, palette: Mapping[str, RGB] | None = None,
                labels: Labels | None = None) -> Figure:
    """Horizontal bars of each channel's share of revenue, from zero, each with its share and revenue.
    ``frame``: channel, revenue, share and optionally gross_revenue, returns
    (:func:`chanlib.analytics.kpi.channel_mix`): with returns, the share is of gross revenue and each bar says its
    gross revenue and returns; an undefined share (a region with only returns) is an empty bar labelled n/a. A
    negative share is drawn left of a zero line.

    >>> f = pd.DataFrame({"channel": ["web", "shop"], "revenue": [120.0, -20.0], "share": [1.2, -0.2]})
    >>> ax = channel_mix(f, "EUR").axes[0]
    >>> [(p.get_label(), round(float(p.get_width()), 2)) for p in ax.patches], bool(ax.get_xlim()[0] < -0.2)
    ([('Web', 1.2), ('Shop', -0.2)], True)
    """
    labels = labels or Labels()
    ordered = frame.sort_values("share", ascending=False)
    colours = _run_palette(frame["channel"], palette)
    names = labels.channels_of(ordered["channel"])
    fig, ax = _figure((9.0, 0.45 * max(len(frame), 3) + 1.2))
    bars = ax.barh(range(len(ordered)), ordered["share"].fillna(0.0).to_numpy(), label=names,
                   color=[_channel_colour(c, colours) for c in ordered["channel"]])
    ax.set_yticks(range(len(ordered)), names)
    ax.invert_yaxis()
    # with returns (chanlib.analytics.kpi.channel_mix: gross_revenue, returns) the share is of gross revenue
    returns = "returns" in ordered and bool((ordered["returns"] > 0).any())
    for patch, (_, row) in zip(bars, ordered.iterrows()):
        negative = row["share"] < 0
        share = "n/a" if pd.isna(row["share"]) else f"{row['share']:.0%}"
        text = f"{share}  {money(row['revenue'], currency, compact=True)}"
        if returns:
            text = (f"{share}  gross {money(row['gross_revenue'], currency, compact=True)}, returns "
                    f"{money(row['returns'], currency, compact=True)}")
        ax.annotate(text, (0.0 if pd.isna(row["share"]) else patch.get_width(),
                           patch.get_y() + patch.get_height() / 2), xytext=(-4 if negative else 4, 0),
                    textcoords="offset points", va="center", ha="right" if negative else "left", fontsize=9)
    what = "gross revenue" if returns else "revenue"
    ax.set_title(f"Channel mix (share of {what})")
    ax.set_xlabel(f"Share of {what}")
    ax.set_ylabel("")
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    low, high = _value_limits(ordered["share"], 1.35)
    ax.set_xlim(low, max(high, 0.1))
    if low < 0:
        _zero_line(ax)
    fig.set_label(f"Channel mix: bars of each channel's share of {what}, from zero. "
                  + "; ".join(f"{n} {'n/a' if pd.isna(s) else f'{s:.0%}'} ({money(r, currency, compact=True)})"
                              for n, s, r in zip(names, ordered["share"],
                                                 ordered["gross_revenue" if returns else "revenue"])) + ".")
    return fig


# --- channel evaluation (chanlib.analytics: product_fit, planning, period_evaluation) ------------------------------

def fit_heatmap(matrix: pd.DataFrame, labels: Labels | None = None) -> Figure:
    """Category x channel share index (:func:`chanlib.analytics.product_fit.fit_matrix`), coloured on a log scale
    around 1 with :data:`HEATMAP_CMAP` (blue: the channel sells more of the category than overall, red: less).

    >>> m = pd.DataFrame({"category": ["A", "A", "B", "B"], "channel": ["web", "shop"] * 2,
    ...                   "share_index": [2.0, 0.5, 0.5, 2.0]})
    >>> fit_heatmap(m).axes[0].get_title()
    'Product-channel fit (share index)'
    """
    import numpy as np

    labels = labels or Labels()
    pivot = matrix.pivot_table(index="category", columns="channel", values="share_index", aggfunc="first")
    fig, ax = _figure((max(6.0, 1.1 * pivot.shape[1] + 3.0), 0.45 * max(pivot.shape[0], 3) + 1.8))
    logged = np.log2(pivot.where(pivot > 0))
    limit = float(np.nanmax(np.abs(logged.to_numpy()))) if logged.notna().any().any() else 1.0
    limit = max(limit, 0.1)
    names = labels.channels_of(pivot.columns)
    sns.heatmap(logged.set_axis(names, axis=1), annot=pivot.set_axis(names, axis=1), fmt=".2f", center=0.0,
                vmin=-limit, vmax=limit, cmap=HEATMAP_CMAP, ax=ax, linewidths=0.5, linecolor="white",
                cbar_kws={"label": "share index\n(blue: above 1, red: below)",
                          "format": mticker.FuncFormatter(lambda v, _: f"{2 ** v:.2g}")})
    _finish_heatmap(ax, "Product-channel fit (share index)")
    fig.set_label(f"Product-channel fit: heat map of the share index of {pivot.shape[0]} categories (rows) in "
                  f"{len(names)} channels (columns: {', '.join(names)}); blue cells sell more of the category than "
                  "overall (index above 1), red cells less.")
    return fig


def white_space_bars(frame: pd.DataFrame, currency: str, palette: Mapping[str, RGB] | None = None,
                     labels: Labels | None = None) -> Figure:
    """Horizontal bars of headroom per region x channel cell (:func:`chanlib.analytics.planning.white_space`), from
    zero, coloured by channel.

    >>> f = pd.DataFrame({"region": ["N", "S"], "channel": ["web", "shop"], "headroom": [2e5, 1e5],
    ...                   "penetration": [0.0, 0.01], "benchmark_penetration": [0.03, 0.02]})
    >>> white_space_bars(f, "EUR").axes[0].get_xlabel()
    'Headroom (EUR)'
    """
    labels = labels or Labels()
    ordered = frame.sort_values("headroom", ascending=False).reset_index(drop=True)
    fig, ax = _figure((9.0, 0.45 * max(len(ordered), 3) + 1.2))
    names = [f"{r} · {labels.channel(c)}" for r, c in zip(ordered["region"], ordered["channel"])]
    colours = _run_palette(frame["channel"], palette)
    ax.barh(range(len(ordered)), ordered["headroom"].to_numpy(), label=names,
            color=[_channel_colour(c, colours) for c in ordered["channel"]])
    ax.set_yticks(range(len(ordered)), names)
    ax.invert_yaxis()
    for y, (_, row) in enumerate(ordered.iterrows()):
        ax.annotate(f"{money(row['headroom'], currency, compact=True)}: {row['penetration']:.1%} vs "
                    f"{row['benchmark_penetration']:.1%}",
                    (row["headroom"], y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_title("White space: headroom to the peer benchmark penetration")
    ax.set_xlabel(f"Headroom ({currency})")
    ax.set_ylabel("")
    _money_axis(ax.xaxis, currency)
    ax.set_xlim(0, max(float(ordered["headroom"].max()) * 1.45, 1.0) if len(ordered) else 1.0)
    fig.set_label("White space: bars of the headroom to the peer benchmark penetration, from zero, per region and "
                  "channel: " + "; ".join(f"{n} {money(h, currency, compact=True)}"
                                          for n, h in zip(names, ordered["headroom"])) + ".")
    return fig


def share_shift_waterfall(frame: pd.DataFrame, currency: str, base_label: str = "Base period",
                          current_label: str = "This period", labels: Labels | None = None) -> Figure:
    """Waterfall from the base period's revenue through the market growth and each channel's share shift to this
    period's revenue, for one region (:func:`chanlib.analytics.period_evaluation.share_shift_decomposition`).

    The revenue axis starts at zero (never cut), the two totals are grey bars labelled with their values, and the
    steps are :data:`UP_COLOUR` (increase) or :data:`DOWN_COLOUR` (decrease), never channel colours.

    >>> f = pd.DataFrame({"region": ["E", "E"], "channel": ["web", "shop"], "revenue": [150.0, 50.0],
    ...                   "revenue_base": [90.0, 70.0], "market_growth": [22.5, 17.5], "share_shift": [37.5, -37.5]})
    >>> ax = share_shift_waterfall(f, "EUR", "2024 Q4", "2025 Q4").axes[0]
    >>> len(ax.patches), float(ax.get_ylim()[0]), [t.get_text() for t in ax.texts]
    (5, 0.0, ['EUR 160', '+EUR 40', '+EUR 38', '-EUR 38', 'EUR 200'])
    """
    if frame["region"].nunique() > 1:
        raise ValueError("share_shift_waterfall draws one region; filter the frame first")
    labels = labels or Labels()
    base, current = float(frame["revenue_base"].sum()), float(frame["revenue"].sum())
    ordered = frame.reindex(frame["share_shift"].abs().sort_values(ascending=False, kind="stable").index)
    steps = [("Market growth", float(frame["market_growth"].sum()))]
    steps += [(f"Share shift: {labels.channel(c)}", float(m))
              for c, m in zip(ordered["channel"], ordered["share_shift"]) if m != 0]
    fig, ax = _figure((max(7.0, 0.8 * (len(steps) + 2) + 2.0), 4.6))
    names, level, levels = [base_label], base, [base, current]
    ax.bar(0, base, color=OTHER_COLOUR)
    ax.annotate(money(base, currency, compact=True), (0, max(base, 0.0)), xytext=(0, 3), textcoords="offset points",
                ha="center", fontsize=9, fontweight="bold")
    for i, (name, value) in enumerate(steps, start=1):
        ax.bar(i, value, bottom=level, color=UP_COLOUR if value >= 0 else DOWN_COLOUR)
        ax.annotate(("+" if value >= 0 else "") + money(value, currency, compact=True), (i, max(level, level + value)),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        level += value
        levels.append(level)
        names.append(name)
    ax.bar(len(steps) + 1, current, color=OTHER_COLOUR)
    ax.annotate(money(current, currency, compact=True), (len(steps) + 1, max(current, 0.0)), xytext=(0, 3),
                textcoords="offset points", ha="center", fontsize=9, fontweight="bold")
    names.append(current_label)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    low, high = _value_limits(levels, 1.12)
    ax.set_ylim(low, high)  # from zero: the totals' bars are drawn whole, so their heights compare
    if low < 0:
        _zero_line(ax, "y")
    ax.grid(False, axis="x")
    ax.legend(handles=[Rectangle((0, 0), 1, 1, color=UP_COLOUR, label="increase"),
                       Rectangle((0, 0), 1, 1, color=DOWN_COLOUR, label="decrease")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title("Revenue change: market growth and share shift")
    ax.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax.yaxis, currency)
    fig.set_label(f"Revenue change from {base_label} ({money(base, currency)}) to {current_label} "
                  f"({money(current, currency)}): a waterfall from zero with the region's market growth "
                  f"({money(steps[0][1], currency)}, the change at the base shares) and each channel's share shift"
                  + "".join(f"; {n.removeprefix('Share shift: ')} {money(v, currency)}" for n, v in steps[1:]) + ".")
    return fig



def metric_bars(frame: pd.DataFrame, column: str, title: str, kind: str = "percent", currency: str = "",
                reference: float | None = None, palette: Mapping[str, RGB] | None = None,
                labels: Labels | None = None) -> Figure:
    """Horizontal bars of one metric per channel (``frame``: channel, ``column``), from zero, each with its value,
    with an optional reference line (e.g. 100 % target attainment). Negative values (a negative ROI) are drawn left
    of a zero line. ``kind``: percent, money or number.

    >>> f = pd.DataFrame({"channel": ["web", "shop"], "channel_roi": [1.1, -0.3]})
    >>> ax = metric_bars(f, "channel_roi", "Channel ROI").axes[0]
    >>> ax.get_title(), bool(ax.get_xlim()[0] < -0.3 < 0 < 1.1 < ax.get_xlim()[1])
    ('Channel ROI', True)
    """
    labels = labels or Labels()
    shown = frame.dropna(subset=[column]).sort_values(column, ascending=False)
    fig, ax = _figure((9.0, 0.45 * max(len(shown), 3) + 1.2))
    colours = _run_palette(frame["channel"], palette)
    names = labels.channels_of(shown["channel"])
    ax.barh(range(len(shown)), shown[column].to_numpy(), label=names,
            color=[_channel_colour(c, colours) for c in shown["channel"]])
    ax.set_yticks(range(len(shown)), names)
    ax.invert_yaxis()
    label = {"percent": lambda v: f"{v:.0%}", "money": lambda v: money(v, currency, compact=True),
             "number": lambda v: f"{v:,.1f}"}[kind]
    for y, value in enumerate(shown[column]):
        ax.annotate(label(value), (value, y), xytext=(4 if value >= 0 else -4, 0), textcoords="offset points",
                    va="center", ha="left" if value >= 0 else "right", fontsize=9)
    if reference is not None:
        ax.axvline(reference, color="#57606a", linestyle="--", linewidth=1)
    if kind == "percent":
        ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    elif kind == "money":
        _money_axis(ax.xaxis, currency)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    low, high = _value_limits(shown[column], 1.3)
    ax.set_xlim(low, max(high, (reference or 0) * 1.1, 1e-9))
    if low < 0:
        _zero_line(ax)
    fig.set_label(f"{title}: bars per channel, from zero" + (f", with a dashed line at {label(reference)}"
                                                             if reference is not None else "") + ". "
                  + "; ".join(f"{n} {label(v)}" for n, v in zip(names, shown[column])) + ".")
    return fig


# -- segmentation (chanlib.analytics.segment) -----------------------------------------------------------------------

def _segment_label(frame: pd.DataFrame) -> pd.Series:
    return frame["segment_id"].astype(int).astype(str) + " · " + frame["segment_name"].astype(str)


def _segment_colours(frame: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """A colour per segment label keyed by segment id, so segment 2 has one colour in every chart and region."""
    colours = sns.color_palette(PALETTE, n_colors=10)
    labels = frame.drop_duplicates("segment_id").assign(label=_segment_label)
    return {row.label: colours[(int(row.segment_id) - 1) % len(colours)] for row in labels.itertuples()}


def segment_sizes(sizes: pd.DataFrame) -> Figure:
    """Horizontal bars of partners per segment, annotated with the share of revenue.

    ``sizes``: segment_id, segment_name, partners and optionally revenue_share
    (:func:`chanlib.analytics.segment.region_sizes`).
    """
    ordered = sizes.sort_values("segment_id").assign(label=lambda f: _segment_label(f))
    fig, ax = _figure((9.0, 0.5 * max(len(ordered), 3) + 1.2))
    sns.barplot(data=ordered, y="label", x="partners", hue="label", legend=False, ax=ax, orient="h",
                palette=_segment_colours(ordered))
    for patch, (_, row) in zip(_bars(ax), ordered.iterrows()):
        text = f"{int(row['partners'])}"
        if "revenue_share" in row and pd.notna(row["revenue_share"]):
            text += f"  ({row['revenue_share']:.0%} of revenue)"
        ax.annotate(text, (patch.get_width(), patch.get_y() + patch.get_height() / 2), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=9)
    ax.set_title("Partners per segment")
    ax.set_xlabel("Partners")
    ax.set_ylabel("")
    ax.set_xlim(0, max(float(ordered["partners"].max()) * 1.45, 1))
    fig.set_label("Partners per segment: bars of the number of partners in each segment, from zero: "
                  + "; ".join(f"{label} {int(n)}" for label, n in zip(ordered["label"], ordered["partners"])) + ".")
    return fig


def segment_map(points: pd.DataFrame, region: str | None = None) -> Figure:
    """Partners on the first two principal components of their scaled features, coloured by segment.

    ``points``: partner_id, region, segment_id, segment_name, pc1, pc2. With ``region`` that region's partners are
    coloured and all others drawn in light grey behind them, so a region is seen against the whole.
    """
    fig, ax = _figure((9.0, 5.2))
    labelled = points.assign(label=_segment_label(points))
    colours = _segment_colours(labelled)
    shown = labelled
    if region is not None:
        others = labelled[labelled["region"] != region]
        ax.scatter(others["pc1"], others["pc2"], s=10, color="#d0d7de", alpha=0.6, linewidths=0,
                   label="other regions" if len(others) else None)
        shown = labelled[labelled["region"] == region]
    for label, part in shown.groupby("label", sort=True):
        ax.scatter(part["pc1"], part["pc2"], s=22, color=colours[label], alpha=0.85, linewidths=0,
                   label=f"{label} ({len(part)})")
    ax.set_title("Partners by segment (principal components of their features)")
    ax.set_xlabel("Component 1")
    ax.set_ylabel("Component 2")
    ax.legend(title="Segment", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.set_label(f"Partners by segment: a scatter of {len(shown)} partners on the first two principal components "
                  "of their features, coloured by segment"
                  + (f", with the partners of other regions in light grey behind those of {region}" if region else "")
                  + ". Partners close together behave alike.")
    return fig


def segment_profile(deviations: pd.DataFrame, names: dict[int, str] | None = None) -> Figure:
    """Heat map of how each segment's centre differs from all partners, per feature, in robust units (IQRs), with
    :data:`HEATMAP_CMAP` (blue: above all partners, red: below).

    ``deviations``: segment_id and one column per feature (:attr:`chanlib.analytics.segment.SegmentResult.deviations`).
    """
    frame = deviations.set_index("segment_id") if "segment_id" in deviations.columns else deviations
    frame = frame.sort_index()
    if names:
        frame.index = [f"{i} · {names.get(i, '')}" for i in frame.index]
    frame.columns = [Labels().column(c) for c in frame.columns]
    fig, ax = _figure((9.0, 0.55 * max(len(frame), 3) + 1.6))
    limit = max(float(frame.abs().to_numpy().max()) if frame.size else 1.0, 1.0)
    sns.heatmap(frame, ax=ax, cmap=HEATMAP_CMAP, center=0, vmin=-limit, vmax=limit, annot=True, fmt=".1f",
                cbar_kws={"label": "IQRs vs all partners\n(blue: above, red: below)"}, linewidths=0.5)
    _finish_heatmap(ax, "Segment profiles: difference from all partners")
    fig.set_label(f"Segment profiles: heat map of how each of {len(frame)} segments (rows) differs from all partners "
                  f"in {frame.shape[1]} features (columns: {', '.join(map(str, frame.columns))}), in IQRs; blue "
                  "cells are above all partners, red cells below.")
    return fig


def abc_xyz_heatmap(matrix: pd.DataFrame, what: str = "partners", value: str = "revenue") -> Figure:
    """The ABC x XYZ matrix: each cell's share of revenue (colour: the blue half of :data:`HEATMAP_CMAP`, bluer is
    more, as in every heat map) with its count of items.

    ``matrix``: abc, xyz, items, value_share (:func:`chanlib.analytics.segment.abc_xyz_matrix`, one group).
    """
    share = matrix.pivot_table(index="abc", columns="xyz", values="value_share", aggfunc="sum", fill_value=0.0)
    items = matrix.pivot_table(index="abc", columns="xyz", values="items", aggfunc="sum", fill_value=0)
    annot = items.astype(int).astype(str) + "\n" + (share * 100).round(0).astype(int).astype(str) + "%"
    fig, ax = _figure((6.5, 4.2))
    sns.heatmap(share, ax=ax, cmap=heatmap_upper_half(), vmin=0, vmax=max(float(share.to_numpy().max()), 0.01),
                annot=annot, fmt="", linewidths=0.5,
                cbar_kws={"label": f"share of {value} (bluer: more)", "format": mticker.PercentFormatter(1.0)})
    ax.set_title(f"ABC x XYZ of {what} (count, share of {value})")
    ax.set_xlabel("XYZ: variability of monthly demand (X steady .. Z erratic)")
    ax.set_ylabel("ABC: share of revenue (A top)")
    ax.tick_params(axis="y", rotation=0)
    ax.grid(False)
    fig.set_label(f"ABC x XYZ of {what}: heat map with ABC classes by share of {value} as rows (A top) and XYZ "
                  f"classes by variability of monthly demand as columns (X steady, Z erratic); each cell gives the "
                  f"count of {what} and their share of {value}, bluer cells hold more.")
    return fig


def forecast_panels(actuals: pd.DataFrame, forecasts: pd.DataFrame, currency: str, level: int = 80,
                    history_months: int = 24, ncols: int = 2, palette: Mapping[str, RGB] | None = None,
                    labels: Labels | None = None, title: str | None = None) -> Figure:
    """One panel per series: recent actuals, the forecast and its ``level`` % interval. ``title``: the figure's
    title (default: monthly revenue, for the run's hierarchy forecasts).

    ``actuals``: unique_id, ds, y; ``forecasts``: unique_id, ds, yhat, lo_<level>, hi_<level>. Panels follow the
    order of the ids in ``forecasts``; the title of a panel is the last part of its id (``North/web`` -> ``Web``).
    A channel's forecast has the channel's colour; a series that is not a channel (``North``) is grey.

    >>> a = pd.DataFrame({"unique_id": "N", "ds": pd.date_range("2024-01-01", periods=6, freq="MS"), "y": range(6)})
    >>> f = pd.DataFrame({"unique_id": "N", "ds": pd.date_range("2024-07-01", periods=3, freq="MS"),
    ...                   "yhat": [6.0, 7, 8], "lo_80": [5.0, 5, 6], "hi_80": [7.0, 9, 10]})
    >>> len(forecast_panels(a, f, "EUR").axes)
    1
    """
    labels = labels or Labels()
    ids = list(dict.fromkeys(forecasts["unique_id"]))
    nrows = max(1, -(-len(ids) // ncols))
    cols = min(ncols, max(len(ids), 1))
    sns.set_theme(style="whitegrid", palette=PALETTE, rc=STYLE)
    # fixed spacing instead of a layout engine (chanlib.report.display.figure crops the margins): the constrained
    # layout of a grid of date axes costs most of a region report's chart time
    fig = Figure(figsize=(4.6 * cols, 2.9 * nrows))
    axes = fig.subplots(nrows, cols, squeeze=False,
                        gridspec_kw={"wspace": 0.3, "hspace": 0.55, "top": 1 - 0.8 / (2.9 * nrows)}).ravel()
    channels = [uid.rsplit("/", 1)[-1] for uid in ids if "/" in uid]
    colours = _run_palette(channels, palette)
    titles = []
    for ax, uid in zip(axes, ids):
        channel = uid.rsplit("/", 1)[-1] if "/" in uid else None
        name = labels.channel(channel) if channel is not None else uid
        colour = _channel_colour(channel, colours) if channel is not None else OTHER_COLOUR
        past = actuals[actuals["unique_id"] == uid].sort_values("ds")
        past = past[past["ds"] > past["ds"].max() - pd.DateOffset(months=history_months)]
        ahead = forecasts[forecasts["unique_id"] == uid].sort_values("ds")
        ax.plot(past["ds"], past["y"], color="#3b3b3b", linewidth=1.4, label="actual")
        ax.plot(ahead["ds"], ahead["yhat"], color=colour, linewidth=1.8, label="forecast")
        if f"lo_{level}" in ahead:
            ax.fill_between(ahead["ds"], ahead[f"lo_{level}"], ahead[f"hi_{level}"], color=colour, alpha=0.25,
                            linewidth=0, label=f"{level}% interval")
        ax.set_title(name)
        titles.append(name)
        ax.set_xlabel("")
        ax.set_ylabel("")
        _money_axis(ax.yaxis, currency)
        _date_axis(ax.xaxis, maxticks=6)
    for ax in axes[len(ids):]:
        ax.set_visible(False)
    if ids:
        axes[0].legend(loc="upper left", fontsize=8)
    title = title or f"Monthly revenue: actuals and forecast ({currency})"
    fig.suptitle(title, fontweight="bold", y=1 - 0.15 / (2.9 * nrows), va="top")
    fig.set_label(f"{title}. One panel per series ({', '.join(titles)}): "
                  f"the last {history_months} months of actuals as a dark line, then the forecast with its {level}% "
                  "interval as a band.")
    return fig


def accuracy_history(frame: pd.DataFrame) -> Figure:
    """sMAPE of earlier builds' forecasts per level, by the build's cutoff (``frame``: cutoff, level, smape). Levels
    are greys with their own marker, never channel colours.

    >>> f = pd.DataFrame({"cutoff": pd.to_datetime(["2025-06-30", "2025-09-30"] * 2),
    ...                   "level": ["total"] * 2 + ["region"] * 2, "smape": [4.0, 5.0, 8.0, 7.0]})
    >>> accuracy_history(f).axes[0].get_ylabel()
    'sMAPE (%)'
    """
    fig, ax = _figure((9.0, 3.6))
    levels = list(dict.fromkeys(frame["level"]))
    styles = [("#1f2328", "o"), ("#57606a", "s"), ("#8c959f", "^"), ("#afb8c1", "D")]
    for i, level in enumerate(levels):
        part = frame[frame["level"] == level].sort_values("cutoff")
        colour, marker = styles[i % len(styles)]
        ax.plot(part["cutoff"], part["smape"], marker=marker, color=colour, label=readable(level))
    ax.set_title("Forecast accuracy of earlier runs, by the month they were made")
    ax.set_xlabel("")
    ax.set_ylabel("sMAPE (%)")
    ax.set_ylim(bottom=0)
    ax.legend(title="Level", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _date_axis(ax.xaxis)
    fig.set_label("Forecast accuracy of earlier runs: lines of sMAPE (%) by the month each run was made, one per "
                  f"level ({', '.join(readable(v) for v in levels)}); lower is better.")
    return fig


# -- the workbench: explorer and overview (chanlib.report.explorer, chanlib.report.overview) ------------------------

def _kind_axis(axis, kind: str, currency: str) -> None:
    """Tick labels of a metric's kind: percent (of 1), money (compact, with the currency) or plain numbers."""
    if kind in ("percent", "points"):
        axis.set_major_formatter(mticker.PercentFormatter(1.0))
    elif kind == "money":
        _money_axis(axis, currency)
    else:
        axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.4g}"))


def metric_over_time(frame: pd.DataFrame, metric_label: str, kind: str, currency: str, grain: str, title: str,
                     palette: Mapping[str, RGB] | None = None, labels: Labels | None = None,
                     total: str | None = None, partial_to: DateLike | None = None) -> Figure:
    """One metric per period (month, quarter or year), one line per channel. ``frame``: period (the period's first
    day), channel, value; every period of the frame is on the axis and a channel without a value there is a gap
    (the caller fills additive metrics with 0). The series named ``total`` (e.g. "All channels") is drawn dark grey
    and dashed, never in a channel colour. ``kind``: money, percent, points or number (the metric's unit, see
    :mod:`chanlib.analytics.definitions`). With ``partial_to`` (the last sale date, when the last period is cut
    off) the last period's points are hollow and the legend says so. A single period is drawn as bars; the value
    axis starts at zero unless a value is negative.

    >>> f = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2), "channel": ["web"] * 2 +
    ...                   ["All channels"] * 2, "value": [1.0, 2.0, 3.0, 4.0]})
    >>> fig = metric_over_time(f, "Revenue", "money", "EUR", "month", "Revenue: East", total="All channels")
    >>> fig.axes[0].get_title(), [line.get_label() for line in fig.axes[0].get_lines()]
    ('Revenue: East', ['All channels', 'Web'])
    """
    labels = labels or Labels()
    frame = frame.assign(period=pd.to_datetime(frame["period"]))
    grid = frame.pivot_table(index="period", columns="channel", values="value", aggfunc="first", dropna=False)
    grid = grid.reindex(sorted(frame["period"].unique()))
    channel_names = [c for c in grid.columns if c != total]
    colours = _run_palette(channel_names, palette)
    fig, ax = _figure()
    order = ([total] if total is not None and total in grid.columns else []) + channel_names
    n = len(grid.index)
    partial = ""
    if partial_to is not None and n and grid.index[-1] == periods.period_start(partial_to, grain):
        partial = f"{periods.label(grid.index[-1], grain)} partial: sales to {pd.Timestamp(partial_to).date()}"
    if n == 1:
        values = grid.iloc[0].reindex(order)
        shown = [labels.channel(c) if c != total else str(c) for c in order]
        bars = ax.bar(range(len(order)), values.fillna(0.0).to_numpy(),
                      color=[OTHER_COLOUR if c == total else _channel_colour(c, colours) for c in order],
                      hatch="//" if partial else None, edgecolor="white")
        text = {"money": lambda v: money(v, currency, compact=True), "percent": lambda v: f"{v:.1%}",
                "points": lambda v: f"{v:.1%}"}.get(kind, lambda v: f"{v:,.4g}")
        for patch, value in zip(bars, values):
            ax.annotate("n/a" if pd.isna(value) else text(float(value)),
                        (patch.get_x() + patch.get_width() / 2, max(float(value) if pd.notna(value) else 0.0, 0.0)),
                        xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
        ax.set_xticks(range(len(order)), shown, rotation=30 if len(order) > 4 else 0,
                      ha="right" if len(order) > 4 else "center")
        ax.grid(False, axis="x")
        shape = "Bars"
    else:
        marker = "o" if n <= FEW_POINTS else None
        for channel in order:
            series = grid[channel]
            dark = channel == total
            name = str(channel) if dark else labels.channel(channel)
            colour = "#3b3b3b" if dark else _channel_colour(channel, colours)
            width = 1.6 if dark else 1.8
            solid = series.iloc[:-1] if partial else series
            ax.plot(solid.index, solid.to_numpy(), marker=marker, markersize=4, label=name, color=colour,
                    linestyle="--" if dark else "-", linewidth=width)
            if partial:
                ax.plot(series.index[-2:], series.to_numpy()[-2:], marker="o", markevery=[1], markersize=5,
                        markerfacecolor="white", label="_partial", color=colour, linestyle=":", linewidth=width)
        if partial:
            ax.plot([], [], color="#57606a", linestyle=":", marker="o", markerfacecolor="white", label=partial)
        _date_axis(ax.xaxis, months=n if grain == "month" else None)
        ax.legend(title="Channel", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        shape = "Lines" + (" with a marker on every period" if marker else "")
    values = grid.to_numpy().ravel()
    low, high = _value_limits(values, 1.08)
    ax.set_ylim(low, high)
    if low < 0:
        _zero_line(ax, "y")
    ax.set_title(title)
    ax.set_xlabel("")
    unit = f" ({currency})" if kind == "money" else ""
    ax.set_ylabel(f"{metric_label}{unit}")
    _kind_axis(ax.yaxis, kind, currency)
    span = (periods.label(grid.index[0], grain) + ("" if n == 1 else f" to {periods.label(grid.index[-1], grain)}")
            if n else "no periods")
    shown_names = [str(c) if c == total else labels.channel(c) for c in order]
    alt = (f"{title}. {shape} of {metric_label}{unit} per {grain} from {span} for {', '.join(shown_names)}"
           + (f", {total} dashed grey" if total in order else "") + "; the axis starts at zero.")
    if partial:
        alt += f" {partial}."
    fig.set_label(alt)
    return fig


def growth_heatmap(frame: pd.DataFrame, title: str, labels: Labels | None = None) -> Figure:
    """Region x channel heat map of growth (``frame``: region, channel, growth as a ratio, NaN where it is not
    shown), with :data:`HEATMAP_CMAP` centred on zero (blue: grew, red: shrank); each cell is labelled with its
    growth, "n/a" on a light grey cell where growth is not shown.

    >>> f = pd.DataFrame({"region": ["E", "E", "W"], "channel": ["web", "shop", "web"], "growth": [0.1, -0.2, None]})
    >>> ax = growth_heatmap(f, "Growth").axes[0]
    >>> ax.get_title(), sorted(t.get_text() for t in ax.texts)
    ('Growth', ['+10%', '-20%', 'n/a', 'n/a'])
    """
    import numpy as np

    labels = labels or Labels()
    grid = frame.pivot_table(index="region", columns="channel", values="growth", aggfunc="first", dropna=False)
    grid = grid.reindex(index=sorted(frame["region"].unique()), columns=sorted(frame["channel"].unique()))
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    limit = max(float(np.abs(finite).max()) if finite.size else 0.1, 0.05)
    annot = np.vectorize(lambda v: "n/a" if not np.isfinite(v) else f"{v:+.0%}")(values) if values.size else values
    names = labels.channels_of(grid.columns)
    fig, ax = _figure((max(6.0, 1.1 * grid.shape[1] + 3.0), 0.45 * max(grid.shape[0], 3) + 1.8))
    ax.set_facecolor(NEUTRAL_COLOURS[3])  # the grey behind the cells without growth
    sns.heatmap(grid.set_axis(names, axis=1), annot=annot, fmt="", center=0.0, vmin=-limit, vmax=limit,
                cmap=HEATMAP_CMAP, ax=ax, linewidths=0.5, linecolor="white",
                cbar_kws={"label": "growth (blue: grew, red: shrank)", "format": mticker.PercentFormatter(1.0)})
    for i, j in zip(*np.nonzero(~np.isfinite(values))):  # seaborn leaves the cells without a value blank
        ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize=9, color="#57606a")
    _finish_heatmap(ax, title)
    ax.tick_params(axis="y", rotation=0)
    fig.set_label(f"{title}: heat map of {grid.shape[0]} regions (rows) by {len(names)} channels (columns: "
                  f"{', '.join(names)}); blue cells grew, red cells shrank, grey cells marked n/a have too little "
                  "data for a growth figure.")
    return fig


def movers_bars(frame: pd.DataFrame, currency: str, title: str, labels: Labels | None = None) -> Figure:
    """Horizontal bars of the revenue change of region x channel cells (``frame``: region, channel, change), the
    increases in :data:`UP_COLOUR` and the decreases in :data:`DOWN_COLOUR` (never channel colours), largest
    increase on top, from a zero line.

    >>> f = pd.DataFrame({"region": ["E", "W"], "channel": ["web", "shop"], "change": [120.0, -80.0]})
    >>> ax = movers_bars(f, "EUR", "Movers").axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()], [t.get_text() for t in ax.texts]
    (['E · Web', 'W · Shop'], ['+EUR 120', '-EUR 80'])
    """
    labels = labels or Labels()
    ordered = frame.sort_values("change", ascending=False, kind="stable").reset_index(drop=True)
    names = [f"{r} · {labels.channel(c)}" for r, c in zip(ordered["region"], ordered["channel"])]
    fig, ax = _figure((9.0, 0.42 * max(len(ordered), 3) + 1.3))
    changes = ordered["change"].astype(float).to_numpy()
    ax.barh(range(len(ordered)), changes, color=[UP_COLOUR if v >= 0 else DOWN_COLOUR for v in changes])
    ax.set_yticks(range(len(ordered)), names)
    ax.invert_yaxis()
    for y, value in enumerate(changes):
        ax.annotate(("+" if value >= 0 else "") + money(value, currency, compact=True), (value, y),
                    xytext=(4 if value >= 0 else -4, 0), textcoords="offset points", va="center",
                    ha="left" if value >= 0 else "right", fontsize=9)
    low, high = _value_limits(changes, 1.35)
    ax.set_xlim(low, high)
    _zero_line(ax)
    ax.set_title(title)
    ax.set_xlabel(f"Change in revenue ({currency})")
    ax.set_ylabel("")
    _money_axis(ax.xaxis, currency)
    ax.grid(False, axis="y")
    fig.set_label(f"{title}: bars of the change in revenue per region and channel from a zero line, increases "
                  "green, decreases wine: " + "; ".join(f"{n} {money(v, currency, compact=True)}"
                                                        for n, v in zip(names, changes)) + ".")
    return fig


def region_forecast_bars(frame: pd.DataFrame, currency: str, period_label: str, base_label: str) -> Figure:
    """Per region, the forecast of one period (dark bars) beside the actual revenue of a base period (light grey
    bars), from zero, each forecast bar labelled with its change. ``frame``: region, forecast, base (NaN: no base).
    Regions are not channels: both colours are greys.

    >>> f = pd.DataFrame({"region": ["E", "W"], "forecast": [110.0, 90.0], "base": [100.0, float("nan")]})
    >>> ax = region_forecast_bars(f, "EUR", "2026 Q1", "2025 Q1").axes[0]
    >>> [t.get_text() for t in ax.texts]
    ['+10.0%', 'n/a']
    """
    import numpy as np

    ordered = frame.sort_values("forecast", ascending=False, kind="stable").reset_index(drop=True)
    fig, ax = _figure((9.0, 0.5 * max(len(ordered), 3) + 1.4))
    y = np.arange(len(ordered))
    height = 0.38
    ax.barh(y - height / 2, ordered["base"].fillna(0.0).to_numpy(), height, color=NEUTRAL_COLOURS[3],
            label=f"{base_label} (actual)")
    ax.barh(y + height / 2, ordered["forecast"].to_numpy(), height, color=NEUTRAL_COLOURS[1],
            label=f"{period_label} (forecast)")
    for i, row in ordered.iterrows():
        base = row["base"]
        text = "n/a" if pd.isna(base) or base <= 0 else f"{row['forecast'] / base - 1:+.1%}"
        ax.annotate(text, (max(float(row["forecast"]), 0.0), int(str(i)) + height / 2), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=9)
    ax.set_yticks(y, ordered["region"].astype(str).tolist())
    ax.invert_yaxis()
    low, high = _value_limits(list(ordered["forecast"]) + list(ordered["base"].fillna(0.0)), 1.25)
    ax.set_xlim(low, high)
    ax.set_title(f"Forecast for {period_label} by region, against {base_label}")
    ax.set_xlabel(f"Revenue ({currency})")
    ax.set_ylabel("")
    _money_axis(ax.xaxis, currency)
    ax.grid(False, axis="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.set_label(f"Forecast for {period_label} by region: dark bars of the forecast revenue beside light grey bars "
                  f"of the actual revenue in {base_label}, from zero: "
                  + "; ".join(f"{r} {money(f, currency, compact=True)}" for r, f in
                              zip(ordered["region"], ordered["forecast"])) + ".")
    return fig


# -- partners (chanlib.analytics.partners) --------------------------------------------------------------------------

#: the colour of each partner action: eliminate and watch in the "down" colours, upgrade in the "up" colour
ACTION_COLOURS: dict[str, str] = {"eliminate": DOWN_COLOUR, "watch": "#ddaa33", "upgrade": UP_COLOUR,
                                  "keep": OTHER_COLOUR}


def partner_scores(frame: pd.DataFrame, thresholds: list[float], tiers: list[str], watch_score: float,
                   labels: Labels | None = None) -> Figure:
    """Every partner's score (0-100) as a dot on its channel's row, coloured by its action, with dashed lines at
    the tier thresholds and a dotted one at the watch line (``frame``: channel, score, action).

    >>> f = pd.DataFrame({"channel": ["web", "web", "shop"], "score": [20.0, 70.0, 55.0],
    ...                   "action": ["watch", "upgrade", "keep"]})
    >>> ax = partner_scores(f, [40, 60], ["bronze", "silver", "gold"], 30).axes[0]
    >>> tuple(map(float, ax.get_xlim())), [t.get_text() for t in ax.get_yticklabels()]
    ((0.0, 100.0), ['Shop', 'Web'])
    """
    import numpy as np

    labels = labels or Labels()
    shown = frame.dropna(subset=["score"])
    channels = sorted(shown["channel"].astype(str).unique())
    fig, ax = _figure((9.0, 0.55 * max(len(channels), 3) + 1.6))
    row = {c: i for i, c in enumerate(channels)}
    jitter = np.random.default_rng(0).uniform(-0.18, 0.18, len(shown))  # fixed: the same picture every run
    for action, colour in ACTION_COLOURS.items():
        part = shown["action"] == action
        if part.any():
            ax.scatter(shown.loc[part, "score"], [row[str(c)] + j for c, j in zip(shown.loc[part, "channel"],
                                                                                  jitter[part.to_numpy()])],
                       color=colour, s=36, label=f"{action} ({int(part.sum())})", edgecolor="white", linewidth=0.5)
    for threshold, tier in zip(thresholds, tiers[1:]):
        ax.axvline(threshold, color=NEUTRAL_COLOURS[2], linestyle="--", linewidth=1)
        ax.annotate(tier, (threshold, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                    textcoords="offset points", va="top", fontsize=8, color=NEUTRAL_COLOURS[2])
    ax.axvline(watch_score, color=DOWN_COLOUR, linestyle=":", linewidth=1)
    ax.annotate("watch", (watch_score, 1.0), xycoords=("data", "axes fraction"), xytext=(-3, -2),
                textcoords="offset points", va="top", ha="right", fontsize=8, color=DOWN_COLOUR)
    ax.set_yticks(range(len(channels)), labels.channels_of(channels))
    ax.set_ylim(len(channels) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Score (0-100; 50 = the peers' median)")
    ax.set_title("Partner scores by channel")
    ax.grid(False, axis="y")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="Action", title_fontsize=8)
    counts = shown["action"].value_counts()
    lines = ", ".join(f"{t} {v:g}" for t, v in zip(tiers[1:], thresholds))
    fig.set_label("Partner scores by channel: a dot per partner on its channel's row, from 0 to 100, coloured by "
                  f"action, with dashed lines at the tier thresholds ({lines}) and a dotted line at the watch line "
                  f"{watch_score:g}: " + "; ".join(f"{a} {int(counts.get(a, 0))}" for a in ACTION_COLOURS) + ".")
    return fig


#: alert metrics drawn as percentages of 1 (the others as money when they are revenue, else as numbers)
ALERT_PERCENT_METRICS = ("target_attainment", "margin_pct", "top_partner_share", "shared_customer_share")


def alert_chart(series: pd.DataFrame, alert: Mapping[str, object], currency: str = "",
                labels: Labels | None = None) -> Figure:
    """One alert's series, small: the values (a dark line), the expected value (dashed) and its range (a grey
    band) or the alert's threshold (dotted), and the point that fired (a ring, wine when it is below what was
    expected, green above). ``series``: ds, value and any of expected, expected_lo, expected_hi, threshold;
    ``alert``: rule, entity, metric, ds (and optionally a ``title``).

    >>> s = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=5), "value": [10.0, 11, 2, 10, 12],
    ...                   "expected": 10.0, "expected_lo": 6.0, "expected_hi": 14.0})
    >>> fig = alert_chart(s, {"rule": "point_anomaly", "entity": "North / web", "metric": "revenue",
    ...                       "ds": "2025-01-03"}, "EUR")
    >>> fig.axes[0].get_title(), fig.get_label()[:40]
    ('Anomaly: North / web', 'Anomaly: North / web. Revenue (EUR) from')
    """
    from chanlib.report.narrative import alert_rule_label

    frame = series.assign(ds=pd.to_datetime(series["ds"])).sort_values("ds")
    fired = pd.Timestamp(str(alert.get("ds")))
    metric = str(alert.get("metric", ""))
    title = str(alert.get("title") or f"{alert_rule_label(alert.get('rule'))}: {alert.get('entity', '')}")
    fig, ax = _figure((7.2, 2.9))
    has_band = ({"expected_lo", "expected_hi"} <= set(frame)
                and bool(frame[["expected_lo", "expected_hi"]].notna().any().any()))
    if has_band:
        ax.fill_between(frame["ds"], frame["expected_lo"], frame["expected_hi"], color=NEUTRAL_COLOURS[3], alpha=0.6,
                        linewidth=0, label="expected range")
    if "expected" in frame and frame["expected"].notna().any():
        ax.plot(frame["ds"], frame["expected"], color=OTHER_COLOUR, linestyle="--", linewidth=1.2, label="expected")
    if "threshold" in frame and frame["threshold"].notna().any():
        ax.plot(frame["ds"], frame["threshold"], color=NEUTRAL_COLOURS[2], linestyle=":", linewidth=1.4,
                drawstyle="steps-post", label="threshold")
    ax.plot(frame["ds"], frame["value"], color=NEUTRAL_COLOURS[1], linewidth=1.5, marker="o" if len(frame) <= 24
            else None, markersize=3, label="actual")
    point = frame[frame["ds"] == fired]
    if len(point):
        row = point.iloc[-1]
        reference = row.get("expected") if pd.notna(row.get("expected")) else row.get("threshold")
        below = pd.notna(reference) and float(row["value"]) < float(reference)
        ax.scatter([row["ds"]], [row["value"]], s=90, facecolors="none", linewidths=2.2, zorder=5,
                   edgecolors=DOWN_COLOUR if below or pd.isna(reference) else UP_COLOUR, label="fired")
    if metric in ALERT_PERCENT_METRICS:
        ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
        unit = "share"
    elif metric == "revenue":
        _money_axis(ax.yaxis, currency)
        unit = f"{readable(metric)} ({currency})" if currency else readable(metric)
    else:
        unit = readable(metric)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel(unit if metric != "revenue" else f"Revenue ({currency})" if currency else "Revenue")
    _date_axis(ax.xaxis)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    span = (f"from {frame['ds'].min().date()} to {frame['ds'].max().date()}" if len(frame) else "with no data")
    extra = ("; the grey band is the expected range" if has_band else "") + (
        "; the dotted line is the alert's threshold" if "threshold" in frame and frame["threshold"].notna().any()
        else "")
    fig.set_label(f"{title}. {unit[:1].upper() + unit[1:]} {span} as a dark line{extra}; the ring marks "
                  f"{fired.date()}, the point that raised the alert.")
    return fig


# -- customers (issue 12) -----------------------------------------------------------------------------------------

def rfm_channel_mix(frame: pd.DataFrame, labels: Labels | None = None) -> Figure:
    """Each channel's customers split by RFM segment: one 100 % bar per channel (in the frame's order), a block per
    segment from the best (blue) to the worst (red, :data:`HEATMAP_CMAP`), blocks of 8 % or more labelled.

    ``frame``: channel, rfm_cluster (1 = the best segment), rfm_segment, share (of the channel's customers).

    >>> f = pd.DataFrame({"channel": ["web", "web", "shop"], "rfm_cluster": [1, 2, 2],
    ...                   "rfm_segment": ["champions", "lost", "lost"], "share": [0.25, 0.75, 1.0]})
    >>> fig = rfm_channel_mix(f)
    >>> fig.axes[0].get_title(), fig.get_label().split("worst (red): ", 1)[1]
    ('Customers by RFM segment and channel', 'Web: champions 25%, lost 75%; Shop: lost 100%.')
    """
    import numpy as np

    labels = labels or Labels()
    channels = list(dict.fromkeys(frame["channel"]))
    segments = frame.drop_duplicates("rfm_cluster").sort_values("rfm_cluster")
    cmap = matplotlib.colormaps[HEATMAP_CMAP]
    colours = cmap(np.linspace(0.9, 0.1, len(segments))) if len(segments) > 1 else [cmap(0.9)]
    shares = frame.pivot_table(index="channel", columns="rfm_cluster", values="share", aggfunc="sum",
                               fill_value=0.0).reindex(channels).fillna(0.0)
    names = labels.channels_of(channels)
    fig, ax = _figure((9.0, 0.5 * max(len(channels), 3) + 1.8))
    left = np.zeros(len(channels))
    for colour, segment in zip(colours, segments.itertuples()):
        values = (shares[segment.rfm_cluster] if segment.rfm_cluster in shares else pd.Series(0.0, index=channels)
                  ).to_numpy(dtype="float64")
        ax.barh(range(len(channels)), values, left=left, color=colour, label=str(segment.rfm_segment),
                edgecolor="white", linewidth=0.5)
        dark = float(np.mean(mcolors.to_rgb(colour))) < 0.55
        for y, (start, value) in enumerate(zip(left, values)):
            if value >= 0.08:
                ax.annotate(f"{value:.0%}", (start + value / 2, y), ha="center", va="center", fontsize=8,
                            color="white" if dark else "#1f2328")
        left += values
    ax.set_yticks(range(len(channels)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_title("Customers by RFM segment and channel")
    ax.set_xlabel("Share of the channel's customers")
    ax.set_ylabel("")
    ax.grid(False, axis="y")
    fig.legend(loc="outside lower center", ncol=min(len(segments), 5), fontsize=8)
    parts = []
    for channel, name in zip(channels, names):
        row = frame[frame["channel"] == channel].sort_values("rfm_cluster")
        parts.append(f"{name}: " + ", ".join(f"{s} {v:.0%}" for s, v in zip(row["rfm_segment"], row["share"])))
    fig.set_label("Customers by RFM segment and channel: a 100% bar per channel split into its customers' RFM "
                  "segments, best (blue) to worst (red): " + "; ".join(parts) + ".")
    return fig
