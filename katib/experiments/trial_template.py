"""Reading a trial template: its pods, its primary container, and the webhook's rules for it.

Shared by the validator (is the template usable by Katib?) and the local runner (which command does
a trial run?). Kinds understood: batch/v1 Job and the Kubeflow training jobs with ``*ReplicaSpecs``
(PyTorchJob's ``Master`` is the primary replica, as Katib's default ``job-role: master`` label says).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from katib.experiments.errors import Issue
from katib.experiments.validation import META_REFERENCE, TRIAL_PARAMETER

PRIMARY_REPLICAS = ("Master", "Chief", "Launcher")


def pod_specs(trial_spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(role, podSpec)`` pairs, the primary pod first; empty when the kind has no pods we know."""
    spec = trial_spec.get("spec") or {}
    if trial_spec.get("kind") == "Job":
        pod = ((spec.get("template") or {}).get("spec")) or {}
        return [("Job", pod)] if pod else []
    replica_specs = next(
        (v for k, v in spec.items() if k.endswith("ReplicaSpecs") and isinstance(v, Mapping)), {}
    )
    roles = sorted(replica_specs, key=lambda r: (r not in PRIMARY_REPLICAS, r))
    return [(role, ((replica_specs[role] or {}).get("template") or {}).get("spec") or {}) for role in roles]


def primary_container(trial_spec: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The container named ``name`` in the primary pod, or None."""
    pods = pod_specs(trial_spec)
    if not pods:
        return None
    for container in pods[0][1].get("containers") or []:
        if isinstance(container, Mapping) and container.get("name") == name:
            return container
    return None


def template_issues(spec: Mapping[str, Any]) -> list[Issue]:
    """The webhook's trial-template rules (run on a spec that already has Katib's defaults)."""
    template = spec.get("trialTemplate")
    path = "spec.trialTemplate"
    if not isinstance(template, Mapping):
        return [Issue(path, "must be specified")]
    issues = []
    if not template.get("primaryContainerName"):
        issues.append(Issue(f"{path}.primaryContainerName", "must be specified"))
    if not template.get("successCondition") or not template.get("failureCondition"):
        issues.append(Issue(path, "successCondition and failureCondition must be specified for this kind"))
    if template.get("trialParameters") is None:
        return [*issues, Issue(f"{path}.trialParameters", "must be specified")]
    has_spec, has_map = template.get("trialSpec") is not None, template.get("configMap") is not None
    if has_spec == has_map:
        return [*issues, Issue(path, "exactly one of trialSpec or configMap must be specified")]
    if has_map:
        return issues + _config_map(template["configMap"])
    trial_spec = template["trialSpec"]
    if not isinstance(trial_spec, Mapping):
        return [*issues, Issue(f"{path}.trialSpec", "must be a Kubernetes object (a mapping)")]
    issues += _parameters(spec, template, json.dumps(trial_spec))
    issues += _object(trial_spec, template.get("primaryContainerName"))
    return issues


def _config_map(source: Any) -> list[Issue]:
    keys = ("configMapName", "configMapNamespace", "templatePath")
    if not isinstance(source, Mapping) or not all(source.get(k) for k in keys):
        return [
            Issue(
                "spec.trialTemplate.configMap",
                "configMapName, configMapNamespace and templatePath must be set",
            )
        ]
    return []


def _parameters(spec: Mapping[str, Any], template: Mapping[str, Any], text: str) -> list[Issue]:
    path = "spec.trialTemplate.trialParameters"
    known = {p.get("name") for p in spec.get("parameters") or [] if isinstance(p, Mapping)}
    names: set[str] = set()
    references: set[str] = set()
    issues = []
    for i, param in enumerate(template["trialParameters"]):
        name, ref = (param or {}).get("name") or "", (param or {}).get("reference") or ""
        if not name or not ref or "{" in name or "}" in name:
            issues.append(
                Issue(f"{path}[{i}]", "name and reference must be set; name must not contain '{' or '}'")
            )
            continue
        if name in names or ref in references:
            what = "name" if name in names else "reference"
            issues.append(Issue(f"{path}[{i}].{what}", f"{name if what == 'name' else ref!r} is repeated"))
            continue
        names.add(name)
        references.add(ref)
        if known and ref not in known and not META_REFERENCE.match(ref):
            issues.append(
                Issue(
                    f"{path}[{i}].reference", f"{ref!r} is not a parameter of spec.parameters {sorted(known)}"
                )
            )
        marker = "${trialParameters." + name + "}"
        if marker not in text:
            issues.append(
                Issue(f"{path}[{i}].name", f"{marker} does not appear in spec.trialTemplate.trialSpec")
            )
        text = text.replace(marker, "test-value")
    leftovers = sorted(set(TRIAL_PARAMETER.findall(text)))
    if leftovers:
        issues.append(
            Issue("spec.trialTemplate", f"placeholders for {leftovers} have no entry in trialParameters")
        )
    return issues


def _object(trial_spec: Mapping[str, Any], container_name: str | None) -> list[Issue]:
    path = "spec.trialTemplate.trialSpec"
    issues = []
    metadata = trial_spec.get("metadata") or {}
    if metadata.get("name") or metadata.get("namespace"):
        issues.append(
            Issue(f"{path}.metadata", "name and namespace must be omitted (Katib sets them per trial)")
        )
    if not trial_spec.get("apiVersion") or not trial_spec.get("kind"):
        issues.append(Issue(path, "apiVersion and kind must be specified"))
    if container_name and pod_specs(trial_spec) and primary_container(trial_spec, container_name) is None:
        issues.append(
            Issue(path, f"the primary pod has no container named {container_name!r} (primaryContainerName)")
        )
    return issues
