"""Integer arguments of the builders: NumPy's integers count (`y.max() + 1`), bools don't."""

import json

import keras_tuner
import numpy as np
import pytest

from kt_toolkit.errors import ConfigError
from kt_toolkit.hypermodels import HyperMLP, HyperSequence
from kt_toolkit.hypermodels.heads import check_task


def test_num_classes_from_numpy_labels_builds_a_softmax_of_that_width():
    y = np.array([0, 2, 1, 2], dtype=np.int64)
    hypermodel = HyperMLP((4,), num_classes=y.max() + 1, space={"num_layers": 1})
    assert hypermodel.num_classes == 3 and type(hypermodel.num_classes) is int
    json.dumps({"num_classes": hypermodel.num_classes})  # records stay plain JSON
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.get_layer("output").units == 3


@pytest.mark.parametrize("value", [np.uint8(4), np.int32(4), 4])
def test_check_task_returns_a_python_int(value):
    width = check_task("multiclass", value)
    assert width == 4 and type(width) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, np.float64(3.0), "3",
                                   np.int64(1)])
def test_num_classes_that_is_not_an_integer_of_two_or_more_is_refused(value):
    with pytest.raises(ConfigError, match="`num_classes` must be an integer >= 2"):
        HyperMLP((4,), num_classes=value)


def test_vocabulary_size_accepts_numpy_integers_and_refuses_bools():
    tokens = np.array([[1, 5, 9]], dtype=np.int64)
    hypermodel = HyperSequence((3,), vocabulary_size=tokens.max() + 1, task="binary")
    assert hypermodel.vocabulary_size == 10 and type(hypermodel.vocabulary_size) is int
    with pytest.raises(ConfigError, match="`vocabulary_size` must be an integer >= 2"):
        HyperSequence((3,), vocabulary_size=True, task="binary")
