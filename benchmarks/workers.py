"""Wall time of the same search in one process and with N worker processes (A3).

    python benchmarks/workers.py                                   # in-process, 1, 2 workers
    python benchmarks/workers.py --workers 0 1 2 4 --set tuner.max_trials=12
    KERAS_BACKEND=jax python benchmarks/workers.py --workers 1 4 8  # on a GPU machine
    python benchmarks/workers.py --rounds 3 --save workers   # + benchmarks/results/workers.json

Runs `kt-toolkit tune <config> --set output.directory=<fresh temp dir>` once per
entry of `--workers` (0 = in one process, no chief) and prints wall seconds, trials
ended and the best score. Each run starts from an empty directory. With `--rounds N`
the entries run N times, interleaved (the order alternates), and the table shows
each entry's median wall time.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(config, workers, overrides):
    folder = tempfile.mkdtemp()
    command = [sys.executable, "-m", "kt_toolkit", "tune", config,
               "--set", f"output.directory={folder}", "--set", "output.report=false"]
    for override in overrides:
        command += ["--set", override]
    if workers:
        command += ["--workers", str(workers)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    seconds = time.monotonic() - started
    best = next((line.strip() for line in done.stdout.splitlines()
                 if line.startswith("Best trial")), "no best trial")
    trials = next((line.split("(", 1)[1].split(" trials", 1)[0]
                   for line in done.stdout.splitlines() if "trials.csv (" in line), "?")
    return seconds, trials, best, done.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO, "experiments", "digits_mlp.yaml"))
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--save", default=None, metavar="NAME",
                        help="also write benchmarks/results/NAME.json")
    parser.add_argument("--conditions", default="nothing else noted",
                        help="with --save: what else ran on the machine, for the record")
    args = parser.parse_args()
    print(f"{os.path.basename(args.config)} {' '.join(args.overrides)} "
          f"(backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {os.cpu_count()} CPUs)")
    print("| workers | wall s | trials | best |")
    print("|---|---|---|---|")
    runs = []
    for round_ in range(args.rounds):
        for workers in (args.workers if round_ % 2 == 0 else args.workers[::-1]):
            seconds, trials, best, code = run(args.config, workers, args.overrides)
            runs.append({"round": round_, "workers": workers, "seconds": seconds,
                         "trials": trials, "best": best, "exit": code})
            label = workers or "in-process"
            print(f"| {label} | {seconds:.0f} | {trials} | {best}"
                  + (f" (exit {code})" if code else "") + " |", flush=True)
    if args.rounds > 1:
        import statistics

        for workers in args.workers:
            times = [r["seconds"] for r in runs if r["workers"] == workers]
            print(f"{workers or 'in-process'}: median {statistics.median(times):.0f} s "
                  f"over {len(times)} rounds")
    if args.save:
        import _record

        print(_record.save(args.save, {"config": os.path.relpath(args.config, REPO),
                                       "overrides": args.overrides, "runs": runs},
                           seeds="the config's experiment.seed",
                           conditions=f"{args.rounds} interleaved round(s); "
                                      f"{os.cpu_count()} CPUs; {args.conditions}"))


if __name__ == "__main__":
    main()
