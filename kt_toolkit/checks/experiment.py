"""`check_experiment`: the data and model checks of one experiment, before a search."""

import logging
import re
from typing import TYPE_CHECKING

import numpy as np

from kt_toolkit.checks import training
from kt_toolkit.checks.data import dataset_findings, read_source, source_finding
from kt_toolkit.checks.overfit import PATHOLOGIES, RETRY_FACTORS, clean, overfit_finding
from kt_toolkit.checks.relation import (MAX_BASELINE, MAX_HELD_OUT, baseline_predictions,
                                        relation_finding)
from kt_toolkit.checks.report import CheckReport, Finding
from kt_toolkit.checks.training import build_default, loss_symptoms, memorize, predict
from kt_toolkit.data import load_dataset
from kt_toolkit.errors import invalid
from kt_toolkit.hypermodels import build_hypermodel

if TYPE_CHECKING:
    import keras_tuner

    from kt_toolkit.config.schema import ExperimentConfig
    from kt_toolkit.hypermodels.base import TunableModel

__all__ = ["check_experiment"]

logger = logging.getLogger(__name__)

DEFAULT_SUBSET = 64
DEFAULT_MAX_EPOCHS = 200


def check_experiment(config: "ExperimentConfig", *, subset: int = DEFAULT_SUBSET,
                     max_epochs: int = DEFAULT_MAX_EPOCHS,
                     hypermodel: "keras_tuner.HyperModel | type[TunableModel] | None" = None
                     ) -> CheckReport:
    """Checks an experiment's data and default model before any search (C4, C6, F2).

    Looks at the data (shapes, dtypes, NaN/inf, labels and imbalance, the split,
    whether the training part is shuffled, token lengths) and trains the search
    space's DEFAULT configuration on a small stratified subset of the training
    part until it memorizes it, naming the likely cause when it does not
    (learning rate too high, wrong output activation/loss pairing, labels
    unrelated to inputs). Nothing is written; a run directory is not needed.

    Example:

    ```python
    from kt_toolkit.checks import check_experiment
    from kt_toolkit.config import load_config

    report = check_experiment(load_config("experiments/digits_mlp.yaml"))
    print(report.format())
    report.passed, [f.name for f in report.failures]
    ```

    Args:
        config: A validated `kt_toolkit.config.ExperimentConfig`.
        subset: Integer, training samples the model must memorize (stratified;
            at least 2 per class). Defaults to `64`.
        max_epochs: Integer, the most passes over the subset. Defaults to `200`.
        hypermodel: Optional `keras_tuner.HyperModel` to check instead of the
            config's builder, or a `TunableModel` subclass (built from the data
            and `model.space` like the config's builder).

    Returns:
        A `CheckReport`: `passed`, `failures`, `format()`.

    Raises:
        ConfigError: bad settings, `subset` or `max_epochs`, or data that cannot
            be loaded (as `tune`).
    """
    if isinstance(subset, bool) or not isinstance(subset, int) or subset < 2:
        raise invalid("subset", "an integer >= 2", subset, "64 is usual (C6).")
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise invalid("max_epochs", "an integer >= 1", max_epochs)
    raw = read_source(config.data)
    broken = source_finding(raw)
    if broken is not None:
        return CheckReport(f"Check of {config.experiment.name}: {config.data.dataset}",
                           [broken, Finding("model", "skip", "not run: the data hold "
                                            "NaN/inf.", section="model")])
    data = load_dataset(config.data, seed=config.experiment.seed)
    report = CheckReport(f"Check of {config.experiment.name}: {data.summary()}",
                         dataset_findings(data, raw, config.data))
    del raw
    _model_checks(report, config, data, hypermodel,
                  subset=subset, max_epochs=max_epochs)
    return report


def _pick(data, size, seed):
    """Indices of the stratified subset and of up to 1000 other training samples."""
    from sklearn.model_selection import train_test_split

    n = len(data.y_train)
    classes = data.num_classes
    size = min(max(size, 2 * classes if classes else 2), n)
    indices = np.arange(n)
    if size == n:
        return indices, indices[:0]
    stratify = data.y_train if classes else None
    try:
        chosen, rest = train_test_split(indices, train_size=size, random_state=seed,
                                        stratify=stratify)
    except ValueError:  # a class with one sample: no stratification
        chosen, rest = train_test_split(indices, train_size=size, random_state=seed)
    return np.sort(chosen), rest[:MAX_HELD_OUT]


