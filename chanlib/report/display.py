"""Turn results into notebook outputs: embedded PNG figures, escaped HTML tables, Markdown text.

Examples
--------
>>> import pandas as pd
>>> html = table(pd.DataFrame({"partner": ["A & <B>"], "revenue": [1234.5]}), money_columns=["revenue"], currency="EUR")
>>> "A &amp; &lt;B&gt;" in html.data, "EUR 1,234" in html.data  # doctest: +SKIP
(True, True)
"""
from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd
from IPython.display import HTML, Image, Markdown
from matplotlib.figure import Figure

from chanlib.report.narrative import money, percent

__all__ = ["figure", "table", "markdown", "note", "HTML", "Markdown"]


def figure(fig: Figure, dpi: int = 110) -> Image:
    """A figure as an embedded PNG image (the figure is not kept open anywhere)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return Image(data=buffer.getvalue(), format="png")


def table(frame: pd.DataFrame, money_columns: Iterable[str] = (), percent_columns: Iterable[str] = (),
          currency: str = "", index: bool = False) -> HTML:
    """An HTML table with every cell escaped and money/percent columns formatted."""
    shown = frame.copy()
    for column in money_columns:
        shown[column] = [money(v, currency) for v in shown[column]]
    for column in percent_columns:
        shown[column] = [percent(v, signed=False) for v in shown[column]]
    return HTML(shown.to_html(index=index, escape=True, border=0, classes="chanlib-table", na_rep="n/a"))


def markdown(text: str) -> Markdown:
    """Markdown built by :mod:`chanlib.report.narrative` (which has already escaped data-derived names)."""
    return Markdown(text)


def note(text: str) -> Markdown:
    """A one-line note, e.g. why a section is left out."""
    return Markdown(f"*{text}*")
