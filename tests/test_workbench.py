"""chanlib.open: every Workbench method against the command line's output on the same store, and against numbers worked
out by hand on a hand-made store; real DuckDB stores, the real CLI in other processes."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chanlib
from chanlib.analytics import period_evaluation as evaluation
from chanlib.analytics import planning
from chanlib.analytics import product_fit as fit
from chanlib.errors import DataError, MissingInput
from chanlib.workbench import Workbench

#: CLI runs on the session's demo store with forecasts: (output file, chanlib arguments)
CLI_RUNS: dict[str, list[str]] = {
    "kpi_rc_quarter.parquet": ["kpi", "--by", "region,channel", "--period", "quarter"],
    "kpi_total.parquet": ["kpi"],
    "kpi_category_year.parquet": ["kpi", "--by", "category", "--period", "year"],
    "forecast.parquet": ["forecast"],
    "segment.parquet": ["segment"],
    "scorecard.parquet": ["scorecard"],
    "alerts.parquet": ["alerts"],
}


def _cli_runs(background, folder: Path, params: Path) -> dict[str, object]:
    return {out: background.run([sys.executable, "-m", "chanlib.cli", *args, "--params", str(params), "--out",
                                 str(folder / out)], folder) for out, args in CLI_RUNS.items()}


def _start_cli_runs(request, background):
    folder = request.getfixturevalue("tmp_path_factory").mktemp("workbench_cli")
    params = request.getfixturevalue("demo_store_forecast_job").folder / "params.yaml"
    return background.call(folder, _cli_runs, background, folder, params)


#: this module's CLI runs start in the background right after the store they read (tests/conftest.py)
BACKGROUND = {"cli_runs": _start_cli_runs}
BACKGROUND_AFTER = "demo_store_forecast_job"


@pytest.fixture(scope="module")
def cli_runs(request, background):
    return background.module_job(request, "cli_runs")


@pytest.fixture(scope="module")
def wb(demo_store_forecast: Path, cli_runs):
    """The workbench of the session's demo store with forecasts, opened as a notebook would (found up to date), once
    the CLI runs on it are done: both read the same store."""
    cli_runs.result()
    bench = chanlib.open(demo_store_forecast.parent / "params.yaml")
    yield bench
    bench.close()


def _cli(cli_runs, out: str) -> pd.DataFrame:
    result = cli_runs.result()[out]
    if result.returncode == 2 and "invalid choice" in result.stderr:
        pytest.skip(f"this checkout's CLI has no `chanlib {CLI_RUNS[out][0]}`")
    assert result.returncode == 0, result.stderr[-2000:]
    return pd.read_parquet(cli_runs.folder / out)


def _same(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> None:
    """Equal frames: the CLI's columns, rows in the order of ``keys`` (dates compared as dates)."""
    a = ours[list(theirs.columns)].sort_values(keys).reset_index(drop=True)
    b = theirs.sort_values(keys).reset_index(drop=True)
    for frame in (a, b):
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[ns]")
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


@pytest.mark.parametrize("out, by, period, left_out", [
    ("kpi_rc_quarter.parquet", ["region", "channel"], "quarter", {"market": "the market table has no channel"}),
    ("kpi_total.parquet", [], None, {}),
    ("kpi_category_year.parquet", ["category"], "year", {"targets": "the targets table has no category"})])
def test_kpis_are_chanlib_kpi(wb, cli_runs, out, by, period, left_out):
    theirs = _cli(cli_runs, out)
    ours = wb.kpis(by=by, period=period)
    assert list(ours.columns) == list(theirs.columns)
    _same(ours, theirs, by + (["period"] if period else []) or ["revenue"])
    for kpi, why in left_out.items():  # what the CLI logs as left out, the frame carries
        assert ours.attrs["left_out"][kpi].startswith(why)
    assert ("target_attainment" in ours.columns) == ("targets" not in ours.attrs["left_out"])


def test_forecasts_are_chanlib_forecast(wb, cli_runs):
    theirs = _cli(cli_runs, "forecast.parquet")
    ours = wb.forecasts()
    assert list(ours.columns[: len(theirs.columns)]) == list(theirs.columns)
    _same(ours, theirs, ["unique_id", "ds"])
    regions = wb.forecasts(level="region")
    assert sorted(regions["unique_id"].unique()) == wb.regions()
    assert (regions["region"] == regions["unique_id"]).all() and regions["channel"].isna().all()
    with pytest.raises(DataError, match="levels: total, region"):
        wb.forecasts(level="planet")


