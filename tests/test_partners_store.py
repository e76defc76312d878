"""Partner management through the store: the build's result tables, the contract's new tables (candidates, tier
history, minimum purchase), the three commands, the Partners report section, the pages for partners themselves
(every partner's page on the small demo shows no other partner's id or name), and Superstore, which has no partner
columns: left out with one line, nothing fails."""
from __future__ import annotations

import html
import re
from pathlib import Path

import markupsafe
import numpy as np
import pandas as pd
import pytest
from IPython.display import HTML, Markdown

from chanlib import cli
from chanlib.config import load_params
from chanlib.data import store
from chanlib.data.demo import DemoSize, _candidates
from chanlib.report import partner_pages, sections
from chanlib.report.display import Chart


def _text(outputs: list) -> str:
    return "\n".join(o.data if isinstance(o, (HTML, Markdown)) else "" for o in outputs)


# -- the demo's planted candidates ---------------------------------------------------------------------------------

def test_planted_candidates_are_moderate_not_separable_on_one_attribute() -> None:
    frame, truth = _candidates(np.random.default_rng([1, 11]), DemoSize(12, 6000, 5, 0, 0, "csv"))
    good = (truth["quality"] == "good").to_numpy()
    assert len(frame) == 3000 and 0.4 < good.mean() < 0.6
    for column in ("stores", "credit_score", "years_in_business", "willingness"):
        x = frame[column].astype(float).rank().to_numpy()
        # rank AUC of the attribute alone: better than chance, far from separating
        auc = (x[good].sum() - good.sum() * (good.sum() + 1) / 2) / (good.sum() * (~good).sum())
        assert 0.6 < auc < 0.75, (column, auc)
    qualified = frame["qualified"] == "yes"
    assert qualified[good].mean() > qualified[~good].mean() + 0.1
    assert (~qualified[~good]).sum() > 0 and (frame.loc[~good, "credit_score"] < 50).sum() > 0


# -- a hand-made store with every partner table --------------------------------------------------------------------

@pytest.fixture
def small_store(make_store):
    months = pd.date_range("2023-01-15", "2025-12-15", freq="MS") + pd.Timedelta(days=14)
    rows = []
    for i, slope in enumerate([0.5, 0.8, 1.0, 1.0, 1.1, 1.3]):
        for m, day in enumerate(months):
            revenue = 10000.0 * slope ** (m / 12)
            rows.append({"date": day.strftime("%Y-%m-%d"), "region": "North", "channel": "web",
                         "partner_id": f"P{i}", "revenue": round(revenue, 2), "cost": round(0.7 * revenue, 2)})
    partners = pd.DataFrame({"partner_id": [f"P{i}" for i in range(6)], "name": [f"Partner {i}" for i in range(6)],
                             "region": "North", "channel": "web", "tier": "silver",
                             "contract_end": ["2026-01-31", "2027-01-01", "2026-03-01", "2028-01-01", "2028-01-01",
                                              "2025-11-30"],
                             "min_purchase": [25000.0, np.nan, 20000.0, 20000.0, 20000.0, 20000.0],
                             "renewal_decision": ["renew", None, None, None, None, "let_expire"]})  # as of 12-15
    tier_history = pd.DataFrame({"partner_id": ["P5", "P5"], "date": ["2020-01-01", "2025-08-01"],
                                 "tier": ["bronze", "silver"]})
    candidates = pd.DataFrame({"candidate_id": ["C1", "C2"], "name": ["New & <Co>", "Other"], "region": "Nowhere",
                               "channel": "web", "stores": [10, 20], "credit_score": [70, 40],
                               "years_in_business": [5, 10], "qualified": ["yes", "yes"], "willingness": [7.0, 9.0]})
    return make_store(sales=pd.DataFrame(rows), partners=partners, tier_history=tier_history, candidates=candidates)


