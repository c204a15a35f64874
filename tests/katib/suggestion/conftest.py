"""Fixtures for the suggestion service: a server on a free loopback port and Katib message builders.

These tests run in the Katib environment (.venv-katib), which has Katib's gRPC stubs but not kfp.
"""

from __future__ import annotations

import grpc
import pytest
from kubeflow.katib import katib_api_pb2 as pb
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib.suggestion.service import serve


@pytest.fixture(scope="module")
def channel():
    server, port = serve(port=0, host="127.0.0.1", workers=2)
    chan = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield chan
    chan.close()
    server.stop(grace=None)


@pytest.fixture(scope="module")
def stub(channel):
    return pb_grpc.SuggestionStub(channel)


def _parameter(name, kind, low=None, high=None, values=(), log=False):
    space = pb.FeasibleSpace(
        min="" if low is None else str(low),
        max="" if high is None else str(high),
        list=[str(v) for v in values],
        distribution=pb.LOG_UNIFORM if log else pb.UNIFORM,
    )
    return pb.ParameterSpec(name=name, parameter_type=kind, feasible_space=space)


DEFAULT_PARAMETERS = (
    ("lr", pb.DOUBLE, 1e-4, 1.0, (), True),
    ("width", pb.INT, 8, 64, (), False),
    ("act", pb.CATEGORICAL, None, None, ("relu", "tanh"), False),
    ("epochs", pb.INT, 1, 81, (), False),
)


@pytest.fixture
def make_experiment():
    """``make_experiment(settings, parallel=4, max_trials=40, parameters=..., maximize=False)``."""

    def build(settings, parallel=4, max_trials=40, parameters=DEFAULT_PARAMETERS, maximize=False):
        return pb.Experiment(
            name="hyperband-test",
            spec=pb.ExperimentSpec(
                parameter_specs=pb.ExperimentSpec.ParameterSpecs(
                    parameters=[_parameter(*p) for p in parameters]
                ),
                objective=pb.ObjectiveSpec(
                    type=pb.MAXIMIZE if maximize else pb.MINIMIZE, objective_metric_name="loss"
                ),
                algorithm=pb.AlgorithmSpec(
                    algorithm_name="kwp-hyperband",
                    algorithm_settings=[pb.AlgorithmSetting(name=n, value=v) for n, v in settings],
                ),
                parallel_trial_count=parallel,
                max_trial_count=max_trials,
            ),
        )

    return build
