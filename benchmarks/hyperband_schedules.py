"""Do learning-rate schedules survive Hyperband's short rounds for the wrong reason? (issue 17)

    python benchmarks/hyperband_schedules.py --before /tmp/before   # 3 seeds, digits + wine
    python benchmarks/hyperband_schedules.py --seeds 1 --tasks wine --before /tmp/before
    python benchmarks/hyperband_schedules.py --seeds 2 --before /tmp/before --save
        # + benchmarks/results/hyperband_schedules.json, which the README is rendered from

Measured (issue 17, `--seeds 2`, digits and wine): no bias for schedules from the
restart at this size; see the README ("A Hyperband trial's learning-rate schedule").

A trial's schedule used to be laid over the epochs of one `fit` call: in Hyperband's
first round (2 epochs at max_epochs 20, factor 3) a multistep schedule decayed twice
inside those 2 epochs, and a trial promoted to the next round started its schedule
again. Since issue 17 the schedule spans the trial's whole budget (`max_epochs`) and
a promoted trial continues it (`kt_toolkit.schedules.learning_rate.ContinuedSchedule`).

Arms, each a fresh `kt-toolkit tune` process, interleaved (the order rotates with the
seed): `before`, the kt_toolkit of another checkout (`--before`, e.g. a `git worktree`
of the commit before the change), and `after`, this one. Both run Hyperband
(max_epochs 20, factor 3, one iteration) over the default MLP space, whose
`lr_schedule` is constant, multistep or noam, on the bundled tasks, with the same seed.

Printed per arm, over all tasks and seeds: for the first-round trials of brackets that
have a second round, the share promoted, by schedule (the bias, if any: a schedule
that decays completely inside 2 epochs looks better there than it would be), then the
share of schedule trials among the final round's trials and the best score per task.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TASKS = {"digits": "val_accuracy", "wine": "val_accuracy", "breast_cancer": "val_accuracy"}


def run_arm(source, task, seed, folder):
    """One Hyperband search with the kt_toolkit found at `source`; its run directory."""
    config = os.path.join(folder, "hb.yaml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(f"experiment: {{name: hb_{task}, seed: {seed}}}\n"
                     f"data: {{dataset: {task}}}\n"
                     f"tuner: {{algorithm: hyperband, objective: {TASKS[task]}, seed: {seed},"
                     " max_epochs: 20, factor: 3, hyperband_iterations: 1}\n"
                     f"output: {{directory: {folder}, run_name: run, report: false}}\n"
                     "model: {builder: mlp}\n")
    env = dict(os.environ, PYTHONPATH=source, TF_CPP_MIN_LOG_LEVEL="3")
    # cwd: the run's folder, so `-m kt_toolkit` finds the package of PYTHONPATH and not
    # one in the directory the benchmark was started from.
    subprocess.run([sys.executable, "-m", "kt_toolkit", "tune", config, "-q"], env=env,
                   cwd=folder, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return os.path.join(folder, "run")


def read_trials(run_dir):
    """Each KerasTuner trial: id, hyperband bookkeeping, schedule, score."""
    trials = {}
    for path in glob.glob(os.path.join(run_dir, "tuner", "trial_*", "trial.json")):
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        values = record["hyperparameters"]["values"]
        score = record.get("score")
        trials[record["trial_id"]] = {
            "schedule": values.get("lr_schedule", "constant"),
            "bracket": values.get("tuner/bracket", 0), "round": values.get("tuner/round", 0),
            "parent": values.get("tuner/trial_id"), "score": score,
            "status": record.get("status")}
    return trials


def summarize(results):
    """Lines of Markdown: survival by schedule per arm, schedule share at the end."""
    lines = ["| arm | schedule | first-round trials | promoted | share promoted |",
             "|---|---|---|---|---|"]
    finals = []
    for arm in ("before", "after"):
        counts = defaultdict(lambda: [0, 0])
        final = defaultdict(int)
        bests = defaultdict(list)
        for result in results:
            if result["arm"] != arm:
                continue
            trials = result["trials"]
            parents = {t["parent"] for t in trials.values() if t["parent"]}
            for trial_id, trial in trials.items():
                if trial["round"] == 0 and trial["bracket"] >= 1:
                    counts[trial["schedule"]][0] += 1
                    counts[trial["schedule"]][1] += trial_id in parents
                if trial["round"] == trial["bracket"] and trial["bracket"] >= 1:
                    final[trial["schedule"]] += 1
            scores = [t["score"] for t in trials.values() if t["score"] is not None]
            if scores:
                bests[result["task"]].append(max(scores))
        for schedule in sorted(counts):
            started, promoted = counts[schedule]
            lines.append(f"| {arm} | {schedule} | {started} | {promoted} | "
                         f"{100 * promoted / started:.0f} % |")
        total = sum(final.values()) or 1
        share = 100 * sum(v for k, v in final.items() if k != "constant") / total
        best = ", ".join(f"{task} {statistics.median(v):.4f}" for task, v in sorted(bests.items()))
        finals.append(f"- {arm}: final-round trials {dict(final)} ({share:.0f} % with a "
                      f"schedule); median best score: {best}")
    return "\n".join(lines + [""] + finals)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True,
                        help="a checkout of kt_toolkit before the change (its root folder)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default="digits,wine")
    parser.add_argument("--out", default=None)
    parser.add_argument("--save", action="store_true",
                        help="also write benchmarks/results/hyperband_schedules.json")
    args = parser.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"--tasks: unknown {unknown}; known: {', '.join(TASKS)}")
    if not os.path.isdir(os.path.join(args.before, "kt_toolkit")):
        parser.error(f"--before {args.before!r}: no kt_toolkit package there")
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="hb-schedules-"))
    sources = {"before": os.path.abspath(args.before), "after": REPO}
    results = []
    for seed in range(1, args.seeds + 1):
        for task in tasks:
            arms = ["before", "after"] if seed % 2 else ["after", "before"]
            for arm in arms:
                folder = os.path.join(out, f"{task}-{arm}-{seed}")
                os.makedirs(folder, exist_ok=True)
                run_dir = run_arm(sources[arm], task, seed, folder)
                results.append({"arm": arm, "task": task, "seed": seed,
                                "trials": read_trials(run_dir)})
                print(f"{task} seed {seed} {arm}: {len(results[-1]['trials'])} trials",
                      file=sys.stderr, flush=True)
                with open(os.path.join(out, "results.json"), "w") as handle:
                    json.dump(results, handle)
    print(f"Hyperband schedules: {len(tasks)} tasks x {args.seeds} seeds, results in {out}")
    print(summarize(results))
    if args.save:
        import _record

        print(_record.save("hyperband_schedules", {"results": results},
                           seeds=list(range(1, args.seeds + 1)),
                           conditions="arms in fresh processes, interleaved; "
                                      f"before = the kt_toolkit of {args.before}"))


if __name__ == "__main__":
    sys.exit(main())
