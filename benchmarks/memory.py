"""Process RSS over many small trials in one search (issue 6: memory growth).

    python benchmarks/memory.py --trials 100            # RSS table every 10 trials
    python benchmarks/memory.py --trials 100 --workers 1 --trials-per-process 20
    python benchmarks/memory.py --trials 100 --save memory_tf   # + benchmarks/results/

Runs a random search of tiny MLPs on digits in this process and reads the resident
set size (/proc/self/status) after each trial. Prints trial count vs MB and the
growth from trial 10 (after TensorFlow's one-time allocations) to the last.

With `--workers N`, runs `kt-toolkit tune --workers N` instead and samples the RSS
of the chief and of every worker process twice a second: the table then shows, per
10 trials, the largest worker RSS and the chief's.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss_mb():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _config(folder, trials, epochs):
    return {
        "experiment": {"name": "memory", "seed": 1},
        "data": {"dataset": "digits", "subsample": 400},
        "model": {"space": {"num_layers": {"min": 1, "max": 2}, "units": [16, 32, 64],
                            "optimizer": "adam", "lr_schedule": "constant"}},
        "tuner": {"algorithm": "random", "max_trials": trials},
        "training": {"epochs": epochs, "batch_size": 64},
        "output": {"directory": folder, "run_name": "memory", "report": False}}


def _rss_of(pid):
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def watch_workers(args):
    import subprocess

    import yaml

    from kt_toolkit.tuners.launcher import run_processes

    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "memory.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(_config(os.path.join(folder, "runs"), args.trials, args.epochs), handle)
    run_dir = os.path.join(folder, "runs", "memory")
    command = [sys.executable, "-m", "kt_toolkit", "tune", path, "-q",
               "--workers", str(args.workers)]
    if args.trials_per_process:
        command += ["--trials-per-process", str(args.trials_per_process)]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker_peak, chief = {}, {}  # trials ended -> MB
    while process.poll() is None:
        ended = len([1 for trial in os.listdir(os.path.join(run_dir, "trials"))
                     if os.path.exists(os.path.join(run_dir, "trials", trial, "meta.json"))]
                    ) if os.path.isdir(os.path.join(run_dir, "trials")) else 0
        for name, pid in run_processes(run_dir).items():
            mb = _rss_of(pid)
            if mb is None:
                continue
            if name == "chief":
                chief[ended] = mb
            else:
                worker_peak[ended] = max(worker_peak.get(ended, 0), mb)
        time.sleep(0.5)
    print(f"{args.trials} trials in {time.monotonic() - started:.0f} s with {args.workers} "
          f"workers, trials per process {args.trials_per_process or 'default'} "
          f"(exit {process.returncode})")
    print("trials  worker RSS MB (max)  chief RSS MB")
    rows = []
    for mark in range(10, args.trials + 1, 10):
        near = [k for k in worker_peak if mark - 10 < k <= mark]
        peak = max((worker_peak[k] for k in near), default=float("nan"))
        last = max((k for k in chief if k <= mark), default=None)
        rows.append((mark, peak, chief.get(last, float("nan"))))
        print(f"{mark:6d}  {peak:19.1f}  {rows[-1][2]:12.1f}")
    if len(rows) >= 2:
        print(f"growth from trial 10 to {rows[-1][0]}: worker {rows[-1][1] - rows[0][1]:+.1f} MB, "
              f"chief {rows[-1][2] - rows[0][2]:+.1f} MB")
    _save(args, {"mode": "workers", "workers": args.workers,
                 "trials_per_process": args.trials_per_process,
                 "rows": [{"trials": mark, "worker_mb": peak, "chief_mb": chief_mb}
                          for mark, peak, chief_mb in rows]})


def _save(args, data):
    """With `--save NAME`: benchmarks/results/NAME.json (one run: n=1)."""
    if args.save:
        import _record

        data = dict(data, trials=args.trials, epochs=args.epochs)
        print(_record.save(args.save, data, seeds={"experiment.seed": 1},
                           conditions=f"one run (n=1); {os.cpu_count()} CPUs; {args.conditions}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None,
                        help="run `kt-toolkit tune --workers N` and watch its processes")
    parser.add_argument("--trials-per-process", type=int, default=None)
    parser.add_argument("--vanilla", action="store_true",
                        help="plain keras_tuner.RandomSearch (no kt_toolkit recording), "
                             "to tell KerasTuner/Keras growth from ours")
    parser.add_argument("--save", default=None, metavar="NAME",
                        help="also write benchmarks/results/NAME.json")
    parser.add_argument("--conditions", default="nothing else noted",
                        help="with --save: what else ran on the machine, for the record")
    args = parser.parse_args()
    if args.workers:
        return watch_workers(args)

    import keras

    from kt_toolkit.callbacks import default_callbacks
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.data import load_dataset
    from kt_toolkit.hypermodels import build_hypermodel
    from kt_toolkit.rundir import prepare_run_dir
    from kt_toolkit.tuners import build_tuner, resolve_objective

    folder = tempfile.mkdtemp()
    config = config_from_dict(_config(folder, args.trials, args.epochs))
    data = load_dataset(config.data, seed=1)
    objective, direction = resolve_objective(config.tuner, data.task)
    run_dir = prepare_run_dir(config)
    if args.vanilla:
        import keras_tuner

        tuner = keras_tuner.RandomSearch(build_hypermodel(config, data), objective=objective,
                                         max_trials=args.trials, seed=1,
                                         directory=run_dir, project_name="vanilla")
    else:
        tuner = build_tuner(config, build_hypermodel(config, data), run_dir, task=data.task)
    samples = []

    class Probe(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            samples.append(rss_mb())

    started = time.monotonic()
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 epochs=args.epochs, batch_size=64, verbose=0,
                 callbacks=default_callbacks(config.training.callbacks, objective=objective,
                                             direction=direction) + [Probe()])
    print(f"{len(samples)} trials in {time.monotonic() - started:.0f} s "
          f"(backend {keras.backend.backend()}, {'vanilla KerasTuner' if args.vanilla else 'kt_toolkit'})")
    print("trials  RSS MB")
    for index in range(9, len(samples), 10):
        print(f"{index + 1:6d}  {samples[index]:7.1f}")
    if len(samples) >= 20:
        print(f"growth from trial 10 to {len(samples)}: {samples[-1] - samples[9]:+.1f} MB")
    _save(args, {"mode": "one process", "vanilla": args.vanilla,
                 "backend": keras.backend.backend(), "rss_mb_after_each_trial": samples})


if __name__ == "__main__":
    main()
