"""From a run directory to tables, verdicts, figures and a report.

Imports no Keras or TensorFlow, and nothing below it imports it: the analysis is a
pure reader of a run directory (through `kt_toolkit.rundir`), and works on a copied
run directory, a running search or one that was killed. `load_study`, `Study` and
the trials table are `kt_toolkit.rundir`'s, re-exported here. Matplotlib and scikit-learn are imported
only by the functions that draw or fit.

Example:

>>> from kt_toolkit.analysis import load_study, study_verdicts, write_report
>>> study = load_study("runs/digits_mlp-6379dab0")
>>> study.best(1)[0]["objective"]
>>> write_report(study.run_dir).next_steps
"""

from kt_toolkit.rundir import PROJECT_NAME, Domain, Study, load_study, trial_rows
from kt_toolkit.analysis.importance import ImportanceResult, hyperparameter_importance
from kt_toolkit.analysis.next_steps import next_steps
from kt_toolkit.analysis.report import Report, write_report
from kt_toolkit.analysis.search import (BoundaryWarning, best_trials_table, boundary_warnings,
                                        optimization_history)
from kt_toolkit.analysis.verdicts import (Thresholds, Verdict, diagnose, diagnose_trial,
                                          study_verdicts)

__all__ = ["BoundaryWarning", "Domain", "ImportanceResult", "PROJECT_NAME", "Report", "Study",
           "Thresholds", "Verdict", "best_trials_table", "boundary_warnings", "diagnose",
           "diagnose_trial", "hyperparameter_importance", "load_study", "next_steps",
           "optimization_history", "study_verdicts", "trial_rows", "write_report"]
