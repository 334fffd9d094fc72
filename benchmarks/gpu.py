"""GPU searches (issue 16): 1 worker vs K workers on one GPU vs one worker per GPU.

For each task (the digits CNN, `experiments/digits_cnn.yaml`; the sequence task,
`experiments/sequence_sentiment.yaml`) and each Keras backend installed (jax,
torch, tensorflow), runs the same random search (same seed, same trials) as

- `1 worker`: `kt-toolkit tune … --workers 1 --gpus 0`;
- `K on 1 GPU`: `--workers K --gpus 0 --workers-per-gpu K`;
- `1 per GPU`: `--workers auto --gpus all` (only with 2 GPUs or more);

and reports, per run: wall seconds, aggregate training samples/s (training
samples × epochs run, summed over the trials, / wall time), trials per hour, GPU
out-of-memory failures, the best score, and the time to best: seconds from the
start until a trial reached the `1 worker` run's best score (its own best if none
did), and that time relative to `1 worker`'s. Prints a Markdown table; `--save
NAME` writes `benchmarks/results/NAME.json` (command, commit, date, machine with
its GPUs, settings, every run's numbers).

    python benchmarks/gpu.py --dry-run          # CPU, tiny: proves the script works
    python benchmarks/gpu.py --workers-per-gpu 4 --save gpu          # a GPU machine

On a GPU machine whose image has JAX and PyTorch but no TensorFlow and no package
index, bring the wheels kt_toolkit needs and the image lacks. Where pip reaches
the index, for the image's Python (here 3.11) and platform:

    pip download -d wheels --no-deps --only-binary=:all: --python-version 3.11 \\
        --platform manylinux2014_x86_64 --platform any \\
        keras==3.15.1 keras-tuner==1.4.8 kt-legacy namex optree h5py rich \\
        markdown-it-py mdurl pygments absl-py pyyaml filelock six grpcio protobuf \\
        tensorboard tensorboard-data-server werkzeug markdown optuna alembic sqlalchemy \\
        mako colorlog tqdm scikit-learn joblib threadpoolctl scipy matplotlib \\
        contourpy cycler fonttools kiwisolver pillow pyparsing python-dateutil
    pip wheel --no-deps -w wheels .            # kt_toolkit itself, from the checkout

and on the GPU machine (`--check` lists what is still missing, without running):

    pip install --no-index --no-deps wheels/<each wheel whose package is missing>.whl
    python benchmarks/gpu.py --check
    python benchmarks/gpu.py --backends jax torch --workers-per-gpu 4 --save gpu

(`pip install --no-deps`: nothing the image has, JAX, PyTorch, NumPy, is replaced.)
The chief and the workers run `python -m kt_toolkit` from this checkout
(`PYTHONPATH` is set to it), so kt_toolkit itself need not be installed there.
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, HERE]

TASKS = {"digits_cnn": "experiments/digits_cnn.yaml",
         "sequence": "experiments/sequence_sentiment.yaml"}
BACKENDS = ("jax", "torch", "tensorflow")
NEEDED = ("keras", "keras_tuner", "grpc", "yaml", "filelock", "optuna", "sklearn", "scipy",
          "tensorboard", "matplotlib", "six", "h5py", "optree")


def _gpus():
    from kt_toolkit.tuners.devices import find_gpus

    return find_gpus()


def arms(gpus, workers_per_gpu, *, dry_run=False):
    """`[(label, tune flags)]` for this machine."""
    if not gpus:
        if not dry_run:
            sys.exit("error: no GPU found (CUDA_VISIBLE_DEVICES, /proc/driver/nvidia, "
                     "nvidia-smi). Use --dry-run to check the script on the CPU.")
        return [("1 worker (CPU)", ["--workers", "1", "--gpus", "none"]),
                (f"{workers_per_gpu} workers (CPU)",
                 ["--workers", str(workers_per_gpu), "--gpus", "none"])]
    found = [("1 worker", ["--workers", "1", "--gpus", "0"]),
             (f"{workers_per_gpu} on 1 GPU", ["--workers", str(workers_per_gpu), "--gpus",
                                              "0", "--workers-per-gpu",
                                              str(workers_per_gpu)])]
    if len(gpus) > 1:
        found.append((f"1 per GPU ({len(gpus)})", ["--workers", "auto", "--gpus", "all"]))
    return found


def run_search(task, backend, flags, overrides, folder):
    """One `kt-toolkit tune`; the run's numbers (see the module)."""
    from kt_toolkit.rundir import RunDirectory

    command = [sys.executable, "-m", "kt_toolkit", "tune", os.path.join(REPO, TASKS[task]),
               "--set", f"output.directory={folder}", "--set", "output.report=false", *flags]
    for override in overrides:
        command += ["--set", override]
    env = {**os.environ, "KERAS_BACKEND": backend,
           "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))}
    started_at, started = time.time(), time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
    wall = time.monotonic() - started
    runs = [os.path.join(folder, name) for name in os.listdir(folder)
            if os.path.isdir(os.path.join(folder, name, "trials"))]
    if done.returncode not in (0, 1) or not runs:
        return {"exit": done.returncode, "wall_s": round(wall, 1),
                "error": (done.stderr or done.stdout)[-2000:]}
    run = RunDirectory(runs[0])
    record = run.read_record()
    samples = int(record.get("train_samples") or 0)
    rows = run.write_trials_table()
    ended = [row for row in rows if row["status"] != "RUNNING"]
    epochs = sum(int(row["epochs_run"] or 0) for row in ended)
    finished = {row["trial_id"]: run.read_meta(row["trial_id"]).get("finished_at")
                for row in ended}
    scores = [(float(row["objective"]), finished[row["trial_id"]], row["trial_id"])
              for row in ended if row["status"] == "COMPLETED" and row["objective"] != ""]
    return {"exit": done.returncode, "wall_s": round(wall, 1), "trials": len(ended),
            "completed": len(scores), "epochs": epochs, "train_samples": samples,
            "samples_per_s": round(samples * epochs / wall, 1),
            "trials_per_hour": round(len(ended) / wall * 3600, 1),
            "gpu_oom_failures": sum(1 for row in ended
                                    if "GPU out of memory" in (row.get("reason") or "")),
            "devices": sorted({run.read_meta(t).get("device") or "?" for t in finished}),
            "objective": record.get("objective"), "direction": record.get("direction"),
            "scores": [(score, None if at is None else round(at - started_at, 1), trial)
                       for score, at, trial in scores]}


def time_to(result, target, direction):
    """Seconds until a trial reached `target` (in `direction`), or `None`."""
    better = (lambda s: s >= target) if direction == "max" else (lambda s: s <= target)
    times = [at for score, at, _ in result.get("scores", []) if at is not None and better(score)]
    return min(times) if times else None


def best(result):
    scores = [score for score, _, _ in result.get("scores", [])]
    if not scores:
        return None
    return max(scores) if result.get("direction") == "max" else min(scores)


def add_time_to_best(results):
    """`time_to_best_s` and `vs_1_worker` for each run, against its group's first arm."""
    for group in {(r["task"], r["backend"]) for r in results}:
        runs = [r for r in results if (r["task"], r["backend"]) == group]
        reference = runs[0]
        target = best(reference)
        for run in runs:
            if target is None or "scores" not in run:
                continue
            own = time_to(run, target, run["direction"])
            run["time_to_best_s"] = own if own is not None else time_to(
                run, best(run), run["direction"])
            base = time_to(reference, target, reference["direction"])
            if base and run["time_to_best_s"]:
                run["time_to_best_vs_1_worker"] = round(run["time_to_best_s"] / base, 2)


def table(results):
    lines = ["| task | backend | arm | devices | wall s | samples/s | × 1 worker | trials/h "
             "| OOM | best | time to best s (× 1 worker) |", "|" + "---|" * 11]
    for run in results:
        base = next(r for r in results if (r["task"], r["backend"]) == (run["task"],
                                                                          run["backend"]))
        if "samples_per_s" not in run:
            lines.append(f"| {run['task']} | {run['backend']} | {run['arm']} | failed (exit "
                         f"{run['exit']}) |" + " |" * 7)
            continue
        speedup = (run["samples_per_s"] / base["samples_per_s"]
                   if base.get("samples_per_s") else float("nan"))
        score = best(run)
        ttb = run.get("time_to_best_s")
        lines.append(
            f"| {run['task']} | {run['backend']} | {run['arm']} | {', '.join(run['devices'])} "
            f"| {run['wall_s']:.0f} | {run['samples_per_s']:.0f} | {speedup:.2f} "
            f"| {run['trials_per_hour']:.0f} | {run['gpu_oom_failures']} "
            f"| {'-' if score is None else f'{score:.4f}'} "
            f"| {'-' if ttb is None else f'{ttb:.0f}'}"
            f" ({run.get('time_to_best_vs_1_worker', '-')}) |")
    return "\n".join(lines)


def check():
    """The modules a search needs that this Python cannot import; the backends it can."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    present = [name for name in BACKENDS if importlib.util.find_spec(name) is not None]
    return missing, present


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=sorted(TASKS))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=None,
                        help="default: every backend installed")
    parser.add_argument("--workers-per-gpu", type=int, default=4, metavar="K")
    parser.add_argument("--max-trials", type=int, default=16)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="more overrides for every search")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny searches (2 trials, 1 epoch, 200 samples), on the CPU "
                             "when there is no GPU: checks the script, measures nothing")
    parser.add_argument("--check", action="store_true",
                        help="list missing modules and installed backends, then exit")
    parser.add_argument("--save", default=None, metavar="NAME",
                        help="also write benchmarks/results/NAME.json")
    parser.add_argument("--conditions", default="nothing else ran on the machine")
    args = parser.parse_args(argv)
    missing, present = check()
    print(f"backends installed: {', '.join(present) or 'none'}; missing modules: "
          f"{', '.join(missing) or 'none'}")
    if args.check or missing:
        return 1 if missing else 0
    backends = [b for b in (args.backends or present) if b in present]
    gpus = _gpus()
    overrides = [f"tuner.max_trials={args.max_trials}", "tuner.algorithm=random"]
    if args.dry_run:
        overrides = ["tuner.max_trials=2", "training.epochs=1", "data.subsample=200",
                     "tuner.algorithm=random"]
    overrides += args.overrides
    results = []
    for task in args.tasks:
        for backend in backends:
            for label, flags in arms(gpus, 2 if args.dry_run else args.workers_per_gpu,
                                     dry_run=args.dry_run):
                folder = tempfile.mkdtemp(prefix="kt-gpu-")
                try:
                    result = run_search(task, backend, flags, overrides, folder)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
                result.update(task=task, backend=backend, arm=label, flags=flags)
                results.append(result)
                print(f"{task} {backend} {label}: " + json.dumps(
                    {k: v for k, v in result.items() if k not in ("scores", "error")}),
                      flush=True)
                if "error" in result:
                    print(result["error"], file=sys.stderr)
    add_time_to_best(results)
    print(table(results))
    if args.save:
        import _record

        data = {"gpus": gpus, "gpu_names": _gpu_names(), "overrides": overrides,
                "dry_run": args.dry_run, "runs": results}
        print(_record.save(args.save, data, seeds="each experiment file's experiment.seed",
                           conditions=("dry run, not a measurement; " if args.dry_run else "")
                           + args.conditions))
    return 0 if all("samples_per_s" in r for r in results) else 1


def _gpu_names():
    if shutil.which("nvidia-smi") is None:
        return []
    done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()


if __name__ == "__main__":
    sys.exit(main())
