"""chanlib: analytics for people who run sales channels.

One module per capability, each a set of pure functions over DataFrames or the DuckDB store:
``config`` (params), ``schema`` (data contract), ``ingest`` (load, map, validate), ``store``, ``demo``,
``kpi``, ``plots``, ``narrative``, ``html`` and ``report`` (papermill runner and index), ``cli``.
"""
from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
