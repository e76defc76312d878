"""The ``chanlib`` command line, as scheduled runs (cron, Airflow) call it.

Every command takes ``--params FILE`` (default ``params/default.yaml``) and ``--data TABLE=PATH`` (repeatable). It
logs to stderr and exits 0 on success, 1 on a data or run error (one line naming file, column and rows) and 2 on a
usage error. Commands that need the store build it when it is missing or stale.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from chanlib import __version__
from chanlib.errors import ChanlibError

log = logging.getLogger("chanlib")


def _data_override(text: str) -> tuple[str, Path]:
    table, sep, path = text.partition("=")
    if not sep or not table or not path:
        raise argparse.ArgumentTypeError(f"expected TABLE=PATH, got {text!r}")
    return table.strip(), Path(path)


def _names(text: str) -> list[str]:
    names = [r.strip() for r in text.split(",") if r.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more comma-separated names")
    return names


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


#: the season of each --freq (periods per year, 7 days a week) when --season is not given
SEASON_OF_FREQ = {"D": 7, "W": 52, "M": 12, "Q": 4}


def _freq(text: str) -> str:
    """``--freq``: D, W, M, Q (any case) or a positive integer step."""
    value = text.strip().upper()
    if value in SEASON_OF_FREQ or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"expected D, W, M, Q or a positive integer step, got {text!r}")


def _default_params() -> Path:
    local = Path("params/default.yaml")
    if local.exists():
        return local
    from chanlib.config import default_params_path

    return default_params_path()


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", type=Path, default=None, metavar="FILE",
                        help="params YAML (default: params/default.yaml)")
    common.add_argument("--data", type=_data_override, action="append", default=[], metavar="TABLE=PATH",
                        help="read TABLE from PATH instead of the params' file (repeatable)")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    common.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")

    parser = argparse.ArgumentParser(prog="chanlib", description="Sales-channel analytics and per-region reports.")
    parser.add_argument("--version", action="version", version=f"chanlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common], help="generate a synthetic business with planted truth")
    demo.add_argument("--size", choices=["small", "medium", "large", "xl", "xxl"], default="small",
                      help="xxl: ~100M sales rows streamed to a folder of monthly Parquet files (~2.5 GB)")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--out", type=Path, default=Path("data/demo"), metavar="DIR")

    sub.add_parser("validate", parents=[common], help="data-quality summary of the inputs; exit 1 on errors")
    sub.add_parser("ingest", parents=[common], help="load, map, validate and write the store")

    kpi = sub.add_parser("kpi", parents=[common], help="KPI table by any grouping and period (CSV or Parquet)")
    kpi.add_argument("--by", type=_names, default=[], metavar="A,B",
                     help="group by: region, channel, channel_type, model, market, partner, product, category")
    kpi.add_argument("--period", choices=["month", "quarter", "year"], default=None,
                     help="one row per period too (default: the whole date range)")
    kpi.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .csv or .parquet")

    fc = sub.add_parser("forecast", parents=[common],
                        help="the run's reconciled forecasts, or forecasts of any long table (--input)")
    fc.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .csv or .parquet")
    fc.add_argument("--input", type=Path, default=None, metavar="LONG.csv", help="a long table of series to forecast")
    fc.add_argument("--id", default="unique_id", metavar="COL", help="series id column of --input")
    fc.add_argument("--time", default="ds", metavar="COL", help="time column of --input (dates or integers)")
    fc.add_argument("--value", default="y", metavar="COL", help="value column of --input")
    fc.add_argument("--season", type=_positive, default=None, metavar="N", help="periods per season (default: params)")
    fc.add_argument("--horizon", type=_positive, default=None, metavar="H", help="periods ahead (default: params)")
    fc.add_argument("--freq", type=_freq, default=None, metavar="F",
                    help="frequency of --time: D, W, M, Q or an integer step (default: inferred from the dates)")
    fc.add_argument("--fill", choices=["zero", "none"], default=None,
                    help="periods missing inside a series: zero (no row means no sales) or none (an error naming "
                         "them); default: params (zero)")

    seg = sub.add_parser("segment", parents=[common], help="partner segments with names and features")
    seg.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .csv or .parquet")

    for name, what in (("scorecard", "partner scorecard: score, current and recommended tier, action and reasons"),
                       ("screen", "candidate screening: gates, score, rank and reasons"),
                       ("incentives", "rebates, bonuses, penalties and incentive ROI per partner and quarter")):
        partner = sub.add_parser(name, parents=[common], help=what)
        partner.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .csv or .parquet")

    alerts = sub.add_parser("alerts", parents=[common],
                            help="early warnings with severity, evidence, response and state (CSV or Parquet)")
    alerts.add_argument("--since-last", action="store_true",
                        help="only what changed since the previous build: new and resolved alerts")
    alerts.add_argument("--out", type=Path, required=True, metavar="FILE", help="output .csv or .parquet")

    report = sub.add_parser("report", parents=[common], help="render every region's HTML report and an index")
    report.add_argument("--regions", type=_names, default=None, metavar="A,B", help="only these regions")
    report.add_argument("--workers", type=_positive, default=None, metavar="N",
                        help="parallel notebook processes (default: params, else the number of cores)")
    report.add_argument("--scheduler", default=None, metavar="ADDR",
                        help="run the store build's forecasting and the notebooks on a Dask distributed scheduler, "
                             "e.g. tcp://10.0.0.5:8786 (default: params dask.scheduler, else local processes)")
    report.add_argument("--resume", action="store_true",
                        help="continue the newest unfinished run (else the latest): render only what is missing")
    report.add_argument("--no-wait", action="store_true",
                        help="exit 1 at once when another run holds the reports folder (default: wait for it)")
    report.add_argument("--force", action="store_true", help="rebuild the store and render every region")
    report.add_argument("--out", type=Path, default=None, metavar="DIR", help="reports folder (default: params)")
    report.add_argument("--partners", action="store_true",
                        help="also write one page per partner, to be sent to that partner (<run>/partners/)")
    return parser


def _setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("chanlib %(levelname)s: %(message)s"))
    root = logging.getLogger("chanlib")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _params(args: argparse.Namespace):
    from chanlib.config import load_params

    return load_params(args.params or _default_params(), dict(args.data))


def _stored(params, name: str, analysis: str, what: str, reason_key: str = "*"):
    """Result ``name`` of the store (built or refreshed first) and what ``analysis`` left out; a one-line error
    naming the build's reason (``reason_key`` of its omissions, else the analysis as a whole) when it is absent."""
    from chanlib.build import ensure
    from chanlib.data import store

    con = store.connect(ensure(params))
    try:
        omitted = store.omitted(con, analysis)
        if not store.has_result(con, name):
            reason = omitted.get(reason_key) or omitted.get("*") or f"the store has no {what}"
            raise ChanlibError(f"{params.store}: no {what}: {reason}")
        return store.read_result(con, name), omitted
    finally:
        con.close()


