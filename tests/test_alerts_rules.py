"""Alert rules on small hand-made tables: each fires at or over its threshold and not below it, with the values,
``since`` and severity worked out by hand; severity mapping is table-driven."""
from __future__ import annotations

import pandas as pd
import pytest

from chanlib.analytics.alerts import rules
from chanlib.analytics.alerts.base import AlertContext
from chanlib.analytics.alerts.severity import finish, severity_of
from chanlib.config import AlertSettings
from chanlib.data import store
from chanlib.data.store import as_connection

AS_OF = pd.Timestamp("2025-06-30")


def context(first: str = "2024-01-01", window_months: int = 12, **settings) -> AlertContext:
    return AlertContext.create(AlertSettings(**settings), pd.Timestamp(first), AS_OF, "EUR",
                               window_months=window_months)


def anchor_sale(region: str = "North", channel: str = "web") -> dict:
    """A sale on the as-of date, so every rule sees the same last sale."""
    return {"date": AS_OF, "region": region, "channel": channel, "revenue": 1.0}


def run(rule, tables: dict[str, pd.DataFrame], ctx: AlertContext) -> pd.DataFrame:
    found, _ = rule(as_connection(tables), ctx)
    return finish(found, ctx.settings)


def test_target_missed_fires_after_k_misses_in_a_row_and_a_period_at_the_threshold_is_no_miss():
    months = pd.date_range("2025-01-01", "2025-06-01", freq="MS")
    targets = pd.DataFrame([{"period": m, "region": r, "channel": "web", "target_revenue": 100.0}
                            for r in ("North", "South") for m in months])
    revenue = {"North": [100, 100, 100, 90, 94, 80], "South": [100, 100, 100, 90, 95, 80]}
    sales = pd.DataFrame([{"date": m + pd.Timedelta(days=14), "region": r, "channel": "web", "revenue": float(v)}
                          for r, values in revenue.items() for m, v in zip(months, values)])
    sales = pd.concat([sales, pd.DataFrame([{**anchor_sale("East"), "revenue": 0.0}])])
    found = run(rules.target_missed, {"sales": sales, "targets": targets}, context())
    # North misses April (90 %), May (94 %) and June (80 %): three in a row; South's May is exactly 95 %, no miss
    assert found[["region", "value", "threshold"]].values.tolist() == [["North", 0.8, 0.95]]
    row = found.iloc[0]
    assert str(row["since"].date()) == "2025-04-01" and str(row["ds"].date()) == "2025-06-01"
    assert row["excess"] == 1.0 and row["severity"] == "medium" and row["metric"] == "target_attainment"
    assert "3 months running" in row["evidence"] and "April 2025 90.0%" in row["evidence"]


def test_target_missed_needs_targets():
    from chanlib.errors import MissingInput

    with pytest.raises(MissingInput, match="targets"):
        rules.target_missed(as_connection({"sales": pd.DataFrame([anchor_sale()])}), context())


def test_margin_erosion_at_three_points_fires_and_below_does_not():
    months = pd.date_range("2024-01-01", "2025-06-01", freq="MS")
    rows = []
    for m in months:
        recent = m >= pd.Timestamp("2025-04-01")
        for region, margin in (("North", 0.27), ("South", 0.271)):
            rows.append({"date": m + pd.Timedelta(days=9), "region": region, "channel": "web", "revenue": 100.0,
                         "cost": 100.0 * (1 - (margin if recent else 0.30))})
    sales = pd.DataFrame(rows + [{**anchor_sale(), "revenue": 0.0, "cost": 0.0}])
    found = run(rules.margin_erosion, {"sales": sales}, context())
    # North: April-June at 27 % against 30 % a year earlier, exactly 3 points; South 2.9 points: no alert.
    # Only June's trailing three months are all eroded (May's still hold March at 30 %: 2 points down)
    assert found["region"].tolist() == ["North"]
    row = found.iloc[0]
    assert row["value"] == pytest.approx(0.27) and row["threshold"] == pytest.approx(0.27)
    assert str(row["since"].date()) == "2025-06-01" and row["excess"] == pytest.approx(1.0)


