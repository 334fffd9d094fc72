"""The pruning rules (B2, C4) as plain functions: exact decisions and reasons, no training."""

import math
import sys

import pytest

from kt_toolkit.errors import ConfigError
from kt_toolkit.pruning import chance_decision, median_decision

REF4 = [0.2, 0.4, 0.6, 0.8]  # median 0.5

# --- median_decision ---

MEDIAN_CASES = [
    # id, best, reference, epoch, direction, warmup, min_trials, expected
    ("max_behind", 0.1, REF4, 3, "max", 2, 4,
     "pruned at epoch 3: val_accuracy 0.1 (best so far) < median 0.5 of 4 trials at that "
     "epoch (B2)"),
    ("max_ahead", 0.6, REF4, 3, "max", 2, 4, None),
    ("max_tie_goes_on", 0.5, REF4, 3, "max", 2, 4, None),
    ("min_tie_goes_on", 0.5, REF4, 3, "min", 2, 4, None),
    ("still_in_warmup", 0.1, REF4, 2, "max", 2, 4, None),
    ("first_epoch_after_warmup", 0.1, REF4, 1, "max", 0, 4,
     "pruned at epoch 1: val_accuracy 0.1 (best so far) < median 0.5 of 4 trials at that "
     "epoch (B2)"),
    ("too_few_trials", 0.1, REF4, 3, "max", 2, 5, None),
    ("just_enough_trials", 0.1, REF4[:3], 3, "max", 2, 3,
     "pruned at epoch 3: val_accuracy 0.1 (best so far) < median 0.4 of 3 trials at that "
     "epoch (B2)"),
    ("no_reference", 0.1, [], 3, "max", 0, 0, None),
    ("min_behind", 0.7, REF4, 4, "min", 3, 2,
     "pruned at epoch 4: val_accuracy 0.7 (best so far) > median 0.5 of 4 trials at that "
     "epoch (B2)"),
    ("min_ahead", 0.3, REF4, 4, "min", 3, 2, None),
    ("nothing_logged", None, REF4, 5, "max", 0, 1, None),
    ("nan_is_not_judged", math.nan, REF4, 5, "min", 0, 1, None),
    ("four_digits", 0.123456, [0.3333333, 0.6666666], 9, "max", 0, 2,
     "pruned at epoch 9: val_accuracy 0.1235 (best so far) < median 0.5 of 2 trials at "
     "that epoch (B2)"),
]


@pytest.mark.parametrize("best, reference, epoch, direction, warmup, min_trials, expected",
                         [case[1:] for case in MEDIAN_CASES], ids=[c[0] for c in MEDIAN_CASES])
def test_median_decision(best, reference, epoch, direction, warmup, min_trials, expected):
    assert median_decision(best, reference, epoch=epoch, direction=direction,
                           warmup_epochs=warmup, min_trials=min_trials,
                           objective="val_accuracy") == expected


def test_median_decision_names_the_objective_and_rejects_a_bad_direction():
    reason = median_decision(2.0, [1.0, 1.0], epoch=2, direction="min", warmup_epochs=0,
                             min_trials=2, objective="val_loss")
    assert reason == ("pruned at epoch 2: val_loss 2 (best so far) > median 1 of 2 trials "
                      "at that epoch (B2)")
    with pytest.raises(ConfigError, match="`direction` must be 'max' or 'min'"):
        median_decision(0.1, REF4, epoch=3, direction="up", warmup_epochs=0, min_trials=1,
                        objective="val_accuracy")


# --- chance_decision ---

