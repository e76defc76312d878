"""The explorer in a real JupyterLab, driven by a real browser.

One ``jupyter lab`` on 127.0.0.1 with a token and no browser of its own; Playwright for Python drives Debian's
``chromium`` (``make test`` installs it when it is missing and it can; nothing here downloads a browser). The test
opens ``explorer.ipynb`` (parameterised with papermill to read the session's small demo store), runs all cells,
changes the region dropdown, and checks that the chart's title (the image's alt text) and the table's first row
change to the new region, that no cell shows an error, and that the export button writes the region's table. It
saves a screenshot to ``test-artifacts/`` (git-ignored) with the time the redraw took in the browser.

It is skipped, saying why, only when Chromium is not installed.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "explorer.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
BIN = Path(sys.executable).parent
#: how long JupyterLab, the kernel and the widgets may take on a busy 2-core machine
STARTUP_S = 120
STEP_MS = 30_000


def _chromium() -> str:
    path = os.environ.get("CHANLIB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get when run as root or "
                    "with sudo); the JupyterLab browser test needs it")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path, demo_store: Path):
    """``jupyter lab`` serving a folder that holds explorer.ipynb parameterised for the session's demo store:
    yields (base URL, token, folder); stopped (by its own pid) after the test."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    chromium = _chromium()
    folder = tmp_path / "lab"
    folder.mkdir()
    parameters = {"params_path": str(demo_store.parent / "params.yaml"), "store_path": str(demo_store)}
    nb = parameterize_notebook(load_notebook_node(str(NOTEBOOK)), parameters)
    nbformat.write(nb, folder / "explorer.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen([str(BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                             *(["--allow-root"] if os.geteuid() == 0 else [])],
                            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, folder, chromium
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _errors(page) -> list[str]:
    """The text of every error output the notebook shows."""
    return [t for t in page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            .all_inner_texts() if "Error" in t or "Traceback" in t]


def test_explorer_in_jupyterlab(lab, demo_store: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from chanlib.data import store

    base, token, folder, chromium = lab
    con = store.connect(demo_store)
    try:
        regions = store.regions(con)
    finally:
        con.close()
    new_region = regions[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            page.set_default_timeout(STEP_MS)
            expect.set_options(timeout=STEP_MS)
            page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}")
            page.locator(".jp-NotebookPanel").first.wait_for()
            _answer_dialogs(page)
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_attached()
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()

            explorer = page.locator(".chanlib-explorer")
            chart = explorer.locator(".jp-OutputArea-output img").first
            expect(chart).to_have_attribute("alt", _starts("Revenue by channel: all regions"))
            first_row = explorer.locator("table.chanlib-table tbody tr").first.locator("td").first
            expect(first_row).to_have_text("All regions")

            region = explorer.locator(".widget-dropdown", has=page.locator("label", has_text="Region")).locator(
                "select")
            started = time.perf_counter()
            region.select_option(new_region)
            expect(chart).to_have_attribute("alt", _starts(f"Revenue by channel: {new_region}"))
            expect(first_row).to_have_text(new_region)
            redraw = time.perf_counter() - started

            page.get_by_role("button", name="Export table to CSV").click()
            expect(explorer.get_by_text("Exported to")).to_be_visible()
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_attached()
            assert _errors(page) == []
            chart.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "jupyterlab_explorer.png"))
            (ARTIFACTS / "jupyterlab_explorer.txt").write_text(
                f"explorer redraw after the region dropdown changed, in the browser: {redraw:.2f} s "
                f"(small demo, {new_region})\n", encoding="utf-8")
            page.keyboard.press("Control+s")
            time.sleep(1.0)
        except BaseException:  # what the browser showed when it failed, for the reader of the CI log
            page.screenshot(path=str(ARTIFACTS / "jupyterlab_explorer_failed.png"), full_page=True)
            (ARTIFACTS / "jupyterlab_explorer_failed.html").write_text(page.content(), encoding="utf-8")
            raise
        finally:
            browser.close()

    exports = sorted((folder / "reports" / "exports").glob(f"explorer_{new_region}_*.csv"))
    assert len(exports) == 1, list((folder / "reports").rglob("*"))
    import pandas as pd

    table = pd.read_csv(exports[0])
    assert set(table["region"]) == {new_region} and len(table) > 1
    saved = nbformat.read(folder / "explorer.ipynb", as_version=4)
    outputs = [o for c in saved.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs and not [o for o in outputs if o.get("output_type") == "error"]
    assert all(c.get("execution_count") for c in saved.cells if c.cell_type == "code")


def _answer_dialogs(page) -> None:
    """Start the notebook's own kernel if JupyterLab asks which one (it may, on a fresh server), and decline the
    news notification, as a user would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True).click(timeout=8_000)
    except PlaywrightTimeout:
        pass
    news = page.get_by_role("alert").get_by_role("button", name="No", exact=True)
    if news.count():
        news.click()


def _starts(text: str):
    import re

    return re.compile("^" + re.escape(text))
