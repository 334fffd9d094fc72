"""The README's measured numbers, rendered from the results files (issue 18).

    python benchmarks/readme_numbers.py            # rewrite the README's sections
    python benchmarks/readme_numbers.py --check    # exit 1 when one is stale
    python benchmarks/readme_numbers.py --show race-17

Each section of README.md between `<!-- results NAME: begin -->` and
`<!-- results NAME: end -->` is rendered by the function registered here under NAME
from the files in `benchmarks/results/` it names; the benchmark scripts write those
files with `--save`. `tests/test_readme_numbers.py` fails when the README differs
from the rendering, when a section's results file is missing, and when the README
has a marker no renderer knows. Renderers read JSON only (no Keras): to change a
number, rerun its command, then rerun this script.
"""

import argparse
import math
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _record  # noqa: E402

README = os.path.join(_record.REPO, "README.md")
MARKER = re.compile(r"<!-- results ([\w.-]+): begin -->\n(.*?)<!-- results \1: end -->",
                    re.DOTALL)
SECTIONS = {}


def section(name, *files):
    """Registers a renderer of the section `name` from `benchmarks/results/<file>.json`."""
    def register(function):
        SECTIONS[name] = (files, function)
        return function
    return register


def render(name):
    """The section's Markdown, from its results files (FileNotFoundError when one is absent)."""
    files, function = SECTIONS[name]
    return wrap(function(*(_record.load(file) for file in files)))


def sections_in(readme):
    """{name: text} of every results section of the README's text."""
    return {match.group(1): match.group(2) for match in MARKER.finditer(readme)}


def update(readme):
    """The README's text with every results section rendered again."""
    def again(match):
        name = match.group(1)
        return (f"<!-- results {name}: begin -->\n{render(name)}"
                f"<!-- results {name}: end -->")
    return MARKER.sub(again, readme)


def wrap(text, width=88):
    """Reflows the prose of `text` (paragraphs and `- ` bullets) to `width` columns;
    tables, headings and code blocks are left as they are."""
    import textwrap

    out, block = [], []

    def flush():
        if block:
            bullet = block[0].startswith("- ")
            words = " ".join(line.strip() for line in block)
            out.extend(textwrap.wrap(words, width, subsequent_indent="  " if bullet else "",
                                     break_on_hyphens=False, break_long_words=False))
            block.clear()

    # a number and its unit stay on one line ("2 %", "90 s", "73 MB")
    text = re.sub(r"(\d) (%|s\b|MB\b|epochs\b)", "\\1\u00a0\\2", text)
    for line in text.split("\n"):
        if not line.strip() or line.startswith(("|", "#", "```", "<!--")):
            flush()
            out.append(line)
        elif line.startswith("- "):
            flush()
            block.append(line)
        else:
            block.append(line)
    flush()
    return "\n".join(out).replace("\u00a0", " ")


def _seconds(value, budget):
    return f"{value:.0f} s" if math.isfinite(value) else f">{budget} s"


def _span(values, unit=""):
    low, high = min(values), max(values)
    return f"{low:.0f}{unit}" if round(low) == round(high) else f"{low:.0f}–{high:.0f}{unit}"


def _race(record):
    import race

    data = record["data"]
    return race, race.task_stats(data["results"], data["budget"], data["chance"]), \
        data["budget"]


