"""A deterministic synthetic sales-channel business with planted ground truth (``chanlib demo``).

Three years (2023-01-01 .. 2025-12-31) of daily order lines for partners that each sell in one region and one channel,
plus every optional table of the data contract (channels, partners, products, targets, costs, inventory, feedback,
market, candidates, tier_history). The business has trend, a Q4 peak, a weekly pattern per channel type, two
promotions a year (Black-Friday week, a late-June sale) and a shift toward online channels (~+25 %/yr, offline
~-3 %/yr). The market table sizes each region x category's domestic and cross-border market (the markets the channels
table says each channel serves); sales carry no ``category`` column, since the products table has it.

What is planted, so later features can be tested against it (files in ``DIR/truth/``):

* ``partner_segments.csv`` -- every partner is an *anchor* (~8x revenue, +5 %/yr, steady, ~35 % margin), *rising*
  (~1x, +80 %/yr, ~30 %), *declining* (~3x, -50 %/yr, ~20 %, stock piles up in inventory) or *erratic* (~2x, flat,
  zero days and bursts, ~27 %, and a lull of 2-5 weeks at the end, so its recency is long). Segments are drawn
  independently of region and channel and dominate their mild effects, so per-partner features (log revenue,
  growth, volatility, margin, recency) separate them. The few partners that join in the last three months are
  *rising*; they have no prior year, so growth-based features need a rule for them.
* ``declining_partners.csv`` -- the declining partners.
* ``anomalies.csv`` -- two days per region and year, away from promotions and on a busy, calm channel of that
  region, on which that region x channel's orders are multiplied by 5 (``spike``) or 0.05 (``drop``).
* ``affinities.csv`` -- each category's "home" channel, where it sells ~3x more than elsewhere, so that channel tops
  the category's share index (every channel is some category's home).
* ``candidates.csv`` -- every candidate partner of ``candidates.<ext>`` (half as many as partners) and its
  quality, ``good`` or ``poor`` (about half each). Quality shifts each screening attribute (log store count, credit
  score, log years in business, willingness) by 0.85 standard deviations and the share that passed qualification
  (92 % against 75 %), so a good candidate is not separable on any single attribute; some poor ones fail the gates.

Partner management also gets contract terms: each partner's ``min_purchase`` (50-80 % of its expected quarterly
revenue over 2024 Q3 - 2025 Q2, about one in ten without), a ``renewal_decision`` for about 45 % of the contracts
that have ended or end within 90 days, and ``tier_history.<ext>`` (a third of the partners moved one tier when their
current contract started). As they shrink, some declining partners miss their commitment in the last quarters.

Everything but partner management is drawn from one ``np.random.default_rng(seed)``; the candidates and contract
terms come from a second stream, ``np.random.default_rng([seed, 11])``, so every other table is the same with or
without them. The same size and seed give byte-identical files.
Dates are ISO text (``YYYY-MM-DD``, periods the first of the month) in CSV and Parquet alike; ``customer_id`` is
empty for distributor channels and ``comment`` often empty. Each file is written under a temporary name and moved
into place; sales are drawn a month at a time, so memory stays bounded for the large sizes.

>>> SIZES["small"].fmt, SIZES["medium"].fmt
('csv', 'parquet')
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from chanlib.io import atomic_path, write_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSize:
    """Shape of one demo size; ``sales_rows`` is the expected number of order lines."""

    regions: int
    partners: int
    products_per_category: int
    sales_rows: int
    feedback_rows: int
    fmt: str  # "csv" or "parquet"


SIZES: dict[str, DemoSize] = {
    "small": DemoSize(4, 40, 5, 88_000, 3_000, "csv"),
    "medium": DemoSize(12, 600, 15, 2_000_000, 20_000, "parquet"),
    "large": DemoSize(12, 1_500, 25, 10_000_000, 50_000, "parquet"),
    "xl": DemoSize(12, 6_000, 40, 50_000_000, 100_000, "parquet"),
}

START, END = np.datetime64("2023-01-01", "D"), np.datetime64("2025-12-31", "D")
DAYS = np.arange(START, END + 1)
MONTHS = np.arange(np.datetime64("2023-01", "M"), np.datetime64("2026-01", "M"))
REGIONS = ("North", "South", "East", "West", "Central", "Northeast", "Northwest", "Southeast", "Southwest",
           "Highlands", "Coast", "Islands")
# channel, channel_type, model, market
CHANNELS = (("web_store", "online", "direct", "domestic"), ("marketplace", "online", "marketplace", "domestic"),
            ("cross_border_ecom", "online", "direct", "cross_border"), ("own_stores", "offline", "direct", "domestic"),
            ("franchise_stores", "offline", "franchise", "domestic"),
            ("distributors", "offline", "distributor", "domestic"),
            ("export_distributors", "offline", "distributor", "cross_border"))
CH_ONLINE = np.array([c[1] == "online" for c in CHANNELS])
CH_DISTRIBUTOR = np.array([c[2] == "distributor" for c in CHANNELS])
MARKETS = ("domestic", "cross_border")  # the markets the channels serve; the market table sizes each
CH_MARKET = np.array([MARKETS.index(c[3]) for c in CHANNELS])
CH_SHARE = np.array([0.12, 0.12, 0.08, 0.16, 0.2, 0.2, 0.12])  # partner mix beyond one of each per region
CH_LEVEL = np.array([1.0, 0.9, 0.8, 1.2, 1.0, 1.3, 1.1])
CH_UNITS_BASE = np.array([1, 1, 1, 1, 1, 2, 2])
CH_UNITS_MEAN = np.array([0.3, 0.4, 0.5, 0.6, 1.5, 3.0, 4.0])  # + Poisson
CH_DISCOUNT = np.array([0.02, 0.08, 0.03, 0.02, 0.25, 0.38, 0.40])  # + U(0, 5 %)
CH_MARGIN = np.array([0.005, -0.005, 0.0, 0.005, 0.0, -0.005, -0.005])
CH_SCORE = np.array([8.0, 7.0, 6.8, 8.5, 7.6, 7.2, 6.9])
COST_TYPES = ("marketing", "mdf", "logistics", "commission", "incentive")
COST_RATES = {"direct": (0.08, 0.0, 0.05, 0.0, 0.01), "marketplace": (0.04, 0.0, 0.06, 0.15, 0.0),
              "franchise": (0.03, 0.02, 0.03, 0.06, 0.02), "distributor": (0.01, 0.04, 0.02, 0.03, 0.03)}
CATEGORIES = ("Accessories", "Apparel", "Beauty", "Electronics", "Footwear", "Home", "Outdoor", "Toys")
CAT_PRICE = np.array([25.0, 45.0, 30.0, 150.0, 80.0, 60.0, 90.0, 35.0])
CAT_MARGIN = np.array([0.02, 0.01, 0.02, -0.03, 0.0, 0.0, -0.01, 0.01])
SEGMENTS = ("anchor", "rising", "declining", "erratic")
SEG_SCALE = np.array([8.0, 1.0, 3.0, 2.0])
SEG_GROWTH = np.log([1.05, 1.8, 0.5, 1.0])
SEG_GROWTH_SD = np.array([0.02, 0.06, 0.05, 0.03])
SEG_MARGIN = np.array([0.35, 0.30, 0.20, 0.27])
SEG_MONTH_SD = np.array([0.04, 0.08, 0.06, 0.45])
SEG_SCORE = np.array([0.5, 0.3, -1.5, -0.5])
MONTH_SEASON = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 1.0, 0.95, 0.95, 1.0, 1.05, 1.3, 1.5])
WEEKLY = np.array([[0.85, 0.9, 0.95, 1.0, 1.1, 1.35, 0.85],  # offline, Mon..Sun
                   [1.1, 1.05, 1.0, 0.95, 0.9, 0.95, 1.05]])  # online
LINES_P = np.array([0.6, 0.3, 0.1])  # 1, 2 or 3 lines per order
STOCKED = 3  # products per category a partner stocks; >= 3 keeps the lines of one order distinct
AFFINITY_BOOST = 3.0  # a category sells this much more in its home channel
MARKET_GROWTH = 1.06  # the whole market, per year
CROSS_BORDER_SHARE = (0.15, 0.3)  # the cross-border part of a region x category's market is drawn from this range
ANOMALY_FACTOR = {"spike": 5.0, "drop": 0.05}
COMMENTS = {
    "low": ("Delivery was late", "Price <too high> for what you get", 'Item was "as new" but scratched',
            "Nobody answered the phone", "Returns & refunds took weeks"),
    "mid": ("OK overall", "Fine, a bit slow", "Staff helpful & polite", 'Decent, "nothing special"'),
    "high": ("Great service", "Fast delivery & good packaging", "Will buy again", "Best shop <3"),
}
NAME_A = ("Smith", "Miller", "Nordic", "Alpine", "Baltic", "Harbor", "Summit", "Meridian", "Crescent", "Pioneer",
          "Atlas", "Beacon", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Horizon", "Ivy", "Juniper",
          "Keystone", "Lumen", "Maple", "Northwind", "Oak", "Pinnacle", "Quarry", "Riverside", "Sterling", "Willow")
NAME_B = ("Trading", "Retail", "Supply", "Distribution", "Commerce", "Goods", "Outlets", "Stores", "Partners",
          "Logistics", "Market", "Brands")
NAME_C = ("Ltd", "GmbH", "& Co", "Group", "Inc", "SA", "BV", "AG")
SPECIAL_NAMES = ("Smith & Sons <Retail>", "Müller & Töchter GmbH", 'A&B "Direct" <Export> Ltd')


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")


def _partners(rng: np.random.Generator, size: DemoSize) -> pd.DataFrame:
    """Partners with region, channel, segment (independent of both) and their hidden behaviour parameters."""
    n, n_reg = size.partners, size.regions
    region = rng.permutation(np.arange(n) % n_reg)
    # each region sells in k channels (all 7 when it has enough partners); together the regions cover every channel
    channel, order = np.empty(n, dtype=int), rng.permutation(len(CHANNELS))
    for r in range(n_reg):
        idx = np.flatnonzero(region == r)
        k = min(len(CHANNELS), max(4, len(idx) // 3))
        own = order[(r * k + np.arange(k)) % len(CHANNELS)]
        extra = rng.choice(own, len(idx) - k, p=CH_SHARE[own] / CH_SHARE[own].sum())
        channel[idx] = np.concatenate([rng.permutation(own), extra])
    # segments do not depend on region or channel: balanced blocks of four, dealt out channel by channel
    deal = np.lexsort((rng.random(n), region, channel))
    segment = np.empty(n, dtype=int)
    segment[deal] = np.argsort(rng.random((n // 4 + 1, len(SEGMENTS))), axis=1).ravel()[:n]
    late = rng.choice(np.flatnonzero(segment == 1), max(2, round(0.005 * n)), replace=False)
    region_level = np.exp(rng.normal(0, 0.15, n_reg))
    level = SEG_SCALE[segment] * region_level[region] * CH_LEVEL[channel] * np.exp(rng.normal(0, 0.2, n))
    joined = START - rng.integers(30, 18 * 365, n).astype("timedelta64[D]")
    joined[late] = END - rng.integers(15, 88, len(late)).astype("timedelta64[D]")
    # contracts: a few already expired, some ending within 90 days after the data end, the rest later
    order = rng.permutation(n)
    n_expired, n_soon = max(2, round(0.05 * n)), max(3, round(0.12 * n))
    end_offset = rng.integers(120, 3 * 365, n)
    end_offset[order[:n_expired]] = -rng.integers(5, 180, n_expired)
    end_offset[order[n_expired:n_expired + n_soon]] = rng.integers(1, 91, n_soon)
    end_offset[late] = rng.integers(2 * 365, 3 * 365, len(late))
    contract_end = END + end_offset.astype("timedelta64[D]")
    term = (365 * rng.integers(1, 4, n)).astype("timedelta64[D]")
    contract_start = np.maximum(np.minimum(contract_end - term, END - np.timedelta64(30, "D")), joined)
    rank = (np.argsort(np.argsort(level)) + 0.5) / n + rng.normal(0, 0.05, n)
    tier = np.select([rank > 0.9, rank > 0.65, rank > 0.3], ["platinum", "gold", "silver"], "bronze")
    names = pd.Series([f"{NAME_A[a]} {NAME_B[b]} {NAME_C[c]}" for a, b, c in zip(
        rng.integers(0, len(NAME_A), n), rng.integers(0, len(NAME_B), n), rng.integers(0, len(NAME_C), n))])
    names.iloc[[1, 5, 9][: len(SPECIAL_NAMES)]] = SPECIAL_NAMES
    dup = names.groupby(names).cumcount()
    names = names.where(dup == 0, names + " " + (dup + 1).astype(str))
    offline = ~CH_ONLINE[channel]
    stores = np.where(offline, np.maximum(1, np.round(level * np.exp(rng.normal(0, 0.4, n)))), 0)
    staff = np.round(2 + 4 * np.maximum(stores, level / 2) * np.exp(rng.normal(0, 0.3, n)))
    years = np.round((END - joined).astype(int) / 365.25 + rng.exponential(4, n)).astype(int)
    credit = np.clip(np.round(70 + 8 * (segment == 0) - 15 * (segment == 2) - 6 * (segment == 3)
                              + rng.normal(0, 8, n)), 5, 99).astype(int)
    growth = SEG_GROWTH[segment] + rng.normal(0, 1, n) * SEG_GROWTH_SD[segment]
    margin = SEG_MARGIN[segment] + CH_MARGIN[channel] + rng.normal(0, 0.005, n)
    return pd.DataFrame({
        "partner_id": [f"P{i + 1:05d}" for i in range(n)], "name": names, "region_i": region, "channel_i": channel,
        "region": np.array(REGIONS)[region], "channel": np.array([c[0] for c in CHANNELS])[channel], "tier": tier,
        "joined": _iso(joined), "contract_start": _iso(contract_start), "contract_end": _iso(contract_end),
        "credit_score": credit, "stores": stores.astype(int), "staff": staff.astype(int), "years_in_business": years,
        "segment_i": segment, "level": level, "growth": growth, "margin": margin,
        "join_day": np.maximum((joined - START).astype(int), 0),
    })


def _promotions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-day order multiplier, extra discount and margin change for Black-Friday week and the June sale."""
    mult, disc, marg = np.ones(len(DAYS)), np.zeros(len(DAYS)), np.zeros(len(DAYS))
    for year in (2023, 2024, 2025):
        nov1 = np.datetime64(f"{year}-11-01", "D")
        friday = nov1 + ((3 - (nov1.astype(int) + 3) % 7) % 7 + 22)  # the day after the 4th Thursday
        for first, length, m, d, g in ((friday, 7, 3.0, 0.20, -0.05),
                                       (np.datetime64(f"{year}-06-21", "D"), 10, 2.0, 0.15, -0.04)):
            i = (first - START).astype(int)
            mult[i:i + length], disc[i:i + length], marg[i:i + length] = m, d, g
    return mult, disc, marg


