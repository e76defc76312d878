"""The command line as scheduled runs call it: demo, ingest, segment; exit codes and outputs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def _chanlib(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chanlib.cli", *args], capture_output=True, text=True, cwd=cwd)


def _demo_ingest_segment(background, folder: Path) -> list[subprocess.CompletedProcess]:
    """demo, ingest, segment, one after another as a scheduled run calls them (in the background thread)."""
    def command(*args: str) -> subprocess.CompletedProcess:
        return background.run([sys.executable, "-m", "chanlib.cli", *args], folder)

    demo = command("demo", "--size", "small", "--seed", "7", "--out", "d")
    if demo.returncode != 0:
        return [demo]
    params = folder / "d" / "params.yaml"
    params.write_text(params.read_text() + "forecast: {enabled: false}\n")  # the forecasts are tested elsewhere
    ingest = command("ingest", "--params", "d/params.yaml")
    return [demo, ingest, command("segment", "--params", "d/params.yaml", "--out", str(folder / "segments.parquet"))]


def _start_demo_ingest_segment(request, background):
    folder = request.getfixturevalue("tmp_path_factory").mktemp("cli")
    return background.call(folder, _demo_ingest_segment, background, folder)


#: this module's work that starts in the background as the session starts (see tests/conftest.py)
BACKGROUND = {"demo_ingest_segment": _start_demo_ingest_segment}


@pytest.fixture(scope="module")
def demo_ingest_segment(request, background):
    return background.module_job(request, "demo_ingest_segment")


def test_demo_ingest_and_segment(demo_ingest_segment):
    tmp_path = demo_ingest_segment.folder
    demo, *rest = demo_ingest_segment.result()
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "d/params.yaml"
    ingest, seg = rest
    assert ingest.returncode == 0, ingest.stderr
    assert "sales" in ingest.stdout and (tmp_path / "d" / "chanlib.duckdb").exists()
    out = tmp_path / "segments.parquet"
    assert seg.returncode == 0, seg.stderr
    frame = pd.read_parquet(out)
    assert list(frame.columns[:3]) == ["partner_id", "segment_id", "segment_name"]
    partners = pd.read_csv(tmp_path / "d" / "partners.csv")
    assert set(frame["partner_id"]) <= set(partners["partner_id"]) and len(frame) > 0
    assert frame["segment_name"].notna().all()


def test_usage_errors_exit_2(tmp_path):
    assert _chanlib("demo", "--size", "huge", cwd=tmp_path).returncode == 2
    assert _chanlib("kpi", "--params", "x.yaml", cwd=tmp_path).returncode == 2  # --out is required
    assert _chanlib("report", "--workers", "0", cwd=tmp_path).returncode == 2
    missing = _chanlib("validate", "--params", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 1 and "nope.yaml: params file not found" in missing.stderr
