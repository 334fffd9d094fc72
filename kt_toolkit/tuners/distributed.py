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

import datetime
import logging
import os
import threading
import time

__all__ = ["fail_trial", "join_chief", "reachable", "serve", "split_address"]

from kt_toolkit.compat import is_consecutive_failure

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
        tuner: A kt_toolkit tuner built in this process (its oracle is the real one).
        address: String, the interface to bind: `127.0.0.1` (default) keeps the
            chief on this machine; `0.0.0.0` lets workers on other hosts join.
        port: Integer, 0 for a free port.

    Returns:
        The reason the search stopped early, or `None` when its budget ran out.
    """
    import grpc
    from concurrent import futures
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    oracle = tuner.oracle
    run = tuner.run
    run.write_stopped(None)
    policy = _StopPolicy(oracle, run)
    policy.forget_finished()
    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
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
        while not (servicer.stop_triggered or policy.reason) or not _finished(oracle):
            time.sleep(_POLL_SECONDS)
            waited = waited + _POLL_SECONDS if servicer.stop_triggered else 0.0
            if waited and waited % 30 < _POLL_SECONDS:  # name who keeps the chief waiting
                with oracle_lock(oracle):
                    ongoing = {w: t.trial_id for w, t in oracle.ongoing_trials.items()}
                    asking = sorted(oracle.tuner_ids)
                logger.warning("No trials left to start; waiting %.0f s for running trials %s "
                               "and for workers %s to ask again (a worker that is gone for "
                               "good: restart it with the same id, or stop this run and "
                               "rerun the command).", waited, ongoing or "none", asking)
    finally:
        server.stop(grace=2).wait()
        run.remove_chief()
    oracle.save()
    return policy.reason


def _finished(oracle):
    with oracle_lock(oracle):
        return not oracle.ongoing_trials and not oracle.tuner_ids


def oracle_lock(oracle):
    """KerasTuner's per-oracle lock (what its `@synchronized` methods hold)."""
    from keras_tuner.src.engine import oracle as oracle_module

    return oracle_module.LOCKS[oracle]


class _StopPolicy:
    """Turns KerasTuner's consecutive-failure RuntimeError into a clean stop for all."""

    def __init__(self, oracle, run):
        self.reason = None
        self._oracle = oracle
        self._run = run
        self._end_trial, self._create_trial = oracle.end_trial, oracle.create_trial
        oracle.end_trial, oracle.create_trial = self.end_trial, self.create_trial
        self._lock = threading.Lock()

    def end_trial(self, trial):
        self._adopt(trial.trial_id)
        try:
            self._end_trial(trial)
            # KerasTuner saved oracle.json before taking the trial off the ongoing
            # list: a kill now would rerun a finished trial on resume.
            with oracle_lock(self._oracle):
                self._oracle.save()
            return None
        except Exception as error:
            _release_leaked_lock(self._oracle)
            if not is_consecutive_failure(error):
                raise
            oracle = self._oracle
            ended = oracle.trials[trial.trial_id]
            oracle._save_trial(ended)  # KerasTuner raised before saving it
            for tuner_id, ongoing in list(oracle.ongoing_trials.items()):
                if ongoing.trial_id == trial.trial_id:
                    oracle.ongoing_trials.pop(tuner_id)
            oracle.save()
            with self._lock:
                self.reason = self.reason or _failure_reason(oracle, self._run)
                self._run.write_stopped(self.reason)
            logger.error("Search stopped: %s", self.reason)
        return None

    def forget_finished(self):
        """Drops ended trials a reload put back in the retry queue (see `end_trial`)."""
        oracle = self._oracle
        with oracle_lock(oracle):
            oracle._retry_queue = [t for t in oracle._retry_queue
                                   if oracle.trials[t].status not in ("COMPLETED", "FAILED")]

    def _adopt(self, trial_id):
        """Lets a trial started under a chief that died end under this one.

        A worker (one on another host keeps running while the chief restarts on the
        same port) may report a trial this chief reloaded as interrupted: it is no
        longer to be retried, and KerasTuner's display must know its start.
        """
        oracle = self._oracle
        with oracle_lock(oracle):
            if trial_id in oracle._retry_queue:
                oracle._retry_queue.remove(trial_id)
            display = oracle._display
            display.trial_start.setdefault(trial_id, datetime.datetime.now())
            display.trial_number.setdefault(trial_id, len(display.trial_number) + 1)

    def create_trial(self, tuner_id):
        if self.reason is None:
            trial = self._create_trial(tuner_id)
            if trial.status == "IDLE":  # Hyperband waits for a round: don't spin
                time.sleep(_POLL_SECONDS)
            return trial
        from keras_tuner.src.engine import trial as trial_module

        ongoing = self._oracle.ongoing_trials.get(tuner_id)
        if ongoing is not None:  # a restarted worker finishes the trial it held
            return ongoing
        self._oracle.tuner_ids.discard(tuner_id)
        return trial_module.Trial(self._oracle.get_space(), status="STOPPED")


def _release_leaked_lock(oracle):
    """KerasTuner's `@synchronized` does not release its lock when the method raises."""
    from keras_tuner.src.engine import oracle as oracle_module

    if oracle_module.THREADS[oracle] == threading.current_thread().name:
        oracle_module.THREADS[oracle] = None
        oracle_module.LOCKS[oracle].release()


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
    from keras_tuner.src import protos

    host, port = split_address(address)
    with grpc.insecure_channel(f"{_bracket(host)}:{port}") as channel:
        stub = protos.get_service_grpc().OracleStub(channel)
        service = protos.get_service()
        trial = stub.GetTrial(service.GetTrialRequest(trial_id=trial_id),
                              timeout=timeout).trial
        trial.status = protos.get_proto().TrialStatus.FAILED  # `reason` goes to meta.json
        stub.EndTrial(service.EndTrialRequest(trial=trial), timeout=timeout)


def _bracket(host):
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
