"""Scale-out (issue #10): the store build's forecasting batch on a Dask cluster gives exactly the local results.

One ``LocalCluster`` (2 worker processes, 1 thread each) serves the whole session; the data are tiny (a few dozen
series, fast models) so each test takes seconds.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.forecast import ForecastSettings, forecast
from chanlib.build import ANALYSES, build_store
from chanlib.config import load_params
from chanlib.data import store

distributed = pytest.importorskip("distributed")

#: the build's forecasting step only (the other analyses do not depend on where the forecasts run)
FORECAST_ONLY = tuple(a for a in ANALYSES if a.name == "forecast")
#: fast, deterministic models: the comparison is about where the work runs, not about the models
FORECAST = ("forecast: {models: [ses, theta], backtest_windows: 1, horizon: 3, reconciliation: mint_shrink, "
            "n_jobs: 1}\n")


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[distributed.LocalCluster]:
    """A 2-worker local Dask cluster (separate processes, as on real machines), shared by the session."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        cluster.close()


def _sales() -> pd.DataFrame:
    """30 months of daily-ish sales for 2 regions x 2 channels x 3 partners (seeded)."""
    rng = np.random.default_rng(7)
    days = pd.date_range("2023-01-01", "2025-06-30", freq="3D")
    rows = []
    for r, region in enumerate(("North", "South")):
        for c, channel in enumerate(("web", "stores")):
            for p in range(3):
                level = 100 * (1 + r) * (1 + c) * (1 + p)
                season = 1 + 0.3 * np.sin(2 * np.pi * days.month.to_numpy() / 12)
                revenue = np.round(level * season * rng.lognormal(0, 0.2, len(days)), 2)
                rows.append(pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "region": region, "channel": channel,
                                          "partner_id": f"P{r}{c}{p}", "revenue": revenue,
                                          "cost": np.round(revenue * 0.6, 2)}))
    return pd.concat(rows, ignore_index=True)


def _params(folder: Path, sales: pd.DataFrame, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sales.to_csv(folder / "sales.csv", index=False)
    (folder / "p.yaml").write_text(
        "store: store.duckdb\ncurrency: EUR\nseed: 3\n" + FORECAST + extra
        + "tables:\n  sales:\n    path: sales.csv\n    date_format: '%Y-%m-%d'\n", encoding="utf-8")
    return folder / "p.yaml"


def _forecast_tables(path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = sorted(t.removeprefix("result_") for t in store.tables(con) if t.startswith("result_forecast"))
        return {name: store.read_result(con, name) for name in names}
    finally:
        con.close()


def test_store_build_forecasts_on_the_cluster_exactly_as_locally(dask_cluster, tmp_path: Path) -> None:
    """dask.scheduler in params: the build's forecasting batch runs on the 2 workers; every forecast result table
    equals the local build's, value for value."""
    sales = _sales()
    local = load_params(_params(tmp_path / "local", sales))
    remote = load_params(_params(tmp_path / "dask", sales,
                                 f"dask: {{scheduler: '{dask_cluster.scheduler_address}', chunks_per_worker: 2}}\n"))
    assert remote.dask.scheduler == dask_cluster.scheduler_address and local.dask.scheduler is None
    build_store(local, FORECAST_ONLY)
    with distributed.Client(dask_cluster) as client, distributed.get_task_stream(client) as tasks:
        build_store(remote, FORECAST_ONLY)
    ran = [t for t in tasks.data if "_run_received_chunk" in t["key"]]
    assert len(ran) == 2 * 2  # 2 workers x chunks_per_worker tasks, all on the cluster's workers
    assert {t["worker"] for t in ran} <= set(dask_cluster.scheduler_info["workers"])

    expected, got = _forecast_tables(local.store), _forecast_tables(remote.store)
    assert set(got) == set(expected) >= {"forecast", "forecast_selection", "forecast_nodes", "forecast_coverage"}
    assert len(expected["forecast"]) == 19 * 3  # total + 2 regions + 4 channels + 12 partners, 3 months each
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)


def test_forecast_with_a_client_keeps_order_and_values(dask_cluster) -> None:
    """forecast(..., scheduler=client): chunks gathered in unique_id order, the same frames as in one process."""
    rng = np.random.default_rng(1)
    ds = pd.date_range("2022-01-01", periods=30, freq="MS")
    ids = [f"s{i:02d}" for i in range(13)]  # not a multiple of the chunk count: uneven chunks
    df = pd.DataFrame({"unique_id": np.repeat(ids, len(ds)), "ds": np.tile(ds, len(ids)),
                       "y": rng.gamma(5, 20, len(ids) * len(ds))})
    settings = ForecastSettings(models=["ses", "theta", "seasonal_naive"], horizon=4, backtest_windows=2)
    local = forecast(df, settings, n_jobs=1)
    with distributed.Client(dask_cluster) as client:
        remote = forecast(df, settings, scheduler=client, chunks_per_worker=3)
    assert remote.forecasts["unique_id"].drop_duplicates().tolist() == ids
    for name, frame in local.frames().items():
        pd.testing.assert_frame_equal(remote.frames()[name], frame, check_exact=True, obj=name)



def test_report_pages_render_on_the_cluster(dask_cluster, tmp_path: Path) -> None:
    """``chanlib report --scheduler``: every page is executed and converted on the cluster's workers (each keeps a
    warm kernel), and the pages read the same store as a local run."""
    import runs

    from chanlib.report.runner import run_report

    params_file = _params(tmp_path, _sales(), "forecast: {enabled: false}\n"
                          "report: {notebook: tiny.ipynb, out: reports, min_region_share: 0.01}\n")
    params_file.write_text(params_file.read_text(encoding="utf-8").replace(FORECAST, ""), encoding="utf-8")
    runs.write_notebook(tmp_path / "tiny.ipynb")
    runs.write_notebook(tmp_path / "overview.ipynb")
    summary = run_report(load_params(params_file), scheduler=dask_cluster.scheduler_address)
    assert [r.status for r in summary.results] == ["ok", "ok"] and summary.overview is not None
    assert summary.overview.status == "ok"
    sales = _sales()
    for region in ("North", "South"):
        rows = int((sales["region"] == region).sum())
        assert f"{region}: {rows} rows" in (summary.run_dir / f"{region}.html").read_text(encoding="utf-8")