def test_the_build_keeps_every_partner_table(small_store) -> None:
    con = small_store
    for name in ("partner_scores", "partner_scorecard", "partner_incentives", "partner_contracts",
                 "partner_benchmarks", "candidate_shortlist"):
        assert store.has_result(con, name), name
    card = store.read_result(con, "partner_scorecard").set_index("partner_id")
    # P0 shrinks by half a year: its score is the lowest of its peers, and it misses its minimum purchase
    assert card["score"].idxmin() == "P0"
    assert card.loc["P0", "action"] == "eliminate" and "minimum purchase missed" in card.loc["P0", "reasons"]
    assert card.loc["P5", "score"] > card.loc["P2", "score"]
    scores = store.read_result(con, "partner_scores")
    held = scores[scores["partner_id"] == "P5"].set_index("quarter")["tier"]
    assert held[pd.Timestamp("2025-04-01")] == "bronze" and held[pd.Timestamp("2025-07-01")] == "silver"
    contracts = store.read_result(con, "partner_contracts").set_index("partner_id")
    assert contracts.loc["P5", "days_left"] == -15 and contracts.loc["P5", "renewal_decision"] == "let_expire"
    assert contracts.loc["P0", "recommendation"] == "let_expire" and bool(contracts.loc["P0", "decision_differs"])
    assert not bool(contracts.loc["P3", "needs_action"])
    shortlist = store.read_result(con, "candidate_shortlist").set_index("candidate_id")
    assert shortlist.loc["C1", "rank"] == 1 and pd.isna(shortlist.loc["C2", "rank"])
    assert shortlist.loc["C1", "region"] == "Nowhere"  # a candidate's region need not have sales


def test_sales_without_partner_ids_leave_partners_out_with_one_line(make_store, tmp_path: Path) -> None:
    sales = pd.DataFrame({"date": pd.date_range("2024-01-10", periods=24, freq="MS").strftime("%Y-%m-10"),
                          "region": "Solo", "channel": "web", "revenue": 10.0})
    con = make_store(sales=sales)
    try:
        assert not store.has_result(con, "partner_scorecard")
        reason = store.omitted(con, "partners")["*"]
    finally:
        con.close()
    assert reason == "the sales table has no partner_id column (partners are scored by it)"
    ctx = sections.open_region("Solo", tmp_path / "p.yaml", tmp_path / "store.duckdb")
    try:
        outputs = sections.partners(ctx)
    finally:
        ctx.con.close()
    assert len(outputs) == 1 and isinstance(outputs[0], Markdown)
    assert outputs[0].data == f"*Partners are left out: {reason}.*"
    out = tmp_path / "s.csv"
    assert cli.main(["scorecard", "--params", str(tmp_path / "p.yaml"), "--out", str(out)]) == 1
    assert not out.exists()


# -- the small demo ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_params(demo_store: Path) -> Path:
    return demo_store.parent / "params.yaml"


@pytest.mark.parametrize(("command", "suffix", "first"), [
    ("scorecard", "csv", ["partner_id", "region", "channel", "score", "current_tier", "recommended_tier", "action",
                          "reasons"]),
    ("screen", "parquet", ["candidate_id", "passed_gates", "score", "rank", "reasons"]),
    ("incentives", "csv", ["partner_id", "quarter", "rebate", "bonus", "penalty", "total", "roi"]),
])
def test_the_three_commands_write_their_files(demo_params: Path, tmp_path: Path, command: str, suffix: str,
                                              first: list[str]) -> None:
    out = tmp_path / f"{command}.{suffix}"
    assert cli.main([command, "--params", str(demo_params), "--out", str(out), "-q"]) == 0
    frame = pd.read_parquet(out) if suffix == "parquet" else pd.read_csv(out)
    assert list(frame.columns[:len(first)]) == first and len(frame) > 0
    if command == "scorecard":
        assert len(frame) == 40 and set(frame["action"]) <= {"upgrade", "keep", "watch", "eliminate"}
        order = frame["action"].map({"eliminate": 0, "watch": 1, "upgrade": 2, "keep": 3})
        assert order.is_monotonic_increasing  # what needs attention first
        assert frame["reasons"].str.len().min() > 10
    if command == "screen":
        assert not (frame["rank"].notna() & ~frame["passed_gates"]).any()
        assert frame["reasons"].str.len().min() > 10
    if command == "incentives":
        assert np.allclose(frame["total"], frame["rebate"] + frame["bonus"] - frame["penalty"], atol=0.011)


def test_partners_section_tables_put_attention_first(demo_store: Path, demo_params: Path) -> None:
    ctx = sections.open_region("North", demo_params, demo_store)
    try:
        outputs = sections.partners(ctx)
        card = store.read_result(ctx.con, "partner_scorecard", "North")
    finally:
        ctx.con.close()
    assert any(isinstance(o, Chart) for o in outputs)
    text = _text(outputs)
    for heading in ("Scorecard league table", "Partners to watch or eliminate", "Incentives, ",
                    "Contracts needing action", "Candidate shortlist"):
        assert heading in text, heading
    assert "Tier moves" in text
    heading = next(i for i, o in enumerate(outputs) if isinstance(o, Markdown) and "league table" in o.data)
    league = outputs[heading + 1].data
    first = re.search(r"<tbody>\s*<tr>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>", league)
    worst = card.sort_values("action", key=lambda a: a.map({"eliminate": 0, "watch": 1, "upgrade": 2, "keep": 3}),
                             kind="stable").iloc[0]
    assert first is not None and html.unescape(first.group(1)).endswith(f"({worst['partner_id']})")
    assert "<Export>" not in text and "Smith & Sons" not in text  # names are escaped


