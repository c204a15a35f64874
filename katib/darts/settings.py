"""Katib's DARTS algorithm settings, with Katib's defaults and validation rules, plus ``unrolled``.

Katib's DARTS suggestion fills in a default for every setting the Experiment leaves out and sends them
to the trial as one JSON object with ``'`` for ``"``: defaults as numbers, user values as strings,
``"None"`` as ``null``. :meth:`DartsSettings.from_katib` reads exactly that.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from katib.darts.errors import SettingsError
from katib.darts.search_space import parse_katib_json, unquote

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class DartsSettings:
    """Every setting of Katib's DARTS trial; ``unrolled`` (ours) picks second-order architecture gradients.

    ``batch_size=None`` (Katib allows ``"None"``) puts each half of the data in a single batch;
    ``w_grad_clip=0`` turns gradient clipping off.
    """

    num_epochs: int = 50
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    w_grad_clip: float = 5.0
    alpha_lr: float = 3e-4
    alpha_weight_decay: float = 1e-3
    batch_size: int | None = 128
    num_workers: int = 4
    init_channels: int = 16
    print_step: int = 50
    num_nodes: int = 4
    stem_multiplier: int = 3
    unrolled: bool = True

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DartsSettings:
        """Settings from ``{name: value}``; values may be numbers or strings, unknown names are an error."""
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise SettingsError(f"unknown DARTS settings {unknown}; valid settings: {', '.join(cls.names())}")
        return cls(**{name: _convert(name, value) for name, value in values.items()})

    @classmethod
    def from_katib(cls, text: str) -> DartsSettings:
        """Read ``--algorithm-settings`` as Katib's DARTS suggestion writes it (an empty string: defaults)."""
        if not unquote(text):
            return cls()
        value = parse_katib_json(text, "--algorithm-settings", SettingsError)
        if not isinstance(value, dict):
            raise SettingsError(f"--algorithm-settings must be a JSON object, got {text!r}")
        return cls.from_mapping(value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_katib(self) -> str:
        """The settings as the suggestion passes them, e.g. for a local run of the trial command."""
        return json.dumps(self.to_dict()).replace('"', "'")


# name -> (type, smallest valid value); Katib validates the same bounds in its suggestion service.
_RULES: dict[str, tuple[type, float]] = {
    "num_epochs": (int, 1),
    "w_lr": (float, 0),
    "w_lr_min": (float, 0),
    "w_momentum": (float, 0),
    "w_weight_decay": (float, 0),
    "w_grad_clip": (float, 0),
    "alpha_lr": (float, 0),
    "alpha_weight_decay": (float, 0),
    "batch_size": (int, 1),
    "num_workers": (int, 0),
    "init_channels": (int, 1),
    "print_step": (int, 1),
    "num_nodes": (int, 1),
    "stem_multiplier": (int, 1),
}


def _convert(name: str, value: Any) -> Any:
    if name == "unrolled":
        return _boolean(value)
    if value is None or (isinstance(value, str) and value.strip() in ("None", "null")):
        if name == "batch_size":
            return None
        raise SettingsError(f"setting {name} cannot be None; default: {getattr(DartsSettings(), name)}")
    kind, minimum = _RULES[name]
    number = _number(name, value)
    if kind is int and number != int(number):
        raise SettingsError(f"setting {name} must be an integer, got {value!r}")
    if number < minimum:
        relation = "greater than or equal to" if minimum == 0 else "at least"
        raise SettingsError(f"setting {name} must be {relation} {minimum:g}, got {value!r}")
    return int(number) if kind is int else float(number)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise SettingsError(f"setting {name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SettingsError(f"setting {name} must be a finite number, got {value!r}")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"setting unrolled must be true or false, got {value!r}")
