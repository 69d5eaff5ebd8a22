"""Message catalog: every operator-facing sentence lives in ``<lang>/<area>.toml``.

Each area of the product (core, devices, capture, sync, printer, tui ...) has its own file
per language; a test checks that both languages have exactly the same keys.

Layers below the UI raise :class:`kiosk.errors.KioskError` or return codes with parameters;
only the UI and the CLI call :func:`translate`. Bahasa Indonesia is the default language.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from kiosk.errors import KioskError

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
#: WIB until the station's config says otherwise (:func:`set_time_zone`)
_zone: dt.tzinfo = dt.timezone(dt.timedelta(hours=7), "WIB")
log = logging.getLogger(__name__)
_current = DEFAULT_LANGUAGE


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def catalog(language: str) -> dict[str, str]:
    """All messages of one language, keyed by dotted code."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    out: dict[str, str] = {}
    folder = resources.files(__package__).joinpath(language)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            _flatten("", tomllib.loads(entry.read_text("utf-8")), out)
    return out


def set_language(language: str) -> None:
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    _current = language


def current_language() -> str:
    return _current


class _Lenient(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(code: str, language: str | None = None, /, **params: Any) -> str:
    """The sentence for ``code``; a missing key falls back to English, then to the code itself."""
    lang = language or _current
    text = catalog(lang).get(code) or catalog("en").get(code)
    if text is None:
        log.warning("message code %s missing from catalog", code)
        text = code
    return string.Formatter().vformat(text, (), _Lenient(params))


def number(value: float, decimals: int = 0, language: str | None = None) -> str:
    """A count or share as the operator's language writes it: "94.130" and "97,7" in Bahasa
    Indonesia, "94,130" and "97.7" in English (the separators are catalog words, ``format.*``)."""
    lang = language or _current
    text = f"{value:,.{decimals}f}"
    group, point = translate("format.group", lang), translate("format.point", lang)
    return text.replace(",", "\0").replace(".", point).replace("\0", group)


def set_time_zone(name: str) -> None:
    """The station's time zone (``[station] timezone``), set once at start like the language."""
    global _zone
    import zoneinfo

    _zone = zoneinfo.ZoneInfo(name)


def station_zone() -> dt.tzinfo:
    """The station's time zone (WIB unless the config names another)."""
    return _zone


def station_time(when: dt.datetime) -> dt.datetime:
    """An aware time in the station's zone."""
    return when.astimezone(_zone)


def station_today() -> dt.date:
    """The station's calendar day: "today" on the home screen, the progress chart, daily upkeep."""
    return station_time(dt.datetime.now(dt.timezone.utc)).date()


def local_time(stamp: str | None, *, seconds: bool = True) -> str:
    """A stored timestamp (ISO 8601 with its UTC offset, as the store, the audit trail and sync
    write them) in the station's time zone, "2026-12-02 14:21:09": an operator in WIB read the UTC
    time sliced out of the stamp, seven hours off. "" for none; text that is no timestamp stays."""
    if not stamp:
        return ""
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if when.tzinfo is not None:
        when = station_time(when)
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def describe(err: BaseException, language: str | None = None) -> str:
    """Operator words for any error: catalog text for ours, a generic line for the unexpected."""
    if isinstance(err, KioskError):
        return translate(err.code, language, **err.params)
    if isinstance(err, sqlite3.DatabaseError):  # the station's own disk: a field condition, not a bug
        return translate(_database_problem(err), language)
    return translate("error.unexpected", language, kind=type(err).__name__)


def _database_problem(err: sqlite3.DatabaseError) -> str:
    """The catalog code for a database error SQLite raised (its message is all it tells)."""
    text = str(err).lower()
    if "disk is full" in text:
        return "store.disk_full"
    if "locked" in text or "busy" in text:
        return "store.busy"
    return "store.unreadable"


_ = translate
