"""Progress text: each trial's log line, in one process and in a worker."""

from kt_toolkit.tuners.progress import counted, trial_line


def _row(trial_id, status="COMPLETED", objective=0.5, epochs=2):
    return {"trial_id": trial_id, "status": status, "objective": objective,
            "epochs_run": epochs, "seconds": 2.5, "reason": "" if status != "FAILED" else "nan"}


def test_a_trial_line_counts_in_words_and_shows_the_total():
    rows = [_row("0", epochs=1), _row("1", "FAILED", "", epochs=3), _row("2", "RUNNING", "")]
    one_process = trial_line(rows[0], rows, "val_accuracy", "max", budget=5, elapsed=10.0)
    assert one_process == ("trial 0 COMPLETED val_accuracy=0.5000 | best 0.5000 (trial 0) | "
                           "1 epoch, 2.5 s | trials 2/5 · 0:10 elapsed · ETA 0:15")
    worker = trial_line(rows[1], rows, "val_accuracy", "max", budget=5)  # no search clock
    assert worker == "trial 1 FAILED (nan) | best 0.5000 (trial 0) | 3 epochs, 2.5 s | trials 2/5"
    assert trial_line(rows[1], rows, "val_loss", "min", budget=None).endswith("| trials 2/?")


def test_counted():
    assert [counted(n, "trial") for n in (0, 1, 2)] == ["0 trials", "1 trial", "2 trials"]