def _anomalies(rng: np.random.Generator, n_reg: int, steady: np.ndarray, promo: np.ndarray) -> pd.DataFrame:
    """Two days per region and year, away from promotions and on one of the region's busiest channels.

    ``steady`` is the expected orders per region x channel x day of the partners that are not erratic: the
    neighbouring days of a planted anomaly must be reliably non-zero for it to stand out.
    """
    blocked = np.convolve(promo > 1, np.ones(7), mode="same") > 0  # promotion days +- 3
    blocked[:14] = blocked[-14:] = True
    year = DAYS.astype("datetime64[Y]").astype(int) + 1970
    rows = []
    for r in range(n_reg):
        taken: list[int] = []
        quality = steady[r]  # channel x day
        for y in (2023, 2024, 2025):
            cand = np.flatnonzero((year == y) & ~blocked)
            cand = cand[quality[:, cand].max(0) >= np.median(quality[:, cand].max(0))]  # the busier half
            for _ in range(2):
                ok = cand[[all(abs(c - t) > 14 for t in taken) for c in cand]]
                d = int(rng.choice(ok))
                taken.append(d)
                busy = np.flatnonzero(quality[:, d] >= 0.6 * quality[:, d].max())
                rows.append((d, r, int(rng.choice(busy)), str(rng.choice(["spike", "drop"]))))
    return pd.DataFrame(rows, columns=["day", "region_i", "channel_i", "kind"]).sort_values(["day", "region_i"])