def test_segments_are_chanlib_segment(wb, cli_runs):
    theirs = _cli(cli_runs, "segment.parquet")
    ours = wb.segments()
    assert list(ours.columns[:3]) == ["partner_id", "segment_id", "segment_name"]
    assert {"region", "pc1", "pc2"} <= set(ours.columns)
    _same(ours, theirs, ["partner_id"])


def test_scorecard_is_chanlib_scorecard(wb, cli_runs):
    theirs = _cli(cli_runs, "scorecard.parquet")
    _same(wb.scorecard(), theirs, ["partner_id"])


def test_alerts_are_chanlib_alerts(wb, cli_runs):
    theirs = _cli(cli_runs, "alerts.parquet")
    ours = wb.alerts()
    _same(ours, theirs, list(theirs.columns[:3]))


def test_sales_are_the_export_rows(wb, demo_store_forecast: Path):
    """``.sales`` against the raw export read with pandas: the same rows for a region, a channel list and dates."""
    raw = pd.read_csv(demo_store_forecast.parent / "sales.csv", parse_dates=["date"])
    region, channels = wb.regions()[0], wb.channels()[:2]
    ours = wb.sales(region=region, channel=channels, start="2024-03-01", end="2024-05-31")
    theirs = raw[(raw["region"] == region) & raw["channel"].isin(channels)
                 & raw["date"].between("2024-03-01", "2024-05-31")]
    assert len(ours) == len(theirs) > 0
    assert ours["revenue"].sum() == pytest.approx(theirs["revenue"].sum())
    assert ours["date"].is_monotonic_increasing and str(ours["date"].min().date()) >= "2024-03-01"
    assert len(wb.sales()) == len(raw)
    with pytest.raises(DataError, match="no sales for region 'Atlantis'"):
        wb.sales(region="Atlantis")


def test_stored_results_are_the_builds(wb):
    """``.accuracy``, ``.abc_xyz``, ``.rfm`` read what the build computed once (plain SQL on the store agrees)."""
    for frame, table in ((wb.accuracy(), "result_forecast_selection"), (wb.accuracy("realised"),
                         "result_forecast_accuracy"), (wb.abc_xyz(), "result_abc_xyz_partners"),
                         (wb.abc_xyz("products"), "result_abc_xyz_products"), (wb.rfm(), "result_customer_rfm")):
        plain = wb.con.execute(f"SELECT * FROM {table}").df()
        pd.testing.assert_frame_equal(frame, plain)
    # the default forecast is the plain combination, no backtest (forecast.backtest_windows: 0): a row per series,
    # its model, its history, and no backtest score
    assert set(wb.accuracy()["flag"]) and wb.accuracy()["n_obs"].gt(0).all() and wb.accuracy()["score"].isna().all()
    with pytest.raises(DataError):
        wb.accuracy("someday")


def test_channel_evaluation_uses_the_params(wb):
    """``.fit``, ``.planning`` and ``.evaluation`` are the analyses with the run's settings (its window, peers,
    tolerance), the same numbers the region reports show."""
    p = wb.params
    region = wb.regions()[0]
    months, tolerance = p.periods.window_months, p.periods.complete_tolerance_days
    pd.testing.assert_frame_equal(wb.fit(region), fit.fit_matrix(wb.con, region, months, tolerance))
    pd.testing.assert_frame_equal(wb.fit(recommendations=True),
                                  fit.recommendations(fit.fit_matrix(wb.con, None, months, tolerance), p.fit))
    pd.testing.assert_frame_equal(wb.planning(kind="white_space"), planning.white_space(
        wb.con, top_n=p.planning.top_n, months=months, tolerance_days=tolerance,
        benchmark_quantile=p.planning.benchmark_quantile, min_peers=p.planning.min_peers))
    assert set(wb.planning(region)["region"]) == {region}
    pd.testing.assert_frame_equal(wb.evaluation(split="share_shift", region=region),
                                  evaluation.share_shift_decomposition(
                                      wb.con, p.evaluation.period, region=region, tolerance_days=tolerance,
                                      slack_days=p.periods.coverage_slack_days))


def test_repr_shows_what_the_store_holds(wb):
    page = wb._repr_html_()
    first, last = wb.period()
    assert f"{first.date()} to {last.date()}" in page and "demo-small" in page and "EUR" in page
    rows = int(wb.con.execute("SELECT count(*) FROM sales").fetchall()[0][0])
    assert f"<td>sales</td><td>data</td><td style=\"text-align:right\">{rows:,}</td>" in page
    assert "<td>result_forecast</td>" in page and "built " in page
    tables = wb.tables()
    assert not tables["table"].str.startswith("kpi_").any()  # the KPI engine's temporary views


# -- a hand-made store: numbers worked out by hand -------------------------------------------------------------------

