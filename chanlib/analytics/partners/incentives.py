"""Incentives by rule: tiered rebates, bonuses and penalties per partner and quarter, their cost and their ROI.

**Rebates.** A partner's schedule is the most specific entry of ``incentives.rebates`` for the tier it held that
quarter and its channel: ``rebates[tier][channel]``, else ``rebates[tier]["*"]``, else ``rebates["*"][channel]``,
else ``rebates["*"]["*"]`` (none: no rebate). A band covers quarterly revenue from ``min`` (inclusive) up to ``max``
(exclusive). With ``rebate_basis: all`` (the default, the usual partner-programme rule) the whole quarter's revenue
earns the rate of the band it reached; with ``marginal`` each band's rate applies only to the revenue inside it.
Revenue in a gap between bands, or negative, earns nothing. ``to_next_band`` is how much more revenue the quarter
needed to reach the next band (its rate in ``next_band_rate``).

**Bonuses and penalties.** Each rule tests an indicator (or the score) of the quarter: a bonus or penalty applies
when the value is ``at_least`` its threshold (or ``below`` it; an empty value never applies) and is ``amount`` +
``rate`` x basis, the basis being the quarter's revenue or the shortfall against the minimum purchase (minimum -
revenue, when positive). Amounts are computed on the decimal values (as by hand) and rounded to cents, half up;
``total = rebate + bonus - penalty``.

**ROI.** ``incremental_margin`` is the quarter's gross margin minus the partner's own baseline, its gross margin in
the same quarter a year earlier; ``roi = incremental_margin / (rebate + bonus)``, empty where nothing was paid or
there is no baseline. It is a before/after comparison, not proof that the incentive caused the change.

Examples
--------
>>> from chanlib.config import RebateBand
>>> bands = [RebateBand(min=0, max=50000, rate=0.0), RebateBand(min=50000, max=150000, rate=0.01),
...          RebateBand(min=150000, rate=0.02)]
>>> rebate(49999.99, bands), rebate(50000.0, bands), rebate(200000.0, bands), rebate(200000.0, bands, "marginal")
(0.0, 500.0, 4000.0, 2000.0)
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from chanlib.config import IncentiveRule, IncentiveSettings, PartnerSettings, RebateBand


def _incentive_settings(settings: PartnerSettings | IncentiveSettings | None) -> IncentiveSettings:
    if isinstance(settings, PartnerSettings):
        return settings.incentives
    return settings or IncentiveSettings()


def dec(value: float) -> Decimal:
    """A float as the decimal number it reads as (``2000.01`` is 2000.01, not 2000.0099999999998)."""
    return Decimal(repr(float(value)))


def cents(value: float | Decimal) -> float:
    """An amount rounded to cents, half away from zero on its decimal value (as by hand).

    >>> cents(0.125), cents(999.9999000000001), cents(-2.675), cents(dec(2000.01) * dec(0.5))
    (0.13, 1000.0, -2.68, 1000.01)
    """
    if not isinstance(value, Decimal):
        if value is None or math.isnan(value):
            return float("nan")
        value = dec(value)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) + 0.0


def schedule(settings: IncentiveSettings, tier: object, channel: object) -> list[RebateBand]:
    """The rebate bands of a tier and channel: the most specific entry (see the module docstring); [] for none."""
    for t, c in ((tier, channel), (tier, "*"), ("*", channel), ("*", "*")):
        bands = settings.rebates.get(str(t), {}).get(str(c)) if t is not None and c is not None else None
        if bands:
            return bands
    return []


def band_of(revenue: float, bands: list[RebateBand]) -> int | None:
    """Index of the band holding ``revenue`` (``None`` in a gap, below the first band or for an empty value)."""
    if revenue is None or math.isnan(revenue):
        return None
    for i, band in enumerate(bands):
        if revenue >= band.min and (band.max is None or revenue < band.max):
            return i
    return None


def rebate(revenue: float, bands: list[RebateBand], basis: str = "all") -> float:
    """The rebate on a quarter's ``revenue`` (see the module docstring), in cents."""
    if revenue is None or math.isnan(revenue) or revenue <= 0:
        return 0.0
    if basis == "marginal":
        total = sum(((dec(min(revenue, b.max)) if b.max is not None else dec(revenue)) - dec(b.min)) * dec(b.rate)
                    for b in bands if revenue > b.min)
        return cents(Decimal(total))
    i = band_of(revenue, bands)
    return 0.0 if i is None else cents(dec(revenue) * dec(bands[i].rate))


