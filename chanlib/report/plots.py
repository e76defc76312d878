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

from typing import cast

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from chanlib.report.narrative import money  # noqa: E402

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
    for patch, (_, row) in zip(_bars(ax), ordered.iterrows()):
        ax.annotate(f"{row['share']:.0%}  {money(row['revenue'], currency, compact=True)}",
                    (patch.get_width(), patch.get_y() + patch.get_height() / 2),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_title("Channel mix (share of revenue)")
    ax.set_xlabel("Share of revenue")
    ax.set_ylabel("")
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlim(0, max(float(ordered["share"].max()) * 1.3, 0.1))
    return fig


# --- channel evaluation (chanlib.analytics: product_fit, planning, period_evaluation) ------------------------------

def fit_heatmap(matrix: pd.DataFrame) -> Figure:
    """Category x channel share index (:func:`chanlib.analytics.product_fit.fit_matrix`), coloured on a log scale
    around 1.

    >>> m = pd.DataFrame({"category": ["A", "A", "B", "B"], "channel": ["web", "shop"] * 2,
    ...                   "share_index": [2.0, 0.5, 0.5, 2.0]})
    >>> fit_heatmap(m).axes[0].get_title()
    'Product-channel fit (share index)'
    """
    import numpy as np

    pivot = matrix.pivot_table(index="category", columns="channel", values="share_index", aggfunc="first")
    fig, ax = _figure((max(6.0, 1.1 * pivot.shape[1] + 3.0), 0.45 * max(pivot.shape[0], 3) + 1.8))
    logged = np.log2(pivot.where(pivot > 0))
    limit = float(np.nanmax(np.abs(logged.to_numpy()))) if logged.notna().any().any() else 1.0
    sns.heatmap(logged, annot=pivot, fmt=".2f", center=0.0, vmin=-limit, vmax=limit, cmap="vlag_r", ax=ax,
                linewidths=0.5, linecolor="white", cbar_kws={"label": "share index", "format": mticker.FuncFormatter(
                    lambda v, _: f"{2 ** v:.2g}")})
    _finish_heatmap(ax, "Product-channel fit (share index)")
    return fig


def white_space_bars(frame: pd.DataFrame, currency: str) -> Figure:
    """Horizontal bars of headroom per region x channel cell (:func:`chanlib.analytics.planning.white_space`).

    >>> f = pd.DataFrame({"region": ["N", "S"], "channel": ["web", "shop"], "headroom": [2e5, 1e5],
    ...                   "penetration": [0.0, 0.01], "benchmark_penetration": [0.03, 0.02]})
    >>> white_space_bars(f, "EUR").axes[0].get_xlabel()
    'Headroom (EUR)'
    """
    ordered = frame.sort_values("headroom", ascending=False).reset_index(drop=True)
    fig, ax = _figure((9.0, 0.45 * max(len(ordered), 3) + 1.2))
    labels = (ordered["region"].astype(str) + " · " + ordered["channel"].astype(str)).tolist()
    colours = palette(frame["channel"].tolist())
    ax.barh(labels, ordered["headroom"], color=[colours[str(c)] for c in ordered["channel"]])
    ax.invert_yaxis()
    for y, (_, row) in enumerate(ordered.iterrows()):
        ax.annotate(f"{row['penetration']:.1%} vs {row['benchmark_penetration']:.1%}",
                    (row["headroom"], y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_title("White space: headroom to the peer benchmark penetration")
    ax.set_xlabel(f"Headroom ({currency})")
    ax.set_ylabel("")
    _money_axis(ax.xaxis, currency)
    ax.set_xlim(0, max(float(ordered["headroom"].max()) * 1.25, 1.0) if len(ordered) else 1.0)
    return fig


def mix_volume_waterfall(frame: pd.DataFrame, currency: str, base_label: str = "Base period",
                         current_label: str = "This period") -> Figure:
    """Waterfall from the base period's revenue through the volume effect and each channel's mix effect to this
    period's revenue, for one region (:func:`chanlib.analytics.period_evaluation.mix_volume_decomposition`).

    >>> f = pd.DataFrame({"region": ["E", "E"], "channel": ["web", "shop"], "revenue": [150.0, 50.0],
    ...                   "revenue_base": [90.0, 0.0], "volume_effect": [60.0, 50.0], "mix_effect": [0.0, 0.0]})
    >>> len(mix_volume_waterfall(f, "EUR").axes[0].patches)
    5
    """
    if frame["region"].nunique() > 1:
        raise ValueError("mix_volume_waterfall draws one region; filter the frame first")
    base, current = float(frame["revenue_base"].sum()), float(frame["revenue"].sum())
    ordered = frame.reindex(frame["mix_effect"].abs().sort_values(ascending=False).index)
    steps = [("Volume", float(frame["volume_effect"].sum()))]
    steps += [(f"Mix: {c}", float(m)) for c, m in zip(ordered["channel"], ordered["mix_effect"])]
    fig, ax = _figure((max(7.0, 0.8 * (len(steps) + 2) + 2.0), 4.6))
    up, down, total = sns.color_palette(PALETTE)[2], sns.color_palette(PALETTE)[3], "#8c8c8c"
    labels, level, levels = [base_label], base, [base, current]
    ax.bar(0, base, color=total)
    for i, (name, value) in enumerate(steps, start=1):
        ax.bar(i, value, bottom=level, color=up if value >= 0 else down)
        ax.annotate(("+" if value >= 0 else "") + money(value, currency, compact=True), (i, max(level, level + value)),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        level += value
        levels.append(level)
        labels.append(name)
    ax.bar(len(steps) + 1, current, color=total)
    labels.append(current_label)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    # zoom on the changes (the totals' bars are cut, as usual for waterfalls) unless they are large anyway
    lo, hi = min(levels), max(levels)
    pad = 0.4 * (hi - lo) if hi > lo else 0.05 * abs(hi)
    ax.set_ylim(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad)
    ax.set_title("Revenue change: volume and channel mix")
    ax.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax.yaxis, currency)
    return fig


def metric_bars(frame: pd.DataFrame, column: str, title: str, kind: str = "percent", currency: str = "",
                reference: float | None = None) -> Figure:
    """Horizontal bars of one metric per channel (``frame``: channel, ``column``), with an optional reference line
    (e.g. 100 % target attainment). ``kind``: percent, money or number.

    >>> f = pd.DataFrame({"channel": ["web", "shop"], "target_attainment": [1.1, 0.8]})
    >>> metric_bars(f, "target_attainment", "Target attainment", reference=1.0).axes[0].get_title()
    'Target attainment'
    """
    shown = frame.dropna(subset=[column]).sort_values(column, ascending=False)
    fig, ax = _figure((9.0, 0.45 * max(len(shown), 3) + 1.2))
    colours = palette(frame["channel"].tolist())
    ax.barh(shown["channel"].astype(str), shown[column], color=[colours[str(c)] for c in shown["channel"]])
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
    low = min(0.0, float(shown[column].min()) if len(shown) else 0.0)
    high = float(shown[column].max()) if len(shown) else 1.0
    ax.set_xlim(low * 1.3, max(high * 1.25, (reference or 0) * 1.1, 1e-9))
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
    return fig


def segment_profile(deviations: pd.DataFrame, names: dict[int, str] | None = None) -> Figure:
    """Heat map of how each segment's centre differs from all partners, per feature, in robust units (IQRs).

    ``deviations``: segment_id and one column per feature (:attr:`chanlib.analytics.segment.SegmentResult.deviations`).
    """
    frame = deviations.set_index("segment_id") if "segment_id" in deviations.columns else deviations
    frame = frame.sort_index()
    if names:
        frame.index = [f"{i} · {names.get(i, '')}" for i in frame.index]
    frame.columns = [str(c).replace("_", " ") for c in frame.columns]
    fig, ax = _figure((9.0, 0.55 * max(len(frame), 3) + 1.6))
    limit = max(float(frame.abs().to_numpy().max()) if frame.size else 1.0, 1.0)
    sns.heatmap(frame, ax=ax, cmap="RdBu_r", center=0, vmin=-limit, vmax=limit, annot=True, fmt=".1f",
                cbar_kws={"label": "vs all partners (IQRs)"}, linewidths=0.5)
    _finish_heatmap(ax, "Segment profiles: difference from all partners")
    return fig


def abc_xyz_heatmap(matrix: pd.DataFrame, what: str = "partners", value: str = "revenue") -> Figure:
    """The ABC x XYZ matrix: each cell's share of revenue (colour) with its count of items.

    ``matrix``: abc, xyz, items, value_share (:func:`chanlib.analytics.segment.abc_xyz_matrix`, one group).
    """
    share = matrix.pivot_table(index="abc", columns="xyz", values="value_share", aggfunc="sum", fill_value=0.0)
    items = matrix.pivot_table(index="abc", columns="xyz", values="items", aggfunc="sum", fill_value=0)
    annot = items.astype(int).astype(str) + "\n" + (share * 100).round(0).astype(int).astype(str) + "%"
    fig, ax = _figure((6.5, 4.2))
    sns.heatmap(share, ax=ax, cmap="Blues", vmin=0, vmax=max(float(share.to_numpy().max()), 0.01), annot=annot,
                fmt="", cbar_kws={"label": f"share of {value}", "format": mticker.PercentFormatter(1.0)},
                linewidths=0.5)
    ax.set_title(f"ABC x XYZ of {what} (count, share of {value})")
    ax.set_xlabel("XYZ: variability of monthly demand (X steady .. Z erratic)")
    ax.set_ylabel("ABC: share of revenue (A top)")
    ax.tick_params(axis="y", rotation=0)
    ax.grid(False)
    return fig


def forecast_panels(actuals: pd.DataFrame, forecasts: pd.DataFrame, currency: str, level: int = 80,
                    history_months: int = 24, ncols: int = 2) -> Figure:
    """One panel per series: recent actuals, the forecast and its ``level`` % interval.

    ``actuals``: unique_id, ds, y; ``forecasts``: unique_id, ds, yhat, lo_<level>, hi_<level>. Panels follow the
    order of the ids in ``forecasts``; the title of a panel is the last part of its id (``North/web`` -> ``web``).

    >>> a = pd.DataFrame({"unique_id": "N", "ds": pd.date_range("2024-01-01", periods=6, freq="MS"), "y": range(6)})
    >>> f = pd.DataFrame({"unique_id": "N", "ds": pd.date_range("2024-07-01", periods=3, freq="MS"),
    ...                   "yhat": [6.0, 7, 8], "lo_80": [5.0, 5, 6], "hi_80": [7.0, 9, 10]})
    >>> len(forecast_panels(a, f, "EUR").axes)
    1
    """
    ids = list(dict.fromkeys(forecasts["unique_id"]))
    nrows = max(1, -(-len(ids) // ncols))
    cols = min(ncols, max(len(ids), 1))
    sns.set_theme(style="whitegrid", palette=PALETTE, rc=STYLE)
    fig = Figure(figsize=(4.6 * cols, 2.9 * nrows), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    colours = palette([uid.rsplit("/", 1)[-1] for uid in ids])
    for ax, uid in zip(axes, ids):
        name = uid.rsplit("/", 1)[-1]
        past = actuals[actuals["unique_id"] == uid].sort_values("ds")
        past = past[past["ds"] > past["ds"].max() - pd.DateOffset(months=history_months)]
        ahead = forecasts[forecasts["unique_id"] == uid].sort_values("ds")
        ax.plot(past["ds"], past["y"], color="#3b3b3b", linewidth=1.4, label="actual")
        ax.plot(ahead["ds"], ahead["yhat"], color=colours[name], linewidth=1.8, label="forecast")
        if f"lo_{level}" in ahead:
            ax.fill_between(ahead["ds"], ahead[f"lo_{level}"], ahead[f"hi_{level}"], color=colours[name], alpha=0.25,
                            linewidth=0, label=f"{level}% interval")
        ax.set_title(name)
        ax.set_xlabel("")
        ax.set_ylabel("")
        _money_axis(ax.yaxis, currency)
        _date_axis(ax.xaxis)
    for ax in axes[len(ids):]:
        ax.set_visible(False)
    if ids:
        axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Monthly revenue: actuals and forecast ({currency})", fontweight="bold")
    return fig


def accuracy_history(frame: pd.DataFrame) -> Figure:
    """sMAPE of earlier builds' forecasts per level, by the build's cutoff (``frame``: cutoff, level, smape).

    >>> f = pd.DataFrame({"cutoff": pd.to_datetime(["2025-06-30", "2025-09-30"] * 2),
    ...                   "level": ["total"] * 2 + ["region"] * 2, "smape": [4.0, 5.0, 8.0, 7.0]})
    >>> accuracy_history(f).axes[0].get_ylabel()
    'sMAPE (%)'
    """
    fig, ax = _figure((9.0, 3.6))
    levels = list(dict.fromkeys(frame["level"]))
    colours = palette(levels)
    for level in levels:
        part = frame[frame["level"] == level].sort_values("cutoff")
        ax.plot(part["cutoff"], part["smape"], marker="o", color=colours[level], label=level)
    ax.set_title("Forecast accuracy of earlier runs, by the month they were made")
    ax.set_xlabel("")
    ax.set_ylabel("sMAPE (%)")
    ax.legend(title="Level", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _date_axis(ax.xaxis)
    return fig
