"""From a trial template and an assignment to the command line a local process runs.

Substitution follows Katib: every ``${trialParameters.<name>}`` in the trial object is replaced by
the value of the parameter its ``reference`` names (or by trial metadata for ``${trialSpec.*}``
references). Then the primary container's ``command + args`` and ``env`` are taken, and two things
that only make sense in a pod are translated: ``python``/``python3`` becomes this interpreter, and
``torchrun`` becomes ``python -m torch.distributed.run --standalone --nnodes=1`` (a PyTorchJob passes
the topology through PET_* variables; locally there is one node).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from katib.experiments.trial_template import primary_container
from katib.experiments.validation import TRIAL_PARAMETER

PYTHONS = frozenset({"python", "python3", "python3.10", "python3.11", "python3.12"})
# torchrun options that take no value; every other option takes one (``--opt v`` or ``--opt=v``).
_TORCHRUN_FLAGS = frozenset({"-m", "--module", "--no-python", "--no_python", "--run-path", "--run_path",
                             "--standalone", "--virtual-local-rank", "--virtual_local_rank"})  # fmt: skip
# Multi-node options a single local node must not inherit.
_TORCHRUN_DROP = frozenset({"--nnodes", "--node-rank", "--node_rank", "--master-addr", "--master_addr",
                            "--master-port", "--master_port", "--rdzv-backend", "--rdzv_backend",
                            "--rdzv-endpoint", "--rdzv_endpoint", "--rdzv-id", "--rdzv_id", "--rdzv-conf",
                            "--rdzv_conf", "--standalone"})  # fmt: skip
_META = re.compile(r"^\$\{trialSpec\.(\w+)(?:\[(.+)\])?\}$")


@dataclass(frozen=True)
class TrialCommand:
    argv: list[str]
    env: dict[str, str]
    deadline_s: float | None


def substitution_values(
    template: Mapping[str, Any], assignment: Mapping[str, str], trial_name: str, labels: Mapping[str, str]
) -> dict[str, str]:
    """``{trial parameter name: text}`` for every entry of ``trialParameters``."""
    trial_spec = template["trialSpec"]
    values = {}
    for param in template.get("trialParameters") or []:
        reference = param["reference"]
        meta = _META.match(reference)
        if meta:
            values[param["name"]] = _metadata(meta.group(1), meta.group(2), trial_spec, trial_name, labels)
        elif reference in assignment:
            values[param["name"]] = assignment[reference]
        else:
            raise KeyError(f"trial parameter {param['name']!r} references {reference!r}, which has no value")
    return values


def substitute(trial_spec: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The trial object with every ``${trialParameters.X}`` replaced (as Katib does, on its JSON text)."""
    text = json.dumps(trial_spec)
    for name, value in values.items():
        text = text.replace("${trialParameters." + name + "}", json.dumps(value)[1:-1])
    left = sorted(set(TRIAL_PARAMETER.findall(text)))
    if left:
        raise KeyError(f"placeholders {left} have no value")
    return json.loads(text)


def trial_command(
    template: Mapping[str, Any], trial_spec: Mapping[str, Any], python: str = sys.executable
) -> TrialCommand:
    """The local command, environment and deadline of a substituted trial object."""
    container = primary_container(trial_spec, template["primaryContainerName"])
    assert container is not None  # checked when the experiment was prepared
    argv = [str(a) for a in (container.get("command") or [])] + [
        str(a) for a in (container.get("args") or [])
    ]
    env = {e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e}
    return TrialCommand(localize(argv, _nproc(trial_spec), python), env, _deadline(trial_spec))


def localize(argv: Sequence[str], nproc_per_node: int = 1, python: str = sys.executable) -> list[str]:
    """Translate a pod command for this machine (see the module docstring)."""
    argv = list(argv)
    if not argv:
        return argv
    head = argv[0].rsplit("/", 1)[-1]
    if head in PYTHONS:
        return [python, *argv[1:]]
    if head == "torchrun":
        return [python, "-m", "torch.distributed.run", *_torchrun_args(argv[1:], nproc_per_node)]
    return argv


def _torchrun_args(args: Sequence[str], nproc_per_node: int) -> list[str]:
    kept: list[str] = []
    has_nproc = False
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-") or arg in ("-m", "--module"):
            break  # the script or module: the rest belongs to the program
        option = arg.split("=", 1)[0]
        takes_value = option not in _TORCHRUN_FLAGS and "=" not in arg
        value = [args[i + 1]] if takes_value and i + 1 < len(args) else []
        if option in ("--nproc-per-node", "--nproc_per_node"):
            has_nproc = True
        if option not in _TORCHRUN_DROP:
            kept += [arg, *value]
        i += 1 + len(value)
    head = ["--standalone", "--nnodes=1"] + ([] if has_nproc else [f"--nproc-per-node={nproc_per_node}"])
    return head + kept + list(args[i:])


def _nproc(trial_spec: Mapping[str, Any]) -> int:
    text = str((trial_spec.get("spec") or {}).get("nprocPerNode") or "1")
    return int(text) if text.isdigit() and int(text) > 0 else 1


def _deadline(trial_spec: Mapping[str, Any]) -> float | None:
    spec = trial_spec.get("spec") or {}
    value = spec.get("activeDeadlineSeconds") or (spec.get("runPolicy") or {}).get("activeDeadlineSeconds")
    return float(value) if value else None


def _metadata(
    key: str, index: str | None, trial_spec: Mapping[str, Any], name: str, labels: Mapping[str, str]
) -> str:
    if key == "Name":
        return name
    if key == "Namespace":
        return "local"
    if key == "Kind":
        return str(trial_spec.get("kind", ""))
    if key == "APIVersion":
        return str(trial_spec.get("apiVersion", ""))
    if key == "Labels" and index is not None:
        return str(labels.get(index, ""))
    if key == "Annotations" and index is not None:
        return str(((trial_spec.get("metadata") or {}).get("annotations") or {}).get(index, ""))
    raise KeyError(f"unknown trial metadata reference ${{trialSpec.{key}}}")
