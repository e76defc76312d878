"""The four report sections that surface results the build computes (issue 12): customer RFM by channel, the run-rate
projection to target, market share against competitors by category, and the most frequent feedback comments.

Each is checked on a hand-made store with hand-computed expectations, on the small demo against an independent
computation (pandas over the store's tables, the KPI engine), and on Superstore, which lacks targets, market and
feedback: there the sections say so in one line."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from IPython.display import HTML, Markdown

from chanlib.analytics import kpi
from chanlib.data import store
from chanlib.report import sections
from chanlib.report.display import Chart

REGION = "R&D <West>"
SHOWN_REGION = "R&amp;D &lt;West&gt;"
SCRIPT = "<script>alert(1)</script>"


def text_of(outputs: list) -> str:
    return "\n".join(o.data if isinstance(o, (HTML, Markdown)) else "" for o in outputs)


def html_rows(outputs: list) -> list[list[str]]:
    """The body rows of the (last) table among ``outputs``, cell texts as shown."""
    html = [o.data for o in outputs if isinstance(o, HTML) and "<table" in o.data][-1]
    body = html.split("<tbody>", 1)[1]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in body.split("</tr>") if "<td>" in row]


def html_header(outputs: list) -> list[str]:
    html = [o.data for o in outputs if isinstance(o, HTML) and "<table" in o.data][-1]
    return re.findall(r"<th>(.*?)</th>", html.split("</thead>", 1)[0])


# -- a hand-made store: every figure below is computed by hand from these rows ------------------------------------

def _sales() -> pd.DataFrame:
    rows: list[dict] = []

    def sale(date: str, channel: str, revenue: float, category: str = "A", customer: str | None = None,
             order: str | None = None) -> None:
        rows.append({"date": date, "region": REGION, "channel": channel, "revenue": revenue, "category": category,
                     "customer_id": customer, "order_id": order or f"o{len(rows)}"})

    # market share: 2024 Q1 A 250, B 100; 2025 Q1 A 300, B 200 (no customer on these lines)
    sale("2024-01-05", "web", 50.0)
    sale("2024-02-10", "web", 200.0)
    sale("2024-02-11", "web", 100.0, "B")
    sale("2025-02-10", "web", 300.0)
    sale("2025-02-10", "web", 200.0, "B")
    # customers (2025 Q2): web w01..w15 order twice, w16..w20 once; shop s01..s05 twice, s06..s20 once
    for i in range(1, 21):
        sale("2025-05-15", "web", 10.0, customer=f"w{i:02d}")
        if i <= 15:
            sale("2025-04-10", "web", 10.0, customer=f"w{i:02d}")
        sale("2025-05-14", "shop", 10.0, customer=f"s{i:02d}")
        if i <= 5:
            sale("2025-04-12", "shop", 10.0, customer=f"s{i:02d}")
    # x buys in both channels, most of its revenue in shop: it counts there, with two orders
    sale("2025-04-20", "web", 10.0, customer="x")
    sale("2025-04-21", "shop", 30.0, customer="x")
    sale("2025-05-01", "phone", 40.0)  # a channel without customers and without a target
    sale("2024-06-01", "mail", 10.0)  # a channel with a 2025 Q2 target and no sale in that quarter
    return pd.DataFrame(rows)


def _targets() -> pd.DataFrame:
    months = ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"]
    return pd.DataFrame([{"period": m, "region": REGION, "channel": c, "target_revenue": t}
                         for m in months for c, t in (("web", 100.0 if m < "2025-04" else 300.0), ("shop", 100.0),
                                                      ("mail", 0.0 if m < "2025-04" else 100.0))])


def _market() -> pd.DataFrame:
    rows = []
    for month, a, b, comp_a, comp_b in (("2024-01-01", 800.0, 300.0, 300.0, 150.0),
                                        ("2024-02-01", 850.0, 350.0, 350.0, 150.0),
                                        ("2024-03-01", 850.0, 350.0, 350.0, 200.0),
                                        ("2025-01-01", 1000.0, 500.0, 400.0, 300.0),
                                        ("2025-02-01", 1000.0, 500.0, 400.0, 300.0),
                                        ("2025-03-01", 1000.0, 500.0, 400.0, 300.0)):
        rows += [{"period": month, "region": REGION, "category": "A", "market_size": a, "competitor_sales": comp_a},
                 {"period": month, "region": REGION, "category": "B", "market_size": b, "competitor_sales": comp_b}]
    return pd.DataFrame(rows)


def _feedback() -> pd.DataFrame:
    answers = [("web", "Late delivery", 2), ("web", "Late delivery", 4), ("web", "Late delivery", 6),
               ("web", "  late   DELIVERY ", 4),  # the same comment: case and spaces aside
               ("web", "Great", 9), ("web", "Great", 10), ("web", SCRIPT, 1), ("web", SCRIPT, 1),
               ("web", "a one-off remark", 0),  # given once: never listed
               ("web", None, 8), ("web", None, 7),  # no comment
               ("shop", "OK", 7), ("shop", "OK", 8)]
    rows = [{"date": "2025-03-01", "region": REGION, "channel": c, "score": s, "comment": t} for c, t, s in answers]
    rows.append({"date": "2024-03-01", "region": REGION, "channel": "web", "score": 9, "comment": "Great"})  # too old
    return pd.DataFrame(rows)


@pytest.fixture
def hand(make_store, tmp_path: Path):
    """The hand-made store, one region, opened as a notebook opens it (``report.top_comments: 2``)."""
    con = make_store(sales=_sales(), targets=_targets(), market=_market(), feedback=_feedback())
    con.close()
    params = tmp_path / "report.yaml"
    params.write_text((tmp_path / "p.yaml").read_text() + "report:\n  top_comments: 2\n", encoding="utf-8")
    ctx = sections.open_region(REGION, params, tmp_path / "store.duckdb")
    yield ctx
    ctx.con.close()


def test_customers_by_channel_counts_each_customer_in_its_main_channel(hand) -> None:
    outputs = sections.customers_by_channel(hand)
    text = text_of(outputs)
    # web: 20 customers, 15 repeat (75%), 35 orders (1.75 each); shop: s01..s20 and x = 21, 6 repeat (28.6%)
    assert html_header(outputs)[:7] == ["Channel", "Customers", "Repeat buyers", "One-off buyers",
                                        "Revenue from repeat buyers", "Orders per customer", "Revenue per customer"]
    rows = {row[0]: row for row in html_rows(outputs)}
    assert rows["Web"][1:6] == ["20", "75.0%", "25.0%", "85.7%", "1.75"]  # repeat revenue 300 of 350
    assert rows["Shop"][1:6] == ["21", "28.6%", "71.4%", "48.3%", "1.29"]  # 140 of 290; 27 orders / 21
    assert list(rows) == ["Web", "Shop"]  # the most loyal first
    assert (f"**41 customers** bought in **{SHOWN_REGION}**; **51.2%** of them ordered more than once. **Web** brings "
            "the most loyal customers: 75.0% repeat buyers, 1.8 orders each on average; **Shop** the most one-off "
            "buyers: 71.4% ordered only once.") in text
    assert "*Mail, Phone: no sale carries a customer id, so these channels are not in the table.*" in text
    assert text.startswith("*Window: every sale from 2024-01-05 to 2025-05-15")
    assert any(isinstance(o, Chart) for o in outputs)
    assert REGION not in text


def test_customers_need_enough_of_them_to_name_a_channel(hand, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sections, "MIN_CUSTOMERS_TO_RANK", 21)  # web has 20: no comparison is made
    text = text_of(sections.customers_by_channel(hand))
    assert "brings the most loyal" not in text
    assert "Too few customers to compare channels: naming one needs at least 21 customers" in text


def test_run_rate_projects_the_running_quarter(hand) -> None:
    outputs = sections.run_rate(hand)
    text = text_of(outputs)
    # 2025 Q2 runs from 1 April to 30 June (91 days); sales up to 15 May: day 45. web sold 360 against 900 (Q2
    # months' targets), shop 280 against 300, mail nothing against 300: projected 360 x 91/45 = 728 (80.9%),
    # 566.2 (188.7%) and 0; the region 1,294.2 of 1,500 (86.3%)
    assert text.startswith("*Window: 2025 Q2, the running quarter: day 45 of 91, sales up to 2025-05-15.*")
    assert ("**2025 Q2** is running: day 45 of 91 (sales up to 2025-05-15). At the run-rate so far (EUR 640 sold), "
            f"**{SHOWN_REGION}** is on course for **EUR 1,294**, **86.3%** of its target of EUR 1,500; 1 of 3 "
            "channels would reach their target. Furthest behind: **Mail**, on course for 0.0% of its target, "
            "EUR 300 short.") in text
    assert html_header(outputs) == ["Channel", "Target", "Revenue so far", "Attainment so far", "Projected revenue",
                                    "Projected attainment", "Projected − target"]
    assert html_rows(outputs) == [["Mail", "EUR 300", "EUR 0", "0.0%", "EUR 0", "0.0%", "-EUR 300"],
                                  ["Web", "EUR 900", "EUR 360", "40.0%", "EUR 728", "80.9%", "-EUR 172"],
                                  ["Shop", "EUR 300", "EUR 280", "93.3%", "EUR 566", "188.7%", "EUR 266"]]
    assert "*No target for 2025 Q2: Phone.*" in text
    assert sum(isinstance(o, Chart) for o in outputs) == 1  # projected attainment, only while the quarter runs
    cube = store.read_result(hand.con, "kpi_region_channel_quarter", REGION).set_index(["channel", "period"])
    assert cube.loc[("web", pd.Timestamp("2025-04-01")), "projected_revenue"] == pytest.approx(360 * 91 / 45)


def test_market_share_against_competitors_and_a_year_earlier(hand) -> None:
    outputs = sections.market_share(hand)
    text = text_of(outputs)
    # 2025 Q1 (the latest complete quarter): A 300 / 3000 = 10.0%, B 200 / 1500 = 13.3%; 2024 Q1: A 250 / 2500,
    # B 100 / 1000, both 10.0%. Competitors: A 1200 / 3000 = 40% (40% before), B 900 / 1500 = 60% (50% before)
    assert text.startswith("*Window: 2025 Q1, the latest complete quarter, against 2024 Q1.*")
    assert (f"In **2025 Q1** **{SHOWN_REGION}** sold **EUR 500** in markets worth **EUR 4,500**: a **11.1%** share "
            "(+1.1 pts on 2024 Q1), against **46.7%** for competitors (+3.8 pts). Biggest gain: **B** (+3.3 pts).") \
        in text
    assert "biggest loss" not in text  # A held its share exactly
    assert html_rows(outputs) == [
        ["A", "EUR 300", "EUR 3,000", "10.0%", "10.0%", "+0.0 pts", "40.0%", "+0.0 pts"],
        ["B", "EUR 200", "EUR 1,500", "13.3%", "10.0%", "+3.3 pts", "60.0%", "+10.0 pts"],
        ["All categories", "EUR 500", "EUR 4,500", "11.1%", "10.0%", "+1.1 pts", "46.7%", "+3.8 pts"]]
    assert html_header(outputs)[4] == "Market share 2024 Q1"


def test_a_complete_quarter_and_no_year_earlier(make_store, tmp_path: Path) -> None:
    """Sales from 2025 only (2024 Q1 is not covered) and targets up to 2025 Q1: the run rate shows the complete
    2025 Q1, with shop's target and no sale at zero; market share has no year-earlier comparison."""
    sales = _sales()
    sales = pd.concat([sales[sales["date"] >= "2025"], pd.DataFrame([{
        "date": "2025-01-03", "region": REGION, "channel": "web", "revenue": 0.0, "category": "A",
        "order_id": "o-first"}])], ignore_index=True)
    targets = _targets()
    targets = targets[(targets["period"] < "2025-04") & (targets["channel"] != "mail")]
    make_store(sales=sales, targets=targets, market=_market()).close()
    ctx = sections.open_region(REGION, tmp_path / "p.yaml", tmp_path / "store.duckdb")
    try:
        outputs = sections.run_rate(ctx)
        text = text_of(outputs)
        # 2025 Q1: web sold 500 against 300 (166.7%), shop nothing against 300: 500 of 600 (83.3%)
        assert text.startswith("*Window: 2025 Q1, the latest quarter with targets (complete); the targets table has "
                               "no figures for 2025 Q2 yet.*")
        assert (f"**2025 Q1** is complete: **{SHOWN_REGION}** sold **EUR 500**, **83.3%** of its target of EUR 600; "
                "1 of 2 channels reached their target. Furthest behind: **Shop**, reached 0.0% of its target, "
                "EUR 300 short.") in text
        assert html_rows(outputs) == [["Shop", "EUR 300", "EUR 0", "0.0%", "-EUR 300"],
                                      ["Web", "EUR 300", "EUR 500", "166.7%", "EUR 200"]]
        assert not any(isinstance(o, Chart) for o in outputs)

        outputs = sections.market_share(ctx)
        text = text_of(outputs)
        assert text.startswith("*Window: 2025 Q1, the latest complete quarter; no comparison with 2024 Q1 (the sales "
                               "do not reach back to it).*")
        assert "a **11.1%** share, against **46.7%** for competitors. No comparison with 2024 Q1: the sales do not " \
               "reach back to it." in text
        assert html_rows(outputs)[0][3:6] == ["10.0%", "n/a", "n/a"]
    finally:
        ctx.con.close()