def _escaped(name: str) -> str:
    """A name as the page's template escapes it (Jinja2 autoescape: &amp; &lt; &gt; &#34; &#39;)."""
    return str(markupsafe.escape(name))


def test_every_partner_page_shows_only_its_own_partner(demo_store: Path, demo_params: Path, tmp_path: Path) -> None:
    params = load_params(demo_params)
    con = store.connect(demo_store)
    try:
        pages = partner_pages.write_partner_pages(con, params, tmp_path / "partners")
        partners = store.read_result(con, "partner_scorecard")[["partner_id", "name"]]
    finally:
        con.close()
    assert len(pages) == len(partners) == 40
    names = dict(zip(partners["partner_id"], partners["name"]))
    assert any(re.search(r"[<&\"]", n) for n in names.values())  # the demo has names that need escaping
    for pid, path in pages.items():
        page = path.read_text(encoding="utf-8")
        assert path.name == f"{pid}.html"
        assert set(re.findall(r"P\d{5}", page)) == {pid}
        own = _escaped(names[pid])
        assert f"<h1>{own}</h1>" in page
        if own != names[pid]:
            assert names[pid] not in page  # the raw name (with <, & or quotes) never appears
        for other, name in names.items():
            if other == pid:
                continue
            theirs = _escaped(name)
            if theirs in own:  # a name inside this partner's own name: look outside its occurrences
                assert theirs not in page.replace(own, ""), (pid, other)
            else:
                assert theirs not in page, (pid, other)
        assert "http" not in page and "<script" not in page and "<link" not in page
        for word in ("eliminate", "watch line", "termination", "let expire", "renegotiate"):
            assert word not in page, (pid, word)  # the company's internal view stays internal


def test_partner_pages_show_rebate_progress_and_peer_quartiles(demo_store: Path, demo_params: Path,
                                                               tmp_path: Path) -> None:
    params = load_params(demo_params)
    con = store.connect(demo_store)
    try:
        pages = partner_pages.write_partner_pages(con, params, tmp_path)
        amounts = store.read_result(con, "partner_incentives")
    finally:
        con.close()
    latest = amounts[amounts["quarter"] == amounts["quarter"].max()].set_index("partner_id")
    below_top = latest[latest["to_next_band"].notna()].index[0]
    page = pages[below_top].read_text(encoding="utf-8")
    assert f"{params.currency} {latest.loc[below_top, 'to_next_band']:,.0f} more revenue" in page
    assert "Peers: lower quartile" in page and "Upper quartile" in page


# -- Superstore: no partner columns --------------------------------------------------------------------------------

def test_superstore_leaves_partners_out_with_one_line(superstore_store: Path, superstore_params: Path,
                                                      tmp_path: Path) -> None:
    con = store.connect(superstore_store)
    try:
        reason = store.omitted(con, "partners")["*"]
        region = store.regions(con)[0]
    finally:
        con.close()
    assert "partner_id" in reason
    ctx = sections.open_region(region, superstore_params, superstore_store)
    try:
        outputs = sections.partners(ctx)
    finally:
        ctx.con.close()
    assert len(outputs) == 1 and "Partners are left out" in outputs[0].data and "\n" not in outputs[0].data
    out = tmp_path / "incentives.csv"
    assert cli.main(["incentives", "--params", str(superstore_params), "--out", str(out), "-q"]) == 1
    assert not out.exists()


def test_report_partners_writes_pages_into_the_run_and_skips_them_without_partner_ids(
        demo_store: Path, demo_params: Path, make_store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from chanlib.report import runner

    run_dir = tmp_path / "run"
    runner._partner_pages(load_params(demo_params), demo_store, run_dir)
    assert len(list((run_dir / "partners").glob("P*.html"))) == 40
    sales = pd.DataFrame({"date": pd.date_range("2024-01-10", periods=24, freq="MS").strftime("%Y-%m-10"),
                          "region": "Solo", "channel": "web", "revenue": 10.0})
    make_store(folder=tmp_path / "plain", sales=sales).close()
    with caplog.at_level("WARNING", logger="chanlib"):
        runner._partner_pages(load_params(tmp_path / "plain" / "p.yaml"), tmp_path / "plain" / "store.duckdb",
                              tmp_path / "run2")
    assert not (tmp_path / "run2" / "partners").exists()
    assert "partner pages left out: the sales table has no partner_id column" in caplog.text
