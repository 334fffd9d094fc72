"""Parallel trials over KerasTuner's chief/worker gRPC (A3): the chief and worker sides.

KerasTuner's own engine does the work: the chief holds the oracle and serves it over
gRPC; each worker asks it for a trial, trains it and reports back. This module adds
what a run needs on top of it:

- `serve(tuner, address)`: the chief binds `address` on a free port (loopback unless
  told otherwise), writes `<run>/tuner/chief.json` (address, port, pid) for the
  launcher and for `kt-toolkit worker`, and returns as soon as the search is over
  (KerasTuner's `start_server` polls every 20 s).
- The failure policy on the chief: `tuner.max_consecutive_failed_trials` failures in
  a row stop the search for every worker (KerasTuner raises inside the gRPC handler,
  which leaves the trial RUNNING on disk and the chief serving forever) and the
  reason is written to `<run>/tuner/stopped.json`.
- `fail_trial(address, trial_id)`: the launcher's way to end a trial whose
  worker process died on it twice (a kernel OOM kill, a segfault) as FAILED.
- `join_chief(oracle, tuner_id)`: the environment a worker needs (KerasTuner reads it
  when the tuner is built).
"""

import logging
import os
import threading
import time

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus

from kt_toolkit.compat import is_consecutive_failure
from kt_toolkit.compat.chief import add_oracle_service, end_trial_as_failed
from kt_toolkit.compat.hooks import OracleHooks

__all__ = ["ChiefOracleMixin", "fail_trial", "join_chief", "reachable", "serve",
           "split_address"]

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.5


def join_chief(oracle, tuner_id):
    """Sets KerasTuner's environment for a worker of the chief at `oracle` ("HOST:PORT")."""
    host, port = split_address(oracle)
    if "chief" in tuner_id:
        raise ValueError(f"A worker id may not contain 'chief' (KerasTuner reads that as "
                         f"the chief). Received: {tuner_id!r}.")
    os.environ.update({"KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port),
                       "KERASTUNER_TUNER_ID": tuner_id})


def split_address(oracle):
    """`("host", port)` from `"HOST:PORT"`; a `ValueError` naming the value otherwise."""
    host, _, port = str(oracle).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--oracle must be HOST:PORT (the chief's address, as printed by "
                         f"`kt-toolkit tune --workers`). Received: {oracle!r}.")
    return host.strip("[]"), int(port)


def serve(tuner, address="127.0.0.1", port=0):
    """Serves `tuner`'s oracle to workers until every trial has ended.

    Args:
        tuner: A kt_toolkit tuner built in this process (its oracle is the real one,
            a `ChiefOracleMixin`).
        address: String, the interface to bind: `127.0.0.1` (default) keeps the
            chief on this machine; `0.0.0.0` lets workers on other hosts join.
        port: Integer, 0 for a free port.

    Returns:
        The reason the search stopped early, or `None` when its budget ran out.
    """
    import grpc
    from concurrent import futures

    oracle = tuner.oracle
    if not isinstance(oracle, ChiefOracleMixin):
        raise TypeError(f"serve() needs a kt_toolkit tuner (build_tuner); its oracle is a "
                        f"{type(oracle).__name__}.")
    run = tuner.run
    run.write_stopped(None)
    oracle.start_serving(run)
    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = add_oracle_service(oracle, server)
    bound = server.add_insecure_port(f"{_bracket(address)}:{port}")
    if not bound and port:  # a restarted chief's old port is taken: any free one
        logger.warning("Port %d is taken; the chief takes a free one.", port)
        bound = server.add_insecure_port(f"{_bracket(address)}:0")
    if not bound:
        raise OSError(f"The chief cannot listen on {address}:{port}.")
    server.start()
    run.write_chief({"address": address, "port": bound, "pid": os.getpid()})
    logger.info("Chief serving the oracle on %s:%d", address, bound)
    waited = 0.0
    try:
        while not (servicer.stop_triggered or oracle.stop_reason) or not oracle.search_over():
            time.sleep(_POLL_SECONDS)
            waited = waited + _POLL_SECONDS if servicer.stop_triggered else 0.0
            if waited and waited % 30 < _POLL_SECONDS:  # name who keeps the chief waiting
                ongoing, asking = oracle.waiting_for()
                logger.warning("No trials left to start; waiting %.0f s for running trials %s "
                               "and for workers %s to ask again (a worker that is gone for "
                               "good: restart it with the same id, or stop this run and "
                               "rerun the command).", waited, ongoing or "none", asking)
    finally:
        server.stop(grace=2).wait()
        run.remove_chief()
    oracle.save()
    return oracle.stop_reason


