"""Statistical alerts on synthetic series: point anomalies (single periods, not runs or calendar days, not one
partner's big order) and level shifts (a step, not its echo a year later, not a steady trend)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.alerts import detect
from chanlib.analytics.alerts.statistical import daily_series, level_shifts
from chanlib.config import AlertSettings
from chanlib.data.store import as_connection


def daily(n_series: int = 6, days: int = 200, seed: int = 3, rate: float = 40.0) -> pd.DataFrame:
    """Daily order counts (Poisson) and revenue of several series."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days, freq="D")
    frames = []
    for i in range(n_series):
        n = rng.poisson(rate, days).astype(float)
        frames.append(pd.DataFrame({"unique_id": f"R{i}/c", "ds": ds, "n": n, "y": 25.0 * n}))
    return pd.concat(frames, ignore_index=True)


def set_day(frame: pd.DataFrame, uid: str | None, days: list[str], factor: float) -> pd.DataFrame:
    out = frame.copy()
    rows = out["ds"].isin(pd.to_datetime(days)) & (out["unique_id"].eq(uid) if uid else True)
    out.loc[rows, ["n", "y"]] = (out.loc[rows, ["n", "y"]] * factor).round()
    return out


def points(frame: pd.DataFrame) -> list[list[str]]:
    found = detect(frame, AlertSettings(rules={"level_shift": False}))
    return found[["entity", "ds"]].astype(str).values.tolist()


def test_noise_alone_raises_nothing():
    assert points(daily()) == []


def test_a_single_day_spike_and_drop_are_found():
    frame = set_day(set_day(daily(), "R1/c", ["2025-05-10"], 5.0), "R4/c", ["2025-06-02"], 0.05)
    found = detect(frame, AlertSettings(rules={"level_shift": False}))
    assert sorted(found[["entity", "ds"]].astype(str).values.tolist()) == [["R1/c", "2025-05-10"],
                                                                          ["R4/c", "2025-06-02"]]
    spike = found[found["entity"] == "R1/c"].iloc[0]
    assert spike["value"] > spike["expected_hi"] and spike["metric"] == "revenue" and spike["since"] == spike["ds"]


def test_a_run_of_days_is_no_point_anomaly():
    run = [str(d.date()) for d in pd.date_range("2025-05-10", periods=6)]
    assert points(set_day(daily(), "R1/c", run, 3.0)) == []


def test_a_day_every_series_shares_is_the_calendar():
    promotion = set_day(daily(), None, ["2025-05-10"], 4.0)
    assert points(promotion) == []
    # with the calendar adjustment off, the same day alarms every series
    found = detect(promotion, AlertSettings(rules={"level_shift": False}, calendar_min_series=0))
    assert len(found) == 6 and set(found["ds"].astype(str)) == {"2025-05-10"}


@pytest.mark.parametrize("z_up, found, rise_severity", [
    (None, ["2025-02-10", "2025-03-22"], "medium"),  # point_z_up None: rises are judged at point_z (4.2) too
    (5.0, ["2025-03-22"], None),  # a rise needs 5.0: the z 4.90 rise is left, the z -4.90 fall stays
    (3.2, ["2025-02-10", "2025-03-22"], "high"),  # excess 4.90 / 3.2 = 1.53: high (the fall: 4.90 / 4.2, medium)
])
def test_rises_and_falls_have_their_own_z_threshold(z_up: float | None, found: list[str], rise_severity: str | None):
    # a steady 30 orders a day (spread: Poisson's floor 1): 63 orders are z = 2 (sqrt(63.375) - sqrt(30.375)) =
    # +4.90 and 9 orders -4.90, at 2.1x and 0.3x the expected (point_min_ratio 1.6 holds both ways)
    n = np.full(120, 30.0)
    n[40], n[80] = 63.0, 9.0
    frame = pd.DataFrame({"unique_id": "North/web", "ds": pd.date_range("2025-01-01", periods=120), "n": n,
                          "y": 25.0 * n})
    alerts = detect(frame, AlertSettings(rules={"level_shift": False}, point_z_up=z_up)).sort_values("ds")
    assert alerts["ds"].astype(str).tolist() == found
    assert alerts[alerts["ds"] == "2025-03-22"]["severity"].tolist() == ["medium"]
    assert alerts[alerts["ds"] == "2025-02-10"]["severity"].tolist() == ([rise_severity] if rise_severity else [])
    if z_up == 5.0:  # the normal range's top: (sqrt(30.375) + 5.0 / 2)^2 - 3/8 = 63.81 orders of 25 each
        assert alerts["expected_hi"].iloc[0] == pytest.approx(25.0 * ((30.375 ** 0.5 + 2.5) ** 2 - 0.375))


