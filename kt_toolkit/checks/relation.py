"""`labels_vs_inputs`: do the labels depend on the inputs at all? (B4, C4)

Memorizing the subset proves nothing about the labels: a network memorizes 64
random labels too (Zhang et al., 2017, "Understanding deep learning requires
rethinking generalization"). What random labels cannot give is a score above
chance on samples the model never saw. So:

1. The memorized model predicts up to `MAX_HELD_OUT` (1000) training samples
   outside its subset. Chance is the accuracy its predictions would have if
   they were independent of the labels, given how often it predicts each class
   and how often each occurs (sum over classes of q_k * p_k); a one-sided
   binomial test gives the p-value. Regression: Pearson correlation of
   predictions and targets, one-sided. Below `SIGNIFICANCE` (0.01): related.
2. Otherwise (a model may not generalize from 64 samples), a plain baseline
   gets the same test: logistic (ridge for regression) regression on up to
   `MAX_BASELINE` (2000) standardized training samples; token sequences as bags
   of words.
3. Neither above chance: the check fails. That is evidence, not proof: labels
   that depend on the inputs in a way neither model can see from these samples
   fail too; the message gives both scores.

The memorized model is also scored on the validation part; validation labels at
chance while held-out training labels are not is a warning (a misaligned
validation file, or a shifted split).
"""

import warnings
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from kt_toolkit.checks.report import Finding

if TYPE_CHECKING:
    from kt_toolkit.data.dataset import Dataset

__all__ = ["association", "relation_finding"]

SIGNIFICANCE = 0.01
MAX_HELD_OUT = 1000
MAX_BASELINE = 2000


def _labels_of(outputs, task):
    if task == "regression":
        return outputs.reshape(-1)
    if outputs.shape[-1] == 1:
        return (outputs.reshape(-1) > 0.5).astype(np.int64)
    return outputs.argmax(axis=-1)


def association(predicted: np.ndarray, y: np.ndarray, task: str) -> dict[str, Any]:
    """Score, chance and one-sided p-value of `predicted` against `y`.

    Returns:
        Dict with `score` (accuracy, or Pearson r for regression), `chance`
        (0 for regression), `p_value` and `related` (p < `SIGNIFICANCE` and the
        score above chance).
    """
    from scipy import stats

    n = len(y)
    if task == "regression":
        if np.std(predicted) == 0 or not np.all(np.isfinite(predicted)):
            return {"score": 0.0, "chance": 0.0, "p_value": 1.0, "related": False, "n": n}
        r, p_two = stats.pearsonr(predicted, y)
        p = p_two / 2 if r > 0 else 1 - p_two / 2
        return {"score": float(r), "chance": 0.0, "p_value": float(p),
                "related": bool(p < SIGNIFICANCE and r > 0), "n": n}
    classes = np.union1d(np.unique(predicted), np.unique(y))
    q = np.array([np.mean(predicted == c) for c in classes])
    share = np.array([np.mean(y == c) for c in classes])
    chance = float(np.clip((q * share).sum(), 0.0, 1.0))
    hits = int(np.sum(predicted == y))
    p = 1.0 if chance >= 1.0 else float(stats.binom.sf(hits - 1, n, chance))
    score = hits / n
    return {"score": score, "chance": chance, "p_value": p,
            "related": bool(p < SIGNIFICANCE and score > chance), "n": n}


def _bag_of_words(x, vocabulary):
    from scipy.sparse import csr_matrix

    rows = np.repeat(np.arange(len(x)), x.shape[1])
    ids = x.reshape(-1)
    keep = ids > 0
    return csr_matrix((np.ones(int(keep.sum())), (rows[keep], ids[keep])),
                      shape=(len(x), int(vocabulary or ids.max() + 1)))


