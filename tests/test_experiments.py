"""Every experiment file loads, and runs end to end with a tiny budget."""

import glob
import os

import pytest

from kt_toolkit.experiment import load_experiment, run_experiment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = sorted(glob.glob(os.path.join(REPO, "experiments", "*.yaml")))


def test_there_are_experiments():
    names = {os.path.basename(path) for path in EXPERIMENTS}
    assert {"digits_mlp.yaml", "breast_cancer_mlp.yaml", "digits_cnn.yaml",
            "sequence_sentiment.yaml"} <= names


@pytest.mark.parametrize("path", EXPERIMENTS, ids=os.path.basename)
def test_experiment_runs_with_a_tiny_budget(path, tmp_path):
    # The report is the same code for every experiment (tests/analysis): one writes it.
    report = os.path.basename(path) == "digits_mlp.yaml"
    config = load_experiment(path, ["tuner.max_trials=1", "training.epochs=1",
                                    "tuner.max_epochs=1", "data.subsample=120",
                                    f"output.directory={tmp_path}",
                                    f"output.report={str(report).lower()}"])
    for stage in config.stages:  # stage settings override the file's: shrink them too
        stage.setdefault("tuner", {})["max_trials"] = 1
        stage.setdefault("training", {})["epochs"] = 1
    result = run_experiment(config)
    assert len(result.trials) == 1
    assert result.trials[0]["status"] == "COMPLETED", result.trials[0]["reason"]
    assert os.path.exists(result.best_model_path)
    assert (result.report is not None) == report


def test_load_experiment_checks_the_data_and_names_the_override():
    """`load_config` is pure (no dataset lookup); `load_experiment` hands it the data
    checks, and their errors name the file and the `--set` they came from."""
    from kt_toolkit.config import load_config
    from kt_toolkit.errors import ConfigError, DataError

    path = os.path.join(REPO, "experiments", "digits_mlp.yaml")
    assert load_config(path, ["data.dataset=digts"]).data.dataset == "digts"
    with pytest.raises(DataError) as info:
        load_experiment(path, ["data.dataset=digts"])
    assert info.value.file == f"{path} (--set data.dataset=digts)"
    assert info.value.key == "data.dataset" and "Did you mean `digits`?" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_experiment(path, ["tuner.objective=val_auc"])
    assert info.value.key == "tuner.objective" and "val_accuracy" in str(info.value)
