"""The bad-input corpus (issue #13, tests/corpus/generate.py): every case through ``chanlib validate`` and
``chanlib report``.

A rejected case exits 1 with exactly one error line holding the case's fragment, no traceback, and leaves the store,
the reports folder and ``latest`` byte for byte as they were; a repaired case exits 0 and says what it repaired in the
data-quality summary (the terminal's and the run's quality page). Every message the corpus produces is one that
docs/what-can-go-wrong.md explains. The commands run in-process (``chanlib.cli.main``); a few run as the real
console script, where a traceback could hide from an in-process run.
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from corpus.generate import CASES, REJECT, REPAIR, Inputs, generate

from chanlib.build import build_store
from chanlib.cli import main
from chanlib.config import load_params
from chanlib.data.ingest import validate
from chanlib.report.quality import render_quality

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "what-can-go-wrong.md"
BY_NAME = {c.name: c for c in CASES}
REJECTS = [c.name for c in CASES if c.outcome == REJECT]
REPAIRS = [c.name for c in CASES if c.outcome == REPAIR]
#: the messages the corpus produced, for the check that each documented message occurs
SEEN: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def corpus(demo_dir: Path, superstore_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    """The generated corpus, and the state a rejected run must leave alone: a store and a finished report run whose
    folder ``latest`` points at."""
    out = tmp_path_factory.mktemp("corpus")
    made = generate(out, demo_dir, superstore_csv)
    state = out / "state"
    duckdb.connect(str(state / "chanlib.duckdb")).close()  # an (empty) store of an earlier run
    run = state / "reports" / "20260101-020000"
    run.mkdir(parents=True)
    (run / "index.html").write_text("<html>last night's run</html>", encoding="utf-8")
    (state / "reports" / "latest").symlink_to(run.name)
    return out, made


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file, folder and link under ``folder``: kind, size, modification time and content hash."""
    entries: dict[str, tuple] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            entries[key] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[key] = ("dir",)
        else:
            stat = path.stat()
            entries[key] = ("file", stat.st_size, stat.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return entries


def run_cli(capsys: pytest.CaptureFixture[str], command: str, inputs: Inputs) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([command, *inputs.args()])
    out, err = capsys.readouterr()
    return code, out, err


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR: " in line]


def documented() -> list[tuple[str, re.Pattern[str]]]:
    """The messages docs/what-can-go-wrong.md explains: each ``### `...` `` heading, as a pattern (``<N>`` a
    number, ``<rows>`` row numbers, ``<key>`` a dotted params key, any other ``<...>`` some text, ``…`` any text)."""
    patterns = []
    for template in re.findall(r"^### `(.+)`$", DOCS.read_text(encoding="utf-8"), flags=re.M):
        parts = re.split(r"(<[^>]+>|…)", template)
        regex = "".join(
            r"\d+" if p in ("<N>", "<n>", "<m>", "<i>", "<j>") else r"[\d, ]+" if p == "<rows>" else
            r"[\w.\-]+" if p == "<key>" else ".*?" if p == "…" else ".+?" if p.startswith("<") and p.endswith(">")
            else re.escape(p) for p in parts)
        patterns.append((template, re.compile(regex)))
    return patterns


def assert_documented(message: str, name: str) -> None:
    matches = [template for template, pattern in documented() if pattern.fullmatch(message)]
    assert matches, f"{name}: message not explained in {DOCS.name}: {message}"
    SEEN.setdefault(name, set()).update(matches)
    reason = re.search(r"most common: (\w+)", message)
    if reason:  # the row reason is in the page's table of reasons (`missing_<column>`, `duplicate_row`)
        rows = re.findall(r"^\| `([\w<>]+)` \|", DOCS.read_text(encoding="utf-8"), flags=re.M)
        patterns = [re.escape(r).replace("<column>", r"\w+") for r in rows]
        assert any(re.fullmatch(p, reason.group(1)) for p in patterns), f"{reason.group(1)} not in {rows}"


@pytest.mark.parametrize("name", REJECTS)
def test_rejected_with_one_line_and_nothing_written(corpus, capsys, name):
    out, made = corpus
    case, inputs = made[name]
    if name == "unreadable_file" and os.geteuid() == 0:
        pytest.skip("root reads a file without read permission")
    before = snapshot(out / "state")
    for command in ("validate", "report"):
        code, stdout, stderr = run_cli(capsys, command, inputs)
        errors = error_lines(stderr)
        assert code == 1, f"{command} {name}: exit {code}\n{stderr[-2000:]}"
        assert len(errors) == 1, f"{command} {name}: {len(errors)} error lines:\n{stderr}"
        assert case.fragment in errors[0], f"{command} {name}: {errors[0]}"
        assert "Traceback" not in stderr and stdout == ""
        assert snapshot(out / "state") == before, f"{command} {name} changed the store or the reports"
    message = errors[0].split(" ERROR: ", 1)[1]
    assert message.startswith(("/", "--data ")), f"{name}: the message names no file: {message}"
    assert_documented(message, name)


@pytest.mark.parametrize("name", REPAIRS)
def test_repaired_and_said_in_the_quality_summary(corpus, capsys, name):
    _, made = corpus
    case, inputs = made[name]
    code, stdout, stderr = run_cli(capsys, "validate", inputs)
    assert code == 0, stderr[-2000:]
    assert any(line.strip().startswith("repaired: ") and case.fragment in line for line in stdout.splitlines())
    assert not error_lines(stderr)
    # the run's quality page is made from the same records (the store's metadata: QualityReport.to_frame())
    quality = validate(load_params(inputs.params, inputs.data))
    page = html.unescape(render_quality("corpus", quality.to_frame().to_dict(orient="records"), {}, {}))
    assert "Repaired, and read on: " in page and case.fragment in page
    sales = next(t for t in quality.tables if t.table == "sales")
    assert sales.rows_rejected == 0 and sales.rows_kept == sales.rows_read
    for repair in sales.repairs:
        assert_documented(repair, name)


def test_the_base_is_clean_and_nothing_is_repaired(corpus, capsys):
    out, _ = corpus
    code, stdout, stderr = run_cli(capsys, "validate", Inputs(out / "base" / "params.yaml"))
    assert code == 0, stderr
    assert "repaired" not in stdout and "rejected 0" in stdout and ", rejected 1" not in stdout


def test_totals_row_drop_is_strict(corpus):
    """A last row labelled Total whose amounts are not the column sums is no totals row: it stays a row (set aside
    for its missing region), and nothing is said to be repaired."""
    out, made = corpus
    _, inputs = made["totals_row"]
    lines = inputs.data["sales"].read_text(encoding="utf-8").splitlines()
    fields = lines[-1].split(",")
    fields[-2] = f"{float(fields[-2]) + 1:.2f}"  # revenue one off its column's sum
    path = out / "cases" / "totals_row" / "off_by_one.csv"
    path.write_text("\n".join(lines[:-1] + [",".join(fields)]) + "\n", encoding="utf-8")
    sales = validate(load_params(inputs.params, {"sales": path})).tables[0]
    assert sales.repairs == []
    assert sales.rows_read == len(lines) - 1 and sales.rejected == {"unparseable_date": 1}
    assert sales.examples == {"unparseable_date": [len(lines)]}


def test_sales_partner_not_in_partners_is_set_aside(corpus, tmp_path):
    """A sales line naming a partner the partners table lacks is set aside as unknown_partner_id (here 2 % of the
    lines, under the 5 % reject share: the run goes on); without a partners table any partner id is taken as it
    is. The summary lists sales first although the master tables are loaded before it."""
    out, _ = corpus
    frame = pd.read_csv(out / "base" / "sales.csv", dtype=str, keep_default_na=False)
    frame.loc[frame.index[7::50], "partner_id"] = "P99999"
    path = tmp_path / "sales.csv"
    frame.to_csv(path, index=False)
    expected = [i + 2 for i in range(7, len(frame), 50)]  # spreadsheet rows: the header is row 1
    assert expected[:3] == [9, 59, 109]
    quality = validate(load_params(out / "base" / "params.yaml", {"sales": path}))
    assert [t.table for t in quality.tables] == ["sales", "channels", "products", "partners", "targets", "inventory"]
    sales = quality.tables[0]
    assert sales.rejected == {"unknown_partner_id": len(expected)}
    assert sales.examples["unknown_partner_id"] == expected[:5] and sales.rows_kept == len(frame) - len(expected)

    params = yaml.safe_load((out / "base" / "params.yaml").read_text(encoding="utf-8"))
    del params["tables"]["partners"]
    no_partners = tmp_path / "params.yaml"
    no_partners.write_text(yaml.safe_dump(params), encoding="utf-8")
    quality = validate(load_params(no_partners, {"sales": path}))
    assert all(t.rows_rejected == 0 for t in quality.tables), quality.render()


@pytest.mark.parametrize("name", ["totals_row", "xlsx_date_cells_with_csv_params"])
def test_repairs_on_the_index_and_in_the_notebook(corpus, name):
    """What ingest repaired is said on the run's index page and in the region notebook's data-quality section too:
    one line per repaired table (not one per reason row), escaped."""
    from chanlib.report import sections
    from chanlib.report.runner import render_index

    _, made = corpus
    case, inputs = made[name]
    params = load_params(inputs.params, inputs.data)
    records = validate(params).to_frame().to_dict(orient="records")
    records += [{"table": "targets", "file": "t.csv", "rows_read": 3, "rows_kept": 2, "rows_rejected": 1,
                 "repairs": "2 date cells of column '<b>Period</b>' read as dates", "reason": r, "count": 1,
                 "example_rows": "3"} for r in ("missing_period", "duplicate_key")]  # two rows of one table
    meta = {"quality": records}

    page = render_index(params, [], pd.DataFrame(), meta, "run")
    lines = re.findall(r'<p class="repaired">(.*?)</p>', page)
    assert len(lines) == 2 and lines[0].startswith("Repaired in sales, and read on: ")
    assert case.fragment in html.unescape(lines[0])
    assert lines[1] == ("Repaired in targets, and read on: 2 date cells of column &#39;&lt;b&gt;Period&lt;/b&gt;&#39; "
                        "read as dates.")
    assert "<b>Period" not in page

    ctx = sections.RegionContext(region="R", params=params, con=duckdb.connect(), meta=meta)
    texts = [getattr(out, "data", "") for out in sections.data_quality(ctx)]  # (About the data: after the windows)
    notes = [t for t in texts if t.startswith("Repaired in ")]
    assert len(notes) == 2 and notes[0].startswith("Repaired in **sales**, and read on: ")
    assert case.fragment in html.unescape(notes[0]).replace("\\", "")
    assert notes[1] == ("Repaired in **targets**, and read on: 2 date cells of column &#x27;&lt;b&gt;Period&lt;/b&gt;"
                        "&#x27; read as dates.")


def test_repair_reaches_the_store(corpus):
    """The store build of a repaired input keeps the note in the store's data-quality summary, from which the run's
    quality page is made."""
    from chanlib.data import store

    _, made = corpus
    case, inputs = made["totals_row"]
    params = load_params(inputs.params, inputs.data)
    build_store(params, analyses=())  # the build's ingest and metadata, without the analyses (seconds)
    con = store.connect(params.store)
    try:
        quality = store.read_meta(con)["quality"]
    finally:
        con.close()
    assert any(case.fragment in q["repairs"] for q in quality if q["table"] == "sales")


#: cases run once more through the real console script: a traceback printed before logging is set up, or by the
#: interpreter on the way out, would not show in-process
SUBPROCESS = ["data_path_is_a_folder", "params_wrong_type", "truncated_last_line"]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_console_script_prints_one_line(corpus, name):
    out, made = corpus
    case, inputs = made[name]
    before = snapshot(out / "state")
    script = Path(sys.executable).parent / "chanlib"
    result = subprocess.run([str(script), "report", *inputs.args()], capture_output=True, text=True, cwd=out)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and case.fragment in errors[0], result.stderr
    assert snapshot(out / "state") == before


def test_every_documented_message_occurs_in_the_corpus():
    """Run last: each message the page explains was produced by some case (the page does not drift from the code).
    Only meaningful when the whole file ran."""
    if len(SEEN) < len(REJECTS) + len(REPAIRS) - 2:
        pytest.skip("only part of the corpus ran")
    seen = set().union(*SEEN.values())
    unused = [t for t, _ in documented() if t not in seen
              and not (os.geteuid() == 0 and t.startswith("<file>: cannot be read (table"))]  # unreadable_file
    assert unused == [], f"documented but produced by no case: {unused}"


def test_case_table_is_complete():
    """At least 40 cases, unique names, and the issue's kinds of bad input each present."""
    names = [c.name for c in CASES]
    assert len(names) >= 40 and len(set(names)) == len(names)
    for needed in ("missing_required_column", "renamed_required_column", "semicolon_delimiter", "mixed_encoding",
                   "utf8_bom", "unparseable_dates", "ambiguous_dates", "dates_in_the_future",
                   "excel_serial_dates_in_csv", "xlsx_date_cells_with_csv_params", "thousands_separators",
                   "currency_symbols", "negative_amounts", "nan_amounts", "infinite_amounts",
                   "absurdly_large_amounts", "duplicated_rows", "duplicated_order_lines", "totals_row", "empty_file",
                   "header_only", "truncated_last_line", "unknown_regions_in_targets", "unknown_channels_in_targets",
                   "partners_referenced_not_defined", "params_unknown_key", "params_wrong_type",
                   "params_missing_data_path", "unreadable_file"):
        assert needed in BY_NAME, needed
