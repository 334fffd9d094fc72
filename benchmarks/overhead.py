"""Time spent outside `fit`: kt_toolkit and plain KerasTuner against a bare `fit` loop (issue 12).

    python benchmarks/overhead.py                       # 3 rounds x 3 arms, then the report timing
    python benchmarks/overhead.py --rounds 1 --report-trials 0     # a quick look
    python benchmarks/overhead.py --rounds 0 --run-dir runs/x       # only time `kt-toolkit report`
    python benchmarks/overhead.py --compare /tmp/base   # and the kt_toolkit of another checkout
    python benchmarks/overhead.py --rounds 4 --compare /tmp/base --save overhead
        # + benchmarks/results/overhead.json, which the README's table is rendered from

Every arm trains the same model the same number of times: kt_toolkit's MLP on the
bundled `digits` (2 layers of 128 relu units, dropout 0.2, no regularizer, Adam, a
constant learning rate, batch 64), 15 epochs, 5 trials. Only the learning rate may
move, inside 0.999e-3 .. 1.001e-3: KerasTuner's random search stops once it draws
values it has already tried, so a space of fixed values alone gives one trial.
Early stopping, the plateau callback, the NaN guard and chance pruning are off, so
every arm trains every epoch and the arms differ only in what happens around `fit`.

Arms, each in a fresh process, interleaved (the arm order rotates with the round):

- `bare`: `hypermodel.build(hp)` then `hypermodel.fit(...)`, 5 times in a loop (the
  very calls KerasTuner makes for a trial, without a tuner);
- `keras_tuner`: plain `keras_tuner.RandomSearch` over that hypermodel, `max_trials=5`;
- `kt_toolkit`: `kt_toolkit.experiment.run_experiment` on the config (random search);
  with `--no-report-arm`, also `kt_toolkit_no_report`, the same with `output.report`
  off (no report, so no curves drawn in the background while the trials train).

Seconds per trial: the loop's time (bare), `tuner.search` (keras_tuner) or
kt_toolkit's `run_search` (wrapped here to time it; `run_experiment` is otherwise
called as is), divided by the trials. `fit s` is the time inside `keras.Model.fit`
(wrapped in every arm), `outside` the rest of a trial. kt_toolkit's `finish` is
`finish_search` (`trials.csv` and the best model under `best/`), `report` the
report written at the end of the run. Printed: the median over rounds of each, and
each arm's seconds per trial over the bare loop's.

`other CPU s` is the CPU time of the processes an arm started (kt_toolkit's
background curve drawer), not in its CPU s; `wait s` the time kt_toolkit waited
for that drawer after `finish` (the figures the report then reuses).

Then `kt-toolkit report` is timed (a fresh process, as a user runs it) on a run of
`--report-trials` trials, a cheap random search of 1-epoch trials made with its
report in a temporary folder (or the run `--run-dir`), and on a copy of that run
without its figures (`curves/`, `report/`: everything drawn anew).

The machine's speed drifts (STACK_NOTES): compare numbers from one invocation only.

Measured (issue 12, part 6; 2 CPU cores shared with other work, so single rounds
moved by ±10 %): `--rounds 4 --compare <export of 3f665e6>`, before = kt_toolkit
just before this work (3f665e6), after = 24cd6f5:

| arm | s / trial | × bare | outside fit s / trial | CPU s / trial | × bare (CPU) | outside fit CPU s / trial | other CPU s | finish s | wait s | report s |
|---|---|---|---|---|---|---|---|---|---|---|
| bare `fit` loop | 5.11 | ×1.000 | 0.055 | 4.00 | ×1.000 | 0.054 | 0.00 |  |  |  |
| plain KerasTuner | 5.93 | ×1.171 | 0.633 | 4.93 | ×1.251 | 0.618 | 0.00 | 0.72 |  |  |
| kt_toolkit before | 5.88 | ×1.157 | 0.589 | 4.81 | ×1.203 | 0.588 | 0.00 | 1.03 |  | 4.28 |
| kt_toolkit after | 5.28 | ×1.040 | 0.202 | 4.25 | ×1.067 | 0.176 | 4.04 | 0.74 | 0.72 | 2.68 |

A second invocation (3 rounds, `--no-report-arm`, 6b7248d): kt_toolkit ×1.061 wall,
×1.039 CPU, 0.156 s CPU outside `fit` a trial; with `output.report` off ×0.985 wall,
×1.046 CPU, 0.152 s. Outside `fit`, a trial now costs ~0.1 s more than in the bare
loop, against ~0.55 s before. What went: KerasTuner's two full garbage collections
before each build (`compat.collection`), its checkpoint write at every better epoch
(`compat.checkpoint`: one write at the trial's end) and, in 6b7248d, the YAML parse
of `config.yaml` after every trial. The curves are drawn as trials end by a background process:
0.8 s of CPU a trial here (`other CPU s`), which the report spent at the end before.

`kt-toolkit report` on a 100-trial run (the same run, made with its report): before
48.4 s (every figure drawn again each time), after 0.82 s (nothing changed: every
figure reused); the report at the end of that search took 4.4 s. On a copy without
its figures (a run made with `output.report: false`, or before this change), 42.7 s and
50.5 s after: the 100 curves are drawn then (~0.45 s each).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)  # this checkout's kt_toolkit, in every process
ARMS = ("bare", "keras_tuner", "kt_toolkit")
NO_REPORT = "kt_toolkit_no_report"  # with --no-report-arm: output.report off
TRIALS = 5
EPOCHS = 15
SPACE = {"num_layers": 2, "units": 128, "dropout": 0.2, "regularizer": "none",
         "activation": "relu", "kernel_initializer": "glorot_uniform", "batch_norm": False,
         "optimizer": "adam", "lr_schedule": "constant",
         "learning_rate": {"min": 0.999e-3, "max": 1.001e-3, "sampling": "log",
                           "default": 1e-3}}
NO_CALLBACKS = {"early_stopping": {"enabled": False}, "terminate_on_nan": {"enabled": False},
                "reduce_lr_on_plateau": {"enabled": False},
                "chance_pruning": {"enabled": False}}


def experiment(folder, *, name="overhead", trials=TRIALS, epochs=EPOCHS, space=None,
               subsample=None, report=True):
    """The benchmark's config (see the module docstring)."""
    from kt_toolkit.config import config_from_dict

    data = {"dataset": "digits"}
    if subsample:
        data["subsample"] = subsample
    return config_from_dict({
        "experiment": {"name": name, "seed": 1},
        "data": data,
        "model": {"space": dict(space or SPACE)},
        "tuner": {"algorithm": "random", "max_trials": trials},
        "training": {"epochs": epochs, "batch_size": 64, "callbacks": NO_CALLBACKS},
        "output": {"directory": folder, "report": report}})


