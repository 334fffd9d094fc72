"""`kt-toolkit`: the command line. Parses, sets up logging, calls the library.

    kt-toolkit tune experiments/digits_mlp.yaml --set tuner.max_trials=4
    kt-toolkit validate experiments/digits_mlp.yaml      # print the resolved config
    kt-toolkit check experiments/digits_mlp.yaml         # data + default-model sanity checks
    kt-toolkit report RUN_DIR                            # RUN_DIR: tune's `Run directory:` line
    kt-toolkit report my_dir/my_project                  # a plain KerasTuner project folder
    kt-toolkit show RUN_DIR --top 5                      # the best trials, as a table
    kt-toolkit ablate experiments/digits_mlp.yaml --knob kernel_initializer --seeds 3
"""

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading

import yaml

from kt_toolkit import __version__
from kt_toolkit._cli_output import (print_config, print_proxy_check, print_report,
                                    print_result, print_stages)
from kt_toolkit.analysis.trials_text import trials_text
from kt_toolkit.compat import quiet_backends
from kt_toolkit.config.practices import PRACTICES_LEGEND
from kt_toolkit.errors import (ConfigError, KtToolkitError, LaunchError, RunDirectoryError,
                               SignalInterrupt)
from kt_toolkit.experiment import load_experiment, run_experiment, write_run_report
from kt_toolkit.rundir import RunDirectory, load_study
from kt_toolkit.rundir.keras_tuner_project import (import_keras_tuner_project,
                                                   is_keras_tuner_project)

__all__ = ["EXIT_CODES", "main"]

EXIT_CONFIG = 2
# Each error class's exit code; the first class an error is an instance of wins.
EXIT_CODES = ((ConfigError, EXIT_CONFIG), (RunDirectoryError, EXIT_CONFIG), (LaunchError, 1),
              (KtToolkitError, 1))


def _parser():
    parser = argparse.ArgumentParser(prog="kt-toolkit",
                                     description="Tune Keras models from YAML experiments.",
                                     epilog=PRACTICES_LEGEND)
    parser.add_argument("--version", action="version", version=f"kt-toolkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("tune", "run or resume the search an experiment file describes"),
                       ("validate", "check an experiment file and print it resolved"),
                       ("check", "sanity-check the data and the default model before a "
                                 "search; exit 1 when a check fails (C4, C6)")):
        command = commands.add_parser(name, help=text, description=text,
                                      epilog=PRACTICES_LEGEND)
        command.add_argument("config", help="experiment YAML file")
        command.add_argument("--set", dest="overrides", action="append", default=[],
                             metavar="KEY=VALUE",
                             help="override a setting, e.g. --set tuner.max_trials=4")
    tune = commands.choices["tune"]
    tune.add_argument("--overwrite", action="store_true",
                      help="delete the run directory first and start afresh")
    tune.add_argument("-q", "--quiet", action="store_true", help="print only the result")
    tune.add_argument("--proxy-check", action="store_true",
                      help="after a search on data.subsample / data.classes, retrain its best "
                           "trials on the full data and report the rank correlation (D1, D2)")
    tune.add_argument("--proxy-top-k", type=int, default=5, metavar="K",
                      help="how many best trials --proxy-check retrains (default 5)")
    tune.add_argument("--workers", default=None, metavar="N",
                      help="train N trials at once: a chief (the oracle, over KerasTuner's "
                           "gRPC) and N worker processes on this machine (A3), spread over "
                           "its GPUs; auto: GPUs x --workers-per-gpu")
    tune.add_argument("--oracle-address", default="127.0.0.1", metavar="ADDRESS",
                      help="with --workers: the interface the chief binds (default "
                           "127.0.0.1; 0.0.0.0 lets `kt-toolkit worker` join from other hosts)")
    tune.add_argument("--trials-per-process", type=int, default=None, metavar="K",
                      help="with --workers: replace a worker process by a fresh one after K "
                           "trials, which keeps memory flat (default 20)")
    tune.add_argument("--gpus", nargs="?", const="all", default=None, metavar="0,1|all|none",
                      help="with --workers: the GPUs the workers use, round-robin (default, "
                           "and --gpus alone: every GPU found; none: the CPU)")
    tune.add_argument("--workers-per-gpu", default=None, metavar="K",
                      help="with --workers: K workers share each GPU, each held to its share "
                           "of the GPU's memory")
    worker = commands.add_parser(
        "worker", help="join a chief started by `tune --workers` (another host, a cluster job)",
        description="Train trials for a chief started with `kt-toolkit tune --workers N "
                    "--oracle-address 0.0.0.0`. Give the same config and --set options; "
                    "output.directory must be on a file system the chief's host shares.")
    worker.add_argument("config", help="the chief's experiment YAML file")
    worker.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="the chief's overrides, the same ones")
    worker.add_argument("--oracle", required=True, metavar="HOST:PORT",
                        help="the chief's address, as `tune --workers` prints it")
    worker.add_argument("--id", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="this worker's id, unique per worker; restart a dead worker "
                             "with the same id and it takes its trial up again (default "
                             "<hostname>-<pid>)")
    worker.add_argument("--trials-per-process", type=int, default=None, metavar="K",
                        help="replace the worker process after K trials (default 20)")
    worker.add_argument("--connect-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long to wait for the chief to answer (default 30)")
    check = commands.choices["check"]
    check.add_argument("--subset", type=int, default=64, metavar="N",
                       help="training samples the default model must memorize (default 64)")
    check.add_argument("--max-epochs", type=int, default=200, metavar="N",
                       help="most passes over that subset (default 200)")
    report = commands.add_parser(
        "report", help="write report.md and report.html for a run directory",
        description="Analyse a run directory (finished, running or killed) and write "
                    "report.md and a self-contained report.html into it. A project "
                    "folder of plain KerasTuner (oracle.json, trial_*/) is read without "
                    "writing into its files: the report goes to <project>/kt_toolkit_report/.")
    report.add_argument("run_dir", help="a run directory made by `kt-toolkit tune`, or a "
                                        "KerasTuner project folder (directory/project_name)")
    show = commands.add_parser(
        "show", help="print a run's best trials as a table",
        description="Print a run directory's trials (finished, running or killed): the "
                    "knobs that differ between the rows, the objective, epochs and status.")
    show.add_argument("run_dir", help="a run directory made by `kt-toolkit tune`")
    show.add_argument("--top", type=int, default=10, metavar="N",
                      help="how many trials (default 10)")
    show.add_argument("--sort", default="rank", metavar="COLUMN",
                      help="rank (default: the order the best model is chosen by), trial, "
                           "objective, seconds, epochs or a tuned knob")
    show.add_argument("--all", dest="every_status", action="store_true",
                      help="also list pruned, failed and running trials")
    _ablate_parser(commands)
    return parser


