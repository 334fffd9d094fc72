"""What `kt-toolkit` prints: a search's result, its next steps, stages, `validate`'s config.

Private to `kt_toolkit.cli`, which parses and calls the library; the text it shows a
user once a command is done is written here. Everything goes to stdout.
"""

import os

from kt_toolkit.analysis.final import test_lines
from kt_toolkit.config import dump_config
from kt_toolkit.config.practices import PRACTICES_LEGEND
from kt_toolkit.config.tasks import objectives_summary
from kt_toolkit.data import dataset_task
from kt_toolkit.data.sources import describe_source

__all__ = ["print_config", "print_proxy_check", "print_report", "print_result", "print_stages"]


def print_config(config):
    """`validate`: the resolved config, then the objectives and the data read, as comments."""
    print(dump_config(config), end="")
    tuner = config.tuner  # the objective and those the task offers, as comments
    for line in objectives_summary(dataset_task(config.data), objective=tuner.objective,
                                   direction=tuner.direction, builder=config.model.builder):
        print(f"# {line}")
    for line in describe_source(config.data):  # your own data: what is read
        print(f"# {line}")


def print_result(result, *, legend=True):
    """A search's best trial, its scores, next steps and where its files are."""
    print()
    if result.best_trial_id is None:
        print(f"No trial completed ({_trials(len(result.trials))}).")
    else:
        print(f"Best trial {result.best_trial_id}: {result.objective}={result.best_score:.4f}")
        print("  " + " ".join(f"{k}={v}" for k, v in result.best_hyperparameters.items()
                              if not k.startswith("tuner/")))
        scores = ", ".join(f"{k} {v:.4f}" for k, v in result.evaluation.items())
        print(f"  best model on the {result.evaluation_split}: {scores}")
        for line in test_lines(result.final, result.objective):  # the held-out test part
            print(f"  {line}")
        if result.best_warning:  # every completed trial diverged
            print(f"  warning: {result.best_warning}")
    if result.stopped_reason:
        print(f"Search stopped early: {result.stopped_reason}")
    if result.report is not None:
        print_report(result.report, legend=legend)
    run_dir = result.run_dir
    print(f"Run directory: {run_dir}")
    print(f"  trials:     {os.path.join(run_dir, 'trials.csv')} ({_trials(len(result.trials))}: "
          f"{result.count('COMPLETED')} completed, {result.count('FAILED')} failed"
          + (f", {result.count('PRUNED')} pruned" if result.count("PRUNED") else "") + ")")
    if result.best_model_path:
        print(f"  best model: {result.best_model_path}")
        print(f"  best settings: {os.path.join(run_dir, 'best', 'hyperparameters.yaml')}")
    if result.final:
        print(f"  test scores: {os.path.join(run_dir, 'final', 'evaluation.yaml')}")
    print(f"  config:     {os.path.join(run_dir, 'config.yaml')}")
    # The run's tensorboard/ folder: TensorBoard then names each trial's run by its id.
    print(f"  TensorBoard: tensorboard --logdir {os.path.join(run_dir, 'tensorboard')}")


def _trials(number):
    return f"{number} trial" if number == 1 else f"{number} trials"


def print_report(report, *, legend=True):
    """The report's next steps and where it was written."""
    print("Next steps:")
    for number, step in enumerate(report.next_steps, 1):
        print(f"  {number}. {step.replace('**', '').replace('`', '')}")
    if legend:  # once per command, under the first steps that cite IDs
        print(f"  {PRACTICES_LEGEND}")
    print(f"Report: {report.html} (and report.md)")


def print_stages(stages):
    """Each stage's outcome, then where the comparison is."""
    for index, stage in enumerate(stages, 1):
        print(f"\n=== stage {index}: {stage.name} ({stage.config.tuner.algorithm}) ===")
        print_result(stage.result, legend=index == 1)
    parent = os.path.dirname(os.path.dirname(stages[0].result.run_dir))
    print(f"\nStages compared: {os.path.join(parent, 'stages.md')}")


def print_proxy_check(checked):
    """`tune --proxy-check`: each best trial's proxy and full score, then the verdict."""
    print(f"\nProxy check: the {len(checked.rows)} best trials retrained on the full data")
    for row in checked.rows:
        full = "failed" if row["full"] is None else f"{row['full']:.4f}"
        print(f"  trial {row['trial_id']}: proxy {row['proxy']:.4f} -> full {full}")
    print(f"  {checked.verdict}\n  ({checked.path})")
