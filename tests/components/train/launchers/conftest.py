"""Fixtures of the launcher tests: CRD schema validation and fakes of the Kubernetes API.

No cluster is reachable here, so ``FakeCustomObjectsApi`` and ``FakeCoreV1Api`` stand in for the
kubernetes client classes of the same names. They keep objects in a dict, raise the same
``ApiException`` statuses a server would (409 on a duplicate create, 404 for a missing object) and play
a scripted sequence of job statuses, one per ``get``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

CRD_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "crds"
CRD_FILES = {
    "PyTorchJob": "kubeflow.org_pytorchjobs.v1.9.0.yaml",
    "TrainJob": "trainer.kubeflow.org_trainjobs.yaml",
}


def strict(schema: Any) -> Any:
    """Close every object schema that lists its properties, as the API server's pruning would drop
    unknown fields silently: a misspelt field must fail here instead."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _load_schema(kind: str) -> dict[str, Any]:
    path = CRD_DIR / CRD_FILES[kind]
    if not path.exists():
        pytest.fail(f"CRD schema {path} is missing (CI clones shared/ beside the repository)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(path.read_text(), Loader=loader)
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return strict(version["schema"]["openAPIV3Schema"])


_SCHEMAS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session")
def crd_errors() -> Callable[[dict[str, Any]], list[str]]:
    """``crd_errors(manifest)`` -> the schema violations of a manifest against its kind's CRD."""

    def errors(manifest: dict[str, Any]) -> list[str]:
        kind = manifest.get("kind")
        if kind not in CRD_FILES:
            return [f"no CRD for kind {kind!r}"]
        if kind not in _SCHEMAS:
            _SCHEMAS[kind] = _load_schema(kind)
        validator = jsonschema.Draft7Validator(_SCHEMAS[kind])
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
        ]

    return errors


class FakeCustomObjectsApi:
    """In-memory stand-in for ``kubernetes.client.CustomObjectsApi`` (namespaced objects only).

    ``script(name, statuses)`` queues ``status`` dicts: each ``get`` of that object first applies the
    next one, so a test walks a job through Created -> Running -> Succeeded/Failed. ``fail_gets``
    queues exceptions to raise on the next gets; ``on_create`` lets a test react to a creation (e.g. run
    the container's command the way a pod would).
    """

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.scripts: dict[str, list[dict[str, Any]]] = {}
        self.fail_gets: list[Exception] = []
        self.calls: list[tuple[str, str]] = []
        self.on_create: Callable[[dict[str, Any]], None] | None = None
        self.create_error: ApiException | None = None

    def script(self, name: str, statuses: list[dict[str, Any]]) -> None:
        self.scripts[name] = [copy.deepcopy(s) for s in statuses]

    def add(self, plural: str, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        group = body["apiVersion"].split("/")[0]
        self.objects[(group, meta["namespace"], plural, meta["name"])] = copy.deepcopy(body)

    def create_namespaced_custom_object(self, group, version, namespace, plural, body, **_):
        name = body["metadata"]["name"]
        self.calls.append(("create", name))
        if self.create_error is not None:
            raise self.create_error
        key = (group, namespace, plural, name)
        if key in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        assert body["apiVersion"] == f"{group}/{version}"
        self.objects[key] = copy.deepcopy(body)
        if self.on_create:
            self.on_create(copy.deepcopy(body))
        return copy.deepcopy(body)

    def get_namespaced_custom_object(self, group, version, namespace, plural, name, **_):
        self.calls.append(("get", name))
        if self.fail_gets:
            raise self.fail_gets.pop(0)
        key = (group, namespace, plural, name)
        if key not in self.objects:
            raise ApiException(status=404, reason="NotFound")
        if self.scripts.get(name):
            self.objects[key]["status"] = self.scripts[name].pop(0)
        return copy.deepcopy(self.objects[key])

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name, **kwargs):
        self.calls.append(("delete", name))
        key = (group, namespace, plural, name)
        if key not in self.objects:
            raise ApiException(status=404, reason="NotFound")
        del self.objects[key]
        return {"kind": "Status", "status": "Success", "propagation": kwargs.get("propagation_policy")}

    def count(self, action: str) -> int:
        return sum(1 for a, _ in self.calls if a == action)