def test_partner_concentration_at_and_over_the_share():
    months = pd.date_range("2025-01-01", "2025-06-01", freq="MS")
    shares = {"North": {"A": 60, "B": 40}, "West": {"C": 50, "D": 50}, "East": {"E": 40, "F": 30, "G": 30}}
    sales = pd.DataFrame([{"date": m + pd.Timedelta(days=3), "region": r, "channel": "web", "partner_id": p,
                           "revenue": float(v)} for r, parts in shares.items() for p, v in parts.items()
                          for m in months] + [{**anchor_sale(), "partner_id": "A", "revenue": 0.0}])
    # 6 months of data and a 6-month window: June is the first full window
    found = run(rules.partner_concentration, {"sales": sales}, context(first="2025-01-04", window_months=6))
    found = found.sort_values("region")
    assert found[["region", "partner_id"]].values.tolist() == [["North", "A"], ["West", "C"]]
    assert found["value"].tolist() == pytest.approx([0.6, 0.5])
    assert found["severity"].tolist() == ["low", "low"]
    assert "A sold 60.0% of the channel's revenue in the 6 months to June 2025" in found.iloc[0]["evidence"]
    assert str(found.iloc[0]["since"].date()) == "2025-06-01"


@pytest.fixture
def partners_table() -> pd.DataFrame:
    return pd.DataFrame({"partner_id": [f"P{i}" for i in range(1, 7)], "name": "Shop & Co", "region": "North",
                         "channel": "shop"})


def test_weeks_of_supply_high_and_low(partners_table):
    stock_day = AS_OF
    weekly = [stock_day - pd.Timedelta(days=7 * k) for k in range(26)]
    sales = pd.DataFrame([{"date": d, "region": "North", "channel": "shop", "partner_id": p, "revenue": 100.0,
                           "units": 10.0} for p in ("P1", "P2", "P3", "P4") for d in weekly])
    inventory = pd.DataFrame({"date": stock_day, "partner_id": ["P1", "P2", "P3", "P4", "P5"], "product_id": "X",
                              "on_hand_units": [260.0, 250.0, 5.0, 10.0, 50.0]})
    tables = {"sales": sales, "inventory": inventory, "partners": partners_table}
    high = run(rules.weeks_of_supply_high, tables, context(first=str(weekly[-1].date())))
    low = run(rules.weeks_of_supply_low, tables, context(first=str(weekly[-1].date())))
    # 13 sales of 10 units in the 13 weeks before the stock date: 10 units a week. P1 holds 26 weeks (at the
    # threshold), P2 25 (below it); P5 holds stock and sold nothing (no weeks to count: excess 10, high)
    assert high["partner_id"].tolist() == ["P1", "P5"]
    assert high["value"].iloc[0] == pytest.approx(26.0) and pd.isna(high["value"].iloc[1])
    assert high["severity"].tolist() == ["low", "high"]
    # P3 holds half a week (below 1), P4 exactly one week (not below)
    assert low["partner_id"].tolist() == ["P3"]
    assert low["value"].iloc[0] == pytest.approx(0.5) and low["excess"].iloc[0] == pytest.approx(2.0)
    assert low["entity"].iloc[0] == "North / shop / P3 Shop & Co"


def test_channel_stuffing_at_the_ratio(partners_table):
    months = pd.date_range("2025-04-01", "2025-06-01", freq="MS")
    inventory = pd.DataFrame([{"date": m + pd.offsets.MonthEnd(0), "partner_id": p, "product_id": "X",
                               "on_hand_units": 100.0, "sell_in_units": v} for p, v in (("P1", 50.0), ("P2", 140 / 3))
                              for m in months])
    sales = pd.DataFrame([{"date": m + pd.Timedelta(days=5), "region": "North", "channel": "shop", "partner_id": p,
                           "revenue": 10.0, "units": 100 / 3} for p in ("P1", "P2") for m in months]
                         + [{**anchor_sale("North", "shop"), "partner_id": "P1", "units": 0.0}])
    found = run(rules.channel_stuffing, {"sales": sales, "inventory": inventory, "partners": partners_table},
                context(first="2025-04-06"))
    # P1 bought 150 units and sold 100 over April-June: 1.5x, at the threshold; P2 bought 140: 1.4x, no alert
    assert found["partner_id"].tolist() == ["P1"]
    assert found["value"].iloc[0] == pytest.approx(1.5) and found["severity"].iloc[0] == "medium"
    assert str(found["since"].iloc[0].date()) == "2025-06-01"


