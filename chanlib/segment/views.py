"""What the "Segments" section of a region report shows, from the stored segmentation results.

The segmentation runs once for all regions (:func:`analyses`, kept in the store as ``result_<name>``); a region
report reads its slice and passes it here. Every function takes and returns DataFrames (or a Markdown string with
data-derived names escaped).

Examples
--------
>>> import pandas as pd
>>> seg = pd.DataFrame({"partner_id": ["a", "b", "c"], "region": ["N", "N", "S"], "segment_id": [1, 2, 2],
...                     "segment_name": ["large", "small", "small"], "revenue": [90.0, 10.0, 5.0]})
>>> region_sizes(seg, "N")[["segment_name", "partners", "revenue_share"]].to_dict("list")
{'segment_name': ['large', 'small'], 'partners': [1, 1], 'revenue_share': [0.9, 0.1]}
>>> segment_sentence(region_sizes(seg, "N"), "N & Co")  # doctest: +ELLIPSIS
'N &amp; Co has 2 partners in 2 segments; the largest share of revenue (90.0%) comes from ... **1 · large**.'
"""
from __future__ import annotations

import logging

import duckdb
import pandas as pd

from ..narrative import esc, percent
from ..store import table_columns
from .abc_xyz import abc_xyz_table
from .customers import customer_rfm
from .partners import segment_partners
from .settings import SegmentSettings

log = logging.getLogger(__name__)

#: profile column -> label in the report
PROFILE_LABELS = {
    "segment_id": "Segment", "segment_name": "Name", "partners": "Partners", "share": "Share of partners",
    "revenue_share": "Share of revenue", "revenue": "Revenue, median", "growth": "Growth, median",
    "volatility": "Volatility (CV)", "margin": "Gross margin", "online_share": "Online share",
    "recency_days": "Days since last sale", "target_attainment": "Target attainment", "sell_through": "Sell-through",
}
#: labels of profile columns to format as money / as percentages (for :func:`chanlib.display.table`)
PROFILE_MONEY = ["Revenue, median"]
PROFILE_PERCENT = ["Share of partners", "Share of revenue", "Gross margin", "Online share", "Target attainment",
                   "Sell-through"]


def analyses(con: duckdb.DuckDBPyConnection, settings: SegmentSettings | None = None) -> dict[str, pd.DataFrame]:
    """Every segmentation result of one store build: partner segments (``segment_partners``, ``segment_profiles``,
    ``segment_deviations``, ``segment_scores``), ``abc_xyz_partners``, ``abc_xyz_products`` (per region) and
    ``customer_rfm`` (per region). A result whose input is absent (no ``partner_id``, ``product_id`` or
    ``customer_id`` in the sales) is left out of the dict, with the reason logged."""
    settings = settings or SegmentSettings()
    out: dict[str, pd.DataFrame] = {}
    cols = table_columns(con, "sales")
    if "partner_id" in cols and con.execute("SELECT count(partner_id) FROM sales").fetchall()[0][0]:
        out.update(segment_partners(con, settings).tables())
    else:
        log.info("partner segments left out: no sale has a partner_id")
    out["abc_xyz_partners"] = abc_xyz_table(con, "partner_id", settings)
    out["abc_xyz_products"] = abc_xyz_table(con, "product_id", settings)
    out["customer_rfm"] = customer_rfm(con, settings)
    return {name: frame for name, frame in out.items() if not frame.empty}


def region_sizes(segment_partners: pd.DataFrame, region: str) -> pd.DataFrame:
    """Per segment with partners in ``region``: segment_id, segment_name, partners, share, revenue, revenue_share."""
    part = segment_partners[segment_partners["region"] == region]
    g = part.groupby(["segment_id", "segment_name"], sort=True)
    out = g.size().rename("partners").to_frame()
    out["share"] = out["partners"] / max(len(part), 1)
    if "revenue" in part.columns:
        out["revenue"] = g["revenue"].sum()
        total = out["revenue"].sum()
        out["revenue_share"] = out["revenue"] / total if total > 0 else float("nan")
    return out.reset_index()


def profile_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """The profile of every segment with readable column labels (see :data:`PROFILE_MONEY`, :data:`PROFILE_PERCENT`).

    Growth is a signed percentage (text); volatility and days are rounded numbers; the rest is left to
    :func:`chanlib.display.table` with :data:`PROFILE_MONEY` and :data:`PROFILE_PERCENT`.
    """
    shown = profiles[[c for c in PROFILE_LABELS if c in profiles.columns]].copy()
    if "growth" in shown.columns:
        shown["growth"] = [percent(v) for v in shown["growth"]]
    for column in ("volatility", "recency_days"):
        if column in shown.columns:
            shown[column] = shown[column].round(2 if column == "volatility" else 0)
    return shown.rename(columns=PROFILE_LABELS)


def segment_sentence(sizes: pd.DataFrame, region: str) -> str:
    """One sentence on a region's segments: how many, and which holds the most revenue (escaped Markdown)."""
    if sizes.empty:
        return f"{esc(region)} has no segmented partners."
    n = int(sizes["partners"].sum())
    key = "revenue_share" if "revenue_share" in sizes.columns and sizes["revenue_share"].notna().any() else "partners"
    top = sizes.sort_values([key, "segment_id"], ascending=[False, True]).iloc[0]
    what = (f"the largest share of revenue ({percent(top['revenue_share'], signed=False)})" if key == "revenue_share"
            else "the most partners")
    return (f"{esc(region)} has {n} partner{'s' if n != 1 else ''} in {len(sizes)} segment"
            f"{'s' if len(sizes) != 1 else ''}; {what} comes from the {int(top['partners'])} partner(s) of segment "
            f"**{int(top['segment_id'])} · {esc(top['segment_name'])}**.")
