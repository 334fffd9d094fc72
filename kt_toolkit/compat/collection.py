"""KerasTuner's garbage collection before every build, made cheap (keras-tuner 1.4.8, Keras 3.15).

Before it builds a trial's model, KerasTuner 1.4.8's `Tuner._try_build` calls
`keras.backend.clear_session()`, which in Keras 3.15 ends with `gc.collect()`
(its `free_memory=True` default), and then `gc.collect()` once more. Each is a
full collection: it visits every object the process tracks, and with TensorFlow
and Keras loaded that is ~380,000 objects before the first model. Measured on 2
cores: ~0.2 s a build on an idle machine (issue 12), 0.65 s when it is busy.

The collection is there to free the previous trial's model before the next one
is built. Skipping it would leave that to Python's automatic collector, which
counts objects, not bytes: a few large dead models could then pile up in memory.
So it is kept, and made to visit only what the search itself created:
`collect_young_only()`, held by kt_toolkit's tuners around `search` (and by
`run_experiment` around the search and the best model's export, whose
`load_model` builds once more), collects once and then freezes (`gc.freeze()`)
every object alive when the search starts. A frozen object is never visited by a
collection (it is still freed by reference counting), so each collection inside
the search costs ~0.01-0.05 s and still frees the previous trial's model, as
before. On the way out everything frozen is unfrozen, and later collections see
it again.

This relies on kt_toolkit's TensorFlow memory fix (`compat/keras.py`): without
it TensorFlow keeps every trained model's graph, all of it created during the
search, and each collection would visit more with every trial.

Caveats: cyclic garbage among the objects that existed before the search is
freed after the search, not during it. A process that has frozen objects itself
(`gc.get_freeze_count() > 0`), or has disabled the collector, is left as it is.

Tests: `tests/compat/test_collection.py` (what KerasTuner and Keras do before a
build; a frozen heap still frees each model, the memory fix still holds).
"""

import contextlib
import gc

__all__ = ["collect_young_only"]


@contextlib.contextmanager
def collect_young_only():
    """Freezes the objects alive now, for the `with` block; yields whether it did.

    Nested uses, and processes that froze objects themselves or turned the
    collector off, change nothing (and yield `False`).
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield False
        return
    gc.collect()  # what is garbage already must not be frozen with the rest
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()
