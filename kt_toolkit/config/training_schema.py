"""The `training:` section of an experiment file: epochs, batch size, callbacks, speed.

`CallbacksConfig` holds one small section per callback (`training.callbacks.*`), each
switched off by `false`. Imports no TensorFlow; `kt_toolkit.config.schema` re-exports
every name here.
"""

import dataclasses
from typing import Optional, Union

from kt_toolkit.config._checks import check_choice, check_positive
from kt_toolkit.errors import invalid

__all__ = [
    "CallbacksConfig", "ChancePruningConfig", "EarlyStoppingConfig", "MIXED_PRECISION",
    "MedianPruningConfig", "OOM_POLICIES", "ReduceLROnPlateauConfig", "TerminateOnNaNConfig",
    "TrainingConfig",
]

MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")
OOM_POLICIES = ("fail", "halve_batch")


@dataclasses.dataclass
class EarlyStoppingConfig:
    """EarlyStopping on the objective, keeping the best epoch's weights (B2, B4)."""

    enabled: bool = True
    patience: int = 5
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def validate(self, key: str) -> None:
        check_positive(f"{key}.patience", self.patience, strict=False)
        check_positive(f"{key}.min_delta", self.min_delta, strict=False)


@dataclasses.dataclass
class TerminateOnNaNConfig:
    """Ends a trial whose loss or objective becomes NaN/inf, as FAILED (B5)."""

    enabled: bool = True

    def validate(self, key: str) -> None:
        pass


@dataclasses.dataclass
class ReduceLROnPlateauConfig:
    """Halves the learning rate when the objective stops improving (E3)."""

    enabled: bool = True
    factor: float = 0.5
    patience: int = 3
    min_lr: float = 1e-6

    def validate(self, key: str) -> None:
        if not 0.0 < self.factor < 1.0:
            raise invalid(f"{key}.factor", "a number in (0, 1)", self.factor,
                          "0.5 halves the learning rate (E3); 0.1 and 0.3 are also common.")
        check_positive(f"{key}.patience", self.patience, strict=False)
        check_positive(f"{key}.min_lr", self.min_lr, strict=False)


@dataclasses.dataclass
class MedianPruningConfig:
    """Stops a trial behind the median of the completed trials at its epoch (B2).

    Off by default; `kt_toolkit.callbacks.MedianPruning` says how it judges.
    """

    enabled: bool = False
    warmup_epochs: int = 3
    min_trials: int = 4

    def validate(self, key: str) -> None:
        check_positive(f"{key}.warmup_epochs", self.warmup_epochs, strict=False)
        check_positive(f"{key}.min_trials", self.min_trials)


@dataclasses.dataclass
class ChancePruningConfig:
    """Stops a trial whose objective has not left chance level after `epochs` (B2, C4).

    `enabled: auto` (the default) turns it on for classification and off for
    regression: replayed on 192 recorded trials of the bundled tasks
    (`benchmarks/space.py`), it stopped the classification trials that never left
    chance after 5 epochs without stopping one that ended near the best, but on
    the regression task (raw targets, a slow start) it stopped the best trial.
    `kt_toolkit.callbacks.ChancePruning` says how it judges.
    """

    enabled: Union[bool, str] = "auto"
    epochs: int = 5
    margin: float = 0.05

    def validate(self, key: str) -> None:
        if isinstance(self.enabled, str) and self.enabled != "auto":
            raise invalid(f"{key}.enabled", "true, false or auto", self.enabled,
                          "auto: on for classification, off for regression.")
        check_positive(f"{key}.epochs", self.epochs)
        if not 0.0 <= self.margin < 1.0:
            raise invalid(f"{key}.margin", "a number in [0, 1)", self.margin,
                          "0.05: accuracy 0.05 above chance, or a loss 5% lower.")

    def active(self, task: Optional[str]) -> bool:
        """Whether the rule runs for `task` (`auto`: for classification only)."""
        if self.enabled == "auto":
            return task in ("multiclass", "binary")
        return bool(self.enabled)


@dataclasses.dataclass
class CallbacksConfig:
    """`training.callbacks:` each one takes `false` to switch it off (`true` on)."""

    early_stopping: EarlyStoppingConfig = dataclasses.field(default_factory=EarlyStoppingConfig)
    terminate_on_nan: TerminateOnNaNConfig = dataclasses.field(
        default_factory=TerminateOnNaNConfig)
    reduce_lr_on_plateau: ReduceLROnPlateauConfig = dataclasses.field(
        default_factory=ReduceLROnPlateauConfig)
    median_pruning: MedianPruningConfig = dataclasses.field(default_factory=MedianPruningConfig)
    chance_pruning: ChancePruningConfig = dataclasses.field(default_factory=ChancePruningConfig)

    def validate(self, key: str) -> None:
        for field in dataclasses.fields(self):
            getattr(self, field.name).validate(f"{key}.{field.name}")


@dataclasses.dataclass
class TrainingConfig:
    """`training:` epochs per trial, batch size, callbacks, speed switches, out of memory.

    Speed switches (GPU): `mixed_precision` (null, `mixed_float16`, `mixed_bfloat16`:
    Keras's dtype policy, the output layer kept in float32), `jit_compile` (XLA) and
    `steps_per_execution` (batches per compiled call) go to every builder's compile.
    `oom` is what a trial that runs out of GPU memory does: `fail` (FAILED, the
    search goes on) or `halve_batch` (retried once at half its batch size first).
    """

    epochs: int = 20
    batch_size: int = 64
    verbose: int = 0
    callbacks: CallbacksConfig = dataclasses.field(default_factory=CallbacksConfig)
    mixed_precision: Optional[str] = None
    jit_compile: bool = False
    steps_per_execution: int = 1
    oom: str = "fail"

    def validate(self, key: str) -> None:
        check_positive(f"{key}.epochs", self.epochs)
        check_positive(f"{key}.batch_size", self.batch_size)
        check_choice(f"{key}.verbose", self.verbose, (0, 1, 2))
        self.callbacks.validate(f"{key}.callbacks")
        if self.mixed_precision not in MIXED_PRECISION:
            raise invalid(f"{key}.mixed_precision", "null, mixed_float16 or mixed_bfloat16",
                          self.mixed_precision, "mixed_float16 suits NVIDIA GPUs with tensor "
                          "cores; mixed_bfloat16 TPUs and recent GPUs; null trains in float32.")
        if not isinstance(self.jit_compile, bool):
            raise invalid(f"{key}.jit_compile", "true or false", self.jit_compile)
        if (isinstance(self.steps_per_execution, bool)
                or not isinstance(self.steps_per_execution, int)
                or self.steps_per_execution < 1):
            raise invalid(f"{key}.steps_per_execution", "an integer >= 1",
                          self.steps_per_execution, "1 runs one batch per compiled call; "
                          "32 cuts the per-batch overhead of small models.")
        check_choice(f"{key}.oom", self.oom, OOM_POLICIES)