class ChiefOracleMixin(OracleHooks):
    """kt_toolkit's oracle behaviour on the chief of a parallel run.

    Mixed in before a KerasTuner oracle class by every kt_toolkit tuner (see
    `build.py`); dormant (KerasTuner's behaviour plus `OracleHooks`) until
    `serve` calls `start_serving`. Then:

    - `max_consecutive_failed_trials` failures in a row stop the search for every
      worker: KerasTuner raises inside the gRPC handler, which would leave the
      chief serving forever. The reason goes to `<run>/tuner/stopped.json` and
      `stop_reason`; workers asking for a trial get STOPPED (or the trial they
      held, when a restarted worker asks again).
    - `oracle.json` is saved once a trial has left the ongoing list (KerasTuner
      saved it before: a kill then would rerun a finished trial on resume).
    - A trial started under a chief that died ends under this one (`adopt_trial`).
    - Hyperband waiting for a round (IDLE) makes the asking worker wait a moment.
    """

    served_run = None  # the RunDirectory, once serving
    stop_reason = None

    def start_serving(self, run):
        """Turns the chief's policy on for `run`.

        (A chief killed right after a trial ended left it in `oracle.json`'s ongoing
        list: `OracleHooks.reload` keeps it out of the retry queue, as in one process.)
        """
        self.served_run = run
        self.stop_reason = None
        self._stop_lock = threading.Lock()

    def end_trial(self, trial):
        if self.served_run is None:
            return super().end_trial(trial)
        error = self._end_served_trial(trial)
        if error is None:
            return None
        if not is_consecutive_failure(error):
            raise error
        with self._stop_lock:
            self.stop_reason = self.stop_reason or _failure_reason(self, self.served_run)
            self.served_run.write_stopped(self.stop_reason)
        logger.error("Search stopped: %s", self.stop_reason)
        return None

    @keras_tuner.synchronized
    def _end_served_trial(self, trial):
        """Ends `trial` under the oracle's lock; returns KerasTuner's error, if any."""
        self.adopt_trial(trial.trial_id)
        try:
            super().end_trial(trial)
        except Exception as error:  # noqa: BLE001 - returned: end_trial decides
            if is_consecutive_failure(error):  # the trial is saved (OracleHooks)
                for tuner_id, ongoing in list(self.ongoing_trials.items()):
                    if ongoing.trial_id == trial.trial_id:
                        self.ongoing_trials.pop(tuner_id)
                self.save()
            return error
        self.save()
        return None

    def create_trial(self, tuner_id):
        if self.served_run is None:
            return super().create_trial(tuner_id)
        if self.stop_reason is None:
            trial = super().create_trial(tuner_id)
            if trial.status == TrialStatus.IDLE:  # Hyperband waits for a round: don't spin
                time.sleep(_POLL_SECONDS)
            return trial
        return self._stopped_trial(tuner_id)

    @keras_tuner.synchronized
    def _stopped_trial(self, tuner_id):
        ongoing = self.ongoing_trials.get(tuner_id)
        if ongoing is not None:  # a restarted worker finishes the trial it held
            return ongoing
        self.tuner_ids.discard(tuner_id)
        return Trial(self.get_space(), status=TrialStatus.STOPPED)

    @keras_tuner.synchronized
    def search_over(self):
        """No trial running and no worker left asking."""
        return not self.ongoing_trials and not self.tuner_ids

    @keras_tuner.synchronized
    def waiting_for(self):
        """`({worker: running trial id}, [workers still asking])`."""
        return ({worker: trial.trial_id for worker, trial in self.ongoing_trials.items()},
                sorted(self.tuner_ids))


def _failure_reason(oracle, run):
    limit = oracle.max_consecutive_failed_trials
    last = set(oracle.end_order[-limit:])
    rows = run.rows()
    reasons = dict.fromkeys(row["reason"] for row in rows if row["trial_id"] in last)
    return (f"{limit} consecutive trials failed (tuner.max_consecutive_failed_trials); "
            "last reasons: " + " | ".join(reasons))


def reachable(address, timeout=30.0):
    """Whether a gRPC server answers at `address` ("HOST:PORT") within `timeout` seconds."""
    import grpc

    host, port = split_address(address)
    with grpc.insecure_channel(f"{_bracket(host)}:{port}") as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            return False
    return True


def fail_trial(address, trial_id, timeout=30):
    """Ends `trial_id` as FAILED through the chief at `address` (the caller records why)."""
    import grpc

    host, port = split_address(address)
    with grpc.insecure_channel(f"{_bracket(host)}:{port}") as channel:
        end_trial_as_failed(channel, trial_id, timeout)


def _bracket(host):
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
