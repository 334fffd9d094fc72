"""Your own data (issue 14, item 2): a loader function, an image folder.

Each source is tuned through `kt-toolkit tune` end to end (2 trials, 1 epoch) and
its saved best model is loaded and fed raw inputs. The loader modules live in a
temporary folder next to the experiment file (imported from there), the images
are PNG files this test writes.
"""

import logging
import os
import sys
import uuid

import numpy as np
import pytest
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.cli import main

PY_DATASET_LOADER = '''
import numpy as np
import keras
from sklearn.datasets import load_digits


class Digits(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size=32, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]


def load(seed=0):
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))[:470]
    x, y = x[order].astype("float32"), y[order]
    return {"train": Digits(x[:300], y[:300]), "validation": Digits(x[300:400], y[300:400]),
            "test": Digits(x[400:], y[400:])}


def no_validation():
    return Digits(np.zeros((64, 4), "float32"), np.zeros(64, "int64"))


def not_data():
    return "digits.csv"


def arrays():
    x, y = load_digits(return_X_y=True)
    return {"train": (x[:300], y[:300]), "test": (x[300:400], y[300:400])}
'''

TF_DATA_LOADER = '''
import tensorflow as tf
from sklearn.datasets import load_iris


def load():
    x, y = load_iris(return_X_y=True)
    data = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y))
    data = data.shuffle(150, seed=0, reshuffle_each_iteration=False)
    return {"train": data.take(90).batch(16), "validation": data.skip(90).take(30).batch(16),
            "test": data.skip(120).batch(16)}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """`(folder, module name of the PyDataset loader, of the tf.data loader)`."""
    folder = tmp_path_factory.mktemp("own_data")
    names = []
    for source in (PY_DATASET_LOADER, TF_DATA_LOADER):
        names.append(f"own_loader_{uuid.uuid4().hex[:8]}")
        (folder / f"{names[-1]}.py").write_text(source)
    saved = list(sys.path)
    yield folder, names[0], names[1]
    sys.path[:] = saved
    for name in names:
        sys.modules.pop(name, None)


def _experiment(folder, name, data, builder="mlp", refit=False):
    raw = {"experiment": {"name": name, "seed": 1}, "data": data,
           "model": {"builder": builder},
           "tuner": {"algorithm": "random", "max_trials": 2},
           "training": {"epochs": 1, "batch_size": 32},
           "final": {"refit": refit},
           "output": {"directory": str(folder / "runs"), "run_name": name,
                      "report": False}}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), str(folder / "runs" / name)


def _best_model(run_dir):
    import keras

    return keras.models.load_model(os.path.join(run_dir, "best", "model.keras"))


def _final(run_dir, x_test, y_test, samples):
    """Checks `final/`: both models scored on the `samples` test samples, and the
    refit model, fed the raw `x_test`, scores what evaluation.yaml says."""
    import keras

    with open(os.path.join(run_dir, "final", "evaluation.yaml"), encoding="utf-8") as handle:
        final = yaml.safe_load(handle)
    assert (final["source"], final["samples"]) == ("dataset", samples), final
    assert "accuracy" in final["best"]["metrics"] and "accuracy" in final["refit"]["metrics"]
    model = keras.models.load_model(os.path.join(run_dir, "final", "model.keras"))
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=1)
    assert np.mean(predicted == y_test) == pytest.approx(final["refit"]["metrics"]["accuracy"],
                                                         abs=1e-4)
    return final


def test_a_py_dataset_loader_tunes_streamed_then_resumes_without_retraining(
        project, caplog, rerun_trains_nothing):
    folder, py_loader, _ = project
    path, run_dir = _experiment(folder, "py_dataset", {"loader": f"{py_loader}:load"},
                                refit=True)
    with caplog.at_level(logging.INFO, logger="kt_toolkit"):
        assert main(["tune", path, "-q"]) == 0
    summary = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("Data:"))
    assert "streamed: 10 train / 4 val batches" in summary, summary
    assert "sample of the first 8 batches (256 train / 100 val samples)" in summary, summary
    rows = read_csv(os.path.join(run_dir, "trials.csv"))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["data"]["module_dir"] == str(folder)
    # The test stream (70 samples, counted as it was evaluated); the refit trained on the
    # training PyDataset followed by the validation one (300 + 100 samples).
    test = sys.modules[py_loader].load(seed=1)["test"]
    final = _final(run_dir, test.x, test.y, 70)
    assert (final["best"]["train_samples"], final["refit"]["train_samples"]) == (300, 400)
    rerun_trains_nothing(path, run_dir)
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    probabilities = _best_model(run_dir).predict(x[:50].astype("float32"), verbose=0)
    assert probabilities.shape == (50, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)


def test_a_tf_data_loader_tunes_and_its_best_and_final_models_take_raw_features(
        project, checks_pass_on_a_sample, rerun_trains_nothing):
    folder, _, tf_loader = project
    path, run_dir = _experiment(folder, "tf_data", {"loader": f"{tf_loader}:load"},
                                refit=True)
    checks_pass_on_a_sample(path, "6 batches (90 train / 30 val")
    assert main(["tune", path, "-q"]) == 0
    rows = read_csv(os.path.join(run_dir, "trials.csv"))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    from sklearn.datasets import load_iris

    model = _best_model(run_dir)
    assert "standardize" in [layer.name for layer in model.layers]  # from the sample
    assert model.predict(load_iris().data[:5].astype("float32"), verbose=0).shape == (5, 3)
    batches = list(sys.modules[tf_loader].load()["test"].as_numpy_iterator())
    final = _final(run_dir, np.concatenate([b[0] for b in batches]),
                   np.concatenate([b[1] for b in batches]), 30)
    assert final["refit"]["train_samples"] == 120  # training + validation streams, joined
    rerun_trains_nothing(path, run_dir)


def _write_images(root, classes, per_class, size=16, seed=0):
    """PNG files of `classes` (class c: brightness 60 + 60 c, plus noise); returns
    their pixels (uint8) and class indices."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x, y = [], []
    for index, name in enumerate(classes):
        os.makedirs(root / name, exist_ok=True)
        for number in range(per_class):
            pixels = np.clip(60 + 60 * index + rng.normal(0, 20, (size, size, 3)), 0, 255)
            x.append(pixels.astype(np.uint8))
            y.append(index)
            (root / name / f"{number}.png").write_bytes(tf.io.encode_png(x[-1]).numpy())
    return np.stack(x), np.array(y)


def test_an_image_folder_tunes_a_cnn_whose_models_take_0_255_pixels(tmp_path, capsys,
                                                                    rerun_trains_nothing):
    images, classes = tmp_path / "shapes", ["dark", "grey", "light"]
    _write_images(images / "train", classes, 12)
    x_test, y_test = _write_images(images / "test", classes, 4, seed=1)
    path, run_dir = _experiment(tmp_path, "folder", {
        "dataset": str(images) + "/", "image_size": [16, 16], "validation_split": 0.25},
        builder="cnn", refit=True)
    assert main(["validate", path]) == 0
    assert "test part: 12 images in" in capsys.readouterr().out
    assert main(["tune", path, "-q"]) == 0
    rows = read_csv(os.path.join(run_dir, "trials.csv"))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    model = _best_model(run_dir)
    assert model.layers[1].name == "rescale"
    raw = np.full((2, 16, 16, 3), 200, dtype=np.uint8)
    assert model.predict(raw, verbose=0).shape == (2, 3)
    final = _final(run_dir, x_test, y_test, 12)  # test/ held out; raw uint8 pixels
    assert final["refit"]["train_samples"] == 36  # train/: training + validation parts
    rerun_trains_nothing(path, run_dir)
    path, _ = _experiment(tmp_path, "split", {"dataset": str(images) + "/",
                                              "test_split": 0.2}, builder="cnn")
    _one_line_error(capsys, path, "data.test_split", "train/ and test/ subfolders")


def _one_line_error(capsys, path, *needles):
    assert main(["tune", path, "-q"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    for needle in needles:
        assert needle in error, error
    return error


@pytest.mark.parametrize("loader,needles", [
    ("{py}:not_data", ["data.loader", "returned str 'digits.csv'"]),
    ("{py}:no_validation", ["data.loader", "`validation` part", "Digits"]),
    ("{py}:missing", ["data.loader", "has no attribute 'missing'"]),
    ("no_such_module_xyz:load", ["data.loader", "ModuleNotFoundError"]),
])
def test_a_loader_that_cannot_be_used_exits_2_with_one_line(project, capsys, loader, needles):
    folder, py_loader, _ = project
    path, _ = _experiment(folder, "bad_loader", {"loader": loader.format(py=py_loader)})
    _one_line_error(capsys, path, *needles)


def test_an_image_folder_with_one_class_or_no_images_exits_2(tmp_path, capsys):
    one = tmp_path / "one"
    _write_images(one, ["only"], 3)
    path, _ = _experiment(tmp_path, "one", {"dataset": str(one) + "/"}, builder="cnn")
    _one_line_error(capsys, path, "data.dataset", "at least 2 class subfolders", "only")
    empty = tmp_path / "empty"
    (empty / "cats").mkdir(parents=True)
    (empty / "cats" / "notes.txt").write_text("no image")
    path, _ = _experiment(tmp_path, "empty", {"dataset": str(empty) + "/"}, builder="cnn")
    _one_line_error(capsys, path, "data.dataset", "no images", "cats")


def test_a_loader_of_arrays_is_split_and_its_test_part_held_out(project, capsys):
    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import load_parts

    folder, py_loader, _ = project
    config = DataConfig(loader=f"{py_loader}:arrays", module_dir=str(folder))
    data, held_out = load_parts(config, seed=0)
    assert (len(data.y_train), len(data.y_val), held_out.samples) == (240, 60, 100)
    assert not data.is_streamed and data.feature_mean is not None
    assert data.name == f"{py_loader}:arrays"  # not data.dataset's default, digits
    path, _ = _experiment(folder, "streams_said", {"loader": f"{py_loader}:load"})
    assert main(["validate", path]) == 0
    assert "first 8 batches (at most 2048 samples)" in capsys.readouterr().out


@pytest.mark.parametrize("key,value", [("color_mode", "cmyk"), ("image_size", [64]),
                                       ("columns", {"a": "date"}), ("missing", "drop"),
                                       ("loader", "no_colon")])
def test_a_bad_data_source_setting_is_refused_with_its_key(key, value):
    from kt_toolkit.config import DataConfig
    from kt_toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match=f"data.{key}"):
        DataConfig(**{key: value}).validate("data")
