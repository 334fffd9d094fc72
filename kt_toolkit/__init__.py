"""kt_toolkit: tune Keras models the way practitioners do.

Example:

```python
from kt_toolkit import load_config, run_experiment

result = run_experiment(load_config("experiments/digits_mlp.yaml",
                                    ["tuner.max_trials=3", "data.subsample=300"]))
print(result.best_score, result.run_dir)
```
"""

__version__ = "0.1.0"

__all__ = ["ConfigError", "HyperCNN", "HyperMLP", "HyperSequence", "RunResult",
           "__version__", "check_experiment", "load_config", "load_dataset",
           "run_experiment"]

_LAZY = {
    "ConfigError": "kt_toolkit.errors",
    "load_config": "kt_toolkit.config",
    "HyperMLP": "kt_toolkit.hypermodels",
    "HyperCNN": "kt_toolkit.hypermodels",
    "HyperSequence": "kt_toolkit.hypermodels",
    "load_dataset": "kt_toolkit.data",
    "run_experiment": "kt_toolkit.runner",
    "RunResult": "kt_toolkit.runner",
    "check_experiment": "kt_toolkit.checks",
}


def __getattr__(name):
    # Lazy, so `import kt_toolkit.config` never pays for Keras and TensorFlow.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
