"""`proxy_check`: can a search on a cheap proxy (D1, D2) be trusted?

A search on a subsample (`data.subsample`) or on fewer classes (`data.classes`)
is fast; it is only useful if it ranks settings the way the full data would.
`proxy_check` retrains the proxy search's top trials on the full data (same
epochs, same callbacks) and reports the Spearman rank correlation between the
proxy scores and the full scores: the number that says whether to trust it.
"""

import copy
import dataclasses
import logging
import math
import os
from typing import TYPE_CHECKING, Any

import keras
import keras_tuner

from kt_toolkit._io import atomic_write_text, write_csv
from kt_toolkit.analysis import load_study
from kt_toolkit.analysis.search import distinct_configurations
from kt_toolkit.callbacks import default_callbacks
from kt_toolkit.data import load_dataset
from kt_toolkit.errors import ConfigError
from kt_toolkit.hypermodels import build_hypermodel
from kt_toolkit.rundir import RunDirectory
from kt_toolkit.rundir.layout import PROXY_CSV, PROXY_MD
from kt_toolkit.tuners import resolve_objective

if TYPE_CHECKING:
    from kt_toolkit.config.schema import ExperimentConfig

__all__ = ["DOUBT_RHO", "ProxyCheck", "TRUST_RHO", "check_proxy_arguments", "proxy_check"]

logger = logging.getLogger(__name__)
TRUST_RHO = 0.7  # ρ ≥ this: the proxy ranks settings like the full data
DOUBT_RHO = 0.3  # ρ < this: its ranking says little about the full data


@dataclasses.dataclass
class ProxyCheck:
    """The proxy search's top trials, retrained on the full data.

    Attributes:
        rows: List of dicts: trial_id, proxy (score in the proxy search),
            full (best score on the full data), epochs.
        rho: Float, Spearman's rank correlation of proxy and full scores, or
            `None` with fewer than 3 trials or constant scores.
        p_value: Float or `None`.
        verdict: String, one sentence: trust, doubt or distrust the proxy.
        path: String, the Markdown summary written into the run directory.
    """

    rows: list[dict[str, Any]]
    rho: float | None
    p_value: float | None
    verdict: str
    path: str


def check_proxy_arguments(config: "ExperimentConfig", top_k: int) -> None:
    """Raises `ConfigError` unless `config` searches a proxy and `top_k` >= 2."""
    if config.stages:
        raise ConfigError("--proxy-check checks one search; this file has `stages`. Run a "
                          "stage's settings as a plain experiment to check its proxy.",
                          key="stages")
    if config.data.subsample is None and config.data.classes is None:
        raise ConfigError("--proxy-check needs a proxy to check: set `data.subsample` (D1) "
                          "or `data.classes` (D2). Received: subsample=None, classes=None.",
                          key="data.subsample")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 2:
        raise ConfigError(f"`--proxy-top-k` must be an integer >= 2. Received: {top_k!r}.")


def _full_config(config):
    """The same experiment without the proxy: all training data, every class."""
    full = copy.deepcopy(config)
    full.data.subsample = None
    full.data.classes = None
    # The retrain measures the full score: nothing may cut it short but early stopping.
    full.training.callbacks.median_pruning.enabled = False
    full.training.callbacks.chance_pruning.enabled = False
    return full


def _hyperparameters(run_dir, trial_id):
    record = RunDirectory(run_dir).trial_record(trial_id)
    return keras_tuner.HyperParameters.from_config(record["hyperparameters"])


def _retrain(hypermodel, hp, data, config, objective, direction):
    """Trains one setting on the full data; returns (best score, epochs run)."""
    keras.utils.set_random_seed(config.experiment.seed)
    epochs = config.training.epochs
    if config.tuner.algorithm == "hyperband":
        epochs = config.tuner.max_epochs or epochs
    callbacks = default_callbacks(config.training.callbacks, objective=objective,
                                  direction=direction)
    try:
        model = hypermodel.build(hp)
        history = hypermodel.fit(hp, model, data.x_train, data.y_train,
                                 validation_data=(data.x_val, data.y_val), epochs=epochs,
                                 batch_size=config.training.batch_size, callbacks=callbacks,
                                 verbose=0)
    except Exception as error:  # noqa: BLE001 - one failed retrain is a row, not a crash
        logger.warning("proxy check: retraining failed (%s: %s)", type(error).__name__, error)
        return None, 0
    values = [v for v in history.history.get(objective, []) if math.isfinite(v)]
    if not values:
        return None, len(history.history.get("loss", []))
    best = max(values) if direction == "max" else min(values)
    return float(best), len(history.history.get("loss", []))


