"""Alerts in the store build: no alerts on flat noise, stable ids across builds, exactly the alerts a change in the data
should raise, ``chanlib alerts --since-last``, and Superstore running the rules its columns allow."""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.build import build_store
from chanlib.cli import main
from chanlib.config import load_params
from chanlib.data import store


def build(folder: Path, sales: pd.DataFrame, extra: str = "") -> tuple[pd.DataFrame, dict[str, str]]:
    """Build a store of ``sales`` in ``folder`` (no forecasts; ``extra`` params YAML appended) and return its
    alerts and what the alerts analysis left out."""
    folder.mkdir(parents=True, exist_ok=True)
    sales.to_csv(folder / "sales.csv", index=False)
    (folder / "p.yaml").write_text("store: store.duckdb\ncurrency: EUR\nforecast: {enabled: false}\n"
                                   "tables:\n  sales:\n    path: sales.csv\n    date_format: '%Y-%m-%d'\n" + extra,
                                   encoding="utf-8")
    params = load_params(folder / "p.yaml")
    build_store(params)
    con = duckdb.connect(str(params.store), read_only=True)
    try:
        return store.read_result(con, "alerts"), store.omitted(con, "alerts")
    finally:
        con.close()


def test_flat_noise_monthly_series_raise_no_alert(tmp_path: Path):
    """False-positive control: three years of flat monthly revenue with 10 % noise in 2 regions x 3 channels, every
    month examined (lookback 36 months), default thresholds: no alert at all."""
    rng = np.random.default_rng(2024)
    months = pd.date_range("2023-01-01", periods=36, freq="MS")
    sales = pd.DataFrame([{"date": m.date(), "region": r, "channel": c, "revenue": round(1000 * (1 + 0.1 * e), 2)}
                          for r in ("North", "South") for c in ("web", "shop", "partner")
                          for m, e in zip(months, rng.normal(size=36))])
    alerts, left_out = build(tmp_path, sales, "alerts: {lookback_months: 36}\n")
    assert alerts.empty
    # the statistical alerts ran (monthly data: monthly point anomalies and level shifts); the rules whose inputs
    # these sales lack are noted
    assert "point_anomaly" not in left_out and "level_shift" not in left_out
    assert "targets" in left_out["target_missed"] and "cost" in left_out["margin_erosion"]


