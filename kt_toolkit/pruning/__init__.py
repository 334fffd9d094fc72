"""Pruning rules (B2, C4) as plain functions of numbers, and the median rule's reference.

No Keras here: the callbacks in `kt_toolkit.callbacks.pruning` track the logged
values and ask these rules, on the model of Optuna's `optuna/pruners/_median.py`.

- `median_decision`: is a trial behind the median of the completed trials?
- `chance_decision`: has its objective not left chance level?
- `chance_level`: the chance level of an objective, from the targets.
- `find_divergence`: did a trial's training blow up (NaN, an exploding or saturated
  loss)? The rule behind the `diverged` verdict and the choice of the best trial.
- `TrialCurves`: the completed trials' objective per epoch, in memory.
"""

from kt_toolkit.pruning.chance import chance_decision, chance_level
from kt_toolkit.pruning.curves import HistoryLoader, TrialCurves
from kt_toolkit.pruning.divergence import (Divergence, DivergenceRule, chance_crossentropy,
                                           find_divergence)
from kt_toolkit.pruning.median import median_decision

__all__ = ["Divergence", "DivergenceRule", "HistoryLoader", "TrialCurves",
           "chance_crossentropy", "chance_decision", "chance_level", "find_divergence",
           "median_decision"]
