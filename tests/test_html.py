"""chanlib.report.html: real notebooks executed by papermill, rendered by nbconvert; no mocks."""
from __future__ import annotations

import json
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import papermill
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chanlib.errors import ChanlibError
from chanlib.report.html import TEMPLATE_DIR, TEMPLATE_NAME, export_html, external_references

TITLE = 'Q3 <Channel> report & "notes"'
INPUT_MARKER = "zx_input_marker_4471"  # appears only in code sources


def _notebook() -> nbformat.NotebookNode:
    def tagged(cell: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
        cell.metadata["tags"] = [tag]
        return cell

    cells = [
        new_markdown_cell("# Channel report\n\nHow the channels did this quarter."),
        new_code_cell(
            "import warnings\n"
            "import pandas as pd\n"
            "import matplotlib\n"
            "import matplotlib.pyplot as plt\n"
            "import seaborn as sns\n"
            "import ipywidgets\n"
            "from IPython.display import Markdown, display\n"
            f"{INPUT_MARKER} = pd.DataFrame({{'channel': ['Web', 'Retail', 'Partner'], "
            f"'revenue': [120.5, 80.25, 42.0]}})"
        ),
        new_markdown_cell("## Revenue `<b>&` costs\n\nThe table:"),
        new_code_cell(f"{INPUT_MARKER}"),
        new_markdown_cell("## Margin <b>& mix\n\nRaw HTML nbconvert cannot give an id."),
        new_code_cell(
            f"ax = sns.barplot(data={INPUT_MARKER}, x='channel', y='revenue')\n"
            "ax.set_title('Revenue by channel')\n"
            "plt.show()"
        ),
        new_markdown_cell("### Notes\n\nFirst notes."),
        new_code_cell("warnings.warn('zx-stderr-warning')\nprint('zx-stdout-visible')"),
        new_markdown_cell("### Notes\n\nSecond notes, same heading text.\n\n#### Deep heading, not in the contents"),
        tagged(new_code_cell("print('zx-removed-cell-output')"), "remove_cell"),
        tagged(new_code_cell("print('zx-hidden-cell-output')"), "hide"),
        tagged(new_markdown_cell("## zx-hidden-markdown"), "hide"),
        new_code_cell("ipywidgets.IntSlider(value=7, description='zx-widget')"),
        new_code_cell("display(Markdown('## Generated section'))\nprint('after widget')"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test notebook, executed for real by papermill."""
    d = tmp_path_factory.mktemp("nb")
    src, out = d / "report.ipynb", d / "report.out.ipynb"
    nbformat.write(_notebook(), src)
    papermill.execute_notebook(src, out, kernel_name="python3", progress_bar=False, cwd=str(d))
    return out


@pytest.fixture(scope="module")
def report(executed: Path) -> str:
    html_path = export_html(executed, executed.parent / "out" / "report.html", title=TITLE)
    assert html_path == executed.parent / "out" / "report.html"
    return html_path.read_text(encoding="utf-8")


class _Outline(HTMLParser):
    """Ids of all elements, headings (level, id, text) and the table-of-contents links (href, inner HTML)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.headings: list[tuple[int, str, str]] = []
        self.toc: list[tuple[str, str]] = []
        self._heading: list | None = None
        self._in_nav = False
        self._link: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "nav" and "chanlib-toc" in (a.get("class") or ""):
            self._in_nav = True
        elif self._in_nav and tag == "a":
            self._link = a["href"]
        elif re.fullmatch(r"h[1-6]", tag) and not self._in_nav:
            self._heading = [int(tag[1]), a.get("id"), ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_nav = False
        elif self._heading and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], self._heading[1], " ".join(self._heading[2].split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading:
            self._heading[2] += data
        if self._link is not None:
            self.toc.append((self._link, data))
            self._link = None


# ---------------------------------------------------------------------------------------------------- the report


def test_no_code_inputs_and_no_prompts(report: str) -> None:
    assert INPUT_MARKER not in report
    assert "import pandas" not in report and "sns.barplot" not in report
    for marker in ("jp-InputPrompt", "jp-OutputPrompt", "In&nbsp;[", "Out[", "jp-CodeMirrorEditor", "cm-editor"):
        assert marker not in report.split("<body", 1)[1], marker


def test_nothing_loaded_from_outside_the_file(report: str) -> None:
    assert external_references(report) == []
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", report, re.IGNORECASE)
    assert not re.search(r"<link\b[^>]*\bhref\s*=", report, re.IGNORECASE)
    assert "@import" not in report
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", report, re.IGNORECASE)
    for cdn in ("cdnjs", "unpkg", "jsdelivr", "require.js", "mathjax", "mermaid.esm", "html-manager"):
        assert cdn not in report.lower(), cdn
    assert "<script" not in report  # the template emits no script at all


def test_figure_table_and_outputs_are_kept(report: str) -> None:
    assert re.search(r'<img[^>]*\bsrc="data:image/png;base64,[A-Za-z0-9+/=\s]{1000,}"', report)
    assert '<table border="1" class="dataframe">' in report
    assert "Partner" in report and "120.50" in report
    assert "zx-stdout-visible" in report
    assert "after widget" in report


def test_title_is_set_and_escaped(report: str) -> None:
    assert '<title>Q3 &lt;Channel&gt; report &amp; "notes"</title>' in report


def test_stderr_is_dropped(report: str) -> None:
    assert "zx-stderr-warning" not in report
    assert "UserWarning" not in report
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in report


def test_cells_tagged_remove_cell_or_hide_are_dropped(report: str) -> None:
    for marker in ("zx-removed-cell-output", "zx-hidden-cell-output", "zx-hidden-markdown"):
        assert marker not in report, marker


def test_widget_output_and_state_are_dropped(executed: Path, report: str) -> None:
    nb = nbformat.read(executed, as_version=4)
    assert "widgets" in nb.metadata  # papermill/nbclient did store widget state: there was something to drop
    assert "application/vnd.jupyter.widget" not in report
    assert "zx-widget" not in report and "IntSlider" not in report


def test_plain_lab_template_would_fetch_from_cdns(executed: Path) -> None:
    """Why the template exists: the stock lab export of the same notebook loads require.js, MathJax, the widget
    manager."""
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(executed, as_version=4))
    refs = external_references(body)
    assert any("require" in r for r in refs)
    assert any("mathjax" in r for r in refs)
    assert any("unpkg.com" in r for r in refs)  # only in an inline script that adds the html-manager <script>
    assert any("mermaid" in r for r in refs)


def test_table_of_contents_links_every_h1_to_h3(report: str) -> None:
    outline = _Outline(report)
    wanted = [(level, anchor, text) for level, anchor, text in outline.headings if level <= 3]
    assert [text for _, _, text in wanted] == [
        "Channel report",
        "Revenue <b>& costs",
        "Margin & mix",
        "Notes",
        "Notes",
        "Generated section",
    ]
    assert all(anchor for _, anchor, _ in wanted)
    assert len(set(outline.ids)) == len(outline.ids)  # ids are unique, the second "Notes" too
    assert outline.toc == [("#" + anchor, text) for _, anchor, text in wanted]
    assert report.index('<nav class="chanlib-toc" aria-label="Table of contents">') < report.index("<h1")
    assert ("h4" not in {f"h{level}" for level, _, _ in wanted}) and "Deep heading" not in report.split("</nav>")[0]


def test_table_of_contents_escapes_heading_text(report: str) -> None:
    nav = report[report.index("<nav") : report.index("</nav>")]
    assert ">Revenue &lt;b&gt;&amp; costs</a>" in nav
    assert ">Margin &amp; mix</a>" in nav
    assert "<b>" not in nav and "<code>" not in nav


def test_heading_ids_follow_jupyter(report: str) -> None:
    ids = {text: anchor for _, anchor, text in _Outline(report).headings}
    # what JupyterLab and nbconvert give, so [x](#Channel-report) works
    assert ids["Channel report"] == "Channel-report"
    assert ids["Revenue <b>& costs"] == "Revenue-%3Cb%3E&-costs"
    assert ids["Margin & mix"] == "Margin-&-mix"
    assert 'href="#Notes"' in report and 'href="#Notes-2"' in report


def test_javascript_outputs_fall_back_and_errors_stay(tmp_path: Path) -> None:
    """Outputs as a kernel stores them; nbconvert renders them for real."""
    from nbformat.v4 import new_output

    outputs = [
        new_output("display_data", data={"application/javascript": "alert('zx-js-1')", "text/plain": "zx-js-fallback"}),
        new_output("display_data", data={"application/javascript": "alert('zx-js-2')"}),
        new_output("error", ename="ValueError", evalue="zx-bad-value", traceback=["ValueError: zx-bad-value"]),
    ]
    nb = new_notebook(cells=[new_code_cell("display(js)", outputs=outputs)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nbconvert warns about outputs it cannot represent: there must be none
        text = export_html(nb, tmp_path / "js.html", title="t").read_text(encoding="utf-8")
    assert "zx-js-fallback" in text
    assert "zx-js-1" not in text and "zx-js-2" not in text and "<script" not in text
    assert "zx-bad-value" in text  # an error output is part of the notebook's result and is kept


# ---------------------------------------------------------------------------------------------------- export mechanics


def test_export_from_a_node_leaves_the_node_alone(executed: Path, tmp_path: Path) -> None:
    nb = nbformat.read(executed, as_version=4)
    before = json.dumps(nb, sort_keys=True)
    out = export_html(nb, tmp_path / "node.html", title="From a node")
    assert json.dumps(nb, sort_keys=True) == before
    assert "<title>From a node</title>" in out.read_text(encoding="utf-8")


def test_a_failing_check_writes_nothing(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_markdown_cell('# Hi\n\n<script src="https://evil.example/x.js"></script>')])
    html_path = tmp_path / "reports" / "evil.html"
    with pytest.raises(ChanlibError, match=re.escape("https://evil.example/x.js")):
        export_html(nb, html_path, title="evil")
    assert not html_path.exists()
    assert not html_path.parent.exists()  # not even the directory


def test_a_failing_check_keeps_the_previous_report(tmp_path: Path) -> None:
    html_path = tmp_path / "report.html"
    html_path.write_text("previous report", encoding="utf-8")
    nb = new_notebook(cells=[new_markdown_cell("![logo](https://evil.example/logo.png)")])
    with pytest.raises(ChanlibError, match="evil.example/logo.png"):
        export_html(nb, html_path, title="t")
    assert html_path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_export_replaces_an_existing_report_and_leaves_no_temp_file(tmp_path: Path) -> None:
    html_path = tmp_path / "report.html"
    html_path.write_text("previous report", encoding="utf-8")
    nb = new_notebook(cells=[new_markdown_cell("# Fresh\n\nA [link](https://example.com) is fine.")])
    export_html(nb, html_path, title="t")
    text = html_path.read_text(encoding="utf-8")
    assert 'href="https://example.com"' in text and 'href="#Fresh"' in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_markdown_image_next_to_the_notebook_is_embedded(tmp_path: Path) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    (tmp_path / "logo.png").write_bytes(png)
    nb_path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("![logo](logo.png)")]), nb_path)
    text = export_html(nb_path, tmp_path / "out.html", title="t").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in text
    assert "<nav" not in text  # no headings, no table of contents


def test_an_image_without_alt_text_gets_the_stock_one_and_others_keep_theirs(tmp_path: Path) -> None:
    pixel = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    nb = new_notebook(cells=[new_markdown_cell(f'<img src="{pixel}">\n\n<IMG ALT="a logo" src="{pixel}">\n\n'
                                               f'<img\nsrc="{pixel}" alt="">')])
    nb.cells.append(new_markdown_cell(f'<svg width="4" height="4"><image href="{pixel}" width="4" height="4"/></svg>'))
    text = export_html(nb, tmp_path / "out.html", title="t").read_text(encoding="utf-8")
    assert text.count("No description has been provided for this image") == 1
    assert 'alt="a logo"' in text and 'alt=""' in text
    assert re.search(r'<image [^>]*href="data:image/gif', text)  # an inline SVG's <image> is not an <img>


def test_template_ships_with_the_package() -> None:
    conf = json.loads((TEMPLATE_DIR / TEMPLATE_NAME / "conf.json").read_text())
    assert conf["base_template"] == "lab"
    assert "extends 'lab/index.html.j2'" in (TEMPLATE_DIR / TEMPLATE_NAME / "index.html.j2").read_text()


# ------------------------------------------------------------------------------------------------ external_references


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('<script src="https://cdn.example/a.js"></script>', ["https://cdn.example/a.js"]),
        ("<script src='//cdn.example/a.js'></script>", ["//cdn.example/a.js"]),
        ('<SCRIPT SRC="local.js"></SCRIPT>', ["local.js"]),
        ('<link rel="stylesheet" href="https://fonts.example/css?family=X">', ["https://fonts.example/css?family=X"]),
        ('<link rel="icon" href="favicon.ico">', ["favicon.ico"]),
        ('<img src="http://example.com/a.png" alt="">', ["http://example.com/a.png"]),
        ('<img src="figure.png">', ["figure.png"]),
        ('<img srcset="https://x.example/a.png 1x, data:image/png;base64,AA 2x">', ["https://x.example/a.png"]),
        ('<iframe src="https://www.youtube.com/embed/x"></iframe>', ["https://www.youtube.com/embed/x"]),
        ('<iframe srcdoc="&lt;script src=&quot;https://leaflet.example/l.js&quot;&gt;&lt;/script&gt;"></iframe>',
         ["https://leaflet.example/l.js"]),
        ('<video poster="https://x.example/p.jpg"><source src="https://x.example/v.mp4"></video>',
         ["https://x.example/p.jpg", "https://x.example/v.mp4"]),
        ('<object data="https://x.example/o.svg"></object>', ["https://x.example/o.svg"]),
        ('<svg><image href="https://x.example/i.png"/><use xlink:href="sprite.svg#a"/></svg>',
         ["https://x.example/i.png", "sprite.svg#a"]),
        ('<div data-x="1" src="//tracker.example/p.gif"></div>', ["//tracker.example/p.gif"]),
        ("<style>@import 'https://x.example/a.css';</style>", ["https://x.example/a.css"]),
        ('<style>@import url("theme.css");</style>', ["theme.css"]),
        ("<style>@font-face { src: url(https://fonts.example/f.woff2) }</style>", ["https://fonts.example/f.woff2"]),
        ('<style>.a { background: url( "//x.example/b.png" ) }</style>', ["//x.example/b.png"]),
        ('<p style="background-image: url(\'https://x.example/bg.png\')">x</p>', ["https://x.example/bg.png"]),
        ("<script>var s = document.createElement('script'); s.src = 'https://unpkg.com/m.js';</script>",
         ["https://unpkg.com/m.js"]),
        ('<script type="module">await import("//cdn.example/m.mjs")</script>', ["//cdn.example/m.mjs"]),
        ('<script src="https://a.example/x.js"></script><script src="https://a.example/x.js"></script>',
         ["https://a.example/x.js"]),
    ],
)
def test_external_references_finds(snippet: str, expected: list[str]) -> None:
    assert external_references(snippet) == expected


@pytest.mark.parametrize(
    "snippet",
    [
        '<a href="https://example.com/docs">docs</a>',
        '<a href="//example.com/">x</a><area href="https://example.com/map">',
        '<a href="#section-2">jump</a><a href="other-report.html">next</a><a href="mailto:a@b.example">mail</a>',
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="figure">',
        '<link rel="icon" href="data:image/svg+xml,%3Csvg%3E%3C/svg%3E">',
        '<style>.x { background: url(data:image/svg+xml;base64,PHN2Zz4=); mask: url(#clip) }</style>',
        "<style>/* see https://github.com/jupyterlab/jupyterlab */ body { color: #333 }</style>",
        '<svg><use href="#icon-check"/></svg>',
        '<script type="application/vnd.jupyter.widget-state+json">{"url": "https://example.com/x.js"}</script>',
        "<script>var element = document.getElementById('x');</script>",
        "<p>Read https://example.com/report for background; url(https://x.example/y.png) is just text.</p>",
        '<pre>&lt;script src="https://evil.example/x.js"&gt;&lt;/script&gt;</pre>',
        '<script src=""></script><iframe src="about:blank"></iframe>',
    ],
)
def test_external_references_ignores(snippet: str) -> None:
    assert external_references(snippet) == []
