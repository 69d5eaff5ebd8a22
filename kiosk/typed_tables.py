"""TOML tables into frozen dataclasses: each field's type *and* range are declared on the field.

A field says what it accepts with ``typing.Annotated`` and the constraint types of the
maintained ``annotated-types`` package (the same vocabulary pydantic and msgspec read)::

    timeout_s: Annotated[float, Gt(0)] = 10.0
    port: Annotated[int, Interval(ge=0, le=65535)] = 0
    region: Annotated[str, Matches(r"\\d{6}", "config.shape.district")]

:func:`build` checks the type, then every constraint, and refuses a bad value with one
:class:`~kiosk.errors.ConfigError` naming the file, the key, the rule and the value found, so
a range is never an ad-hoc ``if`` somewhere in the loading code. Config (:mod:`kiosk.config`),
the quality thresholds and every driver's ``Params`` are built with it.

This module imports nothing of the kiosk but its errors: it is the bottom of the config layer.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types as at

from kiosk.errors import ConfigError

__all__ = ["Annotated", "Matches", "Satisfies", "build", "coerce", "type_name", "Ge", "Gt", "Le", "Lt", "Interval", "MinLen"]

Ge, Gt, Le, Lt, Interval, MinLen = at.Ge, at.Gt, at.Le, at.Lt, at.Interval, at.MinLen


@dataclass(frozen=True)
class Matches(at.BaseMetadata):
    """A string must match ``pattern`` whole; ``code`` is the catalog key saying what it must look like."""

    pattern: str
    code: str


@dataclass(frozen=True)
class Satisfies(at.BaseMetadata):
    """A value must pass ``test`` (a check no pattern can make, e.g. a known time zone); ``code`` is
    the catalog key saying what it must be."""

    test: Callable[[Any], bool]
    code: str


def type_name(tp: Any) -> str:
    """What a value of annotation ``tp`` looks like, for the operator's line."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return type_name(typing.get_args(tp)[0])
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {type_name(typing.get_args(tp)[0])}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", Path: "a path (string)"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _constraints(metadata: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for m in metadata:
        if isinstance(m, at.GroupedMetadata):  # Interval(ge=.., le=..) is Ge + Le
            out.extend(_constraints(m))
        else:
            out.append(m)
    return out


def check_constraints(value: Any, metadata: Iterable[Any], *, key: str, file: Path) -> None:
    """Refuse ``value`` if it breaks any declared constraint (one line naming key and rule)."""
    cons = _constraints(metadata)
    got = repr(value)[:60]
    low = next(((m.ge, True) for m in cons if isinstance(m, at.Ge)), None) or next(
        ((m.gt, False) for m in cons if isinstance(m, at.Gt)), None)
    high = next(((m.le, True) for m in cons if isinstance(m, at.Le)), None) or next(
        ((m.lt, False) for m in cons if isinstance(m, at.Lt)), None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        too_low = low is not None and (value < low[0] if low[1] else value <= low[0])
        too_high = high is not None and (value > high[0] if high[1] else value >= high[0])
        if too_low or too_high:
            if low is not None and high is not None:
                raise ConfigError("config.range.between", file=str(file), key=key, low=low[0], high=high[0], got=got)
            if too_low:
                assert low is not None
                raise ConfigError("config.range.min" if low[1] else "config.range.above", file=str(file), key=key,
                                  limit=low[0], got=got)
            assert high is not None
            raise ConfigError("config.range.max" if high[1] else "config.range.below", file=str(file), key=key,
                              limit=high[0], got=got)
    for m in cons:
        if isinstance(m, at.MinLen) and hasattr(value, "__len__") and len(value) < m.min_length:
            raise ConfigError("config.range.min_length", file=str(file), key=key, limit=m.min_length, got=got)
        if isinstance(m, Matches) and isinstance(value, str) and not re.fullmatch(m.pattern, value):
            raise ConfigError(m.code, file=str(file), key=key, got=got)
        if isinstance(m, Satisfies) and not m.test(value):
            raise ConfigError(m.code, file=str(file), key=key, got=got)


def coerce(value: Any, tp: Any, *, key: str, file: Path, base: Path) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (paths resolved)."""

    def bad() -> ConfigError:
        return ConfigError(file=str(file), key=key, expected=type_name(tp), got=repr(value)[:60])

    origin = typing.get_origin(tp)
    if origin is Annotated:
        inner, *metadata = typing.get_args(tp)
        out = coerce(value, inner, key=key, file=file, base=base)
        check_constraints(out, metadata, key=key, file=file)
        return out
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if value is None or value == "" and type(None) in args and Path in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key=key, file=file, base=base)
            except ConfigError:
                continue
        raise bad()
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in typing.get_args(tp)):
            return value
        raise bad()
    if origin is tuple:
        if not isinstance(value, list):
            raise bad()
        inner = typing.get_args(tp)[0]
        return tuple(coerce(v, inner, key=f"{key}[{i}]", file=file, base=base) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise bad()
        return build(tp, value, key=key, file=file, base=base)  # type: ignore[arg-type]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad()
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad()
    if tp is Path:
        if isinstance(value, str) and value:
            p = Path(os.path.expanduser(value))
            return p if p.is_absolute() else (base / p).resolve()
        raise bad()
    if tp is Any:
        return value
    raise TypeError(f"unsupported config annotation {tp!r}")


def build(cls: type, table: dict[str, Any], *, key: str, file: Path, base: Path, extra: dict[str, Any] | None = None) -> Any:
    """Build the frozen dataclass ``cls`` from a TOML table, refusing unknown and missing keys
    and values outside their declared range."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    given = dict(extra or {})
    for name, value in table.items():
        full = f"{key}.{name}" if key else name
        if name not in fields or name in given:
            raise ConfigError("config.unknown_key", file=str(file), key=full)
        given[name] = coerce(value, hints[name], key=full, file=file, base=base)
    for name, f in fields.items():
        if name in given:
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError("config.missing_key", file=str(file), key=f"{key}.{name}" if key else name,
                              expected=type_name(hints[name]))
        # default paths are relative to the config file too (a station without a [central.local]
        # table must not put its local central's data in the current directory)
        tp = hints[name]
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        if f.default_factory is not dataclasses.MISSING and isinstance(tp, type) and dataclasses.is_dataclass(tp):
            given[name] = build(tp, {}, key=f"{key}.{name}" if key else name, file=file, base=base)
        elif isinstance(f.default, Path) and not f.default.is_absolute():
            given[name] = (base / f.default).resolve()
    return cls(**given)