def _ablate_parser(commands):
    text = ("train each value of one knob with several seeds, every other knob held; "
            "print each value's mean with its 95-percent interval and Welch's p-value "
            "against the best")
    ablate = commands.add_parser("ablate", help=text, description=text + ". Writes "
                                 "<run>/ablations/<knob>/ and the run's report section; a "
                                 "rerun trains only the missing value × seed pairs.")
    ablate.add_argument("config", metavar="source", help="an experiment YAML file (other "
                        "knobs at the space's first values) or a run directory (at its "
                        "best trial)")
    ablate.add_argument("--knob", required=True, help="the knob to compare, e.g. "
                        "kernel_initializer")
    ablate.add_argument("--values", default=None, metavar="A,B,…",
                        help="the values, comma-separated (default: the experiment's "
                             "choices or range for the knob)")
    ablate.add_argument("--sweep", default=None, metavar="START:STOP:COUNT",
                        help="numeric knobs: COUNT values from START to STOP, log spaced "
                             "when both are > 0 and span two decades (lin:… or log:… "
                             "forces the scale)")
    ablate.add_argument("--seeds", type=int, default=5, metavar="N",
                        help="runs per value, N >= 2 (default 5)")
    ablate.add_argument("--workers", type=int, default=None, metavar="N",
                        help="train N runs at once, in worker processes")
    ablate.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a setting, as for tune")
    ablate.add_argument("--overwrite", action="store_true",
                        help="delete this knob's earlier ablation of the run first")
    ablate.add_argument("-q", "--quiet", action="store_true", help="print only the result")


def _show(args):
    if not RunDirectory(args.run_dir).exists():
        print(f"error: {args.run_dir!r} is not a run directory (no config.yaml). Give the "
              "folder `kt-toolkit tune` printed as `Run directory:`.", file=sys.stderr)
        return EXIT_CONFIG
    try:
        print(trials_text(load_study(args.run_dir), top=args.top, sort=args.sort,
                          every_status=args.every_status), end="")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def _report(run_dir):
    if is_keras_tuner_project(run_dir):
        return _report_keras_tuner_project(run_dir)
    if not RunDirectory(run_dir).exists():
        print(f"error: {run_dir!r} is not a run directory (no config.yaml) nor a KerasTuner "
              "project (no oracle.json). Give the folder `kt-toolkit tune` printed as `Run "
              "directory:`, or KerasTuner's directory/project_name.", file=sys.stderr)
        return EXIT_CONFIG
    try:
        report = write_run_report(run_dir)
    except OSError as error:
        print(f"error: cannot write the report into {run_dir!r}: {error.strerror or error}"
              f" ({error.filename or run_dir}). Copy the run directory somewhere writable "
              "and run `kt-toolkit report` on the copy.", file=sys.stderr)
        return EXIT_CONFIG
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        print(f"error: {os.path.join(run_dir, 'config.yaml')} cannot be read as a "
              f"kt_toolkit run config ({type(error).__name__}: {error}).", file=sys.stderr)
        return EXIT_CONFIG
    print_report(report)
    return 0