def test_feedback_drop_needs_the_drop_and_its_significance():
    rows = []
    for region, recent in (("North", [10] * 2 + [8] * 5 + [3] * 3), ("South", [10] * 4 + [8] * 6)):
        for m in pd.date_range("2024-04-01", "2025-06-01", freq="MS"):
            scores = recent if m >= pd.Timestamp("2025-04-01") else [10] * 5 + [8] * 5
            rows += [{"date": m + pd.Timedelta(days=2), "region": region, "channel": "web", "score": float(s)}
                     for s in scores]
    tables = {"sales": pd.DataFrame([anchor_sale()]), "feedback": pd.DataFrame(rows)}
    found = run(rules.feedback_drop, tables, context())
    # North: NPS 50 over the 12 months before, -10 over April-June: a 60-point drop, 4.4 standard errors.
    # South: NPS 40, a 10-point drop (below 15)
    assert found["region"].tolist() == ["North"]
    row = found.iloc[0]
    assert row["value"] == pytest.approx(-10.0) and row["threshold"] == pytest.approx(35.0)
    assert row["excess"] == pytest.approx(4.0) and row["severity"] == "high" and row["metric"] == "nps"
    assert "4.4 standard errors" in row["evidence"]


def test_contract_ending_window_decisions_and_expired_partners_still_selling():
    partners = pd.DataFrame({
        "partner_id": ["P1", "P2", "P3", "P4", "P5", "P6"], "region": "North", "channel": "shop",
        "contract_end": pd.to_datetime(["2025-09-28", "2025-09-29", "2025-07-10", "2025-06-01", "2025-06-01",
                                        "2025-07-15"]),
        "renewal_decision": [None, None, "", None, None, "renew"]})
    sales = pd.DataFrame([{**anchor_sale("North", "shop"), "partner_id": "P4", "revenue": 500.0}])
    found = run(rules.contract_ending, {"sales": sales, "partners": partners}, context())
    found = found.set_index("partner_id")
    # P1 ends in exactly 90 days, P3 in 10, P4 ended 29 days ago and still sells; P2 ends in 91 days, P5 ended and
    # no longer sells, P6 has a decision
    assert sorted(found.index) == ["P1", "P3", "P4"]
    assert found.loc[["P1", "P3", "P4"], "value"].tolist() == [90.0, 10.0, -29.0]
    assert found.loc[["P1", "P3", "P4"], "severity"].tolist() == ["medium", "high", "critical"]
    assert str(found.loc["P1", "since"].date()) == "2025-06-30"
    assert "still sells" in found.loc["P4", "evidence"] and "EUR 500" in found.loc["P4", "evidence"]


def test_contract_ending_without_a_decision_column_says_so():
    partners = pd.DataFrame({"partner_id": ["P1"], "contract_end": pd.to_datetime(["2025-07-30"])})
    found = run(rules.contract_ending, {"sales": pd.DataFrame([anchor_sale()]), "partners": partners}, context())
    assert len(found) == 1 and "has no renewal_decision column" in found["evidence"].iloc[0]


def test_channel_conflict_shared_customers_within_the_window():
    channels = pd.DataFrame({"channel": ["web", "franchise"], "model": ["direct", "franchise"]})
    rows = []
    for region, shared, late in (("North", 2, 0), ("South", 1, 1)):
        for i in range(10):
            rows.append({"date": pd.Timestamp("2025-06-10"), "region": region, "channel": "franchise",
                         "customer_id": f"{region}{i}", "revenue": 10.0})
        for i in range(shared):  # bought direct 20 days later: shared
            rows.append({"date": pd.Timestamp("2025-06-30"), "region": region, "channel": "web",
                         "customer_id": f"{region}{i}", "revenue": 10.0})
        for i in range(shared, shared + late):  # bought direct 31 days earlier: outside the window
            rows.append({"date": pd.Timestamp("2025-05-10"), "region": region, "channel": "web",
                         "customer_id": f"{region}{i}", "revenue": 10.0})
    tables = {"sales": pd.DataFrame(rows), "channels": channels}
    found = run(rules.channel_conflict, tables, context(first="2025-05-10", conflict_min_customers=2))
    assert found[["region", "channel"]].values.tolist() == [["North", "franchise"]]
    assert found["value"].iloc[0] == pytest.approx(0.2) and "web (2)" in found["evidence"].iloc[0]
    assert run(rules.channel_conflict, tables, context(first="2025-05-10")).empty  # 2 < 10 customers


