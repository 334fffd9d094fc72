"""TensorBoard as a user first sees it, in a real headless Chromium (issue 13).

Skipped without Chromium (Debian/Ubuntu: `apt-get install chromium`). A 30-trial
search: the Scalars page must open with its curves drawn (TensorBoard ticks no run
by default past 40 runs, and three runs per trial made 91), and the HParams table
must name trials by their short ids and show the tuned knobs first.
"""

import os
import shutil
import subprocess
import time

import numpy as np
import pytest
from test_tensorboard import tensorboard_server

from kt_toolkit.experiment import run_experiment

CHROMIUM = next((path for path in map(shutil.which, ("chromium", "chromium-browser",
                                                     "google-chrome")) if path), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium) to "
                             "look at TensorBoard's pages as a user does")


def screenshot(url, path):
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--window-size=1400,1000",
                    f"--screenshot={path}", "--virtual-time-budget=20000", url],
                   check=True, timeout=180, capture_output=True)
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def curve_pixels(image):
    """Coloured pixels right of the run list and below the toolbar: drawn curves.

    The charts' own frame, grid and text are grey or black; the blue of their
    three buttons is left out; what remains is lines.
    """
    height, width, _ = image.shape
    area = image[int(0.12 * height):, int(0.27 * width):]
    coloured = area.max(axis=2) - area.min(axis=2) > 60
    buttons = ((area[..., 2] > 180) & (area[..., 0] < 80) & (area[..., 1] > 100)
               & (area[..., 1] < 180))
    return int((coloured & ~buttons).sum())


def test_a_30_trial_search_opens_with_curves_and_a_readable_hparams_table(
        tmp_path, make_config):
    config = make_config(
        data={"dataset": "digits", "subsample": 150},
        model={"space": {"num_layers": 1, "units": [16, 32, 64], "optimizer": "adam",
                         "learning_rate": {"min": 1e-3, "max": 3e-2, "sampling": "log"},
                         "batch_norm": False, "dropout": 0.0}},
        tuner={"algorithm": "random", "max_trials": 30}, training={"epochs": 2})
    result = run_experiment(config)
    assert len(result.trials) == 30
    logdir = os.path.join(result.run_dir, "tensorboard")
    with tensorboard_server(logdir) as request:
        deadline = time.monotonic() + 60
        while len(request("/data/runs")) < 31 and time.monotonic() < deadline:
            time.sleep(1)
        runs = request("/data/runs")
        assert len(runs) == 31 <= 40  # the experiment + one run per trial
        assert sorted(run for run in runs if run != ".") == sorted(
            row["trial_id"] for row in result.trials)  # short names: the trial ids
        image = screenshot(f"{request.base}/#scalars", tmp_path / "scalars.png")
        assert curve_pixels(image) > 2000, "the Scalars page opened without curves"

        experiment = request("/data/plugin/hparams/experiment", {"experimentName": ""})
        names = [info["name"] for info in experiment["hparamInfos"]]
        # Only tuned knobs; the table ticks its first 5, which hold the most
        # influential ones (TensorBoard orders them by name among themselves).
        assert {"learning_rate", "units"} <= set(names[:5])
        assert "batch_size" not in names and "beta_1" not in names
        assert experiment["metricInfos"][0]["name"]["tag"] == "hparams/val_accuracy"
        screenshot(f"{request.base}/#hparams", tmp_path / "hparams.png")
