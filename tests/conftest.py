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
    from chanlib.data.demo import generate

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


@pytest.fixture(scope="session")
def demo_store(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of a private copy of the small demo, built once per session; open it read-only."""
    from chanlib.build import build_store
    from chanlib.config import load_params

    target = tmp_path_factory.mktemp("demo_store") / "demo"
    shutil.copytree(demo_dir, target, ignore=shutil.ignore_patterns("*.duckdb*", "*_rejects"))
    params = load_params(target / "params.yaml")
    build_store(params)
    return params.store


#: canonical tables whose date column the hand-made stores parse as ISO dates
_DATED = {"sales", "partners", "targets", "costs", "inventory", "feedback", "market"}


@pytest.fixture
def make_store(tmp_path: Path):
    """Build a store from hand-made canonical tables (``make_store(sales=frame, market=frame, ...)``) in ``tmp_path``
    (or a given folder) and return a read-only connection to it."""
    import duckdb

    from chanlib.build import build_store
    from chanlib.config import load_params

    def build(folder: Path | None = None, **tables) -> duckdb.DuckDBPyConnection:
        folder = folder or tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["store: store.duckdb", "currency: EUR", "tables:"]
        for name, frame in tables.items():
            if frame is None:
                continue
            frame.to_csv(folder / f"{name}.csv", index=False)
            date_format = "\n    date_format: '%Y-%m-%d'" if name in _DATED else ""
            lines.append(f"  {name}:\n    path: {name}.csv{date_format}")
        (folder / "p.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        params = load_params(folder / "p.yaml")
        build_store(params)
        return duckdb.connect(str(params.store), read_only=True)

    return build
