"""Coarse to fine (C3): a `stages:` list runs one search after another.

```yaml
stages:
  - name: coarse                      # wide ranges, cheap trials
    tuner: {algorithm: quasi_random, max_trials: 20}
    training: {epochs: 5}
  - name: fine                        # ranges narrowed around the coarse top 5
    tuner: {algorithm: bayesian, max_trials: 12}
    narrow: {top_k: 5}
```

Each stage is the experiment with its own `tuner:`, `training:` and `data:`
settings laid over the file's, run as a sub-run `<run>/stages/<n>-<name>/` with
its own trials, report and best model. From the second stage on, `model.space`
is narrowed around the previous stage's `top_k` best trials: numeric ranges to
the span of their values plus a margin (in log space for log-sampled knobs),
choices to those that appeared; knobs the top trials never used keep their
range. `<run>/stages.md` compares the stages. Imports no Keras until it runs.
"""

import copy
import dataclasses
import logging
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

import yaml

from kt_toolkit._io import atomic_write_text
from kt_toolkit.analysis import load_study
from kt_toolkit.config import ExperimentConfig
from kt_toolkit.config.stages import (DEFAULT_MARGIN, DEFAULT_TOP_K, STAGES_DIR, stage_config,
                                      stage_run_name)
from kt_toolkit.rundir import CONFIG_FILE, prepare_run_dir

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

__all__ = ["StageResult", "narrow_space", "run_stages"]

logger = logging.getLogger(__name__)

def narrow_space(study: "Study", space: Mapping[str, Mapping[str, Any]], *,
                 top_k: int = DEFAULT_TOP_K,
                 margin: float = DEFAULT_MARGIN) -> dict[str, dict[str, Any]]:
    """A new `model.space` narrowed around `study`'s `top_k` best trials.

    Args:
        study: A `kt_toolkit.rundir.Study` (`kt_toolkit.analysis.load_study`) (the previous stage).
        space: Dict, that stage's resolved space (knob → spec).
        top_k: Integer, how many best trials define the new ranges.
        margin: Float, added on each side, as a share of the top trials' span
            (of its log for log-sampled knobs); when they all share one value,
            as a share of the old range instead.

    Returns:
        Dict knob → spec. Ranges stay inside the old ones; choices keep the
        old order; the best trial's value becomes each knob's default.
    """
    best = study.best(top_k)
    if not best:
        return copy.deepcopy(space)
    narrowed = {}
    for name, spec in space.items():
        values = [row.get(name) for row in best if row.get(name) is not None]
        if "fixed" in spec or not values:
            narrowed[name] = copy.deepcopy(spec)
        elif "values" in spec:
            kept = [v for v in spec["values"] if v in values]
            narrowed[name] = {"values": kept, "default": best[0].get(name, kept[0])}
            if best[0].get(name) is None:
                narrowed[name]["default"] = kept[0]
        else:
            narrowed[name] = _narrow_range(spec, values, best[0].get(name), margin)
    return narrowed


def _narrow_range(spec, values, best, margin):
    log = spec.get("sampling") in ("log", "reverse_log")
    integer = isinstance(spec["min"], int) and isinstance(spec["max"], int)
    to = (lambda v: math.log10(v)) if log else float
    back = (lambda v: 10 ** v) if log else float
    low, high = to(min(values)), to(max(values))
    pad = (high - low) * margin or (to(spec["max"]) - to(spec["min"])) * margin / 2
    low, high = max(back(low - pad), spec["min"]), min(back(high + pad), spec["max"])
    step = spec.get("step")
    if step and log:  # a multiplier: the grid is min·step^k
        low = spec["min"] * step ** math.floor(math.log(low / spec["min"], step) + 1e-9)
        high = min(spec["min"] * step ** math.ceil(math.log(high / spec["min"], step) - 1e-9),
                   spec["max"])
    elif step:
        low = spec["min"] + math.floor((low - spec["min"]) / step + 1e-9) * step
        high = spec["min"] + math.ceil((high - spec["min"]) / step - 1e-9) * step
        high = min(high, spec["max"])
    if integer:
        low, high = int(math.floor(low)), int(math.ceil(high))
    else:
        low, high = float(f"{low:.4g}"), float(f"{high:.4g}")
        low, high = max(low, spec["min"]), min(high, spec["max"])
    result = dict(spec, min=low, max=high)
    default = best if best is not None else spec.get("default")
    if default is not None:
        result["default"] = min(max(default, low), high)
    if low == high:
        return {"fixed": low}
    return result


