"""kt_toolkit: tune Keras models the way practitioners do.

Example:

```python
from kt_toolkit import load_experiment, run_experiment

result = run_experiment(load_experiment("experiments/digits_mlp.yaml",
                                        ["tuner.max_trials=3", "data.subsample=300"]))
print(result.best_score, result.run_dir)
```

The names below load lazily (`import kt_toolkit` costs no Keras or TensorFlow);
`dir(kt_toolkit)`, IDEs and type checkers see them all. Once Keras is imported
too, in either order, kt_toolkit's schedules are registered with it, so saved
models that use them reload (`kt_toolkit._keras_hook`).
"""

import importlib
from typing import TYPE_CHECKING

from kt_toolkit import _keras_hook

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kt_toolkit.ablation import Ablation, ablate
    from kt_toolkit.analysis import Report, Study, load_study, study_verdicts, write_report
    from kt_toolkit.callbacks import (ChancePruning, EpochLogger, EpochScalars,
                                      MedianPruning, NanGuard, default_callbacks)
    from kt_toolkit.checks import check_experiment
    from kt_toolkit.config import ExperimentConfig, load_config
    from kt_toolkit.data import load_dataset
    from kt_toolkit.errors import (ConfigError, DataError, KtToolkitError, LaunchError,
                                   RunDirectoryError)
    from kt_toolkit.experiment import load_experiment, run_experiment, write_run_report
    from kt_toolkit.hypermodels import HyperCNN, HyperMLP, HyperSequence, TunableModel
    from kt_toolkit.rundir import RunDirectory
    from kt_toolkit.tuners import (QuasiRandomSearch, RecordingBayesianOptimization,
                                   RecordingGridSearch, RecordingHyperband,
                                   RecordingRandomSearch, TPESearch, build_tuner)
    from kt_toolkit.tuners.session import RunResult

_LAZY = {
    "KtToolkitError": "kt_toolkit.errors",
    "ConfigError": "kt_toolkit.errors",
    "DataError": "kt_toolkit.errors",
    "RunDirectoryError": "kt_toolkit.errors",
    "LaunchError": "kt_toolkit.errors",
    "ExperimentConfig": "kt_toolkit.config",
    "load_config": "kt_toolkit.config",
    "load_dataset": "kt_toolkit.data",
    "HyperMLP": "kt_toolkit.hypermodels",
    "HyperCNN": "kt_toolkit.hypermodels",
    "HyperSequence": "kt_toolkit.hypermodels",
    "TunableModel": "kt_toolkit.hypermodels",
    "ChancePruning": "kt_toolkit.callbacks",
    "EpochLogger": "kt_toolkit.callbacks",
    "EpochScalars": "kt_toolkit.callbacks",
    "MedianPruning": "kt_toolkit.callbacks",
    "NanGuard": "kt_toolkit.callbacks",
    "default_callbacks": "kt_toolkit.callbacks",
    "RunDirectory": "kt_toolkit.rundir",
    "build_tuner": "kt_toolkit.tuners",
    "QuasiRandomSearch": "kt_toolkit.tuners",
    "RecordingBayesianOptimization": "kt_toolkit.tuners",
    "RecordingGridSearch": "kt_toolkit.tuners",
    "RecordingHyperband": "kt_toolkit.tuners",
    "RecordingRandomSearch": "kt_toolkit.tuners",
    "TPESearch": "kt_toolkit.tuners",
    "RunResult": "kt_toolkit.tuners.session",
    "Report": "kt_toolkit.analysis",
    "Study": "kt_toolkit.analysis",
    "load_study": "kt_toolkit.analysis",
    "study_verdicts": "kt_toolkit.analysis",
    "write_report": "kt_toolkit.analysis",
    "load_experiment": "kt_toolkit.experiment",
    "run_experiment": "kt_toolkit.experiment",
    "write_run_report": "kt_toolkit.experiment",
    "check_experiment": "kt_toolkit.checks",
    "ablate": "kt_toolkit.ablation",
    "Ablation": "kt_toolkit.ablation",
}

__all__ = sorted(["__version__", *_LAZY])


def __getattr__(name):
    # Lazy, so `import kt_toolkit.config` never pays for Keras and TensorFlow.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


_keras_hook.install()
