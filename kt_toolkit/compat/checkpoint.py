"""The best epoch's weights kept in memory, written once per trial (keras-tuner 1.4.8).

KerasTuner 1.4.8's `Tuner.run_trial` appends one `tuner_utils.SaveBestEpoch`
callback (the same object in every execution of the trial, so the best epoch is
the best over all executions) whose `on_epoch_end` calls `_save_model()` after
every epoch that improves the objective (every epoch when the objective is not
in the logs): `model.save_weights(<trial dir>/checkpoint.weights.h5)`, layer
weights and optimizer slots. On a small model that is a file write for most
epochs (~0.12 s a trial measured, issue 12). `Tuner.load_model` (hence
`get_best_models` and kt_toolkit's `best/` export) and Hyperband's continued
trials read that file back.

`BestEpochCheckpoints` replaces KerasTuner's callback in each execution's list
(`take_over`) by a `BestEpochWeights`: a subclass whose `_save_model` copies the
weights and optimizer variables to host memory instead, and whose `write()` puts
that copy back into the model and calls KerasTuner's own `_save_model` once. The
tuner calls `write` when `run_trial` returns (or fails), before the trial ends in
the oracle, so every COMPLETED trial has its file as before; a run killed during
a trial leaves it RUNNING, and a resume trains it again anyway. A model whose
weights exceed `MAX_KEPT_BYTES` is written at every better epoch as KerasTuner
does (no second copy of a large model in memory). A tuner with a
`distribution_strategy` keeps KerasTuner's callback.

With `data.cv_folds` the tuner also writes it as each fold ends (`flush`, when
the fold improved the best epoch), so a resumed trial that keeps its finished
folds keeps their checkpoint too; it tells the trial's new callback the best
value that file holds (`resume`), which later folds must beat. Each write goes
through a temporary file and `os.replace`: a kill mid-write leaves the previous
checkpoint whole.

Test: `tests/compat/test_checkpoint.py` (what it relies on in 1.4.8; the file is
written once, holds the best epoch and reloads).
"""

import math
import os

from keras_tuner.src.engine.tuner_utils import SaveBestEpoch

__all__ = ["MAX_KEPT_BYTES", "BestEpochCheckpoints", "BestEpochWeights"]

MAX_KEPT_BYTES = 1 << 30  # 1 GiB of weights and slots; larger models write as KerasTuner does


class BestEpochWeights(SaveBestEpoch):
    """KerasTuner's `SaveBestEpoch` that keeps the best epoch in memory until `write()`.

    Args:
        objective: A `keras_tuner.Objective` (KerasTuner's `oracle.objective`).
        filepath: String, the checkpoint KerasTuner writes (`checkpoint.weights.h5`).
        max_bytes: Integer, above this size each better epoch is written at once.
            Defaults to `MAX_KEPT_BYTES`.
    """

    def __init__(self, objective, filepath, max_bytes=MAX_KEPT_BYTES):
        super().__init__(objective, filepath)
        self.max_bytes = max_bytes
        self.writes = 0  # checkpoint files written (for tests and the benchmark)
        self._variables = None  # (model, its weights and optimizer variables, bytes)
        self._kept = None  # (model, variables, their values) of the best epoch

    def _save_model(self):
        model, variables, size = self._model_variables()
        if size > self.max_bytes:
            self._kept = None
            self._write(model)
            return
        self._kept = (model, variables, [v.numpy() for v in variables])

    def _model_variables(self):
        """The model's weights and optimizer variables, listed once per model."""
        model = self.model
        if self._variables is None or self._variables[0] is not model:
            optimizer = getattr(model, "optimizer", None)
            variables = list(model.weights) + (
                list(optimizer.variables) if optimizer is not None else [])
            size = sum(math.prod(v.shape) * _itemsize(v) for v in variables)
            self._variables = (model, variables, size)
        return self._variables

    def write(self):
        """Writes the kept epoch's checkpoint; `False` when no epoch was kept."""
        self._variables = None  # the trial is over: its models can go
        if self._kept is None:
            return False
        model, variables, values = self._kept
        self._kept = None
        for variable, value in zip(variables, values):
            variable.assign(value)
        self._write(model)
        return True

    def _write(self, model):
        self.set_model(model)  # the kept model: a later execution's may be the current one
        path = self.filepath
        # Keras names weights files `*.weights.h5`: the temporary one keeps that ending.
        self.filepath = os.path.join(os.path.dirname(path),
                                     f".{os.getpid()}-{os.path.basename(path)}")
        try:
            super()._save_model()
            os.replace(self.filepath, path)
        finally:
            self.filepath = path
        self.writes += 1


def _itemsize(variable):
    dtype = str(getattr(variable, "dtype", "float32"))
    digits = "".join(c for c in dtype if c.isdigit())
    return max(int(digits) // 8, 1) if digits else 4


class BestEpochCheckpoints:
    """The in-memory best-epoch callback of each running trial of one tuner."""

    def __init__(self, max_bytes=MAX_KEPT_BYTES):
        self.max_bytes = max_bytes
        self._trials = {}
        self._resumed = {}  # trial_id -> the best value its checkpoint file already holds

    def take_over(self, trial_id, callbacks):
        """`callbacks`, KerasTuner's `SaveBestEpoch` replaced by the trial's `BestEpochWeights`.

        The same replacement serves every execution of the trial, as KerasTuner's
        one callback does.
        """
        replaced = []
        for callback in callbacks:
            if type(callback) is SaveBestEpoch:  # noqa: E721 - exactly KerasTuner's, not ours
                kept = self._trials.get(trial_id)
                if kept is None:
                    kept = self._trials[trial_id] = BestEpochWeights(
                        callback.objective, callback.filepath, self.max_bytes)
                    if trial_id in self._resumed:
                        kept.best_value = self._resumed.pop(trial_id)
                callback = kept
            replaced.append(callback)
        return replaced

    def resume(self, trial_id, best_value):
        """The trial's checkpoint file holds an epoch of value `best_value` (kept folds)."""
        self._resumed[trial_id] = best_value

    def flush(self, trial_id):
        """Writes the trial's kept epoch now, if a newer one was kept; the trial goes on.

        Returns:
            Float, the best value the checkpoint file holds, or `None` when none yet.
        """
        kept = self._trials.get(trial_id)
        if kept is None:
            return self._resumed.get(trial_id)
        kept.write()
        return kept.best_value if math.isfinite(kept.best_value) else None

    def write(self, trial_id):
        """Writes the trial's checkpoint (if any epoch was kept) and forgets the trial.

        Returns:
            The trial's `BestEpochWeights`, or `None` when it had none.
        """
        self._resumed.pop(trial_id, None)
        kept = self._trials.pop(trial_id, None)
        if kept is not None:
            kept.write()
        return kept