def test_feedback_comments_most_frequent_first_with_their_scores(hand) -> None:
    outputs = sections.feedback_comments(hand)
    text = text_of(outputs)
    # in the window: web 9 comments (Late delivery x4 mean 4.0, Great x2 9.5, the script x2 1.0, a one-off x1) and
    # 2 responses without; shop OK x2 mean 7.5. Two per channel: Great and the script tie on 2, the lower score first
    assert html_header(outputs) == ["Channel", "Comment", "Times given", "Share of the channel's comments",
                                    "Mean score"]
    assert html_rows(outputs) == [
        ["Web", "Late delivery", "4", "44.4%", "4.0"],
        ["Web", "&lt;script&gt;alert(1)&lt;/script&gt;", "2", "22.2%", "1.0"],
        ["Shop", "OK", "2", "100.0%", "7.5"]]
    assert (f"**11** of 13 feedback responses in **{SHOWN_REGION}** carry a comment. The most frequent: **Web**: "
            "“Late delivery” (4 times, mean score 4.0); **Shop**: “OK” (2 times, mean score 7.5). The lowest-scoring "
            "listed: “&lt;script&gt;alert\\(1\\)&lt;/script&gt;” in **Web** (mean score 1.0, 2 times).") in text
    assert SCRIPT not in text and "one-off remark" not in text and "Great" not in text
    assert "Up to 2 comments per channel" in text


