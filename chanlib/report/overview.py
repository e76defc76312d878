"""The sections of ``notebooks/overview.ipynb``: all regions side by side.

Each cell of the notebook is one line, ``display(*overview.league_table(ctx))``; ``chanlib report`` renders it as
``overview.html`` beside the region reports and the index links it first. The sections read the store through a
:class:`~chanlib.workbench.Workbench` (results the build computed once, and the KPI engine for the trailing
window), so they answer in seconds on any store:

- :func:`league_table` -- regions ranked by revenue over the trailing window, with share, growth and margin;
- :func:`growth_by_channel` -- a region x channel heat map of growth against the same months a year earlier;
- :func:`movers` -- the region x channel cells whose revenue rose and fell most;
- :func:`next_quarter` -- the forecast of the next calendar quarter by region, against the same quarter last year;
- :func:`alerts` -- early warnings per region, when the store has them (else a one-line note).

A section whose input is absent returns a one-line note saying why.

Examples
--------
>>> from chanlib.workbench import example
>>> ctx = OverviewContext(example())
>>> league(ctx)[["rank", "region", "revenue", "share", "growth"]].round(3).values.tolist()
[[1, 'East', 2040.0, 0.586, 0.133], [2, 'West', 1440.0, 0.414, 0.2]]
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from chanlib import periods
from chanlib.analytics import kpi
from chanlib.errors import DataError, MissingInput
from chanlib.report import narrative, plots
from chanlib.report.display import Labels, figure, markdown, note, table
from chanlib.report.narrative import esc, money, percent
from chanlib.workbench import Workbench, open_workbench

#: how many region x channel cells :func:`movers` shows each way
MOVERS = 5
#: alert severities, most severe first (the order of the alert counts' columns)
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


@dataclass
class OverviewContext:
    """What the overview notebook needs: a workbench over the store (read-only)."""

    wb: Workbench

    @property
    def params(self):
        return self.wb.params

    @property
    def currency(self) -> str:
        return self.wb.currency

    @cached_property
    def labels(self) -> Labels:
        """Display names of channels and columns (``params.display``, else readable defaults)."""
        return Labels.from_params(self.params)

    @cached_property
    def as_of(self) -> pd.Timestamp:
        """The one as-of date: the last sale."""
        return self.wb.period()[1].normalize()

    @cached_property
    def cells(self) -> pd.DataFrame:
        """Revenue per region and channel over the trailing window and a year earlier, with the growth shown
        (``growth``: NaN where :func:`chanlib.report.narrative.growth_reason` gives a reason, which ``why`` holds)."""
        return _with_growth(self, kpi.trailing_growth(self.wb.con, ("region", "channel"),
                                                      self.params.periods.window_months,
                                                      self.params.periods.coverage_slack_days))


def open_overview(params_path: str | Path | None = None, store_path: str | Path | None = None) -> OverviewContext:
    """Open the store of a params file read-only for the overview (built or refreshed first unless ``store_path``
    is given)."""
    return OverviewContext(open_workbench(params_path, store_path))


def _with_growth(ctx: OverviewContext, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (revenue, revenue_prev_year, growth_yoy, months_prev_year) with ``growth`` (NaN where it is not
    shown) and ``why`` (the reason, else None)."""
    settings = ctx.params.periods
    why = [narrative.growth_reason(g, b, m, settings, ctx.currency, "the same months a year earlier",
                                   settings.window_months)
           for g, b, m in zip(frame["growth_yoy"], frame["revenue_prev_year"], frame["months_prev_year"])]
    return frame.assign(why=why, growth=[g if w is None else float("nan") for g, w in zip(frame["growth_yoy"], why)])


def _window(ctx: OverviewContext) -> str:
    start, end = periods.trailing_window(ctx.as_of, ctx.params.periods.window_months)
    return f"the {ctx.params.periods.window_months} months {start.date()} to {end.date()}"


def title(ctx: OverviewContext) -> list[Any]:
    """The overview's title, the as-of date and the window of each section."""
    rows = [("League table, growth, movers", f"{_window(ctx)}, against the same months a year earlier"),
            ("Next quarter", "the forecast of the first calendar quarter after the last complete month"),
            ("Early warnings", "the alerts of the latest build")]
    return [markdown(f"# {esc(ctx.wb.name)}: all regions\n\n"
                     + narrative.as_of_sentence(ctx.wb.name, ctx.as_of, ctx.currency,
                                                ctx.params.periods.complete_tolerance_days)
                     + "\n\n" + narrative.windows_table(rows) + "\n\n" + narrative.definitions_link())]


