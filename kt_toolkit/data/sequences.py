"""Variable-length token sequences: the padding length (C8) and padding.

Every token dataset (`imdb`, `synthetic_sentiment`) goes through these two
functions, after the split, so the padding length is read off the training part
only: the `LENGTH_QUANTILE`-th percentile of its sequence lengths, rounded up,
which covers at least 90 % of the training sequences (C8) without padding every
batch to the one longest sequence.

The convention is `padding="post"`, `truncating="pre"` in
`keras.utils.pad_sequences` terms:

- zeros go AFTER the tokens (right padding). Models mask token 0
  (`Embedding(mask_zero=True)`), and cuDNN's GRU/LSTM kernels accept only
  right-padded masks: Keras's TensorFlow backend fails at run time on a GPU
  when a left-padded mask reaches them.
- a sequence longer than the padding length loses its START and keeps its end,
  where a review usually states its verdict (and where `synthetic_sentiment`
  puts most of its sentiment words).

Example:

```python
from kt_toolkit.data.sequences import pad_sequences, padding_length

sequences = [[5, 6], [7, 8, 9, 10], [11]]
length = padding_length(sequences)   # 4: the 90th percentile of (2, 4, 1) is 3.6
pad_sequences(sequences, 3)          # [[5, 6, 0], [8, 9, 10], [11, 0, 0]]
```
"""

from collections.abc import Sequence

import numpy as np

__all__ = ["LENGTH_QUANTILE", "as_ragged", "is_ragged", "pad_sequences",
           "padding_length"]

LENGTH_QUANTILE = 90  # percent of the training sequences that fit whole (C8)


def as_ragged(sequences: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Returns `sequences` as a 1-D object array of 1-D int32 arrays.

    `np.array(list_of_lists, dtype=object)` would build a 2-D array when all
    lengths happen to be equal; this never does, so indexing by sample (split,
    subsample, shuffle) works the same for every token dataset.
    """
    ragged = np.empty(len(sequences), dtype=object)
    for i, sequence in enumerate(sequences):
        ragged[i] = np.asarray(sequence, dtype=np.int32).reshape(-1)
    return ragged


def is_ragged(x: np.ndarray | None) -> bool:
    """Returns whether `x` holds variable-length sequences (a 1-D object array)."""
    return x is not None and x.dtype == object and x.ndim == 1


def padding_length(sequences: Sequence[Sequence[int]] | np.ndarray,
                   quantile: float = LENGTH_QUANTILE) -> int:
    """Returns the padding length that covers `quantile` % of `sequences` (C8).

    Args:
        sequences: Iterable of sequences, the TRAINING part.
        quantile: Float in (0, 100], the percentile of the lengths. Defaults to
            `LENGTH_QUANTILE` (90).

    Returns:
        Integer, the percentile of the lengths rounded up, at least 1.
    """
    lengths = [len(sequence) for sequence in sequences]
    if not lengths:
        return 1
    return max(1, int(np.ceil(np.percentile(lengths, quantile))))


def pad_sequences(sequences: Sequence[Sequence[int]] | np.ndarray, length: int) -> np.ndarray:
    """Pads with zeros at the end and truncates at the start to `length` tokens.

    Same result as `keras.utils.pad_sequences(sequences, maxlen=length,
    dtype="int32", padding="post", truncating="pre")`, without importing Keras.

    Args:
        sequences: Iterable of sequences of token ids.
        length: Integer, the padding length.

    Returns:
        Int32 array of shape `(len(sequences), length)`.
    """
    padded = np.zeros((len(sequences), length), dtype=np.int32)
    for i, sequence in enumerate(sequences):
        sequence = np.asarray(sequence, dtype=np.int32).reshape(-1)
        kept = sequence[max(0, len(sequence) - length):]
        padded[i, :len(kept)] = kept
    return padded
