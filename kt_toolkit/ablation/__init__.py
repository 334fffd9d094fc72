"""`kt-toolkit ablate`: one knob compared over seeds, every other knob held.

- `ablate.py`: `ablate(source, knob=…)` → `Ablation` (table, verdicts, figure, report).
- `source.py`: an experiment file or a run directory, and the values held.
- `values.py`: the knob, `--values`, `--sweep`, `--seeds`, checked before training.
- `jobs.py`: one value × seed trained, here or in a process pool (`--workers`).

The statistics and the figure are the analysis's (`kt_toolkit.analysis.ablation`),
the files the run directory's (`kt_toolkit.rundir.ablations`).
"""

from kt_toolkit.ablation.ablate import Ablation, ablate
from kt_toolkit.ablation.values import parse_sweep, parse_values

__all__ = ["Ablation", "ablate", "parse_sweep", "parse_values"]
