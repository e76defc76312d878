"""The analyst's handle on a store: ``chanlib.open()`` in a notebook, plain pandas DataFrames out.

::

    import chanlib

    wb = chanlib.open()            # params/default.yaml; the store is built or refreshed first, as the CLI does
    wb                             # what the store holds: data set, period covered, tables and rows, when built
    wb.kpis(by=["region", "channel"], period="quarter")
    wb.forecasts(level="region")

Every method returns a new DataFrame from the same engine as the command line: ``.kpis`` is ``chanlib kpi``
(:func:`chanlib.analytics.kpi.kpi_table`), ``.forecasts`` is ``chanlib forecast``, ``.segments`` is ``chanlib
segment``. What a build computes once for all regions (forecasts and their accuracy, partner segments, ABC/XYZ
classes, customer RFM, and, where this chanlib has them, partner scorecards and alerts) is read from the store; the
rest (sales, KPIs, product fit, planning, period evaluation) is computed on the store's clean tables with the
params' settings, so it answers any slice at once. The store is opened read-only: any number of notebooks can read it
while ``chanlib report`` runs.

An input the store lacks raises :class:`~chanlib.errors.MissingInput` with the reason a build recorded (for example
"forecasting is switched off in params (forecast.enabled: false)"); a wrong argument raises
:class:`~chanlib.errors.DataError` naming the values that would work.

Formats (one row per ...): ``sales`` -- the clean sales table (the data contract, ``chanlib/data/schema.py``);
``kpis`` -- group (and period), KPI columns as documented in :func:`~chanlib.analytics.kpi.kpi_table`, with
``frame.attrs["left_out"]`` saying which KPIs are left out and why; ``forecasts`` -- series x future period in the
long format ``unique_id, ds, model, yhat, lo_<l>, hi_<l>, level, cutoff`` plus the series' ``region, channel,
partner_id``; ``segments`` -- partner; ``abc_xyz`` -- region x partner (or product); ``rfm`` -- region x customer.

Examples
--------
>>> wb = example()
>>> wb.regions(), wb.channels()
(['East', 'West'], ['shop', 'web'])
>>> wb.kpis(by=["region"], period="year")[["region", "period", "revenue", "growth_yoy"]].round(3)
  region     period  revenue  growth_yoy
0   East 2024-01-01   1800.0         NaN
1   East 2025-01-01   2040.0       0.133
2   West 2024-01-01   1200.0         NaN
3   West 2025-01-01   1440.0       0.200
"""
from __future__ import annotations

import datetime as dt
import functools
import html
import logging
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

import duckdb
import pandas as pd
import yaml

from chanlib.analytics import kpi, planning
from chanlib.analytics import period_evaluation as evaluation
from chanlib.analytics import product_fit as fit
from chanlib.build import ensure
from chanlib.config import Params, default_params_path, load_params
from chanlib.data import store
from chanlib.data.schema import TABLES
from chanlib.errors import DataError, MissingInput
from chanlib.periods import Grain

log = logging.getLogger(__name__)

#: the result tables (and the build analyses that write them) of the partner and alert capabilities; a method reads
#: them when the store has them
SCORECARD_RESULT, SCORECARD_ANALYSIS = "partner_scorecard", "partners"
ALERTS_RESULT, ALERTS_ANALYSIS = "alerts", "alerts"