def next_band(revenue: float, bands: list[RebateBand]) -> RebateBand | None:
    """The first band starting above ``revenue`` with a higher rate than the one it is in (``None``: at the top)."""
    i = band_of(revenue, bands)
    rate = bands[i].rate if i is not None else 0.0
    for band in bands:
        if band.min > (revenue if revenue is not None and not math.isnan(revenue) else 0.0) and band.rate > rate:
            return band
    return None


def applies(rule: IncentiveRule, value: float) -> bool:
    """Whether a bonus or penalty rule applies to a quarter whose tested value is ``value``.

    >>> r = IncentiveRule(indicator="target_attainment", at_least=1.0, rate=0.01)
    >>> applies(r, 1.0), applies(r, 0.9999), applies(r, float("nan"))
    (True, False, False)
    """
    if value is None or math.isnan(value):
        return False
    if rule.at_least is not None:
        return value >= rule.at_least
    assert rule.below is not None  # the settings check that one of the two is given
    return value < rule.below


def rule_amount(rule: IncentiveRule, revenue: float, min_purchase: float) -> float:
    """``amount + rate x basis`` of a rule that applies, in cents."""
    if rule.basis == "shortfall":
        known = not (math.isnan(min_purchase) or math.isnan(revenue))
        basis = max(dec(min_purchase) - dec(revenue), Decimal(0)) if known else Decimal(0)
    else:
        basis = max(dec(revenue), Decimal(0)) if not math.isnan(revenue) else Decimal(0)
    return cents(dec(rule.amount) + dec(rule.rate) * basis)


def _rules(rules: dict[str, IncentiveRule], row: pd.Series) -> tuple[float, str]:
    total, named = 0.0, []
    revenue = float(row.get("revenue_quarter", row.get("revenue", float("nan"))))
    minimum = float(row.get("min_purchase", float("nan")) if pd.notna(row.get("min_purchase")) else float("nan"))
    for name, rule in rules.items():
        value = row.get(rule.indicator)
        value = float(value) if value is not None and pd.notna(value) else float("nan")
        if applies(rule, value):
            amount = rule_amount(rule, revenue, minimum)
            total = float(dec(total) + dec(amount))
            named.append(name)
    return cents(total), ", ".join(named)


