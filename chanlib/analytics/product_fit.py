"""Product-channel fit: which categories sell unusually well, or badly, in which channel.

The matrix has one row per category x channel over a window of complete calendar months (default the last 12; see
:func:`chanlib.periods.complete_months`; ``months=None`` takes all the data):

* ``share_in_channel`` = category revenue in the channel / the channel's revenue,
* ``share_overall`` = category revenue in all channels / all revenue,
* ``share_index`` = ``share_in_channel / share_overall`` (1 = the channel sells the category like the business does;
  2 = twice as much of its revenue comes from the category),
* ``expected_revenue`` = ``share_overall x channel revenue`` (the category's revenue in the channel at an average
  mix) and ``gap`` = ``revenue - expected_revenue``, the **revenue vs an average mix**. It sums to zero per channel (a
  channel's revenue is the same at any mix), so it is not money at stake: it is how much of the channel's revenue sits
  in this category beyond (or short of) an average mix,
* ``margin_pct`` = (revenue - cost) / revenue of the cell, ``channel_margin_pct`` the channel's over all categories
  and ``rest_margin_pct`` that of the channel's other categories (``NaN`` when the sales table has no cost).

With ``region`` the matrix is that region's (shares within the region). The category comes from the ``products``
table (through ``sales.product_id``) when the store has one, else from the sales table's own ``category`` column
(exports such as Superstore carry it on each line); sales without a category are left out (logged). Without either
:class:`~chanlib.errors.MissingInput` is raised. ``data`` is an open store or a mapping of canonical table name to
DataFrame (``sales``: date, region, channel, revenue, product_id or category, and optionally cost; ``products``:
product_id, category).

Recommendations (:func:`recommendations`), with ``margin_gap = margin_pct - channel_margin_pct``:

* **grow** a category in a channel when its share index is at least ``fit.grow_index`` (default 1.25) and its
  margin there is no more than ``fit.margin_tolerance`` (default 5 points) below the channel's -- the channel's buyers
  favour it and selling more of it does not dilute the channel's margin;
* **develop** it when its share index is at most ``fit.review_index`` (default 0.8) and its margin beats the
  channel's (``margin_gap > 0``) -- the channel under-sells a category that earns more than the channel: an
  opportunity;
* **review** it when its share index is at most ``fit.review_index`` and it does not earn more than the channel
  (``margin_gap <= 0``, or no cost data), or whenever its margin is thin (more than ``fit.margin_tolerance`` below
  the channel's).

They are ranked by the **margin at stake**, ``|gap| x |margin_pct - rest_margin_pct|``: the gross margin the channel
would gain or lose if the category's revenue in it moved to an average mix, the difference ``gap`` being taken up by
the channel's other categories at their margin (``rest_margin_pct``). It is exact when the other categories keep
their margin; since ``margin_pct - channel_margin_pct = (margin_pct - rest_margin_pct) x (1 - share_in_channel)``,
beating the channel's margin and beating the other categories' is the same. Without cost data there is no margin at
stake and the ranking falls back to ``|gap|`` (revenue vs an average mix); ties are broken by ``|gap|``.

Examples
--------
>>> import pandas as pd
>>> products = pd.DataFrame({"product_id": ["p1", "p2"], "category": ["Toys", "Tools"]})
>>> sales = pd.DataFrame({"date": pd.Timestamp("2025-01-31"), "region": "East",
...                       "channel": ["web", "web", "shop", "shop"], "product_id": ["p1", "p2", "p1", "p2"],
...                       "revenue": [80.0, 20.0, 20.0, 80.0], "cost": [40.0, 10.0, 10.0, 60.0]})
>>> m = fit_matrix({"sales": sales, "products": products})
>>> print(m[["category", "channel", "share_index", "margin_pct"]].to_string(index=False))
category channel  share_index  margin_pct
   Tools    shop          1.6        0.25
   Tools     web          0.4        0.50
    Toys    shop          0.4        0.50
    Toys     web          1.6        0.50
>>> top_channel_per_category(m).to_dict()
{'Tools': 'shop', 'Toys': 'web'}
>>> recs = recommendations(m)
>>> print(recs[["action", "category", "channel", "gap", "margin_pct", "rest_margin_pct", "margin_at_stake"]]
...       .to_string(index=False))
 action category channel   gap  margin_pct  rest_margin_pct  margin_at_stake
   grow    Tools    shop  30.0        0.25             0.50              7.5
develop     Toys    shop -30.0        0.50             0.25              7.5
 review    Tools     web -30.0        0.50             0.50              0.0
   grow     Toys     web  30.0        0.50             0.50              0.0
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from chanlib import periods
from chanlib.config import FitSettings
from chanlib.data.store import Tables, as_connection, date_bounds, has_table, require, table_columns

log = logging.getLogger(__name__)

__all__ = ["fit_matrix", "recommendations", "top_channel_per_category", "month_window"]

MATRIX_COLUMNS = ["category", "channel", "revenue", "gross_margin", "margin_pct", "channel_revenue",
                  "channel_margin_pct", "rest_margin_pct", "share_in_channel", "share_overall", "share_index",
                  "expected_revenue", "gap"]
#: why product fit needs categories (the reason of its MissingInput)
WHY = "product categories are needed for product-channel fit: a products table, or a category column in sales"


def month_window(data: Tables, months: int | None,
                 tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last day of the sales' last ``months`` complete calendar months (``None``: no window, all the data);
    see :func:`chanlib.periods.complete_months`."""
    if months is None:
        return None
    _, last = date_bounds(as_connection(data))
    return periods.complete_months(last, months, tolerance_days)