def test_without_their_inputs_the_sections_say_why_in_one_line(make_store, tmp_path: Path) -> None:
    sales = pd.DataFrame({"date": ["2025-01-10", "2025-03-20"], "region": "Solo", "channel": "web",
                          "revenue": [10.0, 20.0]})
    feedback = pd.DataFrame({"date": ["2025-02-01"], "region": ["Solo"], "channel": ["web"], "score": [7.0]})
    make_store(sales=sales, feedback=feedback).close()
    ctx = sections.open_region("Solo", tmp_path / "p.yaml", tmp_path / "store.duckdb")
    expected = {
        "customers_by_channel": "*Customers by channel are left out: the sales table has no customer_id column "
                                "(customers are needed for RFM).*",
        "run_rate": "*The run rate to target is left out: the store has no targets table.*",
        "market_share": "*Market share is left out: the store has no market table.*",
        "feedback_comments": "*Feedback comments are left out: the feedback table has no comment column.*",
    }
    for name, line in expected.items():
        outputs = getattr(sections, name)(ctx)
        assert [o.data for o in outputs] == [line], name
    ctx.con.close()


# -- the small demo: the same figures by an independent route ----------------------------------------------------

@pytest.fixture(scope="module")
def north(demo_store: Path):
    ctx = sections.open_region("North", Path(demo_store).parent / "params.yaml", demo_store)
    yield ctx
    ctx.con.close()


