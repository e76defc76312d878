"""Severity and response of an alert, from the params (``alerts.severity``, ``alerts.responses``).

Every finding carries an *excess*: how far past its threshold it is, 1 at the threshold. A rule's severity levels
are excess bounds (``alerts.severity.<rule>``, e.g. ``{medium: 1.0, high: 1.5, critical: 2.5}``); an alert gets the
most severe level whose bound it reaches, and the least severe listed level when it reaches none. How each rule
measures its excess:

========================  ======================================================================================
revenue_below_forecast    (forecast - actual) / (forecast - lower bound): 2 = twice as far below as the bound
target_missed             periods missed in a row / ``target_periods``
margin_erosion            the drop in margin points / ``margin_drop``
partner_concentration     the largest partner's share / ``concentration_share``
weeks_of_supply_high      weeks of supply / ``wos_high`` (no sales with stock on hand: 10)
weeks_of_supply_low       ``wos_low`` / weeks of supply (no stock: 10)
channel_stuffing          the sell-in / sell-out ratio / ``stuffing_ratio`` (sell-in without sell-out: 10)
feedback_drop             the drop / its threshold
contract_ending           ``contract_days`` / days left (at least 1; ended: ``contract_days``)
channel_conflict          the shared customers' share / ``conflict_share``
price_gap                 the highest / lowest unit price / ``price_gap_ratio``
level_shift               the step / ``shift_min_change``
point_anomaly             the robust z-score / ``point_z`` (a rise: / ``point_z_up``)
========================  ======================================================================================

>>> from chanlib.config import AlertSettings
>>> s = AlertSettings()
>>> [severity_of("point_anomaly", x, s) for x in (1.0, 1.6, 2.4)]
['medium', 'high', 'critical']
"""
from __future__ import annotations

import pandas as pd

from chanlib.analytics.alerts.state import ids
from chanlib.config import SEVERITIES, AlertSettings

#: an excess standing for "no amount to compare" (sales stopped, no stock at all)
NO_BASE_EXCESS = 10.0
#: severities, most severe first, as sort ranks
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}


def severity_of(rule: str, excess: float, settings: AlertSettings) -> str:
    """The severity of an alert of ``rule`` with ``excess`` (see the module docstring)."""
    bounds = settings.severity.get(rule) or {"medium": 1.0}
    reached = [s for s in SEVERITIES if s in bounds and pd.notna(excess) and excess >= bounds[s]]
    if reached:
        return reached[0]
    return [s for s in SEVERITIES if s in bounds][-1]


def finish(found: pd.DataFrame, settings: AlertSettings) -> pd.DataFrame:
    """Findings with their id, severity and response."""
    out = found.copy()
    out["alert_id"] = ids(out) if len(out) else pd.Series(dtype="object")
    out["severity"] = [severity_of(r, x, settings) for r, x in zip(out["rule"], out["excess"])]
    out["response"] = [settings.responses.get(r, "") for r in out["rule"]]
    return out
