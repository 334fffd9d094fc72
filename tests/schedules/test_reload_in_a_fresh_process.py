"""A model trained with a kt_toolkit schedule reloads in a fresh process after
`import kt_toolkit`, whichever of kt_toolkit and Keras is imported first."""

import os
import pathlib
import subprocess
import sys

import keras_tuner
import numpy as np
import pytest

from kt_toolkit.hypermodels import HyperMLP

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _python(code, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Two tiny MLPs fitted one epoch, with `multistep` and `noam`, saved to .keras."""
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    paths = []
    for schedule in ("multistep", "noam"):
        hypermodel = HyperMLP((4,), num_classes=2, space={
            "num_layers": 1, "units": 8, "optimizer": "adam", "learning_rate": 1e-2,
            "lr_schedule": schedule, "batch_size": 8})
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        hypermodel.fit(hp, model, x, y, epochs=1, verbose=0)
        path = folder / f"{schedule}.keras"
        model.save(path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("imports", ["import kt_toolkit, keras", "import keras, kt_toolkit"])
def test_saved_schedule_reloads_after_import_kt_toolkit(saved_models, tmp_path, imports):
    code = (f"{imports}\n"
            f"for path in {saved_models!r}:\n"
            "    model = keras.saving.load_model(path)\n"
            "    print(model.optimizer.get_config()['learning_rate']['class_name'])\n")
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["MultiStepDecay", "WarmupInverseSqrtSchedule"]


def test_import_kt_toolkit_still_imports_no_keras(tmp_path):
    result = _python("import sys, kt_toolkit; print('keras' in sys.modules)", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
