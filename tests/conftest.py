"""Shared fixtures: the real public data in ../shared/data and a small demo generated once per session."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CHANLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only public data sets beside the checkout."""
    if not (SHARED_DATA / "superstore.csv").exists():
        pytest.fail(f"real data not found in {SHARED_DATA}; set CHANLIB_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def superstore_csv(shared_data: Path) -> Path:
    return shared_data / "superstore.csv"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo (seed 42), generated once; tests that change it copy it first."""
    from chanlib.demo import generate

    out = tmp_path_factory.mktemp("demo") / "small"
    generate(out, size="small", seed=42)
    return out


@pytest.fixture
def demo_copy(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the small demo (without its store) that a test may modify."""
    target = tmp_path / "demo"
    shutil.copytree(demo_dir, target, ignore=shutil.ignore_patterns("*.duckdb*", "*_rejects"))
    return target


def write_params(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
