"""Draws a search's learning curves in the background, as its trials end.

`CurveDrawer` starts one process, `python -m kt_toolkit.analysis.curve_drawer
RUN_DIR`, which reads its standard input line by line: after each line (one per
finished trial) it brings the run's curve PNGs up to date (`write_curves` draws
only what changed), at a lower priority than the search's training. It ends at
the end of its input: the search closed the pipe, or its process ended. Its
errors are left to the report, which draws whatever is missing.

Drawing a figure takes ~0.3 s on 2 cores; in the search's own process that
would be time between trials, here it mostly uses a core the training leaves
idle, and the report at the end of the search finds the figures drawn.
"""

import logging
import os
import subprocess
import sys

from kt_toolkit.analysis.figure_files import write_curves
from kt_toolkit.rundir import RunDirectory

__all__ = ["CurveDrawer", "main"]

logger = logging.getLogger(__name__)
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CurveDrawer:
    """The background process that draws a search's curves while it runs.

    Example:

    ```python
    with CurveDrawer(run_dir) as drawer:
        tuner.trial_listeners.append(drawer.notify)
        tuner.search(x, y, validation_data=(x_val, y_val), epochs=10)
    write_report(run_dir)  # reuses the figures
    ```

    Args:
        run_dir: String, the run directory.
        timeout: Float, the most seconds `close` waits for the figures before it
            ends the process (the report then draws the rest). Defaults to `600`.
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, timeout: float = 600) -> None:
        self.run_dir = os.path.abspath(os.fspath(run_dir))
        self.timeout = timeout
        self.process = None
        self._failed = False

    def notify(self, trial_id: str | None = None) -> None:
        """Asks for the figures of the trials ended so far; starts the process at first."""
        if self._failed:
            return
        try:
            if self.process is None:
                env = dict(os.environ)  # this kt_toolkit, whatever put it on sys.path
                env["PYTHONPATH"] = os.pathsep.join(
                    p for p in (_ROOT, env.get("PYTHONPATH")) if p)
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "kt_toolkit.analysis.curve_drawer", self.run_dir],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, env=env)
            self.process.stdin.write(b"\n")
            self.process.stdin.flush()
        except OSError as error:  # it could not start, or it died: the report draws
            logger.debug("The background curve drawer stopped: %s", error)
            self._failed = True

    def close(self, *, wait: bool = True) -> None:
        """Waits until the figures asked for are drawn (at most `timeout` s).

        Args:
            wait: Boolean; `False` ends the process at once (the search failed or
                was interrupted: no report follows). Defaults to `True`.
        """
        process, self.process = self.process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=self.timeout if wait else 0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "CurveDrawer":
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.close(wait=exc_type is None)


def main(argv=None):
    """Draws after each line of stdin, until its end; returns 0."""
    argv = sys.argv[1:] if argv is None else list(argv)
    run_dir = argv[0]
    if hasattr(os, "nice"):
        os.nice(10)  # the search's training comes first
    run = RunDirectory(run_dir)  # its trials table is kept: each refresh reads what changed
    for _ in sys.stdin:
        try:
            write_curves(run.study())
        except Exception as error:  # noqa: BLE001 - the report draws what is missing
            print(f"kt_toolkit curves: {type(error).__name__}: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
