"""Custom validation rules per field, configured as JSON rather than code.

A rules document maps a field name to its checks::

    {
      "user_id":    {"regex": "^[a-z0-9_-]+$", "max_length": 64},
      "latency_ms": {"min": 0, "max": 600000},
      "level":      {"allowed": ["INFO", "WARN", "ERROR"]},
      "region":     {"required": true, "allowed": ["eu-west-1", "us-east-1"]}
    }

Checks run after the built-in ones, on the cleaned value (``level`` upper-cased, typed columns
converted), or on the raw JSON value for any other field. An absent field is only a failure with
``"required": true`` (error code ``missing_field:<name>``). Failures have the stable codes
``rule_regex:<f>``, ``rule_range:<f>``, ``rule_allowed:<f>`` and ``rule_max_length:<f>``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .exceptions import ConfigError

_KNOWN = {"regex", "min", "max", "allowed", "max_length", "required"}


@dataclass(frozen=True)
class FieldRule:
    """The checks for one field; each ``None`` means "not checked"."""

    field: str
    regex: re.Pattern[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: frozenset[Any] | None = None
    max_length: int | None = None
    required: bool = False

    def check(self, value: Any) -> tuple[str, str] | None:
        """Return ``(code, detail)`` for the first failed check, or ``None`` when all pass."""
        f = self.field
        text = value if isinstance(value, str) else json.dumps(value)
        if self.allowed is not None and _hashable(value) not in self.allowed:
            return f"rule_allowed:{f}", f"{f}={text[:200]!r} is not one of the allowed values"
        if self.max_length is not None and len(text) > self.max_length:
            return f"rule_max_length:{f}", f"{f} is {len(text)} characters, over {self.max_length}"
        if self.regex is not None and not self.regex.search(text):
            return f"rule_regex:{f}", f"{f}={text[:200]!r} does not match /{self.regex.pattern}/"
        if self.minimum is not None or self.maximum is not None:
            return self._check_range(value, text)
        return None

    def _check_range(self, value: Any, text: str) -> tuple[str, str] | None:
        f = self.field
        number = _as_number(value)
        if number is None:
            return f"rule_range:{f}", f"{f}={text[:200]!r} is not a number"
        if self.minimum is not None and number < self.minimum:
            return f"rule_range:{f}", f"{f}={number} is below the minimum {self.minimum}"
        if self.maximum is not None and number > self.maximum:
            return f"rule_range:{f}", f"{f}={number} is above the maximum {self.maximum}"
        return None


def parse_rules(
    document: str | dict[str, Any], origin: str = "VALIDATION_RULES"
) -> tuple[FieldRule, ...]:
    """Turn a rules document (JSON text or an already-parsed dict) into checks, or fail clearly."""
    if isinstance(document, str):
        if not document.strip():
            return ()
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{origin} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f'{origin} must be a JSON object like {{"field": {{"max_length": 64}}}}')
    return tuple(_field_rule(name, spec, origin) for name, spec in document.items())


def _field_rule(name: str, spec: Any, origin: str) -> FieldRule:
    where = f"{origin}, field {name!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected an object of checks, got {json.dumps(spec)}")
    unknown = set(spec) - _KNOWN
    if unknown:
        raise ConfigError(f"{where}: unknown check(s) {sorted(unknown)}; known: {sorted(_KNOWN)}")
    try:
        regex = re.compile(spec["regex"]) if "regex" in spec else None
    except (re.error, TypeError) as exc:
        raise ConfigError(f"{where}: regex does not compile: {exc}") from exc
    allowed = spec.get("allowed")
    if allowed is not None and not isinstance(allowed, list):
        raise ConfigError(f"{where}: 'allowed' must be a list of values")
    for key in ("min", "max"):
        if key in spec and _as_number(spec[key]) is None:
            raise ConfigError(f"{where}: {key!r} must be a number")
    max_length = spec.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 0):
        raise ConfigError(f"{where}: 'max_length' must be a whole number >= 0")
    return FieldRule(
        field=name,
        regex=regex,
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        allowed=frozenset(_hashable(v) for v in allowed) if allowed is not None else None,
        max_length=max_length,
        required=bool(spec.get("required", False)),
    )


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
