"""The KPI engine (DuckDB SQL) cross-checked against an independent pandas computation, plus edge cases and the CLI."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib.analytics import kpi
from chanlib.build import build_store
from chanlib.config import load_params
from chanlib.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("kpi_pandas", ROOT / "bench" / "kpi_pandas.py")
kpi_pandas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kpi_pandas)

GROUPINGS = [[], ["region"], ["region", "channel"], ["channel", "region"], ["channel_type"], ["model", "market"],
             ["partner"], ["product"], ["category"], ["region", "category"], ["market", "partner"]]


@pytest.fixture(scope="module")
def demo(demo_dir, demo_store):
    params = load_params(demo_dir / "params.yaml")
    tables = {name: pd.read_csv(src.path, dtype={"order_id": str}) for name, src in params.tables.items()}
    return duckdb.connect(str(demo_store), read_only=True), tables


@pytest.mark.parametrize("period", [None, "month", "quarter", "year"])
@pytest.mark.parametrize("by", GROUPINGS, ids=lambda b: "-".join(b) or "total")
def test_every_kpi_matches_pandas(demo, by, period):
    con, tables = demo
    result = kpi.kpi_table(con, by, period)
    expected = kpi_pandas.kpi_cube(tables, by, period)
    got = result.frame
    assert len(got) == len(expected)
    keys = result.keys
    if keys:
        expected = expected.sort_values(keys).reset_index(drop=True)
        got = got.sort_values(keys).reset_index(drop=True)
        for key in keys:
            assert got[key].astype(str).tolist() == expected[key].astype(str).tolist(), key
    kpis = [c for c in got.columns if c not in keys]
    assert kpis, "no KPI computed"
    for column in kpis:
        assert column in expected, f"{column} has no pandas counterpart"
        a = got[column].to_numpy(dtype="float64")
        b = expected[column].to_numpy(dtype="float64")
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{column}: NaN pattern differs"
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-9, atol=1e-9, err_msg=column)
    assert not np.isinf(got[kpis].to_numpy(dtype="float64")).any()
    extra = set(expected.columns) - set(got.columns) - set(keys)
    assert not extra, f"pandas computed KPIs chanlib left out: {extra} (left out: {result.left_out})"


def test_every_family_present_for_region_channel_month(demo):
    con, _ = demo
    result = kpi.kpi_table(con, ["region", "channel"], "month")
    for column in ("revenue", "units", "orders", "average_order_value", "gross_margin", "margin_pct", "growth_yoy",
                   "growth_prev_period", "share_of_parent", "active_partners", "revenue_per_partner",
                   "top_partner_share", "top_partner_n", "hhi", "target_attainment", "projected_revenue",
                   "channel_costs", "cost_to_serve", "contribution_margin", "contribution_margin_pct", "channel_roi",
                   "incentive_cost_pct", "sell_in_units", "sell_through_rate", "sell_out_to_sell_in",
                   "weeks_of_supply", "feedback_score", "feedback_responses"):
        assert column in result.frame, column
    assert set(result.left_out) == {"market"} and "channel" in result.left_out["market"]
    assert "market_share_change" in kpi.kpi_table(con, ["region"], "quarter").frame


def test_data_frames_work_like_the_store(demo):
    """Every analysis takes ``data``: a mapping of canonical table name to DataFrame gives what the store gives."""
    con, tables = demo
    from_store = kpi.kpi_table(con, ["region", "channel"], "quarter")
    from_frames = kpi.kpi_table(tables, ["region", "channel"], "quarter")
    pd.testing.assert_frame_equal(from_frames.frame, from_store.frame, check_dtype=False)
    assert from_frames.left_out == from_store.left_out
    pd.testing.assert_frame_equal(kpi.headline(tables), kpi.headline(con), check_dtype=False)


def _tiny_store(tmp_path: Path, sales: str, costs: str | None = None) -> duckdb.DuckDBPyConnection:
    (tmp_path / "sales.csv").write_text("date,region,channel,revenue,units,cost,partner_id,order_id\n" + sales)
    tables = "  sales: {path: sales.csv}\n"
    if costs is not None:
        (tmp_path / "costs.csv").write_text("period,region,channel,cost_type,amount\n" + costs)
        tables += "  costs: {path: costs.csv}\n"
    (tmp_path / "p.yaml").write_text(f"store: s.duckdb\ntables:\n{tables}")
    build_store(load_params(tmp_path / "p.yaml"))
    return duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)


def test_one_month_region_and_channel_without_sales_in_a_period(tmp_path):
    con = _tiny_store(tmp_path, "2024-01-05,North,web,100,1,60,P1,O1\n2024-03-05,North,web,50,1,30,P1,O2\n"
                                "2024-03-06,North,shop,0,0,0,P2,O3\n2024-02-10,Solo,web,10,1,5,P3,O4\n")
    frame = kpi.kpi_table(con, ["region", "channel"], "month").frame.set_index(["region", "channel", "period"])
    # web in North has no February: March's growth vs the previous month is undefined, not infinite
    assert np.isnan(frame.loc[("North", "web", pd.Timestamp("2024-03-01")), "growth_prev_period"])
    # shop sold nothing: shares and ratios are 0 or NaN, never inf
    shop = frame.loc[("North", "shop", pd.Timestamp("2024-03-01"))]
    assert shop["revenue"] == 0 and np.isnan(shop["margin_pct"]) and shop["active_partners"] == 0
    assert np.isnan(frame.loc[("Solo", "web", pd.Timestamp("2024-02-01")), "growth_yoy"])
    assert not np.isinf(frame.select_dtypes("number").to_numpy(dtype="float64")).any()
    whole = kpi.kpi_table(con, ["region"]).frame.set_index("region")
    assert whole.loc["Solo", "revenue"] == 10 and whole.loc["Solo", "share_of_parent"] == pytest.approx(10 / 160)


def test_zero_costs_give_undefined_roi(tmp_path):
    con = _tiny_store(tmp_path, "2024-01-05,North,web,100,1,60,P1,O1\n2024-01-06,North,shop,80,1,40,P2,O2\n",
                      costs="2024-01-01,North,web,marketing,0\n2024-01-01,North,shop,marketing,20\n")
    frame = kpi.kpi_table(con, ["channel"]).frame.set_index("channel")
    assert np.isnan(frame.loc["web", "channel_roi"]) and frame.loc["web", "cost_to_serve"] == 0
    assert frame.loc["shop", "channel_roi"] == pytest.approx((40 - 20) / 20)


def test_missing_tables_are_left_out_with_a_reason(tmp_path):
    con = _tiny_store(tmp_path, "2024-01-05,North,web,100,1,60,P1,O1\n")
    result = kpi.kpi_table(con, ["region"], "month")
    for family in ("targets", "costs", "inventory", "feedback", "market"):
        assert result.left_out[family] == f"the store has no {family} table"
        assert not any(c.startswith(("target", "channel_costs", "sell_", "feedback", "market")) for c in result.frame)
    with pytest.raises(DataError, match="channel_type needs the channels table"):
        kpi.kpi_table(con, ["channel_type"])
    with pytest.raises(DataError, match="unknown --by colour"):
        kpi.kpi_table(con, ["colour"])
    with pytest.raises(DataError, match="unknown --period 'week'"):
        kpi.kpi_table(con, ["region"], "week")


def test_a_channel_missing_from_the_channels_table_is_a_cell_of_its_own():
    """Grouped by channel type, a channel the channels table lacks forms the cell with no type (None), and that cell
    keeps its own orders, closing stock, sell-in and sell-out like any other (NULL keys match NULL keys)."""
    day = pd.Timestamp
    sales = pd.DataFrame({
        "date": [day("2024-01-10"), day("2024-01-10"), day("2024-01-20"), day("2024-01-25")],
        "region": "North", "channel": ["web", "web", "shop", "fax"], "partner_id": ["P1", "P1", "P2", "P3"],
        "order_id": ["O1", "O1", "O2", "O3"], "units": [2.0, 1.0, 3.0, 4.0], "revenue": [100.0, 50.0, 90.0, 40.0],
        "cost": [60.0, 30.0, 50.0, 20.0]})
    channels = pd.DataFrame({"channel": ["web", "shop"], "channel_type": ["online", "offline"]})
    partners = pd.DataFrame({"partner_id": ["P1", "P2", "P3"], "region": "North", "channel": ["web", "shop", "fax"]})
    inventory = pd.DataFrame({"date": [day("2024-01-15"), day("2024-01-31"), day("2024-01-31")],
                              "partner_id": ["P1", "P1", "P3"], "product_id": "SKU1",
                              "on_hand_units": [5.0, 4.0, 6.0], "sell_in_units": [8.0, 0.0, 10.0]})
    frame = kpi.kpi_table({"sales": sales, "channels": channels, "partners": partners, "inventory": inventory},
                          ["channel_type"], "month").frame
    cells = {row.channel_type: row for row in frame.itertuples()}
    assert set(cells) == {"online", "offline", None}
    weeks = 16 / 7  # the month's sales run from the 10th to the 25th
    for cell, (revenue, orders, on_hand, sell_in, sold) in {"online": (150.0, 1, 4.0, 8.0, 3.0),
                                                          None: (40.0, 1, 6.0, 10.0, 4.0)}.items():
        row = cells[cell]
        assert (row.revenue, row.orders, row.active_partners) == (revenue, orders, 1)
        assert (row.on_hand_units, row.sell_in_units, row.sell_out_units) == (on_hand, sell_in, sold)
        assert row.sell_through_rate == pytest.approx(sold / (sold + on_hand))
        assert row.weeks_of_supply == pytest.approx(on_hand / (sold / weeks))
    assert cells["offline"].revenue == 90.0 and np.isnan(cells["offline"].on_hand_units)


def _start_superstore_kpi_cli(request, background):
    """Three `chanlib kpi` runs on the session's Superstore store (found up to date: no build), in the background
    (tests/conftest.py): by region and channel to CSV, by quarter to Parquet, and an unknown --by."""
    folder = request.getfixturevalue("tmp_path_factory").mktemp("kpi_cli")
    params = request.getfixturevalue("superstore_yaml")(folder / "superstore.yaml", folder / "reports")
    cli = [sys.executable, "-m", "chanlib.cli", "kpi", "--params", str(params), "--data",
           f"sales={request.getfixturevalue('superstore_csv')}"]
    commands = [cli + ["--by", "region,channel", "--out", str(folder / "k.csv")],
                cli + ["--period", "quarter", "--out", str(folder / "k.parquet")],
                cli + ["--by", "region,colour", "--out", str(folder / "x.csv")]]
    return background.call(folder, lambda: [background.run(args, folder) for args in commands])


#: this module's work that starts in the background as the session starts (see tests/conftest.py)
BACKGROUND = {"superstore_kpi_cli": _start_superstore_kpi_cli}


@pytest.fixture(scope="module")
def superstore_kpi_cli(request, background):
    return background.module_job(request, "superstore_kpi_cli")


def test_superstore_kpi_cli_gives_12_rows_summing_to_the_total(superstore_csv, superstore_store, superstore_kpi_cli):
    tmp_path = superstore_kpi_cli.folder
    out = tmp_path / "k.csv"
    result, monthly, bad = superstore_kpi_cli.result()
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert len(table) == 12
    assert round(table["revenue"].sum(), 2) == 2297200.86
    assert round(table["gross_margin"].sum(), 2) == 286397.02
    raw = pd.read_csv(superstore_csv, encoding="utf-8-sig")
    expected = raw.groupby(["Region", "Segment"])[["Sales", "Profit"]].sum().reset_index()
    merged = table.merge(expected, left_on=["region", "channel"], right_on=["Region", "Segment"])
    assert len(merged) == 12
    np.testing.assert_allclose(merged["revenue"], merged["Sales"], atol=0.005, rtol=0)
    np.testing.assert_allclose(merged["gross_margin"], merged["Profit"], atol=0.005, rtol=0)
    parquet = tmp_path / "k.parquet"
    assert monthly.returncode == 0, monthly.stderr
    assert len(pd.read_parquet(parquet)) == 16
    assert bad.returncode == 1 and "colour" in bad.stderr and not (tmp_path / "x.csv").exists()