class _Sink:
    """Writes one table (possibly in chunks) to a temporary file and moves it into place on ``close``."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self._target = atomic_path(path)
        self.tmp = self._target.__enter__()
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._fh: TextIO | None = None

    def write(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            # the contract's "float" columns are float64 also when their values are whole numbers
            fields = [pa.field(f.name, pa.float64()) if pa.types.is_integer(f.type) else f for f in table.schema]
            table = table.cast(pa.schema(fields))
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self._writer.write_table(table)
        else:
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
            table.to_pandas().to_csv(self._fh, header=self.rows == 0, index=False, float_format="%.2f",
                                     lineterminator="\n")
        self.rows += table.num_rows

    def close(self, keep: bool = True) -> int:
        """Finish the file and move it into place (``keep``) or delete it."""
        for handle in (self._writer, self._fh):
            if handle is not None:
                handle.close()
        if keep:
            self._target.__exit__(None, None, None)
        else:
            error = RuntimeError("demo table not finished")
            self._target.__exit__(type(error), error, None)
        return self.rows


def _write(df: pd.DataFrame, path: Path, fmt: str) -> int:
    sink = _Sink(path, fmt)
    try:
        sink.write(pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None))
        return sink.close()
    except BaseException:
        sink.close(keep=False)
        raise


def _ids(prefix: str, numbers: np.ndarray, width: int, null: np.ndarray | None = None) -> pa.Array:
    text = pa.array(numbers, mask=null).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(text, width=width, padding="0"), "")


@dataclass
class _World:
    """The hidden state shared by the table builders of one run."""

    spec: DemoSize
    partners: pd.DataFrame
    price: np.ndarray  # list price per product
    home: np.ndarray  # home channel per category
    cat_cum: np.ndarray  # channel x category cumulative probability of a line's category
    assort: np.ndarray  # partner x category x slot -> product stocked
    rev_per_order: np.ndarray  # expected revenue of one order per channel, before the partner's bulk factor
    # set by _intensity: units multiplier per partner; expected orders and anomaly spikes (partner x day)
    bulk: np.ndarray | None = None
    lam: np.ndarray | None = None
    spike: np.ndarray | None = None
    anomalies: pd.DataFrame | None = None

    def col(self, name: str) -> np.ndarray:
        return self.partners[name].to_numpy()

    @property
    def combo(self) -> np.ndarray:
        """Region x channel index of each partner."""
        return self.col("region_i") * len(CHANNELS) + self.col("channel_i")

    @property
    def onehot(self) -> np.ndarray:
        """(region x channel) x partner membership, to sum partner series into region x channel series."""
        out = np.zeros((self.spec.regions * len(CHANNELS), len(self.partners)))
        out[self.combo, np.arange(len(self.partners))] = 1.0
        return out


def _world(rng: np.random.Generator, spec: DemoSize) -> _World:
    """Partners, products, category-channel affinities and each partner's assortment."""
    partners = _partners(rng, spec)
    n_p, n_ch, n_cat, ppc = len(partners), len(CHANNELS), len(CATEGORIES), spec.products_per_category
    price = np.round(np.repeat(CAT_PRICE, ppc) * np.exp(rng.normal(0, 0.25, n_cat * ppc))) - 0.01
    home = np.concatenate([rng.permutation(n_ch), rng.choice(n_ch, n_cat - n_ch)])  # every channel is a home
    cat_w = np.ones((n_ch, n_cat))
    cat_w[home, np.arange(n_cat)] = AFFINITY_BOOST
    cat_w /= cat_w.sum(1, keepdims=True)
    assort = np.argsort(rng.random((n_p, n_cat, ppc)), axis=2)[:, :, :STOCKED] + np.arange(n_cat)[None, :, None] * ppc
    rev_per_order = (LINES_P @ np.arange(1, 4)) * (CH_UNITS_BASE + CH_UNITS_MEAN) * (cat_w @ CAT_PRICE) \
        * (1 - CH_DISCOUNT - 0.025)
    return _World(spec, partners, price, home, np.cumsum(cat_w, 1), assort, rev_per_order)


