"""Data at rest: identity and samples sealed with AES-256-GCM under the station data key.

The key lives in ``<data_dir>/keys/data.key`` (0600). A key file readable by others is
refused. NIKs are never stored in clear: the local duplicate check compares an HMAC of the
NIK under a key derived from the data key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import KioskError

NONCE = 12


class VaultError(KioskError):
    code = "store.vault"


class Vault:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise VaultError("store.key_invalid")
        self._aead = AESGCM(key)
        self._nik_key = hmac.new(key, b"kiosk nik-hmac v1", hashlib.sha256).digest()

    @classmethod
    def open(cls, data_dir: Path, *, create: bool = True) -> "Vault":
        path = data_dir / "keys" / "data.key"
        if not path.exists():
            if not create:
                raise VaultError("store.key_missing", path=str(path))
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # O_EXCL: two processes starting at once must not both write a key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(32))
                    f.flush()
                    os.fsync(f.fileno())
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise VaultError("store.key_permissions", path=str(path), mode=oct(mode))
        return cls(path.read_bytes())

    def seal(self, data: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._aead.encrypt(nonce, data, aad)

    def open_sealed(self, blob: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE], blob[NONCE:], aad)
        except (InvalidTag, ValueError):
            raise VaultError("store.tampered") from None

    def nik_hash(self, nik: str) -> str:
        return hmac.new(self._nik_key, nik.encode(), hashlib.sha256).hexdigest()
