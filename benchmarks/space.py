"""Which values of the search space train at all? (issue 12, part 1)

    python benchmarks/space.py                      # 4 tasks x 48 trials, 20 epochs
    python benchmarks/space.py --trials 16 --tasks wine   # a quick look
    python benchmarks/space.py --space default      # the shipped default space instead
    python benchmarks/space.py --directory D --reuse    # re-read finished runs in D
    python benchmarks/space.py --save space_wide   # + benchmarks/results/space_wide.json

Runs a quasi-random search (even coverage of every knob) over a search space on each
bundled task (`digits`, `wine`, `breast_cancer`, `diabetes`; the task's default
objective, nothing pruned) and reads `trials.csv` back. For every value of every
choice knob, and every decade of every log-scaled knob, it prints how many trials
drew it, the share of those at chance level (the same rule as `benchmarks/race.py`:
within 5 % of the range above chance, or a loss >= 95 % of the chance loss), and
their median score relative to the task's best trial (1.0 = as good as the best).

It then replays the chance rule (`training.callbacks.chance_pruning`, B2/C4) on
every trial's recorded epochs, for several `epochs`/`margin` settings: how many
trials it would have stopped, how many of those were false stops (trials that
ended above chance level), and the share of epochs it would have saved. That is
the measurement behind turning the rule on by default (issue 12, part 4).

`--space wide` (the default) is the MLP space kt_toolkit shipped before issue 12:
every optimizer including adagrad and adadelta, learning rates 1e-5 to 1, L1/L2 up
to 10, zeros and small random initializers, all schedules. The table is the
evidence for the default ranges now shipped (`--space default` checks them).
"""

import argparse
import os
import statistics
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TASKS = {"digits": "multiclass", "wine": "multiclass", "breast_cancer": "binary",
         "diabetes": "regression"}
WIDE = {  # the default MLP space before issue 12
    "optimizer": {"values": ["adam", "adamw", "nadam", "sgd", "rmsprop", "adagrad",
                             "adadelta"], "default": "adam"},
    "learning_rate": {"min": 1e-5, "max": 1.0, "sampling": "log", "default": 1e-3},
    "regularizer": {"values": ["none", "l1", "l2", "l1_l2"], "default": "l2"},
    "l1": {"min": 1e-6, "max": 10.0, "sampling": "log", "default": 1e-4},
    "l2": {"min": 1e-6, "max": 10.0, "sampling": "log", "default": 1e-4},
    "kernel_initializer": {"values": ["glorot_uniform", "he_normal", "random_uniform",
                                      "random_normal", "zeros"], "default": "glorot_uniform"},
    "lr_schedule": {"values": ["constant", "exponential", "step", "multistep", "cosine",
                               "noam"], "default": "constant"},
    "dropout": {"min": 0.0, "max": 0.7, "step": 0.1, "default": 0.5},
}
LOG_KNOBS = ("learning_rate", "l1", "l2", "weight_decay")
CHOICE_KNOBS = ("optimizer", "kernel_initializer", "regularizer", "lr_schedule",
                "activation", "num_layers", "units", "dropout", "batch_norm")


def _rundir(path):
    from kt_toolkit.rundir import RunDirectory

    return RunDirectory(path)


