"""The diagnostics bundle a technician sends to a remote expert (TUI "Ekspor", ``kiosk diag --bundle``).

It holds what finds a fault from afar: versions (kiosk, Python, the platform, the libraries that
talk to devices), the configuration without secrets, each device's status, identity and last
exchanges (packets named, payloads cut to their first bytes), the last lines of the station log,
and the queue counts. It holds no personal data: no record is read, exchange payloads (which may
carry fingerprint or face data) are cut to their headers, every text goes through the log's
PII filter (a NIK anywhere is masked), and the names, NIKs and addresses of the residents the
station holds are masked wherever they appear (a log line that slipped a name into its message).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import re
import sys
import types
from collections import deque
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from kiosk import __version__
from kiosk.devices.base import Device, Exchange
from kiosk.diagnostics.ports import port_list
from kiosk.diagnostics.words import error_words, where
from kiosk.ops.logs import LOG_FILE, REDACTED, redact_text, station_log_dir

#: libraries whose version matters when a device or the link misbehaves
LIBRARIES = ("pyserial", "pyusb", "opencv-python-headless", "opencv-python", "numpy", "httpx", "textual",
             "cryptography", "nbis-py", "Pillow")
#: configuration keys whose values are secrets (the ZFM module password, keys, tokens)
SECRET_KEY = re.compile(r"pass(word|phrase)?|secret|token|private|key$|credential", re.IGNORECASE)
#: bytes of each exchange kept: enough for a ZFM header, packet id, length and instruction/code,
#: or an HTTP verb and path; never a template, an image or a signature
EXCHANGE_BYTES = 12
LOG_LINES = 200


def versions() -> dict[str, str]:
    out = {"kiosk": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def without_secrets(value: Any, key: str = "") -> Any:
    """The configuration as JSON-able data, each secret-named value replaced."""
    if key and SECRET_KEY.search(key) and not isinstance(value, (dict, types.MappingProxyType)):
        return REDACTED
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: without_secrets(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (dict, types.MappingProxyType)):
        return {str(k): without_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_secrets(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact_text(str(value))


def exchange_row(e: Exchange) -> dict[str, Any]:
    row: dict[str, Any] = {"time": e.when(), "direction": e.direction, "note": redact_text(e.note)}
    if e.direction != "error":
        row.update(length=len(e.data), head=e.data[:EXCHANGE_BYTES].hex(" "))
    return row


def device_entry(dev: Device) -> dict[str, Any]:
    """Status, identity and exchanges of a device as it is now; nothing is opened for the bundle."""
    entry: dict[str, Any] = {"driver": type(dev).__name__, "kind": dev.kind, "where": where(dev.params)}
    try:
        entry["status"] = str(dev.status().state)
        if dev.is_open:
            info = dev.info()
            entry["info"] = without_secrets({"vendor": info.vendor, "model": info.model, "serial": info.serial,
                                             "firmware": info.firmware, "extra": info.extra})
    except Exception as exc:  # the bundle reports the failure; it is often what the expert needs
        entry["error"] = error_words(exc, device=dev.name, params=dev.params)
    entry["exchanges"] = [exchange_row(e) for e in dev.log.entries()]
    return entry


def resident_words(store: Any) -> list[str]:
    """What identifies the residents this station holds (NIK, full name and its longer words,
    address), longest first: the bundle masks each wherever it appears."""
    words: set[str] = set()
    for record in store.list():
        try:
            who = store.identity(record.id)
        except Exception:  # purged or unreadable: nothing of it can leak from here either
            continue
        words.update(w for w in (who.nik, who.full_name, who.address) if w)
        words.update(part for part in who.full_name.split() if len(part) >= 3)
    return sorted(words, key=len, reverse=True)


class Scrubber:
    """Masks NIK-like digit runs and the given personal words (case-insensitively)."""

    def __init__(self, personal: Iterable[str] = ()) -> None:
        words = [re.escape(w) for w in personal if w.strip()]
        self._pattern = re.compile("|".join(words), re.IGNORECASE) if words else None

    def __call__(self, text: str) -> str:
        text = redact_text(text)
        return self._pattern.sub("[personal]", text) if self._pattern is not None else text


def last_log_lines(data_dir: Path, scrub: Scrubber, n: int = LOG_LINES) -> list[str]:
    path = station_log_dir(data_dir) / LOG_FILE  # $LOGS_DIRECTORY under systemd
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return [scrub(line.rstrip("\n")) for line in deque(fh, maxlen=n)]
    except OSError:
        return []


def build_bundle(cfg: Any, devices: Any, store: Any) -> dict[str, Any]:
    """Everything the bundle holds, as data. ``devices`` is the station's device set: only
    devices already built are asked (no mock is started and no device opened for a bundle);
    ``store`` gives the queue counts and the residents' words to mask."""
    entries: dict[str, Any] = {}
    pairs = []
    for name in devices.names():
        built = getattr(devices, "built", None)
        dev = built(name) if callable(built) else devices.get(name)
        if dev is None:
            entries[name] = {"status": "not started"}
            continue
        pairs.append((name, dev.params))
        entries[name] = device_entry(dev)
    try:
        queue: dict[str, Any] = store.counts()
        scrub = Scrubber(resident_words(store))
    except Exception as exc:  # a damaged store is a finding too
        queue, scrub = {"error": error_words(exc)}, Scrubber()
    return {
        "station": cfg.station.id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "config": without_secrets(cfg),
        "devices": entries,
        "ports": port_list(pairs),
        "queue": queue,
        "log": last_log_lines(cfg.station.data_dir, scrub),
    }


def write_bundle(cfg: Any, devices: Any, store: Any) -> Path:
    """Write the bundle to ``<data_dir>/diagnostics/diag-<UTC time>.json`` (0600) and return its path."""
    bundle = build_bundle(cfg, devices, store)
    folder = Path(cfg.station.data_dir) / "diagnostics"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"diag-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(bundle, fh, indent=2, ensure_ascii=False, default=str)
    return path
