"""The run's forecasts in the store: coherent across the hierarchy, kept across builds and scored later; the CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.build import build_store
from chanlib.config import load_params
from chanlib.data.store import read_result


@pytest.fixture(scope="module")
def history_demo(demo_dir, tmp_path_factory):
    """The small demo built twice: first with sales through June 2025, then with all sales (through December)."""
    import shutil

    root = tmp_path_factory.mktemp("outlook") / "demo"
    shutil.copytree(demo_dir, root, ignore=shutil.ignore_patterns("*.duckdb*", "*_rejects"))
    sales = pd.read_csv(root / "sales.csv", dtype=str)
    full = (root / "sales.csv").read_bytes()
    sales[sales["date"] <= "2025-06-30"].to_csv(root / "sales.csv", index=False)
    params = load_params(root / "params.yaml")
    build_store(params)
    con = duckdb.connect(str(params.store), read_only=True)
    first = read_result(con, "forecast")
    con.close()
    (root / "sales.csv").write_bytes(full)
    build_store(params)
    return params, first


def test_forecasts_are_coherent_at_every_node(history_demo):
    params, _ = history_demo
    con = duckdb.connect(str(params.store), read_only=True)
    forecast = read_result(con, "forecast")
    nodes = read_result(con, "forecast_nodes").set_index("unique_id")
    assert set(nodes["level"]) == {"total", "region", "channel", "partner"}
    wide = forecast.pivot(index="unique_id", columns="ds", values="yhat")
    assert wide.notna().all().all() and wide.shape[1] == params.forecast.horizon
    children = {"total": nodes.index[nodes["level"] == "region"]}
    for uid, row in nodes.iterrows():
        if row["level"] == "region":
            children[uid] = nodes.index[(nodes["level"] == "channel") & (nodes["region"] == uid)]
        elif row["level"] == "channel":
            children[uid] = nodes.index[(nodes["level"] == "partner") & (nodes["region"] == row["region"])
                                        & (nodes["channel"] == row["channel"])]
    checked = 0
    for parent, kids in children.items():
        if len(kids):
            np.testing.assert_allclose(wide.loc[parent], wide.loc[list(kids)].sum(), atol=1e-6, rtol=0)
            checked += 1
    assert checked > 10
    assert (forecast["lo_80"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["hi_80"]).all()
    assert str(pd.Timestamp(forecast["cutoff"].iloc[0]).date()) == "2025-12-31"


def test_earlier_forecasts_are_kept_and_scored(history_demo):
    params, first = history_demo
    con = duckdb.connect(str(params.store), read_only=True)
    history = read_result(con, "forecast_history")
    assert sorted(str(c.date()) for c in pd.to_datetime(history["cutoff"]).unique()) == ["2025-06-30", "2025-12-31"]
    scored = read_result(con, "forecast_vs_actual")
    assert set(pd.to_datetime(scored["cutoff"]).dt.date.astype(str)) == {"2025-06-30"}
    assert sorted(scored["horizon"].unique()) == [1, 2, 3, 4, 5, 6]
    # the kept forecasts are the first build's, unchanged
    merged = scored.merge(first[["unique_id", "ds", "yhat"]], on=["unique_id", "ds"], suffixes=("", "_first"))
    assert len(merged) == len(scored) and np.allclose(merged["yhat"], merged["yhat_first"])
    # ... scored against the actuals that arrived since
    actuals = read_result(con, "forecast_actuals")
    check = scored.merge(actuals, on=["unique_id", "ds"], suffixes=("", "_actual"))
    assert np.allclose(check["y"], check["y_actual"])
    accuracy = read_result(con, "forecast_accuracy")
    assert set(accuracy["level"]) == {"total", "region", "channel", "partner"}
    total = accuracy[accuracy["level"] == "total"]
    assert total["n"].sum() == 6 and total["smape"].between(0, 200).all()
    y, f = check[check["level"] == "total"]["y"], check[check["level"] == "total"]["yhat"]
    assert total["smape"].iloc[0] == pytest.approx(float(np.mean(200 * abs(y - f) / (abs(y) + abs(f)))))


def test_rebuilding_the_same_data_does_not_duplicate_history(history_demo):
    params, _ = history_demo
    build_store(params)  # same cutoff again
    con = duckdb.connect(str(params.store), read_only=True)
    history = read_result(con, "forecast_history")
    assert history.groupby(["cutoff", "unique_id", "ds"]).size().max() == 1
    assert pd.to_datetime(history["cutoff"]).nunique() == 2


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chanlib.cli", *args], capture_output=True, text=True, cwd=cwd)


def _m3_inputs(shared_data: Path, folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """The M3 monthly data, the first 8 series' training part in m3.csv and one series with a bad value in bad.csv."""
    m3 = pd.read_csv(shared_data / "m3_monthly.csv.gz")
    ids = sorted(m3["series"].unique())[:8]
    m3[m3["series"].isin(ids) & (m3["split"] == "train")].to_csv(folder / "m3.csv", index=False)
    (folder / "p.yaml").write_text("tables:\n  sales: {path: none.csv}\n")
    bad = m3[m3["series"].isin(ids[:1]) & (m3["split"] == "train")].astype({"value": str})
    bad.iloc[3, bad.columns.get_loc("value")] = "n/a"
    bad.to_csv(folder / "bad.csv", index=False)
    return m3, ids


