"""``python -m katib.suggestion --port PORT`` as Katib's Deployment runs it.

Health probe, one request, then SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from kubeflow.katib import katib_api_pb2 as pb
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib.suggestion.health import SERVING, check

REPO_ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(channel, process, deadline=60.0):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {process.communicate()}")
        try:
            return check(channel, "manager.v1beta1.Suggestion", timeout=1.0)
        except grpc.RpcError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def test_module_entry_point_serves_katib(make_experiment):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "katib.suggestion", "--port", str(port), "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert _wait_until_serving(channel, process) == SERVING
            assert check(channel, "") == SERVING
            experiment = make_experiment([("resource_name", "epochs"), ("r_l", "81")])
            reply = pb_grpc.SuggestionStub(channel).GetSuggestions(
                pb.GetSuggestionsRequest(experiment=experiment, current_request_number=5), timeout=30
            )
            assert len(reply.parameter_assignments) == 5
            try:
                check(channel, "some.other.Service")
                raise AssertionError("an unknown service must not report SERVING")
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"ready on port {port}" in output
