"""Price/volume/mix from units and the market-growth/share-shift waterfall: hand-computed examples, the identities
on the demo, edge cases (new and lost channels, revenue without units, no units column) and the chart's axis,
labels and colours."""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from chanlib.analytics import period_evaluation as ev
from chanlib.errors import MissingInput
from chanlib.report import plots
from chanlib.report.narrative import price_volume_mix_sentence


def _sales(*rows: tuple[str, str, float, float]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "channel", "revenue", "units"])
    return frame.assign(region="R")


#: December 2024 (base) and December 2025: web 100 / 10 units -> 180 / 15, shop 200 / 40 -> 150 / 25, and a new
#: channel pop with 20 / 2 units. Region units 50 -> 42 (x 0.84), revenue 300 -> 350.
HAND = _sales(("2024-12-01", "web", 100.0, 10.0), ("2024-12-15", "shop", 200.0, 40.0),
              ("2025-12-05", "web", 180.0, 15.0), ("2025-12-20", "shop", 150.0, 25.0),
              ("2025-12-31", "pop", 20.0, 2.0))

# channel, price effect (p1 - p0) x u1, volume effect (U1/U0 - 1) x r0, mix effect p0 x (u1 - U1/U0 x u0)
PVM = [
    ("web", (12 - 10) * 15, (0.84 - 1) * 100, 10 * (15 - 0.84 * 10)),  # 30, -16, 66: 80 in all
    ("shop", (6 - 5) * 25, (0.84 - 1) * 200, 5 * (25 - 0.84 * 40)),  # 25, -32, -43: -50
    ("pop", 0.0, 0.0, 10 * 2),  # new: no base price, so no price effect; all of it is mix
]


@pytest.mark.parametrize(("channel", "price", "volume", "mix"), PVM)
def test_price_volume_mix_by_hand(channel: str, price: float, volume: float, mix: float) -> None:
    got = ev.price_volume_mix({"sales": HAND}, "month").set_index("channel").loc[channel]
    assert [got["price_effect"], got["volume_effect"], got["mix_effect"]] == pytest.approx([price, volume, mix])
    assert got["price_effect"] + got["volume_effect"] + got["mix_effect"] == pytest.approx(got["change"])


def test_price_volume_mix_totals_and_sentence() -> None:
    got = ev.price_volume_mix({"sales": HAND}, "month")
    assert got["period_start"].iloc[0] == pd.Timestamp("2025-12-01")
    assert got["base_start"].iloc[0] == pd.Timestamp("2024-12-01")
    assert got[["price_effect", "volume_effect", "mix_effect"]].sum().tolist() == pytest.approx([55.0, -48.0, 43.0])
    # the volume effects add up to the change in units at the base average price: (42 - 50) x 300 / 50
    assert got["volume_effect"].sum() == pytest.approx((42 - 50) * 300 / 50)
    assert got["change"].sum() == pytest.approx(50.0)
    text = price_volume_mix_sentence(got, "December 2024", "EUR")
    assert text == ("From units, the change of +EUR 50 on December 2024 splits into price +EUR 55 (revenue per "
                    "unit), volume -EUR 48 (units -16.0%, at December 2024 prices and channel mix) and channel mix "
                    "+EUR 43.")


def test_lost_channel_revenue_without_units_and_no_units_column() -> None:
    lost = pd.concat([HAND, _sales(("2024-12-20", "fax", 30.0, 10.0))])
    got = ev.price_volume_mix({"sales": lost}, "month").set_index("channel")
    # units 60 -> 42 (x 0.7): fax loses 30 = volume (0.7 - 1) x 30 + mix 3 x (0 - 0.7 x 10)
    assert got.loc["fax", ["price_effect", "volume_effect", "mix_effect"]].tolist() == pytest.approx(
        [0.0, -9.0, -21.0])
    assert (got["price_effect"] + got["volume_effect"] + got["mix_effect"] - got["change"]).abs().max() < 1e-9
    # a channel with revenue but no units: revenue per unit is undefined, so is the region's split
    broken = pd.concat([HAND, _sales(("2025-12-10", "svc", 40.0, 0.0))])
    assert ev.price_volume_mix({"sales": broken}, "month")[["price_effect", "volume_effect",
                                                             "mix_effect"]].isna().all().all()
    with pytest.raises(MissingInput, match="no units column"):
        ev.price_volume_mix({"sales": HAND.drop(columns="units")}, "month")


