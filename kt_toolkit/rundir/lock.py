"""`run_lock`: one command at a time on a run directory, on Linux, macOS and Windows.

Two searches in one directory would write the same trials (KerasTuner's
checkpoints even fail with "unable to lock file"). The lock is the `filelock`
package's OS lock (`flock` on POSIX, `msvcrt.locking` on Windows), so it goes
with its process, `kill -9` included. Who holds it is written beside it, in
`<lock>.owner`, for the error message of the command that is refused (a
Windows lock also locks reading the locked file itself).

The lock file goes when the lock is released (a finished, failed or
interrupted command leaves none behind). It is removed while still held, and
only if it is still the file this process locked: a process that opened it
just before cannot then take the lock on the removed file, because `filelock`
refuses a locked file that has no name left (`st_nlink == 0`) and the next
command makes and locks a new one. A `kill -9` leaves the file behind, unlocked:
the next command takes it over.

On a file system without `flock` (some NFS and FUSE mounts), `filelock` falls
back to a plain lock file, which a `kill -9` leaves behind: delete
`<output.directory>/.<run name>.lock` by hand once no command runs there.
"""

import contextlib
import os
from typing import Iterator

import filelock

from kt_toolkit._io import atomic_write_text
from kt_toolkit.errors import RunDirectoryError
from kt_toolkit.rundir.layout import lock_path

__all__ = ["run_lock"]


@contextlib.contextmanager
def run_lock(run_dir: str) -> Iterator[None]:
    """Holds `<output.directory>/.<run name>.lock` while the block runs.

    Args:
        run_dir: String, the run directory (it need not exist yet).

    Raises:
        RunDirectoryError: another process holds the lock, or the output
            directory cannot be written. Nothing was changed then.
    """
    # Beside the run directory, not in it: `--overwrite` deletes the directory, and
    # a refused command must not have written anything into a live run.
    path = lock_path(run_dir)
    parent = os.path.dirname(path)
    run_dir = os.path.normpath(run_dir)
    try:
        os.makedirs(parent, exist_ok=True)
        lock = filelock.FileLock(path, timeout=0)
        lock.acquire()
    except filelock.Timeout:
        holder = _holder(path)
        raise RunDirectoryError(f"{run_dir!r} is being searched by {holder} right now. Wait "
                                "for it to end (or stop it), or choose another "
                                "output.run_name.", key="output.run_name") from None
    except OSError as error:
        raise RunDirectoryError(f"Cannot write into {parent!r}: {error.strerror}. Choose a "
                                "writable output.directory.", key="output.directory") from None
    owner = path + ".owner"
    try:
        locked = os.stat(path)  # held: nobody else removes or replaces it now
    except OSError:
        locked = None
    try:
        with contextlib.suppress(OSError):
            atomic_write_text(owner, f"kt-toolkit (pid {os.getpid()})")
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(owner)
        with contextlib.suppress(OSError):  # Windows: filelock removes it after release
            if locked is not None and os.path.samestat(os.stat(path), locked):
                os.remove(path)
        lock.release()


def _holder(path: str) -> str:
    try:
        with open(path + ".owner", encoding="utf-8") as handle:
            return handle.read().strip() or "another process"
    except OSError:
        return "another process"
