"""TensorBoard event files and HParams data, written without TensorFlow.

KerasTuner writes HParams only on the TensorFlow backend, and even there no
experiment summary (see STACK_NOTES). kt_toolkit writes them itself with the
`tensorboard` package's record format and protos, so `tensorboard --logdir <run>`
shows the same scalars and HParams dashboard on TensorFlow, JAX and PyTorch:

```
<run>/tensorboard/
    events.out.tfevents.*.experiment     the HParams experiment: every tuned knob, its domain
                                         (written again when trials declare a new knob)
    <trial_id>/events.out.tfevents.*     per-epoch scalars (loss/train, loss/validation, …)
    <trial_id>/events.out.tfevents.*.session
                                         the trial's HParams session: values, status, scores
```

One TensorBoard run per trial (`tensorboard --logdir <run>/tensorboard` names them
by trial id): the Scalars page ticks every run by default up to 40 runs, and the
Time Series page up to 500.

Files are written under a temporary name and renamed, so a killed run never leaves
half an HParams record; `sync_tensorboard` (re)writes whatever a run lacks.
"""

import hashlib
import math
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from google.protobuf import struct_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from kt_toolkit._events import EventWriter
from kt_toolkit._io import read_json
from kt_toolkit.config.knobs import BUILDERS, builder_knobs
from kt_toolkit.config.knobs import is_custom_builder
from kt_toolkit.config.tasks import TASKS, logged_metrics
from kt_toolkit.rundir.keras_tuner_project import space_spec
from kt_toolkit.rundir.layout import ORACLE_FILE, TENSORBOARD_DIR, project_dir, trial_logdir
from kt_toolkit.rundir.study import Domain
from kt_toolkit.rundir.table import TAIL_COLUMNS, TRIAL_COLUMNS

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

__all__ = ["experiment_summary", "metric_tag", "session_summaries", "sync_tensorboard"]

METRIC_PREFIX = "hparams/"
TICKED_COLUMNS = 5  # the HParams table ticks its first 5 knobs (TensorBoard 2.21)
_EXTRA_METRICS = ("epochs_run", "seconds")
_STATUS = {"COMPLETED": api_pb2.STATUS_SUCCESS, "FAILED": api_pb2.STATUS_FAILURE,
           "STOPPED": api_pb2.STATUS_UNKNOWN,
           "PRUNED": api_pb2.STATUS_UNKNOWN}  # stopped early (B2): HParams has no such status


def metric_tag(name: str) -> str:
    """The scalar tag under which a trial's HParams score `name` is stored."""
    return METRIC_PREFIX + name


def _plugin_summary(tag, plugin_data):
    content = plugin_data_pb2.HParamsPluginData(**plugin_data)
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=metadata.create_summary_metadata(content),
        tensor=metadata.NULL_TENSOR)])


def _hparam_info(domain):
    info = api_pb2.HParamInfo(name=domain.name, display_name=domain.name)
    if domain.kind in ("float", "int"):
        info.type = api_pb2.DATA_TYPE_FLOAT64
        info.domain_interval.min_value = float(domain.min)
        info.domain_interval.max_value = float(domain.max)
        return info
    values = list(domain.values)  # choices, or a fixed knob's one value
    if all(isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_BOOL
        info.domain_discrete.extend(values)
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_FLOAT64
        info.domain_discrete.extend([float(v) for v in values])
    else:
        info.type = api_pb2.DATA_TYPE_STRING
        info.domain_discrete.extend([str(v) for v in values])
    return info


def _hp_value(value):
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, (int, float)):
        return {"number_value": float(value)}
    return {"string_value": str(value)}


def _metric_names(study):
    """The objective first, then the task's other train and validation scores."""
    if study.task in TASKS and not is_custom_builder(study.record.get("builder") or ""):
        names = list(logged_metrics(study.task, study.objective))
    else:  # a model of your own, or a run without run.json: what its trials recorded
        names = []
        for row in study.rows:
            names.extend(key[len("metric:"):] for key in row if key.startswith("metric:")
                         and key != "metric:learning_rate"
                         and key[len("metric:"):] not in names)
    if study.objective not in names:
        names.append(study.objective)
    names.sort(key=lambda name: (name != study.objective, not name.startswith("val_"), name))
    return names + list(_EXTRA_METRICS)


