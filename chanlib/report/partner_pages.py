"""Pages for partners themselves: one self-contained HTML page per partner, to be sent to that partner.

The plan asks for information sharing with partners, to close the gap between what the company knows and what its
partners know. ``chanlib report --partners`` writes ``<run>/partners/<partner_id>.html`` (linked from no other page)
from the results the store build computed once (:mod:`chanlib.analytics.partners`):

* the partner's own scorecard: its score, every indicator with its points against its peers, and its score history;
* its tier, the tier its score supports and why, in numbers (thresholds and the hysteresis band from params);
* its rebate progress: the latest quarter's revenue, rebate, bonus and penalty, its rebate bands and how much more
  revenue the next band needs;
* its position against anonymised peer benchmarks: the lower quartile, median and upper quartile of its peer group
  (its region x channel, or its channel across regions when the cell has fewer than ``scorecard.min_peers``
  partners), only where at least that many partners have a value.

A page never shows another partner's name, id or figures, nor the company's internal view of the partner (its
action -- watch, eliminate -- termination conditions or contract recommendation). Every value is escaped (Jinja2
autoescape). The pages are rendered from one template in one process: hundreds of partners take seconds.

Examples
--------
>>> bands = [{"min": 0.0, "max": 50000.0, "rate": 0.0}, {"min": 50000.0, "max": None, "rate": 0.01}]
>>> band_rows(bands, 60000.0, "EUR")[1]
{'range': 'EUR 50,000 and up', 'rate': '1.0%', 'current': True}
"""
from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pandas as pd

from chanlib import periods
from chanlib.analytics.partners.incentives import schedule
from chanlib.analytics.partners.indicators import fmt, label
from chanlib.config import INDICATORS, Params
from chanlib.data import store
from chanlib.errors import MissingInput
from chanlib.io import write_text
from chanlib.report.display import display_name
from chanlib.report.narrative import money

log = logging.getLogger(__name__)

#: the folder of a run the pages go to
FOLDER = "partners"
#: what a page says each indicator measures (the partner's own view)
MEANING = {
    "growth": "revenue over the last four quarters against the same quarters a year earlier",
    "target_attainment": "revenue against your share of the region's channel target",
    "margin": "gross margin on the products you sold",
    "sell_through": "units you sold against units sold plus your stock at the quarter's end",
    "feedback": "mean score your customers gave in our surveys",
    "compliance": "share of your minimum purchase commitment met in the quarter",
    "revenue": "revenue over the last four quarters",
}


