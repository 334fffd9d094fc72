"""Shared test settings: quiet TensorFlow, no KerasTuner tracebacks, small configs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The suite runs in three processes on two cores, and many tests start children: with
# TensorFlow's and XLA's default pools (one thread per core, each process) the threads of
# tiny models spin against each other. One compute thread per process (children inherit
# it) measured ~10 % less CPU and much less wall time on a loaded machine.
for _name, _value in (("TF_NUM_INTRAOP_THREADS", "1"), ("TF_NUM_INTEROP_THREADS", "2"),
                      ("OMP_NUM_THREADS", "1"),
                      ("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                    "intra_op_parallelism_threads=1")):
    os.environ.setdefault(_name, _value)

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


@pytest.fixture(scope="session")
def hparams_names():
    """`hparams_names(run_dir)`: the hyperparameters of a run's TensorBoard HParams
    experiment, as written."""
    import glob

    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import plugin_data_pb2

    def names(run_dir):
        found = []
        for path in glob.glob(os.path.join(run_dir, "tensorboard", "*.experiment")):
            for event in EventFileLoader(path).Load():
                for value in event.summary.value:
                    if value.metadata.plugin_data.plugin_name == "hparams":
                        data = plugin_data_pb2.HParamsPluginData.FromString(
                            value.metadata.plugin_data.content)
                        found += [info.name for info in data.experiment.hparam_infos]
        return found

    return names


# Files that start processes or train many models, longest first (measured with
# --durations). pytest-xdist's --dist loadfile hands files out in collection order:
# starting these first lets the many short files fill the end of the run instead of
# one process finishing a long file alone.
LONG_FILES = ("tests/tuners/test_parallel.py", "tests/tuners/test_resume.py",
              "tests/test_notebooks.py", "tests/tuners/test_own_project.py",
              "tests/ablation/test_ablate.py", "tests/hypermodels/test_custom.py",
              "tests/test_claims.py", "tests/rundir/test_tensorboard.py",
              "tests/tuners/test_folds_resume.py", "tests/data/test_own_data.py",
              "tests/tuners/test_search.py", "tests/tuners/test_reproducibility.py")


def pytest_collection_modifyitems(items):
    rank = {path: index for index, path in enumerate(LONG_FILES)}

    def order(item):
        path = os.path.relpath(str(item.path), REPO).replace(os.sep, "/")
        return rank.get(path, len(rank))

    items.sort(key=order)  # stable: the order within a file is kept
