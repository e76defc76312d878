"""Executed notebook -> one self-contained HTML report (no code, no CDN, a table of contents).

The report is rendered with nbconvert's ``lab`` template through chanlib's own ``chanlib_report`` template
(``chanlib/templates/chanlib_report``), which removes every script the lab template would load from a CDN
(require.js, MathJax, MermaidJS, the jupyter-widgets html-manager) by overriding its blocks, and puts a table of
contents built from the h1-h3 headings of the markdown at the top. Before anything is written the HTML is checked
with :func:`external_references`; a report that would still fetch something from outside the file is refused.

What does not survive into the report: code inputs and In/Out prompts, cells tagged ``remove_cell`` or ``hide``,
``stderr`` streams (warnings), ipywidget outputs (they need a JavaScript widget manager from a CDN and a live
kernel; without one they would show a stale text repr such as a tqdm bar stuck at 0%) and JavaScript outputs
(the next richer representation of the same output is shown instead). LaTeX in markdown is shown as its TeX source
because MathJax is not loaded.
"""
from __future__ import annotations

import copy
import functools
import html
import logging
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets.config import Config

from chanlib.errors import ChanlibError
from chanlib.io import write_text
from chanlib.report.markers import OMITTED_SECTION

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "chanlib_report"
#: cells carrying one of these tags are left out of the report entirely
REMOVE_CELL_TAGS: tuple[str, ...] = ("remove_cell", "hide")
#: headings of these levels are listed in the table of contents (every heading gets an id)
TOC_LEVELS: tuple[int, ...] = (1, 2, 3)

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: nbconvert's HTML display priority without application/javascript: a JavaScript output falls back to its HTML,
#: image or text representation instead of an inline script
DISPLAY_PRIORITY: list[str] = [
    WIDGET_VIEW_MIMETYPE,
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/vnd.mermaid",
    "text/latex",
    "image/png",
    "image/jpeg",
    "text/plain",
]


# --------------------------------------------------------------------------------------------------------------------
# export


#: a markdown cell holding only this puts the table of contents there (else it comes first)
TOC_MARKER = "<!-- chanlib-toc -->"


def export_html(notebook: nbformat.NotebookNode | Path, html_path: Path, *, title: str, footer: str = "") -> Path:
    """Render an executed notebook to one self-contained HTML file (written to a temp name, then os.replace).

    ``notebook`` is a notebook node or the path of an ``.ipynb``; images a markdown cell references by a relative
    path are embedded from the notebook's directory (from the current directory for a node). The caller's node is
    not modified. ``footer`` is a line of plain text (escaped) at the end of the page, e.g. the run id, the data
    fingerprint and the chanlib version. The table of contents goes where a markdown cell holds :data:`TOC_MARKER`
    (first when none does). Raises :class:`~chanlib.errors.ChanlibError`, naming the references, when the HTML
    would load anything from outside the file; then nothing is written and an existing ``html_path`` is left as it was.
    Returns ``html_path``.
    """
    html_path = Path(html_path)
    if isinstance(notebook, (str, os.PathLike)):
        nb_path = Path(notebook)
        nb = nbformat.read(nb_path, as_version=4)
        base_dir, name = nb_path.resolve().parent, nb_path.stem
    else:
        nb = copy.deepcopy(notebook)
        base_dir, name = Path.cwd(), html_path.stem
    nb.metadata["title"] = title  # the lab template's <title>, escaped there

    toc = _HeadingCollector()
    resources: dict[str, Any] = {"metadata": {"name": name, "path": str(base_dir)}, "chanlib_footer": footer,
                                 "chanlib_toc_marker": TOC_MARKER}
    exporter = _exporter()
    # per export, not via resources: nbconvert deep-copies those before rendering
    exporter.register_filter("chanlib_anchor_headings", toc)
    exporter.register_filter("chanlib_toc_entries", toc.toc_entries)
    body, _ = exporter.from_notebook_node(nb, resources=resources)

    refs = external_references(body)
    if refs:
        shown = ", ".join(repr(r) for r in refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
        raise ChanlibError(
            f"{html_path}: the report would load {len(refs)} resource(s) from outside the file: {shown}; "
            "embed them in the notebook or remove them"
        )

    write_text(html_path, body)
    log.info("wrote %s (%d KiB, %d headings in the table of contents)", html_path, len(body) // 1024, len(toc.entries))
    return html_path


class _ReportExporter(HTMLExporter):
    """nbconvert's HTMLExporter without its last pass, which parses the whole page again with BeautifulSoup (a third
    of an export) to give images without alt text a stock one and to make input and output areas focusable: a
    report has no inputs, and its images lack no alt text (a chart carries its own; an image without one gets
    nbconvert's stock text here, by a pattern)."""

    def from_notebook_node(  # type: ignore[override]  # (as HTMLExporter's own: a page, not a notebook)
            self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        # what HTMLExporter.from_notebook_node does before rendering (nbconvert 7)
        lang = nb.metadata.get("language_info", {})
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lang.get("pygments_lexer", lang.get("name")), parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                                       parent=self, resources=resources))
        body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', body), resources


#: an ``<img>`` start tag with no ``alt`` attribute (not ``<image>``, e.g. of an inline SVG)
_IMG_WITHOUT_ALT = re.compile(r"<img(?=[\s/>])(?![^>]*\salt\s*=)", re.IGNORECASE)
#: the alt text nbconvert gives an image without one
NO_ALT = "No description has been provided for this image"


@functools.cache
def _exporter() -> HTMLExporter:
    """This process's exporter: its templates are compiled once (an export registers its own table-of-contents
    filters before rendering)."""
    return _make_exporter()


def _make_exporter() -> HTMLExporter:
    """An HTMLExporter on the chanlib_report template: no inputs, no prompts, embedded images, light theme."""
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    config.NbConvertBase.display_data_priority = list(DISPLAY_PRIORITY)
    exporter = _ReportExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        # only chanlib's templates and the installed nbconvert ones: never a 'lab/' folder in the current directory
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        theme="light",
        sanitize_html=False,
        exclude_anchor_links=True,  # headings get their ids from _HeadingCollector instead
        log=_nbconvert_log,
    )
    exporter.register_preprocessor(_ReportPreprocessor(), enabled=True)
    return exporter


