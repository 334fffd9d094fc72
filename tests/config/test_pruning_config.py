"""`training.callbacks.median_pruning` / `chance_pruning`: defaults, shorthands, errors."""

import pytest

from kt_toolkit.config import load_config
from kt_toolkit.errors import ConfigError


@pytest.fixture
def write(tmp_path):
    def write(text):
        path = tmp_path / "experiment.yaml"
        path.write_text(text + f"output: {{directory: {str(tmp_path / 'runs')!r}}}\n",
                        encoding="utf-8")
        return path
    return write


def test_median_pruning_is_off_and_chance_pruning_is_auto_by_default(write):
    callbacks = load_config(write("")).training.callbacks
    assert callbacks.median_pruning.enabled is False
    assert (callbacks.median_pruning.warmup_epochs, callbacks.median_pruning.min_trials) == (3, 4)
    assert callbacks.chance_pruning.enabled == "auto"  # classification only
    assert callbacks.chance_pruning.active("multiclass")
    assert callbacks.chance_pruning.active("binary")
    assert not callbacks.chance_pruning.active("regression")
    assert (callbacks.chance_pruning.epochs, callbacks.chance_pruning.margin) == (5, 0.05)


def test_pruning_switches_on_with_the_shorthand_or_a_dotted_override(write):
    config = load_config(write("training: {callbacks: {median_pruning: true}}\n"),
                         ["training.callbacks.chance_pruning.enabled=true",
                          "training.callbacks.chance_pruning.margin=0"])
    callbacks = config.training.callbacks
    assert callbacks.median_pruning.enabled is True
    assert callbacks.median_pruning.min_trials == 4  # the other settings keep defaults
    assert callbacks.chance_pruning.enabled is True
    assert callbacks.chance_pruning.margin == 0.0 and isinstance(
        callbacks.chance_pruning.margin, float)


@pytest.mark.parametrize("text, key, value", [
    ("median_pruning: {min_trials: 0}", "training.callbacks.median_pruning.min_trials",
     "min_trials=0"),
    ("median_pruning: {warmup_epochs: -1}", "training.callbacks.median_pruning.warmup_epochs",
     "warmup_epochs=-1"),
    ("median_pruning: {warmup_epochs: 1.5}",
     "training.callbacks.median_pruning.warmup_epochs", "warmup_epochs=1.5"),
    ("chance_pruning: {epochs: 0}", "training.callbacks.chance_pruning.epochs", "epochs=0"),
    ("chance_pruning: {enabled: sometimes}", "training.callbacks.chance_pruning.enabled",
     "auto"),
    ("chance_pruning: {margin: 1.0}", "training.callbacks.chance_pruning.margin",
     "margin=1.0"),
    ("chance_pruning: {margin: -0.1}", "training.callbacks.chance_pruning.margin",
     "margin=-0.1"),
    ("median_pruning: {min_trails: 3}", "training.callbacks.median_pruning.min_trails",
     "Did you mean `min_trials`?"),
])
def test_bad_pruning_values_name_the_key(write, text, key, value):
    with pytest.raises(ConfigError) as caught:
        load_config(write(f"training: {{callbacks: {{{text}}}}}\n"))
    assert caught.value.key == key
    assert value in str(caught.value)
