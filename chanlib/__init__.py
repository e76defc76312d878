"""chanlib: analytics for people who run sales channels.

Layers, each importing only the ones above it in this list (a test checks the import graph):

- foundation: ``errors``, ``periods`` (as-of date, windows, complete periods), ``io`` (atomic writes)
- data: ``config`` (the one settings tree), ``data`` (contract, ingest, store, demo)
- analytics: ``analytics`` (KPIs, product fit, planning, period evaluation, forecasting, segmentation)
- build: ``build`` (ingest -> each registered analysis -> metadata -> atomic move)
- report: ``report`` (sections, narrative, plots, display, HTML export, runner and index)
- front door: ``cli``
"""
from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
