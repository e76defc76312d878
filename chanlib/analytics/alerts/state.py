"""What is new since the last report: each alert's stable id, its state against the previous build, and the alert
history.

A build's alerts are compared by id (:func:`alert_id`: rule, entity, metric and
the episode's first day) with the open alerts of the store it replaces:

* **new** -- raised now, not open before (``first_seen`` is this build);
* **continuing** -- raised now and open before (``first_seen`` carried over);
* **resolved** -- open before, not raised now; kept for this one build with the values it last had, then dropped.

Every build appends its alerts, with the build and the as-of date, to the history it carries over.

Examples
--------
>>> prev = pd.DataFrame({"alert_id": ["a", "b", "c"], "state": ["new", "continuing", "resolved"],
...                      "first_seen": ["b1", "b0", "b0"]})
>>> now = pd.DataFrame({"alert_id": ["b", "d"]})
>>> apply_state(now, prev, "b2")[["alert_id", "state", "first_seen"]].values.tolist()
[['b', 'continuing', 'b0'], ['d', 'new', 'b2'], ['a', 'resolved', 'b1']]
"""
from __future__ import annotations

import hashlib

import pandas as pd

from chanlib.analytics.alerts.base import COLUMNS

#: an alert's state against the previous build, in report order
STATES: tuple[str, ...] = ("new", "continuing", "resolved")


def alert_id(rule: str, region: str, channel: str, partner_id: str, product_id: str, metric: str,
             since: object) -> str:
    """A stable id: a hash of the rule, the entity, the metric and the first day of the episode, so the same data
    give the same id in every build.

    >>> alert_id("price_gap", "North", "", "", "SKU1", "unit_price_ratio", "2025-10-01")
    'a-980f117f979c'
    """
    day = pd.Timestamp(since).date().isoformat() if pd.notna(since) else ""
    key = "\x1f".join([rule, region, channel, partner_id, product_id, metric, day])
    return "a-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def ids(frame: pd.DataFrame) -> pd.Series:
    """:func:`alert_id` of every row of a frame with the finding columns."""
    return pd.Series([alert_id(*row) for row in frame[["rule", "region", "channel", "partner_id", "product_id",
                                                       "metric", "since"]].itertuples(index=False, name=None)],
                     index=frame.index, dtype="object")


def apply_state(current: pd.DataFrame, previous: pd.DataFrame | None, build: str) -> pd.DataFrame:
    """``current`` (this build's alerts) with ``state`` and ``first_seen``, followed by the previous build's open
    alerts that are not raised any more (state ``resolved``). Columns: those of ``current`` (:data:`COLUMNS` when
    it has them all)."""
    previous = previous if previous is not None else pd.DataFrame()
    open_before = previous
    if len(previous) and "state" in previous:
        open_before = previous[previous["state"].astype(str) != "resolved"]
    seen = (dict(zip(open_before["alert_id"], open_before["first_seen"]))
            if len(open_before) and "first_seen" in open_before else
            {a: build for a in (open_before["alert_id"] if len(open_before) else [])})
    out = current.copy()
    out["state"] = ["continuing" if a in seen else "new" for a in out["alert_id"]]
    out["first_seen"] = [seen.get(a, build) for a in out["alert_id"]]
    gone = open_before[~open_before["alert_id"].isin(set(out["alert_id"]))] if len(open_before) else open_before
    if len(gone):
        gone = gone.assign(state="resolved")
        out = pd.concat([out, gone.reindex(columns=out.columns)], ignore_index=True)
    columns = list(COLUMNS) if set(COLUMNS) <= set(out.columns) else list(out.columns)
    return out[columns].reset_index(drop=True)


def append_history(alerts: pd.DataFrame, history: pd.DataFrame | None, build: str,
                   as_of: pd.Timestamp) -> pd.DataFrame:
    """The alert history carried over (``history``, from the previous store) with this build's alerts appended
    (columns ``build`` and ``as_of`` first)."""
    rows = alerts.assign(build=build, as_of=pd.Timestamp(as_of).normalize())
    rows = rows[["build", "as_of", *[c for c in alerts.columns]]]
    if history is None or history.empty:
        return rows.reset_index(drop=True)
    return pd.concat([history.reindex(columns=rows.columns), rows], ignore_index=True)