def _forecast_store(params):
    """The reconciled forecasts of the run's hierarchy, from the store (built or refreshed first)."""
    frame, _ = _stored(params, "forecast", "forecast", "forecasts")
    bounds = [c for c in frame.columns if c.startswith(("lo_", "hi_"))]
    return frame[["unique_id", "ds", "model", "yhat", *bounds, "level", "cutoff"]]


def _forecast_input(args: argparse.Namespace, params):
    """Forecasts of every series of a long CSV/Parquet table."""
    import pandas as pd

    from chanlib.analytics.forecast import forecast
    from chanlib.analytics.forecast.frames import FrequencyError, GapError
    from chanlib.errors import DataError

    path = args.input
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        raw = (pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq")
               else pd.read_csv(path, keep_default_na=False, na_values=[""]))
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    for option, column in (("--id", args.id), ("--time", args.time), ("--value", args.value)):
        if column not in raw.columns:
            raise DataError(f"{path}: column {column!r} ({option}) is missing; columns found: "
                            f"{', '.join(map(str, raw.columns[:12]))}")
    long = raw[[args.id, args.time, args.value]].set_axis(["unique_id", "ds", "y"], axis=1)
    for option, column, name in (("--id", args.id, "unique_id"), ("--time", args.time, "ds"),
                                 ("--value", args.value, "y")):
        if long[name].isna().any():
            rows = (long.index[long[name].isna()][:5] + 2).tolist()
            raise DataError(f"{path}: column {column!r} ({option}) is empty in rows {', '.join(map(str, rows))}")
    if not pd.api.types.is_numeric_dtype(long["ds"]):
        parsed = pd.to_datetime(long["ds"], errors="coerce")
        if parsed.isna().any():
            rows = (long.index[parsed.isna()][:5] + 2).tolist()
            raise DataError(f"{path}: column {args.time!r} (--time) has values that are neither dates nor "
                            f"integers (rows {', '.join(map(str, rows))})")
        long["ds"] = parsed
    season = args.season or SEASON_OF_FREQ.get(args.freq or "")
    update: dict[str, object] = {k: v for k, v in (("season_length", season), ("horizon", args.horizon),
                                                    ("freq", args.freq)) if v is not None}
    if args.fill is not None:
        update["fill_value"] = 0.0 if args.fill == "zero" else float("nan")
    settings = params.forecast.model_copy(update=update)
    try:
        result = forecast(long, settings, n_jobs=params.forecast.n_jobs or os.cpu_count() or 1)
    except FrequencyError as exc:
        hint = ("give --freq D, W, M, Q or an integer step (e.g. --freq D --fill zero for daily sales with closed "
                "days)" if args.freq is None else f"--freq {args.freq} does not fit the dates")
        raise DataError(f"{path}: column {args.time!r} (--time): {str(exc).removeprefix('column ds: ')}"
                        .replace("; set ForecastSettings.freq", "") + f"; {hint}") from None
    except GapError as exc:
        raise DataError(f"{path}: {exc}; --fill zero counts missing periods as 0") from None
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    flags = result.selection["flag"].value_counts().to_dict()
    log.info("%d series forecast; flags: %s", len(result.selection), flags)
    bounds = [c for c in result.forecasts.columns if c.startswith(("lo_", "hi_"))]
    return result.forecasts[["unique_id", "ds", "model", "yhat", *bounds]]