class _ReportPreprocessor(Preprocessor):
    """Drop what must not reach a report: stderr streams, ipywidget views, the notebook's widget state and outputs
    with no representation the report shows (JavaScript only)."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[nbformat.NotebookNode, dict]:
        nb.metadata.pop("widgets", None)
        dropped = {"stderr": 0, "widget": 0, "unshowable": 0}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            kept = []
            for output in cell.get("outputs", []):
                data = output.get("data")
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    dropped["stderr"] += 1
                elif data is not None and WIDGET_VIEW_MIMETYPE in data:
                    dropped["widget"] += 1
                elif data is not None and not any(mime in data for mime in DISPLAY_PRIORITY):
                    dropped["unshowable"] += 1
                else:
                    kept.append(output)
            cell.outputs = kept
        nb.cells = _without_empty_sections(nb.cells)
        if any(dropped.values()):
            log.debug("left out of the report: %s",
                      ", ".join(f"{n} {kind} output(s)" for kind, n in dropped.items() if n))
        return nb, resources


def _omitted(cell: nbformat.NotebookNode | None) -> bool:
    """Whether a code cell's only outputs are :data:`chanlib.report.markers.OMITTED_SECTION` markers."""
    outputs = cell.get("outputs", []) if cell is not None and cell.cell_type == "code" else []
    return bool(outputs) and all(o.get("data", {}).get("text/html", "").strip() == OMITTED_SECTION for o in outputs)


def _without_empty_sections(cells: list) -> list:
    """Drop the sections a short report leaves out: a code cell that displayed only the
    :data:`~chanlib.report.markers.OMITTED_SECTION` marker loses its outputs, and the markdown cell right before it
    goes when it starts with a heading (the section's title and introduction)."""
    out: list = []
    for cell, after in zip(cells, [*cells[1:], None]):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#") and _omitted(after):
            log.debug("section left out: %s", cell.source.strip().splitlines()[0])
            continue
        if _omitted(cell):
            cell.outputs = []
        out.append(cell)
    return out


#: nbconvert's own log; its warning "Alternative text is missing on N image(s)" means a figure was displayed without
#: chanlib.report.display.figure, whose alt text the chanlib_report template writes into the <img> tag
_nbconvert_log = logging.getLogger(f"{__name__}.nbconvert")


# --------------------------------------------------------------------------------------------------------------------
# headings and table of contents

_HEADING_TAGS = {f"h{i}": i for i in range(1, 7)}


@dataclass(frozen=True)
class TocEntry:
    """One line of the table of contents: heading level, the heading's id and its plain text."""

    level: int
    anchor: str
    text: str


@dataclass
class _Heading:
    level: int
    pos: tuple[int, int]
    raw: str
    attrs: list[tuple[str, str | None]]
    parts: list[str] = field(default_factory=list)


