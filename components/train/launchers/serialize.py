"""Turn API model objects into plain dicts and YAML.

kubeflow-training and kubernetes models serialise through ``ApiClient.sanitize_for_serialization``
(camelCase keys, ``None`` dropped); kubeflow-trainer-api models are pydantic and have their own
``to_dict``. Everything leaves this module as plain JSON-compatible data.
"""

from __future__ import annotations

from typing import Any

import yaml


def to_plain(obj: Any) -> Any:
    """A JSON-compatible copy of ``obj`` (API model, list, dict or scalar)."""
    if hasattr(obj, "model_dump") and hasattr(obj, "to_dict"):  # pydantic (kubeflow-trainer-api)
        return to_plain(obj.to_dict())
    if hasattr(obj, "openapi_types"):  # openapi-generator models (kubernetes, kubeflow-training)
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(obj)
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    return obj


def to_yaml(manifest: dict[str, Any]) -> str:
    """Block-style YAML with the keys in the order the manifest holds them (stable across runs)."""
    return yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, width=100)
