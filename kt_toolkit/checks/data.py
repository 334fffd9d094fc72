"""Data checks (C4, C8, F1, F2): finite inputs, labels, split, order, scale, lengths.

Pure NumPy/SciPy: imports no Keras. `source_finding` looks at the arrays as the
source gives them (the loader refuses NaN, so counting them needs the raw
arrays); the rest look at the `Dataset` `load_dataset` made.

Thresholds (module constants, documented in the README's "Check before you tune"):

- `inputs` fails on any NaN or infinite feature (or regression target).
- `labels` warns when the largest class is `IMBALANCE_WARN` (10) times the
  smallest, or when regression targets are far from unit scale (mean or std
  above `TARGET_SCALE_WARN`, 10): a linear output starts near 0.
- `split` fails when the validation part has classes the training part lacks;
  warns when the class shares differ by more than `SHIFT_WARN` (total
  variation 0.2).
- `order` fails when the training labels are sorted, or form fewer than
  `RUNS_RATIO_FAIL` (half) of the runs a random order gives, or one run longer
  than `LONGEST_RUN_FACTOR` (5) times the longest a random order gives (and at
  least 20); regression: rank correlation of position and target, or lag-1
  autocorrelation, above max(0.5, 4/sqrt(n)). Needs `MIN_ORDER_SAMPLES` (20).
"""

from typing import TYPE_CHECKING

import numpy as np

from kt_toolkit.checks.report import Finding
from kt_toolkit.data import registry
from kt_toolkit.data.files import read_file
from kt_toolkit.data.sources import is_own_source
from kt_toolkit.data.sequences import is_ragged

if TYPE_CHECKING:
    from kt_toolkit.config.schema import DataConfig
    from kt_toolkit.data.dataset import Dataset, RawData

__all__ = ["dataset_findings", "read_source", "source_finding"]

IMBALANCE_WARN = 10.0
TARGET_SCALE_WARN = 10.0
SHIFT_WARN = 0.2
RUNS_RATIO_FAIL = 0.5
LONGEST_RUN_FACTOR = 5.0
MIN_ORDER_SAMPLES = 20
SCALE_WARN = 10.0  # max |x| of features a model gets unstandardized


def read_source(config: "DataConfig") -> "RawData | None":
    """The `RawData` of `config.dataset` as its file or registry loader gives it;
    `None` for your own data (a loader, an image folder: `load_dataset` reads it,
    a bounded sample of a stream)."""
    if is_own_source(config):
        return None
    if registry.is_file_path(config.dataset):
        return read_file(config.dataset, target=config.target, header=config.header)
    return registry.get_entry(config.dataset).loader()


def _nonfinite(array):
    if array is None or array.dtype.kind != "f":
        return 0, 0, 0
    bad = ~np.isfinite(array)
    samples = int(bad.reshape(len(array), -1).any(axis=1).sum())
    return int(np.isnan(array).sum()), int(np.isinf(array).sum()), samples


def source_finding(raw: "RawData") -> Finding | None:
    """`inputs` as a failure when the source holds NaN/inf, else `None`."""
    if raw is None:
        return None
    counts = {}
    for name, array in (("x", raw.x), ("x_val", raw.x_val), ("y", raw.y),
                        ("y_val", raw.y_val)):
        nan, inf, samples = _nonfinite(array)
        if nan or inf:
            counts[name] = {"nan": nan, "inf": inf, "samples": samples,
                            "of": int(len(array))}
    if not counts:
        return None
    where = "; ".join(f"`{name}` {c['nan']} NaN and {c['inf']} inf in {c['samples']} of "
                      f"{c['of']} samples" for name, c in counts.items())
    columns = ""
    if "x" in counts and raw.x.ndim == 2:
        bad = np.flatnonzero(~np.isfinite(raw.x).all(axis=0))
        columns = (f" (feature columns {', '.join(map(str, bad[:10]))}"
                   + (f", … {len(bad)} in all)" if len(bad) > 10 else ")"))
    return Finding("inputs", "fail", f"non-finite values: {where}{columns}. Raw x "
                   f"{tuple(raw.x.shape)} {raw.x.dtype}.",
                   "Fill (e.g. with the column mean) or drop those samples before "
                   "tuning: one NaN input makes every loss NaN. The model checks were "
                   "skipped.", numbers={"nonfinite": counts})


def dataset_findings(data: "Dataset", raw: "RawData | None",
                     config: "DataConfig") -> list[Finding]:
    """The data findings for a loaded `Dataset` (see the module docstring).

    Args:
        data: The `kt_toolkit.data.Dataset`.
        raw: The `RawData` it came from (for token lengths), or `None`.
        config: The `DataConfig`.

    Returns:
        List of `Finding`.
    """
    findings = [_inputs(data, config)]
    if data.task == "regression":
        findings += [_targets(data), _regression_split(data), _regression_order(data, config)]
    else:
        findings += [_labels(data), _class_split(data), _class_order(data, config)]
    if data.input_kind == "tokens":
        findings.append(_lengths(data, raw))
    return findings


