"""The pages of a report run in a real browser (issue #12, item 7), as a reader opens them from a shared folder.

``chanlib report`` renders one region of a copy of the small demo in which one partner is named
``<script>alert(1)</script>`` (in the session's background, tests/conftest.py). Playwright for Python drives Debian's
``chromium`` headless (``executable_path``; nothing here downloads a browser) through the index, the overview, that
region's report, the data-quality page and the definitions, each opened from ``file://`` at a phone's width
(375 px), and checks:

- no request leaves the file (every request is a ``file:`` URL);
- no JavaScript error (uncaught exceptions and console errors) and no dialog (the partner's name never runs);
- the partner's name is on the region's page as text;
- the page body does not scroll sideways: ``document.body.scrollWidth`` <= 375 (wide tables scroll in their own
  box); when it does, the failure names the elements that stick out.

Screenshots of every page (full length, at 375 px) go to ``test-artifacts/`` (git-ignored). Skipped, saying why, only
when Chromium is not installed.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
#: the hostile partner name, and the partner (of the small demo) that carries it
SCRIPT_NAME = "<script>alert(1)</script>"
PARTNER = "P00001"
PHONE = 375
STEP_MS = 30_000

#: the outermost elements that stick out to the right of the viewport, or whose content spills out of them sideways
#: (not those that scroll it in their own box): what makes a reader at phone width scroll the page
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth, found = [], marked = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect(), overflow = getComputedStyle(el).overflowX;
    const spills = el.scrollWidth > el.clientWidth + 1 && overflow === 'visible';
    if ((box.right > width + 0.5 && box.width > 0) || spills) {
      marked.add(el);
      if (!marked.has(el.parentElement)) {
        found.push(`<${el.tagName.toLowerCase()} class="${el.className}"> `
                   + `"${(el.textContent || '').trim().slice(0, 30)}" right=${Math.round(box.right)} `
                   + `scrollWidth=${el.scrollWidth} clientWidth=${el.clientWidth}`);
      }
    }
  }
  return found.slice(0, 10);
}"""


def _chromium() -> str:
    path = os.environ.get("CHANLIB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get when run as root or "
                    "with sudo); the report browser test needs it")
    return path


def _start_browser_run(request: pytest.FixtureRequest, background: Any) -> Any:
    """A copy of the small demo with the hostile partner name, and ``chanlib report`` of that partner's region."""
    folder = request.getfixturevalue("tmp_path_factory").mktemp("browser")
    demo = request.getfixturevalue("copy_small_demo")(folder / "demo")
    partners = pd.read_csv(demo / "partners.csv", dtype=str, keep_default_na=False)
    assert PARTNER in set(partners["partner_id"])
    partners.loc[partners["partner_id"] == PARTNER, "name"] = SCRIPT_NAME
    partners.to_csv(demo / "partners.csv", index=False)
    region = partners.loc[partners["partner_id"] == PARTNER, "region"].iloc[0]
    (folder / "region.txt").write_text(region, encoding="utf-8")
    return background.command([sys.executable, "-m", "chanlib.cli", "report", "--params", str(demo / "params.yaml"),
                               "--regions", region, "--workers", "1", "--out", str(folder / "reports")], folder)


@pytest.fixture(scope="module")
def browser_run(request: pytest.FixtureRequest, background: Any) -> Any:
    return background.module_job(request, "browser_run")


def test_report_pages_in_a_browser_at_phone_width(browser_run: Any) -> None:
    from playwright.sync_api import sync_playwright

    from chanlib.report.runner import slugify

    chromium = _chromium()
    result = browser_run.result()
    assert result.returncode == 0, result.stderr[-3000:]
    region = (browser_run.folder / "region.txt").read_text(encoding="utf-8")
    run = (browser_run.folder / "reports" / "latest").resolve()
    pages = ["index.html", "overview.html", f"{slugify(region)}.html", "quality.html", "definitions.html"]
    assert all((run / name).exists() for name in pages), sorted(p.name for p in run.iterdir())
    ARTIFACTS.mkdir(exist_ok=True)

    # a canary page that does everything the report pages must not: the checks below do see it
    canary = browser_run.folder / "canary.html"
    canary.write_text('<!DOCTYPE html><body><div style="width: 600px">wide</div><script>alert(1); '
                      'fetch("https://example.invalid/x").catch(() => {}); throw new Error("boom")</script>',
                      encoding="utf-8")

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            page, seen = _open(browser, canary)
            assert seen["dialogs"] == ["1"] and "https://example.invalid/x" in seen["requests"]
            assert any("boom" in e for e in seen["errors"]) and page.evaluate("document.body.scrollWidth") > PHONE
            page.close()
            for name in pages:
                page, seen = _open(browser, run / name)
                assert (run / name).as_uri() in seen["requests"]  # the page itself: the listener works
                outside = [u for u in seen["requests"] if not u.startswith("file://")]
                if outside:
                    problems.append(f"{name}: requests outside the file: {outside[:5]}")
                if seen["errors"]:
                    problems.append(f"{name}: JavaScript errors: {seen['errors'][:5]}")
                if seen["dialogs"]:
                    problems.append(f"{name}: dialogs opened: {seen['dialogs']}")
                width = page.evaluate("document.body.scrollWidth")
                if width > PHONE:
                    problems.append(f"{name}: body.scrollWidth {width} > {PHONE}; sticking out: "
                                    f"{page.evaluate(OVERFLOW_JS)}")
                if name.startswith(slugify(region)):
                    text = page.locator("body").inner_text()
                    if f"{SCRIPT_NAME} ({PARTNER})" not in text:
                        problems.append(f"{name}: the partner {SCRIPT_NAME!r} is not shown as text")
                    scripts = page.evaluate("[...document.scripts].filter(s => s.textContent.includes('alert(1)'))"
                                            ".length")
                    if scripts:
                        problems.append(f"{name}: the partner's name became a script element")
                page.screenshot(path=str(ARTIFACTS / f"report_{name.removesuffix('.html')}_{PHONE}px.png"),
                                full_page=True)
                page.close()
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def _open(browser: Any, path: Path) -> tuple[Any, dict[str, list[str]]]:
    """Open ``path`` from ``file://`` in a new page at phone width; returns the page and what it did: every request's
    URL, every JavaScript error (uncaught or on the console) and every dialog's message (dismissed)."""
    page = browser.new_page(viewport={"width": PHONE, "height": 812})
    page.set_default_timeout(STEP_MS)
    seen: dict[str, list[str]] = {"requests": [], "errors": [], "dialogs": []}

    def on_request(request: Any) -> None:
        seen["requests"].append(request.url)

    def on_error(error: Any) -> None:
        seen["errors"].append(f"uncaught: {error}")

    def on_console(message: Any) -> None:
        if message.type == "error":
            seen["errors"].append(f"console: {message.text}")

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("request", on_request)
    page.on("pageerror", on_error)
    page.on("console", on_console)
    page.on("dialog", on_dialog)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # anything a page would still do after load
    return page, seen


#: the run of this module that starts in the background as the session starts (see tests/conftest.py)
BACKGROUND = {"browser_run": _start_browser_run}
