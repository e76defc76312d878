"""A deterministic synthetic sales-channel business with planted ground truth (``chanlib demo``).

Three years (2023-01-01 .. 2025-12-31) of daily order lines for partners that each sell in one region and one channel,
plus every optional table of the data contract (channels, partners, products, targets, costs, inventory, feedback,
market, candidates, tier_history). The business has trend, a Q4 peak, a weekly pattern per channel type, two
promotions a year (Black-Friday week, a late-June sale) and a shift toward online channels (~+25 %/yr, offline
~-3 %/yr). The market table sizes each region x category's domestic and cross-border market (the markets the channels
table says each channel serves); sales carry no ``category`` column, since the products table has it.

What is planted, so later features can be tested against it (files in ``DIR/truth/``):

* ``partner_segments.csv`` -- every partner is an *anchor*, *rising*, *declining* or *erratic* partner. The segments
  overlap: each moves several behaviours by about one within-segment standard deviation, so no single feature recovers
  them (k-means on any one partner feature: ARI <= 0.2 on the medium demo) and even a classifier trained on the truth
  reaches only ARI ~0.5 on the partner features. Anchors are larger (level x1.6, partners' log-level SD 0.45),
  higher-margin (31 % against 27-29 %, SD 2 points), steadier (month-to-month noise 5 % against 9-32 %) and keep
  little stock (1.3 months' sales; rising partners 1.2, declining 1.4, erratic 1.6; partners' lognormal SD 0.3);
  rising partners grow ~20 %/yr on top of their channel's trend (anchors 4 %, others 0; SD 7 %) and are smaller
  (x0.6); declining partners lose 20-35 % of their business between a day in 2024 Q3 - 2025 Q1 and the end (flat
  before), earn 27 % and keep buying 75 % of last year's units, so stock piles up; erratic partners swing ~32 % month
  to month and are a little smaller and lower-margin. Segments are drawn independently of region and channel. The few
  partners that join in the last three months are *rising*; they have no prior year, so growth-based features need a
  rule for them.
* ``declining_partners.csv`` -- the declining partners, with the start of their decline and the share lost by the
  end (``decline_start``, ``loss``).
* ``anomalies.csv`` -- two days per region and year, away from promotions and on a busy channel of that region, on
  which that region x channel's expected orders move by ``z`` = 5-8 standard deviations on the Anscombe scale
  ``2 sqrt(n + 3/8)`` (where a Poisson count has SD 1): up (``spike``) or down (``drop``), ``factor`` times the
  expected orders (on the medium demo x2.0-4.3 and x0-0.37, median x2.7 and x0.09; on the small demo's quiet
  channels x4-11 and ~x0).
* ``affinities.csv`` -- each category's "home" channel, where it sells 1.5x more than elsewhere, blurred by each
  partner's own category mix (lognormal, SD 0.3), so that channel leads the category's share index moderately
  (about 1.3-1.4 against 1.0 on the medium demo; every channel is some category's home).
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


#: bumped whenever the same size and seed give other data; params.yaml names it, so a bench can tell a demo made by
#: an older generator (2: overlapping segments, 1.5x affinities, moderate declines and anomalies; 3: anomalies of
#: 5-8 SD, not 3.5-6)
GENERATOR_VERSION = 3

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
# Segments overlap: each moves several behaviours by about one within-segment standard deviation, so no single
# feature tells them apart (the partner features' separation is measured in tests/test_segment.py and
# bench/recovery.py). Per partner: log level ~ N(SEG_LEVEL, LEVEL_SD) on top of region and channel, log growth per
# year ~ N(SEG_GROWTH, GROWTH_SD), month-to-month noise SEG_MONTH_SD x lognormal(MONTH_SD_SPREAD), gross margin
# ~ N(SEG_MARGIN, MARGIN_SD) and stock cover (months of sales kept on hand) SEG_COVER x lognormal(COVER_SD).
LEVEL_BASE = 3.0  # orders scale; absolute levels only matter for tiers, store counts and units per line
SEG_LEVEL = np.array([0.45, -0.5, 0.15, -0.25])
LEVEL_SD = 0.45
SEG_GROWTH = np.log([1.04, 1.2, 1.0, 1.0])
GROWTH_SD = 0.07
#: declining partners are flat until a day in this span, then lose this share of their business by the data end
DECLINE_START = (np.datetime64("2024-07-01", "D"), np.datetime64("2025-04-01", "D"))
DECLINE_LOSS = (0.20, 0.35)
SEG_MONTH_SD = np.array([0.05, 0.09, 0.09, 0.32])
MONTH_SD_SPREAD = 0.25
SEG_MARGIN = np.array([0.31, 0.29, 0.27, 0.277])
MARGIN_SD = 0.02
SEG_COVER = np.array([1.3, 1.2, 1.4, 1.6])
COVER_SD = 0.3
DECLINING_RESTOCK = 0.75  # declining partners keep buying this share of last year's units
SEG_SCORE = np.array([0.3, 0.2, -0.6, -0.3])  # feedback score shift (answers have SD 1.8)
SEG_CREDIT = np.array([4.0, 0.0, -6.0, -3.0])  # credit score shift (partners' SD 8)
MONTH_SEASON = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 1.0, 0.95, 0.95, 1.0, 1.05, 1.3, 1.5])
WEEKLY = np.array([[0.85, 0.9, 0.95, 1.0, 1.1, 1.35, 0.85],  # offline, Mon..Sun
                   [1.1, 1.05, 1.0, 0.95, 0.9, 0.95, 1.05]])  # online
LINES_P = np.array([0.6, 0.3, 0.1])  # 1, 2 or 3 lines per order
STOCKED = 3  # products per category a partner stocks; >= 3 keeps the lines of one order distinct
AFFINITY_BOOST = 1.5  # a category sells this much more in its home channel
TASTE_SD = 0.3  # each partner's category mix varies around its channel's by lognormal(0, TASTE_SD)
MARKET_GROWTH = 1.06  # the whole market, per year
CROSS_BORDER_SHARE = (0.15, 0.3)  # the cross-border part of a region x category's market is drawn from this range
#: an anomaly moves the day's orders of a region x channel by this many standard deviations (drawn uniformly), on the
#: Anscombe scale 2 sqrt(n + 3/8) where a Poisson count has standard deviation 1: a few, not a multiple of the day.
#: At least 5: ~84k region x channel days (medium demo) need a threshold near 4 SD for few false alarms even with a
#: perfect baseline, so a smaller anomaly is indistinguishable from noise and planting it would measure nothing
ANOMALY_Z = (5.0, 8.0)
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
    level = LEVEL_BASE * np.exp(SEG_LEVEL[segment] + rng.normal(0, LEVEL_SD, n)) * region_level[region] \
        * CH_LEVEL[channel]
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
    credit = np.clip(np.round(70 + SEG_CREDIT[segment] + rng.normal(0, 8, n)), 5, 99).astype(int)
    growth = SEG_GROWTH[segment] + rng.normal(0, GROWTH_SD, n)
    margin = SEG_MARGIN[segment] + CH_MARGIN[channel] + rng.normal(0, MARGIN_SD, n)
    month_sd = SEG_MONTH_SD[segment] * np.exp(rng.normal(0, MONTH_SD_SPREAD, n))
    cover = SEG_COVER[segment] * np.exp(rng.normal(0, COVER_SD, n))
    span = (DECLINE_START[1] - DECLINE_START[0]).astype(int)
    decline_day = (DECLINE_START[0] - START).astype(int) + rng.integers(0, span + 1, n)
    decline_loss = np.where(segment == 2, rng.uniform(*DECLINE_LOSS, n), 0.0)
    return pd.DataFrame({
        "partner_id": [f"P{i + 1:05d}" for i in range(n)], "name": names, "region_i": region, "channel_i": channel,
        "region": np.array(REGIONS)[region], "channel": np.array([c[0] for c in CHANNELS])[channel], "tier": tier,
        "joined": _iso(joined), "contract_start": _iso(contract_start), "contract_end": _iso(contract_end),
        "credit_score": credit, "stores": stores.astype(int), "staff": staff.astype(int), "years_in_business": years,
        "segment_i": segment, "level": level, "growth": growth, "margin": margin, "month_sd": month_sd,
        "cover": cover, "decline_day": decline_day, "decline_loss": decline_loss,
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

    ``steady`` is the expected orders per region x channel x day: the neighbouring days of a planted anomaly must be
    reliably non-zero for it to stand out.
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
    frame = pd.DataFrame(rows, columns=["day", "region_i", "channel_i", "kind"])
    return frame.sort_values(["day", "region_i"]).reset_index(drop=True)


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
    cat_cum: np.ndarray  # partner x category cumulative probability of a line's category
    assort: np.ndarray  # partner x category x slot -> product stocked
    rev_per_order: np.ndarray  # expected revenue of one order per channel, before the partner's bulk factor
    # set by _intensity: units multiplier per partner; expected orders (partner x day, anomalies included)
    bulk: np.ndarray | None = None
    lam: np.ndarray | None = None
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
    """Partners, products, category-channel affinities, each partner's taste (its category mix) and assortment."""
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
    taste = cat_w[partners["channel_i"].to_numpy()] * np.exp(rng.normal(0, TASTE_SD, (n_p, n_cat)))
    taste /= taste.sum(1, keepdims=True)
    return _World(spec, partners, price, home, np.cumsum(taste, 1), assort, rev_per_order)


