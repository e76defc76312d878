"""Risk early warning: rule and statistical alerts with severity, evidence and responses, and what is new since the
last report.

Each store build raises the alerts once (:func:`run_alerts`, the build's ``alerts`` analysis) and keeps them in the
store: ``result_alerts`` (this build's, and those resolved since the previous build), ``result_alert_history``
(every build's) and ``result_alert_series`` (the series behind each alert, for its chart). ``chanlib alerts`` writes
them, the region report opens with them (``sections.early_warnings``) and the index counts each region's new
critical and high ones.

* **Rule alerts** (:mod:`~chanlib.analytics.alerts.rules`), thresholds in params ``alerts:``: revenue below the
  kept forecast's range, target missed K periods running, margin erosion, partner concentration, weeks of supply
  too high or too low, channel stuffing, a feedback drop, contracts ending with no renewal decision, channel
  conflict (shared customers) and price gaps across channels. A rule whose inputs are absent is left out with a
  reason (``result_omitted``).
* **Statistical alerts** (:mod:`~chanlib.analytics.alerts.statistical`): point anomalies of region x channel
  revenue against a robust seasonal baseline, and level shifts (change points found with ``ruptures``).
* Every alert carries a stable id, its severity (``alerts.severity``), the entity and metric, the value against the
  threshold or expected range, since when, the date that fired, the evidence in words, the response
  (``alerts.responses``) and its state against the previous build: new, continuing or resolved
  (:mod:`~chanlib.analytics.alerts.state`).

On any long table of series: :func:`detect` (``unique_id, ds, y``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> ds = pd.date_range("2023-01-01", periods=36, freq="MS")
>>> flat = pd.DataFrame({"unique_id": "North/web", "ds": ds,
...                      "y": 1000 * (1 + 0.05 * np.random.default_rng(0).normal(size=36))})
>>> len(detect(flat))
0
"""
from chanlib.analytics.alerts.base import COLUMNS, SERIES_COLUMNS
from chanlib.analytics.alerts.detect import detect
from chanlib.analytics.alerts.pipeline import order, run_alerts
from chanlib.analytics.alerts.state import STATES

__all__ = ["COLUMNS", "SERIES_COLUMNS", "STATES", "detect", "order", "run_alerts"]
