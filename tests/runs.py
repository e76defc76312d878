"""For the tests that run ``chanlib report`` on tiny projects: the tiny notebooks, and the processes a run leaves as
/proc shows them (Linux only)."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

#: the cell every tiny notebook runs: the region's rows and revenue, from the store (all regions for the overview)
READ_CELL = """import duckdb, html
from IPython.display import HTML, display
con = duckdb.connect(store_path, read_only=True)
n, revenue = con.execute("SELECT count(*), sum(revenue) FROM sales WHERE region = ? OR ? = ''",
                         [region, region]).fetchone()
con.close()
display(HTML(f"<p class='tiny'>{html.escape(region or 'all regions')}: {n} rows, revenue {revenue:.0f}</p>"))
"""



def write_notebook(path: Path, *cells: str, read_cell: str = READ_CELL) -> Path:
    """A tiny region (or overview) notebook: a heading, the parameters, ``read_cell`` (it reads the region from the
    store) and ``cells``."""
    parameters = nbformat.v4.new_code_cell('region = ""\nparams_path = ""\nstore_path = ""\n')
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Tiny report"), parameters,
                                         nbformat.v4.new_code_cell(read_cell),
                                         *(nbformat.v4.new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


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


def imported_modules() -> list[str]:
    """The modules this process has imported (for a worker process to report; this module imports nothing heavy)."""
    return sorted(name for name, module in sys.modules.items() if module is not None)