class Workbench:
    """A read-only view of one store, built or refreshed from ``params`` when it is missing or stale (see
    :func:`chanlib.open`). ``store_path`` reads that store as it is, without building it.

    Close it with :meth:`close` (or use it in a ``with`` block); a notebook that ends closes it anyway.
    """

    def __init__(self, params: Params, store_path: str | Path | None = None) -> None:
        self.params = params
        if store_path is None:
            store_path = ensure(params)
        self.store_path = Path(store_path)
        self._con: duckdb.DuckDBPyConnection | None = store.connect(self.store_path)
        self.meta: dict[str, Any] = store.read_meta(self._con)

    # -- opening and closing ------------------------------------------------------------------------------------------

    @classmethod
    def from_frames(cls, tables: Mapping[str, pd.DataFrame], folder: str | Path | None = None,
                    settings: Mapping[str, Any] | None = None, name: str = "frames",
                    currency: str = "EUR") -> Workbench:
        """A workbench over a store built from DataFrames in the data contract's columns (``{"sales": frame,
        "products": frame, ...}``): each frame is written as Parquet to ``folder`` (default: a new temporary folder)
        with a params file whose other settings are ``settings`` (e.g. ``{"forecast": {"enabled": False}}``), and
        the store is built there as ``chanlib ingest`` would.

        >>> sales = pd.DataFrame({"date": pd.to_datetime(["2025-01-31", "2025-02-28"]), "region": "East",
        ...                       "channel": "web", "revenue": [10.0, 12.0]})
        >>> wb = Workbench.from_frames({"sales": sales}, settings={"forecast": {"enabled": False}})
        >>> wb.sales()[["date", "revenue"]].to_dict("list")["revenue"]
        [10.0, 12.0]
        >>> wb.close()
        """
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise DataError(f"unknown table(s) {', '.join(unknown)} (known: {', '.join(TABLES)})")
        folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="chanlib-"))
        folder.mkdir(parents=True, exist_ok=True)
        raw: dict[str, Any] = {"name": name, "currency": currency, "store": "chanlib.duckdb", "tables": {}}
        for table, frame in tables.items():
            frame.to_parquet(folder / f"{table}.parquet", index=False)
            raw["tables"][table] = {"path": f"{table}.parquet"}
        raw.update(settings or {})
        (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return cls(load_params(folder / "params.yaml"))

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The read-only connection to the store (for SQL of your own: ``wb.con.sql("SELECT ...").df()``)."""
        if self._con is None:
            raise DataError(f"{self.store_path}: this workbench is closed; open it again with chanlib.open()")
        return self._con

    def close(self) -> None:
        """Close the connection to the store; the workbench reads nothing more.

        >>> wb = Workbench.from_frames(example_tables(), settings={"forecast": {"enabled": False}})
        >>> wb.close()
        >>> wb.regions()
        Traceback (most recent call last):
        ...
        chanlib.errors.DataError: ...: this workbench is closed; open it again with chanlib.open()
        """
        if self._con is not None:
            self._con.close()
            self._con = None

    def refresh(self) -> Workbench:
        """Rebuild the store if its inputs, params or chanlib's code changed since it was built, and read the new
        one (a no-op when it is up to date).

        >>> wb = Workbench.from_frames(example_tables(), settings={"forecast": {"enabled": False}})
        >>> built = wb.built
        >>> wb.refresh().built == built  # nothing changed: not rebuilt
        True
        """
        path = ensure(self.params)
        self.close()
        self.store_path = Path(path)
        self._con = store.connect(self.store_path)
        self.meta = store.read_meta(self._con)
        return self

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the store holds ------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The data set's name (the params' ``name`` the store was built with)."""
        return str(self.meta.get("name") or self.params.name)

    @property
    def currency(self) -> str:
        """The one currency of every amount."""
        return str(self.meta.get("currency") or self.params.currency)

    @property
    def built(self) -> dt.datetime:
        """When the store was built (UTC; the file's modification time for a store built before this was kept).

        >>> example().built.tzinfo is not None
        True
        """
        if self.meta.get("built"):
            return dt.datetime.fromisoformat(str(self.meta["built"]))
        return dt.datetime.fromtimestamp(self.store_path.stat().st_mtime, dt.UTC)

    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last sale date.

        >>> [str(d.date()) for d in example().period()]
        ['2024-01-01', '2025-12-31']
        """
        return store.date_bounds(self.con)

    def regions(self) -> list[str]:
        """Every region with sales, sorted.

        >>> example().regions()
        ['East', 'West']
        """
        return store.regions(self.con)

    def channels(self) -> list[str]:
        """Every channel with sales, sorted.

        >>> example().channels()
        ['shop', 'web']
        """
        return [c for (c,) in self.con.execute("SELECT DISTINCT channel FROM sales ORDER BY channel").fetchall()]

    def tables(self) -> pd.DataFrame:
        """The store's tables and their rows: ``table, kind`` (data: a clean input table; result: computed by the
        build) ``, rows``.

        >>> wb = example()
        >>> _ = wb.kpis(by=["region"])  # the KPI engine's temporary views are not listed
        >>> t = wb.tables()
        >>> sorted(t["table"][t["kind"] == "data"])
        ['products', 'sales']
        >>> t[t["table"].isin(["sales", "result_headline"])].values.tolist()
        [['sales', 'data', 192], ['result_headline', 'result', 2]]
        """
        names = sorted(n for (n,) in self.con.execute(  # not the temporary views the KPI engine leaves
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = current_schema()").fetchall() if n != store.META_TABLE)
        rows = [(n, "result" if n.startswith("result_") else "data",
                 int(self.con.execute(f"SELECT count(*) FROM {store.quote_ident(n)}").fetchall()[0][0]))
                for n in names]
        frame = pd.DataFrame(rows, columns=["table", "kind", "rows"])
        return frame.sort_values(["kind", "table"], kind="stable").reset_index(drop=True)

    def result(self, name: str, region: str | None = None, analysis: str | None = None) -> pd.DataFrame:
        """A stored result by name (``wb.tables()`` lists them as ``result_<name>``), optionally one region's rows.
        When the store lacks it, :class:`~chanlib.errors.MissingInput` gives the reason the build recorded for the
        analysis that writes it (``analysis``, default: the one named like the result).

        >>> example().result("headline", "West")["revenue"].tolist()
        [1440.0]
        """
        if not store.has_result(self.con, name):
            raise MissingInput(store.result_table(name), self._why_absent(name, analysis))
        return store.read_result(self.con, name, region)

    # -- the data ------------------------------------------------------------------------------------------------------

    def sales(self, region: str | Iterable[str] | None = None, channel: str | Iterable[str] | None = None,
              start: Any = None, end: Any = None) -> pd.DataFrame:
        """The clean sales rows of the regions and channels given (a name or a list; default: all), from ``start`` to
        ``end`` (dates, both included; default: all), sorted by date, region and channel.

        >>> s = example().sales(region="East", channel="web", start="2025-11-01")
        >>> s[["date", "region", "channel", "revenue"]].astype({"date": str}).values.tolist()
        [['2025-11-01', 'East', 'web', 30.0], ['2025-11-30', 'East', 'web', 30.0],
         ['2025-12-01', 'East', 'web', 30.0], ['2025-12-31', 'East', 'web', 30.0]]
        """
        where, args = [], []
        for column, wanted in (("region", region), ("channel", channel)):
            if wanted is None:
                continue
            names = [wanted] if isinstance(wanted, str) else list(wanted)
            known = self.regions() if column == "region" else self.channels()
            unknown = [n for n in names if n not in known]
            if unknown:
                raise DataError(f"{self.store_path}: no sales for {column} {', '.join(map(repr, unknown))}; "
                                f"{column}s: {', '.join(known)}")
            where.append(f"{column} IN (SELECT unnest(?))")
            args.append(names)
        for op, value in ((">=", start), ("<=", end)):
            if value is not None:
                where.append(f"date {op} CAST(? AS DATE)")
                args.append(pd.Timestamp(value).date())
        sql = "SELECT * FROM sales" + (f" WHERE {' AND '.join(where)}" if where else "")
        return self.con.execute(sql + " ORDER BY date, region, channel", args).df()

    def kpis(self, by: Iterable[str] = (), period: str | None = None) -> pd.DataFrame:
        """Every KPI whose inputs the store has, grouped by ``by`` (region, channel, channel_type, model, market,
        partner, product, category) and optionally per ``period`` (month, quarter or year): the same engine and
        table as ``chanlib kpi --by ... --period ...`` (:func:`chanlib.analytics.kpi.kpi_table`). KPIs left out,
        with the reason, are in ``frame.attrs["left_out"]``.

        >>> k = example().kpis(by=["channel"])
        >>> k[["channel", "revenue", "margin_pct"]].values.tolist()
        [['shop', 4440.0, 0.4], ['web', 2040.0, 0.4]]
        >>> k.attrs["left_out"]["targets"]
        'the store has no targets table'
        """
        table = kpi.kpi_table(self.con, list(by), period)
        frame = table.frame.copy()
        frame.attrs["left_out"] = dict(table.left_out)
        return frame

    # -- forecasts ---------------------------------------------------------------------------------------------------

    def forecasts(self, level: str | None = None) -> pd.DataFrame:
        """The build's reconciled forecasts of every hierarchy node (total, region, channel, partner), or of one
        ``level``: the rows of ``chanlib forecast --out`` (``unique_id, ds, model, yhat, lo_<l>, hi_<l>, level,
        cutoff``) followed by the node's ``region``, ``channel`` and ``partner_id`` where the hierarchy has them.

        >>> f = example().forecasts(level="region")
        >>> sorted(f["unique_id"].unique()), len(f), str(f["ds"].min().date())
        (['East', 'West'], 24, '2026-01-01')
        """
        frame = self.result("forecast")
        levels = list(dict.fromkeys(frame["level"]))
        if level is not None:
            if level not in levels:
                raise DataError(f"no forecasts at level {level!r}; levels: {', '.join(levels)}")
            frame = frame[frame["level"] == level]
        bounds = [c for c in frame.columns if c.startswith(("lo_", "hi_"))]
        frame = frame[["unique_id", "ds", "model", "yhat", *bounds, "level", "cutoff"]]
        if store.has_result(self.con, "forecast_nodes"):
            nodes = store.read_result(self.con, "forecast_nodes")
            keys = [c for c in ("region", "channel", "partner_id") if c in nodes]
            frame = frame.merge(nodes[["unique_id", *keys]], on="unique_id", how="left")
        return frame.reset_index(drop=True)

    def accuracy(self, kind: Literal["backtest", "realised"] = "backtest") -> pd.DataFrame:
        """How good the forecasts are. ``backtest`` (default): per series, the chosen model, its flag and its
        rolling-origin backtest score against the benchmark (``unique_id, model, flag, score, benchmark_score,
        windows, season_length, n_obs, filled, level``; the scores are NaN without a backtest, which is the default:
        ``forecast.backtest_windows: 0``). ``realised``: earlier builds' forecasts scored against the
        actuals that arrived since, per cutoff, level and model (empty until a later build has new actuals).

        >>> a = example().accuracy()
        >>> a.loc[a["unique_id"] == "East", ["model", "flag"]].values.tolist()
        [['seasonal_naive', 'ok']]
        >>> example().accuracy("realised").empty
        True
        """
        names = {"backtest": "forecast_selection", "realised": "forecast_accuracy"}
        if kind not in names:
            raise DataError(f"accuracy kind must be one of {', '.join(names)}, not {kind!r}")
        self.result("forecast")  # the reason forecasts are absent, when they are
        return self.result(names[kind])

    # -- segments ------------------------------------------------------------------------------------------------------

    def segments(self) -> pd.DataFrame:
        """Partner segments, computed once by the build: the rows of ``chanlib segment --out`` (``partner_id,
        segment_id, segment_name`` and the features in their own units) followed by the partner's ``region`` and its
        place on the 2-D map (``pc1, pc2``).

        >>> s = example().segments()
        >>> list(s.columns[:3]), len(s)
        (['partner_id', 'segment_id', 'segment_name'], 4)
        """
        return self.result("segment_partners")

    def abc_xyz(self, what: Literal["partners", "products"] = "partners") -> pd.DataFrame:
        """ABC (share of revenue) and XYZ (variability of monthly demand) classes of partners or products within
        each region: ``region, <partner_id|product_id>, revenue, share, cum_share, abc, months, mean, cv, xyz``.

        >>> c = example().abc_xyz()
        >>> c.loc[c["region"] == "East", ["partner_id", "abc"]].values.tolist()
        [['E1', 'A'], ['E2', 'A']]
        """
        if what not in ("partners", "products"):
            raise DataError(f"abc_xyz: what must be 'partners' or 'products', not {what!r}")
        return self.result(f"abc_xyz_{what}")

    def rfm(self) -> pd.DataFrame:
        """Customer recency, frequency and monetary value, scored and named within each region: ``region,
        customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_score, rfm_cluster,
        rfm_segment``.

        >>> r = example().rfm()
        >>> sorted(r["customer_id"].unique())
        ['C1', 'C2', 'C3', 'C4']
        """
        return self.result("customer_rfm")

    # -- channel evaluation ----------------------------------------------------------------------------------------

    def fit(self, region: str | None = None, recommendations: bool = False) -> pd.DataFrame:
        """Product-channel fit over the last ``periods.window_months`` complete months, for all regions together or
        one ``region``: the category x channel matrix (revenue, share index, expected revenue, gap, margins), or
        with ``recommendations`` the ranked grow/develop/review actions
        (:mod:`chanlib.analytics.product_fit`).

        >>> m = example().fit()
        >>> m[["category", "channel", "share_index"]].round(2).values.tolist()[:2]
        [['bikes', 'shop', 1.53], ['parts', 'web', 2.9]]
        """
        settings = self.params.periods
        matrix = fit.fit_matrix(self.con, region=region, months=settings.window_months,
                                tolerance_days=settings.complete_tolerance_days)
        return fit.recommendations(matrix, self.params.fit) if recommendations else matrix

    def planning(self, region: str | None = None,
                 kind: Literal["coverage", "white_space", "untapped"] = "coverage") -> pd.DataFrame:
        """Regional planning over the last ``periods.window_months`` complete months with the params' ``planning``
        settings: ``coverage`` (per region x channel: partners, served market, penetration and the peer
        benchmark), ``white_space`` (the under-penetrated cells ranked by headroom) or ``untapped`` (channels a
        region does not sell in); see :mod:`chanlib.analytics.planning`. Needs the ``market`` table.

        >>> example().planning()
        Traceback (most recent call last):
        ...
        chanlib.errors.MissingInput: the store has no market table (regional planning needs market sizes)
        """
        s, w = self.params.planning, self.params.periods
        common: dict[str, Any] = {"region": region, "months": w.window_months,
                                  "tolerance_days": w.complete_tolerance_days,
                                  "benchmark_quantile": s.benchmark_quantile, "min_peers": s.min_peers}
        if kind == "coverage":
            return planning.coverage(self.con, partners_per=s.partners_per, **common)
        if kind == "white_space":
            return planning.white_space(self.con, top_n=s.top_n, **common)
        if kind == "untapped":
            return planning.untapped(self.con, **common)
        raise DataError(f"planning kind must be coverage, white_space or untapped, not {kind!r}")

    def evaluation(self, period: Grain | None = None, region: str | None = None,
                   split: Literal["comparison", "share_shift", "price_volume_mix"] = "comparison",
                   against: Literal["last_year", "previous"] = "last_year", as_of: Any = None) -> pd.DataFrame:
        """The latest complete ``period`` (month, quarter or year; default the params' ``evaluation.period``) up to
        ``as_of`` (default: the last sale) against the previous one and last year, per region and channel
        (``comparison``), or its change split into market growth and share shift (``share_shift``) or into price,
        volume and mix (``price_volume_mix``, needs units) against last year or the previous period
        (:mod:`chanlib.analytics.period_evaluation`).

        >>> e = example().evaluation("quarter", region="West")
        >>> str(e["period_start"].iloc[0].date())
        '2025-10-01'
        >>> e[["channel", "revenue", "revenue_ly", "growth_ly"]].values.tolist()
        [['shop', 240.0, 240.0, 0.0], ['web', 120.0, 60.0, 1.0]]
        >>> p = example().evaluation("quarter", region="West", split="price_volume_mix", as_of="2025-06-30")
        >>> str(p["period_start"].iloc[0].date())
        '2025-04-01'
        >>> p[["channel", "change", "price_effect", "volume_effect", "mix_effect"]].round(1).values.tolist()
        [['shop', 0.0, 0.0, 48.0, -48.0], ['web', 60.0, 0.0, 12.0, 48.0]]
        """
        grain = cast(Grain, period or self.params.evaluation.period)
        args: dict[str, Any] = {"region": region, "as_of": as_of,
                                "tolerance_days": self.params.periods.complete_tolerance_days,
                                "slack_days": self.params.periods.coverage_slack_days}
        if split == "comparison":
            return evaluation.period_comparison(self.con, grain, **args)
        if split == "share_shift":
            return evaluation.share_shift_decomposition(self.con, grain, against=against, **args)
        if split == "price_volume_mix":
            return evaluation.price_volume_mix(self.con, grain, against=against, **args)
        raise DataError(f"evaluation split must be comparison, share_shift or price_volume_mix, not {split!r}")

    # -- capabilities added by other modules ------------------------------------------------------------------------

    def scorecard(self) -> pd.DataFrame:
        """The partner scorecards a build computed (``result_partner_scorecard``, one row per partner, as
        ``chanlib scorecard`` writes them). Raises :class:`~chanlib.errors.MissingInput` with the build's reason
        when the store has none (for example, sales without partners).

        >>> sorted(example().scorecard()["partner_id"])
        ['E1', 'E2', 'W1', 'W2']
        """
        return self.result(SCORECARD_RESULT, analysis=SCORECARD_ANALYSIS)

    def alerts(self) -> pd.DataFrame:
        """The early warnings a build raised (``result_alerts``, as ``chanlib alerts`` writes them). Raises
        :class:`~chanlib.errors.MissingInput` with the build's reason when the store has none.

        >>> quiet = Workbench.from_frames(example_tables(), settings={"alerts": {"enabled": False},
        ...                                                          "forecast": {"enabled": False}})
        >>> try:
        ...     quiet.alerts()
        ... except MissingInput as exc:
        ...     print(exc.table)
        result_alerts
        """
        return self.result(ALERTS_RESULT, analysis=ALERTS_ANALYSIS)

    def _why_absent(self, name: str, analysis: str | None = None) -> str:
        """Why the store has no result ``name``: the reason the build recorded for ``analysis`` (default: an
        analysis named like the result or a prefix of it), else a plain statement."""
        try:
            reasons = self.con.execute(f"SELECT analysis, item, reason FROM {store.OMITTED_TABLE}").fetchall()
        except duckdb.CatalogException:
            reasons = []
        for who, item, reason in reasons:
            if item == "*" and (who == analysis if analysis else (who == name or name.startswith(f"{who}_"))):
                return str(reason)
        return (f"the store has no {name} result (built by a chanlib without that analysis, or the analysis "
                "produced nothing)")

    # -- how it shows --------------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        try:
            first, last = self.period()
            span = f"{first.date()} to {last.date()}"
        except (MissingInput, DataError):
            span = "no sales"
        return f"<chanlib Workbench {self.name!r}: {self.store_path}, sales {span}>"

    def _repr_html_(self) -> str:
        """What the store holds, for a notebook: data set, currency, period covered, when it was built, and every
        table with its rows (every value escaped).

        >>> page = example()._repr_html_()
        >>> "<td>result_headline</td>" in page, "2024-01-01 to 2025-12-31" in page
        (True, True)
        """
        esc = html.escape
        try:
            first, last = self.period()
            span = f"{first.date()} to {last.date()}"
        except MissingInput:
            span = "no sales"
        tables = self.tables()
        rows = "".join(f"<tr><td>{esc(r.table)}</td><td>{esc(r.kind)}</td>"
                       f"<td style=\"text-align:right\">{r.rows:,}</td></tr>" for r in tables.itertuples())
        built = self.built.astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return (f"<div class=\"chanlib-workbench\"><strong>chanlib workbench: {esc(self.name)}</strong>"
                f"<ul><li>store: <code>{esc(str(self.store_path))}</code></li>"
                f"<li>sales from {esc(span)}; {len(self.regions())} regions, {len(self.channels())} channels; "
                f"amounts in {esc(self.currency)}</li>"
                f"<li>built {esc(built)}</li></ul>"
                "<details><summary>"
                f"{int((tables['kind'] == 'data').sum())} data tables, {int((tables['kind'] == 'result').sum())} "
                "result tables</summary>"
                f"<table><thead><tr><th>table</th><th>kind</th><th>rows</th></tr></thead><tbody>{rows}</tbody>"
                "</table></details></div>")


def open_workbench(params_path: str | Path | None = None, store_path: str | Path | None = None) -> Workbench:
    """The workbench of a params file (default ``params/default.yaml`` of this checkout); see :func:`chanlib.open`."""
    params = load_params(params_path or default_params_path())
    return Workbench(params, store_path)


def example_tables() -> dict[str, pd.DataFrame]:
    """The small hand-made business behind :func:`example` (and the doctests), in the data contract's columns.

    Two regions (East, West), two channels (shop, web), one partner per region and channel (E1 East/shop, E2
    East/web, W1 West/shop, W2 West/web), two sales per partner in every month of 2024 and 2025, on its first and
    its last day, two categories (bikes in the shops, parts online). Monthly revenue per partner (half on each
    day): E1 100 in 2024 and 110 in 2025, E2 50 then 60, W1 80 then 80, W2 20 then 40; units are revenue / 10 and
    cost 60 % of revenue; customers C1..C4 buy from E1, E2, W1 and W2.

    >>> t = example_tables()
    >>> len(t["sales"]), float(t["sales"]["revenue"].sum())
    (192, 6480.0)
    """
    days = sorted([*pd.date_range("2024-01-01", "2025-12-01", freq="MS"),
                   *pd.date_range("2024-01-31", "2025-12-31", freq="ME")])
    cells = [("East", "shop", "E1", "P1", "C1", 100.0, 110.0), ("East", "web", "E2", "P2", "C2", 50.0, 60.0),
             ("West", "shop", "W1", "P1", "C3", 80.0, 80.0), ("West", "web", "W2", "P2", "C4", 20.0, 40.0)]
    rows = [{"date": d, "region": region, "channel": channel, "revenue": (a if d.year == 2024 else b) / 2,
             "units": (a if d.year == 2024 else b) / 20, "cost": 0.3 * (a if d.year == 2024 else b),
             "partner_id": partner, "product_id": product, "customer_id": customer,
             "order_id": f"{partner}-{d:%Y%m%d}"}
            for d in days for region, channel, partner, product, customer, a, b in cells]
    sales = pd.DataFrame(rows)
    products = pd.DataFrame({"product_id": ["P1", "P2"], "category": ["bikes", "parts"], "list_price": [10.0, 10.0]})
    return {"sales": sales, "products": products}


@functools.cache
def example() -> Workbench:
    """A workbench over :func:`example_tables`, built once per process in a temporary folder with quick forecasts
    (seasonal naive and naive models, 12 months ahead): for trying the methods and for their doctests.

    >>> example().name
    'example'
    """
    return Workbench.from_frames(example_tables(), name="example", settings={
        "forecast": {"models": ["seasonal_naive", "naive"], "combination": False, "horizon": 12, "n_jobs": 1}})
