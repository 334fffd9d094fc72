"""Shared test settings: quiet TensorFlow, no KerasTuner tracebacks, small configs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True, scope="session")
def _quiet_keras_tuner():
    try:
        from keras_tuner.src import config as keras_tuner_config
    except ImportError:  # pragma: no cover
        yield
        return
    keras_tuner_config.DEBUG = False
    yield


@pytest.fixture
def make_config(tmp_path):
    """`make_config(**sections)`: a validated config for a fast real search on digits.

    Runs go under `tmp_path/runs`; `sections` are merged into the defaults.
    """
    return lambda **sections: tiny_config(tmp_path, **sections)


@pytest.fixture(scope="session")
def config_in():
    """`config_in(folder, **sections)`, for fixtures wider than one test."""
    return tiny_config


def tiny_config(tmp_path, **sections):
    """See `make_config`."""
    from kt_toolkit.config import config_from_dict

    raw = {
        "experiment": {"name": "tiny", "seed": 1},
        "data": {"dataset": "digits", "subsample": 200},
        "model": {"space": {"num_layers": 1, "units": {"values": [16, 32]},
                            "optimizer": "adam",
                            "learning_rate": {"min": 1e-3, "max": 1e-2, "sampling": "log"},
                            "batch_norm": False}},
        "tuner": {"algorithm": "random", "max_trials": 2},
        "training": {"epochs": 2, "batch_size": 64},
        "output": {"directory": str(tmp_path / "runs"), "report": False},
    }
    _merge(raw, sections)
    return config_from_dict(raw)


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and value:
            _merge(base[key], value)
        else:
            base[key] = value