def _hypermodel(config, data, hypermodel):
    if hypermodel is None:
        return build_hypermodel(config, data)
    if isinstance(hypermodel, type):
        return hypermodel.from_data(data, space=config.model.space,
                                    seed=config.experiment.seed)
    return hypermodel


def _values(hp):
    return " ".join(f"{name}={value}" for name, value in hp.values.items()
                    if not name.startswith("tuner/"))


def _model_checks(report, config, data, hypermodel, *, subset, max_epochs):
    seed = config.experiment.seed
    chosen, held = _pick(data, subset, seed)
    x, y = data.model_inputs("train", chosen), data.y_train[chosen]
    builder = _hypermodel(config, data, hypermodel)
    try:
        hp, model = training.build_default(builder, seed=seed)
    except Exception as error:  # noqa: BLE001 - a broken builder is what a check reports
        report.findings.append(_crash("layers", "building the default configuration",
                                      error))
        return
    report.model_summary = f"{model.name}, the space's defaults: {_values(hp)}"
    report.findings += [training.layers_finding(model, data),
                        training.outputs_finding(model, data, x)]
    outputs_ok = report.finding("outputs").passed
    if data.task != "regression" and outputs_ok:
        report.findings.append(training.initial_loss_finding(model, data, x, y))
    logger.info("Training the default configuration on %d samples, up to %d epochs…",
                len(y), max_epochs)
    try:
        trace, retries = _memorize(builder, hp, model, x, y, data, config,
                                   max_epochs=max_epochs)
    except Exception as error:  # noqa: BLE001
        report.findings.append(_crash("overfit", "training the default configuration",
                                      error))
        return
    relation = _relation(trace, retries, data, chosen, held, seed)
    related = None if relation.status == "skip" else relation.passed
    report.findings += [overfit_finding(trace, retries, task=data.task,
                                        subset_size=len(y), outputs_ok=outputs_ok,
                                        labels_related=related), relation]


def _crash(name, what, error):
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())
    text = text if len(text) <= 400 else text[:400] + " …"
    return Finding(name, "fail", f"{what} raised {type(error).__name__}: {text}",
                   "Fix the model code: the check builds and fits it as a "
                   "trial does (C4).", section="model")


def _memorize(builder, hp, model, x, y, data, config, *, max_epochs):
    options = {"task": data.task, "max_epochs": max_epochs,
               "batch_size": config.training.batch_size}
    trace = memorize(builder, hp, model, x, y, **options)
    retries = []
    symptoms = loss_symptoms(trace, data.task)
    if not symptoms & PATHOLOGIES or trace.learning_rate is None:
        return trace, retries
    for factor in RETRY_FACTORS:
        lower = hp.copy()
        lower.values["learning_rate"] = trace.learning_rate / factor
        logger.info("Retrying at learning_rate %g…", trace.learning_rate / factor)
        _, retry_model = build_default(builder, seed=config.experiment.seed, hp=lower)
        retry = memorize(builder, lower, retry_model, x, y, **options)
        retries.append((factor, retry))
        if clean(retry, data.task):
            break
    return trace, retries


def _relation(trace, retries, data, chosen, held, seed):
    if len(held) < 20:
        return Finding("labels_vs_inputs", "skip", f"only {len(held)} training samples "
                       "outside the subset: too few to test.", section="model")
    model = trace.model
    if trace.nonfinite_at is not None:
        model = next((t.model for _, t in retries if clean(t, data.task)), None)
    x_held, y_held = data.x_train[held], data.y_train[held]
    outputs = None if model is None else predict(model, data.model_inputs("train", held))
    if outputs is not None and not np.all(np.isfinite(outputs)):
        outputs = None
    fit = np.setdiff1d(np.arange(len(data.y_train)), held)[:MAX_BASELINE]

    def baseline():
        return baseline_predictions(data, data.x_train[fit], data.y_train[fit], x_held,
                                    seed=seed)

    return relation_finding(outputs, data, y_held, baseline, subset_size=len(chosen),
                            val=_validation(model, data, chosen, outputs))


def _validation(model, data, chosen, outputs):
    if outputs is None:
        return None
    x_val = data.model_inputs("validation", slice(None, MAX_HELD_OUT))
    y_val = data.y_val[:MAX_HELD_OUT]
    if data.task != "regression":
        seen = np.unique(data.y_train[chosen])
        if not np.isin(y_val, seen).all() or len(np.unique(y_val)) < 2:
            return None  # `split` reports unseen classes; one class cannot be tested
    val_outputs = predict(model, x_val)
    return (val_outputs, y_val) if np.all(np.isfinite(val_outputs)) else None