def daily_orders(seed: int = 7, days: int = 400) -> pd.DataFrame:
    """Order lines of 2 channels x 3 partners in one region: about 30 orders a day per channel, a weekly pattern."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-12-01", periods=days, freq="D")
    weekly = np.array([1.0, 0.95, 1.0, 1.05, 1.1, 1.2, 0.8])
    rows = []
    for channel in ("web", "shop"):
        for partner, share in (("A", 0.4), ("B", 0.35), ("C", 0.25)):
            counts = rng.poisson(30 * share * weekly[dates.dayofweek])
            for day, n in zip(dates, counts):
                rows += [(day, channel, f"{channel}-{partner}")] * int(n)
    frame = pd.DataFrame(rows, columns=["date", "channel", "partner_id"])
    frame["region"] = "North"
    frame["order_id"] = [f"O{i:07d}" for i in range(len(frame))]
    frame["revenue"] = np.round(rng.gamma(4.0, 10.0, len(frame)), 2)
    frame["date"] = frame["date"].dt.date
    return frame


def test_stable_ids_and_exactly_the_alerts_a_change_raises(tmp_path: Path, capsys: pytest.CaptureFixture):
    clean = daily_orders()
    first, _ = build(tmp_path / "store", clean)
    assert first.empty  # ~30 orders a day with Poisson noise: nothing to report
    again, _ = build(tmp_path / "store", clean)
    assert again.empty

    # one day of the last month of the web channel loses almost all its orders: exactly one new alert
    drop_day = pd.Timestamp("2025-12-18").date()
    changed = clean[~((clean["channel"] == "web") & (clean["date"] == drop_day)) | (clean.index % 50 == 0)]
    alerts, _ = build(tmp_path / "store", changed)
    assert alerts[["state", "rule", "region", "channel", "ds"]].astype(str).values.tolist() == [
        ["new", "point_anomaly", "North", "web", "2025-12-18"]]
    row = alerts.iloc[0]
    assert row["value"] < row["expected_lo"] and row["severity"] in ("high", "critical")
    assert "orders against" in row["evidence"] and row["response"].startswith("Check the day's data")
    first_id = row["alert_id"]

    # the same data again: the alert continues with the same id; nothing new
    again, _ = build(tmp_path / "store", changed)
    assert again[["alert_id", "state"]].values.tolist() == [[first_id, "continuing"]]
    assert again["first_seen"].iloc[0] == row["first_seen"]

    # the drop repaired, a spike on the shop channel instead: the spike is new, the drop resolved
    spike_day = pd.Timestamp("2025-12-22").date()
    extra = clean[(clean["channel"] == "shop") & (clean["date"] == spike_day)]
    spiked = pd.concat([clean] + [extra.assign(order_id=extra["order_id"] + f"x{k}") for k in range(4)])
    alerts, _ = build(tmp_path / "store", spiked)
    assert sorted(alerts[["state", "channel", "ds"]].astype(str).values.tolist()) == [
        ["new", "shop", "2025-12-22"], ["resolved", "web", "2025-12-18"]]
    assert alerts.loc[alerts["state"] == "resolved", "alert_id"].tolist() == [first_id]

    params = tmp_path / "store" / "p.yaml"
    out = tmp_path / "since_last.csv"
    assert main(["alerts", "--params", str(params), "--since-last", "--out", str(out), "-q"]) == 0
    since_last = pd.read_csv(out, keep_default_na=False)
    assert sorted(since_last["state"]) == ["new", "resolved"]
    assert list(since_last.columns[:4]) == ["alert_id", "state", "severity", "rule"]
    assert main(["alerts", "--params", str(params), "--out", str(tmp_path / "all.parquet"), "-q"]) == 0
    assert len(pd.read_parquet(tmp_path / "all.parquet")) == 2

    con = duckdb.connect(str(tmp_path / "store" / "store.duckdb"), read_only=True)
    try:
        history = store.read_result(con, "alert_history")
        series = store.read_result(con, "alert_series")
    finally:
        con.close()
    # five builds: 0 + 0 + 1 + 1 + 2 alerts kept in the history, each with its build
    assert len(history) == 4 and history["build"].nunique() <= 3
    assert set(series["alert_id"]) == set(alerts.loc[alerts["state"] == "new", "alert_id"])


def test_switched_off_alerts_are_left_out(tmp_path: Path):
    sales = daily_orders(days=60)
    folder = tmp_path / "off"
    folder.mkdir()
    sales.to_csv(folder / "sales.csv", index=False)
    (folder / "p.yaml").write_text("store: store.duckdb\nforecast: {enabled: false}\nalerts: {enabled: false}\n"
                                   "tables:\n  sales:\n    path: sales.csv\n    date_format: '%Y-%m-%d'\n",
                                   encoding="utf-8")
    params = load_params(folder / "p.yaml")
    build_store(params)
    con = store.connect(params.store)
    try:
        assert not store.has_result(con, "alerts")
        assert "switched off" in store.omitted(con, "alerts")["*"]
    finally:
        con.close()


def test_superstore_runs_the_rules_its_columns_allow(superstore_store: Path):
    con = store.connect(superstore_store)
    try:
        alerts = store.read_result(con, "alerts")
        left_out = store.omitted(con, "alerts")
    finally:
        con.close()
    # Superstore has profit (margin), units, products and customers, but no partners, targets, inventory, feedback,
    # channels table, or a forecast from an earlier build
    for rule, why in (("target_missed", "targets"), ("weeks_of_supply_high", "inventory"),
                      ("channel_stuffing", "inventory"), ("feedback_drop", "feedback"),
                      ("contract_ending", "partners"), ("partner_concentration", "partner_id"),
                      ("channel_conflict", "channels"), ("revenue_below_forecast", "forecast")):
        assert why in left_out[rule], (rule, left_out[rule])
    for rule in ("margin_erosion", "price_gap", "point_anomaly", "level_shift"):
        assert rule not in left_out
    assert set(alerts["rule"]) <= {"margin_erosion", "price_gap", "point_anomaly", "level_shift"}
    assert alerts["state"].eq("new").all() and alerts["region"].isin(["Central", "East", "South", "West"]).all()


def test_early_warnings_section_and_index_counts(tmp_path: Path):
    from IPython.display import HTML

    from chanlib.report import runner, sections
    from chanlib.report.display import Chart

    orders = daily_orders(days=120).assign(region="North & <Co>")
    day = pd.Timestamp("2025-03-20").date()
    orders = orders[~((orders["channel"] == "web") & (orders["date"] == day))]  # the web shop sold nothing that day
    # severity from params: an anomaly of 1.2 times the z threshold is critical here
    alerts, _ = build(tmp_path / "s", orders, "alerts: {severity: {point_anomaly: {high: 1.0, critical: 1.2}}}\n")
    assert alerts[["rule", "severity", "state"]].values.tolist() == [["point_anomaly", "critical", "new"]]

    ctx = sections.open_region("North & <Co>", tmp_path / "s" / "p.yaml", tmp_path / "s" / "store.duckdb")
    try:
        out = sections.early_warnings(ctx)
        counts = runner.new_alert_counts(ctx.con)
    finally:
        ctx.con.close()
    texts = [o.data for o in out if not isinstance(o, Chart)]
    assert "**North &amp; &lt;Co&gt;**: **1 new alert** since the last report (1 critical)." in texts[1]
    table = next(o.data for o in out if isinstance(o, HTML))
    assert "<td>North &amp; &lt;Co&gt; / Web</td>" in table and "<th>Evidence</th>" in table
    images = [o for o in out if isinstance(o, Chart)]
    assert len(images) == 1 and images[0].alt.startswith("Anomaly: North & <Co> / Web")
    assert counts == {"North & <Co>": {"critical": 1}}
    assert runner._index_alerts(counts, ["North & <Co>"]) == {"alerts": "1 critical", "alerts_new": 1}
    assert runner._index_alerts(counts, ["South"])["alerts"] == "none"