def incentive_amounts(history: pd.DataFrame, settings: PartnerSettings | IncentiveSettings | None = None
                      ) -> pd.DataFrame:
    """Rebate, bonus, penalty, total and ROI per partner and quarter.

    ``history``: one row per partner and quarter with ``partner_id``, ``quarter``, ``channel``, ``tier`` (held that
    quarter), the quarter's revenue (``revenue_quarter``, else ``revenue``) and what the rules test (indicators,
    ``score``, ``min_purchase``); ``gross_margin`` and
    ``gross_margin_ly`` (the same quarter a year earlier) give the ROI. Columns: partner_id, region, channel,
    quarter, tier, revenue, rebate_rate, rebate, bonus, bonus_rules, penalty, penalty_rules, total, paid,
    gross_margin, baseline_margin, incremental_margin, roi, next_band_min, next_band_rate, to_next_band; sorted by
    partner and quarter.

    >>> h = pd.DataFrame({"partner_id": ["A"], "region": "N", "channel": "web", "quarter": pd.Timestamp("2025-10-01"),
    ...                   "tier": "silver", "revenue": [60000.0], "target_attainment": [1.05], "compliance": [1.0],
    ...                   "gross_margin": [18000.0], "gross_margin_ly": [15000.0]})
    >>> row = incentive_amounts(h).iloc[0]
    >>> [float(row[c]) for c in ("rebate", "bonus", "penalty", "total", "roi", "to_next_band")]
    [600.0, 600.0, 0.0, 1200.0, 2.5, 90000.0]
    """
    s = _incentive_settings(settings)
    rows = []
    for _, row in history.iterrows():
        bands = schedule(s, row.get("tier"), row.get("channel"))
        quarter_revenue = row.get("revenue_quarter", row.get("revenue"))
        revenue = float(quarter_revenue) if pd.notna(quarter_revenue) else float("nan")
        i = band_of(revenue, bands)
        paid_rebate = rebate(revenue, bands, s.rebate_basis)
        bonus, bonus_rules = _rules(s.bonuses, row)
        penalty, penalty_rules = _rules(s.penalties, row)
        upper = next_band(revenue, bands)
        margin = float(row.get("gross_margin", float("nan")))
        baseline = float(row.get("gross_margin_ly", float("nan")))
        paid = cents(dec(paid_rebate) + dec(bonus))
        incremental = margin - baseline
        rows.append({
            "partner_id": row["partner_id"], "region": row.get("region"), "channel": row.get("channel"),
            "quarter": row["quarter"], "tier": row.get("tier"), "revenue": revenue,
            "rebate_rate": bands[i].rate if i is not None else 0.0, "rebate": paid_rebate,
            "bonus": bonus, "bonus_rules": bonus_rules, "penalty": penalty, "penalty_rules": penalty_rules,
            "total": cents(dec(paid_rebate) + dec(bonus) - dec(penalty)), "paid": paid, "gross_margin": margin,
            "baseline_margin": baseline, "incremental_margin": incremental,
            "roi": incremental / paid if paid > 0 and not math.isnan(incremental) else float("nan"),
            "next_band_min": upper.min if upper is not None else float("nan"),
            "next_band_rate": upper.rate if upper is not None else float("nan"),
            "to_next_band": cents(dec(upper.min) - dec(max(revenue, 0.0))) if upper is not None else float("nan"),
        })
    columns = ["partner_id", "region", "channel", "quarter", "tier", "revenue", "rebate_rate", "rebate", "bonus",
               "bonus_rules", "penalty", "penalty_rules", "total", "paid", "gross_margin", "baseline_margin",
               "incremental_margin", "roi", "next_band_min", "next_band_rate", "to_next_band"]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["partner_id", "quarter"]).reset_index(drop=True) if len(out) else out


def summary(amounts: pd.DataFrame) -> dict[str, float]:
    """Total rebates, bonuses, penalties, net cost, what was paid, the incremental margin and the overall ROI of
    :func:`incentive_amounts` rows (ROI over the rows that have a baseline and were paid).

    >>> a = pd.DataFrame({"rebate": [100.0, 0.0], "bonus": [50.0, 0.0], "penalty": [0.0, 20.0], "total": [150.0, -20.0],
    ...                   "paid": [150.0, 0.0], "incremental_margin": [300.0, -40.0]})
    >>> summary(a)["roi"], summary(a)["total"]
    (2.0, 130.0)
    """
    paid_rows = amounts[(amounts["paid"] > 0) & amounts["incremental_margin"].notna()]
    paid = float(paid_rows["paid"].sum())
    return {"rebate": cents(float(amounts["rebate"].sum())), "bonus": cents(float(amounts["bonus"].sum())),
            "penalty": cents(float(amounts["penalty"].sum())), "total": cents(float(amounts["total"].sum())),
            "paid": cents(float(amounts["paid"].sum())),
            "incremental_margin": float(paid_rows["incremental_margin"].sum()),
            "roi": float(paid_rows["incremental_margin"].sum()) / paid if paid > 0 else float("nan")}
