"""E11 measured: the default MLP on digits with L2 = 0, 1e-4, 1e-2 and 1.0.

Keras's `L2(l)` adds `l * sum(w**2)` over every kernel weight, so E11's "1.0 first"
(a per-example weight-decay convention) is far stronger here. This prints the
validation accuracy after 20 epochs for each strength; it justifies the default
`l2` of 1e-4 (E11's weight-decay value) while the range still reaches 1.0 and 10.

Run: python benchmarks/l2_prior.py [--save]    # --save: benchmarks/results/l2_prior.json
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from kt_toolkit.hypermodels import HyperMLP  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/l2_prior.json")
    args = parser.parse_args()
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y,
                                                      random_state=0)
    mean, var = x_train.mean(0), x_train.var(0)
    var[var == 0] = 1.0
    rows = []
    for strength in (None, 1e-4, 1e-2, 1.0):
        keras.utils.set_random_seed(0)
        space = {"regularizer": "none"} if strength is None else {"l2": strength}
        model = HyperMLP((64,), num_classes=10, space=space, feature_mean=mean,
                         feature_variance=var).build(keras_tuner.HyperParameters())
        model.fit(x_train, y_train, epochs=20, batch_size=64, verbose=0)
        accuracy = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
        print(f"l2={strength!s:>7}  val_accuracy={accuracy:.3f}")
        rows.append({"l2": strength, "val_accuracy": accuracy})
    if args.save:
        import _record

        print(_record.save("l2_prior", {"epochs": 20, "rows": rows},
                           seeds={"keras.utils.set_random_seed": 0, "split": 0},
                           conditions="one process, one fit per strength (n=1)"))


if __name__ == "__main__":
    main()
