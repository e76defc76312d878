"""The report layer: what readers see. Sections (:mod:`~chanlib.report.sections`) read a region's slice of the store
and return displays built from narrative sentences (:mod:`~chanlib.report.narrative`), charts
(:mod:`~chanlib.report.plots`, one style) and tables (:mod:`~chanlib.report.display`); the runner
(:mod:`~chanlib.report.runner`) executes the region notebook with papermill per region and exports self-contained
HTML (:mod:`~chanlib.report.html`) with an index page."""
