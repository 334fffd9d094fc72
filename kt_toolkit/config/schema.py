"""Typed sections of an experiment file. Imports no TensorFlow.

Each dataclass is one YAML section; a field's default is the value used when the
YAML leaves it out. `validate()` on each section checks values that a type alone
cannot (ranges, choices); the loader checks the types and unknown keys.
"""

import dataclasses
import math
import re
from typing import Any, Optional, Union

from kt_toolkit.errors import invalid, suggest

__all__ = [
    "ALGORITHMS", "CallbacksConfig", "ChancePruningConfig", "DataConfig", "EarlyStoppingConfig",
    "ExperimentConfig", "ExperimentSection", "FinalConfig", "MedianPruningConfig", "ModelConfig", "OutputConfig",
    "ReduceLROnPlateauConfig", "TerminateOnNaNConfig", "TrainingConfig", "TunerConfig",
]

ALGORITHMS = ("hyperband", "bayesian", "random", "grid", "quasi_random", "tpe")
DEFAULT_MAX_TRIALS = 10  # random, quasi_random and bayesian, when tuner.max_trials is null
DEFAULT_TPE_TRIALS = 30  # tpe: its first 10 trials are random, the rest are TPE's


def default_max_trials(algorithm: str) -> int:
    """The trials an algorithm runs when `tuner.max_trials` is null (not Hyperband, grid)."""
    return DEFAULT_TPE_TRIALS if algorithm == "tpe" else DEFAULT_MAX_TRIALS
TASK_NAMES = ("auto", "multiclass", "binary", "regression")
DEFAULT_IMAGE_SIZE = (64, 64)  # image folders: data.image_size
COLOR_MODES = ("rgb", "grayscale", "rgba")
COLUMN_KINDS = ("categorical", "integer_categorical", "text", "numeric")
MISSING_POLICIES = ("error", "impute")


def _choice(key, value, allowed):
    if value not in allowed:
        raise invalid(key, "one of " + ", ".join(map(str, allowed)), value,
                      suggest(value, allowed).strip())


MAX_SEED = 2**32 - 1


def _seed(key, value):
    if value is not None and not 0 <= value <= MAX_SEED:
        raise invalid(key, f"an integer >= 0 and <= {MAX_SEED}", value)


def _folder_name(key, value, what):
    if not value or any(c in value for c in "/\\") or value.startswith("."):
        raise invalid(key, f"a non-empty {what} without slashes, not starting with '.'",
                      value)


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)\s*h)?\s*(?:(\d+(?:\.\d*)?)\s*m(?:in)?)?"
                       r"\s*(?:(\d+(?:\.\d*)?)\s*s)?\s*$")


