"""Mutation check (issue 18, part 3): break the line behind each claim, see a test fail.

For each claim the README leans on, `MUTATIONS` names the line that implements it,
how it is mutated (deleted or inverted) and the tests that should catch that. Each
mutation is applied to a fresh copy of the checkout's tracked files in a temporary
folder (never to the live tree), and the named tests run there; a mutation no test
catches is a missing test. The unmutated copy runs the same tests first (a test
that fails already proves nothing).

    python benchmarks/mutation_check.py                  # all; writes mutation_table.md
    python benchmarks/mutation_check.py --only lock      # claims whose name contains it
    python benchmarks/mutation_check.py --no-baseline --no-write

Each mutation costs its tests' time (the kill/resume ones ~30-70 s each on 2 cores);
the whole table about 20-30 minutes.
"""

import argparse
import dataclasses
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(REPO, "benchmarks", "mutation_table.md")


@dataclasses.dataclass
class Mutation:
    claim: str
    path: str
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple
    what: str


RESUME = "tests/tuners/test_resume.py::"
MUTATIONS = [
    Mutation("resume", "kt_toolkit/tuners/recording.py",
             "        shutil.rmtree(self.run.trial_logdir(trial.trial_id), ignore_errors=True)\n",
             "", (RESUME + "test_kill_9_mid_trial_of_one_process_then_the_same_command_resumes",),
             "deleted: a rerun trial's partial TensorBoard scalars are removed first"),
    Mutation("resume", "kt_toolkit/callbacks/history.py",
             "            write_csv(self.path, kept, self._fields)\n", "",
             (RESUME + "test_kill_9_mid_trial_of_one_process_then_the_same_command_resumes",),
             "deleted: the killed attempt's history rows are dropped when the trial reruns"),
    Mutation("resume", "kt_toolkit/compat/hooks.py",
             "        super().reload()\n        self.forget_ended_retries()\n",
             "        super().reload()\n",
             (RESUME + "test_a_kill_right_after_a_trial_ended_does_not_rerun_it",
              RESUME + "test_a_chief_killed_right_after_a_trial_ended_is_restarted_on_its_port"),
             "deleted: ended trials leave the retry queue on reload (a kill right after a "
             "trial ended)"),
    Mutation("resume", "kt_toolkit/compat/hooks.py",
             "        super().on_search_begin()\n        self.save()\n",
             "        super().on_search_begin()\n",
             (RESUME + "test_a_kill_right_after_a_trial_ended_does_not_rerun_it",),
             "deleted: the tuner's state saved before trial 0 (else nothing reloads)"),
    Mutation("resume (chief restart)", "kt_toolkit/tuners/launcher.py",
             "        port = self.port or 0", "        port = 0",
             (RESUME + "test_a_chief_killed_right_after_a_trial_ended_is_restarted_on_its_port",),
             "a restarted chief takes any free port instead of its own"),
    Mutation("resume (Ctrl-C/SIGTERM)", "kt_toolkit/tuners/launcher.py",
             "    try:\n        group.supervise()\n    finally:\n        group.stop()\n",
             "    group.supervise()\n",
             (RESUME + "test_ctrl_c_then_sigterm_of_the_resumed_run_end_every_process",),
             "deleted: the launcher ends its chief and workers when interrupted"),
    Mutation("pruned never best", "kt_toolkit/tuners/recording.py",
             " or self.run.is_pruned(trial_id)):", "):",
             ("tests/callbacks/test_pruning.py::"
              "test_a_real_search_prunes_and_never_exports_a_pruned_trial_even_the_best",),
             "deleted: pruned trials are left out of the tuner's best trials"),
    Mutation("failed never best", "kt_toolkit/rundir/ranking.py",
             'done = [row for row in rows if row.get("status") == "COMPLETED"\n'
             '            and math.isfinite',
             "done = [row for row in rows if math.isfinite",
             ("tests/rundir/test_ranking.py::"
              "test_a_failed_or_pruned_trial_is_never_ranked_even_with_the_best_score",
              "tests/rundir/test_ranking.py::"
              "test_ties_go_to_the_lower_penalty_free_validation_loss_then_fewer_epochs"),
             "deleted: only COMPLETED rows are ranked (best/, report, progress)"),
    Mutation("NaN recorded", "kt_toolkit/callbacks/guards.py",
             "        if not math.isfinite(value):\n", "        if False:\n",
             ("tests/callbacks/test_callbacks.py::test_nan_guard_fails_the_trial_with_the_reason",
              "tests/tuners/test_search.py::test_nan_trial_fails_with_reason_and_search_goes_on"),
             "deleted: a NaN/inf loss or metric fails the trial with its reason"),
    Mutation("lock", "kt_toolkit/rundir/lock.py",
             "        lock.acquire()\n", "",
             ("tests/rundir/test_lock.py",
              RESUME + "test_kill_9_mid_trial_of_one_process_then_the_same_command_resumes"),
             "deleted: the run lock is taken (a second command is refused)"),
    Mutation("lock (after SIGKILL)", "kt_toolkit/rundir/lock.py",
             "        lock.acquire()\n",
             "        if os.path.exists(path):\n            raise filelock.Timeout(path)\n"
             "        lock.acquire()\n",
             ("tests/rundir/test_lock.py::test_a_lock_held_by_another_process_refuses_and_goes_"
              "with_it",
              RESUME + "test_kill_9_mid_trial_of_one_process_then_the_same_command_resumes"),
             "a lock file left behind counts as held (as a plain lock file would; "
             "filelock's SoftFileLock is no such mutant: it detects a dead holder's pid)"),
    Mutation("HParams equal to trials.csv", "kt_toolkit/rundir/tensorboard.py",
             "            start.hparams[name].CopyFrom(_struct_value(row[name]))\n",
             "            pass\n",
             ("tests/rundir/test_tensorboard.py::test_tensorboard_server_lists_every_trial",),
             "deleted: each trial's HParams session gets its knob values from trials.csv"),
    # (Deleting build.py's `"seed": tuner_config.seed` is an equivalent mutant: tuner.seed
    # defaults to experiment.seed, and KerasTuner draws a missing seed from Python's
    # `random`, which the line below seeds.)
    Mutation("reproducibility", "kt_toolkit/experiment.py",
             "                keras.utils.set_random_seed(config.experiment.seed)\n",
             "                pass\n",
             ("tests/tuners/test_reproducibility.py",),
             "deleted: Python, NumPy and the backend are seeded with experiment.seed before "
             "the search"),
    Mutation("proxy rho", "kt_toolkit/proxy.py",
             "    result = stats.spearmanr([p for p, _ in pairs], [f for _, f in pairs])",
             "    result = stats.pearsonr([p for p, _ in pairs], [f for _, f in pairs])",
             ("tests/test_proxy.py",),
             "Spearman's rank correlation replaced by Pearson's"),
    Mutation("boundary warning", "kt_toolkit/analysis/search.py",
             "        if not _crowded(at_edge, len(values), chance, edge_share, max_chance):\n"
             "            continue\n        low, high = _widen(domain, edge)",
             "        if _crowded(at_edge, len(values), chance, edge_share, max_chance):\n"
             "            continue\n        low, high = _widen(domain, edge)",
             ("tests/analysis/test_study_search.py",),
             "inverted: a numeric knob warns when the best trials crowd one edge"),
    Mutation("verdict thresholds", "kt_toolkit/analysis/_fit_checks.py",
             "if np.isfinite(gap) and gap > t.overfit_gap:",
             "if np.isfinite(gap) and gap < t.overfit_gap:",
             ("tests/analysis/test_verdicts.py",),
             "inverted: overfitting when the train-validation gap exceeds overfit_gap"),
    # kt-toolkit check: the planted faults of tests/checks/test_planted_faults.py
    Mutation("check: layers", "kt_toolkit/checks/training.py",
             "    if len(shape) != 2 or shape[-1] != width:", "    if len(shape) != 2:",
             ("tests/checks/test_planted_faults.py::test_an_output_of_the_wrong_width_fails_layers",),
             "the output width is no longer compared with the classes"),
    Mutation("check: labels", "kt_toolkit/checks/data.py",
             "    if ratio >= IMBALANCE_WARN:", "    if ratio >= IMBALANCE_WARN * 10:",
             ("tests/checks/test_planted_faults.py::test_imbalanced_classes_warn_in_labels",),
             "the imbalance threshold raised tenfold"),
    Mutation("check: initial_loss", "kt_toolkit/checks/training.py",
             "    if not low <= ratio <= high:", "    if not low <= ratio:",
             ("tests/checks/test_planted_faults.py::"
              "test_confident_initial_outputs_warn_in_initial_loss",),
             "the upper bound of 0.5..1.5 x ln K dropped"),
    Mutation("check: sequence_lengths", "kt_toolkit/checks/data.py",
             "    truncated = float(np.mean(lengths > padding))",
             "    truncated = float(np.mean(lengths > lengths.max()))",
             ("tests/checks/test_planted_faults.py::"
              "test_truncated_sequences_are_named_in_sequence_lengths",),
             "the truncated share measured against the longest sequence, not the padding"),
    Mutation("check: regression labels", "kt_toolkit/checks/data.py",
             '    if max(abs(numbers["mean"]), numbers["std"]) > TARGET_SCALE_WARN',
             '    if max(abs(numbers["mean"]), numbers["std"]) > TARGET_SCALE_WARN * 100',
             ("tests/checks/test_planted_faults.py::"
              "test_regression_targets_far_from_unit_scale_warn_in_labels",),
             "the targets' scale threshold raised a hundredfold"),
    Mutation("check: regression order/split", "kt_toolkit/checks/data.py",
             "    if abs(rho) > limit or lag1 > limit:", "    if False:",
             ("tests/checks/test_planted_faults.py::"
              "test_regression_sorted_by_target_fails_order_and_warns_in_split",),
             "deleted: targets ordered by position fail `order`"),
    Mutation("check: regression outputs", "kt_toolkit/checks/training.py",
             "    if y_low < low or y_high > high:", "    if y_low < low:",
             ("tests/checks/test_planted_faults.py::"
              "test_a_bounded_output_for_unbounded_targets_fails_outputs",),
             "targets above the activation's range no longer fail `outputs`"),
]