def run_task(name, space, trials, epochs, folder, seed, reuse=False):
    """One quasi-random search on a bundled task: rows, chance, maximize, objective, run."""
    from kt_toolkit.config import config_from_dict, tasks
    from kt_toolkit.data import load_dataset
    from kt_toolkit.experiment import run_experiment
    from kt_toolkit.pruning import chance_level

    config = config_from_dict({
        "experiment": {"name": f"space_{name}", "seed": seed},
        "data": {"dataset": name},
        "model": {"builder": "mlp", "space": space},
        "tuner": {"algorithm": "quasi_random", "max_trials": trials, "seed": seed},
        "training": {"epochs": epochs, "callbacks": {"chance_pruning": False,
                                                     "median_pruning": False}},
        "output": {"directory": folder, "report": False}})
    runs = sorted(entry for entry in (os.listdir(folder) if reuse and os.path.isdir(folder)
                                      else []) if os.path.isfile(os.path.join(
                                          folder, entry, "trials.csv")))
    if runs:  # the run found there, whatever defaults made it
        from kt_toolkit._io import read_csv

        run_dir = os.path.join(folder, runs[0])
        rows = read_csv(os.path.join(run_dir, "trials.csv"))
    else:
        result = run_experiment(config, overwrite=True)
        rows, run_dir = result.trials, result.run_dir
    task = TASKS[name]
    objective, direction = tasks.resolve_objective("auto", "auto", task)
    data = load_dataset(config.data, seed=seed)
    return rows, chance_level(objective, task, data.y_val), direction == "max", objective, run_dir


RULES = ((3, 0.05), (5, 0.05), (3, 0.02), (2, 0.05))  # (epochs, margin) replayed


def replay_rule(records, epochs, margin):
    """The chance rule (`epochs`, `margin`) replayed on every record's recorded epochs.

    Returns a dict: `stopped`, `false` (stopped, yet ended above chance), `lost` (each
    false stop's score / its task's best), `missed` (dead trials not stopped),
    `saved` and `total` epochs.
    """
    from kt_toolkit.pruning import chance_decision

    stopped = false = missed = saved = total = 0
    lost = []
    for record in records:
        values = record["curve"]
        total += len(values)
        best = first = None
        for epoch, value in enumerate(values, start=1):
            if not np.isfinite(value):
                break
            first = value if epoch == 1 else first
            best = value if best is None else (max(best, value) if record["maximize"]
                                               else min(best, value))
            reason = chance_decision(best, first, chance=record["chance"], margin=margin,
                                     direction="max" if record["maximize"] else "min",
                                     epoch=epoch, epochs=epochs,
                                     objective=record["objective"])
            if reason:
                stopped += 1
                false += not record["dead"]
                if not record["dead"]:
                    lost.append(record["relative"])
                saved += len(values) - epoch
                break
        else:
            missed += record["dead"]
    return {"stopped": stopped, "false": false, "lost": lost, "missed": missed,
            "saved": saved, "total": total}


def replay_chance(records):
    """Markdown: the chance rule replayed on every trial's recorded epochs."""
    lines = ["| chance rule (epochs, margin) | stopped | false stops | best false stop "
             "(score / best) | dead trials not stopped | epochs saved |",
             "|---|---|---|---|---|---|"]
    for epochs, margin in RULES:
        rule = replay_rule(records, epochs, margin)
        worst = f"{max(rule['lost']):.2f}" if rule["lost"] else "—"
        lines.append(f"| {epochs}, {margin:g} | {rule['stopped']} of {len(records)} | "
                     f"{rule['false']} | {worst} | {rule['missed']} | "
                     f"{100 * rule['saved'] / max(rule['total'], 1):.0f} % |")
    return "\n".join(lines)


def _at_chance(score, chance, maximize):
    if maximize:
        return score <= chance + 0.05 * (1.0 - chance)
    return score >= 0.95 * chance


def _bucket(knob, value):
    if value in ("", None):
        return None
    if knob in LOG_KNOBS:
        return f"1e{int(np.floor(np.log10(float(value)) + 1e-9)):+d}"
    return str(value)


def summarize(records):
    """Markdown: per knob value, trials, share at chance, median score / best."""
    overall = sum(r["dead"] for r in records) / max(len(records), 1)
    lines = [f"{len(records)} trials; {100 * overall:.0f} % at chance (or failed) overall.", "",
             "| knob | value | trials | at chance | median score / best |", "|---|---|---|---|---|"]
    for knob in LOG_KNOBS + CHOICE_KNOBS:
        groups = {}
        for record in records:
            bucket = _bucket(knob, record["values"].get(knob))
            if bucket is not None:
                groups.setdefault(bucket, []).append(record)
        order = sorted(groups, key=lambda b: float(b[2:]) if knob in LOG_KNOBS else b)
        for bucket in order:
            group = groups[bucket]
            dead = sum(r["dead"] for r in group) / len(group)
            relative = statistics.median(r["relative"] for r in group)
            flag = " **" if dead >= max(2 * overall, 0.2) else ""
            lines.append(f"| {knob} | {bucket} | {len(group)} | {100 * dead:.0f} %{flag} | "
                         f"{relative:.2f} |")
    return "\n".join(lines)


