"""The held-out test part's scores, worded once for the CLI, the report and `show`.

They come from `final/evaluation.yaml` (`kt_toolkit.tuners.final` writes it when
a search ends): the best model's scores on the test part (`best`), and with
`final.refit` those of the best settings retrained on training + validation
(`refit`). Nothing here reads the test part itself. Imports no Keras.

Example:

```python
from kt_toolkit.analysis.final import final_record, test_lines

record = final_record("runs/digits_mlp-6379dab0")
print("\\n".join(test_lines(record, "val_accuracy")))
# test accuracy 0.9694 (best model, trial 07; 360 held-out samples)
```
"""

import os
from typing import Optional

from kt_toolkit.rundir import RunDirectory

__all__ = ["final_record", "test_lines", "test_score"]


def final_record(run_dir: str | os.PathLike[str]) -> dict:
    """`final/evaluation.yaml` of a run, `{}` when it has none."""
    return RunDirectory(run_dir).read_final()


def _metric(metrics: dict, objective: str) -> Optional[str]:
    """The test metric that matches the objective (`val_accuracy` → `accuracy`)."""
    name = objective.removeprefix("val_")
    return name if name in metrics else None


def test_score(record: dict, objective: str, which: str = "best") -> Optional[tuple]:
    """`(metric name, value)` of the objective's metric on the test part, or `None`.

    Args:
        record: The `final/evaluation.yaml` dict (`final_record`).
        objective: String, the run's objective (`val_accuracy`, `val_loss`…).
        which: `"best"` (the best model) or `"refit"` (`final.refit`).
    """
    metrics = (record.get(which) or {}).get("metrics") or {}
    name = _metric(metrics, objective)
    return None if name is None else (name, metrics[name])


def _scores(metrics, objective):
    name = _metric(metrics, objective)
    shown = {name: metrics[name]} if name else metrics
    return ", ".join(f"test {k} {_number(v)}" for k, v in shown.items())


def _number(value):
    return f"{value:.4f}" if isinstance(value, (int, float)) else str(value)


def test_lines(record: dict, objective: str) -> list[str]:
    """One line per scored model: `test accuracy 0.9694 (best model, …)`; `[]` without.

    Args:
        record: The `final/evaluation.yaml` dict (`final_record`).
        objective: String, the run's objective: its metric is the one shown.
    """
    lines = []
    best, refit = record.get("best") or {}, record.get("refit") or {}
    if best.get("metrics"):
        lines.append(f"{_scores(best['metrics'], objective)} (best model, trial "
                     f"{best.get('trial_id')}; {record.get('samples')} held-out samples)")
    if refit.get("metrics"):
        lines.append(f"{_scores(refit['metrics'], objective)} (refit on training + "
                     f"validation, {refit.get('train_samples')} samples, "
                     f"{refit.get('epochs')} epochs: {refit.get('model')})")
    elif refit.get("model") and not refit.get("skipped"):
        lines.append(f"refit on training + validation, {refit.get('train_samples')} samples, "
                     f"{refit.get('epochs')} epochs: {refit.get('model')} (no test part to "
                     "score it on)")
    return lines