def _copy_checkout(target):
    """The tracked files of the checkout (their working-tree content) into `target`."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = os.path.join(REPO, name)
        if not os.path.isfile(source):
            continue
        os.makedirs(os.path.dirname(os.path.join(target, name)), exist_ok=True)
        shutil.copy2(source, os.path.join(target, name))


def _line_of(text, old):
    return text[:text.index(old)].count("\n") + 1


def _pytest(copy, tests):
    env = dict(os.environ, PYTHONPATH=copy, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--tb=no", "-rf", *tests], cwd=copy, env=env,
                          capture_output=True, text=True)
    failed = sorted(set(re.findall(r"^FAILED (\S+)", done.stdout, re.M)))
    if done.returncode not in (0, 1):  # collection error, usage error: say so
        failed = failed or [f"pytest exit {done.returncode}: "
                            + (done.stdout + done.stderr).strip().splitlines()[-1]]
    return failed


def run(mutations, baseline=True):
    results = []
    for mutation in mutations:
        with tempfile.TemporaryDirectory(prefix="mutation-") as copy:
            _copy_checkout(copy)
            path = os.path.join(copy, mutation.path)
            text = open(path, encoding="utf-8").read()
            if text.count(mutation.old) != 1:
                results.append((mutation, None, None, [f"the line to mutate is not found "
                                                       f"exactly once in {mutation.path}"]))
                continue
            line = _line_of(text, mutation.old)
            started = time.monotonic()
            before = _pytest(copy, mutation.tests) if baseline else []
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text.replace(mutation.old, mutation.new))
            failed = _pytest(copy, mutation.tests)
            seconds = time.monotonic() - started
        if before:
            failed = [f"(already failing unmutated: {', '.join(before)})"]
        results.append((mutation, line, seconds, failed))
        status = "caught" if failed and not before else "NOT CAUGHT"
        print(f"{mutation.claim}: {mutation.path}:{line} {status} {failed} ({seconds:.0f} s)",
              flush=True)
    return results


def table(results, baseline=True):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    lines = ["# Mutation check (issue 18, part 3)", "",
             f"Generated by `python benchmarks/mutation_check.py` on "
             f"{datetime.date.today().isoformat()} at commit {commit} (the working tree's "
             "tracked files, copied; each mutation in its own copy). Each row: the line "
             "that implements a claim, how it was mutated, and the tests that failed on "
             "the mutant" + (" (all of them pass on the unmutated copy)." if baseline else
                             " (run with --no-baseline: the unmutated copy was not run)."),
             "",
             "| claim | line | mutation | failing tests |", "|---|---|---|---|"]
    for mutation, line, _, failed in results:
        where = f"`{mutation.path}:{line}`" if line else f"`{mutation.path}`"
        names = "<br>".join(f"`{name}`" for name in failed) or "**none: not caught**"
        lines.append(f"| {mutation.claim} | {where} | {mutation.what} | {names} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the claims whose name contains this")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip running the tests on the unmutated copy first")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the table")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or args.only in m.claim]
    results = run(chosen, baseline=not args.no_baseline)
    text = table(results, baseline=not args.no_baseline)
    if args.no_write or args.only:
        print(text)
    else:
        with open(TABLE, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {TABLE}")
    return 0 if all(failed and not failed[0].startswith("(") for *_, failed in results) else 1


if __name__ == "__main__":
    sys.exit(main())
