"""Warm kernels: one Jupyter kernel per worker process, started once and reused for every notebook it runs.

A papermill loop pays a kernel start and the imports of pandas, matplotlib and chanlib (about 3 s here) for every
region. A :class:`WarmKernel` pays them once per worker: before each notebook it clears the kernel's namespace
(``%reset -f``, every figure closed), so a region sees nothing of the one before, while the imported modules stay
loaded. Execution still goes through papermill (parameter injection, output capture, its error cells), with the
kernel manager and its client (connected once, when the kernel started) handed to papermill's nbclient engine, which
then leaves both running.

Rules (papermill #239, #511): a cell error is never retried (it is the notebook's answer); a kernel that fails to
start is retried once; a kernel that died while running a notebook fails that notebook and is started afresh for
the next one. Kernels talk over IPC sockets in a private temporary folder, not TCP: nothing listens on a port and
the kernel prints no "running over TCP without encryption" warning into cron logs.

Nothing outlives its worker: the kernel exits when the worker does (ipykernel watches its parent), a worker whose run
was killed kills its kernel first (:func:`abandon_worker_kernel`), and the private folder (sockets and connection file,
``chanlib-kernel-<worker pid>-*``) of a worker that was killed outright is removed by the next worker
(:func:`sweep_stale_sockets`). The executed notebook is written under a temporary name and renamed into place, so a
worker killed while saving leaves no half-written notebook at its final path.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync

from chanlib.io import temporary_name

log = logging.getLogger(__name__)

#: a worker's private folder of kernel sockets and connection file: ``chanlib-kernel-<worker pid>-<random>``
SOCKETS_PREFIX = "chanlib-kernel-"
_SWEPT = False

#: run before every notebook: forget the previous notebook's variables and figures, keep the imported modules
#: (figures first, so the reset's garbage collection frees them); then every object still alive (the imported modules,
#: whatever they cache) moves to the collector's permanent generation: the next notebooks' collections, including
#: this reset's own, no longer walk the ~200,000 objects of pandas, matplotlib and chanlib (0.1 s each)
RESET = ("import matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"
         "get_ipython().run_line_magic('reset', '-f')\nimport gc as _gc\n_gc.freeze()\ndel _gc\n")


class KernelStartError(RuntimeError):
    """The kernel did not start (twice)."""


class WarmKernel:
    """One long-lived kernel that executes notebooks one after another.

    Parameters
    ----------
    cwd : folder the kernel runs in (the notebooks' folder, so relative paths in cells resolve as in JupyterLab)
    kernel_name : the Jupyter kernel spec to start
    startup_timeout : seconds to wait for a starting kernel to answer
    """

    def __init__(self, cwd: str | Path, kernel_name: str = "python3", startup_timeout: int = 60) -> None:
        self.cwd = str(cwd)
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.km: Any = None
        #: the kernel's client, ready since the kernel started and kept for every notebook: a new client waits for
        #: the kernel's answer and then 0.2 s for stray messages (``wait_for_ready``), twice per notebook (the reset
        #: and nbclient) before; nbclient and the reset tell their replies apart by message id
        self.kc: Any = None
        self.notebooks_run = 0
        global _SWEPT
        if not _SWEPT:  # once per process: what killed workers left behind
            _SWEPT = True
            sweep_stale_sockets()
        self._sockets = Path(tempfile.mkdtemp(prefix=f"{SOCKETS_PREFIX}{os.getpid()}-"))

    @property
    def alive(self) -> bool:
        return self.km is not None and self.km.has_kernel and bool(run_sync(self.km.is_alive)())

    async def _start_once(self) -> None:
        from jupyter_client import AsyncKernelManager

        # asynchronous, as nbclient expects: its dead-kernel watch only runs while output polling yields
        # the connection file too goes in the private folder (jupyter_client's default is a loose /tmp/tmp*.json)
        km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc", ip=str(self._sockets / "kernel"),
                                connection_file=str(self._sockets / "kernel.json"))
        # no IPython history: a report needs none, and parallel kernels writing one sqlite file lock each other out
        await km.start_kernel(cwd=self.cwd, extra_arguments=["--HistoryManager.enabled=False"])
        client = km.client()
        try:
            client.start_channels()
            await client.wait_for_ready(timeout=self.startup_timeout)
        except Exception:
            client.stop_channels()
            await km.shutdown_kernel(now=True)
            raise
        client.allow_stdin = False  # as nbclient sets it: a notebook asking for input fails instead of hanging
        self.km, self.kc = km, client

    def start(self) -> None:
        """Start the kernel if it is not running; a failed start is retried once."""
        if self.alive:
            return
        self.shutdown()
        for attempt in (1, 2):
            try:
                run_sync(self._start_once)()
                log.debug("kernel started in %s (attempt %d)", self.cwd, attempt)
                return
            except Exception as exc:  # noqa: BLE001 - any start-up failure is retried once, then reported
                if attempt == 2:
                    raise KernelStartError(f"the {self.kernel_name} kernel did not start: {exc}") from exc
                log.warning("kernel start failed (%s); retrying once", exc)

    async def _reset(self) -> None:
        await self.kc.execute_interactive(RESET, timeout=self.startup_timeout, store_history=False,
                                          output_hook=lambda msg: None)

    def reset(self) -> None:
        """Clear the namespace (variables, figures) left by the previous notebook."""
        run_sync(self._reset)()

    def execute(self, notebook: str | Path, output: str | Path, parameters: dict[str, Any],
                timeout: int | None = None) -> Any:
        """Run ``notebook`` with ``parameters`` injected (papermill), write it to ``output`` and return it.

        Raises papermill's ``PapermillExecutionError`` when a cell fails (the output notebook keeps the error);
        a kernel that died is replaced before the next call. The notebook is saved under a temporary name beside
        ``output`` and renamed onto it when papermill has saved it whole (also after a cell error, a timeout or a
        dead kernel: what ran); when the saving itself fails (disk full, permission denied) ``output`` is left as
        it was and the ``OSError`` names it.
        """
        import papermill as pm
        from papermill.engines import papermill_engines
        from papermill.exceptions import PapermillExecutionError

        if ENGINE not in papermill_engines._engines:
            _register_engine()
        self.start()
        if self.notebooks_run:
            try:
                self.reset()
            except Exception as exc:  # noqa: BLE001 - a kernel that cannot be reset is replaced
                log.warning("kernel reset failed (%s); starting a new kernel", exc)
                self.shutdown()
                self.start()
        self.notebooks_run += 1
        output = Path(output)
        tmp = temporary_name(output).with_suffix(".tmp.ipynb")  # papermill wants an .ipynb name
        saved = False  # whether papermill's last save of `tmp` was whole
        try:
            nb = pm.execute_notebook(
                str(notebook), str(tmp), parameters=parameters, engine_name=ENGINE, kernel_name=self.kernel_name,
                km=self.km, kc=self.kc, partial=str(tmp),
                progress_bar=False, log_output=False, execution_timeout=timeout, request_save_on_cell_execute=False,
                start_timeout=self.startup_timeout)
            saved = True
            return nb
        except PapermillExecutionError:
            saved = True
            raise  # a cell error: the kernel is fine and idle
        except Exception as exc:
            # what ran was saved (WarmEngine's `partial`); an OSError with an errno is that save (or a read) failing
            saved = not (isinstance(exc, OSError) and exc.errno is not None)
            if not saved and isinstance(exc, OSError) and exc.filename in (None, str(tmp)):
                exc.filename = str(output)
            # a cell timeout leaves the kernel busy with that cell; anything else may have left it in any state
            log.warning("%s did not finish; the next notebook gets a new kernel", Path(notebook).name)
            self.shutdown()
            raise
        finally:
            if saved and tmp.exists():
                os.replace(tmp, output)
            else:
                tmp.unlink(missing_ok=True)
            if self.km is not None and not self.alive:
                log.warning("kernel died while running %s; the next notebook gets a new one", Path(notebook).name)
                self.shutdown()

    def shutdown(self) -> None:
        """Stop the kernel (if any)."""
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            try:
                if self.km.has_kernel:
                    run_sync(self.km.shutdown_kernel)(now=True)
            except Exception as exc:  # noqa: BLE001 - best effort at exit
                log.debug("kernel shutdown: %s", exc)
            self.km = None
            self.notebooks_run = 0

    def close(self) -> None:
        """Stop the kernel and remove its socket folder."""
        self.shutdown()
        shutil.rmtree(self._sockets, ignore_errors=True)

    def abandon(self) -> None:
        """Kill the kernel process at once and remove the socket folder, without talking to the kernel: for a
        worker about to end without clean-up (any thread may call it)."""
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)  # our child: until it is reaped, its pid is not handed out again
            except OSError:
                pass
        shutil.rmtree(self._sockets, ignore_errors=True)

    def __enter__(self) -> WarmKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ENGINE = "chanlib-warm"


def _register_engine() -> None:
    """Register :data:`ENGINE` with papermill (once per process)."""
    import nbformat
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class WarmEngine(NBClientEngine):
        """papermill's nbclient engine on an existing kernel manager (``km``) and its ready client (``kc``), which
        it leaves running. When the execution fails other than by a cell error (the kernel died, a cell timed out),
        what ran is saved to ``partial`` (papermill saves nothing then, without ``request_save_on_cell_execute``)."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, km=None,
                                     kc=None, partial=None, **kwargs):
            client = PapermillNotebookClient(
                nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                log=logger, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            client.kc = kc  # nbclient makes no client of its own when it has one (and leaves a given one open)
            try:
                return client.execute()
            except Exception:
                if partial is not None:  # the index links the partial notebook of a failed page
                    nbformat.write(nb_man.nb, partial)
                raise

    papermill_engines.register(ENGINE, WarmEngine)


_WORKER_KERNEL: WarmKernel | None = None


def worker_kernel(cwd: str | Path) -> WarmKernel:
    """The warm kernel of this worker process (started on first use, closed when the process exits)."""
    global _WORKER_KERNEL
    if _WORKER_KERNEL is None or _WORKER_KERNEL.cwd != str(cwd):
        import atexit

        if _WORKER_KERNEL is not None:
            _WORKER_KERNEL.close()
        _WORKER_KERNEL = WarmKernel(cwd)
        atexit.register(_WORKER_KERNEL.close)
    return _WORKER_KERNEL


def abandon_worker_kernel() -> None:
    """This worker's run is gone and the worker ends now: kill its kernel and remove its socket folder
    (:meth:`WarmKernel.abandon`), so that neither outlives it."""
    if _WORKER_KERNEL is not None:
        _WORKER_KERNEL.abandon()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def sweep_stale_sockets(folder: str | Path | None = None) -> list[Path]:
    """Remove the kernel socket folders (``chanlib-kernel-<pid>-*`` in ``folder``, default the system's temporary
    folder) that this user's workers left when they were killed outright (SIGKILL, out of memory); return them.
    Folders of live processes, other users' and other names are left alone.

    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> live = f"chanlib-kernel-{os.getpid()}-cd34"
    >>> for name in ("chanlib-kernel-999999999-ab12", live, "chanlib-kernel-x"):
    ...     (tmp / name).mkdir()
    >>> [p.name for p in sweep_stale_sockets(tmp)], sorted(p.name for p in tmp.iterdir()) == [live, "chanlib-kernel-x"]
    (['chanlib-kernel-999999999-ab12'], True)
    """
    folder = Path(folder or tempfile.gettempdir())
    removed: list[Path] = []
    try:
        candidates = list(folder.glob(f"{SOCKETS_PREFIX}*"))
    except OSError:
        return removed
    for path in candidates:
        match = re.fullmatch(rf"{re.escape(SOCKETS_PREFIX)}(\d+)-\w+", path.name)
        try:
            if match is None or path.lstat().st_uid != os.getuid() or _alive(int(match[1])):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if removed:
        log.debug("removed %d kernel socket folder(s) of killed workers", len(removed))
    return removed
