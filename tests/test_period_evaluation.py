"""Period evaluation: DuckDB results against an independent pandas computation on the small demo, and edge cases."""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from chanlib import periods
from chanlib.analytics import period_evaluation as ev
from chanlib.errors import MissingInput
from chanlib.report.narrative import key_changes


def _key_changes(con, period: str, as_of=None, region: str | None = None, currency: str = "", n: int = 3) -> list[str]:
    """The key-changes sentences as a report section builds them: against last year when the data cover it."""
    p = ev.latest_complete_period(con, period, as_of)
    comparison = ev.period_comparison(con, period, as_of, region)
    against = "last_year" if p.ly_covered else "previous"
    decomposition = ev.share_shift_decomposition(con, period, as_of, region, against=against)
    return key_changes(p, comparison, decomposition, against, region, currency, n)


@pytest.fixture(scope="module")
def demo(demo_dir: Path, demo_store: Path):
    con = duckdb.connect(str(demo_store), read_only=True)
    sales = pd.read_csv(demo_dir / "sales.csv", parse_dates=["date"])
    yield con, sales
    con.close()


# --- an independent pandas computation ------------------------------------------------------------------------------

FREQ = {"month": "M", "quarter": "Q", "year": "Y"}


def pandas_periods(dates: pd.Series, period: str) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    last = dates.max()
    p = last.to_period(FREQ[period])
    if last != p.end_time.normalize():  # the period of the last date is incomplete
        p -= 1
    ly = (p.start_time - pd.DateOffset(years=1)).to_period(FREQ[period])
    span = lambda q: (q.start_time.normalize(), q.end_time.normalize())  # noqa: E731
    return {"cur": span(p), "prev": span(p - 1), "ly": span(ly)}


def pandas_comparison(sales: pd.DataFrame, period: str) -> pd.DataFrame:
    spans = pandas_periods(sales["date"], period)
    out = []
    for name, (lo, hi) in spans.items():
        s = sales[(sales["date"] >= lo) & (sales["date"] <= hi)]
        out.append(s.groupby(["region", "channel"])["revenue"].sum().rename(name))
    frame = pd.concat(out, axis=1).fillna(0.0).reset_index()
    first = sales["date"].min()
    for name in ("prev", "ly"):
        if first > spans[name][0] + pd.Timedelta(days=periods.COVERAGE_SLACK_DAYS):
            frame[name] = np.nan
    return frame.sort_values(["region", "channel"]).reset_index(drop=True)


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_period_comparison_matches_pandas(demo, period: str) -> None:
    con, sales = demo
    got = ev.period_comparison(con, period)
    want = pandas_comparison(sales, period)
    assert got["period_start"].iloc[0] == pandas_periods(sales["date"], period)["cur"][0]
    assert list(got[["region", "channel"]].itertuples(index=False)) == list(
        want[["region", "channel"]].itertuples(index=False))
    for col, ref in (("revenue", "cur"), ("revenue_prev", "prev"), ("revenue_ly", "ly")):
        np.testing.assert_allclose(got[col], want[ref], rtol=1e-9, atol=1e-6)
    growth = (want["cur"] - want["ly"]) / want["ly"].where(want["ly"] > 0)
    np.testing.assert_allclose(got["growth_ly"], growth, rtol=1e-9)
    share = want["cur"] / want.groupby("region")["cur"].transform("sum")
    np.testing.assert_allclose(got["share"], share, rtol=1e-9)
    assert not np.isinf(got.select_dtypes("number")).any().any()


def test_period_comparison_one_region_and_as_of(demo) -> None:
    con, sales = demo
    got = ev.period_comparison(con, "month", as_of="2025-07-15", region="North")
    assert set(got["region"]) == {"North"}
    assert got["period_start"].iloc[0] == pd.Timestamp("2025-06-01")
    june = sales[(sales["region"] == "North") & (sales["date"].dt.strftime("%Y-%m") == "2025-06")]
    np.testing.assert_allclose(got.set_index("channel")["revenue"],
                               june.groupby("channel")["revenue"].sum().reindex(got["channel"]).fillna(0), rtol=1e-9)