def league(ctx: OverviewContext) -> pd.DataFrame:
    """Regions ranked by revenue over the trailing window: rank, region, revenue, share (of all regions), growth
    (NaN where not shown), why (the reason), margin_pct, units (the build's headline KPIs)."""
    heads = _with_growth(ctx, ctx.wb.result("headline"))
    total = float(heads["revenue"].sum())
    heads = heads.assign(share=heads["revenue"] / total if total > 0 else float("nan"))
    heads = heads.sort_values(["revenue", "region"], ascending=[False, True], kind="stable").reset_index(drop=True)
    heads.insert(0, "rank", range(1, len(heads) + 1))
    return heads[["rank", "region", "revenue", "share", "growth", "why", "margin_pct", "units"]]


def league_table(ctx: OverviewContext) -> list[Any]:
    """Regions ranked by revenue over the trailing window, with their share, growth and margin."""
    frame = league(ctx)
    shown = frame.assign(growth=[percent(g) if w is None else "too little data" for g, w in
                                 zip(frame["growth"], frame["why"])],
                         units=[narrative.number(u) for u in frame["units"]])
    shown = shown.drop(columns="why").rename(columns={"share": "Share of all regions", "growth": "growth_yoy"})
    reasons = sorted({w for w in frame["why"] if w})
    out: list[Any] = [note(f"Window: {_window(ctx)}."), markdown(narrative.league_sentence(frame, ctx.currency)),
                      table(shown, money_columns=["revenue"], percent_columns=["Share of all regions", "margin_pct"],
                            currency=ctx.currency, labels=ctx.labels)]
    if reasons:
        out.append(note("Growth is not shown where " + "; or ".join(reasons) + "."))
    return out


def growth_by_channel(ctx: OverviewContext) -> list[Any]:
    """A region x channel heat map of growth over the trailing window against the same months a year earlier."""
    cells = ctx.cells
    if cells.empty:
        return [note("Growth by region and channel is left out: no sales in the window.")]
    if cells["revenue_prev_year"].isna().all():
        return [note(f"Growth by region and channel is left out: the data do not reach back to the same months a "
                     f"year before {_window(ctx)}.")]
    fig = plots.growth_heatmap(cells[["region", "channel", "growth"]], "Growth by region and channel, against the "
                               "same months a year earlier", ctx.labels)
    return [note(f"Window: {_window(ctx)}."), figure(fig),
            note("Cells marked n/a have too little revenue or history a year earlier for a growth figure "
                 f"(at least {money(ctx.params.periods.min_growth_base, ctx.currency)} in at least "
                 f"{ctx.params.periods.min_growth_months} months), or no sales then.")]