@section("race-17", "race_0171657", "race_f6eea7f")
def race_17(record, before):
    """The race after issues 12 and 17, read against the run before it."""
    race, stats, budget = _race(record)
    _, prior, _ = _race(before)
    seeds = len(record["seeds"])
    tables = race.summarize(record["data"]["results"], budget, record["data"]["chance"])
    others = [t for t in stats if t != "digits"]
    kt_times = [stats[t]["arms"]["kt_toolkit"]["time"] for t in others]
    digits = stats["digits"]["arms"]
    first = digits["kt_toolkit"]["first"]
    target = statistics.median(stats["digits"]["targets"].values())
    classification = [t for t in stats if t != "diabetes"]
    kt_chance = max(stats[t]["arms"]["kt_toolkit"]["at_chance"] for t in classification)
    peer_chance = max(stats[t]["arms"]["keras_tuner"]["at_chance"] for t in classification)
    diabetes = {arm: row["at_chance"] for arm, row in stats["diabetes"]["arms"].items()}
    hb = []
    for task in prior:
        tpe = prior[task]["arms"]["kt_toolkit"]["time"]
        hyperband = prior[task]["arms"]["kt:hyperband"]["time"]
        hb.append(f"{task} {_seconds(tpe, budget)} against {_seconds(hyperband, budget)}")
    return f"""## Measured against the peers (issues 12 and 17)

`{record['command']}` ({budget} s per arm, arms in fresh processes and
interleaved, {record['machine']['cpus']} CPU cores, {record['date']}, commit
{record['commit']}, which made `val_mse` the regression objective; results:
`benchmarks/results/race_0171657.json`): `kt_toolkit` is the 5-line YAML with every
default (TPE, the space above, trial 0 at the defaults, chance pruning); `keras_tuner`
is plain KerasTuner Hyperband over the KerasTuner-docs space; `optuna` is Optuna's TPE
+ MedianPruner over that space. Same split of each bundled task for everyone (diabetes:
standardized targets; kt_toolkit's objective there is `val_mse`, the peers' `val_loss`,
which for them is the same error). Medians over {seeds} seeds; "time to 98 % of best" is
the time until a trial ended within 2 % of the best score any arm reached in that task
and seed (`>{budget} s` when the median seed never got there); "at chance" is the share
of completed trials that learned nothing. Conditions: {record['conditions']}.
{tables}

Read plainly (every number below is computed from the same results file, and the run
before this one from `benchmarks/results/race_f6eea7f.json`, commit {before['commit']}):
- **{', '.join(others)}: kt_toolkit's defaults get there first.** {_span(kt_times, ' s')}
  for kt_toolkit; the peers' medians: """ + "; ".join(
        f"{t} " + ", ".join(f"{arm} {_seconds(stats[t]['arms'][arm]['time'], budget)}"
                            for arm in ("keras_tuner", "optuna")) for t in others) + f""".
- **digits: not first.** To 98 % of the best ({target:.3f}): optuna
  {_seconds(digits['optuna']['time'], budget)}, keras_tuner
  {_seconds(digits['keras_tuner']['time'], budget)}, kt_toolkit
  {_seconds(digits['kt_toolkit']['time'], budget)}. kt_toolkit's first trial (the
  practitioners' defaults: dropout 0.5, Adam at 1e-3, 20 epochs) ended
  {_span([t for t, _ in first], ' s')} after its process started, at
  {min(s for _, s in first):.3f}–{max(s for _, s in first):.3f}, just around the target,
  and its later TPE trials train up to 20 epochs each
  ({digits['kt_toolkit']['completed']:.0f} completed trials against optuna's
  {digits['optuna']['completed']:.0f} with its median pruner). In the run before this one
  (same defaults) it was {_seconds(prior['digits']['arms']['kt_toolkit']['time'], budget)}
  against optuna's {_seconds(prior['digits']['arms']['optuna']['time'], budget)}: on
  digits the target sits within the spread of a single trial. Every arm's time
  includes importing TensorFlow.
- **Trials that learned nothing:** {"none" if kt_chance == 0 else f"at most {kt_chance:.0f} %"}
  of kt_toolkit's on classification, against up to {peer_chance:.0f} % for keras_tuner. On diabetes
  {diabetes['kt_toolkit']:.0f} % of kt_toolkit's trials stayed at the error of
  predicting the mean ({prior['diabetes']['arms']['kt_toolkit']['at_chance']:.0f} % in
  the run before, which still ranked trials on the penalized `val_loss`), against
  {diabetes['optuna']:.0f} % for optuna and {diabetes['keras_tuner']:.0f} % for
  keras_tuner.
- **TPE against Hyperband, both on kt_toolkit's space** (the run before this one,
  `--variant hyperband=tuner.algorithm=hyperband`), time to 98 % of best, TPE's then
  Hyperband's:
  {'; '.join(hb)}. TPE is the default, and `--set tuner.algorithm=hyperband` is one
  line away.
"""


@section("race-baseline", "race_baseline")
def race_baseline(record):
    """The race of kt_toolkit's defaults before issue 12."""
    race, stats, budget = _race(record)
    tables = race.summarize(record["data"]["results"], budget, record["data"]["chance"])
    others = [t for t in stats if t != "digits"]
    peers = [stats["digits"]["arms"][arm]["time"] for arm in ("keras_tuner", "optuna")]
    kt_chance = [stats[t]["arms"]["kt_toolkit"]["at_chance"] for t in stats]
    optuna_chance = [stats[t]["arms"]["optuna"]["at_chance"] for t in stats]
    return f"""## Measured against the peers: the baseline before issue 12

`{record['command']}` ({budget} s per arm, {len(record['seeds'])} seeds, arms in fresh
processes and interleaved; {record['machine']['cpus']} CPU cores; {record['date']}, commit
{record['commit']}; results: `benchmarks/results/race_baseline.json`) raced kt_toolkit's
defaults before issue 12 (a 5-line YAML: the old default MLP space and Hyperband)
against plain KerasTuner Hyperband over the KerasTuner-docs space and Optuna TPE +
MedianPruner over the same space, on the same split of each bundled task. Medians over
seeds. "time to 98 % of best" is the time to 98 % of the best score any arm reached in
that task and seed (for a loss, within 2 %); "at chance" is the share of completed
trials that scored at chance level. This was the baseline that the defaults above had
to beat. kt_toolkit's regression `val_loss` still included its L1/L2 penalty then
(issue 17), so its diabetes numbers are pessimistic.
{tables}

Read plainly: on digits the peers reach a good model sooner ({_span(peers, ' s')}
against {_seconds(stats['digits']['arms']['kt_toolkit']['time'], budget)}); on
{', '.join(others)} kt_toolkit's defaults get there first. But {_span(kt_chance, ' %')}
of its completed trials learned nothing, against {_span(optuna_chance, ' %')} for Optuna.
"""


