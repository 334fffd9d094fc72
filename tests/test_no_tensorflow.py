"""A GPU machine without TensorFlow (issue 16): `kt-toolkit tune` on JAX, TensorFlow blocked.

The child Python puts a finder first on `sys.meta_path` that refuses `tensorflow`
(and its submodules) before anything is imported, then runs the CLI as
`python -m kt_toolkit tune` does, with `KERAS_BACKEND=jax`.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = textwrap.dedent("""
    import importlib.abc, sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, NoTensorFlow())
    import runpy
    sys.argv = ["kt_toolkit", *sys.argv[1:]]
    try:
        runpy.run_module("kt_toolkit", run_name="__main__")
    finally:
        print("TENSORFLOW_LOADED", any(m == "tensorflow" or m.startswith("tensorflow.")
                                       for m in sys.modules), file=sys.stderr)
""")


def test_tune_runs_end_to_end_on_jax_with_tensorflow_blocked(tmp_path):
    pytest.importorskip("jax")
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    config = tmp_path / "tiny.yaml"
    config.write_text(textwrap.dedent(f"""
        experiment: {{name: notf, seed: 1}}
        data: {{dataset: digits, subsample: 150}}
        model: {{space: {{num_layers: 1, units: 8, batch_norm: false}}}}
        tuner: {{algorithm: random, max_trials: 1}}
        training: {{epochs: 1}}
        output: {{directory: {tmp_path / 'runs'}, report: false}}
    """))
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": REPO,
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(child), "tune", str(config)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TENSORFLOW_LOADED False" in done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    meta = json.loads((run_dir / "trials" / "0" / "meta.json").read_text())
    assert meta["device"] == "CPU" and "reason" not in meta
    history = (run_dir / "trials" / "0" / "history.csv").read_text().splitlines()
    assert len(history) == 2  # the header and the one epoch
    assert "COMPLETED" in (run_dir / "trials.csv").read_text()
    assert (run_dir / "best" / "model.keras").exists()
    assert list((run_dir / "tensorboard" / "0").iterdir())  # scalars without TensorFlow
