"""One line of progress for a run, read from its directory (any number of workers).

    12:03:10 trials 7/30 (6 completed, 1 failed) | best val_accuracy 0.9722 (trial 05) |
             running: 07 on worker0, 08 on worker1

With workers on GPUs, each running trial names its GPU: `07 on worker0 (GPU 0)`.
"""

import math

from kt_toolkit.rundir import RunDirectory, rank_trials
from kt_toolkit.config.schema import default_max_trials

__all__ = ["clock", "counted", "progress_line", "timing_text", "trial_budget", "trial_line"]


def trial_budget(config):
    """How many trials the search runs in all, or `None` when it cannot be known ahead.

    Hyperband's is the size of its brackets (each round's trials count), capped
    by `tuner.max_trials`; a grid's is `max_trials`, else `None`.
    """
    tuner = config.tuner
    if tuner.algorithm in ("random", "quasi_random", "tpe", "bayesian"):
        return tuner.max_trials or default_max_trials(tuner.algorithm)
    if tuner.algorithm == "grid":
        return tuner.max_trials
    max_epochs = tuner.max_epochs or config.training.epochs
    factor = tuner.factor
    brackets, epochs = 0, max_epochs
    while epochs >= 1:  # KerasTuner's HyperbandOracle._get_num_brackets (min_epochs 1)
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    total = tuner.hyperband_iterations * sum(
        math.ceil(end_size / (bracket + 1) * factor ** (bracket - round_))
        for bracket in range(brackets) for round_ in range(bracket + 1))
    return min(total, tuner.max_trials) if tuner.max_trials else total


def progress_line(run: RunDirectory, budget, objective, direction, *, elapsed=None,
                  max_time=None, devices=None):
    """`(line, key)`: the progress text and what it depends on (print when it changes).

    Args:
        run: The `RunDirectory` (its trials table is kept between calls, so each
            call reads only the trials that changed).
        budget: Integer or `None` (`trial_budget`).
        objective: String; `direction` is `"max"` or `"min"`.
        elapsed: Optional float, the search's seconds so far: adds elapsed and ETA
            (`timing_text`); the key leaves them out.
        max_time: Optional float, `tuner.max_time` in seconds, for the ETA.
        devices: Optional dict `{worker id: "GPU 0"}`: the GPU each worker trains on.
    """
    rows = run.rows()
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    ended = sum(n for status, n in counts.items() if status != "RUNNING")
    text = f"trials {ended}/{budget if budget else '?'}"
    parts = [f"{counts[s]} {s.lower()}" for s in ("COMPLETED", "PRUNED", "FAILED")
             if counts.get(s)]
    if parts:
        text += f" ({', '.join(parts)})"
    timing = "" if elapsed is None else " · " + timing_text(ended, budget, elapsed, max_time)
    tail = ""
    ranked = run.rank(rows, objective=objective, direction=direction)  # as `best/` is chosen
    if ranked:
        best = ranked[0]
        tail += f" | best {objective} {float(best['objective']):.4f} (trial {best['trial_id']})"
    running = run.running_trials(rows)
    if running:
        devices = devices or {}
        tail += " | running: " + ", ".join(
            f"{trial} on {worker}" + (f" ({devices[worker]})" if worker in devices else "")
            for worker, trial in sorted(running.items()))
    return text + timing + tail, (ended, text + tail)


def trial_line(row, rows, objective, direction, *, budget, elapsed=None, max_time=None,
               best=None):
    """The log line of a trial that ended, with the search's progress.

        trial 3 COMPLETED val_accuracy=0.9611 | best 0.9722 (trial 1) | 12 epochs, 8.4 s |
        trials 4/30 · 0:42 elapsed · ETA 4:33

    Args:
        row: Dict, the trial's row of the trials table; `rows`: every row.
        objective: String; `direction` is `"max"` or `"min"`.
        budget: Integer or `None` (`trial_budget`): the `N` of "trials i/N".
        elapsed: Optional float, the search's seconds so far, known in one process
            or the chief (a worker has no clock of the search): adds elapsed and ETA.
        max_time: Optional float, `tuner.max_time` in seconds, for the ETA.
        best: Optional dict, the best row as `RunDirectory.rank` picks it (diverged
            trials last). Defaults to `rank_trials(rows, direction)[0]`: ties on
            the objective broken by the validation loss, no history read.
    """
    if best is None:
        ranked = rank_trials(rows, direction)
        best = ranked[0] if ranked else None
    text = f"trial {row['trial_id']} {row['status']}"
    if row["status"] == "COMPLETED":
        text += f" {objective}={float(row['objective']):.4f}"
    else:
        text += f" ({row['reason']})"
    if best is not None:
        text += f" | best {float(best['objective']):.4f} (trial {best['trial_id']})"
    text += f" | {counted(int(row['epochs_run'] or 0), 'epoch')}, {row['seconds']} s"
    ended = sum(1 for r in rows if r["status"] != "RUNNING")
    text += f" | trials {ended}/{budget or '?'}"
    if elapsed is not None:
        text += " · " + timing_text(ended, budget, elapsed, max_time)
    return text


def counted(number: int, noun: str) -> str:
    """`1 epoch`, `2 epochs`: a count and its noun, singular or plural."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def clock(seconds: float) -> str:
    """`1:05` (minutes:seconds), `1:02:05` past an hour."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
            else f"{rest // 60}:{rest % 60:02d}")


def timing_text(ended: int, budget, elapsed: float, max_time=None) -> str:
    """`0:42 elapsed · ETA 1:10`: the ETA from the mean time per ended trial, capped by
    what is left of `max_time` (seconds); no ETA without a budget of either kind."""
    text = f"{clock(elapsed)} elapsed"
    left = []
    if budget and ended:
        left.append(elapsed / ended * max(budget - ended, 0))
    if max_time is not None:
        left.append(max(max_time - elapsed, 0.0))
    return text + (f" · ETA {clock(min(left))}" if left else "")
