"""The race: kt_toolkit's defaults against the peers, same wall budget (issue 12).

    python benchmarks/race.py                              # 4 tasks x 3 arms x 3 seeds, 90 s each
    python benchmarks/race.py --budget 30 --seeds 1 --tasks wine   # a quick look
    python benchmarks/race.py --variant hb=tuner.algorithm=hyperband   # + a kt_toolkit variant
    python benchmarks/race.py --seeds 3 --save race_NAME   # + benchmarks/results/race_NAME.json

Arms, each a fresh process, interleaved (the arm order rotates with the seed):

- `kt_toolkit`: `kt-toolkit tune` on a 5-line YAML (the default MLP space, the default
  algorithm and callbacks);
- `keras_tuner`: plain `keras_tuner.Hyperband` over the space of the KerasTuner docs
  (1-3 Dense layers, units 32-512 step 32, relu, dropout 0-0.5, Adam with learning
  rate 1e-2 / 1e-3 / 1e-4, EarlyStopping patience 5, max_epochs 20, factor 3);
- `optuna`: Optuna's `TPESampler` + `MedianPruner` over the same space, each trial
  up to 20 epochs with the same EarlyStopping.

`--variant NAME=KEY=VALUE[,KEY=VALUE...]` adds a kt_toolkit arm `kt:NAME` run with
those `--set` overrides (e.g. another algorithm), to choose a default by the same race.

Tasks: the bundled `digits`, `wine`, `breast_cancer` (all: val_accuracy) and
`diabetes` (val_loss, the MSE, on standardized targets). Every arm gets the same
split: kt_toolkit's own split (seed 0, inputs standardized on the training part),
written once to an `.npz` file that all three read. Nothing is tuned on anything else.

Each arm is killed at the budget; its timeline is the (seconds since its process
started, score) of every trial that ended. Printed per task, medians over seeds:
the best score at 30/60/90 s (or the budget's thirds), the time to reach 98 % of the
best score any arm reached in that task and seed (for a loss: within 2 % of it;
`>B` when never), the completed trials, and their share at chance level (a trial
scoring within 5 % of the range above chance, or a loss >= 95 % of the chance loss:
`kt_toolkit.pruning.chance_level` of the validation targets).

On `diabetes` kt_toolkit's objective is its default for a regression, `val_mse`: the
error without the L1/L2 penalty that Keras adds to `val_loss` (issue 17). The peers
have no penalty, so their `val_loss` is the same error.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ARMS = ("kt_toolkit", "keras_tuner", "optuna")
TASKS = {"digits": ("multiclass", "val_accuracy"), "wine": ("multiclass", "val_accuracy"),
         "breast_cancer": ("binary", "val_accuracy"), "diabetes": ("regression", "val_loss")}
MAX_EPOCHS = 20
PATIENCE = 5
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def write_task(name, folder):
    """The task's split as an .npz every arm reads (kt_toolkit's split, seed 0)."""
    sys.path.insert(0, REPO)
    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import load_dataset

    data = load_dataset(DataConfig(dataset=name), seed=0)
    y_train, y_val = data.y_train, data.y_val
    if TASKS[name][0] == "regression":  # standardized targets, fitted on the training part
        mean, std = float(np.mean(y_train)), float(np.std(y_train))
        y_train, y_val = (y_train - mean) / std, (y_val - mean) / std
    path = os.path.join(folder, f"{name}.npz")
    np.savez(path, x_train=data.x_train, y_train=y_train, x_val=data.x_val, y_val=y_val)
    return path


def _load(path):
    with np.load(path) as arrays:
        return (arrays["x_train"].astype("float32"), arrays["y_train"],
                arrays["x_val"].astype("float32"), arrays["y_val"])


def _docs_model(hp_int, hp_float, hp_choice, task, x, y):
    """The KerasTuner-docs space, one model (the same for the Hyperband and Optuna arms)."""
    import keras

    model = keras.Sequential([keras.Input(x.shape[1:])])
    for index in range(hp_int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(hp_int(f"units_{index}", 32, 512, 32), activation="relu"))
    model.add(keras.layers.Dropout(hp_float("dropout", 0.0, 0.5, 0.1)))
    learning_rate = hp_choice("learning_rate", [1e-2, 1e-3, 1e-4])
    if task == "multiclass":
        model.add(keras.layers.Dense(int(np.max(y)) + 1, activation="softmax"))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    elif task == "binary":
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        loss, metrics = "binary_crossentropy", ["accuracy"]
    else:
        model.add(keras.layers.Dense(1))
        loss, metrics = "mse", []
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
    return model


def _log(path, score, status):
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"t": time.time(), "score": score, "status": status}) + "\n")


def run_keras_tuner(task_path, task, objective, seed, folder, log):
    import keras
    import keras_tuner

    x, y, x_val, y_val = _load(task_path)
    direction = "max" if objective == "val_accuracy" else "min"

    def build(hp):
        return _docs_model(lambda n, a, b, s=1: hp.Int(n, a, b, step=s),
                           lambda n, a, b, s: hp.Float(n, a, b, step=s),
                           lambda n, v: hp.Choice(n, v), task, x, y)

    class Logged(keras_tuner.Hyperband):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            score = trial.score
            _log(log, None if score is None else float(score),
                 trial.status if score is not None and np.isfinite(score) else "FAILED")

    tuner = Logged(build, objective=keras_tuner.Objective(objective, direction),
                   max_epochs=MAX_EPOCHS, factor=3, seed=seed, directory=folder,
                   project_name="keras_tuner")
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=MAX_EPOCHS, verbose=0,
                 callbacks=[keras.callbacks.EarlyStopping(monitor=objective, mode=direction,
                                                          patience=PATIENCE)])


def run_optuna(task_path, task, objective, seed, folder, log):
    import keras
    import optuna

    x, y, x_val, y_val = _load(task_path)
    direction = "max" if objective == "val_accuracy" else "min"
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    class Report(keras.callbacks.Callback):
        def __init__(self, trial):
            super().__init__()
            self.trial = trial

        def on_epoch_end(self, epoch, logs=None):
            value = float((logs or {}).get(objective, np.nan))
            self.trial.report(value, epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective_fn(trial):
        keras.utils.set_random_seed(seed * 1000 + trial.number)
        model = _docs_model(lambda n, a, b, s=1: trial.suggest_int(n, a, b, step=s),
                            lambda n, a, b, s: trial.suggest_float(n, a, b, step=s),
                            lambda n, v: trial.suggest_categorical(n, v), task, x, y)
        history = model.fit(x, y, validation_data=(x_val, y_val), epochs=MAX_EPOCHS,
                            verbose=0, callbacks=[
                                Report(trial),
                                keras.callbacks.EarlyStopping(monitor=objective,
                                                              mode=direction,
                                                              patience=PATIENCE)])
        values = [v for v in history.history[objective] if np.isfinite(v)]
        if not values:
            raise ValueError("no finite score")
        return max(values) if direction == "max" else min(values)

    def logged(study, trial):
        state = trial.state.name
        _log(log, trial.value, {"COMPLETE": "COMPLETED", "PRUNED": "PRUNED"}.get(state,
                                                                                "FAILED"))

    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner())
    study.optimize(objective_fn, n_trials=100000, callbacks=[logged],
                   catch=(ValueError, FloatingPointError))


def _kt_config(task_path, name, objective, seed, folder):
    """The 5-line YAML a user writes: dataset, the default builder, space and algorithm."""
    if TASKS[name][0] == "regression":
        objective = "val_mse"  # kt_toolkit's default: the error, without the penalty
    path = os.path.join(folder, "race.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"experiment: {{name: race_{name}, seed: {seed}}}\n"
                     f"data: {{dataset: {task_path}}}\n"
                     f"tuner: {{objective: {objective}, seed: {seed}}}\n"
                     f"output: {{directory: {folder}, run_name: run, report: false}}\n"
                     "model: {builder: mlp}\n")
    return path


def _kt_timeline(folder, started):
    import csv

    run = os.path.join(folder, "run")
    table = os.path.join(run, "trials.csv")
    rows = list(csv.DictReader(open(table))) if os.path.exists(table) else []
    timeline = []
    for row in rows:
        try:
            with open(os.path.join(run, "trials", row["trial_id"], "meta.json")) as handle:
                finished = json.load(handle)["finished_at"]
        except (OSError, ValueError, KeyError):
            continue
        score = float(row["objective"]) if row["objective"] not in ("", None) else None
        timeline.append((finished - started, score, row["status"]))
    return timeline


def run_arm(arm, name, task_path, seed, budget, folder, overrides=()):
    """Runs one arm for `budget` seconds in a fresh process; its timeline."""
    task, objective = TASKS[name]
    log = os.path.join(folder, "timeline.jsonl")
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    kt_arm = arm == "kt_toolkit" or arm.startswith("kt:")
    if kt_arm:
        command = [sys.executable, "-m", "kt_toolkit", "tune",
                   _kt_config(task_path, name, objective, seed, folder), "-q"]
        for override in overrides:
            command += ["--set", override]
    else:
        command = [sys.executable, os.path.abspath(__file__), "--arm", arm, "--task-path",
                   task_path, "--task", name, "--seed", str(seed), "--folder", folder,
                   "--log", log]
    started = time.time()
    with open(os.path.join(folder, "arm.log"), "w") as out:
        # cwd: the arm's folder, so `-m kt_toolkit` runs this checkout's package
        # (PYTHONPATH), not one in the directory the race was started from.
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 cwd=folder, start_new_session=True)
        try:
            child.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    if kt_arm:
        timeline = _kt_timeline(folder, started)
    else:
        timeline = []
        if os.path.exists(log):
            for line in open(log, encoding="utf-8"):
                record = json.loads(line)
                timeline.append((record["t"] - started, record["score"], record["status"]))
    return [entry for entry in timeline if entry[0] <= budget]


def _best_at(timeline, seconds, maximize):
    scores = [s for t, s, status in timeline if t <= seconds and status == "COMPLETED"
              and s is not None and np.isfinite(s)]
    if not scores:
        return None
    return max(scores) if maximize else min(scores)


def _time_to(timeline, target, maximize):
    for t, s, status in sorted(timeline):
        if status == "COMPLETED" and s is not None and np.isfinite(s) and (
                s >= target if maximize else s <= target):
            return t
    return None


def _at_chance(score, chance, maximize):
    if maximize:
        return score <= chance + 0.05 * (1.0 - chance)
    return score >= 0.95 * chance


def chance_of(name, task_path):
    """The chance level of the task's validation targets (what `at chance` compares to)."""
    sys.path.insert(0, REPO)
    from kt_toolkit.pruning import chance_level

    task, objective = TASKS[name]
    return float(chance_level(objective, task, np.load(task_path)["y_val"]))


