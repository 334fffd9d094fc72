"""The `data:` section of an experiment file: which dataset, its split, sampling, own files.

Imports no TensorFlow; `kt_toolkit.config.schema` re-exports every name here.
"""

import dataclasses
from typing import Optional, Union

from kt_toolkit.config._checks import check_choice, check_positive
from kt_toolkit.errors import invalid

__all__ = ["COLOR_MODES", "COLUMN_KINDS", "DEFAULT_IMAGE_SIZE", "DataConfig", "MISSING_POLICIES",
           "TASK_NAMES"]

TASK_NAMES = ("auto", "multiclass", "binary", "regression")
DEFAULT_IMAGE_SIZE = (64, 64)  # image folders: data.image_size
COLOR_MODES = ("rgb", "grayscale", "rgba")
COLUMN_KINDS = ("categorical", "integer_categorical", "text", "numeric")
MISSING_POLICIES = ("error", "impute")


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
        check_choice(f"{key}.task", self.task, TASK_NAMES)
        if not (isinstance(self.header, bool) or self.header == "auto"):
            raise invalid(f"{key}.header", "one of auto, true, false", self.header,
                          "auto reads a first line of numbers as a sample, true takes it "
                          "as the header, false as a sample.")
        if not 0.0 < self.validation_split < 1.0:
            raise invalid(f"{key}.validation_split", "a fraction in (0, 1)",
                          self.validation_split, "0.2 keeps a fifth for validation.")
        check_positive(f"{key}.subsample", self.subsample, allow_none=True)
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
                          "With cv_folds: 5 each trial scores the mean over 5 folds.")

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
        check_choice(f"{key}.color_mode", self.color_mode, COLOR_MODES)
        if self.columns is not None:
            if not isinstance(self.columns, dict):
                raise invalid(f"{key}.columns", "a mapping {column: kind} or null",
                              self.columns)
            for name, kind in self.columns.items():
                check_choice(f"{key}.columns.{name}", kind, COLUMN_KINDS)
        check_choice(f"{key}.missing", self.missing, MISSING_POLICIES)

