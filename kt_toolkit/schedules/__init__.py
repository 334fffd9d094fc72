"""Learning-rate schedules (E3): two Keras lacks, and a factory over all of them.

Importing this package registers `MultiStepDecay` and `WarmupInverseSqrtSchedule`
with Keras, so saved models that use them reload without `custom_objects`. A plain
`import kt_toolkit` is enough: it imports this package as soon as Keras is imported
(or at once, when Keras already is) without importing Keras itself; see
`kt_toolkit._keras_hook`.

Example:

```python
from kt_toolkit.schedules import SCHEDULES, make_schedule

schedule = make_schedule("noam", 1e-3, steps_per_epoch=100, epochs=20)
optimizer = keras.optimizers.Adam(learning_rate=schedule)
```
"""

from kt_toolkit.schedules.factory import SCHEDULES, make_schedule
from kt_toolkit.schedules.learning_rate import MultiStepDecay, WarmupInverseSqrtSchedule

__all__ = ["SCHEDULES", "MultiStepDecay", "WarmupInverseSqrtSchedule", "make_schedule"]