def _spearman(rows):
    from scipy import stats

    pairs = [(r["proxy"], r["full"]) for r in rows if r["full"] is not None]
    if len(pairs) < 3 or len({p for p, _ in pairs}) < 2 or len({f for _, f in pairs}) < 2:
        return None, None
    result = stats.spearmanr([p for p, _ in pairs], [f for _, f in pairs])
    return float(result.statistic), float(result.pvalue)


def _verdict(rho, count):
    if rho is None:
        return ("Too few distinct scores to rank: retrain more trials (--proxy-top-k) "
                "before trusting the proxy.")
    if rho >= TRUST_RHO:
        return (f"Spearman ρ = {rho:.2f} over {count} trials: the proxy ranks settings like "
                "the full data; keep tuning on it (D1, D2).")
    if rho >= DOUBT_RHO:
        return (f"Spearman ρ = {rho:.2f} over {count} trials: the proxy only partly agrees "
                "with the full data; use a larger subsample or more classes, and confirm "
                "the winner on the full data.")
    return (f"Spearman ρ = {rho:.2f} over {count} trials: the proxy's ranking says little "
            "about the full data; do not tune on it.")


def proxy_check(config: "ExperimentConfig", run_dir: str, *, top_k: int = 5) -> ProxyCheck:
    """Retrains the proxy search's `top_k` best trials on the full data.

    Args:
        config: The `ExperimentConfig` of the proxy search (with `data.subsample`
            and/or `data.classes`).
        run_dir: String, that search's run directory.
        top_k: Integer, how many of its best trials to retrain. Defaults to `5`.

    Returns:
        A `ProxyCheck`; `proxy_check.csv` and `proxy_check.md` are written into
        `run_dir`.

    Raises:
        ConfigError: when the config has no proxy, or `top_k` < 2.
    """
    check_proxy_arguments(config, top_k)
    full = _full_config(config)
    study = load_study(run_dir)
    # Hyperband trains one configuration in several rounds (trials): each
    # configuration once, with its best round's score.
    best = distinct_configurations(study, study.best(len(study.rows)))[:top_k]
    data = load_dataset(full.data, seed=full.experiment.seed)
    objective, direction = resolve_objective(full.tuner, data.task)
    hypermodel = build_hypermodel(full, data)
    rows = []
    for row in best:
        hp = _hyperparameters(run_dir, row["trial_id"])
        score, epochs = _retrain(hypermodel, hp, data, full, objective, direction)
        logger.info("proxy check: trial %s proxy %s=%.4f, full data %s", row["trial_id"],
                    study.objective, row["objective"],
                    "failed" if score is None else f"{score:.4f}")
        rows.append({"trial_id": row["trial_id"], "proxy": row["objective"], "full": score,
                     "epochs": epochs})
    rho, p_value = _spearman(rows)
    verdict = _verdict(rho, len(rows))
    path = _write(run_dir, rows, rho, p_value, verdict, study.objective, config)
    return ProxyCheck(rows=rows, rho=rho, p_value=p_value, verdict=verdict, path=path)


def _write(run_dir, rows, rho, p_value, verdict, objective, config):
    write_csv(os.path.join(run_dir, PROXY_CSV), rows)
    proxy = ", ".join(f"{k}={v}" for k, v in (("subsample", config.data.subsample),
                                               ("classes", config.data.classes)) if v)
    lines = [f"# Proxy check ({proxy} → full data)", "",
             f"The proxy search's {len(rows)} best trials, retrained on the full data "
             f"with the same settings; `{objective}` at the best epoch.", "",
             "| trial | proxy | full data |", "|---|---|---|"]
    lines += [f"| {r['trial_id']} | {r['proxy']:.4f} | "
              + ("failed" if r["full"] is None else f"{r['full']:.4f}") + " |" for r in rows]
    if rho is not None:
        lines += ["", f"Spearman ρ = {rho:.3f} (p = {p_value:.3g})."]
    lines += ["", verdict, ""]
    path = os.path.join(run_dir, PROXY_MD)
    atomic_write_text(path, "\n".join(lines))
    return path