# The HParams table ticks its first few columns: the knobs that matter most first
# (C2's influence order), the rest in the space's order.
_COLUMN_ORDER = ("learning_rate", "optimizer", "units", "filters", "num_layers",
                 "num_blocks", "batch_size", "dropout", "lr_schedule", "regularizer", "l2",
                 "l1", "activation", "kernel_initializer", "batch_norm", "momentum")


def _parents(study):
    """knob → (parent knob, parent values that enable it), for kt_toolkit's builders."""
    builder = ((study.config.get("model") or {}).get("builder")
               or study.record.get("builder"))
    if builder not in BUILDERS:
        return {}
    return {knob.name: knob.parent for knob in builder_knobs(builder) if knob.parent}


def _reachable(domains, parents, name):
    """Whether some value of the parent knobs can switch `name` on (e.g. no
    `decay_factor` while `lr_schedule` is fixed to constant)."""
    while name in parents:
        parent, enabling = parents[name]
        domain = domains.get(parent)
        if domain is not None and domain.kind in ("choice", "fixed") and not (
                set(domain.values) & set(enabling)):
            return False
        name = parent
    return True


def _logged_knobs(study, domains=None):
    """The knobs the search varies, most influential first, then Hyperband's budget.

    A knob with one value (fixed, or a one-value choice) is the same in every row:
    as an HParams column it only pushed the tuned knobs and the objective off screen.
    `domains`: `_domains(study)`, when the caller has it already.
    """
    parents = _parents(study)
    domains = _domains(study) if domains is None else domains
    tuned = [name for name, domain in domains.items() if domain.is_tuned
             and _reachable(domains, parents, name)]
    rank = {name: index for index, name in enumerate(_COLUMN_ORDER)}
    knobs = sorted(tuned, key=lambda name: (rank.get(name, len(rank)), tuned.index(name)))
    if (study.config.get("tuner") or {}).get("algorithm") == "hyperband":
        knobs.append("tuner/epochs")  # a Hyperband trial's epoch budget
    return knobs


def _domains(study):
    """`study.domains`, and the hyperparameters trials declared beyond it.

    A HyperModel of your own can declare hyperparameters in its `fit` (e.g.
    `batch_size`): the space found at the start (`model.space`) lacks them, while
    the trials' rows and KerasTuner's `oracle.json` have them.
    """
    domains = dict(study.domains)
    later = []
    for row in study.rows:
        later.extend(key for key in row if key not in domains and key not in later
                     and key not in TRIAL_COLUMNS and key not in TAIL_COLUMNS
                     and not key.startswith(("metric:", "tuner/")))
    if not later:
        return domains
    oracle = read_json(os.path.join(project_dir(study.run_dir), ORACLE_FILE), default={})
    known = space_spec(((oracle or {}).get("hyperparameters") or {}).get("space") or [])
    for name in later:
        seen = tuple(dict.fromkeys(row[name] for row in study.rows
                                   if row.get(name) is not None))
        spec = known.get(name) or {"values": list(seen)}  # not saved yet: the values seen
        domains[name] = Domain.from_spec(name, spec)
    return domains


def experiment_summary(study: "Study") -> summary_pb2.Summary:
    """The HParams experiment: every tuned knob with its domain, and the scores."""
    max_epochs = (study.config.get("tuner") or {}).get("max_epochs") or 1
    domains = _domains(study)
    infos = [_hparam_info(domains.get(name) or Domain(name, "int", min=1, max=max_epochs))
             for name in _logged_knobs(study, domains)]
    # TensorBoard lists the knobs marked `differs` first (then by name) and ticks
    # the first few: mark the most influential ones, so those are the columns shown.
    for info in infos[:TICKED_COLUMNS]:
        info.differs = True
    metric_infos = []
    for name in _metric_names(study):
        label = name if name in _EXTRA_METRICS else f"{name} (best epoch)"
        if name == study.objective:
            label = f"{name} (objective, {study.direction})"
        metric_infos.append(api_pb2.MetricInfo(
            name=api_pb2.MetricName(tag=metric_tag(name)), display_name=label))
    experiment = api_pb2.Experiment(
        description=f"kt_toolkit run {os.path.basename(study.run_dir)}: objective "
                    f"{study.objective} ({study.direction})",
        hparam_infos=infos, metric_infos=metric_infos)
    return _plugin_summary(metadata.EXPERIMENT_TAG, {"experiment": experiment})


