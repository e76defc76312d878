"""The package's structure, read from its source: an import graph without cycles, imported only downwards.

Layers, lowest first (a module may import its own layer and the ones below it, never one above):

    foundation  chanlib, chanlib.errors, chanlib.periods, chanlib.io
    data        chanlib.config, chanlib.data.*
    analytics   chanlib.analytics.*
    build       chanlib.build
    workbench   chanlib.workbench
    report      chanlib.report.*
    cli         chanlib.cli, chanlib.__main__

Every import counts, also the ones inside functions and under ``TYPE_CHECKING``: a lazy import is still a dependency.
The one exception is the notebook front door :func:`chanlib.open` (:data:`FRONT_DOORS`): the package imports
``chanlib.workbench`` inside that function only, so ``import chanlib`` stays light; the package root sits in the
foundation because every layer imports its ``__version__``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chanlib"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("chanlib", "chanlib.errors", "chanlib.periods", "chanlib.io")),
    ("data", ("chanlib.config", "chanlib.data")),
    ("analytics", ("chanlib.analytics",)),
    ("build", ("chanlib.build",)),
    ("workbench", ("chanlib.workbench",)),
    ("report", ("chanlib.report",)),
    ("cli", ("chanlib.cli", "chanlib.__main__")),
]


#: (module, function, imported module): lazy imports of a front door that the layer map allows, and only there
FRONT_DOORS: set[tuple[str, str, str]] = {("chanlib", "open", "chanlib.workbench")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """Index of the layer a module belongs to (the most specific prefix wins)."""
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return rank


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The chanlib modules ``path`` imports (a ``from package import name`` of a submodule counts as that module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    allowed = {(fn, target) for module, fn, target in FRONT_DOORS if module == me}
    skip: set[int] = set()  # the front doors' imports: in their function, and for its type hints only
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            scope = node.name
        elif isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            scope = "TYPE_CHECKING"
        else:
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and any(
                    inner.module == target and scope in (fn, "TYPE_CHECKING") for fn, target in allowed):
                skip.add(id(inner))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.startswith("chanlib") and name != me:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "chanlib.build" in graph["chanlib.cli"] or "chanlib.build" in set().union(*graph.values())
    assert "chanlib.data.store" in graph["chanlib.analytics.kpi"]
    assert "chanlib.report.sections" in graph  # every module is a node


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_imports_only_go_down_the_layers() -> None:
    upward = [f"{src} ({LAYERS[layer_of(src)][0]}) imports {dst} ({LAYERS[layer_of(dst)][0]})"
              for src, targets in import_graph().items() for dst in sorted(targets) if layer_of(dst) > layer_of(src)]
    assert not upward, "imports into a higher layer:\n" + "\n".join(upward)


def test_store_imports_no_ingest_or_analysis() -> None:
    assert not {m for m in import_graph()["chanlib.data.store"]
                if m.startswith(("chanlib.data.ingest", "chanlib.analytics", "chanlib.build"))}


def test_checker_catches_cycles_and_upward_imports() -> None:
    """The checks can fail: a made-up graph with a cycle and an upward import is caught."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("chanlib.analytics.kpi") > layer_of("chanlib.data.store")
    assert layer_of("chanlib.report.plots") > layer_of("chanlib.build") > layer_of("chanlib.analytics.segment")
    with pytest.raises(AssertionError, match="no layer"):
        layer_of("numpy")


def test_front_door_is_the_only_lazy_upward_import() -> None:
    """``chanlib.open`` imports the workbench lazily and nothing else in the package root reaches above the
    foundation; importing chanlib loads neither pandas nor DuckDB."""
    import subprocess
    import sys

    assert import_graph()["chanlib"] == set()
    code = ("import sys, chanlib; "
            "print(sorted(m for m in ('pandas', 'duckdb', 'chanlib.workbench') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert callable(__import__("chanlib").open)


def test_no_workaround_modules() -> None:
    """The import-cycle workarounds are gone: no settings_base, no lazy ``__getattr__`` in packages."""
    assert not (PACKAGE / "settings_base.py").exists()
    for init in PACKAGE.rglob("__init__.py"):
        assert "def __getattr__" not in init.read_text(encoding="utf-8"), init


def test_the_store_fingerprint_leaves_out_exactly_the_layers_above_the_build() -> None:
    """A store is stale when code that shapes it changed, and only then: the modules its code digest leaves out
    (``store.NOT_IN_STORE``) are those of the layers above ``chanlib.build``, which read the store."""
    from chanlib.data.store import NOT_IN_STORE

    build = layer_of("chanlib.build")
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        module = ".".join(("chanlib", *relative.removesuffix(".py").split("/"))).removesuffix(".__init__")
        assert relative.startswith(NOT_IN_STORE) == (layer_of(module) > build), relative
