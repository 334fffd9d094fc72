"""Pure functions from a run directory to tables. Imports no Keras or TensorFlow."""

from kt_toolkit.analysis.trials import PROJECT_NAME, trial_rows, write_trials_table

__all__ = ["PROJECT_NAME", "trial_rows", "write_trials_table"]
