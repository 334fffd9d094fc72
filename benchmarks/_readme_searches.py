"""README sections rendered from the searches' results files (pruning, proxy check,
stages, L2 prior, search space, chance rule, overhead, experiments)."""

import statistics

from _readme import section


@section("pruning", "pruning")
def pruning(record):
    """Median pruning on and off (B2)."""
    import pruning as bench

    data = record["data"]
    rows = {row["arm"]: row for row in bench.summarize(data["runs"])}
    off, median = rows["off"], rows["median"]
    epochs_off, epochs_median = (statistics.median(off["epochs"]),
                                 statistics.median(median["epochs"]))
    same = len(set(off["epochs"])) == 1 and len(set(median["epochs"])) == 1
    fell = 100 * (1 - median["trial_seconds"] / off["trial_seconds"])
    best = (f"the same best score ({off['best']:.4f})" if off["best"] == median["best"]
            else f"a best score of {median['best']:.4f} against {off['best']:.4f}")
    timing = (f"The trials' time fell {fell:.0f} %" if fell > 0 else
              "The trials' time did not fall")
    return f"""On digits (random search, {data['trials']} trials of up to {data['epochs']} epochs,
`{record['command']}`, {record['date']}, results: `benchmarks/results/pruning.json`)
median pruning trained {epochs_median:.0f} epochs instead of {epochs_off:.0f}
({'the same counts in each of' if same else 'medians of'} {data['repeats']} interleaved
repeats; chance pruning off in both arms) for {best}, pruning {_counts(median['pruned'])}
of {median['trials']} trials. {timing} (medians, {off['trial_seconds']:.0f} s →
{median['trial_seconds']:.0f} s; {record['conditions']}). A small model's first epoch
(tracing) costs more than its later ones, so the epochs saved save less time than their
share.
"""


def _counts(values):
    return str(values[0]) if len(set(values)) == 1 else "–".join(
        map(str, (min(values), max(values))))


@section("proxy-check", "proxy_check")
def proxy_check(record):
    """The proxy check's ρ on a small subsample (D1)."""
    data = record["data"]
    runs = data["runs"]
    rhos = [run["rho"] for run in runs]
    each = ", ".join(f"{rho:.2f}" if rho is not None else "none" for rho in rhos)
    known = [rho for rho in rhos if rho is not None]
    median = f"; median {statistics.median(known):.2f}" if len(known) > 1 else ""
    spread = ""
    if len(known) > 1 and max(known) - min(known) >= 0.3:
        spread = (f" Over {data['top_k']} trials ρ moves that much from one seed to the next: "
                  "retrain more of them (`--proxy-top-k`) before acting on it.")
    return f"""(Measured, `{record['command']}`, {record['date']}, results:
`benchmarks/results/proxy_check.json`: digits, {data['trials']} random trials on
{data['subsample']} of {runs[0]['training_samples']:,} training samples, {data['epochs']}
epochs, the top {data['top_k']} retrained on all of them: ρ = {each} for
`experiment.seed` {', '.join(str(run['seed']) for run in runs)}{median}.){spread}
"""


@section("stages", "stages")
def stages(record):
    """Coarse to fine on digits, with the fine stage's control (C3)."""
    data = record["data"]
    coarse, fine, control = data["rows"]
    changed = [f"{knob} in {fine['space'][knob]} instead of {coarse['space'][knob]}"
               for knob in coarse["space"] if coarse["space"][knob] != fine["space"][knob]]
    return f"""`kt-toolkit tune experiments/digits_stages.yaml` (`{record['command']}` runs it
and a control; {record['date']}, results: `benchmarks/results/stages.json`): the coarse
stage ({coarse['trials']} {coarse['algorithm']} trials, {coarse['epochs']} epochs)
reached val_accuracy {coarse['best']:.4f}; the fine stage searched
{'; '.join(changed)} (around the top {data['top_k']}), and reached {fine['best']:.4f}
({fine['trials']} {fine['algorithm']} trials, {fine['epochs']} epochs). The control, the
same {control['trials']} {control['algorithm']} trials and epochs over the coarse stage's
wide ranges, reached {control['best']:.4f}: the narrowing is the only difference
between it and the fine stage (one seed, n=1).{_retrained(coarse, fine)}
"""


