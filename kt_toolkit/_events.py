"""`EventWriter`: TensorBoard event files written without TensorFlow.

The bottom layer of kt_toolkit's TensorBoard output: the per-epoch scalars
callback (`kt_toolkit.callbacks.EpochScalars`) and the run directory's HParams
records (`kt_toolkit.rundir.tensorboard`) both write through it.
"""

import itertools
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

__all__ = ["EventWriter"]

_counter = itertools.count()


class EventWriter:
    """Appends events to a new `events.out.tfevents.*` file in `logdir`.

    The tensorboard package's `EventFileWriter` reaches for TensorFlow's file
    system when TensorFlow is installed; this hands the package's own
    `RecordWriter` a plain file instead, so logging never imports TensorFlow.

    Example:

    >>> with EventWriter("/tmp/tb/run1") as writer:
    ...     writer.scalars(1, {"epoch_loss": 0.5})

    Args:
        logdir: String, the directory (created if needed).
        suffix: String appended to the file name. Defaults to `""`.
        atomic: Boolean: write to a hidden temporary name and rename on `close`,
            so readers see the whole file or none. Defaults to `False` (a live
            file that TensorBoard can follow epoch by epoch).
    """

    def __init__(self, logdir: str | os.PathLike[str], *, suffix: str = "",
                 atomic: bool = False) -> None:
        os.makedirs(logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_counter)}{suffix}")
        self.path = os.path.join(logdir, name)
        # TensorBoard reads any file whose name holds "tfevents": the temporary
        # name must not, or a half-written record would be read (and kept).
        pending = f".pending-{os.getpid()}-{next(_counter)}{suffix}"
        self._open_path = os.path.join(logdir, pending) if atomic else self.path
        self._file = open(self._open_path, "ab")
        self._records = RecordWriter(self._file)
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event):
        self._records.write(event.SerializeToString())

    def summary(self, summary: summary_pb2.Summary, *, step: int = 0,
                wall_time: float | None = None) -> None:
        """Writes one `Summary` proto at `step`."""
        self._write(event_pb2.Event(wall_time=wall_time or time.time(), step=int(step),
                                    summary=summary))

    def scalars(self, step: int, values: Mapping[str, float | None], *,
                wall_time: float | None = None) -> None:
        """Writes `{tag: number}` at `step`; non-finite values are kept (TensorBoard shows them)."""
        summary = summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in values.items() if value is not None])
        self.summary(summary, step=step, wall_time=wall_time)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if self._open_path != self.path:
            os.replace(self._open_path, self.path)

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
