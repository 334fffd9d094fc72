"""Tuners: `build_tuner(config)` for hyperband / bayesian / random / quasi_random / tpe / grid,
every trial recorded in the run directory; one search set up, run and finished the
same way in every process (`session`); parallel workers (`launcher`)."""

from kt_toolkit.tuners.build import (RecordingBayesianOptimization,
                                     RecordingGridSearch, RecordingHyperband,
                                     RecordingRandomSearch, build_tuner, resolve_objective)
from kt_toolkit.tuners.quasi_random import QuasiRandomOracle, QuasiRandomSearch
from kt_toolkit.tuners.tpe import TPEOracle, TPESearch

__all__ = ["QuasiRandomOracle", "QuasiRandomSearch", "RecordingBayesianOptimization",
           "RecordingGridSearch", "RecordingHyperband", "RecordingRandomSearch", "TPEOracle",
           "TPESearch", "build_tuner", "resolve_objective"]
