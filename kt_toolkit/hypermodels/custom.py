"""Your own model: `model.builder: "package.module:Name"`.

`Name` is a `keras_tuner.HyperModel` subclass (or instance; its own `fit` is
honoured), a `kt_toolkit.hypermodels.TunableModel` subclass, or a plain
`build(hp)` function returning a compiled model. The module is imported from
`model.module_dir` (the experiment file's folder) or an installed package.

Its search space is what its `build(hp)` declares, found as KerasTuner finds it:
by building once with a fresh `HyperParameters`. Each declared hyperparameter
becomes a `kt_toolkit.config.space.Knob`, so `model.space` fixes or re-ranges it
with the builders' rules and errors, and the resolved space is written into the
run's `config.yaml` (the domains the report, stages and HParams read).

Example:

```python
import keras, keras_tuner
from kt_toolkit.hypermodels.custom import UserModel

def build(hp):
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(hp.Int("units", 8, 32, step=8)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

hypermodel = UserModel(build, space={"units": 16})
print(hypermodel.space)  # {'units': {'fixed': 16}}
```
"""

import contextlib
import dataclasses
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import keras
import keras_tuner

from kt_toolkit._imports import load_object
from kt_toolkit.config.space import Knob, register, resolve_space
from kt_toolkit.errors import ConfigError, invalid
from kt_toolkit.config.tasks import resolve_objective
from kt_toolkit.hypermodels.base import TunableModel
from kt_toolkit.hypermodels.metrics import check_logged_objective

if TYPE_CHECKING:
    from kt_toolkit.config.schema import ExperimentConfig
    from kt_toolkit.data.dataset import Dataset

__all__ = ["UserModel", "build_user_model", "declared_knobs", "load_user_object"]

_KEY = "model.builder"


def load_user_object(builder: str, module_dir: str | None = None) -> Any:
    """Imports `Name` from `"package.module:Name"`, `module_dir` first on `sys.path`.

    Raises:
        ConfigError: the module does not import (with the import error's own
            message), or has no attribute `Name`.
    """
    return load_object(builder, module_dir, key=_KEY)


def _accepted(cls, data):
    """The keywords among `input_shape`, `num_classes`, `task` that `cls.__init__` takes."""
    offered = {"input_shape": tuple(data.input_shape), "num_classes": data.num_classes,
               "task": data.task}
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return offered
    return {name: value for name, value in offered.items() if name in parameters}


def _knob(entry) -> Knob:
    """A KerasTuner hyperparameter as a `Knob` (Choice, Int, Float, Boolean, Fixed)."""
    name = entry.name
    if isinstance(entry, keras_tuner.engine.hyperparameters.Boolean):
        return Knob(name, "bool", entry.default, values=(False, True))
    if isinstance(entry, keras_tuner.engine.hyperparameters.Choice):
        values = tuple(entry.values)
        kind = "bool" if all(isinstance(v, bool) for v in values) else "choice"
        return Knob(name, kind, entry.default, values=values)
    if isinstance(entry, keras_tuner.engine.hyperparameters.Fixed):
        value = entry.value
        kind = ("bool" if isinstance(value, bool) else "int" if isinstance(value, int)
                else "float" if isinstance(value, float) else "choice")
        numeric = kind in ("int", "float")
        return Knob(name, kind, value, min_value=value if numeric else None,
                    max_value=value if numeric else None,
                    values=() if numeric else (value,), tuned=False)
    kind = "int" if isinstance(entry, keras_tuner.engine.hyperparameters.Int) else "float"
    step = entry.step
    if kind == "int" and step == 1 and entry.sampling == "linear":
        step = None  # KerasTuner's default step: every integer
    return Knob(name, kind, entry.default, min_value=entry.min_value,
                max_value=entry.max_value, step=step, sampling=entry.sampling or "linear")


def _conditions(entry):
    """`[(parent name, values), ...]` of a conditional hyperparameter."""
    return [(c.name, tuple(c.values)) for c in entry.conditions
            if hasattr(c, "values")]


def declared_knobs(build) -> tuple[tuple[Knob, ...], dict[str, list]]:
    """The knobs `build(hp)` declares (one build with a fresh `HyperParameters`).

    Returns:
        `(knobs, conditions)`: knobs in declaration order, and for each
        conditional one its `[(parent, values)]`.

    Raises:
        ConfigError: when the build raises (its message included).
    """
    hp = keras_tuner.HyperParameters()
    try:
        build(hp)
    except Exception as error:  # noqa: BLE001 - the user's build, reported as such
        raise ConfigError(f"Building your model once with its default hyperparameters "
                          f"(to find its search space) failed: {type(error).__name__}: "
                          f"{error}. Fix its build(hp).", key=_KEY) from error
    finally:
        keras.backend.clear_session()
    knobs, conditions = [], {}
    for entry in hp.space:
        if any(k.name == entry.name for k in knobs):
            continue  # one name under two conditions: the first declaration stands
        parents = _conditions(entry)
        knob = _knob(entry)
        if len(parents) == 1:
            knob = dataclasses.replace(knob, parent=parents[0])
        knobs.append(knob)
        if parents:
            conditions[entry.name] = parents
    return tuple(knobs), conditions


