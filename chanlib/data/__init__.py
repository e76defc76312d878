"""The data layer: the data contract (:mod:`~chanlib.data.schema`), loading, mapping and validating exports
(:mod:`~chanlib.data.ingest`), the embedded DuckDB store (:mod:`~chanlib.data.store`) and the synthetic demo
business (:mod:`~chanlib.data.demo`). It imports nothing from the analytics or report layers."""
