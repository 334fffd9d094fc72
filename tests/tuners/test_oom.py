"""Out of GPU memory is a FAILED trial, classified by each backend's own type (issue 16)."""

import json

import keras
import keras_tuner
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kt_toolkit.hypermodels import HyperMLP
from kt_toolkit.rundir.layout import PROJECT_NAME
from kt_toolkit.tuners import RecordingRandomSearch
from kt_toolkit.tuners.oom import gpu_oom_error, is_host_oom, oom_reason
from kt_toolkit.tuners.recording import _reason


def _raised_from(cause):
    """`cause` wrapped as Keras and KerasTuner sometimes re-raise it."""
    try:
        try:
            raise cause
        except Exception as error:
            raise RuntimeError("while fitting") from error
    except RuntimeError as wrapped:
        return wrapped


def test_tensorflow_resource_exhausted_is_a_gpu_oom_by_its_type():
    tf = pytest.importorskip("tensorflow")
    error = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with "
                                             "shape[4096,4096] on /device:GPU:0")
    assert gpu_oom_error(error) is error
    assert gpu_oom_error(_raised_from(error)) is error
    # Another TensorFlow error, even one that mentions memory, is not.
    assert gpu_oom_error(tf.errors.InternalError(None, None, "out of memory")) is None


def test_jax_runtime_error_is_a_gpu_oom_only_with_resource_exhausted():
    jax = pytest.importorskip("jax")
    error = jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to "
                                       "allocate 17179869184 bytes.")
    assert gpu_oom_error(error) is error
    assert gpu_oom_error(_raised_from(error)) is error
    # JAX raises the same type for every runtime error: the message decides.
    assert gpu_oom_error(jax.errors.JaxRuntimeError("INVALID_ARGUMENT: bad shape")) is None


def test_torch_cuda_out_of_memory_is_a_gpu_oom_by_its_type():
    torch = pytest.importorskip("torch")
    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert gpu_oom_error(error) is error


def test_other_errors_are_not_gpu_oom_whatever_their_message():
    assert gpu_oom_error(RuntimeError("CUDA out of memory. RESOURCE_EXHAUSTED")) is None
    assert gpu_oom_error(ValueError("ResourceExhaustedError")) is None
    assert gpu_oom_error(MemoryError()) is None
    assert is_host_oom(_raised_from(MemoryError("cannot allocate")))
    assert _reason(MemoryError("cannot allocate")).startswith("out of host memory (")
    assert _reason(ValueError("bad")) == "ValueError: bad"


def test_oom_reason_names_batch_size_and_parameters():
    assert oom_reason(512, 1234).startswith(
        "GPU out of memory at batch size 512 (model has 1234 parameters).")
    assert "training.oom: halve_batch" in oom_reason(512, 1234)
    retried = oom_reason(256, 1234, retried_from=512)
    assert retried.startswith("GPU out of memory at batch size 256 (model has 1234 parameters)"
                              ", retried after running out at batch size 512.")


class _RunsOutAbove(keras.callbacks.Callback):
    """Raises the backend's real out-of-memory error at the first batch of a fit."""

    def __init__(self, error):
        super().__init__()
        self.error = error

    def on_train_batch_begin(self, batch, logs=None):
        raise self.error


class SmallGpuMLP(HyperMLP):
    """A HyperMLP on a pretend GPU that holds batches of at most `limit` samples."""

    limit = 40

    def fit(self, hp, model, *args, **kwargs):
        if self.fit_batch_size(hp, kwargs) > self.limit:
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), _RunsOutAbove(_oom_error())]
        return super().fit(hp, model, *args, **kwargs)


def _oom_error():
    """The out-of-memory error of the backend this test session runs on."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
    if backend == "jax":
        import jax

        return jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory")
    import torch

    return torch.cuda.OutOfMemoryError("CUDA out of memory")


def _search(tmp_path, policy):
    x, y = load_digits(return_X_y=True)
    x, y = x[:240].astype("float32"), y[:240]
    hypermodel = SmallGpuMLP((64,), num_classes=10,
                             space={"num_layers": 1, "units": 16, "batch_size": 64,
                                    "batch_norm": False, "optimizer": "adam"})
    tuner = RecordingRandomSearch(hypermodel, objective=keras_tuner.Objective("val_accuracy",
                                                                              "max"),
                                  max_trials=2, seed=3, directory=str(tmp_path),
                                  project_name=PROJECT_NAME, run_dir=str(tmp_path),
                                  max_consecutive_failed_trials=3)
    tuner.oom_policy = policy
    tuner.search(x[:180], y[:180], validation_data=(x[180:], y[180:]), epochs=1, verbose=0)
    parameters = hypermodel.build(keras_tuner.HyperParameters()).count_params()
    return tuner, parameters


def _meta(tmp_path, trial_id):
    return json.loads((tmp_path / "trials" / trial_id / "meta.json").read_text())


def test_a_trial_out_of_gpu_memory_fails_with_its_batch_and_size_and_the_search_goes_on(
        tmp_path):
    tuner, parameters = _search(tmp_path, "fail")

    trials = tuner.oracle.trials
    assert len(trials) == 2  # the first failure did not end the search
    for trial_id, trial in trials.items():
        assert trial.status == "FAILED"
        assert _meta(tmp_path, trial_id)["reason"].startswith(
            f"GPU out of memory at batch size 64 (model has {parameters} parameters).")
        assert "oom_retry" not in _meta(tmp_path, trial_id)
        assert _meta(tmp_path, trial_id)["device"] == "CPU"  # no GPU here


def test_halve_batch_retries_once_at_half_the_batch_size_and_records_it(tmp_path):
    tuner, parameters = _search(tmp_path, "halve_batch")

    for trial_id, trial in tuner.oracle.trials.items():
        assert trial.status == "COMPLETED"
        meta = _meta(tmp_path, trial_id)
        assert meta["oom_retry"] == {"batch_size": 32, "ran_out_at": 64,
                                     "parameters": parameters}
        assert len(tuner.run.history(trial_id)) == 1  # one epoch, of the retry
    assert tuner.hypermodel.max_batch_size is None  # the cap was for the retry only


def test_halve_batch_fails_a_trial_that_runs_out_at_half_the_batch_too(tmp_path, monkeypatch):
    monkeypatch.setattr(SmallGpuMLP, "limit", 16)
    tuner, parameters = _search(tmp_path, "halve_batch")

    for trial_id, trial in tuner.oracle.trials.items():
        assert trial.status == "FAILED"
        assert _meta(tmp_path, trial_id)["reason"].startswith(
            f"GPU out of memory at batch size 32 (model has {parameters} parameters), "
            "retried after running out at batch size 64.")
