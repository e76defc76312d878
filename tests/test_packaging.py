"""pyproject.toml and environment.yml pin the same dependencies; the repo has its documented layout; every module
imports on its own."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
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


#: run in one fresh interpreter: import the third-party modules chanlib imports at module level once (what importing
#: any chanlib module loads anyway), then import each chanlib module (argv) in its own forked child, so no chanlib
#: module is loaded before the one under test; prints one "module: last line of the error" per failure
_IMPORT_EACH = r"""
import os
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[name] = "1"  # no thread pools in a process that forks
import ast, importlib, sys, traceback
from pathlib import Path

package = Path(sys.argv[1])
third_party = set()
for path in package.rglob("*.py"):
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        third_party.update(names)
skip = set(sys.stdlib_module_names) | {"chanlib", "__future__"}
for name in sorted(third_party):
    if name.split(".")[0] not in skip:
        importlib.import_module(name)
assert not any(m == "chanlib" or m.startswith("chanlib.") for m in sys.modules)
running = {}  # pid -> module; as many children at a time as there are cores


def reap():
    pid, status = os.wait()
    module = running.pop(pid)
    if status and os.waitstatus_to_exitcode(status) != 1:
        print(f"{module}: child ended with status {status}", flush=True)


for module in sys.argv[2:]:
    if len(running) >= (os.cpu_count() or 1):
        reap()
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(module)
        except BaseException:
            lines = traceback.format_exc().strip().splitlines() or ["?"]
            print(f"{module}: {lines[-1]}", flush=True)
            os._exit(1)
        os._exit(0)
    running[pid] = module
while running:
    reap()
"""


def _modules() -> list[str]:
    import pkgutil

    import chanlib

    return ["chanlib"] + sorted(m.name for m in pkgutil.walk_packages(chanlib.__path__, "chanlib."))


def _start_import_each_module(request, background):
    """The import check in its own interpreter, in the background (tests/conftest.py)."""
    import sys

    import chanlib

    folder = request.getfixturevalue("tmp_path_factory").mktemp("imports")
    return background.command([sys.executable, "-c", _IMPORT_EACH, chanlib.__path__[0], *_modules()], folder)


#: this module's work that starts in the background as the session starts (see tests/conftest.py)
BACKGROUND = {"import_each_module": _start_import_each_module}


@pytest.fixture(scope="module")
def import_each_module(request, background):
    return background.module_job(request, "import_each_module")


def test_every_module_imports_on_its_own(import_each_module):
    """Entry points (bench scripts, notebooks) import modules in any order: each one imports without any other
    chanlib module loaded before it (a forked child of an interpreter that has loaded only third-party packages)."""
    assert {"chanlib.build", "chanlib.data.store", "chanlib.analytics.segment.summary",
            "chanlib.report.runner"} <= set(_modules())
    result = import_each_module.result()
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", result.stdout  # one line per module that failed to import