def session_summaries(study: "Study", row: Mapping[str, Any], *,
                      knobs: Optional[list] = None
                      ) -> tuple[summary_pb2.Summary, summary_pb2.Summary, dict[str, float]]:
    """`(start, end, scores)` for one finished trial: its HParams session.

    `knobs`: the study's logged knobs, when the caller writes several sessions (they
    are read off every row, so computed once for all).
    """
    meta = study.meta(row["trial_id"])
    end_time = meta.get("finished_at") or time.time()
    start_time = meta.get("started_at") or end_time - float(row.get("seconds") or 0)
    # No group name: TensorBoard then groups by the session's run path
    # (`<run>/tensorboard/<trial>`), unique even when --logdir holds several runs.
    start = plugin_data_pb2.SessionStartInfo(start_time_secs=start_time)
    for name in _logged_knobs(study) if knobs is None else knobs:
        if row.get(name) is not None:
            start.hparams[name].CopyFrom(_struct_value(row[name]))
    end = plugin_data_pb2.SessionEndInfo(status=_STATUS.get(row["status"],
                                                            api_pb2.STATUS_UNKNOWN),
                                         end_time_secs=end_time)
    scores = {}
    if row["status"] in ("COMPLETED", "PRUNED"):  # a pruned trial's: the best it reached
        for name in _metric_names(study):
            value = row.get(name) if name in _EXTRA_METRICS else row.get(f"metric:{name}")
            if name == study.objective:
                value = row["objective"]
            if value is not None and math.isfinite(float(value)):
                scores[metric_tag(name)] = float(value)
    return (_plugin_summary(metadata.SESSION_START_INFO_TAG, {"session_start_info": start}),
            _plugin_summary(metadata.SESSION_END_INFO_TAG, {"session_end_info": end}),
            scores)


def _struct_value(value):
    return struct_pb2.Value(**_hp_value(value))


def _has_file(logdir, suffix):
    try:
        return any(name.endswith(suffix) and "tfevents" in name and not name.startswith(".")
                   for name in os.listdir(logdir))
    except FileNotFoundError:
        return False


def sync_tensorboard(study: "Study") -> list[str]:
    """Writes the HParams experiment (again when it changed) and each finished
    trial's session (once).

    Safe to call after every trial, on resume and from `kt-toolkit report`: what
    is already there is left alone; what a killed run missed is added.

    Args:
        study: A `kt_toolkit.rundir.Study`.

    Returns:
        The list of trial ids whose sessions were written now.
    """
    _sync_experiment(os.path.join(study.run_dir, TENSORBOARD_DIR), experiment_summary(study))
    written, knobs = [], None
    for row in study.rows:
        logdir = trial_logdir(study.run_dir, row["trial_id"])
        if row["status"] not in _STATUS or _has_file(logdir, ".session"):
            continue
        knobs = _logged_knobs(study) if knobs is None else knobs
        start, end, scores = session_summaries(study, row, knobs=knobs)
        step = int(row.get("best_epoch") or row.get("epochs_run") or 0)
        with EventWriter(logdir, suffix=".session", atomic=True) as writer:
            writer.summary(start, step=0)
            if scores:
                writer.scalars(step, scores)
            writer.summary(end, step=step)
        written.append(row["trial_id"])
    return written


def _sync_experiment(root, summary):
    """Writes the HParams experiment `summary` unless it is there, then removes the
    experiments it replaces.

    The file name holds a digest of the experiment: when the trials declare a
    hyperparameter the space lacked (a HyperModel's own `fit`), or log a new
    metric, the experiment is written again with it.
    """
    digest = hashlib.sha1(summary.SerializeToString(deterministic=True)).hexdigest()[:12]
    suffix = f".{digest}.experiment"
    if not _has_file(root, suffix):
        with EventWriter(root, suffix=suffix, atomic=True) as writer:
            writer.summary(summary)
    try:
        names = sorted(name for name in os.listdir(root) if "tfevents" in name
                       and name.endswith(".experiment") and not name.startswith("."))
    except FileNotFoundError:
        return
    # Older experiments go; of two processes' copies of this one (parallel workers
    # syncing at once) the first by name stays, whichever process looks.
    kept = next((name for name in names if name.endswith(suffix)), None)
    for name in names:
        if name != kept:
            try:
                os.remove(os.path.join(root, name))
            except FileNotFoundError:
                pass  # another process removed it first
