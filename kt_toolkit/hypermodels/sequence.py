"""`HyperSequence`: embedding + recurrent layers for integer token sequences."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras

from kt_toolkit.errors import invalid
from kt_toolkit.hypermodels.base import TunableModel
from kt_toolkit.hypermodels.heads import is_integer
from kt_toolkit.config.knobs import SEQUENCE_KNOBS

if TYPE_CHECKING:
    from kt_toolkit.data.dataset import Dataset

__all__ = ["HyperSequence"]

_CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
          "simple_rnn": keras.layers.SimpleRNN}


class HyperSequence(TunableModel):
    """An embedding and stacked recurrent layers as a KerasTuner `HyperModel`.

    Tunes the embedding size (E12) and initializer (E13), the cell (LSTM, GRU,
    SimpleRNN; E16), 1–3 layers, bidirectional reading, units, dropout after the
    embedding and before the output (E10), recurrent dropout, layer norm (E16).
    The recurrent state starts orthogonal (E13) and gradient clipping by global
    norm is on by default (E9). Token 0 is padding (masked).

    Example:

    ```python
    import keras_tuner, numpy as np
    from kt_toolkit.hypermodels import HyperSequence

    hypermodel = HyperSequence((20,), vocabulary_size=100, task="binary",
                               space={"num_layers": 1, "units": 16})
    model = hypermodel.build(keras_tuner.HyperParameters())
    model.predict(np.ones((2, 20), "int32"), verbose=0).shape  # (2, 1)
    ```

    Args:
        input_shape: Tuple `(sequence_length,)`.
        vocabulary_size: Integer, number of token ids (ids are `0..vocabulary_size-1`).
        **kwargs: see `kt_toolkit.hypermodels.base.TunableModel` (no standardization:
            `feature_mean`/`feature_variance` are ignored for tokens).
    """

    knobs = SEQUENCE_KNOBS

    def __init__(self, input_shape: Sequence[int], *, vocabulary_size: int,
                 name: str = "hyper_sequence", **kwargs: Any) -> None:
        kwargs.pop("feature_mean", None)
        kwargs.pop("feature_variance", None)
        super().__init__(input_shape, name=name, **kwargs)
        if len(self.input_shape) != 1:
            raise invalid("input_shape", "(sequence_length,) for token sequences", input_shape)
        if not is_integer(vocabulary_size) or vocabulary_size < 2:
            raise invalid("vocabulary_size", "an integer >= 2", vocabulary_size)
        self.vocabulary_size = int(vocabulary_size)

    @classmethod
    def from_data(cls, data: "Dataset", **kwargs: Any) -> "HyperSequence":
        return cls(data.input_shape, vocabulary_size=int(data.vocabulary_size),
                   task=data.task, num_classes=data.num_classes, **kwargs)

    def build_body(self, inputs: keras.KerasTensor,
                   values: Mapping[str, Any]) -> keras.KerasTensor:
        x = keras.layers.Embedding(self.vocabulary_size, values["embedding_dim"],
                                   embeddings_initializer=values["embedding_initializer"],
                                   mask_zero=True, name="embedding")(inputs)
        if values["dropout"] > 0:
            x = keras.layers.Dropout(values["dropout"], name="dropout_embedding")(x)
        layers = values["num_layers"]
        for index in range(layers):
            cell = _CELLS[values["cell"]](
                values["units"], return_sequences=index < layers - 1,
                recurrent_dropout=values["recurrent_dropout"],
                recurrent_initializer=values["recurrent_initializer"],
                name=f"{values['cell']}_{index}")
            if values["bidirectional"]:
                cell = keras.layers.Bidirectional(cell, name=f"bidirectional_{index}")
            x = cell(x)
            if values["layer_norm"]:
                x = keras.layers.LayerNormalization(name=f"layer_norm_{index}")(x)
        if values["dropout"] > 0:
            x = keras.layers.Dropout(values["dropout"], name="dropout_head")(x)
        return x
