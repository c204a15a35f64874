"""Registering the service with Katib: the ``katib-config`` entry for ``algorithmName: kwp-hyperband``.

Katib 0.19 reads its configuration from the ConfigMap ``katib-config`` (namespace ``kubeflow``), key
``katib-config.yaml``: a ``KatibConfig`` whose ``runtime.suggestions`` lists, per algorithm name, the
container Katib runs as the suggestion Deployment (it adds port 6789 and gRPC health probes itself).
That key is one YAML string, so a patch must carry the whole config: :func:`katib_config_patch`
writes Katib 0.19's default configuration with our entry added, and :func:`add_suggestion` adds the
entry to a configuration you already run (e.g. one with custom images or trial resources).

Plain Python (PyYAML only, imported lazily) so the manifests generator can import it beside kfp.
"""

from __future__ import annotations

import copy
from typing import Any

ALGORITHM_NAME = "kwp-hyperband"
CONFIG_MAP_NAME = "katib-config"
CONFIG_KEY = "katib-config.yaml"
KATIB_NAMESPACE = "kubeflow"
KATIB_TAG = "v0.19.0"

_RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
_RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def suggestion_entry(image: str) -> dict[str, Any]:
    """Our item of ``runtime.suggestions``: the image runs ``python -m katib.suggestion --port 6789``."""
    return {
        "algorithmName": ALGORITHM_NAME,
        "image": image,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": copy.deepcopy(_RESTRICTED_CONTAINER),
        "podSecurityContext": copy.deepcopy(_RESTRICTED_POD),
    }


def default_katib_config(tag: str = KATIB_TAG) -> dict[str, Any]:
    """Katib's standalone default ``KatibConfig`` (0.19 layout), with Katib's images at ``tag``."""
    registry = "ghcr.io/kubeflow/katib"

    def collector(kind: str, image: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "image": f"{registry}/{image}:{tag}",
            "securityContext": copy.deepcopy(_RESTRICTED_CONTAINER),
        }

    def suggestion(name: str, image: str) -> dict[str, Any]:
        return {
            "algorithmName": name,
            "image": f"{registry}/{image}:{tag}",
            "podSecurityContext": copy.deepcopy(_RESTRICTED_POD),
        }

    builtin = [
        ("random", "suggestion-hyperopt"),
        ("tpe", "suggestion-hyperopt"),
        ("grid", "suggestion-optuna"),
        ("hyperband", "suggestion-hyperband"),
        ("bayesianoptimization", "suggestion-skopt"),
        ("cmaes", "suggestion-goptuna"),
        ("sobol", "suggestion-goptuna"),
        ("multivariate-tpe", "suggestion-optuna"),
        ("enas", "suggestion-enas"),
        ("darts", "suggestion-darts"),
    ]
    return {
        "apiVersion": "config.kubeflow.org/v1beta1",
        "kind": "KatibConfig",
        "init": {
            "certGenerator": {"enable": True},
            "controller": {
                "webhookPort": 8443,
                "trialResources": [
                    "Job.v1.batch",
                    "TFJob.v1.kubeflow.org",
                    "PyTorchJob.v1.kubeflow.org",
                    "MPIJob.v1.kubeflow.org",
                    "XGBoostJob.v1.kubeflow.org",
                ],
            },
        },
        "runtime": {
            "metricsCollectors": [
                collector("StdOut", "file-metrics-collector"),
                collector("File", "file-metrics-collector"),
                collector("TensorFlowEvent", "tfevent-metrics-collector"),
            ],
            "suggestions": [suggestion(name, image) for name, image in builtin],
            "earlyStoppings": [
                {"algorithmName": "medianstop", "image": f"{registry}/earlystopping-medianstop:{tag}"}
            ],
        },
    }


def add_suggestion(config: dict[str, Any], image: str) -> dict[str, Any]:
    """A copy of ``config`` with our entry in ``runtime.suggestions`` (replacing an older one)."""
    result = copy.deepcopy(config)
    runtime = result.setdefault("runtime", {})
    others = [s for s in runtime.get("suggestions") or [] if s.get("algorithmName") != ALGORITHM_NAME]
    runtime["suggestions"] = [*others, suggestion_entry(image)]
    return result


def katib_config_patch(
    image: str, base: dict[str, Any] | None = None, namespace: str = KATIB_NAMESPACE
) -> dict[str, Any]:
    """A ConfigMap patch setting ``katib-config.yaml`` to ``base`` plus our entry (kustomize, kubectl).

    ``base`` defaults to :func:`default_katib_config`; pass your running configuration to keep it.
    """
    import yaml

    config = add_suggestion(base if base is not None else default_katib_config(), image)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP_NAME, "namespace": namespace},
        "data": {CONFIG_KEY: yaml.safe_dump(config, sort_keys=False, default_flow_style=False)},
    }


def add_to_katib_config_text(text: str, image: str) -> str:
    """Our entry added to the text of an existing ``katib-config.yaml`` (for ``kubectl edit`` users)."""
    import yaml

    config = yaml.safe_load(text) or {}
    if not isinstance(config, dict) or config.get("kind", "KatibConfig") != "KatibConfig":
        raise ValueError("expected the text of katib-config.yaml: a mapping with kind: KatibConfig")
    return yaml.safe_dump(add_suggestion(config, image), sort_keys=False, default_flow_style=False)
