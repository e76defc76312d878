"""Contracts: termination conditions checked with their evidence, and contracts ending soon with a renew /
renegotiate / let-expire recommendation from the score and its trend.

**Termination conditions** (``partners.contracts.termination``, name -> rule): a rule is met when its indicator (or
the score) was below its minimum in each of the last ``quarters`` complete quarters up to the latest; an empty
value (no minimum purchase agreed, too little data) breaks the run. The evidence quotes every quarter of the run.

**Contracts needing a decision** end within ``contracts.horizon_days`` days after the as-of date (the last sale),
or have ended already. The recommendation:

* ``let_expire`` -- the partner is to be eliminated (a termination condition is met) or scores below
  ``contracts.let_expire_score``;
* ``renew`` -- it scores at least ``contracts.renew_score`` and its score is not falling faster than
  ``contracts.falling_trend`` points a quarter;
* ``renegotiate`` -- otherwise (a middling score, a falling one, or too little data to judge).

A partner meeting a termination condition whose contract is not ending gets ``terminate``. A decision already
recorded (``partners.renewal_decision``) is shown beside the recommendation, with ``decision_differs`` where they
disagree.

Examples
--------
>>> import pandas as pd
>>> history = pd.DataFrame({"partner_id": "A", "quarter": pd.date_range("2025-01-01", periods=4, freq="QS"),
...                         "score": [40.0, 35.0, 22.0, 18.0], "compliance": [1.0, 0.9, 0.8, 0.6],
...                         "revenue": [30000.0, 18000.0, 16000.0, 12000.0], "min_purchase": 20000.0})
>>> termination_check(history, currency="EUR").loc["A", "evidence"]
'termination condition minimum_purchase met: minimum purchase missed 3 quarters in a row (2025 Q2: EUR 18,000 \
of EUR 20,000; 2025 Q3: EUR 16,000 of EUR 20,000; 2025 Q4: EUR 12,000 of EUR 20,000)'
"""
from __future__ import annotations

import pandas as pd

from chanlib.analytics.partners.indicators import consecutive_below, fmt, label, quarter_label
from chanlib.config import ContractSettings, PartnerSettings, TerminationRule

#: quarters quoted in the evidence of a rule (the latest ones of the run)
MAX_QUOTED = 4
RECOMMENDATIONS = ("terminate", "let_expire", "renegotiate", "renew")


def _contract_settings(settings: PartnerSettings | ContractSettings | None) -> ContractSettings:
    if isinstance(settings, PartnerSettings):
        return settings.contracts
    return settings or ContractSettings()


def _quoted(indicator: str, row: pd.Series, currency: str) -> str:
    value = row[indicator]
    revenue = row.get("revenue_quarter", row.get("revenue"))
    if indicator == "compliance" and pd.notna(row.get("min_purchase")) and revenue is not None:
        return f"{fmt('revenue', revenue, currency)} of {fmt('revenue', row['min_purchase'], currency)}"
    return f"{fmt(indicator, value, currency)}"


def _evidence(name: str, rule: TerminationRule, part: pd.DataFrame, run: int, currency: str) -> str:
    shown = part.tail(min(run, MAX_QUOTED))
    quarters = "; ".join(f"{quarter_label(r['quarter'])}: {_quoted(rule.indicator, r, currency)}"
                         for _, r in shown.iterrows())
    if rule.indicator == "compliance" and rule.below >= 1.0:
        what = f"minimum purchase missed {run} quarters in a row"
    else:
        what = f"{label(rule.indicator)} below {fmt(rule.indicator, rule.below, currency)} for {run} quarters in a row"
    latest = f"the last {MAX_QUOTED}: " if run > MAX_QUOTED else ""
    return f"termination condition {name} met: {what} ({latest}{quarters})"


def termination_check(history: pd.DataFrame, settings: PartnerSettings | ContractSettings | None = None,
                      currency: str = "") -> pd.DataFrame:
    """Which termination conditions each partner meets, with the evidence.

    ``history``: one row per partner and quarter (``partner_id``, ``quarter``, ``score`` and the indicators the
    rules test; ``revenue_quarter`` (else ``revenue``) and ``min_purchase`` make the evidence of a missed minimum
    quote the amounts). Returns
    one row per partner (indexed by partner_id): ``terminate`` (bool), ``conditions`` (the names met, comma
    separated) and ``evidence`` (one clause per condition met, "; " separated; "" when none).
    """
    s = _contract_settings(settings)
    ordered = history.sort_values(["partner_id", "quarter"])
    rows = {}
    for pid, part in ordered.groupby("partner_id", sort=True):
        met, evidence = [], []
        for name, rule in s.termination.items():
            if rule.indicator not in part:
                continue
            run = consecutive_below(part[rule.indicator].astype("float64"), rule.below)
            if run >= rule.quarters:
                met.append(name)
                evidence.append(_evidence(name, rule, part, run, currency))
        rows[pid] = {"terminate": bool(met), "conditions": ", ".join(met), "evidence": "; ".join(evidence)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["terminate", "conditions", "evidence"])
    out.index.name = "partner_id"
    return out


