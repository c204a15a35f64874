"""The standard gRPC health service (``grpc.health.v1.Health/Check``), which Katib's probes call.

Katib gives each suggestion Deployment gRPC readiness and liveness probes for the service name
``manager.v1beta1.Suggestion``. The ``grpcio-health-checking`` package needs protobuf >= 5 in its
current releases while Katib's stubs pin protobuf < 5, so the two messages of ``health.proto`` are
built here from a descriptor instead (the wire format is the standard one).
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE_NAME = "grpc.health.v1.Health"
PROBED_SERVICES = ("", "manager.v1beta1.Suggestion", "api.v1.beta1.Suggestion")
SERVING = 1


def _message_classes() -> tuple[Any, Any]:
    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="kwp/grpc/health/v1/health.proto", package="grpc.health.v1", syntax="proto3"
    )
    request = proto.message_type.add(name="HealthCheckRequest")
    request.field.add(name="service", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    response = proto.message_type.add(name="HealthCheckResponse")
    status = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(("UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN")):
        status.value.add(name=name, number=number)
    response.field.add(
        name="status",
        number=1,
        type=field.TYPE_ENUM,
        type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
        label=field.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()  # private pool: no clash with an installed grpc_health
    pool.Add(proto)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")),
    )


HealthCheckRequest, HealthCheckResponse = _message_classes()


def _check(request: Any, context: grpc.ServicerContext) -> Any:
    if request.service not in PROBED_SERVICES:
        context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
    return HealthCheckResponse(status=SERVING)


def add_health_service(server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(
        _check,
        request_deserializer=HealthCheckRequest.FromString,
        response_serializer=HealthCheckResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, {"Check": handler}),))


def check(channel: grpc.Channel, service: str = "", timeout: float = 5.0) -> int:
    """Call Check on a channel; returns the ServingStatus number (1 = SERVING)."""
    call = channel.unary_unary(
        f"/{SERVICE_NAME}/Check",
        request_serializer=HealthCheckRequest.SerializeToString,
        response_deserializer=HealthCheckResponse.FromString,
    )
    return call(HealthCheckRequest(service=service), timeout=timeout).status
