"""The sections of a region report: each reads its slice of stored results and returns what a cell displays.

A notebook cell is one line, ``display(*sections.headline(ctx))``: no business logic lives in notebooks. A section
whose input is absent returns a one-line note saying which table or column would enable it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from . import analyse, kpi, plots, store
from .config import Params, default_params_path, load_params
from .display import HTML, figure, markdown, note, table
from .errors import DataError
from .narrative import esc, headline_sentence, mix_sentence, money, number, percent, trend_sentence

log = logging.getLogger(__name__)


@dataclass
class RegionContext:
    """Everything a region notebook needs: its region, the params and a read-only store connection."""

    region: str
    params: Params
    con: duckdb.DuckDBPyConnection
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.params.currency


def open_region(region: str, params_path: str | Path | None = None, store_path: str | Path | None = None) -> RegionContext:
    """Open the store read-only for one region.

    Without ``store_path`` the store of the params file is used, and built first if it is missing or stale (so the
    notebook also runs on its own); with it, the given store is only read.
    """
    params = load_params(params_path or default_params_path())
    if store_path is None:
        store.ensure(params)
        store_path = params.store
    con = store.connect(store_path)
    known = store.regions(con)
    if region not in known:
        con.close()
        raise DataError(f"{store_path}: region {region!r} has no sales; regions: {', '.join(known)}")
    return RegionContext(region=region, params=params, con=con, meta=store.read_meta(con))


def title(ctx: RegionContext) -> list[Any]:
    """The report's title and what it covers."""
    head = analyse.read(ctx.con, "headline", ctx.region).iloc[0]
    end = pd.Timestamp(head["window_end"]).date()
    return [markdown(f"# {esc(ctx.region)}: channel report\n\n"
                     f"Data set **{esc(ctx.params.name)}**, sales up to **{end}**, amounts in {esc(ctx.currency)}.")]


def _card(label: str, value: str, detail: str = "") -> str:
    return (f'<div class="chanlib-card"><div class="chanlib-card-label">{esc(label)}</div>'
            f'<div class="chanlib-card-value">{esc(value)}</div>'
            f'<div class="chanlib-card-detail">{esc(detail)}</div></div>')


CARD_STYLE = """<style>
.chanlib-cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 12px}
.chanlib-card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;min-width:150px;background:#f8fafc}
.chanlib-card-label{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.chanlib-card-value{font-size:22px;font-weight:600;margin-top:2px}
.chanlib-card-detail{font-size:12px;color:#57606a}
</style>"""


def headline(ctx: RegionContext) -> list[Any]:
    """KPI cards (revenue, units, gross margin, growth) and a sentence on them."""
    row = analyse.read(ctx.con, "headline", ctx.region).iloc[0]
    missing = kpi.missing_inputs(ctx.con)
    cards = [_card("Revenue", money(row["revenue"], ctx.currency),
                   f"last {ctx.params.report.window_months} months")]
    if "units" not in missing:
        cards.append(_card("Units", number(row["units"])))
    if "gross_margin" not in missing:
        cards.append(_card("Gross margin", money(row["gross_margin"], ctx.currency),
                           f"{percent(row['margin_pct'], signed=False)} of revenue"))
    cards.append(_card("Growth vs last year", percent(row["growth_yoy"]),
                       f"was {money(row['revenue_prev_year'], ctx.currency)}"))
    out: list[Any] = [HTML(CARD_STYLE + '<div class="chanlib-cards">' + "".join(cards) + "</div>"),
                      markdown(headline_sentence(row, ctx.currency, ctx.params.report.window_months))]
    out += [note(f"{name.replace('_', ' ').capitalize()} is left out: {why}.") for name, why in missing.items()]
    return out


def monthly(ctx: RegionContext) -> list[Any]:
    """Monthly revenue by channel: a line chart and a sentence on the channel trends."""
    frame = analyse.read(ctx.con, "monthly_channel", ctx.region)
    if frame.empty:
        return [note("No sales in this region.")]
    frame["month"] = pd.to_datetime(frame["month"])
    return [figure(plots.monthly_revenue_by_channel(frame, ctx.currency)),
            markdown(trend_sentence(frame, ctx.currency))]


def mix(ctx: RegionContext) -> list[Any]:
    """Channel mix over the headline window: bars, a table and a sentence."""
    frame = analyse.read(ctx.con, "channel_mix", ctx.region)
    if frame.empty:
        return [note(f"No sales in the last {ctx.params.report.window_months} months.")]
    shown = frame[["channel", "revenue", "share"]].sort_values("revenue", ascending=False)
    return [figure(plots.channel_mix(shown, ctx.currency)),
            markdown(mix_sentence(shown, ctx.region)),
            table(shown, money_columns=["revenue"], percent_columns=["share"], currency=ctx.currency)]


def about(ctx: RegionContext) -> list[Any]:
    """Where the numbers come from: inputs and the data-quality summary of the store build."""
    quality = pd.DataFrame(ctx.meta.get("quality", []))
    if quality.empty:
        return [note("The store records no data-quality summary.")]
    quality["file"] = quality["file"].map(lambda f: Path(f).name)
    shown = quality[["table", "file", "rows_read", "rows_kept", "rows_rejected", "reason", "count"]]
    return [markdown("Rows set aside at ingest are listed by reason; they are kept in the rejects folder next to "
                     "the store, never silently dropped."),
            table(shown)]
