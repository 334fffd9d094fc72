"""The run directory's owner: its layout, lock, records, trials table, and reading it back.

Every path and file format of a run goes through this package (as Optuna's
`storages/` for a study): the tuners write through a `RunDirectory`, the
analysis reads a `Study` from one; both rank the trials the same way (which one
is the best: `ranking`). Imports no Keras and no TensorFlow.

Example:

>>> from kt_toolkit.rundir import RunDirectory, load_study
>>> run = RunDirectory("runs/digits_mlp-4c806d68")
>>> rows = run.rows()                       # the trials table (cached between calls)
>>> load_study(run.path).best(1)
>>> view, _ = import_keras_tuner_project("my_dir/my_project")  # plain KerasTuner's
>>> load_study(view).best(1)
"""

from kt_toolkit.rundir.keras_tuner_project import (import_keras_tuner_project,
                                                   is_keras_tuner_project)
from kt_toolkit.rundir.layout import CONFIG_FILE, PROJECT_NAME, TENSORBOARD_DIR, trial_logdir
from kt_toolkit.rundir.lock import run_lock
from kt_toolkit.rundir.ranking import TrialJudge, rank_trials
from kt_toolkit.rundir.run import RunDirectory
from kt_toolkit.rundir.setup import check_run_dir, prepare_run_dir, read_stored_config
from kt_toolkit.rundir.study import Domain, Study, load_study
from kt_toolkit.rundir.table import (TRIAL_COLUMNS, TrialTable, failure_reason, tidy_value,
                                     trial_rows, write_trials_table)
from kt_toolkit.rundir.tensorboard import sync_tensorboard

__all__ = ["CONFIG_FILE", "Domain", "PROJECT_NAME", "RunDirectory", "Study", "TENSORBOARD_DIR",
           "TRIAL_COLUMNS", "TrialJudge", "TrialTable", "check_run_dir", "failure_reason",
           "import_keras_tuner_project", "is_keras_tuner_project", "load_study", "prepare_run_dir", "rank_trials", "read_stored_config", "run_lock",
           "sync_tensorboard", "tidy_value", "trial_logdir", "trial_rows",
           "write_trials_table"]