@pytest.fixture
def tiny(make_store, tmp_path: Path) -> Workbench:
    """Two regions, one channel each, sales on the 1st and the 28th of every month of 2024 and 2025; East sells
    10 + 10 a month in 2024 and 15 + 15 in 2025, Wést & <Co> 5 + 5 all along."""
    days = [d for m in pd.date_range("2024-01-01", "2025-12-01", freq="MS") for d in (m, m + pd.Timedelta(days=27))]
    rows = [{"date": d.strftime("%Y-%m-%d"), "region": region, "channel": channel,
             "revenue": (10.0 if d.year == 2024 else 15.0) if region == "East" else 5.0, "units": 1.0, "cost": 4.0}
            for d in days for region, channel in (("East", "web"), ("Wést & <Co>", "shop"))]
    make_store(sales=pd.DataFrame(rows)).close()
    bench = chanlib.open(tmp_path / "p.yaml")
    yield bench
    bench.close()


def test_hand_made_store(tiny: Workbench):
    assert tiny.regions() == ["East", "Wést & <Co>"] and tiny.channels() == ["shop", "web"]
    k = tiny.kpis(by=["region"], period="year")
    assert k[["region", "revenue"]].values.tolist() == [["East", 240.0], ["East", 360.0], ["Wést & <Co>", 120.0],
                                                         ["Wést & <Co>", 120.0]]
    assert k["growth_yoy"].round(4).tolist()[1::2] == [0.5, 0.0]
    march = tiny.sales(region="East", start="2025-03-01", end="2025-03-31")
    assert march["revenue"].tolist() == [15.0, 15.0] and march["date"].dt.day.tolist() == [1, 28]
    e = tiny.evaluation("quarter", region="East")
    assert e[["revenue", "revenue_ly", "growth_ly"]].values.tolist() == [[90.0, 60.0, 0.5]]
    pvm = tiny.evaluation("quarter", split="price_volume_mix")
    east = pvm[pvm["region"] == "East"].iloc[0]
    assert (east["price_effect"], east["volume_effect"], east["mix_effect"]) == (30.0, 0.0, 0.0)
    page = tiny._repr_html_()
    assert "<Co>" not in page and "2024-01-01 to 2025-12-28" in page


def test_absent_results_say_why(tiny: Workbench):
    """A result the store lacks raises MissingInput with the reason its build recorded."""
    with pytest.raises(MissingInput, match=r"forecast\.enabled: false"):
        tiny.forecasts()
    with pytest.raises(MissingInput, match="forecast.enabled: false"):
        tiny.accuracy()
    with pytest.raises(MissingInput) as exc:
        tiny.segments()
    assert exc.value.table == "result_segment_partners" and "partner_id" in exc.value.reason
    with pytest.raises(MissingInput) as exc:
        tiny.scorecard()
    assert exc.value.table == "result_partner_scorecard" and exc.value.reason
    with pytest.raises(MissingInput) as exc:
        tiny.planning()
    assert "market" in exc.value.reason


def test_refresh_and_close(tiny: Workbench, tmp_path: Path):
    built = tiny.built
    assert tiny.refresh() is tiny and tiny.built == built  # up to date: not rebuilt
    sales = pd.read_csv(tmp_path / "sales.csv")
    sales.loc[0, "revenue"] = 1000.0
    sales.to_csv(tmp_path / "sales.csv", index=False)
    tiny.refresh()
    assert tiny.sales(start="2024-01-01", end="2024-01-01")["revenue"].max() == 1000.0
    tiny.close()
    with pytest.raises(DataError, match="closed"):
        tiny.regions()


def test_from_frames_and_store_path(tmp_path: Path):
    sales = pd.DataFrame({"date": pd.to_datetime(["2025-01-31", "2025-02-28"]), "region": "<b>R</b>",
                          "channel": "web", "revenue": [1.0, np.nan]})
    with pytest.raises(DataError, match="unknown table"):
        Workbench.from_frames({"orders": sales})
    bench = Workbench.from_frames({"sales": sales.dropna()}, tmp_path / "f", name="<i>n</i>",
                                  settings={"forecast": {"enabled": False}})
    assert (tmp_path / "f" / "sales.parquet").exists() and bench.regions() == ["<b>R</b>"]
    assert "&lt;i&gt;n&lt;/i&gt;" in bench._repr_html_() and "<i>n</i>" not in bench._repr_html_()
    bench.close()
    again = chanlib.open(tmp_path / "f" / "params.yaml", store_path=tmp_path / "f" / "chanlib.duckdb")
    assert again.sales()["revenue"].tolist() == [1.0]
    again.close()
