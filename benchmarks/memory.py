"""Process RSS over many small trials in one search (issue 6: memory growth).

    python benchmarks/memory.py --trials 100            # RSS table every 10 trials

Runs a random search of tiny MLPs on digits in this process and reads the resident
set size (/proc/self/status) after each trial. Prints trial count vs MB and the
growth from trial 10 (after TensorFlow's one-time allocations) to the last.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--vanilla", action="store_true",
                        help="plain keras_tuner.RandomSearch (no kt_toolkit recording), "
                             "to tell KerasTuner/Keras growth from ours")
    args = parser.parse_args()

    import keras

    from kt_toolkit.callbacks import default_callbacks
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.data import load_dataset
    from kt_toolkit.runner import build_hypermodel, prepare_run_dir
    from kt_toolkit.tuners import build_tuner, resolve_objective

    folder = tempfile.mkdtemp()
    config = config_from_dict({
        "experiment": {"name": "memory", "seed": 1},
        "data": {"dataset": "digits", "subsample": 400},
        "model": {"space": {"num_layers": {"min": 1, "max": 2}, "units": [16, 32, 64],
                            "optimizer": "adam", "lr_schedule": "constant"}},
        "tuner": {"algorithm": "random", "max_trials": args.trials},
        "training": {"epochs": args.epochs, "batch_size": 64},
        "output": {"directory": folder, "report": False}})
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


if __name__ == "__main__":
    main()