def test_demo_customers_match_a_pandas_count(north) -> None:
    sales = north.con.execute("SELECT customer_id, channel, order_id, revenue FROM sales "
                              "WHERE region = 'North' AND customer_id IS NOT NULL").df()
    by = sales.groupby(["customer_id", "channel"], as_index=False)["revenue"].sum()
    main = by.sort_values(["revenue", "channel"], ascending=[False, True]).drop_duplicates("customer_id")
    orders = sales.groupby("customer_id")["order_id"].nunique()
    main = main.assign(orders=main["customer_id"].map(orders))
    expected = main.groupby("channel").agg(customers=("orders", "size"), repeat=("orders", lambda o: (o >= 2).mean()))
    outputs = sections.customers_by_channel(north)
    rows = {row[0]: row for row in html_rows(outputs)}
    assert set(rows) == {north.labels.channel(c) for c in expected.index}
    for channel, row in expected.iterrows():
        shown = rows[north.labels.channel(channel)]
        assert shown[1] == f"{int(row['customers']):,}" and shown[2] == f"{row['repeat']:.1%}"
    assert "Distributors, Export distributors: no sale carries a customer id" in text_of(outputs)


def test_demo_market_share_is_the_kpi_engines(north) -> None:
    cube = kpi.kpi_table(north.con, ["region", "category"], "quarter").frame
    cube = cube[cube["region"] == "North"].set_index(["category", "period"])
    market = north.con.execute("SELECT category, CAST(date_trunc('quarter', period) AS DATE) AS q, "
                               "sum(competitor_sales) / sum(market_size) AS comp FROM market "
                               "WHERE region = 'North' GROUP BY ALL").df()
    market = market.assign(q=pd.to_datetime(market["q"])).set_index(["category", "q"])["comp"]
    now, before = pd.Timestamp("2025-10-01"), pd.Timestamp("2024-10-01")
    outputs = sections.market_share(north)
    assert text_of(outputs).startswith("*Window: 2025 Q4, the latest complete quarter, against 2024 Q4.*")
    rows = html_rows(outputs)
    assert rows[-1][0] == "All categories" and len(rows) == cube.index.get_level_values(0).nunique() + 1
    for row in rows[:-1]:
        category = row[0]
        share, share_ly = cube.loc[(category, now), "market_share"], cube.loc[(category, before), "market_share"]
        assert row[3] == f"{share:.1%}" and row[4] == f"{share_ly:.1%}"
        assert row[5] == f"{100 * (share - share_ly):+.1f} pts"
        assert row[6] == f"{market[(category, now)]:.1%}"


