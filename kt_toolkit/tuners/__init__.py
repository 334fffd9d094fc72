"""Tuners: `build_tuner(config)` for hyperband / bayesian / random / quasi_random / tpe / grid,
every trial recorded in the run directory; one search set up, run and finished the
same way in every process (`session`); parallel workers (`launcher`) and the device
each one trains on (`devices`).

The names below load lazily (they import Keras), so the pure modules of this
package (`devices`, `oom`) can be imported before a backend loads.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kt_toolkit.tuners.build import (RecordingBayesianOptimization, RecordingGridSearch,
                                         RecordingHyperband, RecordingRandomSearch,
                                         build_tuner, resolve_objective)
    from kt_toolkit.tuners.quasi_random import QuasiRandomOracle, QuasiRandomSearch
    from kt_toolkit.tuners.tpe import TPEOracle, TPESearch

_LAZY = {"RecordingBayesianOptimization": "build", "RecordingGridSearch": "build",
         "RecordingHyperband": "build", "RecordingRandomSearch": "build",
         "build_tuner": "build", "resolve_objective": "build",
         "QuasiRandomOracle": "quasi_random", "QuasiRandomSearch": "quasi_random",
         "TPEOracle": "tpe", "TPESearch": "tpe"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"kt_toolkit.tuners.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