def _retrained(coarse, fine):
    """A sentence when the fine stage's best trial is the coarse winner trained again."""
    def trial(row, trial_id):
        return next(t for t in row["table"] if t["trial_id"] == trial_id)

    knobs = list(coarse["space"])
    winner, best = trial(coarse, coarse["best_trial"]), trial(fine, fine["best_trial"])
    if any(winner[k] != best[k] for k in knobs):
        return ""
    others = [float(t["objective"]) for t in fine["table"]
              if t["trial_id"] != fine["best_trial"] and t["objective"] not in ("", None)]
    return (f" But the fine stage's best trial is the coarse stage's best configuration "
            f"trained again (a narrowed space starts from it): the same settings scored "
            f"{float(winner['objective']):.4f} and {float(best['objective']):.4f} with other "
            f"initial weights. The fine stage's other {len(others)} trials reached at most "
            f"{max(others):.4f}, so this run shows the spread of one configuration, not a "
            f"better one found by narrowing.")


def _strength(value):
    return "none" if value is None else f"{value:g}"


@section("l2-prior", "l2_prior")
def l2_prior(record):
    """The default MLP on digits at four L2 strengths (E11)."""
    rows = record["data"]["rows"]
    each = ", ".join(f"{row['val_accuracy']:.3f} ({_strength(row['l2'])})" for row in rows)
    return f"""Measured with `{record['command']}` (default MLP, digits,
{record['data']['epochs']} epochs, one fit each; {record['date']}, results:
`benchmarks/results/l2_prior.json`): validation accuracy {each}.
"""


def _group(records, knob, bucket):
    """(trials, share at chance in %) of the records whose `knob` falls in `bucket`."""
    import space

    group = [r for r in records if space._bucket(knob, r["values"].get(knob)) == bucket]
    return len(group), (100 * sum(r["dead"] for r in group) / len(group) if group else 0)


def _classification(record):
    return [r for r in record["data"]["records"] if r["task"] != "diabetes"]


@section("space", "space_wide", "space_default")
def space_values(wide, default):
    """Which values of the old wide space trained (issue 12, part 1)."""
    rows = wide["data"]["records"]
    old = _classification(wide)
    dead = sum(r["dead"] for r in old)
    cells = []
    for label, pairs in (
            ("`kernel_initializer: zeros`", [("kernel_initializer", "zeros")]),
            ("`learning_rate` in 1e-5 – 1e-4", [("learning_rate", "1e-5")]),
            ("`learning_rate` in 1e-4 – 1e-3", [("learning_rate", "1e-4")]),
            ("`l2` in 1 – 10", [("l2", "1e+0")]),
            ("`optimizer: adadelta` / `adagrad`", [("optimizer", "adadelta"),
                                                   ("optimizer", "adagrad")]),
            ("`dropout: 0.6`" + (" (0.7 was never drawn)" if not _group(rows, "dropout", "0.7")[0]
                                 else ""), [("dropout", "0.6")]),
            ("`lr_schedule: cosine` / `exponential`", [("lr_schedule", "cosine"),
                                                       ("lr_schedule", "exponential")])):
        stats = [_group(rows, knob, bucket) for knob, bucket in pairs]
        cells.append(f"| {label} | {' / '.join(str(n) for n, _ in stats)} | "
                     f"{' / '.join(f'{share:.0f} %' for _, share in stats)} |")
    new = _classification(default)
    new_dead = [r for r in new if r["dead"]]
    sgd = sum(r["values"].get("optimizer") == "sgd" for r in new_dead)
    clean = [t for t in dict.fromkeys(r["task"] for r in new)
             if not any(r["dead"] for r in new if r["task"] == t)]
    return f"""On the space kt_toolkit shipped before (`--space wide`: every optimizer,
learning rates 1e-5 to 1, L1/L2 up to 10, zeros and small random initializers, every
schedule; {wide['data']['trials']} trials per task, {wide['data']['epochs']} epochs, one
search per task; results: `benchmarks/results/space_wide.json`), {dead} of the
{len(old)} classification trials ({100 * dead / len(old):.0f} %) learned nothing. The
values that left the default range, each because most of its trials died:

| value (wide space) | trials | at chance |
|---|---|---|
{chr(10).join(cells)}

(All four tasks; the regression task is in raw target units there, see below.) SGD was
dropped after the check of the new space (`--space default`,
{default['data']['trials']} trials per task; results:
`benchmarks/results/space_default.json`): {sgd} of the {len(new_dead)} classification
trials at chance were SGD, which wants a learning rate of 1e-2 or more. With the
default space, {len(new_dead)} of {len(new)} classification trials
({100 * len(new_dead) / len(new):.0f} %) ended at chance, 0 on {' and '.join(clean)}.
"""