def test_demo_run_rate_of_a_complete_quarter(north) -> None:
    outputs = sections.run_rate(north)
    text = text_of(outputs)
    cube = store.read_result(north.con, "kpi_region_channel_quarter", "North")
    q4 = cube[pd.to_datetime(cube["period"]) == pd.Timestamp("2025-10-01")]
    assert text.startswith("*Window: 2025 Q4, complete (sales up to its last day).*")
    assert "**2025 Q4** is complete" in text
    assert not any(isinstance(o, Chart) for o in outputs)  # the Channel KPIs chart shows a complete quarter
    assert html_header(outputs) == ["Channel", "Target", "Revenue", "Target attainment", "Revenue − target"]
    worst = q4.sort_values("target_attainment").iloc[0]
    assert html_rows(outputs)[0][:4] == [north.labels.channel(worst["channel"]), f"EUR {worst['target_revenue']:,.0f}",
                                         f"EUR {worst['targeted_revenue']:,.0f}",
                                         f"{worst['target_attainment']:.1%}"]


def test_demo_feedback_comments_are_counted_and_escaped(north) -> None:
    top = north.params.report.top_comments
    start = pd.Timestamp("2025-01-01")
    feedback = north.con.execute("SELECT channel, comment, score FROM feedback WHERE region = 'North' AND "
                                 "date >= ? AND comment IS NOT NULL", [start.date()]).df()
    counts = feedback.groupby(["channel", "comment"])["score"].agg(["size", "mean"]).reset_index()
    counts = counts[counts["size"] >= 2].sort_values(["channel", "size", "mean", "comment"],
                                                     ascending=[True, False, True, True])
    expected = counts.groupby("channel").head(top)
    outputs = sections.feedback_comments(north)
    rows = html_rows(outputs)
    assert len(rows) == len(expected)
    shown = {(r[0], r[1]): (r[2], r[4]) for r in rows}
    for r in expected.itertuples():
        comment = r.comment.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert shown[(north.labels.channel(r.channel), comment)] == (str(r.size), f"{r.mean:.1f}")
    text = text_of(outputs)
    assert "<too high>" not in text and "<3" not in text


# -- Superstore: customers yes; targets, market and feedback absent --------------------------------------------------

def test_superstore_customers_and_the_left_out_notes(superstore_store: Path) -> None:
    ctx = sections.open_region("West", superstore_store.parent / "superstore.yaml", superstore_store)
    try:
        outputs = sections.customers_by_channel(ctx)
        rows = html_rows(outputs)
        assert {r[0] for r in rows} == {"Consumer", "Corporate", "Home Office"}
        customers = ctx.con.execute("SELECT count(DISTINCT customer_id) FROM sales WHERE region = 'West'").fetchone()
        assert sum(int(r[1].replace(",", "")) for r in rows) == customers[0]
        assert sections.run_rate(ctx)[0].data == "*The run rate to target is left out: the store has no targets table.*"
        assert sections.market_share(ctx)[0].data == "*Market share is left out: the store has no market table.*"
        assert (sections.feedback_comments(ctx)[0].data
                == "*Feedback comments are left out: the store has no feedback table.*")
    finally:
        ctx.con.close()