def fit_matrix(data: Tables, region: str | None = None, months: int | None = 12,
               tolerance_days: int = periods.COMPLETE_TOLERANCE_DAYS) -> pd.DataFrame:
    """The category x channel matrix of revenue, share index, expected revenue, gap (revenue vs an average mix) and
    margins (see module doc); categories from the products table, else from ``sales.category``.

    Sorted by category and channel; cells without sales are absent (their share index would be 0).
    """
    con = as_connection(data)
    have = require(con, "sales")
    from_products = ("product_id" in have and has_table(con, "products")
                     and "category" in table_columns(con, "products"))
    if not from_products and "category" not in have:
        require(con, "products", ("product_id", "category"), WHY)
        require(con, "sales", ("product_id",), WHY)
    window = month_window(con, months, tolerance_days)
    margin = "sum(revenue - cost)" if "cost" in have else "CAST(NULL AS DOUBLE)"
    where, args = ["TRUE"], {}
    if region is not None:
        where.append("region = $region")
        args["region"] = region
    if window is not None:
        where.append("date BETWEEN $start AND $end")
        args.update(start=window[0].date(), end=window[1].date())
    if from_products:
        cells_sql = f"""
    by_product AS (  -- aggregate before the join: the join then touches products x channels rows only
        SELECT channel, product_id, sum(revenue) AS revenue, {margin} AS gross_margin
        FROM sales WHERE {' AND '.join(where)} GROUP BY channel, product_id
    ), cells AS (
        SELECT p.category, b.channel, sum(b.revenue) AS revenue, sum(b.gross_margin) AS gross_margin
        FROM by_product b JOIN products p USING (product_id)
        WHERE p.category IS NOT NULL
        GROUP BY p.category, b.channel
    )"""
    else:
        cells_sql = f"""
    by_product AS (  -- the sales table's own category column (no products table)
        SELECT channel, category, sum(revenue) AS revenue, {margin} AS gross_margin
        FROM sales WHERE {' AND '.join(where)} GROUP BY channel, category
    ), cells AS (
        SELECT category, channel, revenue, gross_margin FROM by_product WHERE category IS NOT NULL
    )"""
    sql = f"""
    WITH {cells_sql}, totals AS (
        SELECT *,
               sum(revenue) OVER (PARTITION BY channel) AS channel_revenue,
               sum(gross_margin) OVER (PARTITION BY channel) AS channel_margin,
               sum(revenue) OVER (PARTITION BY category) AS category_revenue,
               sum(revenue) OVER () AS total_revenue
        FROM cells
    )
    SELECT category, channel, revenue, gross_margin,
           CASE WHEN revenue > 0 THEN gross_margin / revenue END AS margin_pct,
           channel_revenue,
           CASE WHEN channel_revenue > 0 THEN channel_margin / channel_revenue END AS channel_margin_pct,
           CASE WHEN channel_revenue - revenue > 0 THEN (channel_margin - gross_margin) / (channel_revenue - revenue)
           END AS rest_margin_pct,
           CASE WHEN channel_revenue > 0 THEN revenue / channel_revenue END AS share_in_channel,
           CASE WHEN total_revenue > 0 THEN category_revenue / total_revenue END AS share_overall,
           (SELECT sum(revenue) FROM by_product) AS all_revenue
    FROM totals
    ORDER BY category, channel
    """
    frame = con.execute(sql, args).df()
    if frame.empty:
        log.info("fit matrix (%s): no categorised sales in the window", region or "all regions")
        return pd.DataFrame({c: pd.Series(dtype="float64" if c not in ("category", "channel") else "str")
                             for c in MATRIX_COLUMNS})
    all_revenue = float(frame.pop("all_revenue").iloc[0])
    matched = float(frame["revenue"].sum())
    if all_revenue > 0 and matched < all_revenue * (1 - 1e-9):
        log.warning("fit matrix: %.1f%% of revenue has no product category and is left out",
                    100 * (1 - matched / all_revenue))
    for col in frame.columns[2:]:
        frame[col] = frame[col].astype("float64")
    frame["share_index"] = frame["share_in_channel"] / frame["share_overall"].where(frame["share_overall"] > 0)
    frame["expected_revenue"] = frame["share_overall"] * frame["channel_revenue"]
    frame["gap"] = frame["revenue"] - frame["expected_revenue"]
    return frame[MATRIX_COLUMNS].reset_index(drop=True)


