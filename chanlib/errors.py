"""Exceptions chanlib raises for problems a user can fix; the CLI turns them into one line and exit code 1."""
from __future__ import annotations


class ChanlibError(Exception):
    """A data or run problem, stated in one line that names the file, the column and example rows."""


class ParamsError(ChanlibError):
    """A params file or command-line setting is wrong (unknown key, wrong type, missing file)."""


class DataError(ChanlibError):
    """An input table cannot be used: a required column is missing, a column is unreadable, too many bad rows."""


class MissingInput(ChanlibError):
    """A required input table or column is absent, so an analysis cannot run; ``reason`` says which and why.

    >>> str(MissingInput("market", "the store has no market table (market sizes per region and category)"))
    'the store has no market table (market sizes per region and category)'
    """

    def __init__(self, table: str, reason: str):
        super().__init__(reason)
        self.table, self.reason = table, reason
