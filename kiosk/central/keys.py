"""Key pairs of the station and of the central, as PEM files readable by their owner only.

- Station: ONE Ed25519 key that signs its packets, its requests to the central, its audit
  checkpoints and its offline-export manifests (``<station data_dir>/keys/station_ed25519.pem``,
  public half beside it: the file the central registers). ``kiosk init`` creates it
  (:meth:`StationKeys.create`); ``kiosk keys init`` and the sync worker load it, creating it
  at first start on a simulated station (:meth:`StationKeys.init`).
- Central: an Ed25519 key that signs print permits and an X25519 key that packets are sealed
  to (``<central data_dir>/keys/``). Stations pin both public halves.

Private key files are created with mode 0600 (O_EXCL, so two processes starting at once
cannot both write one); a private key file readable by others is refused.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from kiosk.errors import KioskError

STATION_KEY = "station_ed25519.pem"
STATION_PUB = "station_ed25519.pub.pem"
CENTRAL_SIGNING_KEY = "central_ed25519.pem"
CENTRAL_SIGNING_PUB = "central_ed25519.pub.pem"
CENTRAL_SEALING_KEY = "central_x25519.pem"
CENTRAL_SEALING_PUB = "central_x25519.pub.pem"


class KeyFileError(KioskError):
    """A key file is missing, unreadable, of the wrong kind or too widely readable."""

    code = "keys.invalid"


def _write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to a new file; False when the file already exists (someone else won)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return True


def private_pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(path: Path) -> Ed25519PrivateKey | X25519PrivateKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise KeyFileError("keys.missing", path=str(path)) from None
    if mode & 0o077:
        raise KeyFileError("keys.permissions", path=str(path), mode=oct(mode))
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError):
        raise KeyFileError("keys.unreadable", path=str(path)) from None
    if not isinstance(key, (Ed25519PrivateKey, X25519PrivateKey)):
        raise KeyFileError("keys.wrong_kind", path=str(path), expected="Ed25519 or X25519")
    return key


def load_public(path: Path) -> Ed25519PublicKey | X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError("keys.missing", path=str(path)) from None
    except (ValueError, TypeError, OSError):
        raise KeyFileError("keys.unreadable", path=str(path)) from None
    if not isinstance(key, (Ed25519PublicKey, X25519PublicKey)):
        raise KeyFileError("keys.wrong_kind", path=str(path), expected="Ed25519 or X25519")
    return key


def load_ed25519_public(path: Path) -> Ed25519PublicKey:
    key = load_public(path)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("keys.wrong_kind", path=str(path), expected="Ed25519")
    return key


def load_x25519_public(path: Path) -> X25519PublicKey:
    key = load_public(path)
    if not isinstance(key, X25519PublicKey):
        raise KeyFileError("keys.wrong_kind", path=str(path), expected="X25519")
    return key


def ed25519_public_from_pem(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise KeyFileError("keys.unreadable", path="<pem>") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("keys.wrong_kind", path="<pem>", expected="Ed25519")
    return key


def _ensure_pair(folder: Path, priv_name: str, pub_name: str, make: type) -> tuple[object, bool]:
    priv_path = folder / priv_name
    created = False
    if not priv_path.exists():
        key = make.generate()
        created = _write_exclusive(priv_path, private_pem(key), 0o600)
    key = load_private(priv_path)
    pub_path = folder / pub_name
    pem = public_pem(key.public_key())
    if not pub_path.exists() or pub_path.read_bytes() != pem:
        tmp = pub_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o644)
        os.replace(tmp, pub_path)
    return key, created


@dataclass(frozen=True)
class StationKeys:
    signing: Ed25519PrivateKey
    folder: Path
    created: bool = False

    @property
    def public(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    @property
    def public_path(self) -> Path:
        return self.folder / STATION_PUB

    @classmethod
    def init(cls, data_dir: Path) -> "StationKeys":
        """Load the station key pair under ``data_dir/keys``, creating it at first start."""
        folder = Path(data_dir) / "keys"
        key, created = _ensure_pair(folder, STATION_KEY, STATION_PUB, Ed25519PrivateKey)
        assert isinstance(key, Ed25519PrivateKey)
        return cls(key, folder, created)

    @classmethod
    def create(cls, data_dir: Path) -> "StationKeys":
        """A fresh key pair for a new station (``kiosk init``); refuses (keys.exists) to
        replace one: a station key that changes is a station the central no longer knows."""
        folder = Path(data_dir) / "keys"
        key = Ed25519PrivateKey.generate()
        if not _write_exclusive(folder / STATION_KEY, private_pem(key), 0o600):
            raise KeyFileError("keys.exists", path=str(folder / STATION_KEY))
        return cls.init(data_dir)

    @classmethod
    def load(cls, data_dir: Path) -> "StationKeys":
        folder = Path(data_dir) / "keys"
        key = load_private(folder / STATION_KEY)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError("keys.wrong_kind", path=str(folder / STATION_KEY), expected="Ed25519")
        return cls(key, folder)

    @staticmethod
    def paths(data_dir: Path) -> tuple[Path, Path]:
        """(private key file, public key file) of the station at ``data_dir``."""
        folder = Path(data_dir) / "keys"
        return folder / STATION_KEY, folder / STATION_PUB

    @staticmethod
    def public_key_of(data_dir: Path) -> Ed25519PublicKey | None:
        """The key that verifies this station's signatures (audit checkpoints): the public
        file, else derived from the private one; None when the station has no key at all."""
        priv, pub = StationKeys.paths(data_dir)
        if pub.exists():
            return load_ed25519_public(pub)
        if priv.exists():
            return StationKeys.load(data_dir).public
        return None


@dataclass(frozen=True)
class CentralKeys:
    signing: Ed25519PrivateKey  # print permits
    sealing: X25519PrivateKey  # packets are encrypted to its public half
    folder: Path

    @property
    def signing_public(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    @property
    def sealing_public(self) -> X25519PublicKey:
        return self.sealing.public_key()

    @property
    def signing_public_path(self) -> Path:
        return self.folder / CENTRAL_SIGNING_PUB

    @property
    def sealing_public_path(self) -> Path:
        return self.folder / CENTRAL_SEALING_PUB

    @classmethod
    def init(cls, data_dir: Path) -> "CentralKeys":
        folder = Path(data_dir) / "keys"
        signing, _ = _ensure_pair(folder, CENTRAL_SIGNING_KEY, CENTRAL_SIGNING_PUB, Ed25519PrivateKey)
        sealing, _ = _ensure_pair(folder, CENTRAL_SEALING_KEY, CENTRAL_SEALING_PUB, X25519PrivateKey)
        assert isinstance(signing, Ed25519PrivateKey) and isinstance(sealing, X25519PrivateKey)
        return cls(signing, sealing, folder)