def test_base_not_covered_gives_nan() -> None:
    short = HAND[HAND["date"] >= "2025-12-01"]
    got = ev.price_volume_mix({"sales": short}, "month")
    assert got[["revenue_base", "price_effect", "volume_effect", "mix_effect"]].isna().all().all()
    assert "cannot be made" in price_volume_mix_sentence(got, "December 2024", "EUR")


def test_identities_on_the_demo(demo_store: Path) -> None:
    con = duckdb.connect(str(demo_store), read_only=True)
    try:
        for against in ("last_year", "previous"):
            got = ev.price_volume_mix(con, "quarter", against=against)
            effects = got[["price_effect", "volume_effect", "mix_effect"]]
            assert effects.notna().all().all()
            np.testing.assert_allclose(effects.sum(axis=1), got["change"], atol=1e-6)
            per = got.groupby("region").agg(u1=("units", "sum"), u0=("units_base", "sum"),
                                            r0=("revenue_base", "sum"), volume=("volume_effect", "sum"))
            np.testing.assert_allclose(per["volume"], (per["u1"] - per["u0"]) * per["r0"] / per["u0"], rtol=1e-9)
            shift = ev.share_shift_decomposition(con, "quarter", against=against)
            np.testing.assert_allclose(shift["change"], got["change"], atol=1e-6)
    finally:
        con.close()


# --- the waterfall ----------------------------------------------------------------------------------------------

def _decomposition(base: list[float], now: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({"region": "R", "channel": ["web", "shop"], "revenue_base": base, "revenue": now})
    r0, r1 = sum(base), sum(now)
    s0, s1 = frame["revenue_base"] / r0, frame["revenue"] / r1
    return frame.assign(market_growth=(r1 - r0) * s0, share_shift=r1 * (s1 - s0))


def test_waterfall_starts_at_zero_labels_totals_and_uses_up_down_colours() -> None:
    # 2024 Q4 1000 -> 2025 Q4 1030: a small change on a large base
    fig = plots.share_shift_waterfall(_decomposition([600.0, 400.0], [700.0, 330.0]), "EUR", "2024 Q4", "2025 Q4")
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] > 1030
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "EUR 1k" and texts[-1] == "EUR 1.03k"  # the totals carry their values
    # market growth +30 at the base shares; share shifts +82 (web) and -82 (shop)
    assert texts[1:4] == ["+EUR 30", "+EUR 82", "-EUR 82"]
    bars = list(ax.patches)
    assert bars[0].get_height() == pytest.approx(1000) and bars[-1].get_height() == pytest.approx(1030)
    colours = [to_hex(b.get_facecolor()) for b in bars[1:-1]]
    assert colours == [plots.UP_COLOUR.lower(), plots.UP_COLOUR.lower(), plots.DOWN_COLOUR.lower()]
    channel_colours = {to_hex(c) for c in plots.channel_palette(["web", "shop", "a", "b", "c", "d", "e"]).values()}
    assert not channel_colours & {plots.UP_COLOUR.lower(), plots.DOWN_COLOUR.lower()}
    assert "Market growth" in [t.get_text() for t in ax.get_xticklabels()]
    assert fig.get_label().startswith("Revenue change from 2024 Q4 (EUR 1,000) to 2025 Q4 (EUR 1,030)")


def test_waterfall_with_a_negative_total_goes_below_zero() -> None:
    ax = plots.share_shift_waterfall(_decomposition([50.0, 50.0], [-20.0, 10.0]), "EUR").axes[0]
    assert ax.get_ylim()[0] < -10 < 0 < 100 < ax.get_ylim()[1]
    with pytest.raises(ValueError, match="one region"):
        plots.share_shift_waterfall(pd.concat([_decomposition([1.0, 1.0], [2.0, 1.0]),
                                               _decomposition([1.0, 1.0], [2.0, 1.0]).assign(region="S")]), "EUR")
