"""Claim D1: a search on a subsample ranks settings like the full data, more so as it grows.

For each `--subsamples` size and `--seeds` seed: a random search of `experiments/digits_mlp.yaml` on that
many training digits (`--trials` trials, `--epochs` epochs), then its `--top-k` best
trials retrained on all 1,437 training digits (`kt_toolkit.proxy.proxy_check`, what
`kt-toolkit tune ... --proxy-check` runs) and the Spearman ρ between the two rankings.
The searches run one after the other in this process (benchmarks/proxy_check.py's
`run_seed`); `--save` writes `experiments/claims/results/d1_proxy.json`, which
`render.py` turns into RESULTS.md's D1 table.

    nice -n 5 python experiments/claims/d1_proxy.py --subsamples 150 300 600 --seeds 42 1 2 --save
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import _record  # noqa: E402
import proxy_check  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsamples", type=int, nargs="+", default=[150, 300, 600])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--save", action="store_true", help="write results/d1_proxy.json")
    args = parser.parse_args(argv)
    directory = tempfile.mkdtemp(prefix="kt-claims-d1-")
    runs = []
    for size in args.subsamples:
        for seed in args.seeds:  # the split, the subsample, the weights and the tuner
            start = time.monotonic()
            settings = argparse.Namespace(subsample=size, trials=args.trials,
                                          epochs=args.epochs, top_k=args.top_k)
            run = proxy_check.run_seed(seed, settings,
                                       os.path.join(directory, f"{size}-{seed}"))
            run.update(subsample=size, seconds=round(time.monotonic() - start, 1))
            runs.append(run)
            print(f"subsample {size}, seed {seed}: ρ = {run['rho']}  ({run['seconds']} s)",
                  flush=True)
    if args.save:
        kept, _record.RESULTS = _record.RESULTS, os.path.join(HERE, "results")
        try:
            print(_record.save(
                "d1_proxy", {"trials": args.trials, "epochs": args.epochs,
                             "top_k": args.top_k, "training_samples":
                             runs[0]["training_samples"], "runs": runs},
                seeds=args.seeds, command="nice -n 5 python experiments/claims/d1_proxy.py "
                + " ".join(sys.argv[1:]),
                conditions="one process, sizes one after the other; 2 shared CPU cores"))
        finally:
            _record.RESULTS = kept
    return 0


if __name__ == "__main__":
    sys.exit(main())
