"""Writing outputs safely: every file chanlib writes goes to a temporary name beside its target and is renamed into
place, so a reader (or a crash) never sees a half-written file.

:func:`atomic_path` is the one primitive: a context manager that yields a temporary path and moves it onto the target
when the block succeeds (and removes it when it fails). :func:`write_text`, :func:`write_table` (CSV or Parquet by
suffix), :func:`replace_dir` and :func:`point_symlink` are built on the same rule. :func:`exclusive` keeps two runs
from writing the same folder at once.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "k.csv"
>>> write_table(pd.DataFrame({"region": ["East"], "revenue": [1.5]}), out).read_text().splitlines()
['region,revenue', 'East,1.5']
>>> with atomic_path(out.with_name("note.txt")) as tmp:
...     _ = tmp.write_text("done")
>>> sorted(p.name for p in out.parent.iterdir())
['k.csv', 'note.txt']
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from chanlib.errors import ChanlibError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def temporary_name(path: Path) -> Path:
    """A hidden, unique name beside ``path`` (same folder, so the final rename is atomic)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on failure remove it.

    The block may write a file or a directory at the temporary path; an existing directory at ``path`` is replaced
    as a whole (:func:`replace_dir`). An ``OSError`` that names no file (a full disk fails a ``write``) is given
    ``path`` as its file name, so that the message says where.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        if tmp.is_dir():
            replace_dir(tmp, path)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        if exc.errno is not None and exc.filename in (None, str(tmp)) and exc.filename2 is None:
            exc.filename = str(path)
        raise
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, flushed to disk before the rename; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.parquet``) atomically; return the path."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ChanlibError(f"{path}: unknown output format {path.suffix!r} (use .csv or .parquet)")
    with atomic_path(path) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return path


def replace_dir(new: Path, target: Path) -> None:
    """Put directory ``new`` at ``target``, replacing what was there (the old one is moved aside first)."""
    old = temporary_name(target)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def point_symlink(link: Path, target_name: str) -> None:
    """Make ``link`` a symlink to ``target_name`` (relative), switched atomically."""
    tmp = temporary_name(link)
    tmp.symlink_to(target_name, target_is_directory=True)
    os.replace(tmp, link)


class Busy(ChanlibError):
    """Another run holds the lock (and the caller chose not to wait)."""


@contextmanager
def exclusive(lock_file: str | Path, wait: bool = True, what: str = "another run") -> Iterator[Path]:
    """Hold an exclusive lock on ``lock_file`` for the block (``flock``: released by the OS if the holder dies).

    When another process holds it, wait for it (logging once that we wait) or, with ``wait=False``, raise
    :class:`Busy` at once. The file keeps the holder's pid and start time, for the message.

    >>> import tempfile, pathlib
    >>> lock = pathlib.Path(tempfile.mkdtemp()) / ".lock"
    >>> with exclusive(lock):
    ...     try:
    ...         with exclusive(lock, wait=False):
    ...             pass
    ...     except Busy as exc:
    ...         print(str(exc).split(":")[0] == str(lock))
    True
    """
    path = Path(lock_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            if not wait:
                raise Busy(f"{path}: {what} is in progress ({holder}); try again later or drop --no-wait") from None
            log.warning("%s: waiting for %s to finish (%s)", path, what, holder)
            started = time.monotonic()
            fcntl.flock(fh, fcntl.LOCK_EX)
            log.info("%s: lock acquired after %.0f s", path, time.monotonic() - started)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        yield path
    finally:
        fh.close()  # closing the descriptor releases the lock