def test_one_partners_big_day_is_trimmed_but_a_channel_wide_one_is_not():
    days = pd.date_range("2025-01-01", periods=60, freq="D")
    rng = np.random.default_rng(0)
    rows = []
    for day in days:
        for partner in ("A", "B", "C", "D"):
            orders = int(rng.poisson(5))
            if day == pd.Timestamp("2025-02-10") and partner == "A":
                orders = 60  # one partner's big day: twelve times its usual
            if day == pd.Timestamp("2025-02-20"):
                orders *= 5  # every partner at once
            rows += [{"date": day, "region": "N", "channel": "web", "partner_id": partner,
                      "order_id": f"{partner}{day.date()}{k}", "revenue": 10.0} for k in range(orders)]
    con = as_connection({"sales": pd.DataFrame(rows)})
    frame, label = daily_series(con, cap=3.0)
    frame = frame.set_index("ds")
    one, wide = frame.loc["2025-02-10"], frame.loc["2025-02-20"]
    assert label == "orders"
    assert one["value"] > 2.5 * one["y"]  # the big day is capped at 3x A's average and A is left out of it
    assert wide["y"] > 0.5 * wide["value"]  # a channel-wide day keeps most of its height
    assert wide["n"] >= 2 * frame["n"].median()


def monthly(step: float = 0.0, at: int = 20, months: int = 36, noise: float = 0.05, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    level = 1000 * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * np.where(t >= at, 1 + step, 1.0)
    return pd.DataFrame({"unique_id": "N/web", "ds": pd.date_range("2023-01-01", periods=months, freq="MS"),
                         "y": level * (1 + noise * rng.normal(size=months))})


def test_a_level_shift_is_found_at_its_month():
    found = detect(monthly(step=-0.4), AlertSettings(rules={"point_anomaly": False}))
    assert found[["rule", "ds"]].astype(str).values.tolist() == [["level_shift", "2024-09-01"]]
    row = found.iloc[0]
    assert row["value"] < row["expected_lo"] and row["severity"] == "high" and "stepped down" in row["evidence"]


@pytest.mark.parametrize("series", [monthly(), monthly(noise=0.15, seed=5)], ids=["flat", "noisy"])
def test_no_level_shift_without_one(series):
    found, fitted = level_shifts(series, AlertSettings())
    assert found.empty and len(fitted) == 36


def test_a_shift_in_the_first_year_is_not_reported_a_year_later():
    found, _ = level_shifts(monthly(step=0.5, at=5), AlertSettings())
    assert found.empty


def test_a_steady_trend_is_no_level_shift():
    frame = monthly()
    frame["y"] *= np.exp(0.3 * np.arange(36) / 12)
    found, _ = level_shifts(frame, AlertSettings())
    assert found.empty


@pytest.mark.parametrize("usual, day, found", [
    # a busy channel: every move below is many Poisson SDs (e.g. 600 vs 400 orders: z = 2 (sqrt(600.375) -
    # sqrt(400.375)) = +8.98), so materiality decides: a rise needs 1.6x (point_min_ratio), a fall 1 / 1.6 = 0.625x
    (400, 600, False), (400, 680, True), (400, 260, False), (400, 240, True),
    # a tiny channel: the z-score decides (spread never below Poisson's 1): 1 -> 3 orders is z +1.33, 1 -> 12 z +4.69
    (1, 3, False), (1, 12, True),
])
def test_point_anomalies_need_a_material_change(usual: int, day: int, found: bool):
    n = np.full(120, float(usual))
    n[60] = day
    frame = pd.DataFrame({"unique_id": "North/web", "ds": pd.date_range("2025-01-01", periods=120), "n": n,
                          "y": 25.0 * n})
    assert points(frame) == ([["North/web", "2025-03-02"]] if found else [])
