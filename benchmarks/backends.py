"""Each builder trains under the current Keras backend: a tiny real search per builder.

    KERAS_BACKEND=jax   python benchmarks/backends.py
    KERAS_BACKEND=torch python benchmarks/backends.py
    python benchmarks/backends.py            # TensorFlow

For each builder: a 2-trial random search (3 epochs) on bundled or generated data,
then the best model is saved, reloaded with `keras.saving.load_model` and evaluated.
Prints one line per builder (backend, score, reloaded score, seconds) and whether
TensorFlow was imported.
"""

import os
import sys
import tempfile
import time

import keras

from kt_toolkit.config import config_from_dict
from kt_toolkit.experiment import run_experiment

CASES = {
    "mlp": ("digits", {"num_layers": 1, "units": [32, 64]}),
    "cnn": ("digits_images", {"num_blocks": 1, "filters": [16, 32], "dense_units": 0,
                              "lr_schedule": ["constant", "cosine"]}),
    "sequence": ("synthetic_sentiment", {"num_layers": 1, "units": 32, "embedding_dim": 64,
                                         "cell": ["gru", "lstm"], "dropout": 0.2,
                                         "lr_schedule": ["constant", "noam"]}),
}


def main():
    folder = tempfile.mkdtemp(prefix="kt_backends_")
    for builder, (dataset, space) in CASES.items():
        config = config_from_dict({
            "experiment": {"name": f"{builder}_{keras.backend.backend()}", "seed": 0},
            "data": {"dataset": dataset, "subsample": 800},
            "model": {"builder": builder, "space": space},
            "tuner": {"algorithm": "random", "max_trials": 2},
            "training": {"epochs": 3, "batch_size": 64},
            "output": {"directory": folder},
        })
        started = time.perf_counter()
        result = run_experiment(config)
        seconds = time.perf_counter() - started
        model = keras.saving.load_model(result.best_model_path)
        from kt_toolkit.data import load_dataset

        data = load_dataset(config.data, seed=0)
        reloaded = model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
        key = result.objective.removeprefix("val_")
        print(f"{keras.backend.backend():10s} {builder:9s} trials={len(result.trials)} "
              f"completed={result.count('COMPLETED')} {result.objective}={result.best_score:.4f} "
              f"reloaded {key}={reloaded[key]:.4f} seconds={seconds:.1f}", flush=True)
    print("tensorflow imported:", "tensorflow" in sys.modules)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
