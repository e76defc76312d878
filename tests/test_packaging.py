"""pyproject.toml and environment.yml pin the same dependencies; the repo has its documented layout; every module
imports on its own."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
#: conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+?)\s*==\s*([^\s;]+)\s*", requirement)
    assert match, f"not an exact pin: {requirement!r}"
    return _norm(match.group(1).split("[")[0]), match.group(2)


def test_pyproject_and_environment_yml_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_pins = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_pins = {}
    for item in env["dependencies"]:
        if isinstance(item, str) and "==" in item:
            name, version = _split(item)
            conda_pins[_norm(CONDA_TO_PYPI.get(name, name))] = version
    assert conda_pins == pip_pins
    assert "python=3.11" in env["dependencies"]


def test_lock_file_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    lock = dict(_split(line) for line in (ROOT / "requirements.lock").read_text().splitlines()
                if line.strip() and not line.startswith("#"))
    for name, version in pins.items():
        assert lock.get(name) == version, name


def test_layout():
    for path in ["chanlib", "notebooks/region_report.ipynb", "params/default.yaml", "params/superstore.yaml",
                 "data/README.md", "reports/README.md", "tests", "bench", "environment.yml", "pyproject.toml",
                 "Makefile", "README.md", ".ci/run", ".gitignore"]:
        assert (ROOT / path).exists(), path
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_module_imports_on_its_own():
    """Entry points (bench scripts, notebooks) import modules in any order: each one imports in a fresh process."""
    import pkgutil
    import subprocess
    import sys

    import chanlib

    modules = ["chanlib"] + sorted(m.name for m in pkgutil.walk_packages(chanlib.__path__, "chanlib."))
    assert {"chanlib.build", "chanlib.data.store", "chanlib.analytics.segment.summary",
            "chanlib.report.runner"} <= set(modules)
    for module in modules:
        result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
        assert result.returncode == 0, f"{module}: {(result.stderr.strip().splitlines() or ['?'])[-1]}"
