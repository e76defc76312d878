"""Warm kernels: one Jupyter kernel per worker process, started once and reused for every notebook it runs.

A papermill loop pays a kernel start and the imports of pandas, matplotlib and chanlib (about 3 s here) for every
region. A :class:`WarmKernel` pays them once per worker: before each notebook it clears the kernel's namespace
(``%reset -f``, every figure closed), so a region sees nothing of the one before, while the imported modules stay
loaded. Execution still goes through papermill (parameter injection, output capture, its error cells), with the
kernel manager handed to papermill's nbclient engine, which then leaves the kernel running.

Rules (papermill #239, #511): a cell error is never retried (it is the notebook's answer); a kernel that fails to
start is retried once; a kernel that died while running a notebook fails that notebook and is started afresh for
the next one. Kernels talk over IPC sockets in a private temporary folder, not TCP: nothing listens on a port and
the kernel prints no "running over TCP without encryption" warning into cron logs.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync

log = logging.getLogger(__name__)

#: run before every notebook: forget the previous notebook's variables and figures, keep the imported modules
RESET = "get_ipython().run_line_magic('reset', '-f')\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"


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
        self.notebooks_run = 0
        self._sockets = Path(tempfile.mkdtemp(prefix="chanlib-kernel-"))

    @property
    def alive(self) -> bool:
        return self.km is not None and self.km.has_kernel and bool(run_sync(self.km.is_alive)())

    async def _start_once(self) -> None:
        from jupyter_client import AsyncKernelManager

        # asynchronous, as nbclient expects: its dead-kernel watch only runs while output polling yields
        km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc", ip=str(self._sockets / "kernel"))
        await km.start_kernel(cwd=self.cwd)
        client = km.client()
        try:
            client.start_channels()
            await client.wait_for_ready(timeout=self.startup_timeout)
        except Exception:
            await km.shutdown_kernel(now=True)
            raise
        finally:
            client.stop_channels()
        self.km = km

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
        client = self.km.client()
        try:
            client.start_channels()
            await client.wait_for_ready(timeout=self.startup_timeout)
            await client.execute_interactive(RESET, timeout=self.startup_timeout, store_history=False,
                                             output_hook=lambda msg: None)
        finally:
            client.stop_channels()

    def reset(self) -> None:
        """Clear the namespace (variables, figures) left by the previous notebook."""
        run_sync(self._reset)()

    def execute(self, notebook: str | Path, output: str | Path, parameters: dict[str, Any],
                timeout: int | None = None) -> Any:
        """Run ``notebook`` with ``parameters`` injected (papermill), write it to ``output`` and return it.

        Raises papermill's ``PapermillExecutionError`` when a cell fails (the output notebook keeps the error);
        a kernel that died is replaced before the next call.
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
        try:
            return pm.execute_notebook(
                str(notebook), str(output), parameters=parameters, engine_name=ENGINE, kernel_name=self.kernel_name,
                km=self.km,
                progress_bar=False, log_output=False, execution_timeout=timeout, request_save_on_cell_execute=False,
                start_timeout=self.startup_timeout)
        except PapermillExecutionError:
            raise  # a cell error: the kernel is fine and idle
        except Exception:
            # a cell timeout leaves the kernel busy with that cell; anything else may have left it in any state
            log.warning("%s did not finish; the next notebook gets a new kernel", Path(notebook).name)
            self.shutdown()
            raise
        finally:
            if self.km is not None and not self.alive:
                log.warning("kernel died while running %s; the next notebook gets a new one", Path(notebook).name)
                self.shutdown()

    def shutdown(self) -> None:
        """Stop the kernel (if any)."""
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

    def __enter__(self) -> WarmKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ENGINE = "chanlib-warm"


def _register_engine() -> None:
    """Register :data:`ENGINE` with papermill (once per process)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class WarmEngine(NBClientEngine):
        """papermill's nbclient engine on an existing kernel manager (``km``), which it leaves running."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, km=None,
                                     **kwargs):
            client = PapermillNotebookClient(
                nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
                log=logger, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

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
