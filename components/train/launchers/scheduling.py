"""Where the training pods may run: node selectors and tolerations, validated as the API server would.

The accelerator type is a node selector (e.g. ``{"cloud.google.com/gke-accelerator": "nvidia-l4"}`` on
GKE); GPU node pools are usually tainted ``nvidia.com/gpu:NoSchedule``, so a job that asks for GPUs
gets ``GPU_TOLERATION`` unless it already tolerates that taint. Checking here, before submission,
turns a pod stuck ``Pending`` (or a rejected create) into an error that names the bad value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from components.train.launchers.errors import LauncherConfigError

OPERATORS = ("Equal", "Exists")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
GPU_TAINT_KEY = "nvidia.com/gpu"
_FIELDS = {"key", "operator", "value", "effect", "tolerationSeconds"}
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_label_key(key: Any, what: str) -> None:
    """A qualified name: ``[prefix/]name``, prefix a DNS subdomain (<= 253), name <= 63 characters."""
    prefix, _, name = str(key).rpartition("/") if isinstance(key, str) else ("", "", "")
    valid = bool(name) and _NAME.match(name) and (not prefix or _DNS_SUBDOMAIN.match(prefix))
    if not isinstance(key, str) or not valid or len(prefix) > 253:
        raise LauncherConfigError(
            f"{what} {key!r} is not a valid label key ([prefix/]name: name of 1-63 letters, digits, "
            "'-', '_', '.' starting and ending alphanumeric; prefix a DNS subdomain, e.g. 'nvidia.com/gpu')"
        )


def check_label_value(value: Any, what: str) -> None:
    """Empty, or 1-63 letters, digits, '-', '_', '.' starting and ending alphanumeric."""
    if not isinstance(value, str) or (value and not _NAME.match(value)):
        raise LauncherConfigError(
            f"{what} {value!r} is not a valid label value (a string of at most 63 letters, digits, '-', "
            "'_', '.' starting and ending alphanumeric, e.g. 'nvidia-l4')"
        )


@dataclass(frozen=True)
class Toleration:
    """A Kubernetes pod toleration; ``key=None`` with ``Exists`` tolerates every taint."""

    key: str | None = None
    operator: str = "Equal"
    value: str | None = None
    effect: str | None = None  # None matches every effect
    toleration_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise LauncherConfigError(f"toleration operator={self.operator!r}; valid: {', '.join(OPERATORS)}")
        if self.key is None:
            if self.operator != "Exists":
                raise LauncherConfigError("a toleration without key must use operator 'Exists' (all taints)")
        else:
            check_label_key(self.key, "toleration key")
        if self.operator == "Exists" and self.value:
            raise LauncherConfigError(
                f"toleration {self.key!r} has operator 'Exists' and value={self.value!r}: "
                "'Exists' matches any value; drop the value or use operator 'Equal'"
            )
        if self.value is not None:
            check_label_value(self.value, f"toleration {self.key!r} value")
        if self.effect is not None and self.effect not in EFFECTS:
            raise LauncherConfigError(
                f"toleration {self.key!r} effect={self.effect!r}; "
                f"valid: {', '.join(EFFECTS)} (or none for all)"
            )
        seconds = self.toleration_seconds
        if seconds is not None:
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                raise LauncherConfigError(
                    f"toleration {self.key!r} tolerationSeconds={seconds!r} must be an integer >= 0"
                )
            if self.effect != "NoExecute":
                raise LauncherConfigError(
                    f"toleration {self.key!r} tolerationSeconds={seconds} needs effect 'NoExecute' "
                    f"(it bounds how long a running pod stays after the taint), not {self.effect!r}"
                )

    @classmethod
    def from_dict(cls, item: Any) -> Toleration:
        """From the Kubernetes spelling (``tolerationSeconds``); unknown fields are refused."""
        if not isinstance(item, Mapping):
            raise LauncherConfigError(f"a toleration must be a JSON object, got {item!r}")
        unknown = sorted(set(item) - _FIELDS)
        if unknown:
            raise LauncherConfigError(
                f"toleration {dict(item)!r} has unknown fields {unknown}; valid: {sorted(_FIELDS)}"
            )
        return cls(
            key=item.get("key") or None,
            operator=item.get("operator") or "Equal",
            value=item.get("value"),
            effect=item.get("effect") or None,
            toleration_seconds=item.get("tolerationSeconds"),
        )

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the Kubernetes and Trainer toleration models: the same snake_case fields."""
        return asdict(self)

    def to_dict(self) -> dict[str, Any]:
        """The Kubernetes spelling, without unset fields."""
        fields = {
            "key": self.key,
            "operator": self.operator,
            "value": self.value,
            "effect": self.effect,
            "tolerationSeconds": self.toleration_seconds,
        }
        return {k: v for k, v in fields.items() if v is not None}


GPU_TOLERATION = Toleration(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule")


def check_node_selector(selector: Any) -> None:
    if not isinstance(selector, Mapping):
        raise LauncherConfigError(f"node_selector must be a mapping of label to value, got {selector!r}")
    for key, value in selector.items():
        check_label_key(key, "node_selector key")
        check_label_value(value, f"node_selector[{key!r}]")


def pod_tolerations(tolerations: Iterable[Toleration], gpu: int) -> list[Toleration]:
    """The given tolerations, plus ``GPU_TOLERATION`` when GPUs are asked for and no toleration names
    the ``nvidia.com/gpu`` taint (one that names it, with any operator or effect, is taken as meant)."""
    given = list(tolerations)
    named = any(t.key == GPU_TAINT_KEY or (t.key is None and t.operator == "Exists") for t in given)
    return [*given, GPU_TOLERATION] if gpu and not named else given


def parse_node_selector(text: str) -> dict[str, str]:
    """A JSON object string such as ``'{"cloud.google.com/gke-accelerator": "nvidia-l4"}'``."""
    value = load_json("node_selector", text, "{}")
    if not isinstance(value, dict):
        raise LauncherConfigError(f"node_selector must be a JSON object of label to value, got {text!r}")
    check_node_selector(value)
    return value


def parse_tolerations(text: str) -> tuple[Toleration, ...]:
    """A JSON list of Kubernetes tolerations, e.g. ``'[{"key": "spot", "operator": "Exists"}]'``."""
    value = load_json("tolerations", text, "[]")
    if not isinstance(value, list):
        raise LauncherConfigError(f"tolerations must be a JSON list of objects, got {text!r}")
    return tuple(Toleration.from_dict(item) for item in value)


def load_json(name: str, text: str, empty: str) -> Any:
    """``text`` (``empty`` when blank) decoded, or a LauncherConfigError naming the parameter ``name``."""
    try:
        return json.loads(text or empty)
    except json.JSONDecodeError as exc:
        raise LauncherConfigError(f"{name} is not valid JSON ({exc}): {text!r}") from None