def _intensity(rng: np.random.Generator, w: _World, promo: np.ndarray, season: np.ndarray) -> None:
    """Expected orders per partner and day: level x growth x season x weekday x promotion x noise x anomalies."""
    p_ch, p_seg, n_reg, n_ch = w.col("channel_i"), w.col("segment_i"), w.spec.regions, len(CHANNELS)
    t = (DAYS - START).astype(int) / 365.25 - 1.5
    month = (DAYS.astype("datetime64[M]") - MONTHS[0]).astype(int)
    dow = (DAYS.astype(int) + 3) % 7
    shift = np.where(CH_ONLINE, np.log(1.25), np.log(0.97))[p_ch] + np.log(MARKET_GROWTH)
    lam = w.col("level")[:, None] * np.exp((w.col("growth") + shift)[:, None] * t)
    lam *= season * WEEKLY[CH_ONLINE[p_ch].astype(int)][:, dow] * promo
    sd = SEG_MONTH_SD[p_seg][:, None]
    lam *= np.exp(rng.normal(0, 1, (len(p_ch), len(MONTHS))) * sd - sd ** 2 / 2)[:, month]
    err = np.flatnonzero(p_seg == 3)
    burst = (rng.random((len(err), len(DAYS))) < 0.15) * rng.lognormal(-0.32, 0.8, (len(err), len(DAYS)))
    lam[err] *= burst / 0.15
    lull = len(DAYS) - rng.integers(14, 36, len(err))  # erratic partners end in a lull of 2-5 weeks
    lam[err] *= np.arange(len(DAYS))[None, :] < lull[:, None]
    lam[np.arange(len(DAYS))[None, :] < w.col("join_day")[:, None]] = 0.0
    w.bulk = np.sqrt(np.maximum(1.0, w.col("level") / 2))  # big partners buy more units per line
    lam /= (w.rev_per_order[p_ch] * w.bulk)[:, None]
    onehot, is_err = w.onehot, (p_seg == 3).astype(float)
    an = _anomalies(rng, n_reg, ((onehot * (1 - is_err)) @ lam).reshape(n_reg, n_ch, -1), promo)
    w.anomalies = an.assign(rc=an.region_i * n_ch + an.channel_i)
    # spikes: 5x the expected orders, stochastically rounded rather than Poisson so even a quiet channel shows it;
    # drops (in _sales): 5 % of the region x channel's orders of the day are kept, rounded down
    spike = np.zeros((n_reg * n_ch, len(DAYS)), dtype=bool)
    spike[w.anomalies.rc[an.kind == "spike"], an.day[an.kind == "spike"]] = True
    w.spike = spike[w.combo]
    lam[w.spike] *= ANOMALY_FACTOR["spike"]
    w.lam = lam * (w.spec.sales_rows / (LINES_P @ np.arange(1, 4)) / lam.sum())


