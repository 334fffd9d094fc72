"""The final step: the best model scored once on the held-out test part; the refit.

Nothing of the search reads the test part (`kt_toolkit.data.HeldOut`): it comes
here from `kt_toolkit.experiment`, after `finish_search` has chosen the best trial
on the validation part. This module

1. evaluates the best model (`best/model.keras`) on the test part;
2. with `final.refit: true`, trains the best settings afresh on the training and
   validation parts together, for the best trial's best epoch count (the same
   number of epochs, not scaled to the larger data), saves that model as
   `final/model.keras` and evaluates it on the test part too;
3. writes `final/evaluation.yaml` and the test scores as scalars in the best
   trial's TensorBoard run (`accuracy/test` beside `accuracy/validation`).

Streamed data (a loader's PyDataset or tf.data parts, an image folder, a table)
work the same way: the test stream is evaluated as it is, the refit trains on
the training stream followed by the validation stream (`streams.joined`), and
the sizes nobody knew (a loader's streams) are counted as these passes read
them (`streams.counting`): nothing is read an extra time.

A rerun of a finished run finds `final/evaluation.yaml` made for the same best
trial, test part and refit setting, and uses it as it is: nothing is evaluated
or trained again.
"""

import logging
import os
import warnings
from typing import Optional

import keras
import numpy as np

from kt_toolkit.data.streams import counting, joined
from kt_toolkit.errors import DataError
from kt_toolkit.rundir import tidy_value

__all__ = ["run_final"]

logger = logging.getLogger(__name__)


def run_final(tuner, setup, held_out, *, refit: bool = False, seed: int = 0,
              batch_size: int = 32, result=None) -> Optional[dict]:
    """Evaluates the best model on the test part (and refits it); `final/evaluation.yaml`.

    Args:
        tuner: The search's tuner (one process, or a parallel run's chief side).
        setup: The `kt_toolkit.tuners.session.SearchSetup`.
        held_out: A `kt_toolkit.data.HeldOut`, or `None` when the data have no
            test part (then only a refit runs, when asked for).
        refit: Boolean, `final.refit`.
        seed: Integer, seeds the refit.
        batch_size: Integer, `training.batch_size` (a tuned batch size wins).
        result: The `RunResult` of `finish_search`: its best trial and rows are
            read, and its `final` is set.

    Returns:
        The record written to `final/evaluation.yaml`, or `None` when there is
        nothing to do (no completed trial, or no test part and no refit).
    """
    trial_id = result.best_trial_id if result is not None else None
    if trial_id is None or (held_out is None and not refit):
        return None
    run = tuner.run
    identity = {"trial_id": trial_id, "refit": bool(refit),
                "test": None if held_out is None else {"source": held_out.source,
                                                       "samples": held_out.samples}}
    previous = _done_before(run, identity, refit)
    if previous is not None:
        result.final = previous
        return previous
    trial = tuner.oracle.trials[trial_id]
    epochs = _best_epochs(result.trials, trial_id)
    record = {"identity": identity, "split": "test",
              "samples": None if held_out is None else held_out.samples,
              "source": None if held_out is None else held_out.source}
    test = None if held_out is None else held_out.open()  # the one read of the test part
    if test is not None:
        record["best"], record["samples"] = _best_on_test(tuner, trial, trial_id, setup,
                                                          test, epochs=epochs)
    if refit:
        record["refit"] = _refit(tuner, trial, setup.data, test, epochs=epochs, seed=seed,
                                 batch_size=batch_size)
        counted = record["refit"].pop("train_part", None)  # a stream's, counted in the refit
        if "best" in record and record["best"]["train_samples"] is None:
            record["best"]["train_samples"] = counted
    run.write_final(record)
    _log_and_scalars(run, record, trial_id, epochs)
    if result is not None:
        result.final = record
    return record


def _done_before(run, identity, refit):
    """The earlier `final/evaluation.yaml` made for the same `identity` (and its
    refit model, when `refit`), or `None`."""
    previous = run.read_final()
    if previous.get("identity") != identity or (
            refit and not os.path.isfile(run.final_model_path)):
        return None
    logger.info("Final evaluation of trial %s on the test part: done before, kept (%s).",
                identity["trial_id"], os.path.join(run.final_dir, "evaluation.yaml"))
    return previous