def task_stats(results, budget, chance=None):
    """{task: its numbers}: medians over seeds for every arm of `results`.

    `chance`: {task: chance level}, as saved in a results file; by default computed
    from each task's `.npz` file. Per task: `objective`, `maximize`, `chance`, `seeds`,
    `marks` (seconds), `targets` ({seed: 98 % of the best any arm reached}) and `arms`:
    {arm: {"best_at": [median best score at each mark, or None], "time": median
    seconds to the target (inf when the median seed never got there), "reached",
    "runs", "completed" (median count), "at_chance" (share of completed trials, or
    None), "first": [(seconds, score) of each seed's first completed trial]}}.
    """
    marks = [round(budget / 3), round(2 * budget / 3), budget]
    stats = {}
    for name, (task, objective) in TASKS.items():
        runs = [r for r in results if r["task"] == name]
        if not runs:
            continue
        maximize = objective == "val_accuracy"
        level = (chance or {}).get(name)
        if level is None:
            level = chance_of(name, runs[0]["task_path"])
        targets = {}
        for seed in sorted({r["seed"] for r in runs}):
            scores = [s for r in runs if r["seed"] == seed for _, s, st in r["timeline"]
                      if st == "COMPLETED" and s is not None and np.isfinite(s)]
            best = max(scores) if maximize else min(scores)
            targets[seed] = 0.98 * best if maximize else best / 0.98
        arms = {}
        for arm in sorted(dict.fromkeys(r["arm"] for r in runs),
                          key=lambda a: (a not in ARMS, ARMS.index(a) if a in ARMS else 0, a)):
            mine = [r for r in runs if r["arm"] == arm]
            best_at = []
            for mark in marks:
                values = [v for v in (_best_at(r["timeline"], mark, maximize) for r in mine)
                          if v is not None]
                best_at.append(statistics.median(values) if values else None)
            times = [_time_to(r["timeline"], targets[r["seed"]], maximize) for r in mine]
            done = [s for r in mine for _, s, st in r["timeline"]
                    if st == "COMPLETED" and s is not None and np.isfinite(s)]
            dead = sum(_at_chance(s, level, maximize) for s in done)
            counts = [sum(1 for _, s, st in r["timeline"] if st == "COMPLETED") for r in mine]
            first = [min(((t, s) for t, s, st in r["timeline"] if st == "COMPLETED"),
                         default=None) for r in mine]
            arms[arm] = {"best_at": best_at, "runs": len(times),
                         "time": statistics.median([t if t is not None else float("inf")
                                                    for t in times]),
                         "reached": sum(t is not None for t in times),
                         "completed": statistics.median(counts),
                         "at_chance": 100 * dead / len(done) if done else None,
                         "first": [f for f in first if f is not None]}
        stats[name] = {"objective": objective, "maximize": maximize, "chance": level,
                       "seeds": len(targets), "marks": marks, "targets": targets,
                       "arms": arms}
    return stats


