"""Two `keras.utils.PyDataset` wrappers the final step needs (`streams.counting`,
`streams.joined`): one counts the samples read through it, one chains two."""

import threading

import keras
import numpy as np

__all__ = ["ChainedPyDataset", "CountingPyDataset"]


def _options(inner):
    # Threads, never processes: the count lives in this process.
    return {"workers": getattr(inner, "workers", 1), "use_multiprocessing": False,
            "max_queue_size": getattr(inner, "max_queue_size", 10)}


def batch_size(batch) -> int:
    """The number of samples in a batch `(x, y, ...)` or `x` (its first array's length)."""
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    first = keras.tree.flatten(x)[0]
    return int(np.shape(first)[0])


class CountingPyDataset(keras.utils.PyDataset):
    """`inner`'s batches as they are; `samples` counts those of one pass.

    Each batch index is counted once, however often it is read (Keras reads
    the first batches once more to learn their shapes; a fit reads them every
    epoch).
    """

    def __init__(self, inner):
        super().__init__(**_options(inner))
        self.inner, self._sizes, self._lock = inner, {}, threading.Lock()

    @property
    def samples(self) -> int:
        return sum(self._sizes.values())

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, index):
        batch = self.inner[index]
        with self._lock:
            self._sizes[index] = batch_size(batch)
        return batch

    def on_epoch_end(self):
        self.inner.on_epoch_end()


class ChainedPyDataset(keras.utils.PyDataset):
    """The batches of `first`, then those of `second`."""

    def __init__(self, first, second):
        super().__init__(**_options(first))
        self.first, self.second = first, second

    def __len__(self):
        return len(self.first) + len(self.second)

    def __getitem__(self, index):
        if index < len(self.first):
            return self.first[index]
        return self.second[index - len(self.first)]

    def on_epoch_end(self):
        self.first.on_epoch_end()
        self.second.on_epoch_end()