def recommend(score: float, trend: float, eliminate: bool, settings: ContractSettings) -> tuple[str, str]:
    """The renewal recommendation for one partner and why.

    >>> recommend(62.0, -1.0, False, ContractSettings()), recommend(62.0, -4.5, False, ContractSettings())[0]
    (('renew', 'score 62 >= 55, trend -1.0 points a quarter'), 'renegotiate')
    """
    trend_text = "" if pd.isna(trend) else f", trend {trend:+.1f} points a quarter"
    if eliminate:
        return "let_expire", "a termination condition is met"
    if pd.isna(score):
        return "renegotiate", "too little data for a score: review the terms"
    if score < settings.let_expire_score:
        return "let_expire", f"score {score:.0f} < {settings.let_expire_score:g}{trend_text}"
    if score >= settings.renew_score and (pd.isna(trend) or trend >= settings.falling_trend):
        return "renew", f"score {score:.0f} >= {settings.renew_score:g}{trend_text}"
    if score >= settings.renew_score:
        return "renegotiate", (f"score {score:.0f} >= {settings.renew_score:g} but falling {abs(trend):.1f} points "
                               f"a quarter (more than {abs(settings.falling_trend):g})")
    return "renegotiate", (f"score {score:.0f} between {settings.let_expire_score:g} and "
                           f"{settings.renew_score:g}{trend_text}")


def contract_review(partners: pd.DataFrame, latest: pd.DataFrame, as_of: object,
                    settings: PartnerSettings | ContractSettings | None = None,
                    termination: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every partner's contract: when it ends, whether it needs a decision, the recommendation and its reasons.

    ``partners``: partner_id, contract_end (and optionally renewal_decision); ``latest``: one row per partner with
    ``score``, ``trend`` and ``action`` (see :func:`chanlib.analytics.partners.tiers.assign_tiers`, which also
    carries region and channel); ``termination``: :func:`termination_check`. Columns: partner_id, region, channel,
    contract_end, days_left (negative: ended), status, needs_action, recommendation, reasons, renewal_decision,
    decision_differs, score, trend; sorted by what needs attention first (terminations, then the contracts ended
    longest ago or ending soonest).

    >>> partners = pd.DataFrame({"partner_id": ["A", "B", "C"], "contract_end": pd.to_datetime(
    ...     ["2026-01-20", "2027-06-30", "2025-12-01"]), "renewal_decision": [None, None, "renew"]})
    >>> latest = pd.DataFrame({"partner_id": ["A", "B", "C"], "region": "N", "channel": "web",
    ...                        "score": [70.0, 60.0, 30.0], "trend": [1.0, 0.0, -2.0], "action": "keep"})
    >>> review = contract_review(partners, latest, "2025-12-31")
    >>> review[["partner_id", "days_left", "recommendation", "decision_differs"]].to_dict("records")[:2]
    [{'partner_id': 'C', 'days_left': -30, 'recommendation': 'let_expire', 'decision_differs': True}, \
{'partner_id': 'A', 'days_left': 20, 'recommendation': 'renew', 'decision_differs': False}]
    """
    s = _contract_settings(settings)
    as_of = pd.Timestamp(as_of).normalize()
    base = latest[[c for c in ("partner_id", "region", "channel", "score", "trend", "action") if c in latest]]
    frame = partners[[c for c in ("partner_id", "contract_end", "renewal_decision") if c in partners]].merge(
        base, on="partner_id", how="inner")
    if "renewal_decision" not in frame:
        frame["renewal_decision"] = None
    frame["contract_end"] = pd.to_datetime(frame["contract_end"])
    if termination is None:
        termination = pd.DataFrame(columns=["terminate", "conditions", "evidence"])
    met = frame["partner_id"].map(termination["terminate"].astype(bool).to_dict()).eq(True)
    evidence = frame["partner_id"].map(termination["evidence"]).fillna("")
    eliminate = met | (frame.get("action", pd.Series("", index=frame.index)) == "eliminate")
    days = (frame["contract_end"] - as_of).dt.days
    due = days.notna() & (days <= s.horizon_days)
    recommendation, reasons, status = [], [], []
    for i in frame.index:
        d = days[i]
        status.append("no end date" if pd.isna(d) else f"ended {-int(d)} days ago" if d < 0 else
                      f"ends in {int(d)} days")
        if due[i]:
            rec, why = recommend(frame.at[i, "score"], frame.at[i, "trend"], bool(eliminate[i]), s)
            if met[i]:
                why = evidence[i]
        elif met[i]:
            rec, why = "terminate", evidence[i]
        else:
            rec, why = "", ""
        recommendation.append(rec)
        reasons.append(why)
    frame["days_left"] = days.astype("Int64")
    frame["status"] = status
    frame["recommendation"] = recommendation
    frame["reasons"] = reasons
    frame["needs_action"] = due | met
    decision = frame["renewal_decision"].where(frame["renewal_decision"].notna(), "").astype(str).str.strip()
    frame["renewal_decision"] = decision.where(decision != "", None)
    recommended = frame["recommendation"]
    frame["decision_differs"] = (decision != "") & (recommended != "") & (decision != recommended)
    order = frame.assign(_t=~met, _d=days.fillna(10 ** 9)).sort_values(["_t", "_d", "partner_id"]).index
    columns = ["partner_id", "region", "channel", "contract_end", "days_left", "status", "needs_action",
               "recommendation", "reasons", "renewal_decision", "decision_differs", "score", "trend"]
    out = frame.loc[order, columns].reset_index(drop=True)
    out["contract_end"] = out["contract_end"].dt.date
    return out