CHANCE_CASES = [
    # id, objective, direction, best, first, chance, margin, epoch, epochs, expected
    ("max_at_chance", "val_accuracy", "max", 0.14, 0.1, 0.1, 0.05, 3, 3,
     "pruned at epoch 3: val_accuracy 0.14 (best so far) <= chance level 0.1 + 0.05 (B2, C4)"),
    ("max_exactly_at_the_limit", "val_accuracy", "max", 0.75, 0.5, 0.5, 0.25, 4, 3,
     "pruned at epoch 4: val_accuracy 0.75 (best so far) <= chance level 0.5 + 0.25 (B2, C4)"),
    ("max_above_chance", "val_accuracy", "max", 0.16, 0.1, 0.1, 0.05, 3, 3, None),
    ("max_before_its_epoch", "val_accuracy", "max", 0.1, 0.1, 0.1, 0.05, 2, 3, None),
    ("max_chance_ignores_first", "val_accuracy", "max", 0.12, None, 0.1, 0.05, 5, 3,
     "pruned at epoch 5: val_accuracy 0.12 (best so far) <= chance level 0.1 + 0.05 (B2, C4)"),
    ("max_no_chance_flat", "val_auc", "max", 0.62, 0.6, None, 0.05, 3, 3,
     "pruned at epoch 3: val_auc 0.62 (best so far) rose less than 5% from epoch 1 (0.6) "
     "(B2, C4)"),
    ("max_no_chance_rose_exactly_the_margin", "val_auc", "max", 5.0, 4.0, None, 0.25, 3, 3,
     "pruned at epoch 3: val_auc 5 (best so far) rose less than 25% from epoch 1 (4) (B2, C4)"),
    ("max_no_chance_rising", "val_auc", "max", 0.64, 0.6, None, 0.05, 3, 3, None),
    ("max_no_chance_continued_round", "val_auc", "max", 0.6, None, None, 0.05, 3, 3, None),
    ("min_stuck_with_chance", "val_loss", "min", 2.29, 2.31, 2.30, 0.05, 3, 3,
     "pruned at epoch 3: val_loss 2.29 (best so far) fell less than 5% from epoch 1 (2.31), "
     "and is not 5% below the chance level 2.3 (B2, C4)"),
    ("min_fell_enough", "val_loss", "min", 2.8, 3.0, 2.30, 0.05, 3, 3, None),
    ("min_below_chance", "val_loss", "min", 0.25, 0.2, 2.30, 0.05, 3, 3, None),
    ("min_no_chance_flat", "val_mae", "min", 4.8, 5.0, None, 0.1, 2, 2,
     "pruned at epoch 2: val_mae 4.8 (best so far) fell less than 10% from epoch 1 (5) "
     "(B2, C4)"),
    ("min_no_chance_fell", "val_mae", "min", 4.4, 5.0, None, 0.1, 2, 2, None),
    ("min_continued_round_at_chance", "val_loss", "min", 2.3, None, 2.30, 0.05, 4, 3,
     "pruned at epoch 4: val_loss 2.3 (best so far) not 5% below the chance level 2.3 "
     "(B2, C4)"),
    ("min_exactly_at_the_chance_limit", "val_loss", "min", 1.5, None, 2.0, 0.25, 3, 3,
     "pruned at epoch 3: val_loss 1.5 (best so far) not 25% below the chance level 2 (B2, C4)"),
    ("min_fell_exactly_the_margin", "val_mae", "min", 3.0, 4.0, None, 0.25, 3, 3,
     "pruned at epoch 3: val_mae 3 (best so far) fell less than 25% from epoch 1 (4) (B2, C4)"),
    ("min_continued_round_below_chance", "val_loss", "min", 1.0, None, 2.30, 0.05, 4, 3, None),
    ("min_continued_round_no_chance", "val_loss", "min", 2.3, None, None, 0.05, 5, 3, None),
    ("nothing_logged", "val_loss", "min", None, None, 2.30, 0.05, 5, 3, None),
    ("nan_first_counts_as_none", "val_loss", "min", 2.3, math.nan, None, 0.05, 5, 3, None),
]


@pytest.mark.parametrize("objective, direction, best, first, chance, margin, epoch, epochs, "
                         "expected", [case[1:] for case in CHANCE_CASES],
                         ids=[c[0] for c in CHANCE_CASES])
def test_chance_decision(objective, direction, best, first, chance, margin, epoch, epochs,
                         expected):
    assert chance_decision(best, first, chance=chance, margin=margin, direction=direction,
                           epoch=epoch, epochs=epochs, objective=objective) == expected


def test_chance_decision_rejects_a_bad_direction():
    with pytest.raises(ConfigError, match="`direction` must be 'max' or 'min'"):
        chance_decision(0.1, 0.1, chance=0.1, margin=0.05, direction="maximize", epoch=3,
                        epochs=3, objective="val_accuracy")


# --- no Keras ---

def test_the_rules_package_imports_only_the_standard_library_numpy_io_and_errors():
    import ast
    import pathlib

    import kt_toolkit.pruning

    allowed = {"kt_toolkit._io", "kt_toolkit.errors"}
    imported = set()
    for path in pathlib.Path(kt_toolkit.pruning.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
    outside = {name for name in imported
               if name not in allowed and not name.startswith("kt_toolkit.pruning")
               and name.split(".")[0] not in sys.stdlib_module_names | {"numpy"}}
    assert outside == set()
    assert "collections.abc" in imported and "numpy" in imported  # the walk saw the imports
