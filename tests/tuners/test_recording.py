"""What RecordingMixin adds around KerasTuner's trials: listeners, the best epoch written
once, the heap frozen during the search. (A killed trial's history.csv across the
resume: tests/tuners/test_resume.py.)"""

import gc
import os

import numpy as np

from kt_toolkit._io import read_csv


def test_listeners_hear_each_trial_once_its_records_and_checkpoint_are_written(make_config):
    from kt_toolkit.tuners import build_tuner
    from kt_toolkit.tuners.session import prepare_search

    config = make_config(tuner={"algorithm": "random", "max_trials": 2})
    setup = prepare_search(config)
    tuner = build_tuner(config, setup.hypermodel, setup.run_dir, task="multiclass")
    heard = []

    def listener(trial_id):
        rows = {row["trial_id"]: row for row in read_csv(tuner.run.file("trials.csv"))}
        checkpoint = os.path.join(tuner.get_trial_dir(trial_id), "checkpoint.weights.h5")
        heard.append((trial_id, rows[trial_id]["status"], os.path.exists(checkpoint),
                      gc.get_freeze_count() > 0))

    tuner.trial_listeners.append(listener)
    data = setup.data
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 epochs=2, verbose=0)
    # During the search the heap of before it is frozen (kt_toolkit.compat.collection).
    assert heard == [("0", "COMPLETED", True, True), ("1", "COMPLETED", True, True)]
    assert gc.get_freeze_count() == 0
    best = tuner.get_best_models(1)[0]
    score = best.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
    assert np.isclose(score["accuracy"], tuner.best_trials(1)[0].score, atol=1e-6)
