"""The station's own Ed25519 signing key: audit checkpoints and export manifests.

``<data_dir>/keys/station.key`` (PKCS#8 PEM, 0600, refused when readable by others) and
``<data_dir>/keys/station.pub`` (SubjectPublicKeyInfo PEM, the copy the central registers).

NOTE for the lead: kiosk/central/keys.py (``kiosk keys init``, issue 5) manages the same key
pair for packet signatures. Unify at merge: keep one loader and point :func:`load_or_create`
at it; the file names here follow the ones given in the ops brief.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import KioskError

PRIVATE_NAME = "station.key"
PUBLIC_NAME = "station.pub"


class StationKeyError(KioskError):
    code = "ops.key_invalid"


def key_paths(data_dir: Path) -> tuple[Path, Path]:
    keys = Path(data_dir) / "keys"
    return keys / PRIVATE_NAME, keys / PUBLIC_NAME


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_mode(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise StationKeyError("ops.key_permissions", path=str(path), mode=oct(mode))


def _write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Write a new file atomically-enough: O_EXCL so two starting processes never both write."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return True


def create(data_dir: Path) -> Ed25519PrivateKey:
    """Create a fresh key pair; refuses (ops.key_exists) if one is already there."""
    priv_path, pub_path = key_paths(data_dir)
    priv_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not _write_exclusive(priv_path, pem, 0o600):
        raise StationKeyError("ops.key_exists", path=str(priv_path))
    pub_path.unlink(missing_ok=True)
    _write_exclusive(pub_path, public_pem(key.public_key()), 0o644)
    return key


def load(data_dir: Path) -> Ed25519PrivateKey:
    priv_path, pub_path = key_paths(data_dir)
    if not priv_path.exists():
        raise StationKeyError("ops.key_missing", path=str(priv_path))
    _check_mode(priv_path)
    try:
        key = serialization.load_pem_private_key(priv_path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise StationKeyError("ops.key_invalid", path=str(priv_path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise StationKeyError("ops.key_invalid", path=str(priv_path))
    if not pub_path.exists():  # the public half is derived data: recreate it if it was lost
        _write_exclusive(pub_path, public_pem(key.public_key()), 0o644)
    return key


def load_or_create(data_dir: Path) -> Ed25519PrivateKey:
    """The station key, created on first use (``kiosk init`` creates it up front)."""
    priv_path, _ = key_paths(data_dir)
    if not priv_path.exists():
        try:
            return create(data_dir)
        except StationKeyError as exc:
            if exc.code != "ops.key_exists":  # lost a creation race: load the winner's key
                raise
    return load(data_dir)


def load_public(path: Path) -> Ed25519PublicKey:
    """A station public key from a PEM file (``station.pub`` or the copy the central holds)."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except FileNotFoundError:
        raise StationKeyError("ops.key_missing", path=str(path)) from None
    except (ValueError, TypeError):
        raise StationKeyError("ops.key_invalid", path=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise StationKeyError("ops.key_invalid", path=str(path))
    return key


def station_public_key(data_dir: Path) -> Ed25519PublicKey | None:
    """The key that verifies this station's signatures: station.pub, else derived from
    station.key; None when the station has no key at all (never provisioned)."""
    priv_path, pub_path = key_paths(data_dir)
    if pub_path.exists():
        return load_public(pub_path)
    if priv_path.exists():
        return load(data_dir).public_key()
    return None