def pair_table(records, row_knob="optimizer", column_knob="learning_rate"):
    """Markdown: share at chance for each (row value, column bucket) pair."""
    cells = {}
    for record in records:
        row = _bucket(row_knob, record["values"].get(row_knob))
        column = _bucket(column_knob, record["values"].get(column_knob))
        if row is not None and column is not None:
            cells.setdefault((row, column), []).append(record["dead"])
    rows = sorted({r for r, _ in cells})
    columns = sorted({c for _, c in cells}, key=lambda b: float(b[2:]))
    lines = [f"| {row_knob} \\ {column_knob} | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row in rows:
        parts = []
        for column in columns:
            dead = cells.get((row, column))
            parts.append(f"{sum(dead)}/{len(dead)}" if dead else "")
        lines.append(f"| {row} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=("wide", "default"), default="wide")
    parser.add_argument("--trials", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--directory", default=None)
    parser.add_argument("--reuse", action="store_true",
                        help="read the finished runs in --directory instead of running again")
    parser.add_argument("--save", default=None, metavar="NAME",
                        help="also write benchmarks/results/NAME.json (every trial's record)")
    args = parser.parse_args(argv)
    folder = args.directory or tempfile.mkdtemp(prefix="kt-space-")
    space = WIDE if args.space == "wide" else {}
    records = []
    for name in [n for n in args.tasks.split(",") if n]:
        if name not in TASKS:
            parser.error(f"--tasks: unknown {name!r}; known: {', '.join(TASKS)}")
        rows, chance, maximize, objective, run_dir = run_task(
            name, space, args.trials, args.epochs, os.path.join(folder, name), args.seed,
            reuse=args.reuse)
        run = _rundir(run_dir)
        done, scores = [], []
        for row in rows:  # a failed trial (NaN loss) learned nothing either
            value = row["objective"]
            score = float(value) if value not in ("", None) else float("nan")
            if row["status"] == "COMPLETED" or not np.isfinite(score):
                done.append(row)
                scores.append(score)
        finite = [s for s in scores if np.isfinite(s)]
        best = max(finite) if maximize else min(finite)
        dead = 0
        for row, score in zip(done, scores):
            failed = not np.isfinite(score)
            curve = [float(epoch.get(objective) or "nan")
                     for epoch in run.history(row["trial_id"])]
            records.append({"task": name, "values": row, "curve": curve, "chance": chance,
                            "maximize": maximize, "objective": objective,
                            "dead": failed or _at_chance(score, chance, maximize),
                            "relative": 0.0 if failed else (score / best if maximize
                                                            else best / score)})
            dead += records[-1]["dead"]
        print(f"{name}: {len(done)} trials, {dead} at chance or failed (chance {chance:.3f}, "
              f"best {best:.4f})", flush=True)
    print(f"\nSpace `{args.space}`, quasi-random, {args.trials} trials per task, "
          f"{args.epochs} epochs, seed {args.seed}; runs in {folder}\n")
    print(summarize(records))
    print("\nAt chance / trials, per optimizer and learning-rate decade:\n")
    print(pair_table(records))
    print("\nThe chance rule replayed on the same trials (false stop: the trial ended "
          "above chance):\n")
    print(replay_chance(records))
    if args.save:
        import _record

        print(_record.save(args.save, {"space": args.space, "trials": args.trials,
                                       "epochs": args.epochs, "records": records},
                           seeds={"experiment.seed": args.seed},
                           conditions="one quasi-random search per task (n=1); no timings"))


if __name__ == "__main__":
    main()