class UserModel(keras_tuner.HyperModel):
    """The user's HyperModel or `build(hp)` function with `model.space` applied.

    `model.space` entries are declared on `hp` before the user's build runs, so
    the build's own `hp.Int(...)`/`hp.Choice(...)` calls get the overriding
    hyperparameter (KerasTuner's `hyperparameters=` with `tune_new_entries`).

    Args:
        target: A `keras_tuner.HyperModel` instance or a `build(hp)` callable.
        space: Optional dict from a declared hyperparameter's name to a fixed
            value, a range `{min, max, step, sampling, default}` or choices.
        discrete: Boolean, whether every range must be finite (grid search).
        name: Optional string, the hypermodel's name.

    Raises:
        ConfigError: a name in `space` that `target` does not declare (the
            closest declared name suggested), or a bad spec.
    """

    declares_whole_space = False  # a model build may declare more than `declare`

    def __init__(self, target: Any, *, space: Mapping[str, Any] | None = None,
                 discrete: bool = False, name: str | None = None) -> None:
        build = target.build if isinstance(target, keras_tuner.HyperModel) else target
        super().__init__(name=name or getattr(target, "__name__", type(target).__name__),
                         tunable=True)
        self.target = target
        self.target_build = build
        self.knobs, self.conditions = declared_knobs(build)
        self.space = resolve_space(self.knobs, space, key="model.space", discrete=discrete)

    def declare(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """Declares every hyperparameter as `model.space` resolved it; their values."""
        values = {}
        for knob in self.knobs:
            with contextlib.ExitStack() as scopes:
                for parent, parent_values in self.conditions.get(knob.name, ()):
                    scopes.enter_context(hp.conditional_scope(parent, list(parent_values)))
                values[knob.name] = register(hp, knob, self.space[knob.name])
        return values

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        self.declare(hp)
        return self.target_build(hp)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any,
            **kwargs: Any) -> Any:
        if isinstance(self.target, keras_tuner.HyperModel):
            return self.target.fit(hp, model, *args, **kwargs)
        return model.fit(*args, **kwargs)


def build_user_model(config: "ExperimentConfig", data: "Dataset") -> keras_tuner.HyperModel:
    """The experiment's own model for `data`; sets `config.model.space` to its resolved space.

    A `TunableModel` subclass is made through `from_data` like the builders; a
    `HyperModel` subclass with no arguments, or with those of `input_shape`,
    `num_classes` and `task` its `__init__` accepts; a `HyperModel` instance or a
    `build(hp)` function as it is.

    Raises:
        ConfigError: see `load_user_object`; an object that is none of those kinds.
    """
    model = config.model
    target = load_user_object(model.builder, model.module_dir)
    space = dict(model.space or {})
    discrete = config.tuner.algorithm == "grid"
    training = config.training
    if inspect.isclass(target) and issubclass(target, TunableModel):
        knobs = target.knobs
        if "batch_size" not in space and any(k.name == "batch_size" for k in knobs):
            space["batch_size"] = training.batch_size  # E8, as for the builders
        space = resolve_space(knobs, space, key="model.space", discrete=discrete)
        hypermodel = target.from_data(data, space=space, discrete=discrete,
                                      seed=config.experiment.seed,
                                      mixed_precision=training.mixed_precision,
                                      jit_compile=training.jit_compile,
                                      steps_per_execution=training.steps_per_execution,
                                      objective=config.tuner.objective,
                                      module_dir=model.module_dir)
    elif inspect.isclass(target) and issubclass(target, keras_tuner.HyperModel):
        try:
            instance = target(**_accepted(target, data))
        except Exception as error:  # noqa: BLE001 - the user's constructor
            raise ConfigError(f"Creating {model.builder} failed: {type(error).__name__}: "
                              f"{error}. Its __init__ may take input_shape, num_classes "
                              "and task keywords, and nothing else without a default.",
                              key=_KEY) from error
        hypermodel = UserModel(instance, space=space, discrete=discrete)
    elif isinstance(target, keras_tuner.HyperModel) or (
            callable(target) and not inspect.isclass(target)):
        hypermodel = UserModel(target, space=space, discrete=discrete)
    else:
        raise invalid(_KEY, "a keras_tuner.HyperModel subclass or instance, a TunableModel "
                      "subclass, or a build(hp) function", model.builder,
                      f"It names {type(target).__name__} {target!r:.60}.")
    model.space = hypermodel.space
    if isinstance(hypermodel, UserModel):
        _check_objective(hypermodel, config, data)
    return hypermodel


def _check_objective(hypermodel: UserModel, config: "ExperimentConfig",
                     data: "Dataset") -> None:
    """Builds the model once more (defaults) and checks that it logs the objective."""
    objective, _ = resolve_objective(config.tuner.objective, config.tuner.direction,
                                     data.task)
    target = hypermodel.target
    own_fit = (isinstance(target, keras_tuner.HyperModel)
               and type(target).fit is not keras_tuner.HyperModel.fit)
    try:
        built = hypermodel.build(keras_tuner.HyperParameters())
        check_logged_objective(built, objective, data.x_train, data.y_train,
                               builder=config.model.builder, own_fit=own_fit)
    finally:
        keras.backend.clear_session()
