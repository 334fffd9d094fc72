"""`run_parallel`: a chief and N worker processes on this machine, watched to the end (A3).

KerasTuner's chief/worker engine (`distributed.py`) does the searching; this module
runs it as one command:

- It starts the chief (`process.py chief`) on a free port, then N workers
  (`worker0` … `worker<N-1>`), each writing its log to `<run>/logs/`.
- It prints one progress line whenever something changes: trials ended / budget,
  best so far, running trials and their workers.
- A worker that ran its `trials_per_process` trials exits and is replaced by a
  fresh process with the same id (memory the backend keeps per model goes with it,
  STACK_NOTES).
- A worker that dies (`kill -9`, a crash, the kernel's OOM killer) is restarted with
  the same id: KerasTuner hands it the same trial again. A trial that kills its
  worker twice is ended FAILED with the reason, so one bad configuration cannot
  stall the search. The chief, if it dies, is restarted with the workers.
- Ctrl-C or SIGTERM ends every process it started; each child also ends itself when
  the launcher is gone (`kill -9` included). The same command then resumes.
- When the chief is done, the caller (`kt_toolkit.experiment.run_experiment`)
  writes `trials.csv`, the best model and the report, as after a search in one
  process: this module only runs processes, and imports nothing above `tuners`.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import time

from kt_toolkit.config.schema import duration_seconds
from kt_toolkit.errors import ConfigError, LaunchError, SignalInterrupt
from kt_toolkit.rundir import RunDirectory, check_run_dir
from kt_toolkit.tuners.devices import chief_environment, parse_workers, plan_devices
from kt_toolkit.tuners.distributed import fail_trial, reachable, split_address
from kt_toolkit.tuners.process import EXIT_RECYCLE
from kt_toolkit.tuners.progress import progress_line, trial_budget
from kt_toolkit.tuners.session import resolve_model_space

__all__ = ["DEFAULT_TRIALS_PER_PROCESS", "LaunchError", "check_launch_options", "join_run",
           "run_parallel", "run_processes"]

logger = logging.getLogger(__name__)

DEFAULT_TRIALS_PER_PROCESS = 20
CRASHES_PER_TRIAL = 2  # a trial that kills its worker this often is FAILED
CRASHES_IN_A_ROW = 4  # a worker that dies this often with no trial ending: give up
CHIEF_STARTS = 3
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_launch_options(*, workers: "int | str", oracle_address: str = "127.0.0.1",
                         trials_per_process: "int | None" = None, gpus=None,
                         workers_per_gpu: "int | None" = None) -> list:
    """A `ConfigError` naming the flag when `--workers` and its options cannot run.

    Returns:
        Each worker's `kt_toolkit.tuners.devices.WorkerDevice` (see `plan_devices`).
    """
    if workers != "auto" and (not isinstance(workers, int) or isinstance(workers, bool)
                              or workers < 1):
        parse_workers(workers)  # the error naming --workers
    if trials_per_process is not None and (not isinstance(trials_per_process, int)
                                           or trials_per_process < 1):
        raise ConfigError("--trials-per-process must be a whole number >= 1. Received: "
                          f"{trials_per_process!r}.", key="--trials-per-process")
    _check_address(oracle_address)
    return plan_devices(workers, gpus=gpus, workers_per_gpu=workers_per_gpu)


def run_parallel(config, setup, *, workers: "int | str", oracle_address: str = "127.0.0.1",
                 trials_per_process: "int | None" = None, gpus=None,
                 workers_per_gpu: "int | None" = None,
                 trial_listeners=()) -> "str | None":
    """Runs a chief and `workers` worker processes until the search is over.

    The caller holds the run lock and has prepared the run (`setup`, a
    `kt_toolkit.tuners.session.SearchSetup`); it finishes the run afterwards.

    Args:
        config: The run's `ExperimentConfig` (for the trial budget).
        setup: The run's `SearchSetup`.
        workers: Integer, worker processes on this machine, or `"auto"` (one per
            GPU × `workers_per_gpu`; see `kt_toolkit.tuners.devices.auto_workers`).
        oracle_address: String, the interface the chief binds.
        trials_per_process: Integer or `None`: a worker process is replaced after
            so many trials. Defaults to `DEFAULT_TRIALS_PER_PROCESS`.
        gpus: `--gpus`: `None` (every GPU found), `"all"`, `"none"` or indices
            (`"0,1"`). Workers go round-robin over them (`devices.plan_devices`).
        workers_per_gpu: Integer or `None`, workers sharing one GPU's memory.
        trial_listeners: Functions called (with `None`) when this process sees
            that more trials have ended, as a tuner's `trial_listeners` are with
            a trial's id (a layer above passes them: the background curve drawer).

    Returns:
        Why the chief stopped the search early, or `None`.

    Raises:
        LaunchError: when the chief or a worker cannot be kept running.
    """
    devices = check_launch_options(workers=workers, oracle_address=oracle_address,
                                   trials_per_process=trials_per_process, gpus=gpus,
                                   workers_per_gpu=workers_per_gpu)
    run = RunDirectory(setup.run_dir)
    group = _Group(run, devices, oracle_address,
                   trials_per_process or DEFAULT_TRIALS_PER_PROCESS,
                   budget=trial_budget(config), objective=setup.objective,
                   direction=setup.direction,
                   max_time=duration_seconds(config.tuner.max_time))
    group.listeners = list(trial_listeners)
    try:
        group.supervise()
    finally:
        group.stop()
    return run.stopped_reason()


def join_run(config, oracle, worker_id, *, trials_per_process=None, connect_timeout=30.0):
    """`kt-toolkit worker`: trains trials for the chief at `oracle` until the search ends.

    The run directory (`output.directory`) must be the chief's, on a shared file
    system: the chief created it and its `config.yaml` must hold the same search.
    The worker process is replaced after `trials_per_process` trials, and restarted
    with the same id if it dies. Returns 0 when the chief says the search is over.
    """
    try:
        split_address(oracle)
    except ValueError as error:
        raise ConfigError(str(error), key="--oracle") from None
    if "chief" in worker_id or re.fullmatch(r"worker\d+", worker_id):
        raise ConfigError(f"--id may not contain 'chief' nor be worker<N> (the chief's own "
                          f"and its local workers' ids). Received: {worker_id!r}.", key="--id")
    for flag, value in (("--trials-per-process", trials_per_process),
                        ("--connect-timeout", connect_timeout)):
        if value is not None and not value > 0:
            raise ConfigError(f"{flag} must be > 0. Received: {value!r}.", key=flag)
    if config.stages:
        raise ConfigError("kt-toolkit worker cannot join a staged experiment (`stages:`): "
                          "each stage is its own run with its own chief. Run the stages "
                          "with `kt-toolkit tune --workers N` on one host.", key="stages")
    resolve_model_space(config)  # your own model: the chief's config.yaml holds its space
    run_dir = check_run_dir(config)
    if not reachable(oracle, timeout=connect_timeout):
        raise ConfigError(f"No chief answers at {oracle} (waited {connect_timeout:.0f} s). "
                          "Start `kt-toolkit tune --workers N --oracle-address 0.0.0.0` first "
                          "and use the port it prints; check that the host's port is open "
                          "to this machine.", key="--oracle")
    group = _Group(RunDirectory(run_dir), [], None,
                   trials_per_process or DEFAULT_TRIALS_PER_PROCESS,
                   budget=None, objective=None, direction=None)
    group.oracle = oracle
    group._start_worker(worker_id)
    logger.info("%s joined the chief at %s (run %s, log %s)", worker_id, oracle, run_dir,
                os.path.join(group.log_dir, f"{worker_id}.log"))
    try:
        while True:
            child = group.children[worker_id]
            code = child.wait()
            if code == 0:
                return 0
            group._worker_ended(worker_id, code)
    finally:
        group.stop()


class _Group:
    """The chief and the workers of one run, and what to do when one ends."""

    def __init__(self, run, devices, address, trials_per_process, *, budget,
                 objective, direction, max_time=None):
        self.run, self.address, self.workers = run, address, len(devices)
        self.devices = {device.worker_id: device for device in devices}  # WorkerDevice
        self.max_time = max_time
        self._clock = None  # (monotonic start, the search's seconds before it)
        self.run_dir = run.path
        self.trials_per_process = trials_per_process
        self.progress = (budget, objective, direction)
        self.log_dir = run.logs_dir
        os.makedirs(self.log_dir, exist_ok=True)
        self.chief, self.oracle, self.port = None, None, None
        self._ended = None  # trials ended at the last look (a worker death count resets)
        self.listeners = []  # told when more trials have ended (run_parallel's trial_listeners)
        self.children = {}  # worker id -> Popen (None once it has finished)
        self.crashes = {}  # trial id -> times it took its worker down
        self.in_a_row = {}  # worker id -> deaths since a trial last ended
        self._shown, self._chief_starts = None, 0

    def supervise(self):
        previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _interrupt)}
        try:
            # The search's clock: seconds spent by earlier runs (the oracle's state) + now.
            self._clock = (time.monotonic(),
                           float(self.run.oracle_state().get("elapsed_seconds") or 0.0))
            self._start_all()
            logger.info("%d workers%s, logs in %s", self.workers, _placement(self.devices),
                        self.log_dir)
            while True:
                self._show_progress()
                code = self.chief.poll()
                if code == 0:
                    return
                if code is not None:
                    self._chief_died(code)
                    continue
                for worker_id, child in list(self.children.items()):
                    if child is not None and child.poll() is not None:
                        self._worker_ended(worker_id, child.returncode)
                time.sleep(0.5)
        finally:
            signal.signal(signal.SIGTERM, previous[signal.SIGTERM])

    def _start_all(self):
        self._chief_starts += 1
        port = self.port or 0  # a restarted chief keeps its port: remote workers find it
        self.run.remove_chief()
        self.chief = self._spawn("chief", ["chief", self.run_dir, "--address", self.address,
                                           "--port", str(port)], chief_environment())
        record = self._wait_for_chief()
        self.port = record["port"]
        host = "127.0.0.1" if self.address in _LOOPBACK + ("0.0.0.0", "::") else self.address
        self.oracle = f"{host}:{record['port']}"
        logger.info("Chief serving the oracle on %s:%d", self.address, record["port"])
        if self.address not in _LOOPBACK:
            logger.info("Workers on other hosts join with: kt-toolkit worker --oracle "
                        "<this host>:%d <the same config and --set options>", record["port"])
        for index in range(self.workers):
            self._start_worker(f"worker{index}")

    def _start_worker(self, worker_id):
        device = self.devices.get(worker_id)  # None: `kt-toolkit worker`, the caller's devices
        self.children[worker_id] = self._spawn(worker_id, [
            "worker", self.run_dir, "--oracle", self.oracle, "--id", worker_id,
            "--trials-per-process", str(self.trials_per_process)],
            device.environment() if device is not None else {})

    def _spawn(self, name, args, devices_env):
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        command = [sys.executable, "-m", "kt_toolkit._child", *args,
                   "--parent", str(os.getpid())]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
        env.update(devices_env)  # read by the backend when it loads (tuners.devices)
        try:  # own session: the terminal's Ctrl-C reaches the launcher, which stops all
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        finally:
            log.close()

    def _wait_for_chief(self, timeout=300):
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            record = self.run.read_chief()
            if record and record.get("pid") == self.chief.pid:
                return record
            if self.chief.poll() is not None:
                raise LaunchError("The chief process ended before serving (exit "
                                   f"{self.chief.returncode}):\n{self._tail('chief')}")
            time.sleep(0.2)
        raise LaunchError(f"The chief did not serve within {timeout} s:\n"
                           f"{self._tail('chief')}")

    def _worker_ended(self, worker_id, code):
        if code == 0:  # the chief said the search is over
            self.children[worker_id] = None
            return
        if code != EXIT_RECYCLE:
            self._worker_died(worker_id, code)
        else:
            self.in_a_row[worker_id] = 0
        self._start_worker(worker_id)

    def _worker_died(self, worker_id, code):
        how = f"signal {-code}" if code < 0 else f"exit {code}"
        trial_id = self.run.running_trials().get(worker_id)
        deaths = self.in_a_row[worker_id] = self.in_a_row.get(worker_id, 0) + 1
        logger.warning("%s died (%s)%s; restarting it.", worker_id, how,
                       f" during trial {trial_id}" if trial_id else "")
        if trial_id is not None:
            self.crashes[trial_id] = self.crashes.get(trial_id, 0) + 1
            if self.crashes[trial_id] >= CRASHES_PER_TRIAL:
                self._fail(trial_id, how)
                self.in_a_row[worker_id] = 0
                return
        if deaths >= CRASHES_IN_A_ROW:
            raise LaunchError(f"{worker_id} died {deaths} times in a row ({how}) without "
                               f"finishing a trial:\n{self._tail(worker_id)}")

    def _fail(self, trial_id, how):
        reason = (f"the worker process died {self.crashes[trial_id]} times while training "
                  f"this trial ({how}; out of host memory?). Lower batch_size, units or "
                  "layers; the search goes on with the other settings.")
        self.run.write_meta(trial_id, {"trial_id": trial_id, "reason": reason,
                                       "finished_at": time.time()})
        fail_trial(self.oracle, trial_id)
        logger.warning("trial %s FAILED (%s)", trial_id, reason)

    def _chief_died(self, code):
        logger.warning("The chief died (exit %s); restarting it and the workers.", code)
        self.stop()
        if self._chief_starts >= CHIEF_STARTS:
            raise LaunchError(f"The chief died {self._chief_starts} times:\n"
                               f"{self._tail('chief')}")
        self._start_all()

    def _show_progress(self, every=2.0):
        now = time.monotonic()
        if self._shown is not None and now - self._shown[0] < every:
            return
        elapsed = None if self._clock is None else self._clock[1] + now - self._clock[0]
        line, key = progress_line(self.run, *self.progress, elapsed=elapsed,
                                  max_time=self.max_time, devices=self._gpu_labels())
        if key[0] != self._ended:  # a trial ended: deaths so far were not in a row
            self._ended = key[0]
            self.in_a_row.clear()
            if key[0]:
                self._tell_listeners()
        if self._shown is None or key != self._shown[1]:
            logger.info("%s %s", time.strftime("%H:%M:%S"), line)
        self._shown = (now, key)

    def _gpu_labels(self):
        """`{worker id: "GPU 0"}` when workers train on GPUs, for the progress line."""
        return {worker: device.label for worker, device in self.devices.items()
                if device.gpu is not None}

    def _tell_listeners(self):
        for listener in self.listeners:
            try:
                listener(None)
            except Exception as error:  # noqa: BLE001 - a listener must never end a run
                logger.warning("A trial listener failed: %s: %s", type(error).__name__, error)

    def stop(self, grace=10.0):
        """Ends every process this group started (SIGTERM, then SIGKILL)."""
        children = [c for c in [self.chief, *self.children.values()]
                    if c is not None and c.poll() is None]
        for child in children:
            child.terminate()
        deadline = time.monotonic() + grace
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.children = {}

    def _tail(self, name, lines=20):
        try:
            with open(os.path.join(self.log_dir, f"{name}.log"), encoding="utf-8",
                      errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no log)"


def run_processes(run_dir):
    """`{"chief" or worker id: pid}` of the live chief/worker processes of `run_dir` (Linux)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "kt_toolkit._child" in argv and run_dir in argv:
            found[argv[argv.index("--id") + 1] if "--id" in argv else "chief"] = int(pid)
    return found


def _placement(devices):
    """` on GPU 0 (2, 0.475 of its memory each), GPU 1 (2, …)`, or `""` on the CPU."""
    gpus = {}
    for device in devices.values():
        if device.gpu is not None:
            gpus.setdefault(device.label, []).append(device.memory_share)
    parts = [f"{label} ({len(shares)}" + (f", {shares[0]:g} of its memory each)" if shares[0]
                                          else ")")
             for label, shares in gpus.items()]
    return " on " + ", ".join(parts) if parts else ""


def _check_address(address):
    """A `ConfigError` naming `--oracle-address` when this host cannot bind it."""
    import socket

    family = socket.AF_INET6 if ":" in str(address) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except (OSError, TypeError, ValueError) as error:
        raise ConfigError(f"--oracle-address {address!r} cannot be bound on this host "
                          f"({error}). Use 127.0.0.1 (this machine only) or 0.0.0.0 (every "
                          "interface), or one of this host's addresses.",
                          key="--oracle-address") from None


def _interrupt(signum, frame):
    raise SignalInterrupt(signum)
