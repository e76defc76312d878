"""The command line as scheduled runs call it: demo, ingest, segment; exit codes and outputs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd


def _chanlib(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chanlib.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_demo_ingest_and_segment(tmp_path):
    demo = _chanlib("demo", "--size", "small", "--seed", "7", "--out", "d", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.strip() == "d/params.yaml"
    ingest = _chanlib("ingest", "--params", "d/params.yaml", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert "sales" in ingest.stdout and (tmp_path / "d" / "chanlib.duckdb").exists()
    out = tmp_path / "segments.parquet"
    seg = _chanlib("segment", "--params", "d/params.yaml", "--out", str(out), cwd=tmp_path)
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