def _describe(name, array):
    return f"{name} {tuple(array.shape)} {array.dtype}"


def _inputs(data, config):
    x = data.x_train
    numbers = {"x_train_shape": list(x.shape), "x_val_shape": list(data.x_val.shape),
               "x_dtype": str(x.dtype), "y_dtype": str(data.y_train.dtype),
               "min": float(x.min()), "max": float(x.max()), "nan": 0, "inf": 0}
    message = (f"{_describe('x_train', x)}, {_describe('x_val', data.x_val)}, "
               f"{_describe('y_train', data.y_train)}; 0 NaN, 0 inf; values "
               f"{numbers['min']:.4g}..{numbers['max']:.4g}")
    if data.input_kind == "tokens":
        return Finding("inputs", "pass", message + f" (token ids, vocabulary "
                       f"{data.vocabulary_size}).", numbers=numbers)
    constant = int((x.reshape(len(x), -1).std(axis=0) == 0).sum())
    numbers["constant_features"] = constant
    message += f", {constant} constant feature(s)" if constant else ""
    scale = max(abs(numbers["min"]), abs(numbers["max"]))
    if data.feature_mean is None and scale > SCALE_WARN:
        return Finding("inputs", "warn", message + ", not standardized.",
                       "Set data.standardize: true (F1): inputs this large saturate "
                       "activations and make the learning rate hard to pick.",
                       numbers=numbers)
    standardized = "standardized in the model" if data.feature_mean is not None else (
        "not standardized")
    return Finding("inputs", "pass", f"{message} ({standardized}).", numbers=numbers)


def _counts(y, num_classes):
    return np.bincount(y, minlength=num_classes)


def _labels(data):
    counts = _counts(data.y_train, data.num_classes)
    present = counts[counts > 0]
    ratio = float(present.max() / present.min())
    names = data.class_names or [str(i) for i in range(data.num_classes)]
    table = ", ".join(f"{names[i]}: {int(c)}" for i, c in enumerate(counts))
    numbers = {"counts": {names[i]: int(c) for i, c in enumerate(counts)},
               "imbalance_ratio": ratio}
    message = (f"{data.num_classes} classes; training counts {table}; imbalance "
               f"(largest/smallest) {ratio:.1f}")
    if ratio >= IMBALANCE_WARN:
        return Finding("labels", "warn", message + f" (>= {IMBALANCE_WARN:g}).",
                       "Compare the natural ratio with model.space.class_balance "
                       "(class_weight, oversample, balanced_batches; E17), and prefer "
                       "a metric that sees the rare classes (AUC, A5).", numbers=numbers)
    return Finding("labels", "pass", message + ".", numbers=numbers)


def _targets(data):
    y = data.y_train.astype(np.float64)
    numbers = {"mean": float(y.mean()), "std": float(y.std()), "min": float(y.min()),
               "max": float(y.max())}
    message = (f"regression targets: mean {numbers['mean']:.4g}, std {numbers['std']:.4g},"
               f" range {numbers['min']:.4g}..{numbers['max']:.4g}")
    if max(abs(numbers["mean"]), numbers["std"]) > TARGET_SCALE_WARN or numbers["std"] < 0.1:
        return Finding("labels", "warn", message + " (far from unit scale).",
                       "A linear output starts near 0 and needs many steps at a usual "
                       "learning rate to reach targets of this scale. kt_toolkit's "
                       "builders handle it (their `target_scale` layer maps the output "
                       "through the training targets' mean and std); a model of your "
                       "own needs the same, or standardized y.", numbers=numbers)
    return Finding("labels", "pass", message + ".", numbers=numbers)


def _class_split(data):
    train = _counts(data.y_train, data.num_classes)
    val = _counts(data.y_val, data.num_classes)
    names = data.class_names or [str(i) for i in range(data.num_classes)]
    unseen = [names[i] for i in np.flatnonzero((val > 0) & (train == 0))]
    missing = [names[i] for i in np.flatnonzero((train > 0) & (val == 0))]
    shift = float(0.5 * np.abs(train / train.sum() - val / val.sum()).sum())
    numbers = {"unseen_in_training": unseen, "missing_in_validation": missing,
               "total_variation": shift}
    message = (f"class shares of training and validation differ by {shift:.2f} "
               "(total variation; 0 = same shares, 1 = no class in common)")
    if unseen:
        return Finding("split", "fail", f"the validation part has classes the training "
                       f"part never has: {', '.join(unseen)}; {message}.",
                       _ORDER_ADVICE, numbers=numbers)
    if missing or shift > SHIFT_WARN:
        extra = f"; classes absent from validation: {', '.join(missing)}" if missing else ""
        return Finding("split", "warn", message + extra + ".",
                       "Shuffle before splitting (data.shuffle: true, F2) so both parts "
                       "share a distribution.", numbers=numbers)
    return Finding("split", "pass", message + ".", numbers=numbers)