@pytest.mark.parametrize("against", ["last_year", "previous"])
def test_decomposition_adds_up_and_matches_pandas(demo, against: str) -> None:
    con, sales = demo
    got = ev.share_shift_decomposition(con, "quarter", against=against)
    want = pandas_comparison(sales, "quarter")
    base = want["ly" if against == "last_year" else "prev"]
    r1 = want.groupby("region")["cur"].transform("sum")
    r0 = base.groupby(want["region"]).transform("sum")
    s1, s0 = want["cur"] / r1, base / r0
    np.testing.assert_allclose(got["market_growth"], (r1 - r0) * s0, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got["share_shift"], r1 * (s1 - s0), rtol=1e-9, atol=1e-6)
    # additivity: per channel, and per region (market growth = total change, share shifts = 0)
    assert (got["market_growth"] + got["share_shift"] - got["change"]).abs().max() < 1e-9
    per_region = got.groupby("region")[["change", "market_growth", "share_shift"]].sum()
    assert (per_region["market_growth"] - per_region["change"]).abs().max() < 1e-9
    assert per_region["share_shift"].abs().max() < 1e-9
    np.testing.assert_allclose(got["change"], want["cur"] - base, rtol=1e-9, atol=1e-6)


def test_key_changes_on_demo(demo) -> None:
    con, _ = demo
    sentences = _key_changes(con, "quarter", region="North", currency="EUR", n=3)
    assert len(sentences) == 4
    assert sentences[0].startswith("In 2025 Q4 **North** sold **EUR ")
    assert "2025 Q3" in sentences[0] and "2024 Q4" in sentences[0]
    cmp = ev.period_comparison(con, "quarter", region="North")
    biggest = cmp.loc[cmp["change_ly"].abs().idxmax(), "channel"]
    assert sentences[1].startswith(f"**{biggest}**")


# --- edge cases on hand-made stores -----------------------------------------------------------------------------

def _rows(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "region", "channel", "revenue"])


def test_channel_without_sales_and_region_with_one_month(make_store) -> None:
    con = make_store(sales=_rows(
        ("2024-12-01", "Old", "web", 100.0), ("2024-12-11", "Old", "fax", 40.0),
        ("2025-11-10", "Old", "web", 120.0),
        ("2025-12-10", "Old", "web", 150.0), ("2025-12-12", "Old", "A & <B>", 30.0),
        ("2025-12-31", "New", "web", 10.0)))  # a region whose whole history is one month
    got = ev.period_comparison(con, "month").set_index(["region", "channel"])
    assert got.loc[("Old", "fax"), "revenue"] == 0 and got.loc[("Old", "fax"), "growth_ly"] == -1
    # no sales in the base period: growth is undefined (NaN), never infinite
    assert got.loc[("Old", "A & <B>"), "revenue_ly"] == 0 and np.isnan(got.loc[("Old", "A & <B>"), "growth_ly"])
    assert got.loc[("New", "web"), "revenue_prev"] == 0 and np.isnan(got.loc[("New", "web"), "growth_prev"])
    assert not np.isinf(got.select_dtypes("number")).any().any()
    dec = ev.share_shift_decomposition(con, "month", region="New")
    assert dec[["market_growth", "share_shift"]].to_numpy().tolist() == [[10.0, 0.0]]  # all change is growth
    dec = ev.share_shift_decomposition(con, "month")
    assert (dec["market_growth"] + dec["share_shift"] - dec["change"]).abs().max() < 1e-9
    text = " ".join(_key_changes(con, "month", region="Old", currency="EUR", n=5))
    assert "A &amp; &lt;B&gt;" in text and "<B>" not in text
    assert "growth cannot be computed" in text and "**fax** had no sales" in text


def test_store_with_one_month_has_no_comparisons(make_store) -> None:
    con = make_store(sales=_rows(("2025-03-01", "Solo", "web", 10.0), ("2025-03-31", "Solo", "shop", 5.0)))
    got = ev.period_comparison(con, "month")
    assert got["revenue"].tolist() == [5.0, 10.0]
    assert got[["revenue_prev", "revenue_ly", "growth_prev", "growth_ly"]].isna().all().all()
    dec = ev.share_shift_decomposition(con, "month")
    assert dec[["market_growth", "share_shift"]].isna().all().all()
    sentences = _key_changes(con, "month", currency="EUR")
    assert sentences == ["In March 2025 **All regions** sold **EUR 15**; the data do not reach back to "
                         "February 2025 or March 2024."]
    with pytest.raises(MissingInput, match="no complete quarter"):
        ev.period_comparison(con, "quarter")


def test_incomplete_last_period_is_skipped(make_store) -> None:
    con = make_store(sales=_rows(("2025-01-01", "R", "web", 1.0), ("2025-02-28", "R", "web", 2.0),
                                     ("2025-03-15", "R", "web", 4.0)))
    got = ev.period_comparison(con, "month")
    assert got["period_start"].iloc[0] == pd.Timestamp("2025-02-01") and got["revenue"].iloc[0] == 2.0
    assert got["revenue_prev"].iloc[0] == 1.0
    with pytest.raises(ValueError, match="period must be"):
        ev.period_comparison(con, "week")  # type: ignore[arg-type]