class FakeCoreV1Api:
    """Stand-in for ``kubernetes.client.CoreV1Api``: pods listed by label selector, logs that grow.

    ``add_pod(selector, pod, log)`` gives the pod the selector's labels and a log present from time 0;
    ``write_log(pod, container, [(t, line), ...])`` adds lines that appear once the clock reaches ``t``.
    Log reads honour ``tail_lines``, ``since_seconds``, ``previous`` and ``timestamps`` (RFC 3339 with
    nanoseconds, like the kubelet), and answer 400 for a container without a log yet.
    """

    EPOCH = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    def __init__(self, clock: Callable[[], float] = lambda: 0.0) -> None:
        self.clock = clock
        self.pods: list[k8s.V1Pod] = []
        self.logs: dict[tuple[str, str, bool], list[tuple[float, str]]] = {}
        self.log_calls: list[dict[str, Any]] = []
        self.selectors: list[str] = []
        self.list_error: ApiException | None = None
        self.log_error: ApiException | None = None

    def add_pod(
        self, selector: str, pod: k8s.V1Pod, log: str = "", previous_log: str | None = None
    ) -> k8s.V1Pod:
        labels = dict(term.split("=", 1) for term in selector.split(",") if term)
        pod.metadata.labels = {**(pod.metadata.labels or {}), **labels}
        self.pods.append(pod)
        container = pod.spec.containers[0].name
        self.write_log(pod.metadata.name, container, [(0.0, line) for line in log.splitlines()])
        if previous_log is not None:
            self.write_log(
                pod.metadata.name, container, [(0.0, x) for x in previous_log.splitlines()], previous=True
            )
        return pod

    def write_log(
        self, pod: str, container: str, lines: list[tuple[float, str]], previous: bool = False
    ) -> None:
        self.logs.setdefault((pod, container, previous), []).extend(lines)

    def restart(self, pod: k8s.V1Pod, at: float) -> None:
        """The container crashed at ``at`` and restarted: its log so far becomes the previous one."""
        container = pod.spec.containers[0].name
        current = self.logs.pop((pod.metadata.name, container, False), [])
        self.logs[(pod.metadata.name, container, True)] = [e for e in current if e[0] <= at]
        self.logs[(pod.metadata.name, container, False)] = [e for e in current if e[0] > at]
        pod.status.container_statuses[0].restart_count += 1

    def list_namespaced_pod(self, namespace, label_selector="", **_):
        self.selectors.append(label_selector)
        if self.list_error is not None:
            raise self.list_error
        wanted = dict(term.split("=", 1) for term in label_selector.split(",") if term)
        return k8s.V1PodList(
            items=[p for p in self.pods if wanted.items() <= (p.metadata.labels or {}).items()]
        )

    def read_namespaced_pod_log(
        self, name, namespace, container=None, tail_lines=None, previous=False, timestamps=False,
        since_seconds=None, **_,
    ):  # fmt: skip
        self.log_calls.append(
            {"pod": name, "container": container, "tail_lines": tail_lines, "previous": previous,
             "since_seconds": since_seconds, "timestamps": timestamps}
        )  # fmt: skip
        if self.log_error is not None:
            raise self.log_error
        now = self.clock()
        entries = [e for e in self.logs.get((name, container, bool(previous)), []) if e[0] <= now]
        if not entries:
            raise ApiException(status=400, reason="BadRequest")  # "container ... is waiting to start"
        if since_seconds is not None:
            entries = [e for e in entries if e[0] >= now - since_seconds]
        if tail_lines is not None:
            entries = entries[-tail_lines:]
        if not timestamps:
            return "\n".join(line for _, line in entries)
        return "".join(f"{self.stamp(t)} {line}\n" for t, line in entries)

    def stamp(self, t: float) -> str:
        """RFC 3339 with nanoseconds, trailing zeros dropped, as the kubelet writes it."""
        moment = self.EPOCH + timedelta(seconds=int(t))
        nanos = f"{round((t - int(t)) * 1e9):09d}".rstrip("0")
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{nanos}" if nanos else "") + "Z"


def make_pod(
    name: str, container: str, phase: str = "Running", exit_code: int | None = None, restarted: bool = False
) -> k8s.V1Pod:
    """A pod as the API returns it; ``exit_code`` terminates the container, ``restarted`` records a
    crashed previous attempt while the current one runs."""
    state = k8s.V1ContainerState(running=k8s.V1ContainerStateRunning())
    if exit_code is not None:
        state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code))
    last = None
    if restarted:
        last = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=1))
    status = k8s.V1ContainerStatus(
        name=container, image="img", image_id="", ready=True, restart_count=int(restarted), state=state,
        last_state=last,
    )  # fmt: skip
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name=container)]),
        status=k8s.V1PodStatus(phase=phase, container_statuses=[status]),
    )


@pytest.fixture
def fake_custom() -> FakeCustomObjectsApi:
    return FakeCustomObjectsApi()


@pytest.fixture
def fake_core(fake_clock) -> FakeCoreV1Api:
    return FakeCoreV1Api(clock=fake_clock)




@pytest.fixture
def pod_factory():
    return make_pod


@pytest.fixture
def tiny_splits(tmp_path):
    """Train/validation Parquet (key, label, four float features) and the statistics JSON, in a dir."""
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    data = tmp_path / "data"
    data.mkdir()
    features = [f"f{i}" for i in range(4)]
    for split, rows in (("train", 96), ("validation", 32)):
        x = rng.normal(size=(rows, len(features))).astype("float32")
        columns = {"key": pa.array(range(rows)), "label": pa.array((x[:, 0] + x[:, 1] > 0).astype("int64"))}
        columns.update({name: pa.array(x[:, i]) for i, name in enumerate(features)})
        pq.write_table(pa.table(columns), data / f"{split}.parquet")
    stats = {"key_column": "key", "label_column": "label", "feature_columns": features}
    (data / "stats.json").write_text(json.dumps(stats))
    return data
