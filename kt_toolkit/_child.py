"""Entry point of a run's chief and worker processes (`kt_toolkit.tuners.process`).

    python -m kt_toolkit._child chief|worker RUN_DIR … --parent PID

It arms the launcher watch first: importing the tuners loads TensorFlow (seconds),
and a launcher killed meanwhile must not leave this process behind.
"""

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent", "main"]


def die_with_parent(parent):
    """Ends this process with the launcher's, even on `kill -9` of the launcher."""
    if sys.platform.startswith("linux"):
        try:  # PR_SET_PDEATHSIG: the kernel sends SIGKILL when the parent dies
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--parent" in argv:
        die_with_parent(int(argv[argv.index("--parent") + 1]))
    from kt_toolkit.compat.keras_tuner import filtered_native_logs

    with filtered_native_logs():  # TensorFlow's start-up lines (see there)
        from kt_toolkit.tuners.process import main as run
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