def top_channel_per_category(matrix: pd.DataFrame) -> pd.Series:
    """Each category's channel with the highest share index (ties: the larger revenue), as a Series by category."""
    if matrix.empty:
        return pd.Series(dtype="str", name="channel")
    ranked = matrix.sort_values(["category", "share_index", "revenue"], ascending=[True, False, False])
    top = ranked.groupby("category", sort=True).head(1).set_index("category")["channel"]
    top.index.name = "category"
    return top


def recommendations(matrix: pd.DataFrame, settings: FitSettings | None = None, top_n: int | None = None
                    ) -> pd.DataFrame:
    """Ranked 'grow', 'develop' and 'review' recommendations from a :func:`fit_matrix` (rules and ranking in the
    module docstring).

    Columns: rank, action, category, channel, rule (which rule fired, in words), reason (plain text; escape it for
    HTML, e.g. through :func:`chanlib.report.display.table`), revenue, expected_revenue, gap (revenue vs an average
    mix), margin_at_stake (``NaN`` without cost data), share_in_channel, share_overall, share_index, margin_pct,
    channel_margin_pct, rest_margin_pct.
    """
    settings = settings or FitSettings()
    top_n = settings.top_n if top_n is None else top_n
    grow_index, review_index = settings.grow_index, settings.review_index
    margin_tolerance = settings.margin_tolerance
    out_cols = ["rank", "action", "category", "channel", "rule", "reason", "revenue", "expected_revenue", "gap",
                "margin_at_stake", "share_in_channel", "share_overall", "share_index", "margin_pct",
                "channel_margin_pct", "rest_margin_pct"]
    if matrix.empty:
        return pd.DataFrame(columns=out_cols)
    m = matrix.copy()
    margin_gap = m["margin_pct"] - m["channel_margin_pct"]  # NaN without cost: no margin rule applies
    thin = margin_gap < -margin_tolerance
    under = m["share_index"] <= review_index
    grow = (m["share_index"] >= grow_index) & ~thin
    develop = under & (margin_gap > 0)  # under-sold but earns more than the channel: an opportunity
    review = (under & ~(margin_gap > 0)) | thin
    m["action"] = np.select([grow, develop, review], ["grow", "develop", "review"], default="")
    m["rule"] = np.select(
        [grow, develop, thin, review],
        ["favoured by the channel, at no thin margin", "under-sold but more profitable than the channel",
         f"a thin margin, more than {100 * margin_tolerance:g} points below the channel's",
         "under-sold and no more profitable than the channel"], default="")
    m = m[m["action"] != ""].copy()
    # the channel's margin other categories would earn on the gap; equal margins: nothing at stake
    other = m["rest_margin_pct"].fillna(m["channel_margin_pct"])
    m["margin_at_stake"] = (m["gap"].abs() * (m["margin_pct"] - other).abs()).astype("float64")
    m["_abs_gap"] = m["gap"].abs()
    no_cost = bool(m["margin_at_stake"].isna().all())
    m["_key"] = m["_abs_gap"] if no_cost else m["margin_at_stake"].fillna(0.0)
    m = m.sort_values(["_key", "_abs_gap", "category", "channel"],
                      ascending=[False, False, True, True]).head(top_n)

    def reason(row: pd.Series) -> str:
        text = (f"{row['share_in_channel']:.1%} of {row['channel']} revenue against {row['share_overall']:.1%} "
                f"overall (share index {row['share_index']:.2f}); revenue {abs(row['gap']):,.0f} "
                f"{'above' if row['gap'] >= 0 else 'below'} an average mix")
        if pd.notna(row["margin_pct"]):
            text += f"; margin {row['margin_pct']:.1%} vs {row['channel_margin_pct']:.1%} for the channel"
            if row["margin_pct"] - row["channel_margin_pct"] < -margin_tolerance:
                text += " (thin)"
            text += f"; margin at stake {row['margin_at_stake']:,.0f}"
        return text

    m["reason"] = [reason(r) for _, r in m.iterrows()] if len(m) else []
    m["rank"] = np.arange(1, len(m) + 1)
    return m[out_cols].reset_index(drop=True)
