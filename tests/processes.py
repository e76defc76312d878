"""Processes as /proc shows them, for the tests that kill a run and check what it left running (Linux only)."""
from __future__ import annotations

from pathlib import Path


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ..., start time at [19]); None when the
    process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below ``pid``, each as (pid, start time): a pid the system hands out again is not the same
    process."""
    children: dict[int, list[tuple[int, str]]] = {}
    for path in Path("/proc").glob("[0-9]*"):
        fields = proc_stat(int(path.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append((int(path.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def alive(process: tuple[int, str]) -> bool:
    """Whether the process (pid, start time) still runs (a zombie does not)."""
    fields = proc_stat(process[0])
    return fields is not None and fields[19] == process[1] and fields[0] != "Z"