def _intensity(rng: np.random.Generator, w: _World, promo: np.ndarray, season: np.ndarray) -> None:
    """Expected orders per partner and day: level x growth x decline x season x weekday x promotion x noise, then
    the anomalies (each scales its region x channel's expected orders of the day, see :data:`ANOMALY_Z`)."""
    p_ch, n_reg, n_ch = w.col("channel_i"), w.spec.regions, len(CHANNELS)
    day = np.arange(len(DAYS))
    t = day / 365.25 - 1.5
    month = (DAYS.astype("datetime64[M]") - MONTHS[0]).astype(int)
    dow = (DAYS.astype(int) + 3) % 7
    shift = np.where(CH_ONLINE, np.log(1.25), np.log(0.97))[p_ch] + np.log(MARKET_GROWTH)
    lam = w.col("level")[:, None] * np.exp((w.col("growth") + shift)[:, None] * t)
    start = w.col("decline_day")[:, None]  # declining partners: log-linear loss from their start to the end
    ramp = np.clip((day[None, :] - start) / (len(DAYS) - 1 - start), 0.0, 1.0)
    lam *= np.exp(np.log1p(-w.col("decline_loss"))[:, None] * ramp)
    lam *= season * WEEKLY[CH_ONLINE[p_ch].astype(int)][:, dow] * promo
    sd = w.col("month_sd")[:, None]
    lam *= np.exp(rng.normal(0, 1, (len(p_ch), len(MONTHS))) * sd - sd ** 2 / 2)[:, month]
    lam[day[None, :] < w.col("join_day")[:, None]] = 0.0
    w.bulk = np.sqrt(np.maximum(1.0, w.col("level") / 2))  # big partners buy more units per line
    lam /= (w.rev_per_order[p_ch] * w.bulk)[:, None]
    lam *= w.spec.sales_rows / (LINES_P @ np.arange(1, 4)) / lam.sum()  # orders per day
    cell = (w.onehot @ lam).reshape(n_reg, n_ch, -1)
    an = _anomalies(rng, n_reg, cell, promo)
    # each anomaly moves the cell's expected orders of the day by z on the Anscombe scale (Poisson SD 1)
    expected = cell[an.region_i.to_numpy(), an.channel_i.to_numpy(), an.day.to_numpy()]
    z = rng.uniform(*ANOMALY_Z, len(an)) * np.where(an.kind.to_numpy() == "spike", 1.0, -1.0)
    moved = np.maximum(np.sqrt(expected + 3 / 8) + z / 2, 0.0) ** 2 - 3 / 8
    an = an.assign(rc=an.region_i * n_ch + an.channel_i, expected_orders=expected, z=z,
                   factor=np.maximum(moved, 0.0) / expected)
    for rc, d, f in an[["rc", "day", "factor"]].itertuples(index=False):
        lam[w.combo == rc, d] *= f
    w.anomalies = an
    w.lam = lam


