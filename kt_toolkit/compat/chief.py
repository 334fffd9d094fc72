"""KerasTuner's gRPC oracle service, for kt_toolkit's chief and launcher (keras-tuner 1.4.8).

KerasTuner 1.4.8 has no public way to serve an oracle on a chosen address and
port (its `oracle_chief.start_server` reads `KERASTUNER_ORACLE_IP`/`_PORT`,
binds with one thread, never reports a bind failure and polls every 20 s), nor
a client for a single call. These two functions reach what that code uses:
`keras_tuner.src.protos` (`get_service_grpc()`, `get_service()`, `get_proto()`:
the generated service, messages and `TrialStatus`, v4 or v3 by the protobuf
version) and `keras_tuner.src.distribute.oracle_chief.OracleServicer(oracle)`,
whose `stop_triggered` turns True once the oracle answered a worker STOPPED.

Tests: `tests/compat/test_chief.py` (a real server and client in one process).
"""

__all__ = ["add_oracle_service", "end_trial_as_failed"]


def add_oracle_service(oracle, server):
    """Adds KerasTuner's oracle service for `oracle` to a `grpc.server`.

    Returns:
        KerasTuner's `OracleServicer`: its `stop_triggered` is True once the
        oracle has told a worker that the search is over.
    """
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer


def end_trial_as_failed(channel, trial_id, timeout):
    """Ends `trial_id` as FAILED through the oracle service on a gRPC `channel`.

    The trial's other fields are the chief's own (fetched first); its message
    stays empty (KerasTuner's proto has no field for it).
    """
    from keras_tuner.src import protos

    stub = protos.get_service_grpc().OracleStub(channel)
    service = protos.get_service()
    trial = stub.GetTrial(service.GetTrialRequest(trial_id=trial_id), timeout=timeout).trial
    trial.status = protos.get_proto().TrialStatus.FAILED
    stub.EndTrial(service.EndTrialRequest(trial=trial), timeout=timeout)
