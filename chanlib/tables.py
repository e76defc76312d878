"""Writing result tables to files: CSV or Parquet by the file's suffix, written to a temporary name and renamed.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "k.csv"
>>> write_table(pd.DataFrame({"region": ["East"], "revenue": [1.5]}), out).read_text().splitlines()
['region,revenue', 'East,1.5']
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .errors import ChanlibError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.parquet``) atomically; return the path."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ChanlibError(f"{path}: unknown output format {path.suffix!r} (use .csv or .parquet)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