class Clock:
    """Sums the wall and CPU seconds (`<name>`, `<name>_cpu`) inside wrapped functions."""

    def __init__(self):
        self.seconds = {}

    def add(self, name, wall, cpu):
        self.seconds[name] = self.seconds.get(name, 0.0) + wall
        self.seconds[name + "_cpu"] = self.seconds.get(name + "_cpu", 0.0) + cpu

    def wrap(self, owner, attribute, name):
        function = getattr(owner, attribute)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - wall, time.process_time() - cpu)

        setattr(owner, attribute, timed)

    def time(self, name, function, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            self.add(name, time.perf_counter() - wall, time.process_time() - cpu)


def _data_and_hypermodel(config):
    from kt_toolkit.data import load_dataset
    from kt_toolkit.hypermodels import build_hypermodel

    data = load_dataset(config.data, seed=config.experiment.seed)
    return data, build_hypermodel(config, data)


def run_bare(config, clock):
    import keras
    import keras_tuner

    data, hypermodel = _data_and_hypermodel(config)
    keras.utils.set_random_seed(config.experiment.seed)

    def loop():
        for _ in range(TRIALS):
            hp = keras_tuner.HyperParameters()
            model = hypermodel.build(hp)
            hypermodel.fit(hp, model, data.x_train, data.y_train,
                           validation_data=(data.x_val, data.y_val), epochs=EPOCHS,
                           batch_size=64, verbose=0)

    clock.time("search", loop)
    return {}


def run_keras_tuner(config, clock, folder):
    import keras
    import keras_tuner

    data, hypermodel = _data_and_hypermodel(config)
    keras.utils.set_random_seed(config.experiment.seed)
    tuner = clock.time("setup", keras_tuner.RandomSearch, hypermodel,
                       objective=keras_tuner.Objective("val_accuracy", "max"),
                       max_trials=TRIALS, seed=1, directory=folder, project_name="keras_tuner")
    clock.time("search", tuner.search, data.x_train, data.y_train,
               validation_data=(data.x_val, data.y_val), epochs=EPOCHS, batch_size=64,
               verbose=0)
    clock.time("finish", tuner.get_best_models, 1)
    return {"trials": len(tuner.oracle.trials)}


def run_kt_toolkit(config, clock, folder):
    from kt_toolkit import experiment as kt_experiment
    from kt_toolkit.tuners import session

    clock.wrap(session, "run_search", "search")
    clock.wrap(session, "finish_search", "finish")
    clock.wrap(kt_experiment, "_report_or_warn", "report")
    drawer = getattr(kt_experiment, "CurveDrawer", None)  # kt_toolkit after issue 12, part 6
    if drawer is not None:
        clock.wrap(drawer, "close", "wait")
    start = time.perf_counter()
    result = kt_experiment.run_experiment(config, overwrite=True)
    total = time.perf_counter() - start
    return {"total": total, "trials": len(result.trials),
            "completed": result.count("COMPLETED")}


def child(arm, folder, out):
    """One arm in this (fresh) process; writes its timings as JSON to `out`."""
    import keras

    clock = Clock()
    clock.wrap(keras.Model, "fit", "fit")
    config = experiment(os.path.join(folder, "kt_toolkit"), report=arm != NO_REPORT)
    if arm == "bare":
        timings = run_bare(config, clock)
    elif arm == "keras_tuner":
        timings = run_keras_tuner(config, clock, folder)
    else:
        timings = run_kt_toolkit(config, clock, folder)
    timings.update(clock.seconds)
    timings.setdefault("trials", TRIALS)
    times = os.times()  # processes this one started and waited for (the curve drawer)
    timings["children_cpu"] = times.children_user + times.children_system
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(timings, handle)


def run_child(arm, folder, repo=REPO):
    """One arm in a fresh process; `repo`: the checkout whose kt_toolkit and script run it."""
    out = os.path.join(folder, f"{arm}.json")
    script = os.path.join(repo, "benchmarks", "overhead.py")
    done = subprocess.run([sys.executable, script, "--arm", arm, "--folder", folder,
                           "--out", out], cwd=repo, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"arm {arm} ({repo}) failed:\n{done.stderr[-4000:]}")
    with open(out, encoding="utf-8") as handle:
        return json.load(handle)


def arm_stats(results):
    """{arm: medians over rounds}: `per_trial`, `ratio` (to the bare loop's of the same
    round), `outside` (s / trial outside `fit`), the same three for CPU (`cpu`,
    `cpu_ratio`, `cpu_outside`), and `children_cpu`, `finish`, `wait`, `report` (s)."""
    def median(arm, key, per_trial=True):
        values = [r[key] / (r["trials"] if per_trial else 1) for r in results[arm] if key in r]
        return statistics.median(values) if values else None

    def ratio(arm, key):
        pairs = zip(results[arm], results["bare"])
        return statistics.median(r[key] / r["trials"] / (b[key] / b["trials"]) for r, b in pairs)

    stats = {}
    for arm in results:
        if not results[arm]:
            continue
        per, fit = median(arm, "search"), median(arm, "fit")
        cpu, fit_cpu = median(arm, "search_cpu"), median(arm, "fit_cpu")
        stats[arm] = {"per_trial": per, "ratio": ratio(arm, "search"),
                      "outside": None if fit is None else per - fit,
                      "cpu": cpu, "cpu_ratio": ratio(arm, "search_cpu"),
                      "cpu_outside": None if fit_cpu is None else cpu - fit_cpu,
                      **{key: median(arm, key, per_trial=False)
                         for key in ("children_cpu", "finish", "wait", "report")}}
    return stats


def overhead_table(results):
    """Markdown, one row per arm: seconds per trial (wall and CPU), its ratio to the bare
    loop's of the same round (the median over rounds), the time outside `fit`, finish."""
    def cell(value, digits=2):
        return "" if value is None else f"{value:.{digits}f}"

    lines = ["| arm | s / trial | × bare | outside fit s / trial | CPU s / trial | × bare (CPU) "
             "| outside fit CPU s / trial | other CPU s | finish s | wait s | report s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for arm, row in arm_stats(results).items():
        cells = [cell(row["per_trial"]), f"×{row['ratio']:.3f}", cell(row["outside"], 3),
                 cell(row["cpu"]), f"×{row['cpu_ratio']:.3f}", cell(row["cpu_outside"], 3),
                 cell(row["children_cpu"]), cell(row["finish"]), cell(row["wait"]),
                 cell(row["report"])]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def make_report_run(folder, trials):
    """A random search of `trials` 1-epoch trials with its report: `(run_dir, report s)`."""
    from kt_toolkit import experiment as kt_experiment

    space = dict(SPACE, learning_rate={"min": 1e-4, "max": 1e-1, "sampling": "log"},
                 units={"values": [16, 32, 64]}, dropout={"min": 0.0, "max": 0.5})
    config = experiment(folder, name="report", trials=trials, epochs=1, space=space,
                        subsample=400)
    clock = Clock()
    clock.wrap(kt_experiment, "_report_or_warn", "report")
    run_dir = kt_experiment.run_experiment(config, overwrite=True).run_dir
    return run_dir, clock.seconds.get("report")


def time_report(run_dir, repo=REPO):
    """Seconds of `kt-toolkit report RUN` in a fresh process (`repo`'s kt_toolkit)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kt_toolkit", "report", run_dir], cwd=repo,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"kt-toolkit report failed:\n{done.stderr[-4000:]}")
    return seconds


def time_reports(run_dir, directory, repo=REPO):
    """`kt-toolkit report` on the run as it is, then on a copy without any figure."""
    warm = time_report(run_dir, repo)
    cold_dir = os.path.join(directory, "cold-" + os.path.basename(run_dir))
    shutil.rmtree(cold_dir, ignore_errors=True)
    shutil.copytree(run_dir, cold_dir)
    for name in ("curves", "report"):
        shutil.rmtree(os.path.join(cold_dir, name), ignore_errors=True)
    return warm, time_report(cold_dir, repo)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every arm")
    parser.add_argument("--report-trials", type=int, default=100,
                        help="trials of the run the report is timed on (0: skip)")
    parser.add_argument("--run-dir", default=None,
                        help="time the report on this run instead of making one")
    parser.add_argument("--directory", default=None,
                        help="where the runs go (default: a temporary folder)")
    parser.add_argument("--compare", default=None, metavar="CHECKOUT",
                        help="add the kt_toolkit arm of another checkout of this repository "
                             "(e.g. `git worktree add /tmp/base <commit>`), and time its "
                             "report too")
    parser.add_argument("--no-report-arm", action="store_true",
                        help=f"add the arm {NO_REPORT}: kt_toolkit with output.report off (no "
                             "report, no curves drawn in the background)")
    parser.add_argument("--save", default=None, metavar="NAME",
                        help="also write benchmarks/results/NAME.json")
    parser.add_argument("--conditions", default="2 CPU cores",
                        help="with --save: what else ran on the machine, for the record")
    parser.add_argument("--arm", choices=ARMS + (NO_REPORT,), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.arm:
        return child(args.arm, args.folder, args.out)
    directory = args.directory or tempfile.mkdtemp(prefix="kt-overhead-")
    arms = [(arm, arm, REPO) for arm in ARMS + ((NO_REPORT,) if args.no_report_arm else ())]
    if args.compare:  # the same kt_toolkit arm, from another checkout (e.g. before a change)
        arms.append((f"kt_toolkit@{os.path.basename(os.path.normpath(args.compare))}",
                     "kt_toolkit", os.path.abspath(args.compare)))
    results = {name: [] for name, _, _ in arms}
    for round_ in range(args.rounds):
        for name, arm, repo in arms[round_ % len(arms):] + arms[:round_ % len(arms)]:
            folder = os.path.join(directory, f"round{round_}", name)
            os.makedirs(folder, exist_ok=True)
            results[name].append(run_child(arm, folder, repo))
            print(f"round {round_} {name}: " + json.dumps(
                {k: round(v, 3) for k, v in results[name][-1].items()}), flush=True)
    if args.rounds:
        print(f"\n{TRIALS} trials of {EPOCHS} epochs, median of {args.rounds} rounds:")
        print(overhead_table(results))
    run_dir, in_search = args.run_dir, None
    report = {"trials": args.report_trials if run_dir is None else None, "in_search": None,
              "checkouts": []}
    if run_dir is None and args.report_trials:
        start = time.perf_counter()
        run_dir, in_search = make_report_run(os.path.join(directory, "report"),
                                             args.report_trials)
        print(f"\n{args.report_trials}-trial run made in {time.perf_counter() - start:.0f} s: "
              f"{run_dir}", flush=True)
    if run_dir:
        if in_search is not None:
            print(f"the report at the end of that search: {in_search:.2f} s")
            report["in_search"] = in_search
        checkouts = [REPO] + ([os.path.abspath(args.compare)] if args.compare else [])
        for number, repo in enumerate(checkouts):
            copy = os.path.join(directory, f"copy{number}-{os.path.basename(run_dir)}")
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(run_dir, copy)  # the run itself stays as it was made
            warm, cold = time_reports(copy, directory, repo)
            report["checkouts"].append({"arm": "kt_toolkit" if repo == REPO else
                                        f"kt_toolkit@{os.path.basename(repo)}",
                                        "warm": warm, "cold": cold})
            print(f"`kt-toolkit report` ({repo}) on a copy of {run_dir}: {warm:.2f} s; "
                  f"on a copy without its figures (curves/, report/): {cold:.2f} s")
    if args.save:
        import _record

        print(_record.save(args.save, {"trials": TRIALS, "epochs": EPOCHS,
                                       "rounds": results, "report": report},
                           seeds={"experiment.seed": 1},
                           conditions=f"{args.rounds} interleaved rounds; {args.conditions}"))


if __name__ == "__main__":
    main()
