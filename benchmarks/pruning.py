"""B2 measured: the same search and budget with pruning off and on.

Runs `experiments/digits_mlp.yaml` as a random search (the same seed, so the same
configurations in every arm) once per arm and repeat, each into its own output
directory, and prints one row per arm: trials, how many were pruned, the epochs
trained (the sum of `epochs_run` in `trials.csv`), the seconds the trials took, the
wall time of the whole run and the best score. `off` has every pruning rule off
(chance pruning included, which is on by default for classification), `median` only
median pruning. The arms run interleaved in one process, `--repeats` times (the order
alternates); times are the medians over repeats. The machine's speed drifts and other
work may share it, so read the times as rough. The epochs are counts, not timings,
but not guaranteed equal between repeats either: a float round-off can move an early
stop by an epoch; the results file keeps every repeat's count.

Run: python benchmarks/pruning.py [--trials 20] [--epochs 20] [--repeats 3] [--chance]
     [--directory D] [--save]    # --save: benchmarks/results/pruning.json
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPERIMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                          "experiments", "digits_mlp.yaml")
MEDIAN = "training.callbacks.median_pruning.enabled=true"
CHANCE = "training.callbacks.chance_pruning.enabled=true"
NO_CHANCE = "training.callbacks.chance_pruning.enabled=false"


def run_arm(name, overrides, *, trials, epochs, directory):
    """One search; returns its row of the table."""
    from kt_toolkit.config import load_config
    from kt_toolkit.experiment import run_experiment

    config = load_config(EXPERIMENT, [
        "tuner.algorithm=random", f"tuner.max_trials={trials}", f"training.epochs={epochs}",
        f"output.directory={os.path.join(directory, name)}", "output.report=false",
        *overrides])
    start = time.perf_counter()
    result = run_experiment(config, overwrite=True)
    wall = time.perf_counter() - start
    return {"arm": name, "trials": len(result.trials), "pruned": result.count("PRUNED"),
            "epochs": sum(int(row["epochs_run"] or 0) for row in result.trials),
            "trial_seconds": sum(float(row["seconds"] or 0) for row in result.trials),
            "wall_seconds": wall, "best": result.best_score, "best_trial": result.best_trial_id,
            "seed": config.experiment.seed, "run_dir": str(result.run_dir)}


def summarize(runs):
    """One row per arm over its repeats: epochs of each repeat, median seconds."""
    rows = []
    for arm in dict.fromkeys(run["arm"] for run in runs):
        mine = [run for run in runs if run["arm"] == arm]
        best = [run["best"] for run in mine if run["best"] is not None]
        rows.append({"arm": arm, "repeats": len(mine), "trials": mine[0]["trials"],
                     "pruned": [run["pruned"] for run in mine],
                     "epochs": [run["epochs"] for run in mine],
                     "trial_seconds": statistics.median(r["trial_seconds"] for r in mine),
                     "wall_seconds": statistics.median(r["wall_seconds"] for r in mine),
                     "best": max(best) if best else None,
                     "best_trials": sorted({run["best_trial"] for run in mine
                                            if run["best"] is not None})})
    return rows


def _counts(values):
    return str(values[0]) if len(set(values)) == 1 else " / ".join(map(str, values))


def table(rows):
    """A Markdown table of `summarize`'s rows, each arm's epochs against the first's."""
    lines = ["| pruning | trials | pruned | epochs trained | trial s (median) | wall s "
             "(median) | best val_accuracy (trial) |", "|---|---|---|---|---|---|---|"]
    base = statistics.median(rows[0]["epochs"]) or 1
    for row in rows:
        best = ("none" if row["best"] is None else
                f"{row['best']:.4f} ({', '.join(row['best_trials'])})")
        lines.append(f"| {row['arm']} | {row['trials']} | {_counts(row['pruned'])} | "
                     f"{_counts(row['epochs'])} "
                     f"({statistics.median(row['epochs']) / base:.0%}) | "
                     f"{row['trial_seconds']:.1f} | {row['wall_seconds']:.1f} | {best} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of every arm, interleaved (default 3)")
    parser.add_argument("--chance", action="store_true",
                        help="add an arm with median and chance pruning")
    parser.add_argument("--directory", default=None,
                        help="where the runs go (default: a temporary folder)")
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/pruning.json")
    args = parser.parse_args(argv)
    directory = args.directory or tempfile.mkdtemp(prefix="kt-pruning-")
    arms = [("off", [NO_CHANCE]), ("median", [MEDIAN, NO_CHANCE])] + (
        [("median+chance", [MEDIAN, CHANCE])] if args.chance else [])
    runs = []
    for repeat in range(args.repeats):
        order = arms if repeat % 2 == 0 else arms[::-1]
        for name, overrides in order:
            run = run_arm(name, overrides, trials=args.trials, epochs=args.epochs,
                          directory=os.path.join(directory, str(repeat)))
            runs.append(dict(run, repeat=repeat))
            print(f"repeat {repeat} {name}: {run['epochs']} epochs, "
                  f"{run['trial_seconds']:.1f} s, {run['run_dir']}", flush=True)
    print(table(summarize(runs)))
    if args.save:
        import _record

        print(_record.save("pruning", {"trials": args.trials, "epochs": args.epochs,
                                       "repeats": args.repeats, "runs": runs},
                           seeds={"experiment.seed": sorted({r["seed"] for r in runs})},
                           conditions="2 CPU cores shared with other engineers' tests "
                                      "(the times are rough)"))


if __name__ == "__main__":
    main()
