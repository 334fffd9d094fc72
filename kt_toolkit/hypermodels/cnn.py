"""`HyperCNN`: convolution blocks for images, with the practices' architecture knobs."""

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from kt_toolkit.config.knobs import CNN_KNOBS
from kt_toolkit.errors import invalid
from kt_toolkit.hypermodels.base import TunableModel
from kt_toolkit.hypermodels.optimizers import make_regularizer

__all__ = ["HyperCNN"]


class HyperCNN(TunableModel):
    """A convolutional network for images as a KerasTuner `HyperModel`.

    Each block holds `convs_per_block` convolutions (3x3 by default, or a 1xN
    then Nx1 pair when `factorized`), optional batch norm, an optional residual
    shortcut, then pooling; block `i` has `filters * 2**i` filters (E7, E16). The
    head is global average pooling or flatten, an optional dense layer and
    dropout. Augmentation (flip, translation, crop; F3) is off until the space
    opens it. Works on (8, 8, 1) digits as on (28, 28) and (32, 32, 3) images.

    Example:

    ```python
    import keras_tuner, numpy as np
    from kt_toolkit.hypermodels import HyperCNN

    hypermodel = HyperCNN((8, 8, 1), num_classes=10, space={"num_blocks": 1})
    model = hypermodel.build(keras_tuner.HyperParameters())
    model.predict(np.zeros((2, 8, 8, 1)), verbose=0).shape  # (2, 10)
    ```

    Args: see `kt_toolkit.hypermodels.base.TunableModel`.
    """

    knobs = CNN_KNOBS

    def __init__(self, input_shape: Sequence[int], *, name: str = "hyper_cnn",
                 **kwargs: Any) -> None:
        super().__init__(input_shape, name=name, **kwargs)
        if len(self.input_shape) not in (2, 3):
            raise invalid("input_shape", "an image shape (height, width) or "
                          "(height, width, channels)", input_shape)

    def build_body(self, inputs: keras.KerasTensor,
                   values: Mapping[str, Any]) -> keras.KerasTensor:
        x = self.standardize(inputs)
        if len(self.input_shape) == 2:
            x = keras.layers.Reshape(self.input_shape + (1,), name="add_channel")(x)
        x = self._augment(x, values)
        for block in range(values["num_blocks"]):
            x = self._block(x, values, block)
        if values["head"] == "flatten":
            x = keras.layers.Flatten(name="flatten")(x)
        else:
            x = keras.layers.GlobalAveragePooling2D(name="global_average")(x)
        if values["dense_units"]:
            x = keras.layers.Dense(values["dense_units"], activation=values["activation"],
                                   kernel_initializer=values["kernel_initializer"],
                                   kernel_regularizer=self._regularizer(values),
                                   name="dense_head")(x)
        if values["dropout"] > 0:
            x = keras.layers.Dropout(values["dropout"], name="dropout_head")(x)
        return x

    def _augment(self, x, values):
        flip = values["augment_flip"]
        if flip != "none":
            x = keras.layers.RandomFlip(flip, name="augment_flip")(x)
        shift = values["augment_translation"]
        if shift:
            x = keras.layers.RandomTranslation(shift, shift, name="augment_translation")(x)
        crop = values["augment_crop"]
        if crop:
            # Crop-and-resize keeps the shape, and is the identity at inference
            # (Keras's RandomCrop resizes at inference, which shifts the content).
            x = keras.layers.RandomZoom((-crop, 0.0), name="augment_crop")(x)
        return x

    def _regularizer(self, values):
        return make_regularizer(values["regularizer"], l1=values["l1"], l2=values["l2"])

    def _conv(self, x, filters, kernel, name, values):
        options = {"padding": "same", "kernel_initializer": values["kernel_initializer"],
                   "kernel_regularizer": self._regularizer(values)}
        if values["factorized"] and kernel > 1:
            x = keras.layers.Conv2D(filters, (1, kernel), name=f"{name}_1xn", **options)(x)
            return keras.layers.Conv2D(filters, (kernel, 1), name=f"{name}_nx1", **options)(x)
        return keras.layers.Conv2D(filters, kernel, name=name, **options)(x)

    def _block(self, x, values, block):
        filters = values["filters"] * 2 ** block
        shortcut = x
        for index in range(values["convs_per_block"]):
            name = f"block{block}_conv{index}"
            x = self._conv(x, filters, values["kernel_size"], name, values)
            if values["batch_norm"]:
                x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
            x = keras.layers.Activation(values["activation"], name=f"{name}_act")(x)
        if values["residual"]:
            if shortcut.shape[-1] != filters:
                shortcut = keras.layers.Conv2D(filters, 1, name=f"block{block}_project")(
                    shortcut)
            x = keras.layers.Add(name=f"block{block}_add")([x, shortcut])
        if values["pooling"] != "none" and min(x.shape[1], x.shape[2]) >= 2:
            pool = (keras.layers.MaxPooling2D if values["pooling"] == "max"
                    else keras.layers.AveragePooling2D)
            x = pool(2, name=f"block{block}_pool")(x)
        return x