def baseline_predictions(data: "Dataset", x_fit: np.ndarray, y_fit: np.ndarray,
                         x_test: np.ndarray, *, seed: int) -> np.ndarray:
    """Fits the plain baseline on `(x_fit, y_fit)`; returns its predictions on `x_test`."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if data.input_kind == "tokens":
        fit, test = (_bag_of_words(x, data.vocabulary_size) for x in (x_fit, x_test))
        scaler = StandardScaler(with_mean=False)
    else:
        fit, test = (x.reshape(len(x), -1) for x in (x_fit, x_test))
        scaler = StandardScaler()
    estimator = (Ridge(alpha=1.0) if data.task == "regression"
                 else LogisticRegression(max_iter=500, random_state=seed))
    with warnings.catch_warnings():  # an unconverged baseline still answers the question
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make_pipeline(scaler, estimator).fit(fit, y_fit)
    return model.predict(test)


def _p(value):
    return "p<1e-300" if value <= 0 else f"p={value:.1g}"


def _phrase(result, task):
    if task == "regression":
        return f"correlation {result['score']:+.2f} ({_p(result['p_value'])})"
    return (f"accuracy {result['score']:.2f} (chance {result['chance']:.2f}, "
            f"{_p(result['p_value'])})")


def relation_finding(model_outputs: np.ndarray | None, data: "Dataset", y_held: np.ndarray,
                     baseline: Callable[[], np.ndarray], *, subset_size: int,
                     val: tuple[np.ndarray, np.ndarray] | None = None) -> Finding:
    """`labels_vs_inputs` from the memorized model's outputs and the baseline.

    Args:
        model_outputs: Array of the memorized model's outputs on the held-out
            training samples, or `None` when it diverged.
        data: The `Dataset`.
        y_held: Array, the held-out samples' labels.
        baseline: Callable with no argument returning the baseline's predictions
            on the held-out samples (run only when needed).
        subset_size: Integer, the samples the model was trained on.
        val: Optional `(outputs, y)` of the model on the validation part.

    Returns:
        A `Finding`.
    """
    task = data.task
    numbers = {"held_out": int(len(y_held))}
    parts = []
    if model_outputs is not None:
        own = association(_labels_of(model_outputs, task), y_held, task)
        numbers["model"] = own
        parts.append(f"the model trained on {subset_size} samples scores "
                     f"{_phrase(own, task)} on {len(y_held)} other training samples")
        if own["related"]:
            return _related(parts, numbers, task, val)
    base = association(baseline(), y_held, task)
    numbers["baseline"] = base
    name = "ridge" if task == "regression" else "logistic"
    parts.append(f"a {name} regression baseline scores {_phrase(base, task)}")
    if base["related"]:
        parts[0] += (" (too few samples for it to generalize: not a fault)"
                     if model_outputs is not None else "")
        return _related(parts, numbers, task, val)
    return Finding("labels_vs_inputs", "fail",
                   "the labels look unrelated to the inputs: " + "; ".join(parts)
                   + ": both at chance.",
                   "Check that x and y are aligned (same order, same filtering, the "
                   "right target column): very abnormal curves usually mean a data bug "
                   "(B4). If the labels truly depend on the inputs in a way neither "
                   "model can see from these samples, this is a false alarm; raise "
                   "--subset.", numbers, section="model")


def _related(parts, numbers, task, val):
    message = "; ".join(parts) + ": the labels relate to the inputs"
    if val is None:
        return Finding("labels_vs_inputs", "pass", message + ".", numbers=numbers,
                       section="model")
    outputs, y_val = val
    on_val = association(_labels_of(outputs, task), y_val, task)
    numbers["validation"] = on_val
    message += f"; on the validation part: {_phrase(on_val, task)}"
    if "model" in numbers and numbers["model"]["related"] and not on_val["related"]:
        return Finding("labels_vs_inputs", "warn", message + ", at chance.",
                       "The validation labels do not follow the inputs the way the "
                       "training labels do: check the validation file's alignment, or "
                       "the split (see `split`).", numbers, section="model")
    return Finding("labels_vs_inputs", "pass", message + ".", numbers=numbers,
                   section="model")