def _regression_split(data):
    y, y_val = data.y_train.astype(np.float64), data.y_val.astype(np.float64)
    shift = float(abs(y.mean() - y_val.mean()) / (y.std() or 1.0))
    numbers = {"standardized_mean_difference": shift}
    message = (f"validation targets' mean is {shift:.2f} training standard deviations "
               "from the training mean")
    if shift > 0.5:
        return Finding("split", "warn", message + " (> 0.5).", _ORDER_ADVICE,
                       numbers=numbers)
    return Finding("split", "pass", message + ".", numbers=numbers)


_ORDER_ADVICE = ("Shuffle (F2): set data.shuffle: true, or shuffle the file. With "
                 "data.shuffle: false the loader keeps the file's order and the "
                 "validation part is its last samples.")


def _runs(y):
    return int(1 + np.count_nonzero(y[1:] != y[:-1]))


def _longest_run(y):
    ends = np.r_[-1, np.flatnonzero(y[1:] != y[:-1]), len(y) - 1]
    return int(np.diff(ends).max())


def _shuffle_note(config):
    return (" data.shuffle is false: the loader keeps the file's order."
            if not config.shuffle else "")


def _class_order(data, config):
    y = data.y_train
    n = len(y)
    if n < MIN_ORDER_SAMPLES:
        return Finding("order", "skip", f"{n} training samples: too few to judge the "
                       "order." + _shuffle_note(config))
    counts = np.bincount(y).astype(np.float64)
    expected_runs = float(n - (counts * (counts - 1)).sum() / n)
    runs, longest = _runs(y), _longest_run(y)
    share = counts.max() / n
    expected_longest = (float(np.log(n * (1 - share)) / np.log(1 / share))
                        if 0 < share < 1 else float(n))
    is_sorted = bool(np.all(y[1:] >= y[:-1]) or np.all(y[1:] <= y[:-1]))
    ratio = runs / expected_runs
    numbers = {"runs": runs, "expected_runs": expected_runs, "runs_ratio": ratio,
               "longest_run": longest, "expected_longest_run": expected_longest,
               "sorted": is_sorted, "shuffle": config.shuffle}
    message = (f"training labels form {runs} runs of equal labels where a random order "
               f"gives ~{expected_runs:.0f} (ratio {ratio:.2f}); longest run {longest} "
               f"(random: ~{expected_longest:.0f})")
    ordered = is_sorted or ratio < RUNS_RATIO_FAIL or longest > max(
        20, LONGEST_RUN_FACTOR * expected_longest)
    if ordered:
        what = "sorted by label" if is_sorted else "in long blocks of one label"
        return Finding("order", "fail", f"the training part is {what}, not shuffled: "
                       f"{message}.{_shuffle_note(config)}", _ORDER_ADVICE, numbers=numbers)
    return Finding("order", "pass", f"looks shuffled: {message}.{_shuffle_note(config)}",
                   numbers=numbers)


def _regression_order(data, config):
    from scipy.stats import spearmanr

    y = data.y_train.astype(np.float64)
    n = len(y)
    if n < MIN_ORDER_SAMPLES or y.std() == 0:
        return Finding("order", "skip", f"{n} training samples: too few (or constant "
                       "targets) to judge the order." + _shuffle_note(config))
    rho = float(spearmanr(np.arange(n), y)[0])
    centred = y - y.mean()
    lag1 = float((centred[1:] * centred[:-1]).sum() / (centred ** 2).sum())
    limit = max(0.5, 4.0 / np.sqrt(n))
    numbers = {"rank_correlation_with_position": rho, "lag1_autocorrelation": lag1,
               "limit": limit, "shuffle": config.shuffle}
    message = (f"rank correlation of position and target {rho:+.2f}, lag-1 "
               f"autocorrelation {lag1:+.2f} (random order: |value| < {limit:.2f})")
    if abs(rho) > limit or lag1 > limit:
        return Finding("order", "fail", f"the training part is ordered by target, not "
                       f"shuffled: {message}.{_shuffle_note(config)}", _ORDER_ADVICE,
                       numbers=numbers)
    return Finding("order", "pass", f"looks shuffled: {message}.{_shuffle_note(config)}",
                   numbers=numbers)


def _lengths(data, raw):
    if raw is not None and is_ragged(raw.x):
        lengths = np.array([len(s) for s in raw.x])
        source = "all sequences of the source"
    else:  # padded at the end with 0: the length is the last non-zero position + 1
        nonzero = data.x_train != 0
        lengths = np.where(nonzero.any(axis=1),
                           data.x_train.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)
        source = "training sequences as padded"
    padding = int(data.x_train.shape[1])
    percentiles = {f"p{q}": float(np.percentile(lengths, q)) for q in (50, 90, 95, 99)}
    truncated = float(np.mean(lengths > padding))
    numbers = dict(percentiles, max=int(lengths.max()), padding_length=padding,
                   truncated_share=truncated)
    shown = ", ".join(f"{k} {v:.0f}" for k, v in percentiles.items())
    return Finding("sequence_lengths", "pass", f"lengths of {source}: {shown}, max "
                   f"{numbers['max']}; padded to {padding} tokens (the training 90th "
                   f"percentile, C8), which truncates {truncated:.1%}.", numbers=numbers)
