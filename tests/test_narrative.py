"""Sentences and number formats for readers: values, missing values, signs, and escaping of data-derived names."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from chanlib.periods import comparison_periods
from chanlib.report import narrative as n

HOSTILE = "<script>alert(1)</script> & Sons"


@pytest.mark.parametrize(("value", "currency", "compact", "expected"), [
    (1234567.891, "EUR", False, "EUR 1,234,568"),
    (-50267.2, "EUR", False, "-EUR 50,267"),
    (1234567.891, "USD", True, "USD 1.23M"),
    (45600.0, "GBP", True, "GBP 45.6k"),
    (12.0, "GBP", True, "GBP 12"),
    (float("nan"), "EUR", False, "n/a"),
    (None, "EUR", True, "n/a"),
])
def test_money(value, currency, compact, expected) -> None:
    assert n.money(value, currency, compact=compact) == expected


@pytest.mark.parametrize(("value", "signed", "expected"), [
    (0.1234, True, "+12.3%"), (-0.05, True, "-5.0%"), (0.5, False, "50.0%"),
    (float("nan"), True, "n/a"), (math.inf, True, "n/a"), (None, False, "n/a"),
])
def test_percent(value, signed, expected) -> None:
    assert n.percent(value, signed=signed) == expected


def test_esc_escapes_markup_and_quotes() -> None:
    assert n.esc(HOSTILE) == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons"
    assert n.esc('a"b') == "a&quot;b"


def headline_row(**kw) -> pd.Series:
    row = {"region": HOSTILE, "window_start": pd.Timestamp("2025-01-01"), "window_end": pd.Timestamp("2025-12-31"),
           "revenue": 1200.0, "gross_margin": 300.0, "margin_pct": 0.25, "revenue_prev_year": 1000.0,
           "growth_yoy": 0.2}
    row.update(kw)
    return pd.Series(row)


def test_headline_sentence_states_growth_and_escapes() -> None:
    text = n.headline_sentence(headline_row(), "EUR", 12)
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "EUR 1,200" in text and "25.0%" in text and "up **20.0%**" in text and "(EUR 1,000)" in text


def test_headline_sentence_without_history_or_margin() -> None:
    text = n.headline_sentence(headline_row(growth_yoy=float("nan"), gross_margin=float("nan")), "EUR", 12)
    assert "cannot be computed" in text and "margin" not in text


def test_headline_sentence_decline() -> None:
    assert "down **10.0%**" in n.headline_sentence(headline_row(growth_yoy=-0.1), "EUR", 12)


def test_mix_sentence() -> None:
    mix = pd.DataFrame({"channel": ["web", HOSTILE], "share": [0.3, 0.7]})
    text = n.mix_sentence(mix, "North")
    assert text.startswith("**&lt;script&gt;") and "70.0%" in text and "2 channels" in text
    assert "no sales" in n.mix_sentence(mix.iloc[0:0], "North")


def test_trend_sentence_needs_two_years() -> None:
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    frame = pd.DataFrame({"month": list(months) * 2, "channel": ["up"] * 24 + ["down"] * 24,
                          "revenue": [10.0] * 12 + [20.0] * 12 + [20.0] * 12 + [5.0] * 12})
    text = n.trend_sentence(frame, "EUR")
    assert "**up** added the most revenue (EUR 120)" in text and "**down** lost the most (-EUR 180)" in text
    short = frame[frame["month"] >= "2025-01-01"]
    assert "less than two years" in n.trend_sentence(short, "EUR")


def test_key_changes_sentences() -> None:
    p = comparison_periods("2024-01-01", "2025-12-31", "quarter")
    comparison = pd.DataFrame({"region": "N", "channel": ["web", "shop"], "revenue": [150.0, 50.0],
                               "revenue_prev": [100.0, 60.0], "revenue_ly": [90.0, 70.0]})
    decomposition = pd.DataFrame({"region": "N", "channel": ["web", "shop"], "revenue": [150.0, 50.0],
                                  "revenue_base": [90.0, 70.0], "change": [60.0, -20.0],
                                  "market_growth": [22.5, 17.5], "share_shift": [37.5, -37.5],
                                  "share": [0.75, 0.25], "share_base": [0.5625, 0.4375]})
    sentences = n.key_changes(p, comparison, decomposition, "last_year", "N", "EUR", n=1)
    assert len(sentences) == 2
    assert "2025 Q4" in sentences[0] and "EUR 200" in sentences[0]
    assert sentences[1].startswith("**web**") and "EUR 60" in sentences[1]
    # named for what it is: the region's change at the base share, and the shift in share (not volume and mix)
    assert "EUR 22 from the region's market growth" in sentences[1]
    assert "EUR 38 from a shift in its share of the region (75.0%, was 56.2%)" in sentences[1]
    assert "volume" not in sentences[1] and "mix" not in sentences[1]
