"""Customer RFM: recency, frequency and monetary value, quantile scores 1..q and named clusters on top.

:func:`rfm` works on canonical columns ``customer_id, order_id, date, revenue`` (one row per order line):

* *recency*: days from the customer's last order to *as of* (default: the last date in the frame);
* *frequency*: distinct orders; *monetary*: revenue summed over the lines;
* scores 1..q (``rfm_quantiles``): a customer's score is 1 + floor(q x the share of customers with a strictly
  worse value), so equal values always score alike (most customers order once: they all get F = 1) and the best
  value scores q. Recency is scored so that recent = high;
* a k-means (``rfm_clusters``, seeded) on the three scores; clusters are numbered by mean score sum, best first,
  and named from their mean scores (:func:`rfm_segment_name`), never by cluster number.

:func:`load_online_retail` reads the UCI Online Retail export and sets aside (and counts) cancellations, unknown
customers, negative quantities, non-positive prices and unreadable rows instead of dropping them silently.

Examples
--------
>>> import pandas as pd
>>> lines = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "c"], "order_id": ["1", "2", "3", "4", "5", "6"],
...                       "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01", "2024-02-20",
...                                               "2024-03-01", "2024-03-02"]),
...                       "revenue": [10.0, 20.0, 5.0, 50.0, 50.0, 50.0]})
>>> from chanlib.config import SegmentSettings
>>> r = rfm(lines, settings=SegmentSettings(rfm_quantiles=3, rfm_clusters=2))
>>> r[["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"]].to_dict("list")
... # doctest: +NORMALIZE_WHITESPACE
{'customer_id': ['a', 'b', 'c'], 'recency_days': [1, 30, 0], 'frequency': [2, 1, 3],
 'monetary': [30.0, 5.0, 150.0], 'r_score': [2, 1, 3], 'f_score': [2, 1, 3], 'm_score': [2, 1, 3]}
>>> rfm_segment_name(5, 5, 5, 5), rfm_segment_name(1, 1, 1, 5), rfm_segment_name(5, 1, 1, 5)
('champions', 'lost', 'new customers')
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from chanlib.analytics.segment.errors import SegmentInputError
from chanlib.config import SegmentSettings
from chanlib.data.store import Tables, as_connection, require
from chanlib.errors import MissingInput

log = logging.getLogger(__name__)

RFM_COLUMNS = ("customer_id", "order_id", "date", "revenue")
#: (recency level, frequency-and-monetary level) -> name; levels are low / mid / high thirds of the score range
RFM_NAMES: dict[tuple[str, str], str] = {
    ("high", "high"): "champions", ("high", "mid"): "potential loyalists", ("high", "low"): "new customers",
    ("mid", "high"): "loyal customers", ("mid", "mid"): "need attention", ("mid", "low"): "about to sleep",
    ("low", "high"): "can't lose them", ("low", "mid"): "at risk", ("low", "low"): "lost",
}


def _level(score: float, q: int) -> str:
    x = (score - 1) / (q - 1)  # 0..1
    return "high" if x >= 0.6 else "low" if x < 0.35 else "mid"


def rfm_segment_name(r: float, f: float, m: float, q: int = 5) -> str:
    """The name of a group of customers from its mean R, F and M scores (1..q): see :data:`RFM_NAMES`."""
    return RFM_NAMES[(_level(r, q), _level((f + m) / 2, q))]


def quantile_score(values: pd.Series, q: int, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..q: 1 + floor(q x share of values strictly worse); ties score alike."""
    v = values if higher_is_better else -values
    worse = v.rank(method="min") - 1  # values strictly below
    return (1 + np.floor(q * worse / len(v))).clip(upper=q).astype(int)