@dataclasses.dataclass
class StageResult:
    """One stage's name, config and `RunResult`."""

    name: str
    config: ExperimentConfig
    result: object


def run_stages(config: ExperimentConfig, run_stage: Callable, *,
               overwrite: bool = False) -> list[StageResult]:
    """Runs the stages in order; returns the list of `StageResult`s.

    Args:
        config: The experiment, with `stages`.
        run_stage: Callable taking one stage's `ExperimentConfig` and returning
            its `RunResult`: the caller's way to run a search
            (`kt_toolkit.experiment.run_experiment` passes its own, with the
            `--workers` options), so this module imports nothing above it.
        overwrite: Boolean, delete the parent run directory first.

    The parent run directory holds `config.yaml`, `stages/<n>-<name>/` (each a
    full run) and `stages.md`, which compares them.
    """
    parent = prepare_run_dir(config, overwrite=overwrite)
    done, space = [], None
    for index, stage in enumerate(config.stages):
        stage_cfg = stage_config(config, index, space)
        result = run_stage(stage_cfg)
        done.append(StageResult(stage["name"], stage_cfg, result))
        if index + 1 < len(config.stages):
            narrow = config.stages[index + 1].get("narrow")
            if narrow is not None:
                space = narrow_space(load_study(result.run_dir), stage_cfg.model.space,
                                     top_k=narrow.get("top_k", DEFAULT_TOP_K),
                                     margin=narrow.get("margin", DEFAULT_MARGIN))
                space = _started_space(parent, config, index + 1, space)
            else:
                space = None
    _write_comparison(parent, done)
    return done


def _started_space(parent, config, index, space):
    """A stage that already started keeps the ranges it started with.

    Its earlier stage may have grown since (more trials, other top trials); mixing
    two spaces in one search would make its trials incomparable.
    """
    stage = config.stages[index]
    path = os.path.join(parent, STAGES_DIR, stage_run_name(config, index), CONFIG_FILE)
    if not os.path.exists(path):
        return space
    with open(path, encoding="utf-8") as handle:
        stored = (yaml.safe_load(handle).get("model") or {}).get("space")
    if stored and stored != space:
        logger.warning("Stage %s keeps the ranges it started with; the earlier stage's top "
                       "trials now suggest others. Delete %s to narrow it again.",
                       stage["name"], os.path.dirname(path))
        return stored
    return space


def _range_text(spec):
    if "fixed" in spec:
        return f"{spec['fixed']}"
    if "values" in spec:
        return "{" + ", ".join(map(str, spec["values"])) + "}"
    log = " log" if spec.get("sampling") == "log" else ""
    return f"[{spec['min']:g}, {spec['max']:g}]{log}"


def _write_comparison(parent, done):
    lines = ["# Stages (C3: coarse to fine)", "",
             "| stage | algorithm | trials | epochs | best | score |", "|---|---|---|---|---|---|"]
    for index, stage in enumerate(done):
        result, cfg = stage.result, stage.config
        score = "" if result.best_score is None else f"{result.best_score:.4f}"
        lines.append(f"| {index + 1}-{stage.name} | {cfg.tuner.algorithm} | "
                     f"{len(result.trials)} | {cfg.training.epochs} | "
                     f"{result.best_trial_id or ''} | {score} |")
    names = [n for n in done[0].config.model.space
             if any(_range_text(s.config.model.space[n]) != _range_text(
                 done[0].config.model.space[n]) for s in done)]
    if names:
        lines += ["", "Ranges that changed:", "",
                  "| knob | " + " | ".join(s.name for s in done) + " |",
                  "|---|" + "---|" * len(done)]
        lines += [f"| {n} | " + " | ".join(_range_text(s.config.model.space[n]) for s in done)
                  + " |" for n in names]
    lines += ["", "Each stage's report: "
              + ", ".join(f"`stages/{i + 1}-{s.name}/report.html`" for i, s in enumerate(done)),
              ""]
    atomic_write_text(os.path.join(parent, "stages.md"), "\n".join(lines))
