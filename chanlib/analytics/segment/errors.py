"""The one exception segmentation raises for unusable input.

It is both a :class:`chanlib.errors.DataError` (so the CLI reports it in one line with exit code 1) and a
:class:`ValueError` (what a library user calling the functions directly expects for bad arguments).

>>> issubclass(SegmentInputError, ValueError)
True
"""
from __future__ import annotations

from chanlib.errors import DataError


class SegmentInputError(DataError, ValueError):
    """A frame or store cannot be segmented: a column is missing, a value is invalid, nothing is left."""
