"""What the shipped experiments reach: best score, trials and wall time of each.

    python benchmarks/experiments.py                 # digits_cnn and sequence_sentiment
    python benchmarks/experiments.py experiments/digits_mlp.yaml --save

Runs each experiment file as `kt-toolkit tune` would (its own settings, a fresh
temporary output directory, no report), one after the other in this process, and
prints its objective, best score, trials and seconds. `--save` writes
`benchmarks/results/experiments.json`, which the README's experiments table quotes.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = ("experiments/digits_cnn.yaml", "experiments/sequence_sentiment.yaml")


def run(path, directory):
    from kt_toolkit.config import load_config
    from kt_toolkit.experiment import run_experiment

    config = load_config(os.path.join(REPO, path), [f"output.directory={directory}",
                                                    "output.report=false"])
    started = time.perf_counter()
    result = run_experiment(config, overwrite=True)
    return {"file": path, "objective": result.objective, "best": result.best_score,
            "best_trial": result.best_trial_id, "trials": len(result.trials),
            "seconds": time.perf_counter() - started, "seed": config.experiment.seed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(DEFAULT))
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/experiments.json")
    parser.add_argument("--conditions", default="nothing else noted",
                        help="with --save: what else ran on the machine, for the record")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="kt-experiments-")
    rows = []
    for path in args.files:
        rows.append(run(os.path.relpath(os.path.abspath(path), REPO), directory))
        row = rows[-1]
        print(f"{row['file']}: best {row['objective']} {row['best']} (trial "
              f"{row['best_trial']}), {row['trials']} trials, {row['seconds']:.0f} s",
              flush=True)
    if args.save:
        import _record

        print(_record.save("experiments", {"rows": rows},
                           seeds={row["file"]: row["seed"] for row in rows},
                           conditions=f"one run each (n=1), in one process, "
                                      f"{os.cpu_count()} CPUs; {args.conditions}"))


if __name__ == "__main__":
    main()