def duration_seconds(value: "int | float | str | None") -> "float | None":
    """Seconds in a duration: a number of seconds, or text such as `90s`, `15m`, `2h30m`.

    Returns:
        Float, or `None` for `None` and for text that is not a duration.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)  # "90": seconds
    except ValueError:
        pass
    match = _DURATION.match(str(value))
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _positive(key, value, *, allow_none=False, strict=True):
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or (value <= 0 if strict else value < 0):
        raise invalid(key, "a positive number" if strict else "a number >= 0", value)


@dataclasses.dataclass
class ExperimentSection:
    """`experiment:` what the run is called and its seed."""

    name: str = "experiment"
    seed: int = 42
    description: str = ""

    def validate(self, key: str) -> None:
        _folder_name(f"{key}.name", self.name, "name")
        _seed(f"{key}.seed", self.seed)


@dataclasses.dataclass
class DataConfig:
    """`data:` which dataset, how it is split and sampled (D1, D2, F1, F2).

    `header` says whether the first line of a `.csv` is its header: `true`, `false`,
    or `auto`, which reads a first line of numbers as a sample (columns `0`…`N-1`).
    """

    dataset: str = "digits"
    target: Optional[Union[str, int]] = None
    header: Union[bool, str] = "auto"
    task: str = "auto"
    validation_split: float = 0.2
    subsample: Optional[int] = None
    classes: Optional[list] = None
    imbalance: Optional[float] = None
    standardize: bool = True
    shuffle: bool = True
    test_split: Optional[float] = None
    cv_folds: Optional[int] = None
    # Your own data (data/loaders.py, images.py, tables.py).
    loader: Optional[str] = None
    module_dir: Optional[str] = None
    image_size: list = dataclasses.field(default_factory=lambda: list(DEFAULT_IMAGE_SIZE))
    color_mode: str = "rgb"
    columns: Optional[dict] = None
    missing: str = "error"

    def validate(self, key: str) -> None:
        if not self.dataset:
            raise invalid(f"{key}.dataset", "a dataset name or a .npz/.csv path", self.dataset)
        _choice(f"{key}.task", self.task, TASK_NAMES)
        if not (isinstance(self.header, bool) or self.header == "auto"):
            raise invalid(f"{key}.header", "one of auto, true, false", self.header,
                          "auto reads a first line of numbers as a sample, true takes it "
                          "as the header, false as a sample.")
        if not 0.0 < self.validation_split < 1.0:
            raise invalid(f"{key}.validation_split", "a fraction in (0, 1)",
                          self.validation_split, "0.2 keeps a fifth for validation.")
        _positive(f"{key}.subsample", self.subsample, allow_none=True)
        if self.classes is not None and len(self.classes) < 2:
            raise invalid(f"{key}.classes", "a list of at least 2 class labels", self.classes)
        if self.imbalance is not None and (
                isinstance(self.imbalance, bool) or not isinstance(self.imbalance, (int, float))
                or not 0.0 < self.imbalance < 0.5):
            raise invalid(f"{key}.imbalance", "a fraction in (0, 0.5) or null", self.imbalance,
                          "0.1 cuts the last class to a tenth of the samples (E17).")
        self._validate_held_out(key)
        self._validate_sources(key)

    def _validate_held_out(self, key):
        """`test_split` (the test part, held out) and `cv_folds` (k-fold scores)."""
        if self.test_split is not None:
            if (isinstance(self.test_split, bool) or not isinstance(self.test_split, (int, float))
                    or not 0.0 < self.test_split < 1.0):
                raise invalid(f"{key}.test_split", "a fraction in (0, 1) or null",
                              self.test_split, "0.2 holds a fifth out as the test part.")
            if self.test_split + self.validation_split >= 1.0:
                raise invalid(f"{key}.test_split", f"below 1 - {key}.validation_split "
                              f"({1.0 - self.validation_split:g}): both are shares of all "
                              "the samples, and training needs the rest",
                              self.test_split, f"Lower {key}.test_split or "
                              f"{key}.validation_split (now {self.validation_split:g}).")
        if self.cv_folds is not None and (isinstance(self.cv_folds, bool)
                                          or not isinstance(self.cv_folds, int)
                                          or self.cv_folds < 2):
            raise invalid(f"{key}.cv_folds", "an integer >= 2 or null", self.cv_folds,
                          "5 scores each trial by the mean of 5 folds.")


    def _validate_sources(self, key):
        """`loader`, `image_size`, `color_mode`, `columns`, `missing` (your own data)."""
        if self.loader is not None and (not isinstance(self.loader, str)
                                        or ":" not in self.loader):
            raise invalid(f"{key}.loader", "a string \"package.module:function\" or null",
                          self.loader, "The function returns (x, y), a dict of parts, a "
                          "keras.utils.PyDataset or a tf.data.Dataset.")
        size = self.image_size
        if (not isinstance(size, (list, tuple)) or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                           for v in size)):
            raise invalid(f"{key}.image_size", "a list of 2 positive integers [height, width]",
                          size, "Images are resized to it; [64, 64] is the default.")
        _choice(f"{key}.color_mode", self.color_mode, COLOR_MODES)
        if self.columns is not None:
            if not isinstance(self.columns, dict):
                raise invalid(f"{key}.columns", "a mapping {column: kind} or null",
                              self.columns)
            for name, kind in self.columns.items():
                _choice(f"{key}.columns.{name}", kind, COLUMN_KINDS)
        _choice(f"{key}.missing", self.missing, MISSING_POLICIES)


@dataclasses.dataclass
class ModelConfig:
    """`model:` the builder and overrides of its search space.

    `builder` is a registered builder (`mlp`, `cnn`, `sequence`) or your own model
    as `"package.module:Name"`; `module_dir` is the folder that module is imported
    from (the experiment file's folder unless given).
    """

    builder: str = "mlp"
    space: Optional[dict] = dataclasses.field(default_factory=dict)
    module_dir: Optional[str] = None


@dataclasses.dataclass
class TunerConfig:
    """`tuner:` algorithm, objective and budget.

    `max_trials` caps the number of trials for every algorithm (Hyperband runs
    its full schedule when it is null). `max_epochs` is Hyperband's largest
    epoch budget (null: `training.epochs`). `max_time` (`90s`, `15m`, `2h`, or
    seconds) stops starting trials once the search has run that long, over all
    its resumes; running trials finish. `target` stops starting trials once a
    completed trial's objective reaches it (in the objective's direction).
    """

    algorithm: str = "tpe"
    objective: str = "auto"
    direction: str = "auto"
    max_trials: Optional[int] = None
    max_epochs: Optional[int] = None
    factor: int = 3
    hyperband_iterations: int = 1
    num_initial_points: Optional[int] = None
    executions_per_trial: int = 1
    seed: Optional[int] = None
    max_consecutive_failed_trials: int = 3
    max_time: Optional[Union[int, float, str]] = None
    target: Optional[float] = None

    def validate(self, key: str) -> None:
        _choice(f"{key}.algorithm", self.algorithm, ALGORITHMS)
        if self.max_time is not None:
            seconds = duration_seconds(self.max_time)
            if seconds is None or not math.isfinite(seconds) or seconds <= 0:
                raise invalid(f"{key}.max_time", "a duration such as 90s, 15m, 2h30m or a "
                              "number of seconds > 0", self.max_time)
        if self.target is not None and not math.isfinite(self.target):
            raise invalid(f"{key}.target", "a finite number (the objective's value)",
                          self.target)
        _choice(f"{key}.direction", self.direction, ("auto", "max", "min"))
        _seed(f"{key}.seed", self.seed)
        for name in ("max_trials", "max_epochs", "num_initial_points"):
            _positive(f"{key}.{name}", getattr(self, name), allow_none=True)
        for name in ("hyperband_iterations", "executions_per_trial",
                     "max_consecutive_failed_trials"):
            _positive(f"{key}.{name}", getattr(self, name))
        if self.factor < 2:
            raise invalid(f"{key}.factor", "an integer >= 2", self.factor,
                          "Hyperband keeps 1/factor of the trials each round; 3 is usual.")


@dataclasses.dataclass
class EarlyStoppingConfig:
    """EarlyStopping on the objective, keeping the best epoch's weights (B2, B4)."""

    enabled: bool = True
    patience: int = 5
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def validate(self, key: str) -> None:
        _positive(f"{key}.patience", self.patience, strict=False)
        _positive(f"{key}.min_delta", self.min_delta, strict=False)


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
        _positive(f"{key}.patience", self.patience, strict=False)
        _positive(f"{key}.min_lr", self.min_lr, strict=False)