@section("hyperband-schedules", "hyperband_schedules")
def hyperband_schedules(record):
    """Promotion by schedule, restarted vs continued (issue 17)."""
    from collections import defaultdict

    counts = {arm: defaultdict(lambda: [0, 0]) for arm in ("before", "after")}
    bests = {arm: defaultdict(list) for arm in ("before", "after")}
    for result in record["data"]["results"]:
        trials = result["trials"]
        parents = {t["parent"] for t in trials.values() if t["parent"]}
        for trial_id, trial in trials.items():
            if trial["round"] == 0 and trial["bracket"] >= 1:
                counts[result["arm"]][trial["schedule"]][0] += 1
                counts[result["arm"]][trial["schedule"]][1] += trial_id in parents
        scores = [t["score"] for t in trials.values() if t["score"] is not None]
        bests[result["arm"]][result["task"]].append(max(scores))
    rows = []
    for schedule in sorted(counts["before"]):
        first, restarted = counts["before"][schedule]
        _, continued = counts["after"][schedule]
        rows.append(f"| {schedule} | {first} | {restarted} ({100 * restarted / first:.0f} %) "
                    f"| {continued} ({100 * continued / first:.0f} %) |")
    medians = []
    for task in sorted(bests["before"]):
        before = statistics.median(bests["before"][task])
        after = statistics.median(bests["after"][task])
        medians.append(f"{before:.4f} → {after:.4f} on {task}" if before != after
                       else f"{before:.4f} on {task} either way")
    tasks = " and ".join(sorted(bests["before"]))
    return f"""`python benchmarks/hyperband_schedules.py --before
<checkout without the change> --seeds {len(record['seeds'])}` ({tasks}, Hyperband max_epochs 20,
factor 3, the same configurations in both arms; {record['date']}, results:
`benchmarks/results/hyperband_schedules.json`) measured whether the restart had
favoured schedule trials in the first round:

| schedule | first-round trials | promoted, restarted each round | promoted, continued |
|---|---|---|---|
{chr(10).join(rows)}

The median best score was {'; '.join(medians)}.
"""


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
    return f"""On digits (random search, {data['trials']} trials of up to {data['epochs']} epochs,
`{record['command']}`, {record['date']}, results: `benchmarks/results/pruning.json`)
median pruning trained {epochs_median:.0f} epochs instead of {epochs_off:.0f}
({'the same counts in each of' if same else 'medians of'} {data['repeats']} interleaved
repeats; chance pruning off in both arms) for {best}, pruning {_counts(median['pruned'])}
of {median['trials']} trials. The trials' time fell {fell:.0f} % (medians, {off['trial_seconds']:.0f} s
→ {median['trial_seconds']:.0f} s; {record['conditions']}): each small model's first
epoch (tracing) weighs more than the epochs pruning saves.
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
    return f"""(Measured, `{record['command']}`, {record['date']}, results:
`benchmarks/results/proxy_check.json`: digits, {data['trials']} random trials on
{data['subsample']} of {runs[0]['training_samples']:,} training samples, {data['epochs']}
epochs, the top {data['top_k']} retrained on all of them: ρ = {each} for
`experiment.seed` {', '.join(str(run['seed']) for run in runs)}{median}.)
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
between it and the fine stage (one seed, n=1).
"""


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="rewrite nothing; exit 1 when a section differs")
    parser.add_argument("--show", metavar="NAME", help="print one section's rendering")
    args = parser.parse_args(argv)
    if args.show:
        print(render(args.show), end="")
        return 0
    with open(README, encoding="utf-8") as handle:
        readme = handle.read()
    fresh = update(readme)
    if args.check:
        stale = [name for name, text in sections_in(readme).items() if render(name) != text]
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    if fresh != readme:
        with open(README, "w", encoding="utf-8") as handle:
            handle.write(fresh)
    print(f"{len(sections_in(fresh))} sections rendered into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
