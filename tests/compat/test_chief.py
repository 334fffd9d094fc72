"""kt_toolkit.compat.chief: KerasTuner's gRPC oracle service and client, in one process;
and the chief's oracle policy (kt_toolkit.tuners.distributed) on top of OracleHooks."""

import inspect
import json

import keras_tuner
import pytest
from compat_helpers import end, in_project, space

from kt_toolkit.compat.chief import add_oracle_service, end_trial_as_failed

SCORE = keras_tuner.Objective("score", "max")


def test_keras_tuner_grpc_pieces_are_where_compat_reaches():
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    assert list(inspect.signature(OracleServicer).parameters) == ["oracle"]
    service_grpc = protos.get_service_grpc()
    assert callable(service_grpc.add_OracleServicer_to_server)
    assert callable(service_grpc.OracleStub)
    for message in ("GetTrialRequest", "EndTrialRequest", "CreateTrialRequest"):
        assert hasattr(protos.get_service(), message)
    assert protos.get_proto().TrialStatus.FAILED


@pytest.fixture
def served(tmp_path):
    """A real KerasTuner oracle served on a free loopback port; yields (oracle, servicer, channel)."""
    from concurrent import futures

    import grpc

    oracle = in_project(keras_tuner.oracles.RandomSearchOracle(
        objective=SCORE, max_trials=2, seed=1, hyperparameters=space()), tmp_path)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = add_oracle_service(oracle, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield oracle, servicer, channel
    finally:
        server.stop(grace=0).wait()


def test_a_trial_is_failed_over_grpc_and_the_servicer_sees_the_stop(served, tmp_path):
    from keras_tuner.src import protos

    oracle, servicer, channel = served
    trial = oracle.create_trial("worker0")
    assert servicer.stop_triggered is False
    end_trial_as_failed(channel, trial.trial_id, timeout=30)
    assert oracle.trials[trial.trial_id].status == "FAILED"
    assert oracle.ongoing_trials == {}
    saved = json.loads((tmp_path / "project" / f"trial_{trial.trial_id}" / "trial.json")
                       .read_text())
    assert saved["status"] == "FAILED"

    stub = protos.get_service_grpc().OracleStub(channel)
    for worker in ("worker1", "worker2"):  # the second trial, then STOPPED (max_trials=2)
        request = protos.get_service().CreateTrialRequest(tuner_id=worker)
        answer = stub.CreateTrial(request, timeout=30).trial
    assert answer.status == protos.get_proto().TrialStatus.STOPPED
    assert servicer.stop_triggered is True


class _Run:
    """The two RunDirectory methods the chief's oracle calls."""

    def __init__(self):
        self.stopped = []

    def rows(self):
        return [{"trial_id": "00", "reason": "bad"}, {"trial_id": "01", "reason": "worse"}]

    def write_stopped(self, reason):
        self.stopped.append(reason)


def _chief_oracle(directory, **kwargs):
    from kt_toolkit.tuners.distributed import ChiefOracleMixin

    class Chief(ChiefOracleMixin, keras_tuner.oracles.RandomSearchOracle):
        pass

    return in_project(Chief(objective=SCORE, max_trials=10, seed=1, hyperparameters=space(),
                            **kwargs), directory)


def test_the_chief_oracle_is_keras_tuner_until_it_serves(tmp_path):
    oracle = _chief_oracle(tmp_path, max_consecutive_failed_trials=1)
    with pytest.raises(RuntimeError, match="consecutive failures"):
        end(oracle, oracle.create_trial("tuner0"), "FAILED")
    assert oracle.stop_reason is None


def test_the_serving_chief_stops_every_worker_after_consecutive_failures(tmp_path):
    oracle = _chief_oracle(tmp_path, max_consecutive_failed_trials=2)
    run = _Run()
    oracle.start_serving(run)
    first, second = oracle.create_trial("worker0"), oracle.create_trial("worker1")
    end(oracle, first, "FAILED")
    assert oracle.stop_reason is None and not run.stopped
    end(oracle, second, "FAILED")  # KerasTuner raises inside; the chief does not
    assert oracle.stop_reason.startswith("2 consecutive trials failed")
    assert "bad | worse" in oracle.stop_reason and run.stopped == [oracle.stop_reason]
    assert oracle.ongoing_trials == {}
    saved = json.loads((tmp_path / "project" / "oracle.json").read_text())
    assert saved["ongoing_trials"] == {} and saved["end_order"] == ["00", "01"]
    assert oracle.create_trial("worker0").status == "STOPPED"
    assert oracle.search_over() is False  # worker1 has not asked yet
    assert oracle.create_trial("worker1").status == "STOPPED"
    assert oracle.search_over() is True
    assert oracle.waiting_for() == ({}, [])


def test_a_restarted_chief_adopts_a_trial_and_saves_after_it_ends(tmp_path):
    first = _chief_oracle(tmp_path)
    running = first.create_trial("worker0")
    first.save()
    again = _chief_oracle(tmp_path)
    again.reload()  # KerasTuner queues the interrupted trial for a retry
    again.start_serving(_Run())
    end(again, running, "COMPLETED", score=0.5)  # ...but its worker finished it
    assert again.trials[running.trial_id].status == "COMPLETED"
    saved = json.loads((tmp_path / "project" / "oracle.json").read_text())
    assert saved["retry_queue"] == [] and saved["ongoing_trials"] == {}
    assert saved["end_order"] == [running.trial_id]
