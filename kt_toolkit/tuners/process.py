"""The chief and worker processes of a parallel run (started by `launcher.py`).

    python -m kt_toolkit._child chief RUN_DIR [--address 127.0.0.1] [--port P]
    python -m kt_toolkit._child worker RUN_DIR --oracle HOST:PORT --id worker0
                                      [--trials-per-process K]

Both read the run's own `config.yaml`, so every process searches the same
settings. Exit codes: 0 the search is over, `EXIT_RECYCLE` (75) a worker ran its
`--trials-per-process` trials and wants a fresh process, 2 a config error.
"""

import argparse
import logging
import os
import sys

import keras

from kt_toolkit.compat import quiet_backends
from kt_toolkit.compat.devices import apply_memory_share
from kt_toolkit.errors import ConfigError
from kt_toolkit.rundir import read_stored_config
from kt_toolkit.tuners.build import build_tuner
from kt_toolkit.tuners.distributed import join_chief, serve
from kt_toolkit.tuners.recording import ProcessRecycle
from kt_toolkit.tuners.session import prepare_search, run_search

__all__ = ["EXIT_RECYCLE", "main"]

EXIT_RECYCLE = 75  # EX_TEMPFAIL: not finished, start me again
logger = logging.getLogger(__name__)


def _parser():
    parser = argparse.ArgumentParser(prog="python -m kt_toolkit._child")
    parser.add_argument("role", choices=("chief", "worker"))
    parser.add_argument("run_dir")
    parser.add_argument("--address", default="127.0.0.1", help="chief: interface to bind")
    parser.add_argument("--oracle", help="worker: the chief's HOST:PORT")
    parser.add_argument("--id", default="worker0", help="worker: its KerasTuner tuner id")
    parser.add_argument("--trials-per-process", type=int, default=None)
    parser.add_argument("--parent", type=int, default=None,
                        help="exit when this process (the launcher) is gone (armed by "
                             "kt_toolkit._child before this module loads)")
    parser.add_argument("--port", type=int, default=0, help="chief: port (0: a free one)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    quiet_backends()
    try:
        config = read_stored_config(args.run_dir)
        setup = prepare_search(config, run_dir=args.run_dir)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.role == "chief":
        return run_chief(config, setup, args.address, args.port)
    return run_worker(config, setup, args.oracle, args.id, args.trials_per_process)


def run_chief(config, setup, address, port=0):
    """Serves the oracle until every trial has ended (`distributed.serve`)."""
    tuner = build_tuner(config, setup.hypermodel, setup.run_dir, task=setup.data.task)
    serve(tuner, address, port)
    return 0


def run_worker(config, setup, oracle, tuner_id, trials_per_process):
    """Trains the chief's trials; `EXIT_RECYCLE` after `trials_per_process` of them."""
    join_chief(oracle, tuner_id)
    apply_memory_share()  # PyTorch's share of a GPU it shares (tuners.devices)
    # KerasTuner 1.4.8 prints each conditional value it sends over gRPC
    # (`conditions.Parent.to_proto`); this process's own output is logging, on stderr.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    keras.utils.set_random_seed(config.experiment.seed)
    tuner = build_tuner(config, setup.hypermodel, setup.run_dir, task=setup.data.task)
    tuner.trials_per_process = trials_per_process
    try:
        run_search(tuner, config, setup)
    except ProcessRecycle as done:
        logger.info("%s ran %d trials in this process: a fresh one takes over", tuner_id,
                    done.args[0])
        return EXIT_RECYCLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