@section("chance-replay", "space_wide")
def chance_replay(wide):
    """The chance rule replayed on the wide space's recorded epochs (issue 12, part 4)."""
    import space

    old = _classification(wide)
    rule = space.replay_rule(old, 5, 0.05)
    lost = (f"; the best of those reached {max(rule['lost']):.2f} of its task's best score"
            if rule["lost"] else "")
    return f"""Replayed on the recorded epochs of the {len(old)} classification trials of the
wide space (`benchmarks/results/space_wide.json`), the rule (5 epochs, margin 0.05)
stopped {rule['stopped']}, of which {rule['false']} ended above chance{lost}, and
saved {100 * rule['saved'] / rule['total']:.0f} % of their epochs.
"""


@section("space-diabetes", "space_default")
def space_diabetes(default):
    """How many regression trials of the default space stayed at chance in raw units."""
    rows = [r for r in default["data"]["records"] if r["task"] == "diabetes"]
    dead = sum(r["dead"] for r in rows)
    return f"""targets in raw units (`diabetes`: the validation targets' variance, the
error of predicting their mean, is {rows[0]['chance']:.0f}) left {dead} of {len(rows)}
trials of the default space at chance (`python benchmarks/space.py --space default`;
`benchmarks/results/space_default.json`).
"""


@section("overhead", "overhead")
def overhead(record):
    """Seconds per trial outside `fit`, and the report's time (issue 12, part 6)."""
    import overhead as bench

    data = record["data"]
    stats = bench.arm_stats(data["rounds"])
    names = {"bare": "bare `fit` loop", "keras_tuner": "plain KerasTuner"}
    before = next(arm for arm in stats if arm.startswith("kt_toolkit@"))
    rows = []
    for arm, label in [("bare", names["bare"]), ("keras_tuner", names["keras_tuner"]),
                       (before, "kt_toolkit before"), ("kt_toolkit", "kt_toolkit after")]:
        row = stats[arm]
        cells = [f"{row['per_trial']:.2f}", f"×{row['ratio']:.3f}", f"{row['cpu_outside']:.3f}",
                 "" if row["finish"] is None else f"{row['finish']:.2f}",
                 "" if row["report"] is None else f"{row['report']:.2f}"]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    reports = {entry["arm"]: entry for entry in data["report"]["checkouts"]}
    drawer = stats["kt_toolkit"]["children_cpu"] / data["trials"]
    return f"""Measured against kt_toolkit just before this work (`{record['command']}`, medians;
{record['conditions']}; {record['date']}, after = commit {record['commit']}; results:
`benchmarks/results/overhead.json`):

| arm | s / trial | × bare fit | outside `fit`, CPU s / trial | finish s | report s |
|---|---|---|---|---|---|
{chr(10).join(rows)}

The background drawer of the curve PNGs took {drawer:.1f} s of CPU per trial there.
`kt-toolkit report` on a {data['report']['trials']}-trial run took
{reports['kt_toolkit']['warm']:.1f} s ({reports[before]['warm']:.0f} s before) when its
figures existed, and {reports['kt_toolkit']['cold']:.0f} s on a copy without its figures
(a run made with `output.report: false` draws its {data['report']['trials']} curves on
its first report).
"""


@section("experiments", "experiments")
def experiments(record):
    """What the shipped experiment files reached, one run each."""
    parts = [f"`{row['file']}` best {row['objective']} {row['best']:.4f} (trial "
             f"{row['best_trial']} of {row['trials']}, {row['seconds'] / 60:.1f} min)"
             for row in record["data"]["rows"]]
    return f"""Measured with `{record['command']}` ({record['date']}, commit {record['commit']};
{record['conditions']}; results: `benchmarks/results/experiments.json`): {'; '.join(parts)}.
"""
