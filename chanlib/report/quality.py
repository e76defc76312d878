"""The run's data-quality page (``quality.html``): what ingest read, kept, set aside and repaired, with examples.

Per input table: rows read, kept and rejected, and per rejection reason its count, five example rows (their row
numbers in the source file, the header being row 1, and their values as read) and a link to the full rejects CSV,
which the run copies next to the page (``rejects/<table>.csv``) so that the link still works when the run folder
is shared on its own. Every value is escaped (Jinja2 autoescape).

Examples
--------
>>> import pandas as pd
>>> quality = [{"table": "sales", "file": "sales.csv", "rows_read": 3, "rows_kept": 2, "rows_rejected": 1,
...             "reason": "missing_date", "count": 1, "example_rows": "3"}]
>>> rejects = {"sales": pd.DataFrame({"row": [3], "reason": ["missing_date"], "date": [""],
...                                   "region": ["<b>East</b>"]})}
>>> page = render_quality("demo", quality, rejects, {"sales": "rejects/sales.csv"})
>>> "&lt;b&gt;East&lt;/b&gt;" in page, "missing_date" in page, "<b>East</b>" in page
(True, True, False)
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from chanlib.io import atomic_path

log = logging.getLogger(__name__)

PAGE = "quality.html"
EXAMPLES = 5


def read_rejects(folder: Path) -> dict[str, pd.DataFrame]:
    """The rejects CSVs of a store (``<table>.csv`` in ``folder``), read as text; empty when there are none."""
    out: dict[str, pd.DataFrame] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.csv")):
        try:
            out[path.stem] = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            log.warning("rejects file %s unreadable: %s", path, exc)
    return out


def copy_rejects(folder: Path, run_dir: Path) -> dict[str, str]:
    """Copy the store's rejects CSVs into ``run_dir/rejects/``; return table -> link relative to the run folder."""
    links: dict[str, str] = {}
    if not folder.is_dir():
        return links
    for path in sorted(folder.glob("*.csv")):
        target = run_dir / "rejects" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
        links[path.stem] = f"rejects/{path.name}"
    return links


def _examples(rejects: pd.DataFrame | None, reason: str) -> tuple[list[str], list[list[str]]]:
    if rejects is None or "reason" not in rejects.columns:
        return [], []
    rows = rejects[rejects["reason"] == reason]
    if "row" in rows.columns:  # the lowest row numbers, whatever order the CSV was written in
        rows = rows.iloc[pd.to_numeric(rows["row"], errors="coerce").argsort(kind="stable")]
    rows = rows.head(EXAMPLES)
    columns = [c for c in rows.columns if c != "reason"]
    return columns, rows[columns].astype(str).values.tolist()


def render_quality(name: str, quality: list[dict[str, Any]], rejects: dict[str, pd.DataFrame],
                   links: dict[str, str], index: bool = False) -> str:
    """The quality page as HTML: ``quality`` is the store's data-quality summary (one record per table and
    reason, as :meth:`chanlib.data.ingest.QualityReport.to_frame` gives), ``rejects`` the rejected rows per table
    and ``links`` the rejects CSV per table (relative to the page)."""
    tables: dict[str, dict[str, Any]] = {}
    for q in quality:
        # the file's name only: the page is shared, the server's folders are nobody's business
        t = tables.setdefault(q["table"], {"table": q["table"], "file": Path(str(q.get("file") or "")).name,
                                           "rows_read": int(q["rows_read"]), "rows_kept": int(q["rows_kept"]),
                                           "rows_rejected": int(q.get("rows_rejected", 0) or 0),
                                           "reasons": [], "link": links.get(q["table"]),
                                           "repairs": str(q.get("repairs") or "")})
        if q.get("reason") not in (None, "-") and int(q.get("count", 0) or 0):
            columns, examples = _examples(rejects.get(q["table"]), q["reason"])
            t["reasons"].append({"reason": q["reason"], "count": int(q["count"]), "columns": columns,
                                 "examples": examples})
    env = jinja2.Environment(loader=jinja2.PackageLoader("chanlib.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("quality.html.j2").render(title=f"{name}: data quality", tables=list(tables.values()),
                                                      examples=EXAMPLES, index=index)