def _check(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise SegmentInputError(f"rfm: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in RFM_COLUMNS if c not in frame.columns]
    if missing:
        raise SegmentInputError(f"rfm: missing column(s) {missing} (need {', '.join(RFM_COLUMNS)})")
    if not pd.api.types.is_numeric_dtype(frame["revenue"]):
        raise SegmentInputError("rfm: column 'revenue' is not numeric")
    out = frame.loc[frame["customer_id"].notna(), list(RFM_COLUMNS)]
    if out.empty:
        raise SegmentInputError("rfm: no row has a customer_id")
    out = out.assign(date=pd.to_datetime(out["date"]))
    if out["date"].isna().any():
        raise SegmentInputError(f"rfm: {int(out['date'].isna().sum())} row(s) have no date")
    return out


def rfm(frame: pd.DataFrame, as_of: pd.Timestamp | str | None = None,
        settings: SegmentSettings | None = None) -> pd.DataFrame:
    """RFM values, scores and named clusters per customer (rows without a customer are ignored).

    Returns ``customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_score,
    rfm_cluster, rfm_segment`` sorted by customer.
    """
    settings = settings or SegmentSettings()
    lines = _check(frame)
    day = pd.Timestamp(as_of).normalize() if as_of is not None else lines["date"].max().normalize()
    if (lines["date"].dt.normalize() > day).any():
        raise SegmentInputError(f"rfm: as_of {day.date()} is before the last order date "
                                f"{lines['date'].max().date()}")
    g = lines.groupby("customer_id", sort=True)
    values = pd.DataFrame({
        "recency_days": (day - g["date"].max().dt.normalize()).dt.days,
        "frequency": g["order_id"].nunique(),
        "monetary": g["revenue"].sum(),
    }).rename_axis("customer_id").reset_index()
    return score_rfm(values, settings, day)


def score_rfm(values: pd.DataFrame, settings: SegmentSettings | None = None,
              as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Scores and clusters for ready RFM values (``customer_id, recency_days, frequency, monetary``)."""
    settings = settings or SegmentSettings()
    out = values.sort_values("customer_id", kind="stable").set_index("customer_id")
    q = settings.rfm_quantiles
    out["r_score"] = quantile_score(out["recency_days"], q, higher_is_better=False)
    out["f_score"] = quantile_score(out["frequency"], q)
    out["m_score"] = quantile_score(out["monetary"], q)
    out["rfm_score"] = (out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str))
    out["rfm_cluster"], names = _clusters(out[["r_score", "f_score", "m_score"]], settings)
    out["rfm_segment"] = out["rfm_cluster"].map(names)
    log.info("RFM of %d customers%s: %s", len(out), f" as of {pd.Timestamp(as_of).date()}" if as_of else "",
             ", ".join(f"{n} {c}" for n, c in out["rfm_segment"].value_counts().items()))
    return out.reset_index()


def _clusters(scores: pd.DataFrame, settings: SegmentSettings) -> tuple[pd.Series, dict[int, str]]:
    from sklearn.cluster import KMeans  # scikit-learn when clustering: a report reading stored RFM needs none of it

    """k-means on the scores; ids by mean score sum (best first); names from the mean scores, unique."""
    X = scores.to_numpy(dtype="float64")
    k = min(settings.rfm_clusters, len(np.unique(X, axis=0)))
    if k <= 1:
        raw = np.zeros(len(X), dtype=int)
    else:
        with threadpool_limits(settings.n_jobs):
            raw = KMeans(n_clusters=k, n_init=settings.n_init, random_state=settings.seed).fit(X).labels_
    means = scores.groupby(raw).mean()
    order = sorted(means.index, key=lambda c: (-means.loc[c].sum(), tuple(-means.loc[c]), c))
    mapping = {c: i + 1 for i, c in enumerate(order)}
    ids = pd.Series(raw, index=scores.index).map(mapping)
    means.index = means.index.map(mapping)
    q = settings.rfm_quantiles
    names = {i: rfm_segment_name(r, f, m, q=q) for i, r, f, m in means.itertuples(name=None)}
    clashes = pd.Series(names).duplicated(keep=False)
    for i in clashes[clashes].index:  # same name: say how the clusters differ, in their mean scores
        r, f, m = means.loc[i].round(1)
        names[i] = f"{names[i]} (R{r:g} F{f:g} M{m:g})"
    return ids.astype(int), names


def rfm_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per RFM segment: customers, share of customers, revenue share and mean recency, frequency and monetary."""
    g = table.groupby(["rfm_cluster", "rfm_segment"])
    out = g.agg(customers=("customer_id", "size"), recency_days=("recency_days", "mean"),
                frequency=("frequency", "mean"), monetary=("monetary", "mean"), revenue=("monetary", "sum"))
    out["customer_share"] = out["customers"] / out["customers"].sum()
    out["revenue_share"] = out["revenue"] / out["revenue"].sum()
    return out.reset_index()


def customer_rfm(data: Tables, settings: SegmentSettings | None = None, by: str | None = "region") -> pd.DataFrame:
    """RFM of the store's customers (order lines summed per order in DuckDB), as of the last sale.

    With ``by`` (a sales column) each customer is scored within its group (a customer of two regions appears in
    both). Raises :class:`~chanlib.errors.MissingInput` when the sales have no ``customer_id`` column or no row has
    one. ``data``: an open store or a mapping with a ``sales`` DataFrame.
    """
    settings = settings or SegmentSettings()
    con = as_connection(data)
    cols = require(con, "sales", ("customer_id",), "customers are needed for RFM")
    order = "order_id" if "order_id" in cols else "date"  # without order ids: one order per customer and day
    group = f"{by}, " if by else ""
    as_of = con.execute("SELECT max(date) FROM sales").fetchall()[0][0]
    values = con.execute(f"""
        SELECT {group}customer_id, date_diff('day', max(date), DATE '{as_of}') AS recency_days,
               count(DISTINCT {order}) AS frequency, sum(revenue) AS monetary
        FROM sales WHERE customer_id IS NOT NULL GROUP BY ALL ORDER BY ALL
    """).df()
    if values.empty:
        raise MissingInput("sales", "no sale has a customer_id (customers are needed for RFM)")
    if not by:
        return score_rfm(values, settings, as_of)
    parts = [score_rfm(part.drop(columns=by), settings, as_of).assign(**{by: key})
             for key, part in values.groupby(by, sort=True)]
    out = pd.concat(parts, ignore_index=True)
    return out[[by, *[c for c in out.columns if c != by]]]


@dataclass
class RetailLoad:
    """Clean order lines of the UCI Online Retail export and what was set aside.

    ``lines``: customer_id, order_id, date, revenue, product_id, units, unit_price, country, description.
    ``set_aside``: the rows left out with a ``reasons`` column (``;``-joined); ``counts``: rows flagged per reason
    (a row can carry several reasons, e.g. a cancellation by an unknown customer, so counts may add up to more
    than the rows set aside).
    """

    lines: pd.DataFrame
    set_aside: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0

    @property
    def rows_kept(self) -> int:
        return len(self.lines)


def load_online_retail(path: str | Path) -> RetailLoad:
    """Read the UCI Online Retail CSV (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
    CustomerID, Country) into canonical order lines.

    Set aside, counted by reason: ``cancellation`` (InvoiceNo starts with C), ``unknown_customer`` (CustomerID empty
    or ``NA``), ``negative_quantity`` (Quantity < 0), ``non_positive_price`` (UnitPrice <= 0: free items, bad-debt
    adjustments) and ``unreadable`` (a date, quantity or price that does not parse). Cancellations are not netted
    against earlier purchases: the sample rarely holds both lines of a return.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise SegmentInputError(f"{path}: file not found") from None
    need = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise SegmentInputError(f"{path}: missing column(s) {missing}; is this the UCI Online Retail export?")
    invoice = raw["InvoiceNo"].str.strip()
    customer = raw["CustomerID"].str.strip()
    quantity = pd.to_numeric(raw["Quantity"], errors="coerce")
    price = pd.to_numeric(raw["UnitPrice"], errors="coerce")
    date = pd.to_datetime(raw["InvoiceDate"], errors="coerce", format="%Y-%m-%d %H:%M:%S")
    unknown = customer.isin(["", "NA"])
    flags = {
        "cancellation": invoice.str.upper().str.startswith("C"),
        "unknown_customer": unknown,
        "negative_quantity": quantity < 0,
        "non_positive_price": price <= 0,
        "unreadable": quantity.isna() | price.isna() | date.isna(),
    }
    flag_frame = pd.DataFrame(flags)
    bad = flag_frame.any(axis=1)
    reasons = flag_frame.apply(lambda row: ";".join(c for c in flag_frame.columns if row[c]), axis=1) \
        if bad.any() else pd.Series("", index=raw.index)
    counts = {k: int(v.sum()) for k, v in flags.items()}
    keep = ~bad
    customer_id = customer.str.replace(r"\.0$", "", regex=True)  # some exports write 12345.0
    lines = pd.DataFrame({
        "customer_id": customer_id[keep], "order_id": invoice[keep], "date": date[keep],
        "revenue": (quantity * price)[keep].round(2), "product_id": raw["StockCode"][keep].str.strip(),
        "units": quantity[keep].astype("float64"), "unit_price": price[keep], "country": raw["Country"][keep],
        "description": raw["Description"][keep],
    }).reset_index(drop=True)
    set_aside = raw[bad].assign(reasons=reasons[bad]).reset_index(drop=True)
    log.info("%s: read %d rows, kept %d, set aside %d (%s)", path, len(raw), len(lines), int(bad.sum()),
             ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return RetailLoad(lines=lines, set_aside=set_aside, counts=counts, rows_read=len(raw))
