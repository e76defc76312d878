"""Run settings: typed models loaded from ``params/*.yaml``.

Relative paths inside a params file are resolved against the directory of that file, so a params file and the data it
names can move together (``chanlib demo --out DIR`` relies on this). Paths given on the command line
(``--data TABLE=PATH``) are resolved against the current directory. When ``store:`` is absent the store is
``data/chanlib.duckdb`` under the current directory.

Examples
--------
>>> from chanlib.config import Params
>>> p = Params.model_validate({"tables": {"sales": {"path": "sales.csv"}}})
>>> p.validation.max_reject_share
0.05
>>> Params.model_validate({"tables": {"sales": {"path": "s.csv", "colums": {}}}})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Params
...
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from .errors import ParamsError
from .forecast.settings import ForecastSettings, ModelName
from .schema import TABLES
from .segment.settings import SegmentSettings
from .settings_base import StrictModel

TableName = Literal["sales", "channels", "partners", "products", "targets", "costs", "inventory", "feedback", "market"]
DEFAULT_STORE = Path("data/chanlib.duckdb")




class ForecastParams(ForecastSettings):
    """``forecast:`` the forecasts a store build makes (see :mod:`chanlib.outlook`) and how series are forecast.

    The defaults are the configuration benchmarked on M3 (``bench/forecast_m3.py``): damped ETS, the dynamic
    optimised Theta and the standard Theta, combined unless one clearly wins the backtest; monthly seasonality.
    """

    #: forecast at every build (false: no Outlook section)
    enabled: bool = True
    #: the hierarchy below the total, top down
    hierarchy: list[Literal["region", "channel", "partner", "product"]] = Field(
        default_factory=lambda: ["region", "channel", "partner"], min_length=1)
    #: how forecasts are made to add up across levels
    reconciliation: Literal["none", "bottom_up", "top_down", "ols", "wls_struct", "mint_shrink"] = "mint_shrink"
    models: list[ModelName] = Field(default_factory=lambda: ["ets_damped", "dotm", "theta"])
    backtest_windows: int = Field(1, ge=0, le=50)
    horizon: int = Field(12, ge=1, le=120)
    #: worker processes; default: the number of cores
    n_jobs: int | None = Field(None, ge=1, le=256)

    def core(self, **update: Any) -> ForecastSettings:
        """The settings of :func:`chanlib.forecast.forecast` (without the run-level fields)."""
        data = self.model_dump(exclude={"enabled", "hierarchy", "reconciliation"})
        data["n_jobs"] = data["n_jobs"] or 1
        return ForecastSettings(**{**data, **update})


class TableSource(StrictModel):
    """Where one canonical table comes from and how its source columns map onto the contract."""

    path: Path
    #: csv, parquet or excel; by default from the file suffix
    format: Literal["csv", "parquet", "excel"] | None = None
    #: text encoding of a CSV file; a UTF-8 byte-order mark is always tolerated
    encoding: str = "utf-8"
    delimiter: str = ","
    #: Excel sheet name or index
    sheet: str | int = 0
    #: strftime format of every date column of this table (e.g. ``%m/%d/%Y``); ISO 8601 when absent
    date_format: str | None = None
    #: extra strings read as "no value" (an empty field always is), e.g. ``["NA"]``
    na_values: list[str] = Field(default_factory=list)
    #: canonical column -> source column
    columns: dict[str, str] = Field(default_factory=dict)
    #: canonical column -> DuckDB SQL expression over the (text) source columns, e.g. ``'Web'`` or
    #: ``TRY_CAST("Quantity" AS DOUBLE) * TRY_CAST("UnitPrice" AS DOUBLE)``
    derive: dict[str, str] = Field(default_factory=dict)

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = "".join(self.path.suffixes[-2:]).lower()
        if suffix.endswith((".parquet", ".pq")):
            return "parquet"
        if suffix.endswith((".xlsx", ".xlsm", ".xls")):
            return "excel"
        return "csv"


class Validation(StrictModel):
    """How strict ingest is with single bad rows."""

    #: a table whose share of rejected rows exceeds this fails the run
    max_reject_share: float = Field(0.05, ge=0.0, le=1.0)
    #: negative amounts are returns (kept) rather than row errors
    allow_returns: bool = False


class ReportSettings(StrictModel):
    """Settings of ``chanlib report``."""

    #: the region notebook; default: notebooks/region_report.ipynb of this checkout
    notebook: Path | None = None
    #: where runs are written (``<out>/<run-id>/`` and ``<out>/latest``)
    out: Path = Path("reports")
    #: parallel worker processes; default: the number of cores
    workers: int | None = Field(None, ge=1)
    #: headline KPIs cover this many trailing months, compared with the same months a year earlier
    window_months: int = Field(12, ge=1, le=120)
    #: seconds a single notebook cell may run
    cell_timeout: int = Field(600, ge=1)


class Params(StrictModel):
    """All settings of one run. See ``params/default.yaml`` for a commented example."""

    name: str = "chanlib"
    #: ISO code of the one currency every amount is in
    currency: str = "USD"
    store: Path = DEFAULT_STORE
    tables: dict[TableName, TableSource]
    validation: Validation = Field(default_factory=Validation)
    report: ReportSettings = Field(default_factory=ReportSettings)
    segment: SegmentSettings = Field(default_factory=SegmentSettings)
    forecast: ForecastParams = Field(default_factory=ForecastParams)
    seed: int = 0

    @model_validator(mode="after")
    def _check_tables(self) -> "Params":
        if "sales" not in self.tables:
            raise ValueError("tables.sales is required")
        for name, source in self.tables.items():
            known = TABLES[name].types
            for section in ("columns", "derive"):
                for column in getattr(source, section):
                    if column not in known:
                        raise ValueError(
                            f"tables.{name}.{section}.{column}: unknown column for table {name!r} "
                            f"(known: {', '.join(known)})"
                        )
        return self

    def with_data(self, overrides: dict[str, Path]) -> "Params":
        """A copy with some tables read from other files (the CLI's ``--data TABLE=PATH``)."""
        tables = dict(self.tables)
        for name, path in overrides.items():
            if name not in TABLES:
                raise ParamsError(f"--data {name}=...: unknown table {name!r} (known: {', '.join(TABLES)})")
            source = tables.get(name)
            tables[name] = source.model_copy(update={"path": Path(path)}) if source else TableSource(path=Path(path))
        return self.model_copy(update={"tables": tables})


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else Path(os.path.normpath(base / path))


def _format_error(source: str, error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(x) for x in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif "input" in item and not isinstance(item["input"], (dict, list)):
            message = f"{message} (got {item['input']!r})"
        parts.append(f"{location}: {message}" if location else message)
    return f"{source}: " + "; ".join(parts)


def load_params(path: str | Path, data: dict[str, Path] | None = None) -> Params:
    """Read and validate a params file; relative paths in it are made relative to its directory.

    Raises :class:`chanlib.errors.ParamsError` with one line naming the file and the offending key.
    """
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: params file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of settings at the top level")
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format_error(str(path), exc)) from None
    base = path.resolve().parent
    tables = {name: src.model_copy(update={"path": _resolve(base, src.path)}) for name, src in params.tables.items()}
    update: dict[str, Any] = {"tables": tables}
    if "store" in raw:
        update["store"] = _resolve(base, params.store)
    report_update = {"out": _resolve(base, params.report.out)} if "out" in (raw.get("report") or {}) else {}
    if params.report.notebook is not None:
        report_update["notebook"] = _resolve(base, params.report.notebook)
    if report_update:
        update["report"] = params.report.model_copy(update=report_update)
    params = params.model_copy(update=update)
    return params.with_data(data) if data else params


def project_root() -> Path:
    """The checkout chanlib runs from (the folder holding ``chanlib/``, ``notebooks/`` and ``params/``)."""
    return Path(__file__).resolve().parent.parent


def default_params_path() -> Path:
    """``params/default.yaml`` of this checkout."""
    return project_root() / "params" / "default.yaml"