def mover_cells(ctx: OverviewContext, n: int = MOVERS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` region x channel cells whose revenue rose most and the ``n`` that fell most (largest first), from
    the cells whose earlier window is covered: region, channel, revenue, revenue_prev_year, change, growth, why."""
    cells = ctx.cells[ctx.cells["change"].notna()]
    up = cells[cells["change"] > 0].sort_values(["change", "region", "channel"], ascending=[False, True, True])
    down = cells[cells["change"] < 0].sort_values(["change", "region", "channel"], ascending=[True, True, True])
    columns = ["region", "channel", "revenue", "revenue_prev_year", "change", "growth", "why"]
    return up.head(n)[columns].reset_index(drop=True), down.head(n)[columns].reset_index(drop=True)


def movers(ctx: OverviewContext) -> list[Any]:
    """The region x channel cells with the largest rise and fall in revenue against the same months a year
    earlier."""
    if ctx.cells.empty or ctx.cells["change"].isna().all():
        return [note(f"The movers are left out: the data do not reach back to the same months a year before "
                     f"{_window(ctx)}.")]
    up, down = mover_cells(ctx)
    both = pd.concat([up, down], ignore_index=True)
    out: list[Any] = [note(f"Window: {_window(ctx)}, against the same months a year earlier."),
                      markdown(narrative.movers_sentence(ctx.labels.named(up), ctx.labels.named(down),
                                                         ctx.currency))]
    if both.empty:
        return out
    out.append(figure(plots.movers_bars(both, ctx.currency, "Biggest movers: change in revenue by region and "
                                                             "channel", ctx.labels)))
    shown = both.assign(growth=[percent(g) if w is None else "too little data"
                                for g, w in zip(both["growth"], both["why"])]).drop(columns="why")
    out.append(table(shown.rename(columns={"growth": "growth_yoy"}),
                     money_columns=["revenue", "revenue_prev_year", "change"], currency=ctx.currency,
                     labels=ctx.labels))
    return out


def quarter_forecast(ctx: OverviewContext) -> tuple[pd.DataFrame, str, str, pd.Timestamp]:
    """The forecast of the first whole calendar quarter in the build's horizon, per region, and the actual revenue
    of the same quarter a year earlier: (frame of region, forecast, base (NaN where the actuals do not cover the
    quarter), the quarter's label, the base quarter's label, the forecasts' cutoff). Raises
    :class:`~chanlib.errors.MissingInput` when the store has no forecasts or none covers a whole quarter."""
    forecasts = ctx.wb.forecasts(level="region") if "region" in set(ctx.wb.forecasts()["level"]) else None
    if forecasts is None or forecasts.empty:
        raise MissingInput("result_forecast", "the forecast hierarchy has no region level")
    months = sorted(pd.to_datetime(forecasts["ds"]).unique())
    starts = [m for m in months if pd.Timestamp(m).month in (1, 4, 7, 10)
              and all(pd.Timestamp(m) + pd.DateOffset(months=k) in set(months) for k in (1, 2))]
    if not starts:
        raise MissingInput("result_forecast", "the forecast horizon covers no whole calendar quarter")
    start = pd.Timestamp(starts[0])
    quarter = [start + pd.DateOffset(months=k) for k in range(3)]
    base_months = [m - pd.DateOffset(years=1) for m in quarter]
    ahead = forecasts[pd.to_datetime(forecasts["ds"]).isin(quarter)]
    frame = ahead.groupby("unique_id", as_index=False)["yhat"].sum().rename(columns={"unique_id": "region",
                                                                                     "yhat": "forecast"})
    actuals = ctx.wb.result("forecast_actuals")
    past = actuals[actuals["unique_id"].isin(frame["region"]) & pd.to_datetime(actuals["ds"]).isin(base_months)]
    complete = past.groupby("unique_id")["ds"].nunique() == 3
    base = past.groupby("unique_id")["y"].sum().where(complete)
    frame["base"] = frame["region"].map(base).astype("float64")
    cutoff = pd.Timestamp(forecasts["cutoff"].iloc[0])
    return (frame.sort_values("region").reset_index(drop=True), periods.label(start, "quarter"),
            periods.label(base_months[0], "quarter"), cutoff)


def next_quarter(ctx: OverviewContext) -> list[Any]:
    """The forecast of the next calendar quarter by region, against the same quarter a year earlier."""
    try:
        frame, label, base_label, cutoff = quarter_forecast(ctx)
    except MissingInput as exc:
        return [note(f"The next-quarter forecast is left out: {esc(exc.reason)}.")]
    shown = frame.assign(change=[percent(f / b - 1) if pd.notna(b) and b > 0 else "n/a"
                                 for f, b in zip(frame["forecast"], frame["base"])])
    shown = shown.rename(columns={"forecast": f"Forecast {label}", "base": f"Actual {base_label}",
                                  "change": "Change"})
    return [note(f"Forecast made with sales up to {cutoff.date()} (the last complete month); the regions' forecasts "
                 "are reconciled with the total and the channels."),
            markdown(narrative.next_quarter_sentence(frame, ctx.currency, label, base_label, cutoff.date())),
            figure(plots.region_forecast_bars(frame, ctx.currency, label, base_label)),
            table(shown, money_columns=[f"Forecast {label}", f"Actual {base_label}"], currency=ctx.currency,
                  labels=ctx.labels)]


def alert_counts(ctx: OverviewContext) -> pd.DataFrame:
    """Open alerts (not ``resolved``) per region, one column per severity (most severe first) when the alerts have
    one, and their total: region, [critical, high, medium, low,] alerts. Raises
    :class:`~chanlib.errors.MissingInput` with the build's reason when the store has no alerts."""
    frame = ctx.wb.alerts()
    if "state" in frame.columns:
        frame = frame[frame["state"].astype(str) != "resolved"]
    keys = [c for c in ("region", "severity") if c in frame.columns]
    if not keys:
        return pd.DataFrame({"alerts": [len(frame)]})
    counts = frame.groupby(keys, dropna=False).size().rename("alerts").reset_index()
    if "severity" in counts and "region" in counts:
        counts = counts.pivot_table(index="region", columns="severity", values="alerts", fill_value=0,
                                    aggfunc="sum").astype(int)
        counts.columns = [str(c) for c in counts.columns]
        known = [c for c in SEVERITIES if c in counts.columns]
        counts = counts[known + sorted(c for c in counts.columns if c not in known)]
        counts["alerts"] = counts.sum(axis=1)
        counts = counts.reset_index()
    return counts.sort_values(["alerts", "region"] if "region" in counts else ["alerts"],
                              ascending=[False, True] if "region" in counts else [False]).reset_index(drop=True)


def alerts(ctx: OverviewContext) -> list[Any]:
    """How many early warnings each region has (when the store has alerts)."""
    try:
        counts = alert_counts(ctx)
    except MissingInput as exc:
        return [note(f"Early warnings are left out: {esc(exc.reason)}.")]
    except DataError as exc:  # pragma: no cover - a malformed alerts table
        return [note(f"Early warnings are left out: {esc(exc)}.")]
    total = int(counts["alerts"].sum())
    if total == 0:
        return [markdown("No open early warnings in the latest build.")]
    lead = counts.iloc[0]
    text = (f"{total} open early warning{'s' if total != 1 else ''} in the latest build"
            + (f"; the most in **{esc(lead['region'])}** ({int(lead['alerts'])})." if "region" in counts else "."))
    return [markdown(text), table(counts, labels=ctx.labels)]

