"""How one value in settings.toml becomes its field's type, and how a whole table becomes a
settings dataclass.

:func:`build` reads a table against a frozen dataclass: its fields are the keys a user may
write, their type hints say what a value must look like (durations such as ``"90s"``, sizes,
times with an offset, choices, lists), and a field without a default is required. Each problem
is added to the caller's list as one line naming the key path, so that all of them are reported
together (:class:`monitor.settings.ConfigError`).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from monitor.sources.limits import ByteSize, parse_size

T = TypeVar("T")


def build(
    cls: type[T],
    table: Mapping[str, Any],
    where: str,
    errors: list[str],
    *,
    skip: frozenset[str] | set[str] = frozenset(),
) -> T | None:
    """An instance of the dataclass ``cls`` from a TOML table, or None after adding errors."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}  # type: ignore[arg-type]
    before = len(errors)
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in fields:
            errors.append(f"{where}.{key}: unknown key (known: {', '.join(sorted(fields))})")
            continue
        try:
            values[key] = convert(raw, hints[key])
        except ValueError as exc:
            errors.append(f"{where}.{key}: {exc}")
    for name, f in fields.items():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and name not in table:
            errors.append(f"{where}.{name}: required")
    if len(errors) > before:
        return None
    instance = cls(**values)
    for key, message in getattr(instance, "problems", list)():
        errors.append(f"{where}.{key}: {message}")
    return None if len(errors) > before else instance


def convert(value: Any, hint: Any) -> Any:
    """``value`` checked against the type ``hint`` and converted; ``ValueError`` otherwise."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        failures = []
        for option in options:
            try:
                return convert(value, option)
            except ValueError as exc:
                failures.append(str(exc))
        raise ValueError(failures[0] if len(failures) == 1 else " or ".join(failures))
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(map(str, choices))}")
        return value
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ValueError(f"expected a list, got {_kind(value)}")
        return [convert(v, item) for v in value]
    if hint is timedelta:
        return parse_duration(value)
    if hint is ByteSize:
        return parse_size(value)
    if hint is datetime:
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(
                f"expected a date and time with its offset, like 2026-11-27T09:00:00+01:00, "
                f"got {_kind(value)}"
            )
        return value.astimezone(UTC)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {_kind(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {_kind(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {_kind(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {_kind(value)}")
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a path string, got {_kind(value)}")
        return Path(value)
    raise TypeError(f"settings field type {hint!r} is not supported")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer is a typo, not a setting, and breaks date arithmetic ("now - 999999999d" overflows).
MAX_DURATION = timedelta(days=36500)


def parse_duration(value: Any) -> timedelta:
    """``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` → timedelta; anything else is a ``ValueError``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not isinstance(value, str):
        raise ValueError(f'expected a duration like "90s", "5m" or "2h", got {_kind(value)}')
    text = value.strip().lower().replace(" ", "")
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f'invalid duration {value!r} (write it like "90s", "5m", "2h" or "1d")')
    seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"duration {value!r} is too long (at most {format_duration(MAX_DURATION)})"
        )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(minutes=90)`` → ``"1h30m"``."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def _kind(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
        datetime: "a date and time",
    }
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"