def _best_on_test(tuner, trial, trial_id, setup, test, *, epochs):
    """`(record, samples)`: the best model (`best/model.keras`) scored on `test`."""
    run = tuner.run
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)
    best = {"trial_id": trial_id, "model": os.path.relpath(run.best_model_path, run.path),
            "epochs": epochs, "train_samples": _train_samples(tuner, setup.data, trial_id)}
    best["metrics"], samples = _evaluate(model, test)
    return best, samples


def _best_epochs(rows, trial_id):
    """The best trial's best epoch (1-based), from `trials.csv`'s row."""
    row = next((r for r in rows if r["trial_id"] == trial_id), {})
    try:
        return max(1, int(row.get("best_epoch") or row.get("epochs_run") or 1))
    except (TypeError, ValueError):
        return 1


def _train_samples(tuner, data, trial_id):
    """What the best model trained on: the training part, or with `data.cv_folds` the
    other folds of its own; `None` for a stream (a refit counts it)."""
    folds = getattr(tuner, "cross_validation", None)
    fold = folds.checkpoint_fold(trial_id) if folds is not None else None
    if fold is not None:
        return int(len(folds.y) - len(folds.validation_part(fold)[1]))
    return None if data.is_streamed else int(len(data.y_train))


def _evaluate(model, test):
    """`(metrics, samples)` of `model` on the test part; a stream's samples are
    counted as the evaluation reads them."""
    x, y = test
    count = None
    if y is None:  # a stream of (x, y) batches
        x, count = counting(x)
    scores = model.evaluate(*((x,) if y is None else (x, y)), verbose=0, return_dict=True)
    metrics = {name: tidy_value(float(value)) for name, value in scores.items()}
    return metrics, (count() if count is not None else int(len(y)))


def _refit(tuner, trial, data, test, *, epochs, seed, batch_size):
    """Trains the best settings on training + validation for `epochs`; saves it."""
    counts = None
    if data.is_streamed:  # counted as the fit reads them: (training, validation) samples
        train, train_count = counting(data.train_data)
        validation, validation_count = counting(data.validation_data)
        try:
            x, y = joined(train, validation), None
        except DataError as error:
            logger.warning("No refit: %s", error)
            return {"skipped": str(error)}
        counts, samples = (train_count, validation_count), None
    else:
        x = np.concatenate([data.x_train, data.x_val])
        y = np.concatenate([data.y_train, data.y_val])
        samples = int(len(y))
    keras.utils.set_random_seed(seed)
    hp = trial.hyperparameters
    model = tuner.hypermodel.build(hp)
    logger.info("Refitting trial %s's settings on the training and validation parts "
                "(%s samples) for %d epochs (final.refit)", trial.trial_id,
                samples if samples is not None else "streamed", epochs)
    args = (x,) if y is None else (x, y)
    tuner.hypermodel.fit(hp, model, *args, epochs=epochs, batch_size=batch_size, verbose=0,
                         callbacks=[keras.callbacks.TerminateOnNaN()])
    train_part = None
    if counts is not None:  # each epoch read every batch once
        train_part = counts[0](epochs)
        samples = train_part + counts[1](epochs)
    run = tuner.run
    os.makedirs(run.final_dir, exist_ok=True)
    tmp = os.path.join(run.final_dir, f".model-{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, run.final_model_path)
    record = {"model": os.path.relpath(run.final_model_path, run.path), "epochs": epochs,
              "train_samples": samples,
              "epochs_rule": "the best trial's best epoch, not scaled to the larger data"}
    if train_part is not None:
        record["train_part"] = train_part
    if test is not None:
        record["metrics"] = _evaluate(model, test)[0]
    return record


def _log_and_scalars(run, record, trial_id, epochs):
    scalars = {}
    for which, suffix in (("best", "test"), ("refit", "test_refit")):
        for name, value in ((record.get(which) or {}).get("metrics") or {}).items():
            scalars[f"{name}/{suffix}"] = value
    if scalars:
        logger.info("Test part (%s samples): %s", record["samples"],
                    ", ".join(f"{k} {v:.4g}" for k, v in scalars.items()))
        try:
            run.write_test_scalars(trial_id, scalars, step=epochs)
        except OSError as error:
            logger.warning("Could not write the test scores to TensorBoard: %s", error)