class _HeadingScanner(HTMLParser):
    """Collect the h1-h6 start tags of an HTML fragment with their position, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[_Heading] = []
        self._open: _Heading | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADING_TAGS and self._open is None:
            raw = self.get_starttag_text() or ""
            self._open = _Heading(_HEADING_TAGS[tag], self.getpos(), raw, attrs)
            self.headings.append(self._open)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and _HEADING_TAGS.get(tag) == self._open.level:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.parts.append(data)


class _HeadingCollector:
    """Jinja filter ``chanlib_anchor_headings``: give every heading of rendered markdown a unique id, remember h1-h3.

    Ids follow nbconvert/JupyterLab (spaces -> ``-``, then percent-quoting), so ``[link](#Sales-overview)`` written in
    a notebook keeps working; a heading without one (nbconvert skips headings containing unbalanced raw HTML) gets
    one, and a repeated id gets a ``-2``, ``-3`` ... suffix. One instance per export; cells arrive in document order.
    """

    def __init__(self) -> None:
        self.entries: list[TocEntry] = []
        self._used: set[str] = set()

    def __call__(self, fragment: str) -> str:
        fragment = str(fragment)
        scanner = _HeadingScanner()
        scanner.feed(fragment)
        scanner.close()
        line_starts = [0] + [m.end() for m in re.finditer("\n", fragment)]
        out, last = [], 0
        for h in scanner.headings:
            text = " ".join("".join(h.parts).split())
            current = dict(h.attrs).get("id") or ""
            anchor = current if current and current not in self._used else self._unique(current or _slug(text))
            self._used.add(anchor)
            if h.level in TOC_LEVELS and text:
                self.entries.append(TocEntry(h.level, anchor, text))
            if anchor == current:
                continue
            start = line_starts[h.pos[0] - 1] + h.pos[1]
            if fragment[start : start + len(h.raw)] != h.raw:  # pragma: no cover - HTMLParser positions are exact
                log.warning("could not set the id of heading %r", text)
                continue
            out += [fragment[last:start], _start_tag(f"h{h.level}", h.attrs, anchor)]
            last = start + len(h.raw)
        return "".join(out) + fragment[last:]

    def toc_entries(self, _rendered: object = None) -> list[TocEntry]:
        """Jinja filter ``chanlib_toc_entries``: the h1-h3 headings seen so far (apply it to the rendered cells)."""
        return list(self.entries)

    def _unique(self, base: str) -> str:
        anchor, n = base, 1
        while anchor in self._used:
            n += 1
            anchor = f"{base}-{n}"
        return anchor


def _slug(text: str) -> str:
    """The heading id nbconvert and JupyterLab use (``nbconvert.filters.strings._convert_header_id``)."""
    return quote(text.replace(" ", "-"), safe="?/:@!$&'()*+,;=") or "section"


def _start_tag(tag: str, attrs: list[tuple[str, str | None]], anchor: str) -> str:
    parts = [tag, f'id="{html.escape(anchor)}"']
    parts += [k if v is None else f'{k}="{html.escape(v)}"' for k, v in attrs if k != "id"]
    return "<" + " ".join(parts) + ">"


# --------------------------------------------------------------------------------------------------------------------
# external references

#: element -> attributes whose value the browser fetches (a relative value is a file next to the report: outside too)
_FETCH_ATTRS: dict[str, frozenset[str]] = {
    "script": frozenset({"src"}),
    "img": frozenset({"src", "srcset"}),
    "iframe": frozenset({"src"}),
    "frame": frozenset({"src"}),
    "embed": frozenset({"src"}),
    "object": frozenset({"data"}),
    "audio": frozenset({"src"}),
    "video": frozenset({"src", "poster"}),
    "source": frozenset({"src", "srcset"}),
    "track": frozenset({"src"}),
    "input": frozenset({"src"}),
    "link": frozenset({"href", "imagesrcset"}),
    "base": frozenset({"href"}),
    "image": frozenset({"href", "xlink:href"}),
    "use": frozenset({"href", "xlink:href"}),
    "feimage": frozenset({"href", "xlink:href"}),
    "body": frozenset({"background"}),
    "table": frozenset({"background"}),
    "td": frozenset({"background"}),
    "th": frozenset({"background"}),
}
#: hyperlinks: following them is navigation, not a fetch
_NAVIGATION_TAGS = frozenset({"a", "area"})
#: schemes that never reach the network
_LOCAL_SCHEMES = ("data:", "blob:", "javascript:", "about:", "mailto:", "tel:")
_HTTP = re.compile(r"^(?:https?:)?//", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(["']?)([^"')\s;]+)\1""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)
_SCRIPT_URL = re.compile(r"""(?:\bhttps?:)//[^\s"'`<>)\\]+"""
                         r"""|(?<=["'`])//[a-z0-9-]+(?:\.[a-z0-9-]+)+[^\s"'`<>)\\]*""", re.IGNORECASE)
