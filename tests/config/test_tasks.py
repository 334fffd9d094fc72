"""Objectives (issue 14, part 4): names, directions and the errors, without Keras."""

import os

import pytest

from kt_toolkit.config import load_config
from kt_toolkit.config.tasks import (allowed_objectives, check_objective, is_bounded_score,
                                     known_direction, logged_metrics, objectives_summary,
                                     resolve_objective)
from kt_toolkit.errors import ConfigError


@pytest.mark.parametrize("objective,direction", [
    ("val_accuracy", "max"), ("auc", "max"), ("val_pr_auc", "max"), ("val_precision", "max"),
    ("val_recall", "max"), ("val_f1_score", "max"), ("val_top_3_accuracy", "max"),
    ("val_loss", "min"), ("crossentropy", "min"), ("val_mse", "min"), ("val_mae", "min"),
    ("val_rmse", "min"), ("val_sparse_categorical_crossentropy", "min"),
    ("val_my_score", None), ("mymetrics:agreement", None)])
def test_the_direction_is_inferred_for_the_known_metrics_only(objective, direction):
    assert known_direction(objective) == direction


def test_resolve_fills_auto_and_names_a_custom_metric_by_its_function():
    assert resolve_objective("auto", "auto", "binary", builder="mlp") == ("val_auc", "max")
    assert resolve_objective("val_f1_score", "auto", "multiclass",
                             builder="mlp") == ("val_f1_score", "max")
    assert resolve_objective("val_rmse", "auto", "regression",
                             builder="cnn") == ("val_rmse", "min")
    assert resolve_objective("pkg.mymetrics:agreement", "max", "binary",
                             builder="mlp") == ("val_agreement", "max")
    # your own model logs what it compiles: any name, checked after its first build
    assert resolve_objective("val_kappa", "max", "binary",
                             builder="own:build") == ("val_kappa", "max")


def test_an_objective_the_builders_do_not_compute_lists_those_they_do():
    with pytest.raises(ConfigError) as info:
        resolve_objective("val_auc", "auto", "multiclass", builder="mlp")
    message = str(info.value)
    assert info.value.key == "tuner.objective" and "Received: objective='val_auc'" in message
    for name in ("val_accuracy", "val_f1_score", "val_precision", "val_recall", "val_pr_auc",
                 "val_top_<k>_accuracy", "val_crossentropy"):
        assert name in message
    assert "val_mae" not in message and len(message.splitlines()) == 1
    with pytest.raises(ConfigError, match="val_rmse"):
        check_objective("val_f1_score", "max", "regression", builder="mlp")


def test_a_custom_metric_needs_a_direction_and_a_module_colon_name():
    with pytest.raises(ConfigError) as info:
        resolve_objective("mymetrics:agreement", "auto", "binary", builder="mlp")
    assert info.value.key == "tuner.direction"
    assert "Received: direction='auto'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        resolve_objective("val_kappa", "auto", "binary", builder="own:build")
    assert info.value.key == "tuner.direction"
    with pytest.raises(ConfigError, match='"package.module:function"') as info:
        resolve_objective("my metrics:agree", "max", "binary", builder="mlp")
    assert info.value.key == "tuner.objective"
    with pytest.raises(ConfigError, match="must be max for objective 'val_f1_score'"):
        resolve_objective("val_f1_score", "min", "binary", builder="mlp")


def test_the_metric_lists_follow_the_objective():
    assert allowed_objectives("binary")[:8] == [
        "val_loss", "val_accuracy", "val_auc", "val_recall", "val_pr_auc", "val_crossentropy",
        "val_precision", "val_f1_score"]
    # only the objective's metric is added to what a builder logs
    assert logged_metrics("binary") == logged_metrics("binary", "val_auc")
    assert set(logged_metrics("binary", "val_f1_score")) - set(logged_metrics("binary")) == {
        "val_f1_score", "f1_score"}
    assert "val_agreement" in logged_metrics("multiclass", "val_agreement")
    assert is_bounded_score("val_f1_score") and is_bounded_score("val_top_5_accuracy")
    assert not is_bounded_score("val_rmse") and not is_bounded_score("val_agreement")


def test_validate_lines_and_the_custom_metric_module_folder(tmp_path):
    lines = objectives_summary("regression", objective="val_rmse", builder="mlp")
    assert lines[0] == "objective: val_rmse (min)"
    assert "val_mse, val_mae, val_rmse" in lines[1] and "val_accuracy" not in lines[1]
    assert "multiclass:" in objectives_summary(None)[-1]
    assert "your model" in objectives_summary("binary", builder="own:build")[-1]
    # a custom metric is imported from the experiment file's folder (model.module_dir)
    path = tmp_path / "exp.yaml"
    path.write_text("tuner: {objective: 'mymetrics:agreement', direction: max}\n")
    assert load_config(str(path)).model.module_dir == os.fspath(tmp_path)
    path.write_text("tuner: {objective: val_f1_score}\n")
    assert load_config(str(path)).model.module_dir is None


def test_the_pruning_rules_bounded_scores_and_chance_levels_know_the_new_names():
    import numpy as np

    from kt_toolkit.config.tasks import BOUNDED_SCORES
    from kt_toolkit.pruning import chance_level
    from kt_toolkit.pruning.divergence import BOUNDED_SCORES as PRUNING_BOUNDED

    assert PRUNING_BOUNDED == BOUNDED_SCORES  # pruning imports no config: kept equal here
    y = np.array([0] * 6 + [1] * 3 + [2])
    assert chance_level("val_top_2_accuracy", "multiclass", y) == pytest.approx(0.9)
    assert chance_level("val_pr_auc", "binary", np.array([0, 0, 0, 1])) == 0.25
    assert chance_level("val_rmse", "regression", np.array([1.0, 3.0])) == 1.0
    for unknown in ("val_f1_score", "val_precision", "val_agreement"):
        assert chance_level(unknown, "binary", np.array([0, 1, 1])) is None
    for unknown in ("val_precision", "val_recall", "val_pr_auc"):  # multiclass: skipped
        assert chance_level(unknown, "multiclass", y) is None
