"""The data contract: canonical tables, their columns and types.

Master tables (channels, partners, products) may name things that have no sales yet (a new channel, a recruited
partner); fact tables (targets, costs, inventory, feedback, market) must refer to regions, channels, partners and
products that exist, and a row that does not is rejected as ``unknown_<column>``. A sales line's partner_id must be
a partner of the partners table when one is given (without one, any partner id is taken as it is).

Every loader maps its source columns onto these names; everything downstream (store, KPIs, notebooks) relies only on
them. Types are one of ``"date"``, ``"float"`` (float64 amounts and quantities) or ``"str"``.

Examples
--------
>>> from chanlib.data.schema import TABLES
>>> TABLES["sales"].required
('date', 'region', 'channel', 'revenue')
>>> TABLES["sales"].types["revenue"]
'float'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["date", "float", "str"]


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: required and optional columns with their types, and its foreign keys."""

    name: str
    types: dict[str, ColumnType]
    required: tuple[str, ...]
    #: columns whose values must exist in another table: column -> (table, column)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: amount columns: a negative value is a row problem unless params allow returns
    amount_columns: tuple[str, ...] = ()
    #: columns accepted from a source but not stored (they derive stored ones)
    input_only: tuple[str, ...] = ()
    #: what makes a row a duplicate of an earlier one: canonical key columns (those the source has; an optional key
    #: column it lacks is left out of the key), ``("*",)`` for the whole source line, or ``()`` for no check (survey
    #: answers may legitimately repeat)
    unique: tuple[str, ...] = ()
    #: date columns of events that have happened (a sale, a stock count, a survey answer): a date after tomorrow is
    #: a row problem (``future_<col>``); plans and contracts (targets, contract_end) may lie ahead
    past_dates: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.types)

    @property
    def stored_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.types if c not in self.input_only)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c for c in self.types if c not in self.required)


def _spec(name: str, required: tuple[str, ...], types: dict[str, ColumnType], **kw) -> TableSpec:
    return TableSpec(name=name, types=types, required=required, **kw)


TABLES: dict[str, TableSpec] = {
    "sales": _spec(
        "sales",
        ("date", "region", "channel", "revenue"),
        {
            "date": "date", "region": "str", "channel": "str", "revenue": "float",
            "units": "float", "cost": "float", "partner_id": "str", "product_id": "str",
            "customer_id": "str", "order_id": "str",
            # the product category of the line, for exports without a products table (e.g. Superstore's Category);
            # when the products table exists, analyses take the category from it instead
            "category": "str",
            # input only: when mapped and `cost` is not, cost = revenue - profit; not kept in the store
            "profit": "float",
        },
        # a partner the partners table lacks (when there is one) sets the line aside: its revenue would count for
        # a partner no partner analysis knows
        references={"partner_id": ("partners", "partner_id")},
        amount_columns=("revenue",),
        input_only=("profit",),
        unique=("*",),
        past_dates=("date",),
    ),
    "channels": _spec(
        "channels",
        ("channel",),
        {"channel": "str", "channel_type": "str", "model": "str", "market": "str"},
        unique=("channel",),
    ),
    "partners": _spec(
        "partners",
        ("partner_id",),
        {
            "partner_id": "str", "name": "str", "region": "str", "channel": "str", "tier": "str",
            "joined": "date", "contract_start": "date", "contract_end": "date",
            # screening attributes
            "credit_score": "float", "stores": "float", "staff": "float", "years_in_business": "float",
            # contract terms: the minimum purchase (revenue) the partner committed to per calendar quarter, and the
            # decision recorded on renewing the current contract: renew, renegotiate, let_expire or empty (none yet)
            "min_purchase": "float", "renewal_decision": "str",
        },
        unique=("partner_id",),
    ),
    # partner recruitment: one row per candidate partner. Its region and channel need not have sales yet.
    # stores: market reach (stores or points of sale; an online seller gives a comparable reach figure);
    # qualified: certifications / qualification check passed, as text yes/no (also true/false, 1/0: see
    # chanlib.analytics.partners.screening); willingness: the candidate's stated willingness (survey score)
    "candidates": _spec(
        "candidates",
        ("candidate_id",),
        {"candidate_id": "str", "name": "str", "region": "str", "channel": "str", "stores": "float",
         "credit_score": "float", "years_in_business": "float", "qualified": "str", "willingness": "float"},
        unique=("candidate_id",),
    ),
    # the tier each partner held from a date on (one row per change); the latest row on or before a day is the tier
    # of that day. Optional: without it the partners table's tier is taken as the tier of every quarter
    "tier_history": _spec(
        "tier_history",
        ("partner_id", "date", "tier"),
        {"partner_id": "str", "date": "date", "tier": "str"},
        references={"partner_id": ("partners", "partner_id")},
        unique=("partner_id", "date"),
    ),
    "products": _spec(
        "products",
        ("product_id",),
        {"product_id": "str", "category": "str", "list_price": "float"},
        unique=("product_id",),
    ),
    "targets": _spec(
        "targets",
        ("period", "region", "channel", "target_revenue"),
        {"period": "date", "region": "str", "channel": "str", "target_revenue": "float"},
        references={"region": ("sales", "region"), "channel": ("sales", "channel")},
        amount_columns=("target_revenue",),
        unique=("period", "region", "channel"),
    ),
    "costs": _spec(
        "costs",
        ("period", "region", "channel", "cost_type", "amount"),
        {"period": "date", "region": "str", "channel": "str", "cost_type": "str", "amount": "float"},
        references={"region": ("sales", "region"), "channel": ("sales", "channel")},
        amount_columns=("amount",),
        unique=("period", "region", "channel", "cost_type"),
    ),
    "inventory": _spec(
        "inventory",
        ("date", "partner_id", "product_id", "on_hand_units"),
        {"date": "date", "partner_id": "str", "product_id": "str", "on_hand_units": "float", "sell_in_units": "float"},
        references={"partner_id": ("partners", "partner_id"), "product_id": ("products", "product_id")},
        unique=("date", "partner_id", "product_id"),
        past_dates=("date",),
    ),
    "feedback": _spec(
        "feedback",
        ("date", "region", "channel", "score"),
        {"date": "date", "region": "str", "channel": "str", "score": "float", "partner_id": "str", "comment": "str"},
        references={"region": ("sales", "region"), "channel": ("sales", "channel")},
        past_dates=("date",),
    ),
    "market": _spec(
        "market",
        ("period", "region", "category", "market_size"),
        # market: the market the row sizes, matching the channels table's market (e.g. domestic, cross_border);
        # without it (or where it is empty) a row counts only toward the whole regional market
        {"period": "date", "region": "str", "category": "str", "market": "str", "market_size": "float",
         "competitor_sales": "float"},
        references={"region": ("sales", "region")},
        amount_columns=("market_size",),
        unique=("period", "region", "category", "market"),
    ),
}