def test_price_gap_at_the_ratio_and_wholesale_channels_left_out():
    channels = pd.DataFrame({"channel": ["web", "shop", "wholesale"], "model": ["direct", "direct", "distributor"]})
    prices = {("SKU1", "web"): 15.0, ("SKU1", "shop"): 10.0, ("SKU1", "wholesale"): 5.0,
              ("SKU2", "web"): 14.0, ("SKU2", "shop"): 10.0}
    sales = pd.DataFrame([{"date": pd.Timestamp("2025-06-15"), "region": "North", "channel": c, "product_id": p,
                           "units": 10.0, "revenue": 10.0 * price} for (p, c), price in prices.items()]
                         + [{**anchor_sale(), "product_id": "SKU9", "units": 1.0}])
    found = run(rules.price_gap, {"sales": sales, "channels": channels}, context(first="2025-06-15"))
    # SKU1: 15 against 10 is 1.5x (the wholesale price of 5 is left out); SKU2: 1.4x
    assert found[["product_id", "channel", "value"]].values.tolist() == [["SKU1", "shop", 1.5]]
    assert "EUR 10.00 a unit in shop" in found["evidence"].iloc[0]


def test_revenue_below_forecast_uses_the_latest_kept_forecast_and_counts_the_run():
    con = as_connection({"sales": pd.DataFrame([anchor_sale()])})
    months = pd.date_range("2025-04-01", "2025-06-01", freq="MS")
    nodes = pd.DataFrame({"unique_id": ["North", "North/web"], "level": ["region", "channel"],
                          "region": "North", "channel": [None, "web"]})
    history = pd.DataFrame([{"unique_id": u, "ds": m, "cutoff": c, "yhat": 100.0, "lo_80": lo, "hi_80": 110.0}
                            for u in nodes["unique_id"] for m in months
                            for c, lo in ((pd.Timestamp("2025-01-31"), 99.0), (pd.Timestamp("2025-03-31"), 90.0))])
    actuals = pd.DataFrame({"unique_id": ["North/web"] * 3 + ["North"] * 3, "ds": list(months) * 2,
                            "y": [95.0, 89.0, 85.0, 100.0, 100.0, 90.0]})
    for name, frame in (("forecast_nodes", nodes), ("forecast_history", history), ("forecast_actuals", actuals)):
        store.write_frame(con, store.result_table(name), frame)
    found, series = rules.revenue_below_forecast(con, context())
    found = finish(found, AlertSettings())
    # the latest forecast (cutoff March) has a lower bound of 90: North/web below it in May (89) and June (85);
    # North's June (90) is at the bound, not below
    assert found[["region", "channel", "value"]].values.tolist() == [["North", "web", 85.0]]
    row = found.iloc[0]
    assert str(row["since"].date()) == "2025-05-01" and row["excess"] == pytest.approx(1.5)
    assert row["severity"] == "high" and "2 months running" in row["evidence"]
    assert row["expected_lo"] == 90.0 and row["expected_hi"] == 110.0
    assert len(series) == 3 and series["expected_lo"].tolist() == [90.0] * 3


@pytest.mark.parametrize(("rule", "excess", "expected"), [
    ("point_anomaly", 1.0, "medium"), ("point_anomaly", 1.49, "medium"), ("point_anomaly", 1.5, "high"),
    ("point_anomaly", 2.0, "critical"), ("level_shift", 1.0, "high"), ("level_shift", 2.0, "critical"),
    ("contract_ending", 1.0, "medium"), ("contract_ending", 3.0, "high"), ("contract_ending", 12.0, "critical"),
    ("partner_concentration", 1.39, "low"), ("partner_concentration", 1.4, "medium"),
    ("price_gap", 0.5, "low"),  # below every bound: the least severe listed level
])
def test_severity_follows_the_excess_bounds(rule, excess, expected):
    assert severity_of(rule, excess, AlertSettings()) == expected


def test_severity_bounds_from_params_replace_a_rules_defaults():
    settings = AlertSettings(severity={"price_gap": {"high": 1.0, "critical": 3.0}})
    assert [severity_of("price_gap", x, settings) for x in (1.0, 2.9, 3.0)] == ["high", "high", "critical"]
    assert severity_of("level_shift", 1.0, settings) == "high"  # other rules keep their defaults
    assert settings.responses["price_gap"].startswith("Align prices")