def _start_m3_cli(request, background):
    """The three `chanlib forecast` runs of the M3 test, in the background (tests/conftest.py)."""
    folder = request.getfixturevalue("tmp_path_factory").mktemp("m3")
    _m3_inputs(request.getfixturevalue("shared_data"), folder)
    cli = [sys.executable, "-m", "chanlib.cli", "forecast", "--params", "p.yaml"]
    commands = [cli + ["--input", "m3.csv", "--id", "series", "--time", "period", "--value", "value", "--season",
                       "12", "--horizon", "18", "--out", str(folder / "f.csv")],
                cli + ["--input", "m3.csv", "--id", "nope", "--out", "x.csv"],
                cli + ["--input", "bad.csv", "--id", "series", "--time", "period", "--value", "value", "--out",
                       "x.csv"]]
    return background.call(folder, lambda: [background.run(args, folder) for args in commands])


#: this module's work that starts in the background as the session starts (see tests/conftest.py)
BACKGROUND = {"m3_cli": _start_m3_cli}


@pytest.fixture(scope="module")
def m3_cli(request, background):
    return background.module_job(request, "m3_cli")


def test_generic_cli_on_an_m3_slice(shared_data, m3_cli):
    tmp_path = m3_cli.folder
    m3 = pd.read_csv(shared_data / "m3_monthly.csv.gz")
    ids = sorted(m3["series"].unique())[:8]
    out = tmp_path / "f.csv"
    result, missing, broken = m3_cli.result()
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["unique_id", "ds", "model", "yhat", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert sorted(frame["unique_id"].unique()) == ids and (frame.groupby("unique_id").size() == 18).all()
    test = m3[m3["series"].isin(ids) & (m3["split"] == "test")]
    assert frame["ds"].min() == pd.to_datetime(test["period"].min() + "-01").strftime("%Y-%m-%d")

    assert missing.returncode == 1 and "'nope' (--id) is missing" in missing.stderr
    assert broken.returncode == 1 and "bad.csv" in broken.stderr and "n/a" in broken.stderr
    assert not (tmp_path / "x.csv").exists()


def test_run_forecasts_cli(history_demo, tmp_path):
    params, _ = history_demo
    out = tmp_path / "run.parquet"
    result = _cli("forecast", "--params", str(params.tables["sales"].path.parent / "params.yaml"), "--out", str(out),
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(out)
    assert {"unique_id", "ds", "model", "yhat", "lo_80", "hi_95", "level"} <= set(frame.columns)
    assert "total" in set(frame["unique_id"])


# -- the outlook's charts draw these numbers ------------------------------------------------------------------------

def test_forecast_panels_draw_actuals_forecast_and_interval():
    from matplotlib.dates import date2num

    from chanlib.report import plots

    months = pd.date_range("2023-01-01", periods=30, freq="MS")
    ahead = pd.date_range("2025-07-01", periods=3, freq="MS")
    ids = ["North", "North/web", "North/shop"]
    actuals = pd.concat([pd.DataFrame({"unique_id": uid, "ds": months, "y": 100.0 * (k + 1) + np.arange(30)})
                         for k, uid in enumerate(ids)])
    forecasts = pd.concat([pd.DataFrame({"unique_id": uid, "ds": ahead, "yhat": [10.0 + k, 11 + k, 12 + k],
                                         "lo_80": [8.0 + k, 8 + k, 9 + k], "hi_80": [12.0 + k, 14 + k, 15 + k]})
                           for k, uid in enumerate(ids)])
    fig = plots.forecast_panels(actuals, forecasts, "EUR", history_months=24)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 4 and len(shown) == 3  # two columns: the fourth panel is hidden
    assert [ax.get_title().lower() for ax in shown] == ["north", "web", "shop"]
    for ax, uid in zip(shown, ids):
        lines = {line.get_label(): line for line in ax.get_lines()}
        past = actuals[actuals["unique_id"] == uid].tail(24)  # the last 24 months of actuals
        np.testing.assert_allclose(date2num(lines["actual"].get_xdata()), date2num(past["ds"]))
        np.testing.assert_allclose(lines["actual"].get_ydata(), past["y"])
        f = forecasts[forecasts["unique_id"] == uid]
        np.testing.assert_allclose(date2num(lines["forecast"].get_xdata()), date2num(f["ds"]))
        np.testing.assert_allclose(lines["forecast"].get_ydata(), f["yhat"])
        band = [c for c in ax.collections if c.get_label() == "80% interval"]
        assert len(band) == 1
        vertices = band[0].get_paths()[0].vertices
        inside = (vertices[:, 0] >= date2num(ahead[0])) & (vertices[:, 0] <= date2num(ahead[-1]))
        assert set(np.round(vertices[inside, 1], 9)) == set(f["lo_80"]) | set(f["hi_80"])  # from lo to hi
    assert [t.get_text() for t in shown[0].get_legend().get_texts()] == ["actual", "forecast", "80% interval"]
    web, shop = (shown[i].get_lines()[1].get_color() for i in (1, 2))
    assert web != shop  # each channel its own colour


def test_accuracy_history_draws_each_level():
    from matplotlib.dates import date2num

    from chanlib.report import plots

    frame = pd.DataFrame({"cutoff": pd.to_datetime(["2025-09-30", "2025-06-30", "2025-03-31"] * 2),
                          "level": ["total"] * 3 + ["region"] * 3, "smape": [5.0, 4.0, 6.0, 9.0, 8.0, 7.5]})
    ax = plots.accuracy_history(frame).axes[0]
    lines = ax.get_lines()
    assert [line.get_label().lower() for line in lines] == ["total", "region"]
    for line, level in zip(lines, ("total", "region")):
        part = frame[frame["level"] == level].sort_values("cutoff")  # by cutoff, oldest first
        np.testing.assert_allclose(date2num(line.get_xdata()), date2num(part["cutoff"]))
        np.testing.assert_allclose(line.get_ydata(), part["smape"])
    assert [t.get_text().lower() for t in ax.get_legend().get_texts()] == ["total", "region"]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 9.0
