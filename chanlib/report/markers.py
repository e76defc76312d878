"""Markers a notebook's output and the HTML export agree on. They live apart from both, so that the export (in a
worker, :mod:`chanlib.report.html`) need not import the display side (matplotlib, pandas) and the kernel (which
displays, :mod:`chanlib.report.display`) need not import nbconvert."""
from __future__ import annotations

#: the only output of a section a short report leaves out; the HTML export drops it with the section's heading
OMITTED_SECTION = "<!-- chanlib: section left out of a short report -->"
