"""Sanity checks before any search: `kt-toolkit check` (C4, C6, C8, B5, F2).

`check_experiment(config)` inspects the data an experiment loads and trains the
search space's default configuration on a tiny subset, and returns a
`CheckReport` of `Finding`s (pass / warn / fail / skip, with numbers and advice).
The heuristics and their thresholds are documented in each module:
`data` (inputs, labels, split, order, sequence lengths), `training` (layers,
outputs, loss at initialization, the memorization run), `overfit` (what a
failed memorization points to) and `relation` (whether labels follow inputs).

Example:

```python
from kt_toolkit.checks import check_experiment
from kt_toolkit.config import load_config

report = check_experiment(load_config("experiments/digits_mlp.yaml"), subset=64)
print(report.format())   # one line per check; "Result: PASS: …" last
```
"""

from kt_toolkit.checks.experiment import check_experiment
from kt_toolkit.checks.report import CheckReport, Finding

__all__ = ["CheckReport", "Finding", "check_experiment"]