def _sales(rng: np.random.Generator, w: _World, sink: _Sink, bounds: np.ndarray, promo_disc: np.ndarray,
           promo_margin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw the order lines a month at a time and write them.

    Returns revenue per month x (region x channel), per month x (region x market x category), units per month x
    (partner x stocked product), and day and partner of the orders that answered the survey.
    """
    assert w.lam is not None and w.spike is not None and w.bulk is not None and w.anomalies is not None  # _intensity
    p_reg, p_ch, margin = w.col("region_i"), w.col("channel_i"), w.col("margin")
    n_p, n_reg, n_ch, n_cat = len(p_reg), w.spec.regions, len(CHANNELS), len(CATEGORIES)
    combo, lam, erratic = w.combo, w.lam, w.col("segment_i") == 3
    orders_rc = w.onehot @ lam
    nondist = ~CH_DISTRIBUTOR[np.arange(n_reg * n_ch) % n_ch]
    # each region has its own pool of end customers, about four orders each, some far more (for RFM)
    pool = np.maximum(50, np.bincount(np.arange(n_reg * n_ch) // n_ch, orders_rc.sum(1) * nondist, n_reg) / 4)
    pool_start = np.concatenate([[0], np.cumsum(pool.astype(int))[:-1]])
    feedback_p = w.spec.feedback_rows / lam.sum()
    date_str, region_str = pa.array(_iso(DAYS)), pa.array(REGIONS[:n_reg])
    channel_str, partner_str = pa.array([c[0] for c in CHANNELS]), pa.array(w.partners["partner_id"])
    product_str = pa.array(_product_ids(len(w.price)))
    rev_rc = np.zeros((len(MONTHS), n_reg * n_ch))
    rev_rmcat = np.zeros((len(MONTHS), n_reg * len(MARKETS) * n_cat))
    sold = np.zeros((len(MONTHS), n_p * n_cat * STOCKED))
    feedback, order0 = [], 0
    for m in range(len(MONTHS)):
        d0, d1 = bounds[m], bounds[m + 1]
        lam_m, spike_m = lam[:, d0:d1].T, w.spike[:, d0:d1].T
        count = rng.poisson(lam_m)
        count[spike_m] = (lam_m[spike_m] + rng.random(spike_m.sum())).astype(int)
        for d, rc in w.anomalies.loc[w.anomalies.kind.eq("drop") & w.anomalies.day.between(d0, d1 - 1),
                                     ["day", "rc"]].to_numpy():
            # keep 5 % of the region x channel's orders, rounded down (an erratic partner's burst is lost too)
            cells = count[d - d0, combo == rc] * ~erratic[combo == rc]
            keep = int(cells.sum() * ANOMALY_FACTOR["drop"])
            count[d - d0, combo == rc] = np.diff(np.minimum(np.cumsum(np.concatenate([[0], cells])), keep))
        cell = np.repeat(np.arange((d1 - d0) * n_p), count.ravel())
        o_day, o_part = d0 + cell // n_p, cell % n_p
        n_o = len(cell)
        u = rng.random(n_o)
        n_lines = 1 + (u > LINES_P[0]) + (u > LINES_P[:2].sum())
        o_reg, o_ch = p_reg[o_part], p_ch[o_part]
        cust_null = CH_DISTRIBUTOR[o_ch]
        cust = pool_start[o_reg] + (pool[o_reg] * rng.random(n_o) ** 2).astype(int)
        start_slot = (STOCKED * rng.random(n_o) ** 2).astype(int)
        fb = rng.random(n_o) < feedback_p
        feedback.append((o_day[fb], o_part[fb]))
        oi = np.repeat(np.arange(n_o), n_lines)
        line_no = np.arange(len(oi)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
        part, day, ch = o_part[oi], o_day[oi], o_ch[oi]
        cat = (rng.random(len(oi))[:, None] > w.cat_cum[ch]).sum(1)
        slot = (start_slot[oi] + line_no) % STOCKED  # distinct products within an order
        prod = w.assort[part, cat, slot]
        units = CH_UNITS_BASE[ch] + rng.poisson(CH_UNITS_MEAN[ch] + (CH_UNITS_BASE + CH_UNITS_MEAN)[ch]
                                                * (w.bulk[part] - 1))
        disc = CH_DISCOUNT[ch] + 0.05 * rng.random(len(oi)) + promo_disc[day]
        revenue = np.round(units * w.price[prod] * (1 - disc), 2)
        line_margin = margin[part] + CAT_MARGIN[cat] + promo_margin[day] + rng.normal(0, 0.015, len(oi))
        cost = np.round(revenue * (1 - line_margin), 2)
        rev_rc[m] = np.bincount(combo[part], revenue, n_reg * n_ch)
        rev_rmcat[m] = np.bincount((p_reg[part] * len(MARKETS) + CH_MARKET[ch]) * n_cat + cat, revenue,
                                   n_reg * len(MARKETS) * n_cat)
        sold[m] = np.bincount((part * n_cat + cat) * STOCKED + slot, units, n_p * n_cat * STOCKED)
        sink.write(pa.table({
            "date": date_str.take(day), "region": region_str.take(p_reg[part]), "channel": channel_str.take(ch),
            "partner_id": partner_str.take(part), "product_id": product_str.take(prod),
            "order_id": _ids("O", order0 + 1 + oi, 9), "customer_id": _ids("C", cust[oi], 8, cust_null[oi]),
            "units": units, "revenue": revenue, "cost": cost}))
        order0 += n_o
    f_day, f_part = (np.concatenate(x) for x in zip(*feedback))
    return rev_rc, rev_rmcat, sold, f_day, f_part


def _product_ids(n: int) -> list[str]:
    return [f"SKU{i + 1:05d}" for i in range(n)]


def _plans(rng: np.random.Generator, w: _World, rev_rc: np.ndarray, expected_rev: np.ndarray,
           period: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly targets (last year's actual x planned growth; a plan figure in the first year) and costs."""
    n_ch = len(CHANNELS)
    rc_reg, rc_ch = np.divmod(np.arange(w.spec.regions * n_ch), n_ch)
    present = np.bincount(w.combo, minlength=w.spec.regions * n_ch) > 0
    mi, rci = (a.ravel() for a in np.meshgrid(np.arange(len(MONTHS)), np.flatnonzero(present), indexing="ij"))
    growth_plan = np.where(CH_ONLINE[rc_ch[rci]], 0.2, 0.02)
    prior = np.where(mi >= 12, rev_rc[np.maximum(mi - 12, 0), rci], expected_rev[mi, rci] / (1 + growth_plan))
    targets = pd.DataFrame({"period": period[mi], "region": np.array(REGIONS)[rc_reg[rci]],
                            "channel": np.array([c[0] for c in CHANNELS])[rc_ch[rci]],
                            "target_revenue": np.round(prior * (1 + growth_plan) * rng.lognormal(0, 0.05, len(mi)), 2)})
    cross_border = np.array([c[3] == "cross_border" for c in CHANNELS])
    rates = np.array([COST_RATES[c[2]] for c in CHANNELS]) + np.outer(cross_border, [0, 0, 0.06, 0, 0])
    amount = rev_rc[mi, rci][:, None] * rates[rc_ch[rci]] * rng.lognormal(0, 0.1, (len(mi), len(COST_TYPES)))
    costs = targets[["period", "region", "channel"]].loc[np.repeat(np.arange(len(mi)), len(COST_TYPES))]
    costs = costs.assign(cost_type=np.tile(COST_TYPES, len(mi)), amount=np.round(amount.ravel(), 2))
    return targets, costs[costs.amount > 0].reset_index(drop=True)


def _inventory(w: _World, sold: np.ndarray, bounds: np.ndarray) -> pd.DataFrame:
    """Month-end stock per partner and stocked product; declining partners keep buying last year's volume."""
    n_p, n_s = len(w.partners), len(CATEGORIES) * STOCKED
    stock = sold.reshape(len(MONTHS), n_p, n_s)
    on_hand, sell_in, prev = np.zeros_like(stock), np.zeros_like(stock), 1.5 * stock[:3].mean(0)
    declining = (w.col("segment_i") == 2)[:, None]
    for m in range(len(MONTHS)):
        forecast = stock[max(0, m - 3):m].mean(0) if m else stock[0]
        order = np.maximum(0, np.ceil(1.5 * forecast - prev))
        if m >= 12:
            order = np.where(declining, np.maximum(order, np.round(0.85 * stock[m - 12])), order)
        sell_in[m] = order + np.maximum(0, stock[m] - prev - order)
        on_hand[m] = prev = prev + sell_in[m] - stock[m]
    month_end = _iso((MONTHS + 1).astype("datetime64[D]") - 1)
    mm, pp, ss = (a.ravel() for a in np.meshgrid(np.arange(len(MONTHS)), np.arange(n_p), np.arange(n_s),
                                                 indexing="ij"))
    keep = bounds[1:][mm] > w.col("join_day")[pp]
    return pd.DataFrame({
        "date": month_end[mm], "partner_id": w.col("partner_id")[pp],
        "product_id": np.array(_product_ids(len(w.price)))[w.assort.reshape(n_p, -1)[pp, ss]],
        "on_hand_units": on_hand.ravel().astype(int), "sell_in_units": sell_in.ravel().astype(int),
    })[keep].reset_index(drop=True)


def _feedback(rng: np.random.Generator, w: _World, f_day: np.ndarray, f_part: np.ndarray) -> pd.DataFrame:
    """0-10 survey answers from a sample of orders; lower for declining partners, some with a comment."""
    mu = CH_SCORE[w.col("channel_i")[f_part]] + SEG_SCORE[w.col("segment_i")[f_part]]
    score = np.clip(np.round(mu + rng.normal(0, 1.8, len(f_day))), 0, 10)
    bucket = np.select([score <= 6, score <= 8], ["low", "mid"], "high")
    pick = rng.random(len(f_day))
    comment = [COMMENTS[b][int(x / 0.55 * len(COMMENTS[b]))] if x < 0.55 else None for b, x in zip(bucket, pick)]
    return pd.DataFrame({"date": _iso(DAYS[f_day]), "region": w.col("region")[f_part],
                         "channel": w.col("channel")[f_part], "score": score.astype(int),
                         "partner_id": w.col("partner_id")[f_part], "comment": comment})


def _market(rng: np.random.Generator, w: _World, rev_rmcat: np.ndarray, season: np.ndarray, bounds: np.ndarray,
            period: np.ndarray) -> pd.DataFrame:
    """A smooth market per region x category, split into a domestic and a smaller cross-border market (15-30 %);
    our share differs by region (a low share is white space). Each market is at least 1.25x our sales in it."""
    n_reg, n_cat, n_mkt = w.spec.regions, len(CATEGORIES), len(MARKETS)
    share = rng.uniform(0.04, 0.3, n_reg)[:, None] * np.exp(rng.normal(0, 0.2, (n_reg, n_cat)))
    trend = season[bounds[:-1]] / season.mean() * MARKET_GROWTH ** (np.arange(len(MONTHS)) / 12 - 1.5)
    ours = rev_rmcat.reshape(len(MONTHS), n_reg, n_mkt, n_cat)
    total = ours.sum(2).mean(0) / share  # region x category
    cross = rng.uniform(*CROSS_BORDER_SHARE, (n_reg, n_cat))
    split = np.stack([total * (1 - cross), total * cross], axis=1)  # region x market x category
    size = split[None] * trend[:, None, None, None] * rng.lognormal(0, 0.03, ours.shape)
    size = np.maximum(size, 1.25 * ours)
    mm, rr, kk, cc = (a.ravel() for a in np.meshgrid(np.arange(len(MONTHS)), np.arange(n_reg), np.arange(n_mkt),
                                                      np.arange(n_cat), indexing="ij"))
    comp = (size - ours) * rng.uniform(0.4, 0.7, (n_reg, n_mkt, n_cat)) * rng.lognormal(0, 0.05, ours.shape)
    return pd.DataFrame({"period": period[mm], "region": np.array(REGIONS)[rr], "category": np.array(CATEGORIES)[cc],
                         "market": np.array(MARKETS)[kk], "market_size": np.round(size.ravel(), 2),
                         "competitor_sales": np.round(comp.ravel(), 2)})


# -- partner management (issue 11): drawn from their own random stream, so every other table stays as it was ---------

#: candidates are good or poor; quality shifts each screening attribute by this many standard deviations (a single
#: attribute then ranks a good candidate above a poor one about 73 % of the time: far from separating them)
CANDIDATE_SHIFT = 0.85
#: share of good and poor candidates that passed the qualification check
CANDIDATE_QUALIFIED = (0.75, 0.92)  # poor, good
RENEWAL_DECISIONS = ("renew", "renegotiate", "let_expire")
TIERS = ("bronze", "silver", "gold", "platinum")


def _partner_terms(rng: np.random.Generator, w: _World) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Minimum purchase commitments, renewal decisions and tier history of the partners.

    A commitment is 50-80 % of the partner's expected quarterly revenue over 2024 Q3 - 2025 Q2 (over its active
    days when it joined later), rounded to 100; about one partner in ten has none. About 45 % of the contracts that
    have ended or end within 90 days carry a decision. Each partner's tier history starts when it joined; about a
    third moved one tier when its current contract started.
    """
    assert w.lam is not None and w.bulk is not None  # set by _intensity
    n = len(w.partners)
    daily = w.lam * (w.rev_per_order[w.col("channel_i")] * w.bulk)[:, None]
    ref = (DAYS >= np.datetime64("2024-07-01")) & (DAYS <= np.datetime64("2025-06-30"))
    active = np.arange(len(DAYS))[None, :] >= w.col("join_day")[:, None]
    days_ref = (active & ref).sum(1)
    late = days_ref < 30
    tail = active & (DAYS >= END - 59)
    per_day = np.where(late, (daily * tail).sum(1) / np.maximum(tail.sum(1), 1),
                       (daily * (active & ref)).sum(1) / np.maximum(days_ref, 1))
    commitment = np.round(per_day * 91.3 * rng.uniform(0.5, 0.8, n), -2)
    commitment[rng.random(n) < 0.1] = np.nan
    end = w.col("contract_end").astype("datetime64[D]")
    due = end <= END + 90
    decided = due & (rng.random(n) < 0.45)
    picked = rng.choice(RENEWAL_DECISIONS, n, p=[0.5, 0.3, 0.2])
    decision = np.array([str(d) if k else None for d, k in zip(picked, decided)], dtype=object)
    current = np.array([TIERS.index(t) for t in w.col("tier")])
    moved = rng.random(n) < 0.35
    step = np.where(rng.random(n) < 0.5, -1, 1)
    before = np.clip(current + step, 0, len(TIERS) - 1)
    moved &= before != current
    rows = []
    for i, pid in enumerate(w.col("partner_id")):
        if moved[i] and w.col("contract_start")[i] > w.col("joined")[i]:
            rows.append((pid, w.col("joined")[i], TIERS[before[i]]))
            rows.append((pid, w.col("contract_start")[i], TIERS[current[i]]))
        else:
            rows.append((pid, w.col("joined")[i], TIERS[current[i]]))
    history = pd.DataFrame(rows, columns=["partner_id", "date", "tier"])
    return commitment, decision, history


def _candidates(rng: np.random.Generator, spec: DemoSize) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate partners with screening attributes, and their planted quality (good or poor).

    Quality shifts each attribute (log store count, credit score, log years in business, willingness) by
    :data:`CANDIDATE_SHIFT` standard deviations and the chance of having passed the qualification check, so a good
    candidate is not separable on any single attribute; some poor candidates fail the gates (not qualified, credit
    below 50).
    """
    n = max(30, spec.partners // 2)  # a recruiting pipeline of half the partner count
    good = rng.random(n) < 0.5
    k = CANDIDATE_SHIFT * good
    stores = np.maximum(1, np.round(np.exp(rng.normal(np.log(12) + 0.7 * k, 0.7))))
    credit = np.clip(np.round(rng.normal(64 + 10 * k, 10)), 5, 99)
    years = np.round(np.exp(rng.normal(np.log(8) + 0.6 * k, 0.6)))
    willingness = np.clip(np.round(rng.normal(6.0 + 1.5 * k, 1.5), 1), 0, 10)
    qualified = np.where(rng.random(n) < np.where(good, CANDIDATE_QUALIFIED[1], CANDIDATE_QUALIFIED[0]), "yes", "no")
    names = pd.Series([f"{NAME_A[a]} {NAME_B[b]} {NAME_C[c]}" for a, b, c in zip(
        rng.integers(0, len(NAME_A), n), rng.integers(0, len(NAME_B), n), rng.integers(0, len(NAME_C), n))])
    names.iloc[[0, 4]] = ['Orion & "Partners" <Trade>', "Søren & Co"]
    dup = names.groupby(names).cumcount()
    names = names.where(dup == 0, names + " " + (dup + 1).astype(str))
    ids = [f"C{i + 1:04d}" for i in range(n)]
    region = np.array(REGIONS[:spec.regions])[rng.integers(0, spec.regions, n)]
    frame = pd.DataFrame({
        "candidate_id": ids, "name": names, "region": region,
        "channel": np.array([c[0] for c in CHANNELS])[rng.integers(0, len(CHANNELS), n)],
        "stores": stores.astype(int), "credit_score": credit.astype(int), "years_in_business": years.astype(int),
        "qualified": qualified, "willingness": willingness})
    truth = pd.DataFrame({"candidate_id": ids, "quality": np.where(good, "good", "poor")})
    return frame, truth


def generate(out: Path, size: str = "small", seed: int = 42) -> dict[str, int]:
    """Write every table, DIR/truth/*.csv and DIR/params.yaml; return {table: rows}."""
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r} (known: {', '.join(SIZES)})")
    spec, out, t0 = SIZES[size], Path(out), time.perf_counter()
    (out / "truth").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ext = spec.fmt

    w = _world(rng, spec)
    promo, promo_disc, promo_margin = _promotions()
    doy = (DAYS - DAYS.astype("datetime64[Y]")).astype(int)
    season = np.interp(doy, np.arange(12) * 30.4 + 15, MONTH_SEASON, period=365)
    _intensity(rng, w, promo, season)
    month = (DAYS.astype("datetime64[M]") - MONTHS[0]).astype(int)
    bounds = np.searchsorted(month, np.arange(len(MONTHS) + 1))  # first day of each month, and the end
    rpo = w.rev_per_order[w.col("channel_i")] * w.bulk
    expected_rev = (w.onehot @ np.add.reduceat(w.lam * rpo[:, None], bounds[:-1], axis=1)).T

    sink = _Sink(out / f"sales.{ext}", spec.fmt)
    try:
        rev_rc, rev_rmcat, sold, f_day, f_part = _sales(rng, w, sink, bounds, promo_disc, promo_margin)
        rows = {"sales": sink.close()}
    except BaseException:
        sink.close(keep=False)
        raise
    log.info("demo %s: %d sales rows in %.1f s", size, rows["sales"], time.perf_counter() - t0)

    period = np.array([f"{p}-01" for p in MONTHS.astype(str)])
    targets, costs = _plans(rng, w, rev_rc, expected_rev, period)
    inventory = _inventory(w, sold, bounds)
    feedback = _feedback(rng, w, f_day, f_part)
    market = _market(rng, w, rev_rmcat, season, bounds, period)
    # partner management: its own random stream, so the tables above are the same with or without it
    terms_rng = np.random.default_rng([seed, 11])
    min_purchase, renewal_decision, tier_history = _partner_terms(terms_rng, w)
    candidates, candidate_truth = _candidates(terms_rng, spec)
    tables = {
        "channels": pd.DataFrame(CHANNELS, columns=["channel", "channel_type", "model", "market"]),
        "partners": w.partners[["partner_id", "name", "region", "channel", "tier", "joined", "contract_start",
                                "contract_end", "credit_score", "stores", "staff", "years_in_business"]].assign(
            min_purchase=min_purchase, renewal_decision=renewal_decision),
        "products": pd.DataFrame({"product_id": _product_ids(len(w.price)),
                                  "category": np.repeat(CATEGORIES, spec.products_per_category),
                                  "list_price": w.price}),
        "targets": targets, "costs": costs, "inventory": inventory, "feedback": feedback, "market": market,
        "candidates": candidates, "tier_history": tier_history,
    }
    for name, df in tables.items():
        rows[name] = _write(df, out / f"{name}.{ext}", spec.fmt)

    p_seg, an = w.col("segment_i"), w.anomalies
    assert an is not None  # set by _intensity
    truth = {
        "partner_segments": pd.DataFrame({"partner_id": w.col("partner_id"), "segment": np.array(SEGMENTS)[p_seg]}),
        "declining_partners": w.partners.loc[p_seg == 2, ["partner_id"]],
        "anomalies": pd.DataFrame({"date": _iso(DAYS[an.day]), "region": np.array(REGIONS)[an.region_i],
                                   "channel": np.array([c[0] for c in CHANNELS])[an.channel_i],
                                   "kind": an.kind.to_numpy()}),
        "affinities": pd.DataFrame({"category": CATEGORIES, "channel": [CHANNELS[h][0] for h in w.home]}),
        "candidates": candidate_truth,
    }
    for name, df in truth.items():
        _write(df, out / "truth" / f"{name}.csv", "csv")

    dated = {"sales", "partners", "targets", "costs", "inventory", "feedback", "market", "tier_history"}
    params = {"name": f"demo-{size}", "currency": "EUR", "store": "chanlib.duckdb", "seed": seed,
              "tables": {name: {"path": f"{name}.{ext}", **({"date_format": "%Y-%m-%d"} if name in dated else {})}
                         for name in ["sales", *tables]}}
    write_text(out / "params.yaml", f"# Generated by `chanlib demo --size {size} --seed {seed}`; regenerate rather "
               "than edit.\n" + yaml.safe_dump(params, sort_keys=False))
    log.info("demo %s (seed %d) written to %s in %.1f s: %s", size, seed, out, time.perf_counter() - t0,
             ", ".join(f"{k}={v}" for k, v in rows.items()))
    return rows
