"""The divergence rule on numbers: each kind fires on its own curve, and only there."""

import math

import numpy as np
import pytest

from kt_toolkit.pruning import DivergenceRule, chance_crossentropy, find_divergence

CHANCE_3 = chance_crossentropy(3)  # ln 3, wine or iris


def _kind(columns, **kwargs):
    found = find_divergence(columns, **kwargs)
    return None if found is None else found.kind


def test_nan_or_inf_in_a_loss_is_non_finite_at_its_epoch():
    found = find_divergence({"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.4],
                             "val_loss": [1.0, np.inf, 0.5]})
    assert (found.kind, found.column, found.index) == ("non_finite", "val_loss", 1)
    assert found.reason == "validation loss became inf at epoch 2"


def test_a_training_loss_that_doubles_past_its_minimum_and_its_start_exploded():
    # A real wine trial at lr 1.0 under SGD: finite, 16.7x its minimum.
    found = find_divergence({"loss": [0.641, 3.373, 10.69], "val_loss": [0.2, 1.1, 3.8]})
    assert found.kind == "exploded" and found.index == 2
    assert found.evidence["ratio"] == pytest.approx(10.69 / 0.641)
    assert "from its minimum 0.641 at epoch 1 to 10.69 at epoch 3" in found.reason
    # A bump that stays below the first epoch's loss is noise, not an explosion.
    assert _kind({"loss": [2.0, 0.5, 1.2], "val_loss": [1.0, 0.6, 0.9]}) is None
    assert _kind({"loss": [1.0, 0.4, 0.9]}, rule=DivergenceRule(explode_ratio=2.0)) is None
    assert _kind({"loss": [0.5, 0.4, 1.1]}) == "exploded"


def test_logits_that_blew_up_diverged_even_while_the_loss_falls_and_the_score_is_good():
    # TensorFlow takes a softmax's cross-entropy from its logits, unclipped: an exploded
    # model logs 5e6 -> 2e6, "still improving", with a training accuracy of 0.9.
    columns = {"loss": [5e6, 3e6, 2e6], "crossentropy": [5e6, 3e6, 2e6],
               "val_loss": [4e6, 2.5e6, 1.9e6], "accuracy": [0.5, 0.8, 0.9]}
    found = find_divergence(columns, data_loss="crossentropy", score="accuracy",
                            chance_loss=CHANCE_3)
    assert found.kind == "blown_up" and found.evidence["min_loss"] == 2e6
    # Only the penalty-free cross-entropy tells: Keras's `loss` of an L1 model can be
    # 245 (l1=0.56) on a model that learns, and without a chance level nothing is known.
    penalised = {"loss": [300.0, 260.0, 245.0], "val_loss": [250.0, 246.0, 244.0],
                 "accuracy": [0.5, 0.7, 0.8]}
    assert _kind(penalised, score="accuracy", chance_loss=CHANCE_3) is None
    assert _kind(columns, data_loss="crossentropy", score="accuracy") is None
    # A high but plausible cross-entropy is not blown up.
    assert _kind({"loss": [3.0, 2.0, 1.5], "crossentropy": [3.0, 2.0, 1.5]},
                 data_loss="crossentropy", score="accuracy", chance_loss=CHANCE_3) is None


def test_a_saturated_softmax_needs_no_penalty_and_a_score_that_never_rose():
    columns = {"loss": [11.25, 14.99], "val_loss": [15.0, 15.0], "accuracy": [0.05, 0.07]}
    chance = chance_crossentropy(10)
    assert _kind(columns, score="accuracy", chance_loss=chance) == "saturated"
    assert _kind(columns, score="accuracy", chance_loss=chance, penalized=True) is None
    learned = dict(columns, accuracy=[0.5, 0.7])
    assert _kind(learned, score="accuracy", chance_loss=chance) is None


def test_chance_crossentropy():
    assert chance_crossentropy(10) == pytest.approx(math.log(10))
    assert chance_crossentropy(1) == pytest.approx(math.log(2))
    assert chance_crossentropy(None) is None


def test_rule_numbers_are_checked():
    with pytest.raises(ValueError, match="explode_ratio"):
        DivergenceRule(explode_ratio=-1.0)
