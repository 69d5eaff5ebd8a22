"""The project's error hierarchy.

Every error carries a message *code* (a key of the i18n catalog) and parameters, never an
operator sentence: the UI and CLI turn it into words in the station's language
(``kiosk.i18n.translate``). ``str(err)`` gives an English technical line for the log.
"""

from __future__ import annotations

from typing import Any


class KioskError(Exception):
    """Base of all errors the kiosk raises on purpose."""

    code: str = "error.generic"
    #: CLI exit status: 2 for bad input, 1 for failures.
    exit_code: int = 1

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = params
        super().__init__(self.technical())

    def technical(self) -> str:
        if not self.params:
            return self.code
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.code} ({inner})"


class InputError(KioskError):
    """The operator or caller gave something malformed: exit code 2."""

    code = "error.input"
    exit_code = 2


class ConfigError(InputError):
    """A configuration file is unreadable or wrong. ``params``: file, key, expected."""

    code = "config.invalid"