def summarize(results, budget, chance=None):
    """One Markdown table per task: medians over seeds (see `task_stats`)."""
    lines = []
    for name, task in task_stats(results, budget, chance).items():
        lines += [f"\n#### {name} ({task['objective']}, "
                  f"{'max' if task['maximize'] else 'min'}; chance {task['chance']:.3f}; "
                  f"{task['seeds']} seeds, {budget} s)", "",
                  "| arm | " + " | ".join(f"best @{m} s" for m in task["marks"])
                  + " | time to 98 % of best | completed | at chance |",
                  "|---|" + "---|" * (len(task["marks"]) + 3)]
        for arm, row in task["arms"].items():
            cells = ["—" if v is None else f"{v:.4f}" for v in row["best_at"]]
            reached = f"({row['reached']}/{row['runs']})"
            time_cell = (f"{row['time']:.0f} s {reached}" if np.isfinite(row["time"])
                         else f">{budget} s {reached}")
            share = "—" if row["at_chance"] is None else f"{row['at_chance']:.0f} %"
            lines.append(f"| {arm} | " + " | ".join(cells)
                         + f" | {time_cell} | {row['completed']:.0f} | {share} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=90, help="seconds per arm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--out", default=None, help="folder for the runs and results.json")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OVERRIDES",
                        help="an extra kt_toolkit arm kt:NAME with comma-separated --set "
                             "overrides, e.g. tpe=tuner.algorithm=tpe")
    parser.add_argument("--save", default=None, metavar="NAME",
                        help="also write benchmarks/results/NAME.json (the README's "
                             "tables are rendered from it: benchmarks/readme_numbers.py)")
    parser.add_argument("--conditions", default="arms in fresh processes, interleaved",
                        help="with --save: what else ran on the machine, for the record")
    parser.add_argument("--arms", default=",".join(ARMS),
                        help="the arms to run (default: all three)")
    parser.add_argument("--arm", choices=ARMS[1:], help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--task-path", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:  # one peer arm, in its own process
        task, objective = TASKS[args.task]
        run = run_keras_tuner if args.arm == "keras_tuner" else run_optuna
        return run(args.task_path, task, objective, args.seed, args.folder, args.log)
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="race-"))
    os.makedirs(out, exist_ok=True)
    names = [n for n in args.tasks.split(",") if n]
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        parser.error(f"--tasks: unknown {unknown}; known: {', '.join(TASKS)}")
    arms = {arm: () for arm in args.arms.split(",") if arm}
    bad = [arm for arm in arms if arm not in ARMS]
    if bad:
        parser.error(f"--arms: unknown {bad}; known: {', '.join(ARMS)}")
    for variant in args.variant:
        label, _, overrides = variant.partition("=")
        if not label or "=" not in overrides:
            parser.error(f"--variant {variant!r}: expected NAME=KEY=VALUE[,KEY=VALUE...]")
        arms[f"kt:{label}"] = tuple(overrides.split(","))
    paths = {name: write_task(name, out) for name in names}
    results = []
    names_of_arms = list(arms)
    for seed in range(1, args.seeds + 1):
        for name in names:
            shift = seed % len(names_of_arms)
            order = names_of_arms[shift:] + names_of_arms[:shift]  # interleaved, rotating
            for arm in order:
                folder = os.path.join(out, f"{name}-{arm.replace(':', '_')}-{seed}")
                os.makedirs(folder, exist_ok=True)
                timeline = run_arm(arm, name, paths[name], seed, args.budget, folder,
                                   arms[arm])
                results.append({"task": name, "arm": arm, "seed": seed,
                                "task_path": paths[name], "timeline": timeline})
                print(f"{name} seed {seed} {arm}: {len(timeline)} trials ended",
                      file=sys.stderr, flush=True)
                with open(os.path.join(out, "results.json"), "w") as handle:
                    json.dump({"budget": args.budget, "results": results}, handle)
    print(f"Race: {args.budget} s per arm, results in {out}")
    chance = {name: chance_of(name, path) for name, path in paths.items()}
    print(summarize(results, args.budget, chance))
    if args.save:
        import _record

        print(_record.save(args.save, saved(results, args.budget, chance),
                           seeds=list(range(1, args.seeds + 1)),
                           conditions=args.conditions))


def saved(results, budget, chance):
    """What a results file keeps of a race: the timelines, the budget, the chance levels."""
    return {"budget": budget, "chance": chance,
            "results": [{key: value for key, value in result.items() if key != "task_path"}
                        for result in results]}


if __name__ == "__main__":
    sys.exit(main())
