"""B2 measured: the same search and budget with pruning off and on.

Runs `experiments/digits_mlp.yaml` as a random search (the same seed, so the same
configurations in every arm) once per arm, each into its own output directory, and
prints one row per arm: trials, how many were pruned, the epochs trained (the sum
of `epochs_run` in `trials.csv`), the seconds the trials took, the wall time of the
whole run and the best score. The arms run one after the other in one process: the
machine's speed drifts, so read the times as rough, the epochs as exact.

Run: python benchmarks/pruning.py [--trials 20] [--epochs 20] [--chance] [--directory D]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kt_toolkit.config import load_config  # noqa: E402
from kt_toolkit.experiment import run_experiment  # noqa: E402

EXPERIMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                          "experiments", "digits_mlp.yaml")
MEDIAN = "training.callbacks.median_pruning.enabled=true"
CHANCE = "training.callbacks.chance_pruning.enabled=true"


def run_arm(name, overrides, *, trials, epochs, directory):
    """One search; returns its row of the table."""
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
            "run_dir": result.run_dir}


def table(rows):
    """A Markdown table of the arms, with each arm's share of the first arm's epochs."""
    lines = ["| pruning | trials | pruned | epochs trained | trial s | wall s | best "
             "val_accuracy (trial) |", "|---|---|---|---|---|---|---|"]
    base = rows[0]["epochs"] or 1
    for row in rows:
        best = "none" if row["best"] is None else f"{row['best']:.4f} ({row['best_trial']})"
        lines.append(f"| {row['arm']} | {row['trials']} | {row['pruned']} | {row['epochs']} "
                     f"({row['epochs'] / base:.0%}) | {row['trial_seconds']:.1f} | "
                     f"{row['wall_seconds']:.1f} | {best} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--chance", action="store_true",
                        help="add an arm with median and chance pruning")
    parser.add_argument("--directory", default=None,
                        help="where the runs go (default: a temporary folder)")
    args = parser.parse_args(argv)
    directory = args.directory or tempfile.mkdtemp(prefix="kt-pruning-")
    arms = [("off", []), ("median", [MEDIAN])] + (
        [("median+chance", [MEDIAN, CHANCE])] if args.chance else [])
    rows = []
    for name, overrides in arms:
        rows.append(run_arm(name, overrides, trials=args.trials, epochs=args.epochs,
                            directory=directory))
        print(f"{name}: {rows[-1]['run_dir']}", flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
