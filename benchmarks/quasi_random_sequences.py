"""Why quasi-random search uses scrambled Halton and not Sobol' (the figures in
`kt_toolkit/tuners/quasi_random.py`'s docstring).

    python benchmarks/quasi_random_sequences.py [--seeds 300] [--save]

On the default MLP space with the 7 optimizers of the wide space (adam, adamw,
nadam, rmsprop, sgd, adagrad, adadelta; every non-fixed knob one dimension, mapped
with KerasTuner's own `prob_to_value`, as the oracle does), for scrambled Sobol',
scrambled Halton (scipy.stats.qmc) and plain random points, one sequence per seed:

- `nesterov stuck`: seeds in which every `sgd` point (at least 2) has the same
  `nesterov` value, at 16, 32, 64 and 128 points;
- `empty cells`: over every pair of discrete knobs with 2-7 x 2-3 values, the share
  of grid cells no point falls in, at 128 points (mean over seeds);
- `L2-star discrepancy` of the continuous knobs at 128 points (median over seeds).

Imports Keras only to build the space. No training: a few seconds.
"""

import argparse
import itertools
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from scipy.stats import qmc  # noqa: E402

BUDGETS = (16, 32, 64, 128)
OPTIMIZERS = ["adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad", "adadelta"]


def space():
    """The non-fixed hyperparameters of HyperMLP with 7 optimizers, in order."""
    import keras_tuner
    from keras_tuner.src.engine import hyperparameters as hp_module

    from kt_toolkit.hypermodels import HyperMLP

    hp = keras_tuner.HyperParameters()
    HyperMLP((64,), num_classes=10, space={"optimizer": OPTIMIZERS}).build(hp)
    return [h for h in hp.space if not isinstance(h, hp_module.Fixed)]


def points(engine, dimensions, seed, count):
    if engine == "random":
        return np.random.default_rng(seed).random((count, dimensions))
    cls = qmc.Sobol if engine == "sobol" else qmc.Halton
    return cls(dimensions, scramble=True, seed=seed).random(count)


def domain(hp):
    """Every value of a discrete knob (`None` for a continuous one)."""
    kind = type(hp).__name__
    if kind == "Boolean":
        return [False, True]
    if kind == "Choice" or kind == "Int" or getattr(hp, "step", None) is not None:
        return list(hp.values)
    return None


def measure(hps, engine, seeds):
    names = [h.name for h in hps]
    opt, nest = names.index("optimizer"), names.index("nesterov")
    discrete = [i for i, h in enumerate(hps) if domain(h) is not None]
    continuous = [i for i, h in enumerate(hps) if domain(h) is None]
    sizes = {i: len(domain(hps[i])) for i in discrete}
    pairs = [(i, j) for i, j in itertools.permutations(discrete, 2)
             if 2 <= sizes[i] <= 7 and 2 <= sizes[j] <= 3 and (sizes[i] > 3 or i < j)]
    stuck = {n: 0 for n in BUDGETS}
    empty, discrepancy = [], []
    for seed in range(seeds):
        u = points(engine, len(hps), seed, max(BUDGETS))
        values = {i: [hps[i].prob_to_value(float(x)) for x in u[:, i]] for i in discrete}
        for n in BUDGETS:
            sgd = [values[nest][k] for k in range(n) if values[opt][k] == "sgd"]
            stuck[n] += len(sgd) >= 2 and len(set(sgd)) == 1
        cells = hit = 0
        for i, j in pairs:
            cells += sizes[i] * sizes[j]
            hit += len(set(zip(values[i], values[j])))
        empty.append((cells - hit) / cells)
        discrepancy.append(qmc.discrepancy(u[:, continuous], method="L2-star"))
    return {"nesterov_stuck": stuck, "empty_cells": float(np.mean(empty)),
            "l2_star_discrepancy": float(statistics.median(discrepancy)),
            "pairs": len(pairs), "continuous": len(continuous)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/quasi_random_sequences.json")
    args = parser.parse_args(argv)
    hps = space()
    results = {engine: measure(hps, engine, args.seeds)
               for engine in ("sobol", "halton", "random")}
    print(f"{len(hps)} dimensions, {args.seeds} seeds")
    for engine, row in results.items():
        print(f"{engine:>7}: nesterov stuck {row['nesterov_stuck']} of {args.seeds}; "
              f"empty cells at 128 points {100 * row['empty_cells']:.2f} % "
              f"({row['pairs']} pairs); L2-star discrepancy of {row['continuous']} "
              f"continuous knobs {row['l2_star_discrepancy']:.4g}")
    if args.save:
        import _record

        print(_record.save("quasi_random_sequences",
                           {"dimensions": len(hps), "engines": results},
                           seeds=f"0..{args.seeds - 1} (scramble seed of each sequence)",
                           conditions="no training, no timings"))


if __name__ == "__main__":
    main()
