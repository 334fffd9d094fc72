"""Every finding a curve check can write: its `practices` are the ids its advice cites."""

import ast
import math
import re

import numpy as np
import pytest

from kt_toolkit.analysis import _failure_checks as failure
from kt_toolkit.analysis import _fit_checks as fit
from kt_toolkit.analysis._curves_data import Curves, Finding
from kt_toolkit.analysis.verdicts import DEFAULT_THRESHOLDS, VERDICT_KINDS

_ID = re.compile(r"\b[A-F][0-9]{1,2}\b")  # a PRACTICES id, read from the text by this test only
_CITATION = re.compile(r"\([^()]*\b[A-F][0-9]{1,2}\b[^()]*\)")  # "(B3, C5)", "(... ; E9)"
_BEST = {"best_objective": 0.95, "best_score": 0.99}
_HYPERBAND = {"tuner/epochs": 4}


def _curves(objective="val_accuracy", direction="max", reference=None, hyperparameters=None,
            **columns):
    size = len(next(iter(columns.values())))
    history = [{"epoch": i + 1, **{name: float(values[i]) for name, values in columns.items()}}
               for i in range(size)]
    return Curves.from_history(history, objective, direction, t=DEFAULT_THRESHOLDS,
                               reference=dict(reference or {}), hyperparameters=hyperparameters)


def _epochs(count=20):
    return np.arange(1, count + 1, dtype=float)


def _plateau(train, val, count=20, **kwargs):
    e = _epochs(count)
    climb = 0.3 * np.exp(-0.5 * (e - 1))
    return _curves(loss=1 / e, val_loss=0.5 + 1 / e, accuracy=train - climb,
                   val_accuracy=val - climb, **kwargs)


def _improving(**kwargs):
    e = _epochs(10)
    return _curves(loss=1 / e, val_loss=0.6 - 0.001 * e, accuracy=0.5 + 0.02 * e,
                   val_accuracy=0.5 + 0.02 * e, **kwargs)


def _healthy():
    decay = np.exp(-0.4 * (_epochs() - 1))
    return _curves(loss=0.1 + 2.2 * decay, val_loss=0.15 + 2.0 * decay,
                   accuracy=0.97 - 0.8 * decay, val_accuracy=0.95 - 0.7 * decay)


def _stalled():
    c = _plateau(0.12, 0.1, reference=_BEST)
    c.columns["loss"] = np.linspace(2.0, 1.9, 20)
    return c


def _penalised():
    return _curves(reference={"chance_loss": math.log(10), **_BEST}, loss=[300.0, 260.0, 245.0],
                   val_loss=[250.0, 246.0, 244.0], accuracy=[0.12, 0.13, 0.135],
                   val_accuracy=[0.11, 0.12, 0.119])


def _underfitting(c):
    return fit.underfitting(c, fit.still_improving(c), fit.not_learning(c))


def _short(**kwargs):
    return _curves(loss=[2.0, 1.0], val_loss=[1.5, 0.9], accuracy=[0.5, 0.8],
                   val_accuracy=[0.7, 0.9], **kwargs)


FINDINGS = {  # one per advice a check can write
    "failed": lambda: failure.failed("ValueError: bad shape (3,)."),
    "pruned_at_chance": lambda: failure.pruned(_short(), "pruned at epoch 3: at chance level."),
    "pruned_behind": lambda: failure.pruned(_short(), ""),
    "diverged_by_reason": lambda: failure.diverged_by_reason(
        _curves(loss=[2.3], val_loss=[2.2], learning_rate=[0.5]), "loss became nan."),
    "diverged_nan": lambda: failure.divergence(_curves(loss=[2.3, np.nan], val_loss=[2.2, 1.0])),
    "diverged_exploded": lambda: failure.divergence(
        _curves(loss=[1.0, 0.5, 0.4, 1.5], val_loss=[0.9, 0.5, 0.45, 1.5])),
    "diverged_saturated": lambda: failure.divergence(_curves(
        reference={"chance_loss": math.log(10)}, loss=[11.25, 14.99], val_loss=[15.0, 15.0],
        accuracy=[0.05, 0.07], val_accuracy=[0.069, 0.069])),
    "negative_loss": lambda: failure.negative_loss(
        _curves(loss=[0.5, -0.1], val_loss=[0.5, 0.4]), "multiclass"),
    "leakage_scores": lambda: failure.leakage(_curves(
        loss=1 / _epochs(12), val_loss=0.5 / _epochs(12), accuracy=0.6 + 0.02 * _epochs(12),
        val_accuracy=np.minimum(0.98, 0.7 + 0.02 * _epochs(12)))),
    "leakage_losses": lambda: failure.leakage(_curves(
        "val_loss", "min", loss=10 / _epochs(10), val_loss=4 / _epochs(10))),
    "overfitting_gap": lambda: fit.overfitting(_plateau(1.0, 0.9), None),
    "overfitting_ratio": lambda: fit.overfitting(_curves(
        "val_loss", "min", loss=100 / _epochs(), val_loss=np.maximum(20.0, 100 / _epochs())),
        None),
    "underfitting_capacity": lambda: _underfitting(_plateau(0.6, 0.58, reference=_BEST)),
    "underfitting_stalled": lambda: _underfitting(_stalled()),
    "underfitting_penalty": lambda: _underfitting(_penalised()),
    "not_converged": lambda: fit.not_converged(_improving(), fit.still_improving(_improving())),
    "not_converged_hyperband": lambda: fit.not_converged(
        _improving(hyperparameters=_HYPERBAND), fit.still_improving(_improving())),
    "too_short": lambda: fit.too_short(_short()),
    "too_short_hyperband": lambda: fit.too_short(_short(hyperparameters=_HYPERBAND)),
    "good_fit": lambda: fit.good_fit(_healthy()),
    "no_curves": lambda: fit.no_curves({"best_epoch": 2, "metric:val_accuracy": 0.5}),
    "good_fit_objective_not_logged": lambda: fit.good_fit(
        _curves(loss=1 / _epochs(8), val_loss=1.1 / _epochs(8))),
}


def _cited(advice):
    """The ids the advice text cites, each once, in the order it first cites them."""
    return tuple(dict.fromkeys(_ID.findall(advice)))


@pytest.mark.parametrize("name", sorted(FINDINGS))
def test_practices_are_the_ids_the_advice_cites(name):
    finding = FINDINGS[name]()
    assert isinstance(finding, Finding) and finding.kind in VERDICT_KINDS
    assert finding.practices and finding.practices == _cited(finding.advice)
    assert all(isinstance(value, float) for value in finding.evidence.values())


def _advice_literals(module):
    """The string literals of a check module that cite an id in parentheses, docstrings left out.

    A practices tuple's items ("B3") cite nothing; an advice is one literal (Python
    joins adjacent literals), so each literal found must be a whole advice.
    """
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and _CITATION.search(node.value)}


@pytest.mark.parametrize("module", [failure, fit], ids=lambda module: module.__name__)
def test_every_advice_written_is_covered(module):
    produced = {FINDINGS[name]().advice for name in FINDINGS}
    literals = _advice_literals(module)
    assert literals and literals <= produced


def test_a_finding_is_frozen():
    finding = fit.too_short(_short())
    with pytest.raises(AttributeError):
        finding.practices = ("Z9",)
