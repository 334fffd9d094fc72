"""Trial 0 is the space's default configuration (issue 12, part 2).

The defaults are the practitioners' first tries (`Knob.default`: one hidden layer,
dropout 0.5, L2 1e-4, Adam at 1e-3…). Starting there gives every search a sound
baseline after one trial, whatever the algorithm. KerasTuner's random search,
Bayesian initial points and Hyperband draw through `Oracle._random_values`, which
`compat.hooks.OracleHooks` answers with the defaults first; grid search starts
from them already. kt_toolkit's own oracles (quasi-random, TPE) choose their values
in `populate_space`: `DefaultsFirstMixin` goes before them. Either way the defaults'
hash is recorded, so no later trial repeats them.
"""

from kt_toolkit.compat.keras_tuner import first_values

__all__ = ["DefaultsFirstMixin"]


class DefaultsFirstMixin:
    """Mixed in before an oracle class: its first trial gets the space's defaults."""

    def populate_space(self, trial_id):
        values = first_values(self)
        if values is not None:
            return {"status": "RUNNING", "values": values}
        return super().populate_space(trial_id)
