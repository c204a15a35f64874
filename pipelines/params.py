"""``--param KEY=VALUE`` arguments turned into typed pipeline arguments, and checked before a run.

Types come from the compiled pipeline interface, so ``epochs=5`` becomes an int and a typo in a name is
caught before anything runs. :func:`check_values` then looks inside the string parameters that the
steps would otherwise be the first to read: the warehouse URL, the spec, JSON text and fixed choices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any


class ParameterError(ValueError):
    """A ``--param`` that the pipeline does not accept."""


#: KFP parameter type -> (parser, what a valid value is, an example of one).
_PARSERS: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "STRING": (str, "a string", "text"),
    "NUMBER_INTEGER": (int, "an integer", "5"),
    "NUMBER_DOUBLE": (float, "a number", "0.01"),
    "BOOLEAN": (lambda text: _boolean(text), "true or false", "true"),
    "STRUCT": (lambda text: _json(text, dict), "a JSON object", '{"key": 1}'),
    "LIST": (lambda text: _json(text, list), "a JSON list", "[1, 2]"),
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


#: Pipeline parameters that carry JSON text, and the JSON type each must hold.
JSON_TEXT = {"train_options": dict, "network_options": dict, "darts_settings": dict, "node_selector": dict,
             "tolerations": list, "s3_secret_env": dict}
_JSON_NAMES = {dict: "object", list: "list", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def choices() -> dict[str, tuple[str, ...]]:
    """Parameters with a fixed set of values, taken from the components that read them (light modules:
    this runs before every ``kwp run`` and ``kwp submit``)."""
    from components.train.launchers.jobs import BACKENDS, JOB_KIND_NAMES
    from components.train.options import PRECISIONS
    from components.tune import MODES

    return {"train_backend": BACKENDS, "job_kind": JOB_KIND_NAMES, "precision": PRECISIONS,
            "tune_mode": MODES, "search_mode": MODES}


def check_values(arguments: Mapping[str, Any]) -> None:
    """Refuse a bad warehouse URL, spec, JSON text or choice before a run starts.

    Each would otherwise surface only in the step that reads it, perhaps after preprocessing has run.
    """
    if "warehouse_url" in arguments:
        from components.preprocess.engines import parse_url

        parse_url(arguments["warehouse_url"])
    if "spec_json" in arguments:
        from components.preprocess.spec import PreprocessSpec

        PreprocessSpec.from_json(arguments["spec_json"])
    for name, kind in JSON_TEXT.items():
        if name in arguments:
            try:
                _json(arguments[name], kind)
            except ValueError as error:
                raise ParameterError(f"{name}={arguments[name]!r} is not a JSON {_JSON_NAMES[kind]} "
                                     f"({error})") from None
    for name, valid in choices().items():
        if name in arguments and arguments[name] not in valid:
            raise ParameterError(f"{name}={arguments[name]!r} is not one of: {', '.join(valid)}")


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
        parse, valid, example = _PARSERS.get(types[key], _PARSERS["STRING"])
        try:
            values[key] = parse(text)
        except ValueError as error:
            detail = f" ({error})" if types[key] in ("STRUCT", "LIST") else ""
            raise ParameterError(
                f"--param {key}={text!r} is not {valid}{detail}, e.g. {key}={example}"
            ) from None
    return values


def _json(text: str, kind: type) -> Any:
    """``text`` as JSON of ``kind``; a ValueError (JSONDecodeError is one) says where it goes wrong."""
    value = json.loads(text)
    if not isinstance(value, kind):
        raise ValueError(f"it is a JSON {_JSON_NAMES.get(type(value), type(value).__name__)}")
    return value


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(text)
