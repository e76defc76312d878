"""The store build: one pipeline from raw exports to a store holding every cross-region result.

::

    ingest (load, map, validate)  ->  each registered analysis  ->  metadata  ->  atomic move into place

*Compute once, render many*: every analysis in :data:`ANALYSES` runs once per build over the clean tables and is kept
as ``result_<name>`` tables, which region notebooks and the report index read. An analysis whose input is absent
raises :class:`~chanlib.errors.MissingInput`; the build records the reason in ``result_omitted`` (and the log), and a
report section turns it into a one-line note. Nothing is written until the whole build succeeded: the store and its
rejects folder are built under temporary names and renamed into place.

This module sits above the data and analytics layers (it imports both) and below the report layer and the CLI.

Examples
--------
>>> [a.name for a in ANALYSES][:4]
['headline', 'monthly_channel', 'channel_mix', 'kpi_region_channel_quarter']
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from chanlib.analytics import kpi
from chanlib.config import Params
from chanlib.data import ingest, store
from chanlib.errors import MissingInput
from chanlib.io import atomic_path

log = logging.getLogger(__name__)


@dataclass
class Result:
    """What one analysis produced: result tables by name, and what it left out (item -> reason)."""

    tables: dict[str, pd.DataFrame]
    left_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildContext:
    """What an analysis may need beyond the clean tables: the params and the store being replaced (for history)."""

    params: Params
    previous: Path | None = None


@dataclass(frozen=True)
class Analysis:
    """One registered analysis: ``run(con, context)`` over the clean tables of the store being built."""

    name: str
    run: Callable[[duckdb.DuckDBPyConnection, BuildContext], Result]
    doc: str = ""


def _kpi_cube(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
    table = kpi.kpi_table(con, ["region", "channel"], "quarter")
    return Result({"kpi_region_channel_quarter": table.frame}, table.left_out)


def _forecasts(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
    settings = ctx.params.forecast
    if not settings.enabled:
        raise MissingInput("forecast", "forecasting is switched off in params (forecast.enabled: false)")
    from chanlib.analytics.forecast import hierarchy  # statsmodels/scipy: imported only when a build forecasts

    history = previous_forecasts(ctx.previous)
    return Result(hierarchy.run_forecasts(con, settings, history=history,
                                          tolerance_days=ctx.params.periods.complete_tolerance_days,
                                          dask=ctx.params.dask))  # on the Dask cluster of dask.scheduler, if any


def _partners(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
    from chanlib.analytics.partners import partner_results

    result = partner_results(con, ctx.params.partners, tolerance_days=ctx.params.periods.complete_tolerance_days,
                             min_growth_base=ctx.params.periods.min_growth_base,
                             slack_days=ctx.params.periods.coverage_slack_days, currency=ctx.params.currency)
    return Result(result.tables, result.left_out)


def _segments(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
    from chanlib.analytics.segment import segment_partners  # scikit-learn: imported only when a build runs

    result = segment_partners(con, ctx.params.segment)
    return Result(result.tables(), result.left_out)


def _abc_xyz(column: str) -> Callable[[duckdb.DuckDBPyConnection, BuildContext], Result]:
    def run(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
        from chanlib.analytics.segment import abc_xyz_table

        name = "abc_xyz_partners" if column == "partner_id" else "abc_xyz_products"
        return Result({name: abc_xyz_table(con, column, ctx.params.segment,
                                           tolerance_days=ctx.params.periods.complete_tolerance_days)})
    return run


def _customer_rfm(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
    from chanlib.analytics.segment import customer_rfm

    return Result({"customer_rfm": customer_rfm(con, ctx.params.segment)})


ANALYSES: tuple[Analysis, ...] = (
    Analysis("headline", lambda con, ctx: Result({"headline": kpi.headline(
        con, ctx.params.periods.window_months, slack_days=ctx.params.periods.coverage_slack_days)}),
             "headline KPIs per region over the trailing window"),
    Analysis("monthly_channel", lambda con, ctx: Result({"monthly_channel": kpi.monthly_by_channel(con)}),
             "monthly revenue per region and channel"),
    Analysis("channel_mix",
             lambda con, ctx: Result({"channel_mix": kpi.channel_mix(con, ctx.params.periods.window_months)}),
             "channel shares per region over the trailing window"),
    Analysis("kpi_region_channel_quarter", _kpi_cube, "the KPI cube by region x channel x quarter"),
    Analysis("segment_partners", _segments, "partner segments, profiles and their 2-D map"),
    Analysis("abc_xyz_partners", _abc_xyz("partner_id"), "ABC/XYZ classes of partners per region"),
    Analysis("abc_xyz_products", _abc_xyz("product_id"), "ABC/XYZ classes of products per region"),
    Analysis("customer_rfm", _customer_rfm, "customer RFM scores and segments per region"),
    Analysis("partners", _partners,
             "partner scorecards, tiers and actions, incentives, contracts and the candidate shortlist"),
    Analysis("forecast", _forecasts, "reconciled forecasts of every hierarchy node, and their accuracy history"),
    Analysis("alerts", lambda con, ctx: _alerts(con, ctx),
             "early warnings: rule and statistical alerts with severity, evidence, response and state"),
)


def _alerts(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> Result:
    """This build's alerts (after the forecasts: it reads the forecasts kept in this store), compared with the
    alerts of the store being replaced."""
    import datetime as dt

    from chanlib.analytics import alerts

    params = ctx.params
    tables, left_out = alerts.run_alerts(
        con, params.alerts, currency=params.currency, window_months=params.periods.window_months,
        tolerance_days=params.periods.complete_tolerance_days, previous=previous_result(ctx.previous, "alerts"),
        history=previous_result(ctx.previous, "alert_history"),
        build=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    return Result(tables, left_out)


def previous_result(previous: Path | None, name: str) -> pd.DataFrame:
    """Result ``name`` of the store being replaced (empty when there is none, it lacks the result or it is
    unreadable)."""
    if previous is None or not Path(previous).exists():
        return pd.DataFrame()
    try:
        con = store.connect(previous)
    except duckdb.Error as exc:
        log.warning("previous store %s unreadable (%s): %s starts afresh", previous, exc, name)
        return pd.DataFrame()
    try:
        return store.read_result(con, name) if store.has_result(con, name) else pd.DataFrame()
    finally:
        con.close()


def previous_forecasts(previous: Path | None) -> pd.DataFrame:
    """The forecast history kept in the store being replaced (empty when there is none or it is unreadable)."""
    if previous is None or not Path(previous).exists():
        return pd.DataFrame()
    try:
        con = store.connect(previous)
    except duckdb.Error as exc:
        log.warning("previous store %s unreadable (%s): forecast history starts afresh", previous, exc)
        return pd.DataFrame()
    try:
        if not store.has_result(con, "forecast_history"):
            return pd.DataFrame()
        return store.read_result(con, "forecast_history")
    finally:
        con.close()


def run_analyses(con: duckdb.DuckDBPyConnection, params: Params, previous: Path | None = None,
                 analyses: tuple[Analysis, ...] = ANALYSES) -> list[tuple[str, str, str]]:
    """Run every analysis over the clean tables in ``con`` and store its results; return what was left out."""
    context = BuildContext(params=params, previous=previous)
    omitted: list[tuple[str, str, str]] = []
    for analysis in analyses:
        try:
            result = analysis.run(con, context)
        except MissingInput as exc:
            log.info("analysis %s left out: %s", analysis.name, exc.reason)
            omitted.append((analysis.name, "*", exc.reason))
            continue
        omitted += [(analysis.name, item, why) for item, why in result.left_out.items()]
        for table, frame in result.tables.items():
            store.write_frame(con, store.result_table(table), frame)
            log.info("analysis %s: %d rows", table, len(frame))
    store.write_omitted(con, omitted)
    return omitted


def build_store(params: Params, analyses: tuple[Analysis, ...] = ANALYSES) -> ingest.QualityReport:
    """Build the store of ``params``: ingest, every analysis, metadata, then move it (and its rejects) into place.

    On any error nothing is written: the old store, if any, stays as it was.
    """
    target = Path(params.store)
    with atomic_path(ingest.rejects_dir(target)) as tmp_rejects, atomic_path(target) as tmp:
        tmp_rejects.mkdir()
        try:
            con = duckdb.connect(str(tmp), config=store.engine_config(params))  # out of core (duckdb:)
            try:
                quality = ingest.load_all(con, params)
                ingest.write_rejects(con, quality, tmp_rejects)
                run_analyses(con, params, previous=target, analyses=analyses)
                store.write_meta(con, params, quality)
                con.execute("CHECKPOINT")
            finally:
                con.close()
        except BaseException:
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
    log.info("store written: %s", target)
    return quality


def ensure(params: Params, force: bool = False) -> Path:
    """Build the store when it is missing, stale or ``force`` is set; return its path."""
    if force or not store.is_fresh(params):
        log.info("building store %s", params.store)
        build_store(params)
    else:
        log.info("store %s is up to date", params.store)
    return Path(params.store)
