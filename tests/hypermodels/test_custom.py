"""Your own model, `model.builder: "module:Name"` (issue 14, item 1).

Each kind (a `build(hp)` function, a `keras_tuner.HyperModel` with its own `fit`, a
`TunableModel` subclass) is copied from `examples/` into a temporary folder under
a fresh module name — a folder that is not on the test process's `sys.path` — and
tuned through `kt-toolkit tune` on 300 digits, 1 epoch, 2 trials.
"""

import glob
import os
import sys
import uuid

import pytest
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
KINDS = {"function": ("build_function", "build"),
         "hypermodel": ("hypermodel_fit", "ShuffledMLP"),
         "tunable": ("tunable_model", "WideAndDeep")}
DECLARED = {"function": ["num_layers", "units", "dropout", "learning_rate"],
            "hypermodel": ["units", "learning_rate"],
            "tunable": ["depth", "width", "optimizer", "learning_rate"]}


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


@pytest.fixture
def own(tmp_path, monkeypatch):
    """`own(kind, source=None, attr=None, **sections)`: the path of an experiment file
    next to a fresh copy of the example module of `kind` (or `source`)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules = []

    def make(kind, *, source=None, attr=None, **sections):
        example, default_attr = KINDS.get(kind, ("", "build"))
        module = f"own_{kind}_{uuid.uuid4().hex[:8]}"
        folder = tmp_path / "project"
        folder.mkdir(exist_ok=True)
        if source is None:
            with open(os.path.join(EXAMPLES, f"{example}.py"), encoding="utf-8") as handle:
                source = handle.read()
        (folder / f"{module}.py").write_text(source)
        modules.append(module)
        raw = {"experiment": {"name": kind, "seed": 1},
               "data": {"dataset": "digits", "subsample": 300},
               "model": {"builder": f"{module}:{attr or default_attr}"},
               "tuner": {"algorithm": "random", "max_trials": 2},
               "training": {"epochs": 1, "batch_size": 64},
               "output": {"directory": str(tmp_path / "runs"), "run_name": kind,
                          "report": False}}
        _merge(raw, sections)
        path = folder / f"{kind}.yaml"
        path.write_text(yaml.safe_dump(raw))
        assert str(folder) not in sys.path
        return str(path)

    yield make
    for module in modules:
        sys.modules.pop(module, None)


def _rows(run_dir):
    return read_csv(os.path.join(run_dir, "trials.csv"))


def _stored_space(run_dir):
    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["model"]["space"]


# The function's run also fixes and re-ranges what it declares (`model.space`).
OVERRIDES = {"function": {"num_layers": 2, "units": {"values": [32, 128]},
                          "dropout": {"min": 0.1, "max": 0.2, "step": 0.1}}}


@pytest.mark.parametrize("kind,algorithm", [("function", "tpe"), ("hypermodel", "random"),
                                            ("tunable", "bayesian")])
def test_each_kind_tunes_end_to_end_from_its_own_folder(own, tmp_path, kind, algorithm,
                                                       hparams_names):
    path = own(kind, tuner={"algorithm": algorithm},
               model={"space": OVERRIDES.get(kind, {})},
               output={"report": kind == "function"})
    assert main(["tune", path]) == 0
    run_dir = str(tmp_path / "runs" / kind)
    rows = _rows(run_dir)
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    space = _stored_space(run_dir)
    assert list(space)[:len(DECLARED[kind])] == DECLARED[kind]  # declaration order
    hparams = hparams_names(run_dir)
    assert set(DECLARED[kind]) <= set(rows[0])
    assert os.path.exists(os.path.join(run_dir, "best", "model.keras"))
    if kind == "hypermodel":  # its own fit ran: it declared these there
        assert {"units", "learning_rate"} <= set(hparams)
        assert {"batch_size", "shuffle"} <= set(rows[0])
        assert {row["batch_size"] for row in rows} <= {"16", "32", "64"}
    if kind == "tunable":  # the TunableModel's shared knobs, with their priors
        assert {"depth", "width", "optimizer", "learning_rate"} <= set(hparams)
        assert space["beta_1"] == {"fixed": 0.9} and space["batch_size"] == {"fixed": 64}
    if kind == "function":
        assert os.path.exists(os.path.join(run_dir, "report.md"))
        assert space["num_layers"] == {"fixed": 2}
        assert space["units"] == {"values": [32, 128], "default": 32}
        assert space["learning_rate"]["sampling"] == "log"  # as the model declares it
        assert {row["num_layers"] for row in rows} == {"2"}
        assert {row["units"] for row in rows} <= {"32", "128"}
        assert {row["dropout"] for row in rows} <= {"0.1", "0.2"}
        assert {"units", "dropout", "learning_rate"} <= set(hparams)
        assert "num_layers" not in hparams  # fixed: not a tuned knob


@pytest.mark.parametrize("algorithm", ["grid", "hyperband", "quasi_random"])
def test_every_other_algorithm_searches_the_declared_space(own, tmp_path, algorithm):
    path = own("function", tuner={"algorithm": algorithm, "max_epochs": 2},
               model={"space": {"num_layers": 1, "dropout": 0.0,
                                "learning_rate": {"min": 1e-3, "max": 1e-2, "step": 10,
                                                  "sampling": "log"}}})
    assert main(["tune", path]) == 0
    rows = _rows(str(tmp_path / "runs" / "function"))
    assert len(rows) == 2 and {row["status"] for row in rows} == {"COMPLETED"}
    assert {row["units"] for row in rows} <= {"32", "64", "128"}
    assert {float(row["learning_rate"]) for row in rows} <= {1e-3, 1e-2}


def test_stages_narrow_what_the_model_declares(own, tmp_path):
    path = own("function", model={"space": {"num_layers": 1}},
               tuner={"max_trials": None},
               stages=[{"name": "coarse", "tuner": {"algorithm": "quasi_random",
                                                    "max_trials": 3}},
                       {"name": "fine", "tuner": {"algorithm": "random", "max_trials": 1},
                        "narrow": {"top_k": 1}}])
    assert main(["tune", path]) == 0
    stages = tmp_path / "runs" / "function" / "stages"
    coarse = _stored_space(str(stages / "1-coarse"))
    fine = _stored_space(str(stages / "2-fine"))
    best = max(_rows(str(stages / "1-coarse")), key=lambda row: float(row["objective"]))
    assert coarse["units"]["values"] == [32, 64, 128]
    assert fine["units"] == {"values": [int(best["units"])], "default": int(best["units"])}
    low, high = fine["learning_rate"]["min"], fine["learning_rate"]["max"]
    assert (low, high) != (coarse["learning_rate"]["min"], coarse["learning_rate"]["max"])
    assert low <= float(best["learning_rate"]) <= high
    assert [row["status"] for row in _rows(str(stages / "2-fine"))] == ["COMPLETED"]


def test_a_name_the_model_does_not_declare_is_refused_with_the_closest(own, tmp_path,
                                                                       capsys):
    path = own("function", model={"space": {"unit": 32}})
    assert main(["tune", path]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "model.space.unit" in err and "Unknown knob `unit`" in err
    assert "Did you mean `units`?" in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("source,attr,expected", [
    ("import not_a_package_kt14\n", "build",
     "Importing {module!r} failed (looked in {folder} and the installed packages): "
     "ModuleNotFoundError: No module named 'not_a_package_kt14'."),
    ("def build(hp):\n    pass\n", "biuld", "has no attribute 'biuld'; it defines: build"),
    ("build = 42\n", "build", "`builder` must be a keras_tuner.HyperModel subclass or "
     "instance, a TunableModel subclass, or a build(hp) function. Received: builder="),
    ("def build(hp):\n    return hp.Int('units', 1, 4) / 0\n", "build",
     "Building your model once with its default hyperparameters (to find its search "
     "space) failed: ZeroDivisionError"),
], ids=["import_error", "missing_attribute", "not_a_model", "build_fails"])
def test_a_builder_that_cannot_be_used_exits_2_with_one_line(own, tmp_path, capsys, source,
                                                             attr, expected):
    path = own("bad", source=source, attr=attr)
    module = os.path.basename(glob.glob(str(tmp_path / "project" / "own_bad_*.py"))[0])[:-3]
    assert main(["tune", path]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()[-1]
    assert err.startswith(f"error: {path}: model.builder: ") or "model.builder" in err
    assert expected.format(module=module, folder=tmp_path / "project") in err, err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "runs").exists()


def test_a_malformed_builder_name_is_refused_when_the_config_loads(own, capsys):
    path = own("function", model={"builder": "my model.py:build"})
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert '`builder` must be "package.module:Name" (your own model) or one of mlp' in err
    path = own("function", model={"builder": "my_model"})  # the colon left out
    assert main(["validate", path]) == 2
    assert ('one of mlp, cnn, sequence, or your own model as "package.module:Name". '
            "Received: builder='my_model'") in capsys.readouterr().err


def test_check_runs_the_model_checks_at_the_declared_defaults(own, capsys):
    path = own("function")
    code = main(["check", path, "--set", "data.subsample=200",
                 "--set", "model.space.learning_rate=0.01"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "the space's defaults: num_layers=1 units=32 dropout=0.0 learning_rate=0.01" in out
    for check in ("layers", "outputs", "initial_loss", "overfit"):  # Rescaling(1/16)
        assert f"PASS  {check}: " in out, out


@pytest.mark.parametrize("name", sorted(KINDS.values()))
def test_each_example_loads_with_its_own_folder_as_module_dir(name):
    from kt_toolkit.experiment import load_experiment

    config = load_experiment(os.path.join(EXAMPLES, f"{name[0]}.yaml"))
    assert config.model.builder == f"{name[0]}:{name[1]}"
    assert config.model.module_dir == EXAMPLES
    # A module_dir of its own is relative to the experiment file's folder.
    config = load_experiment(os.path.join(EXAMPLES, f"{name[0]}.yaml"),
                             ["model.module_dir=../kt_toolkit"])
    assert config.model.module_dir == os.path.join(REPO, "kt_toolkit")


def test_ablate_refuses_your_own_model_in_one_line(own, capsys):
    path = own("function")
    assert main(["ablate", path, "--knob", "units"]) == 2
    err = capsys.readouterr().err
    assert "`builder` must be a registered builder (mlp, cnn, sequence) for an ablation" in err


def _every_kind(hp):
    """Declares one hyperparameter of each KerasTuner kind, one of them conditional."""
    import keras

    hp.Choice("activation", ["relu", "tanh"])
    hp.Int("units", 8, 32, step=8)
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    hp.Boolean("bias", default=True)
    hp.Fixed("seed", 7)
    with hp.conditional_scope("activation", ["tanh"]):
        hp.Int("extra", 1, 3)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def test_each_keras_tuner_kind_becomes_a_domain_of_the_run():
    from kt_toolkit.hypermodels.custom import UserModel
    from kt_toolkit.rundir.study import Domain

    hypermodel = UserModel(_every_kind)
    domains = {name: Domain.from_spec(name, spec) for name, spec in hypermodel.space.items()}
    assert domains == {
        "activation": Domain("activation", "choice", values=("relu", "tanh")),
        "units": Domain("units", "int", min=8, max=32, step=8),
        "learning_rate": Domain("learning_rate", "float", min=1e-4, max=1e-2, sampling="log"),
        "bias": Domain("bias", "choice", values=(False, True)),
        "seed": Domain("seed", "fixed", values=(7,)),
        "extra": Domain("extra", "int", min=1, max=3)}
    assert hypermodel.space["bias"]["default"] is True  # the declared defaults stay


def test_a_conditional_hyperparameter_is_overridden_under_its_condition():
    import keras_tuner

    from kt_toolkit.hypermodels.custom import UserModel

    hypermodel = UserModel(_every_kind, space={"extra": 2, "activation": "tanh"})
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    (extra,) = [entry for entry in hp.space if entry.name == "extra"]
    assert isinstance(extra, keras_tuner.engine.hyperparameters.Fixed) and extra.value == 2
    assert [(c.name, c.values) for c in extra.conditions] == [("activation", ["tanh"])]
    assert hp.values["activation"] == "tanh" and hp.values["extra"] == 2
    off = UserModel(_every_kind, space={"extra": 2})  # relu first: extra inactive
    hp = keras_tuner.HyperParameters()
    off.build(hp)
    assert not hp.is_active("extra") and len([e for e in hp.space if e.name == "extra"]) == 1


def test_kt_toolkit_worker_finds_the_run_of_your_own_model(own, tmp_path, capsys):
    """A worker on another host loads the raw YAML: it resolves the model's space as
    the chief did, so it finds the chief's run directory (and then the chief)."""
    path = own("function", tuner={"max_trials": 1}, output={"run_name": None})
    assert main(["tune", path]) == 0
    capsys.readouterr()
    assert main(["worker", path, "--oracle", "127.0.0.1:9", "--id", "remote",
                 "--connect-timeout", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "No chief answers at 127.0.0.1:9" in err, err


KINDS_SOURCE = '''
import keras, keras_tuner


def _model(hp, classes):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
        classes, activation="softmax", use_bias=hp.Boolean("bias"))])
    # it logs the objective, val_accuracy (checked after the first build)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Bare(keras_tuner.HyperModel):
    def build(self, hp):
        return _model(hp, 10)


class Told(keras_tuner.HyperModel):
    def __init__(self, num_classes, **rest):
        super().__init__()
        self.told = dict(rest, num_classes=num_classes)

    def build(self, hp):
        return _model(hp, self.told["num_classes"])


instance = Told(num_classes=10, note="made by the module")
'''


@pytest.mark.parametrize("attr,told", [
    ("Bare", None),
    ("Told", {"num_classes": 10, "input_shape": (64,), "task": "multiclass"}),
    ("instance", {"num_classes": 10, "note": "made by the module"})])
def test_a_hypermodel_gets_the_data_keywords_its_init_accepts(own, attr, told):
    from kt_toolkit.data import load_dataset
    from kt_toolkit.experiment import load_experiment
    from kt_toolkit.hypermodels import build_hypermodel

    config = load_experiment(own("kinds", source=KINDS_SOURCE, attr=attr))
    hypermodel = build_hypermodel(config, load_dataset(config.data, seed=1))
    assert getattr(hypermodel.target, "told", None) == told
    assert config.model.space == {"bias": {"values": [False, True], "default": False}}
