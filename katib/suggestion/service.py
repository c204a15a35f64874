"""Katib's ``Suggestion`` gRPC service backed by the Hyperband core.

Each ``GetSuggestions`` call is answered from the request alone (experiment + all trials), with
exactly ``current_request_number`` assignments: Katib's controller rejects any other count, which is
why its built-in Hyperband stalls after the first rung. Bad settings are INVALID_ARGUMENT with the
core's message, both in ``ValidateAlgorithmSettings`` (when the Experiment is created) and later.
"""

from __future__ import annotations

import logging
from concurrent import futures
from typing import Any

import grpc
from kubeflow.katib import katib_api_pb2 as pb
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib.hyperband import HyperbandSettingsError, ScheduleError, suggest
from katib.space import SearchSpaceError
from katib.suggestion import convert
from katib.suggestion.health import add_health_service

DEFAULT_PORT = 6789
LOG = logging.getLogger("katib.suggestion")
_BAD_INPUT = (HyperbandSettingsError, ScheduleError, SearchSpaceError, convert.RequestError)


class HyperbandSuggestionService(pb_grpc.SuggestionServicer):
    """Stateless: nothing is kept between calls, so restarts and replicas are harmless."""

    def GetSuggestions(self, request: Any, context: grpc.ServicerContext) -> Any:
        count = request.current_request_number
        try:
            experiment = request.experiment
            space = convert.search_space(experiment)
            settings = convert.settings(experiment, space)
            trials = convert.trial_records(request.trials, convert.objective_name(experiment))
            assignments = suggest(space, settings, trials, count, convert.minimize(experiment))
        except _BAD_INPUT as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        LOG.info(
            "experiment %s: %d trials known, %d suggestions returned",
            request.experiment.name,
            len(request.trials),
            len(assignments),
        )
        return convert.reply(assignments)

    def ValidateAlgorithmSettings(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            space = convert.search_space(request.experiment)
            convert.settings(request.experiment, space)
            convert.minimize(request.experiment)
        except _BAD_INPUT as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"kwp-hyperband: {err}")
        return pb.ValidateAlgorithmSettingsReply()


def serve(port: int = DEFAULT_PORT, host: str = "[::]", workers: int = 4) -> tuple[grpc.Server, int]:
    """Start the service (with gRPC health checks); returns the server and the port it bound.

    ``port=0`` binds a free port, which tests use.
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    pb_grpc.add_SuggestionServicer_to_server(HyperbandSuggestionService(), server)
    add_health_service(server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"could not listen on {host}:{port}")
    server.start()
    LOG.info("kwp-hyperband suggestion service listening on %s:%d", host, bound)
    return server, bound