def _sales(rng: np.random.Generator, w: _World, sink: _Sink, bounds: np.ndarray, promo_disc: np.ndarray,
           promo_margin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw the order lines a month at a time and write them.

    Returns revenue per month x (region x channel), per month x (region x market x category), units per month x
    (partner x stocked product), and day and partner of the orders that answered the survey.
    """
    assert w.lam is not None and w.bulk is not None  # set by _intensity
    p_reg, p_ch, margin = w.col("region_i"), w.col("channel_i"), w.col("margin")
    n_p, n_reg, n_ch, n_cat = len(p_reg), w.spec.regions, len(CHANNELS), len(CATEGORIES)
    combo, lam = w.combo, w.lam
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
        count = rng.poisson(lam[:, d0:d1].T)
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
        cat = (rng.random(len(oi))[:, None] > w.cat_cum[part]).sum(1)
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
    """Month-end stock per partner and stocked product: each partner orders up to its stock cover (months of its
    recent sales); declining partners keep buying :data:`DECLINING_RESTOCK` of last year's volume."""
    n_p, n_s = len(w.partners), len(CATEGORIES) * STOCKED
    stock = sold.reshape(len(MONTHS), n_p, n_s)
    cover = w.col("cover")[:, None]
    on_hand, sell_in, prev = np.zeros_like(stock), np.zeros_like(stock), cover * stock[:3].mean(0)
    declining = (w.col("segment_i") == 2)[:, None]
    for m in range(len(MONTHS)):
        forecast = stock[max(0, m - 3):m].mean(0) if m else stock[0]
        order = np.maximum(0, np.ceil(cover * forecast - prev))
        if m >= 12:
            order = np.where(declining, np.maximum(order, np.round(DECLINING_RESTOCK * stock[m - 12])), order)
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


def is_current(folder: Path) -> bool:
    """Whether ``folder`` holds a demo written by this generator version (its params.yaml says so)."""
    params = Path(folder) / "params.yaml"
    return params.is_file() and f"(generator {GENERATOR_VERSION})" in params.read_text(encoding="utf-8")[:200]


def generate(out: Path, size: str = "small", seed: int = 42, *, spec: DemoSize | None = None,
             sales_sink: type[_Sink] | None = None) -> dict[str, int]:
    """Write every table, DIR/truth/*.csv and DIR/params.yaml; return {table: rows}.

    ``spec`` and ``sales_sink`` replace the size's shape and the sales writer (``xxl``, ~100M order lines streamed to
    a folder of monthly Parquet files, is :func:`chanlib.data.demo_stream.generate_xxl`).
    """
    if spec is None and size not in SIZES:
        raise ValueError(f"unknown demo size {size!r} (known: {', '.join(SIZES)})")
    spec, out, t0 = spec or SIZES[size], Path(out), time.perf_counter()
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

    sink = (sales_sink or _Sink)(out / f"sales.{ext}", spec.fmt)
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
        "declining_partners": pd.DataFrame({
            "partner_id": w.col("partner_id")[p_seg == 2],
            "decline_start": _iso(START + w.col("decline_day")[p_seg == 2].astype("timedelta64[D]")),
            "loss": np.round(w.col("decline_loss")[p_seg == 2], 3)}),
        "anomalies": pd.DataFrame({"date": _iso(DAYS[an.day]), "region": np.array(REGIONS)[an.region_i],
                                   "channel": np.array([c[0] for c in CHANNELS])[an.channel_i],
                                   "kind": an.kind.to_numpy(), "z": np.round(an.z.to_numpy(), 2),
                                   "factor": np.round(an.factor.to_numpy(), 3)}),
        "affinities": pd.DataFrame({"category": CATEGORIES, "channel": [CHANNELS[h][0] for h in w.home]}),
        "candidates": candidate_truth,
    }
    for name, df in truth.items():
        _write(df, out / "truth" / f"{name}.csv", "csv")

    dated = {"sales", "partners", "targets", "costs", "inventory", "feedback", "market", "tier_history"}
    params = {"name": f"demo-{size}", "currency": "EUR", "store": "chanlib.duckdb", "seed": seed,
              "tables": {name: {"path": f"{name}.{ext}", **({"date_format": "%Y-%m-%d"} if name in dated else {})}
                         for name in ["sales", *tables]}}
    write_text(out / "params.yaml", f"# Generated by `chanlib demo --size {size} --seed {seed}` (generator "
               f"{GENERATOR_VERSION}); regenerate rather than edit.\n" + yaml.safe_dump(params, sort_keys=False))
    log.info("demo %s (seed %d) written to %s in %.1f s: %s", size, seed, out, time.perf_counter() - t0,
             ", ".join(f"{k}={v}" for k, v in rows.items()))
    return rows
