"""params/default.yaml documents the whole settings tree: every field of chanlib.config.Params, one comment each."""
from __future__ import annotations

import re
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel

from chanlib.config import Params, TableSource, load_params

DEFAULT = Path(__file__).resolve().parent.parent / "params" / "default.yaml"


def model_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every field of ``model`` and of the settings models nested in it."""
    keys = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        keys.append(path)
        annotation = field.annotation
        candidates = (annotation, *typing.get_args(annotation))
        nested = [a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            keys += model_keys(nested[0], path + ".")
    return keys


def documented_lines(text: str) -> dict[str, str]:
    """Dotted key -> its line, for every key line of the YAML (also commented-out ``# key: value`` lines)."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        m = re.match(r"^(\s*)(#\s*)?([A-Za-z_][A-Za-z0-9_]*):(\s|$)", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([s[1] for s in stack] + [m.group(3)])
        out[path] = line
        if not m.group(2):
            stack.append((indent, m.group(3)))
    return out


def test_every_params_field_is_in_default_yaml() -> None:
    lines = documented_lines(DEFAULT.read_text(encoding="utf-8"))
    wanted = [k for k in model_keys(Params) if not k.startswith("tables.")]
    wanted += [f"tables.sales.{k}" for k in TableSource.model_fields]
    missing = [k for k in wanted if k not in lines]
    assert not missing, f"params/default.yaml does not show: {', '.join(missing)}"


def test_every_key_line_has_a_comment() -> None:
    lines = documented_lines(DEFAULT.read_text(encoding="utf-8"))
    bare = [k for k, line in lines.items()
            if not k.startswith("tables.") and "#" not in line.split(":", 1)[1] and not line.lstrip().startswith("#")]
    assert not bare, f"keys without a one-line comment: {', '.join(bare)}"


def test_default_yaml_loads_and_holds_the_library_defaults() -> None:
    params = load_params(DEFAULT)
    defaults = Params.model_validate({"tables": {"sales": {"path": "x.csv"}}})
    raw = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    # apart from what the demo sets on purpose, the documented values are the defaults
    for section in ("validation", "periods", "fit", "planning", "evaluation", "segment", "forecast"):
        shown = getattr(params, section).model_dump(exclude={"seed"})
        assert shown == getattr(defaults, section).model_dump(exclude={"seed"}), section
        assert set(raw[section]) <= set(shown)
    assert params.seed == 42 and params.forecast.seed == 42 and params.segment.seed == 42


def test_checker_notices_a_missing_key(tmp_path: Path) -> None:
    text = DEFAULT.read_text(encoding="utf-8").replace("  horizon: 12 ", "  horizonx: 12 ")
    assert "forecast.horizon" not in documented_lines(text)
    assert "forecast.seed" in documented_lines(text)  # a commented-out key counts as shown
