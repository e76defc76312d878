"""The analytics layer: one module or package per capability, each working on pandas DataFrames (or an open store).

- :mod:`~chanlib.analytics.kpi` — channel KPIs and the KPI engine (any grouping and period)
- :mod:`~chanlib.analytics.product_fit` — product-channel fit and grow/develop/review recommendations
- :mod:`~chanlib.analytics.planning` — regional planning: coverage, served-market penetration, white space vs peers
- :mod:`~chanlib.analytics.period_evaluation` — this period against the previous one and last year
- :mod:`~chanlib.analytics.forecast` — automatic forecasting, reconciliation, hierarchy forecasts
- :mod:`~chanlib.analytics.segment` — partner segments, ABC/XYZ classes, customer RFM

An analysis takes ``data``: an open store or a mapping of canonical table name to DataFrame
(:func:`chanlib.data.store.as_connection`). A required input that is absent raises
:class:`~chanlib.errors.MissingInput`. Nothing here imports the report layer or the build.
"""
