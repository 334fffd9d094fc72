"""D1 measured: does a search on a subsample rank settings like the full data?

Runs `experiments/digits_mlp.yaml` as a random search on `--subsample` training
samples, then `kt_toolkit.proxy.proxy_check`: the search's `--top-k` best trials
retrained on the full training data with the same epochs and callbacks, and the
Spearman rank correlation ρ of the two scores (what `kt-toolkit tune ...
--proxy-check` prints). One search per `--seeds` value (`experiment.seed`: the split,
the subsample, the weights and the tuner), one after the other in this process.

Run: python benchmarks/proxy_check.py [--subsample 300] [--trials 8] [--epochs 10]
     [--top-k 5] [--seeds 42 1 2] [--save]    # --save: benchmarks/results/proxy_check.json
"""

import argparse
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPERIMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                          "experiments", "digits_mlp.yaml")


def run_seed(seed, args, directory):
    """One proxy search and its check; a dict of what they measured."""
    from kt_toolkit.config import load_config
    from kt_toolkit.data import load_dataset
    from kt_toolkit.experiment import run_experiment
    from kt_toolkit.proxy import proxy_check

    config = load_config(EXPERIMENT, [
        f"experiment.seed={seed}", f"data.subsample={args.subsample}",
        "tuner.algorithm=random", f"tuner.max_trials={args.trials}",
        f"training.epochs={args.epochs}", f"output.directory={directory}",
        "output.report=false"])
    result = run_experiment(config, overwrite=True)
    checked = proxy_check(config, result.run_dir, top_k=args.top_k)
    full = load_config(EXPERIMENT, [f"experiment.seed={seed}"])
    training = len(load_dataset(full.data, seed=seed).y_train)
    return {"seed": seed, "training_samples": training, "rho": checked.rho,
            "p_value": checked.p_value, "rows": checked.rows, "verdict": checked.verdict}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsample", type=int, default=300)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/proxy_check.json")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="kt-proxy-")
    runs = []
    for seed in args.seeds:
        runs.append(run_seed(seed, args, os.path.join(directory, str(seed))))
        print(f"seed {seed}: ρ = {runs[-1]['rho']}  {runs[-1]['verdict']}", flush=True)
    rhos = [run["rho"] for run in runs if run["rho"] is not None]
    if rhos:
        print(f"median ρ over {len(rhos)} seeds: {statistics.median(rhos):.2f}")
    if args.save:
        import _record

        settings = {key: getattr(args, key) for key in ("subsample", "trials", "epochs",
                                                          "top_k")}
        print(_record.save("proxy_check", dict(settings, runs=runs), seeds=args.seeds,
                           conditions="one process, seeds one after the other; "
                                      "2 shared CPU cores (no timings recorded)"))


if __name__ == "__main__":
    main()