#: result table and its first columns of ``chanlib scorecard|screen|incentives``
PARTNER_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "scorecard": ("partner_scorecard", ("partner_id", "region", "channel", "score", "current_tier",
                                        "recommended_tier", "action", "reasons")),
    "screen": ("candidate_shortlist", ("candidate_id", "passed_gates", "score", "rank", "reasons")),
    "incentives": ("partner_incentives", ("partner_id", "quarter", "rebate", "bonus", "penalty", "total", "roi")),
}


def _partner_table(params, command: str):
    """A partner-management result from the store (built or refreshed first), its issue's columns first."""
    name, first = PARTNER_COMMANDS[command]
    frame, _ = _stored(params, name, "partners", name.replace("_", " "),
                       reason_key="candidates" if command == "screen" else "*")
    return frame[[*first, *(c for c in frame.columns if c not in first)]]


def run(args: argparse.Namespace) -> int:
    """Execute a parsed command; return the exit code."""
    if args.command == "demo":
        from chanlib.data.demo import generate
        from chanlib.data.demo_stream import generate_xxl

        if args.size == "xxl":
            generate_xxl(args.out, seed=args.seed)
        else:
            generate(args.out, size=args.size, seed=args.seed)
        print(args.out / "params.yaml")
        return 0
    params = _params(args)
    if args.command == "validate":
        from chanlib.data.ingest import validate

        print(validate(params).render())
        return 0
    if args.command == "ingest":
        from chanlib.build import build_store

        print(build_store(params).render())
        return 0
    if args.command == "kpi":
        from chanlib.analytics import kpi
        from chanlib.build import ensure
        from chanlib.data import store
        from chanlib.io import write_table

        con = store.connect(ensure(params), config=store.engine_config(params))
        try:
            result = kpi.kpi_table(con, args.by, args.period)
        finally:
            con.close()
        for name, why in result.left_out.items():
            log.info("%s left out: %s", name, why)
        write_table(result.frame, args.out)
        log.info("%d rows written to %s", len(result.frame), args.out)
        return 0
    if args.command == "forecast":
        from chanlib.io import write_table

        frame = _forecast_input(args, params) if args.input else _forecast_store(params)
        write_table(frame, args.out)
        log.info("%d forecast rows written to %s", len(frame), args.out)
        return 0
    if args.command == "segment":
        from chanlib.analytics import segment
        from chanlib.build import ensure
        from chanlib.data import store
        from chanlib.io import write_table

        con = store.connect(ensure(params))
        try:
            segments = segment.segment_partners(con, params.segment)
        finally:
            con.close()
        for name, why in segments.left_out.items():
            log.info("feature %s left out: %s", name, why)
        write_table(segments.partners, args.out)
        log.info("%d partners in %d segments written to %s", len(segments.partners), segments.k, args.out)
        return 0
    if args.command in PARTNER_COMMANDS:
        from chanlib.io import write_table

        frame = _partner_table(params, args.command)
        write_table(frame, args.out)
        log.info("%d rows written to %s", len(frame), args.out)
        return 0
    if args.command == "alerts":
        from chanlib.analytics.alerts import COLUMNS
        from chanlib.io import write_table

        frame, omitted = _stored(params, "alerts", "alerts", "alerts")
        for rule, why in omitted.items():
            log.info("alert rule %s left out: %s", rule, why)
        if args.since_last:
            frame = frame[frame["state"].isin(["new", "resolved"])]
        write_table(frame[list(COLUMNS)], args.out)
        counts = frame["state"].value_counts().to_dict()
        log.info("%d alert(s) written to %s (%s)", len(frame), args.out,
                 ", ".join(f"{counts.get(s, 0)} {s}" for s in ("new", "continuing", "resolved")))
        return 0
    if args.command == "report":
        from chanlib.report.runner import run_report, summary_table

        if args.scheduler:  # the store build's forecasting runs on the same cluster as the notebooks
            params = params.model_copy(update={"dask": params.dask.model_copy(update={"scheduler": args.scheduler})})
        summary = run_report(params, regions=args.regions, workers=args.workers, scheduler=params.dask.scheduler,
                             resume=args.resume, force=args.force, out=args.out, partners=args.partners,
                             wait=not args.no_wait)
        if not args.quiet:  # the end-of-run table for the scheduler's log; stdout keeps the index path only
            sys.stderr.write(summary_table(summary) + "\n")
        print(summary.index.parent.parent / "latest" / "index.html")
        return 1 if summary.failed else 0
    raise AssertionError(args.command)


#: DuckDB errors about the machine (disk, memory, file access; a commit that could not write), not the data or the
#: code: reported in one line like an OSError
DUCKDB_RESOURCE_ERRORS = ("IOException", "FatalException", "OutOfMemoryException", "PermissionException",
                          "TransactionException")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chanlib`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        return run(args)
    except ChanlibError as exc:
        log.error("%s", str(exc).replace("\n", " "))
        return 1
    except OSError as exc:  # a file or folder chanlib cannot read or write: permission, disk full, ...
        where = f"{exc.filename}: " if exc.filename else ""
        log.error("%s%s", where, exc.strerror or exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as exc:  # DuckDB out of disk, memory or file access (e.g. a full disk during the store build)
        kind = type(exc)
        if kind.__name__ not in DUCKDB_RESOURCE_ERRORS or not kind.__module__.lstrip("_").startswith("duckdb"):
            raise  # anything else is a bug: keep its traceback
        log.error("the store (DuckDB): %s", " ".join(str(exc).split()))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
