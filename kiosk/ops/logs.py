"""Structured logs: JSON lines, rotated, in ``<data_dir>/logs``, with PII redacted.

The handlers sit on the root logger, so lines from libraries (httpx's requests, OpenCV's
Python side, ...) reach the station log too, through the same PII filter; the ``kiosk``
loggers propagate to it.

Two steps because the data directory is only known once a command has loaded its config:

- :func:`configure_console` (``kiosk`` ``main()``): with ``--verbose`` the records also go to
  stderr (as JSON lines); under systemd (``$JOURNAL_STREAM`` names our stderr) they go to the
  journal as plain lines with syslog level prefixes (``<3>``...), which journald turns into
  priorities; otherwise stderr stays quiet (the CLI prints errors itself, in one translated line).
- :func:`attach_station_log` (called by :func:`kiosk.cli.context.config_from`, the sync service
  and the UI once the config is loaded): adds the rotating file handler in the station's data
  directory. Calling it again for the same folder does nothing.

Every handler carries :class:`PiiFilter`: any run of 16 digits (a NIK) is masked in the
message, the arguments, the traceback and extra fields, and extra fields named like identity
data (nik, full_name, address, password ...) are replaced whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path
from typing import Any

from kiosk.datafolder import private_folder

LOGGER = "kiosk"
#: where the handlers live: the root logger, so library loggers reach them too
ROOT = ""
#: library records below this level stay out of the station log (httpx logs each request at INFO)
LIBRARY_LEVEL = logging.INFO
LOG_FILE = "kiosk.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
REDACTED = "[redacted]"

#: a NIK, or any run of 16 digits or more (KK and card numbers have the same length; a NIK glued
#: to other digits must not slip through)
SIXTEEN_DIGITS = re.compile(r"\d{16,}")
#: extra= fields that would carry identity data or secrets; replaced whole
PII_FIELDS = frozenset({
    "nik", "full_name", "name", "birth_place", "birth_date", "address", "rt", "rw", "village", "religion",
    "marital_status", "occupation", "blood_type", "password", "passphrase", "identity", "kk", "phone",
})
#: attributes every LogRecord has; anything else came in through ``extra=``
_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


def redact_text(text: str) -> str:
    return SIXTEEN_DIGITS.sub("[nik]", text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and SIXTEEN_DIGITS.fullmatch(str(abs(value))):
        return "[nik]"
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in PII_FIELDS else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(v) for v in value]
    return value


class PiiFilter(logging.Filter):
    """Masks PII in a record before any handler formats it (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_clean", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        record.exc_info = None  # the redacted text replaces the raw traceback
        for key in list(vars(record)):
            if key in _STANDARD:
                continue
            if key.lower() in PII_FIELDS:
                setattr(record, key, REDACTED)
            else:
                setattr(record, key, _redact_value(getattr(record, key)))
        record._pii_clean = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, pid, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotating file whose every generation is created 0600 (the process umask may be wider)."""

    def _open(self):  # type: ignore[no-untyped-def]
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
                    opener=lambda p, flags: os.open(p, flags, 0o600))


def _handler_for(handler: logging.Handler, level: int) -> logging.Handler:
    handler.setLevel(level)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiFilter())
    return handler


class JournalFormatter(logging.Formatter):
    """One plain line per record for journald: ``<priority>logger: message key=value ...``.

    systemd reads the ``<N>`` prefix (sd-daemon(3), SyslogLevelPrefix=) as the syslog priority,
    so ``journalctl -p err`` finds failures without a Python journal library."""

    PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}

    def format(self, record: logging.LogRecord) -> str:
        prio = self.PRIORITY.get(record.levelno, 6)
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        line = f"<{prio}>{record.name}: {record.getMessage()}" + (f" {extra}" if extra else "")
        if record.exc_text:
            line += " | " + record.exc_text.replace("\n", " | ")
        return line.replace("\n", " ")


def journal_attached(stream: Any = None) -> bool:
    """True when stderr is the systemd journal's stream ($JOURNAL_STREAM = "device:inode")."""
    value = os.environ.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def _console_handlers(logger: logging.Logger) -> None:
    for h in list(logger.handlers):
        if getattr(h, "_kiosk_console", False) or isinstance(h, logging.NullHandler):
            logger.removeHandler(h)


def configure_console(verbose: bool) -> logging.Logger:
    """Set up logging for one process: ``verbose`` mirrors every record on stderr as JSON;
    under systemd the journal gets INFO and up; otherwise stderr stays quiet."""
    root = logging.getLogger(ROOT)
    root.setLevel(LIBRARY_LEVEL)
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.DEBUG)
    logger.propagate = True  # to the root logger's handlers, shared with the libraries
    _console_handlers(logger)  # handlers an earlier version of this process put on "kiosk"
    _console_handlers(root)
    if verbose:
        h = _handler_for(logging.StreamHandler(sys.stderr), logging.DEBUG)
    elif journal_attached():
        h = logging.StreamHandler(sys.stderr)
        h.setLevel(logging.INFO)
        h.setFormatter(JournalFormatter())
        h.addFilter(PiiFilter())
    else:
        h = logging.NullHandler()  # never Python's last-resort stderr printer
    h._kiosk_console = True  # type: ignore[attr-defined]
    root.addHandler(h)
    return logger


def station_log_dir(data_dir: Path) -> Path:
    """Where the station log is: systemd's ``$LOGS_DIRECTORY`` (``LogsDirectory=`` of the
    services, /var/log/kiosk), else ``<data_dir>/logs``. Readers of the log (the diagnostics
    bundle) ask here too."""
    given = os.environ.get("LOGS_DIRECTORY", "").split(":")[0]
    return Path(given) if given else Path(data_dir) / "logs"


def attach_station_log(data_dir: Path, *, level: int = logging.INFO, max_bytes: int = MAX_BYTES,
                       backups: int = BACKUPS) -> Path:
    """Add the rotating JSON-lines file in :func:`station_log_dir` (0700 folder, 0600 files)."""
    folder = private_folder(station_log_dir(data_dir))
    path = (folder / LOG_FILE).resolve()
    logging.getLogger(LOGGER).setLevel(logging.DEBUG)
    logging.getLogger(LOGGER).propagate = True
    root = logging.getLogger(ROOT)
    if root.level == logging.NOTSET or root.level > LIBRARY_LEVEL:
        root.setLevel(LIBRARY_LEVEL)
    for h in root.handlers:
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path:
            return path
    handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    root.addHandler(_handler_for(handler, level))
    return path


def detach_station_logs() -> None:
    """Close and remove the file handlers (tests, and processes that switch stations)."""
    for logger in (logging.getLogger(ROOT), logging.getLogger(LOGGER)):
        for h in list(logger.handlers):
            if isinstance(h, logging.handlers.RotatingFileHandler):
                logger.removeHandler(h)
                h.close()