#: <script type> values that are executed; anything else (JSON, widget state, templates) is inert data
_JS_TYPES = frozenset({"", "text/javascript", "application/javascript", "module", "text/ecmascript",
                       "application/ecmascript"})


def _is_local(value: str) -> bool:
    return not value or value.startswith("#") or value.lower().startswith(_LOCAL_SCHEMES)


def _css_references(css: str) -> list[str]:
    css = _CSS_COMMENT.sub("", css)
    refs = [m.group(2).strip() for m in _CSS_IMPORT.finditer(css)]
    refs += [m.group(2).strip() for m in _CSS_URL.finditer(css)]
    return [r for r in refs if not _is_local(r)]


def _srcset_urls(srcset: str) -> list[str]:
    """The URLs of a ``srcset`` (HTML's candidate parsing: a URL is a run of non-space, a data: URI may hold commas)."""
    urls, i, n = [], 0, len(srcset)
    while i < n:
        while i < n and (srcset[i].isspace() or srcset[i] == ","):
            i += 1
        j = i
        while j < n and not srcset[j].isspace():
            j += 1
        url = srcset[i:j]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors ("2x", "300w") up to the next comma
            comma = srcset.find(",", j)
            j = n if comma < 0 else comma + 1
        if url:
            urls.append(url)
        i = j
    return urls


class _ReferenceScanner(HTMLParser):
    """Collect everything an HTML document makes the browser fetch; see :func:`external_references`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in: str | None = None  # "style" or "script" while inside an executable script / a style element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fetched = _FETCH_ATTRS.get(tag, frozenset())
        for name, value in attrs:
            value = (value or "").strip()
            if name == "style":
                self.refs += _css_references(value)
            elif name == "srcdoc":
                self.refs += external_references(value)
            elif _is_local(value) or (tag in _NAVIGATION_TAGS and name == "href"):
                continue
            elif name in fetched:
                urls = _srcset_urls(value) if name.endswith("srcset") else [value]
                self.refs += [u for u in urls if not _is_local(u)]
            elif name in {"src", "href", "xlink:href"} and _HTTP.match(value):
                self.refs.append(value)
        if tag == "style":
            self._in = "style"
        elif tag == "script" and (dict(attrs).get("type") or "").strip().lower() in _JS_TYPES:
            self._in = "script"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.refs += _css_references(data)
        elif self._in == "script":
            self.refs += _SCRIPT_URL.findall(data)


def external_references(html: str) -> list[str]:
    """Every reference in the HTML that would make a browser fetch something from outside the file.

    Flags the ``src``/``href``/``srcset``/``data``/``poster`` of elements the browser loads (``<script>``, ``<link>``,
    ``<img>``, ``<iframe>``, ``<video>``, ``<object>``, SVG ``<image>``/``<use>``, ...) unless it is a ``data:`` URI or
    a ``#fragment`` -- relative paths count, they are files next to the report --, any other ``src``/``href`` that is an
    ``http(s)://`` or ``//`` URL, CSS ``@import`` and ``url(...)`` in ``<style>`` elements and ``style`` attributes,
    ``http(s)`` URLs inside executable inline ``<script>`` code (how the lab template loads the widget manager), and the
    same inside an ``<iframe srcdoc>``. ``<a href>``/``<area href>`` hyperlinks are navigation, not fetches, and are not
    flagged; neither are inert ``<script type="application/json">``-style data blocks. Returns the references in
    document order without duplicates.

    Examples
    --------
    >>> external_references('<script src="https://cdn.example.org/require.js"></script><p>hi</p>')
    ['https://cdn.example.org/require.js']
    >>> external_references('<link rel="stylesheet" href="//fonts.example.com/css"><img src="logo.png">')
    ['//fonts.example.com/css', 'logo.png']
    >>> external_references('<style>@import url("https://x.example/a.css"); '
    ...                     'b {background: url(http://x.example/b.png)}</style>')
    ['https://x.example/a.css', 'http://x.example/b.png']
    >>> external_references('<a href="https://example.com/docs">docs</a> <a href="#top">top</a> '
    ...                     '<img src="data:image/png;base64,iVBORw0KGgo="> '
    ...                     '<div style="background:url(data:,x)"></div>')
    []
    """
    scanner = _ReferenceScanner()
    scanner.feed(html)
    scanner.close()
    return list(dict.fromkeys(scanner.refs))
