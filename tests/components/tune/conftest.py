"""A fake of the Kubernetes custom-objects API with a scripted Katib controller behind it.

No Kubernetes or Katib runs on a test machine, so ``FakeCustomObjectsApi`` stands in for
``kubernetes.client.CustomObjectsApi``: it stores objects, answers 409/404 like the API server
(with the real ``ApiException``), filters by label selector, and lets a test script what Katib
does to an Experiment each time it is read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.rest import ApiException


class FakeCustomObjectsApi:
    """In-memory custom objects; ``controller(experiment, api)`` runs on every Experiment read."""

    def __init__(self, controller: Callable[[dict, FakeCustomObjectsApi], None] | None = None) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.controller = controller
        self.calls: list[str] = []
        self.fail_next_gets: list[int] = []  # HTTP statuses to raise on the next reads

    def create_namespaced_custom_object(self, group, version, namespace, plural, body, **_):
        self.calls.append("create")
        key = (namespace, plural, group, body["metadata"]["name"])
        if key in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        stored = copy.deepcopy(body)
        stored["metadata"].setdefault("uid", f"uid-{len(self.objects)}")
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def get_namespaced_custom_object(self, group, version, namespace, plural, name, **_):
        self.calls.append("get")
        if self.fail_next_gets:
            raise ApiException(status=self.fail_next_gets.pop(0), reason="scripted failure")
        key = (namespace, plural, group, name)
        if key not in self.objects:
            raise ApiException(status=404, reason="NotFound")
        if plural == "experiments" and self.controller is not None:
            self.controller(self.objects[key], self)
        return copy.deepcopy(self.objects[key])

    def list_namespaced_custom_object(self, group, version, namespace, plural, label_selector="", **_):
        self.calls.append("list")
        wanted = dict(part.split("=", 1) for part in label_selector.split(",") if part)
        items = [
            copy.deepcopy(obj)
            for (ns, kind, _, _), obj in self.objects.items()
            if ns == namespace
            and kind == plural
            and all((obj["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]
        return {"items": items}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name, **_):
        self.calls.append("delete")
        if self.objects.pop((namespace, plural, group, name), None) is None:
            raise ApiException(status=404, reason="NotFound")

    def add_trial(
        self, experiment: dict, suffix: str, lr: str, loss: float | None, state: str = "Succeeded"
    ) -> None:
        """Store a Trial as Katib's controller would create it for ``experiment``."""
        name = f"{experiment['metadata']['name']}-{suffix}"
        metrics = (
            []
            if loss is None
            else [{"name": "loss", "latest": str(loss), "min": str(loss), "max": str(loss)}]
        )
        trial = {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Trial",
            "metadata": {
                "name": name,
                "namespace": experiment["metadata"]["namespace"],
                "labels": {"katib.kubeflow.org/experiment": experiment["metadata"]["name"]},
            },
            "spec": {
                "objective": experiment["spec"]["objective"],
                "parameterAssignments": [{"name": "lr", "value": lr}],
            },
            "status": {
                "conditions": [{"type": state, "status": "True"}],
                "observation": {"metrics": metrics},
            },
        }
        self.objects[(trial["metadata"]["namespace"], "trials", "kubeflow.org", name)] = trial


def katib_finishing_after(
    reads: int, outcome: str = "Succeeded"
) -> Callable[[dict, FakeCustomObjectsApi], None]:
    """A scripted controller: running for ``reads`` reads, then two trials and the final condition."""

    def controller(experiment: dict, api: FakeCustomObjectsApi) -> None:
        status = experiment.setdefault("status", {"conditions": [{"type": "Created", "status": "True"}]})
        status["reads"] = status.get("reads", 0) + 1
        status["trialsRunning"] = 2
        if status["reads"] < reads or any(c["type"] == outcome for c in status["conditions"]):
            return
        api.add_trial(experiment, "aaaaaaaa", "0.1", 0.5)
        api.add_trial(experiment, "bbbbbbbb", "0.01", 0.2)
        status.update(trialsRunning=0, trialsSucceeded=2)
        status["currentOptimalTrial"] = {
            "bestTrialName": f"{experiment['metadata']['name']}-bbbbbbbb",
            "parameterAssignments": [{"name": "lr", "value": "0.01"}],
            "observation": {"metrics": [{"name": "loss", "latest": "0.2", "min": "0.2", "max": "0.2"}]},
        }
        reason = "ExperimentMaxTrialsReached" if outcome == "Succeeded" else "ExperimentFailed"
        status["conditions"].append(
            {"type": outcome, "status": "True", "reason": reason, "message": f"{outcome} now"}
        )

    return controller


@pytest.fixture
def fake_api():
    """``fake_api(controller=None)`` -> a fresh FakeCustomObjectsApi."""
    return FakeCustomObjectsApi


@pytest.fixture
def katib_controller():
    return katib_finishing_after


@pytest.fixture
def small_experiment() -> dict:
    """A valid Experiment whose trial runs a one-line Python objective; ``${kwp.train}`` is its data."""
    from katib.experiments import Algorithm, Objective, build_experiment, experiment_to_dict, job_template
    from katib.space import SearchSpace, discrete

    space = SearchSpace.of([discrete("lr", [0.01, 0.1, 0.3])])
    code = (
        "import sys; lr = float(sys.argv[1]); rows = len(open(sys.argv[2]).read().split()); "
        "print(f'loss={(lr - 0.1) ** 2 + 0.5} rows={rows}')"
    )
    command = ["python", "-c", code, "${trialParameters.lr}", "${kwp.train}"]
    experiment = build_experiment(
        "small-tune",
        objective=Objective("loss", additional_metrics=("rows",)),
        algorithm=Algorithm.grid(),
        trial_template=job_template("python:3.11", command, ["lr"]),
        space=space,
        parallel_trial_count=2,
        max_trial_count=3,
        max_failed_trial_count=1,
    )
    return experiment_to_dict(experiment)
