"""``--param KEY=VALUE`` arguments turned into typed pipeline arguments.

Types come from the compiled pipeline interface, so ``epochs=5`` becomes an int and a typo in a name is
caught before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


class ParameterError(ValueError):
    """A ``--param`` that the pipeline does not accept."""


_PARSERS = {
    "STRING": str,
    "NUMBER_INTEGER": int,
    "NUMBER_DOUBLE": float,
    "BOOLEAN": lambda text: _boolean(text),
    "STRUCT": json.loads,
    "LIST": json.loads,
}


def pipeline_parameter_types(pipeline: Any) -> dict[str, str]:
    """Parameter name -> KFP parameter type (``STRING``, ``NUMBER_INTEGER`` ...) of a pipeline."""
    inputs = pipeline.pipeline_spec.root.input_definitions.parameters
    from kfp.pipeline_spec import pipeline_spec_pb2

    enum = pipeline_spec_pb2.ParameterType.ParameterTypeEnum
    return {name: enum.Name(spec.parameter_type) for name, spec in inputs.items()}


def required_parameters(pipeline: Any) -> list[str]:
    """Parameters without a default, which every run must be given."""
    inputs = pipeline.pipeline_spec.root.input_definitions.parameters
    return sorted(name for name, spec in inputs.items() if not spec.is_optional)


def check_required(pipeline: Any, arguments: Mapping[str, Any]) -> None:
    missing = [name for name in required_parameters(pipeline) if name not in arguments]
    if missing:
        shown = ", ".join(f"--param {name}=..." for name in missing)
        raise ParameterError(f"this pipeline needs {shown} (no default)")


def parse_params(pairs: Iterable[str], types: Mapping[str, str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings against the pipeline's parameter types."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--param {pair!r} is not KEY=VALUE")
        if key not in types:
            valid = ", ".join(sorted(types))
            raise ParameterError(f"unknown parameter {key!r}; this pipeline takes: {valid}")
        try:
            values[key] = _PARSERS.get(types[key], str)(text)
        except (ValueError, json.JSONDecodeError) as error:
            raise ParameterError(
                f"--param {key}={text!r} is not a valid {types[key].lower().replace('_', ' ')}: {error}"
            ) from None
    return values


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("expected true or false")
