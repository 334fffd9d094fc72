"""Tuners: `build_tuner(config)` for hyperband / bayesian / random / quasi_random / grid,
trial records."""

from kt_toolkit.tuners.build import (BayesianOptimization, GridSearch, Hyperband,
                                     RandomSearch, build_tuner, resolve_objective)
from kt_toolkit.tuners.quasi_random import QuasiRandomOracle, QuasiRandomSearch
from kt_toolkit.analysis.trials import trial_rows, write_trials_table

__all__ = ["BayesianOptimization", "GridSearch", "Hyperband", "QuasiRandomOracle",
           "QuasiRandomSearch", "RandomSearch",
           "build_tuner", "resolve_objective", "trial_rows", "write_trials_table"]