def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("chanlib.report", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def band_rows(bands: Iterable[Any], revenue: float, currency: str) -> list[dict[str, Any]]:
    """The rebate bands as a page shows them, the one ``revenue`` falls in marked ``current``."""
    rows = []
    for band in bands:
        b = band if isinstance(band, dict) else band.model_dump()
        upper = b.get("max")
        inside = not _missing(revenue) and revenue >= b["min"] and (upper is None or revenue < upper)
        rows.append({"range": (f"{money(b['min'], currency)} and up" if upper is None else
                               f"{money(b['min'], currency)} to {money(upper, currency)}"),
                     "rate": f"{b['rate']:.1%}", "current": bool(inside)})
    return rows


def _tier_text(row: pd.Series, params: Params) -> str:
    """Why the partner's score supports its tier (or another), in numbers, without the internal action."""
    t = params.partners.tiers
    score, current, recommended = row.get("score"), row.get("current_tier"), row.get("recommended_tier")
    if _missing(score):
        return "There is too little data for a score this quarter, so your tier stays as it is."
    names = t.names
    thresholds = dict(zip(names[1:], t.thresholds))
    s = f"Your score of {score:.0f}"
    if current not in names:
        return f"{s} corresponds to {recommended}."
    if recommended == current:
        return (f"{s} supports your tier, {current}. Tiers move only when a score passes a tier's threshold by "
                f"more than {t.band:g} points, so a small change does not move you.")
    if recommended in names and names.index(recommended) > names.index(current):
        return (f"{s} is above {recommended}'s threshold of {thresholds[recommended]:g} by at least {t.band:g} "
                f"points: it supports {recommended}, above your tier, {current}.")
    low = thresholds.get(str(current), 0.0)
    return (f"{s} is more than {t.band:g} points below {current}'s threshold of {low:g}: it supports "
            f"{recommended}, below your tier, {current}.")


def _indicator_rows(row: pd.Series, bench: pd.DataFrame, currency: str) -> list[dict[str, Any]]:
    rows = []
    for indicator in INDICATORS:
        if indicator not in row or _missing(row.get(indicator)):
            continue
        b = bench[bench["indicator"] == indicator]
        points = row.get(f"points_{indicator}")
        rows.append({
            "label": label(indicator).capitalize(), "meaning": MEANING.get(indicator, ""),
            "value": fmt(indicator, float(row[indicator]), currency),
            "points": "" if _missing(points) else f"{float(points):.0f}",
            "q1": fmt(indicator, float(b["q1"].iloc[0]), currency) if len(b) else "",
            "median": fmt(indicator, float(b["median"].iloc[0]), currency) if len(b) else "",
            "q3": fmt(indicator, float(b["q3"].iloc[0]), currency) if len(b) else "",
            "position": _position(float(row[indicator]), b),
        })
    return rows


def _position(value: float, bench: pd.DataFrame) -> str:
    if bench.empty:
        return "too few peers to compare"
    q1, median, q3 = (float(bench[c].iloc[0]) for c in ("q1", "median", "q3"))
    if value >= q3:
        return "top quarter of your peers"
    if value >= median:
        return "above your peers' median"
    if value >= q1:
        return "below your peers' median"
    return "bottom quarter of your peers"


def _strengths(row: pd.Series) -> tuple[list[str], list[str]]:
    """Indicators that carry the score (70+ points) and those to improve (below 30), strongest / weakest first."""
    scored = [(float(row[f"points_{i}"]), i) for i in INDICATORS
              if f"points_{i}" in row and not _missing(row.get(f"points_{i}"))]
    strong = [label(i) for p, i in sorted(scored, reverse=True) if p >= 70]
    weak = [label(i) for p, i in sorted(scored) if p < 30]
    return strong, weak


def page_context(row: pd.Series, history: pd.DataFrame, amounts: pd.DataFrame, bench: pd.DataFrame,
                 params: Params, name: str) -> dict[str, Any]:
    """Everything one partner's page shows, from its own rows only (``bench``: its peer group's benchmarks)."""
    currency = params.currency
    quarter = pd.Timestamp(row["quarter"])
    level = str(bench["peer_level"].iloc[0]) if len(bench) else str(row.get("peer_level", ""))
    region = str(bench["peer_region"].iloc[0]) if len(bench) else str(row.get("region", ""))
    channel = str(bench["peer_channel"].iloc[0]) if len(bench) else str(row.get("channel", ""))
    channel_name = display_name(channel, params.display.channels)
    peers = (f"partners in {region} selling through {channel_name}" if level == "region x channel" else
             f"{channel_name} partners in all regions" if level == "channel" else "all our partners")
    score_bench = bench[bench["indicator"] == "score"]
    latest = amounts.sort_values("quarter").tail(1)
    incentive = None
    if len(latest):
        a = latest.iloc[0]
        bands = schedule(params.partners.incentives, a.get("tier"), a.get("channel"))
        incentive = {
            "quarter": periods.label(pd.Timestamp(a["quarter"]), "quarter"),
            "revenue": money(a["revenue"], currency), "rebate": money(a["rebate"], currency),
            "rate": f"{a['rebate_rate']:.1%}", "bonus": money(a["bonus"], currency),
            "bonus_rules": str(a.get("bonus_rules") or "").replace("_", " "),
            "penalty": money(a["penalty"], currency),
            "penalty_rules": str(a.get("penalty_rules") or "").replace("_", " "),
            "total": money(a["total"], currency), "bands": band_rows(bands, float(a["revenue"]), currency),
            "basis": ("the whole quarter's revenue earns the rate of the band it reaches"
                      if params.partners.incentives.rebate_basis == "all"
                      else "each band's rate applies to the revenue inside that band"),
            "next": None if _missing(a.get("to_next_band")) else {
                "more": money(a["to_next_band"], currency), "at": money(a["next_band_min"], currency),
                "rate": f"{a['next_band_rate']:.1%}"},
        }
    strong, weak = _strengths(row)
    return {
        "title": f"{name}: your partner scorecard, {periods.label(quarter, 'quarter')}",
        "name": name, "partner_id": str(row["partner_id"]), "quarter": periods.label(quarter, "quarter"),
        "company": params.name, "currency": currency,
        "score": "n/a" if _missing(row.get("score")) else f"{float(row['score']):.0f}",
        "score_q1": f"{float(score_bench['q1'].iloc[0]):.0f}" if len(score_bench) else "",
        "score_median": f"{float(score_bench['median'].iloc[0]):.0f}" if len(score_bench) else "",
        "score_q3": f"{float(score_bench['q3'].iloc[0]):.0f}" if len(score_bench) else "",
        "peers": peers, "n_peers": int(score_bench["n"].iloc[0]) if len(score_bench) else 0,
        "current_tier": str(row.get("current_tier") or "none"),
        "recommended_tier": str(row.get("recommended_tier") or "n/a"),
        "tier_text": _tier_text(row, params), "strong": strong, "weak": weak,
        "indicators": _indicator_rows(row, bench, currency),
        "history": [{"quarter": periods.label(pd.Timestamp(q), "quarter"),
                     "score": "n/a" if _missing(s) else f"{float(s):.0f}", "tier": t or ""}
                    for q, s, t in zip(history["quarter"], history["score"], history.get("tier", [""] * len(history)))],
        "incentive": incentive, "window": params.partners.scorecard.window_quarters,
        "min_peers": params.partners.scorecard.min_peers,
    }


def render_page(context: dict[str, Any]) -> str:
    """One partner's page (the ``partner.html.j2`` template; every value escaped)."""
    return _templates().get_template("partner.html.j2").render(**context)


def _file_names(ids: list[str]) -> dict[str, str]:
    """partner_id -> a file name safe on every system (``P00001.html``), unique without regard to case."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for pid in ids:
        base, n = re.sub(r"[^A-Za-z0-9._-]+", "-", pid).strip("-.") or "partner", 1
        slug = base
        while slug.lower() in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug.lower())
        names[pid] = f"{slug}.html"
    return names


def write_partner_pages(con: duckdb.DuckDBPyConnection, params: Params, folder: Path) -> dict[str, Path]:
    """Write one page per scored partner into ``folder``; return partner_id -> page.

    Raises :class:`~chanlib.errors.MissingInput` when the store holds no partner scorecard.
    """
    if not store.has_result(con, "partner_scorecard"):
        reason = store.omitted(con, "partners").get("*", "the store holds no partner scorecard")
        raise MissingInput("partners", reason)
    started = time.perf_counter()
    card = store.read_result(con, "partner_scorecard")
    history = store.read_result(con, "partner_scores")
    amounts = (store.read_result(con, "partner_incentives") if store.has_result(con, "partner_incentives")
               else pd.DataFrame(columns=["partner_id", "quarter"]))
    bench = store.read_result(con, "partner_benchmarks")
    if len(bench):
        bench = bench[pd.to_datetime(bench["quarter"]) == pd.to_datetime(card["quarter"]).max()]
    levels = history.sort_values("quarter").groupby("partner_id").tail(1).set_index("partner_id")
    by_partner = {pid: g.sort_values("quarter") for pid, g in history.groupby("partner_id")}
    paid = {pid: g for pid, g in amounts.groupby("partner_id")}
    groups = {key: g for key, g in bench.groupby(["peer_level", "peer_region", "peer_channel"])}
    folder.mkdir(parents=True, exist_ok=True)
    template = _templates().get_template("partner.html.j2")
    files = _file_names([str(p) for p in card["partner_id"]])
    written: dict[str, Path] = {}
    for _, row in card.iterrows():
        pid = str(row["partner_id"])
        own = levels.loc[pid] if pid in levels.index else row
        key = (str(own.get("peer_level", "")), str(own.get("peer_region", "*")), str(own.get("peer_channel", "*")))
        peer_bench = groups.get(key, bench.iloc[0:0])
        name = str(row["name"]) if "name" in row and not _missing(row["name"]) else pid
        context = page_context(row, by_partner.get(pid, history.iloc[0:0]), paid.get(pid, amounts.iloc[0:0]),
                               peer_bench, params, name)
        path = folder / files[pid]
        write_text(path, template.render(**context))
        written[pid] = path
    log.info("partner pages: %d written to %s in %.1f s", len(written), folder, time.perf_counter() - started)
    return written