def _report_keras_tuner_project(project):
    try:
        view, inside = import_keras_tuner_project(project)
    except KtToolkitError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if inside:
        print(f"KerasTuner project {project}: kt_toolkit's view and report are in {view} "
              "(KerasTuner's own files are left as they are).")
    else:
        print(f"KerasTuner project {project} cannot be written to: kt_toolkit's view and "
              f"report are in {view} instead (KerasTuner's own files are left as they are).")
    return _report(view)


def main(argv=None):
    args = _parser().parse_args(argv)
    level = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    if args.command == "report":
        return _report(args.run_dir)
    if args.command == "show":
        return _show(args)
    try:
        if args.command == "ablate":
            with _stop_signals_interrupt():
                return _ablate(args)
        with _stop_signals_interrupt():
            return _command(args)
    except KeyboardInterrupt as interrupt:  # Ctrl-C, SIGTERM, SIGHUP
        print("Interrupted: rerun the same command to resume.", file=sys.stderr)
        return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _command(args):
    try:
        config = load_experiment(args.config, args.overrides)
        if args.command == "validate":
            print_config(config)
            return 0
        quiet_backends()
        if args.command == "check":
            return _check(config, args)
        if args.command == "worker":
            # Commands that train import Keras (TensorFlow) only when they run:
            # `validate` and `report` stay fast.
            from kt_toolkit.tuners.launcher import join_run

            return join_run(config, args.oracle, args.id,
                            trials_per_process=args.trials_per_process,
                            connect_timeout=args.connect_timeout)
        if args.proxy_check:  # no proxy to check, a bad K: say so before the search
            from kt_toolkit.proxy import check_proxy_arguments  # Keras: see "worker"

            check_proxy_arguments(config, args.proxy_top_k)
        result = run_experiment(config, overwrite=args.overwrite, **_launch_options(args))
    except KtToolkitError as error:
        return _error(error, args)
    if result.stages:
        print_stages(result.stages)
        return 0 if result.stages[-1].result.best_trial_id is not None else 1
    print_result(result)
    if args.proxy_check and result.best_trial_id is not None:
        _proxy_check(config, result, args)
    return 0 if result.best_trial_id is not None else 1


@contextlib.contextmanager
def _stop_signals_interrupt():
    """SIGTERM and SIGHUP (`kill`, a closed terminal, a cluster's time limit) stop the
    command as Ctrl-C does: a `SignalInterrupt` unwinds it, locks and files closed.

    A second one while it unwinds ends the process at once (the default action).
    """
    signals = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return

    def interrupt(signum, frame):
        for number in signals:
            signal.signal(number, signal.SIG_DFL)
        raise SignalInterrupt(signum)

    previous = {number: signal.signal(number, interrupt) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _error(error, args):
    """Prints `error` as one line (the file it concerns first); its class's exit code."""
    if error.file is None and not isinstance(error, LaunchError):
        error.file = args.config
    print(f"error: {error}", file=sys.stderr)
    if isinstance(error, LaunchError):
        print("Finished trials are kept: rerun the same command to resume.", file=sys.stderr)
    return next(code for cls, code in EXIT_CODES if isinstance(error, cls))


def _launch_options(args):
    """`run_experiment`'s `workers` options; a ConfigError for ones given without it."""
    if args.workers is None:
        given = [flag for flag, value, default in (
            ("--oracle-address", args.oracle_address, "127.0.0.1"),
            ("--trials-per-process", args.trials_per_process, None),
            ("--gpus", args.gpus, None), ("--workers-per-gpu", args.workers_per_gpu, None))
            if value != default]
        if given:
            raise ConfigError(f"{given[0]} needs --workers N (it sets up worker processes).",
                              key=given[0])
        return {}
    return {"workers": args.workers, "oracle_address": args.oracle_address,
            "trials_per_process": args.trials_per_process, "gpus": args.gpus,
            "workers_per_gpu": args.workers_per_gpu}


def _ablate(args):
    """Prints the ablation's table and verdicts; 2 for bad input."""
    quiet_backends()
    from kt_toolkit.ablation import ablate  # Keras: see main's "worker"

    try:
        result = ablate(args.config, knob=args.knob, values=args.values, sweep=args.sweep,
                        seeds=args.seeds, workers=args.workers, overrides=args.overrides,
                        overwrite=args.overwrite)
    except KtToolkitError as error:
        return _error(error, args)
    print(result.format())
    return 0


def _check(config, args):
    """Prints the sanity checks' report; 1 when one failed (ConfigError: the caller's 2)."""
    from kt_toolkit.checks import check_experiment  # Keras: see main's "worker"

    report = check_experiment(config, subset=args.subset, max_epochs=args.max_epochs)
    print(report.format())
    return 0 if report.passed else 1


def _proxy_check(config, result, args):
    from kt_toolkit.proxy import proxy_check  # Keras: see main's "worker"

    print_proxy_check(proxy_check(config, result.run_dir, top_k=args.proxy_top_k))


if __name__ == "__main__":
    sys.exit(main())