@dataclasses.dataclass
class MedianPruningConfig:
    """Stops a trial behind the median of the completed trials at its epoch (B2).

    Off by default; `kt_toolkit.callbacks.MedianPruning` says how it judges.
    """

    enabled: bool = False
    warmup_epochs: int = 3
    min_trials: int = 4

    def validate(self, key: str) -> None:
        _positive(f"{key}.warmup_epochs", self.warmup_epochs, strict=False)
        _positive(f"{key}.min_trials", self.min_trials)


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
        _positive(f"{key}.epochs", self.epochs)
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


MIXED_PRECISION = (None, "mixed_float16", "mixed_bfloat16")
OOM_POLICIES = ("fail", "halve_batch")


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
        _positive(f"{key}.epochs", self.epochs)
        _positive(f"{key}.batch_size", self.batch_size)
        _choice(f"{key}.verbose", self.verbose, (0, 1, 2))
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
        _choice(f"{key}.oom", self.oom, OOM_POLICIES)


@dataclasses.dataclass
class OutputConfig:
    """`output:` where runs go.

    The run directory is `<directory>/<run_name>`; without `run_name` it is
    `<experiment.name>-<8-hex fingerprint of the search settings>`, so the same
    settings resume the same run and changed settings never touch it. `report`
    writes `report.md` and `report.html` into it when the search ends.
    """

    directory: str = "runs"
    run_name: Optional[str] = None
    report: bool = True

    def validate(self, key: str) -> None:
        if self.run_name is not None:
            _folder_name(f"{key}.run_name", self.run_name, "folder name")


@dataclasses.dataclass
class FinalConfig:
    """`final:` what happens once the search ends, on the held-out test part.

    The best model is evaluated once on the test part (`data.test_split`, or the
    source's own); `refit: true` also retrains the best settings on the training
    and validation parts together, for the best trial's best epoch count (not
    scaled to the larger data), and evaluates that model on the test part.
    """

    refit: bool = False

    def validate(self, key: str) -> None:
        if not isinstance(self.refit, bool):
            raise invalid(f"{key}.refit", "true or false", self.refit)


@dataclasses.dataclass
class ExperimentConfig:
    """A whole experiment file."""

    experiment: ExperimentSection = dataclasses.field(default_factory=ExperimentSection)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    tuner: TunerConfig = dataclasses.field(default_factory=TunerConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    final: FinalConfig = dataclasses.field(default_factory=FinalConfig)
    # C3 coarse to fine: searches run one after another (see `kt_toolkit.stages`).
    stages: list = dataclasses.field(default_factory=list)

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            section = getattr(self, field.name)
            if hasattr(section, "validate"):
                section.validate(field.name)
        if self.tuner.seed is None:
            self.tuner.seed = self.experiment.seed
        self._check_folds()

    def _check_folds(self):
        """`data.cv_folds` runs one execution per fold: not with Hyperband, nor with
        `tuner.executions_per_trial` of its own."""
        if self.data.cv_folds is None:
            return
        if self.tuner.algorithm == "hyperband":
            raise invalid("data.cv_folds", "null with tuner.algorithm hyperband",
                          self.data.cv_folds, "Hyperband continues a trial's model from "
                          "round to round, and a fold's model cannot continue another's: "
                          "use another algorithm, or drop data.cv_folds.")
        if self.tuner.executions_per_trial != 1:
            raise invalid("data.cv_folds", "null when tuner.executions_per_trial is above 1",
                          self.data.cv_folds, "Each fold is one execution of the trial: "
                          "drop tuner.executions_per_trial.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

