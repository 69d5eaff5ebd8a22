"""``kiosk init``: turn an empty folder into a station.

Creates, in this order (each step refuses to overwrite): the data directory (0700), the data
key (``keys/data.key`` 0600, via :class:`kiosk.store.vault.Vault`), the database with every
migration, the station's Ed25519 key pair (:class:`kiosk.central.keys.StationKeys`), the accounts file (0600) with the first supervisor,
then one audit entry ``provision`` and a first signed checkpoint.

Accounts: ``[users.NAME]`` tables with ``role`` and ``password`` =
``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` (hashlib.scrypt, 32-byte hash, 16-byte salt).
NOTE for the lead: kiosk/accounts.py (UI engineer) owns accounts; this module writes the
minimal subset ``kiosk init`` needs in the same format. Unify at merge (keep one writer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import InputError, KioskError
from kiosk.central.keys import StationKeys, public_pem
from kiosk.ops.audit import checkpoint
from kiosk.ops.tables import ensure_ops_tables
from kiosk.store import RecordStore
from kiosk.store.vault import Vault

#: scrypt cost: n=2^15, r=8, p=1 (~32 MiB, ~0.1 s): the OWASP minimum for interactive logins
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 8
USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
ROLES = ("operator", "supervisor", "technician")


class ProvisionError(KioskError):
    code = "ops.provision_failed"


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r),
                             p=int(p), maxmem=256 * 1024 * 1024, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError("ops.password_short", minimum=MIN_PASSWORD)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_first_account(path: Path, user: str, role: str, password: str) -> None:
    """Create the accounts file with one account. Refuses if the file exists."""
    if not USER_NAME.match(user):
        raise InputError("ops.bad_user_name", user=user)
    if role not in ROLES:
        raise InputError("ops.bad_role", role=role, allowed=", ".join(ROLES))
    check_new_password(password)
    text = ("# Station accounts (kiosk init). Passwords: scrypt$n$r$p$salt_b64$hash_b64\n\n"
            f"[users.{user}]\nrole = {_toml_str(role)}\npassword = {_toml_str(hash_password(password))}\n")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ProvisionError("ops.station_exists", path=str(path)) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


@dataclass(frozen=True)
class Provisioned:
    data_dir: Path
    database: Path
    data_key: Path
    station_key: Path
    station_pub: Path
    accounts: Path
    fingerprint: str


def existing_station(data_dir: Path, accounts: Path) -> Path | None:
    """The first thing that shows a station already lives here, if any."""
    for p in (data_dir / "station.db", data_dir / "keys" / "data.key", *StationKeys.paths(data_dir), accounts):
        if p.exists():
            return p
    return None


def provision_station(data_dir: Path, *, user: str, password: str, accounts: Path | None = None,
                      role: str = "supervisor") -> Provisioned:
    data_dir = Path(data_dir).absolute()
    accounts = Path(accounts or data_dir / "accounts.toml").absolute()
    found = existing_station(data_dir, accounts)
    if found is not None:
        raise ProvisionError("ops.station_exists", path=str(found))
    # check the inputs before anything is written, so a typo leaves no half-made station
    if not USER_NAME.match(user):
        raise InputError("ops.bad_user_name", user=user)
    check_new_password(password)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)  # an existing empty folder may have been created wider
    vault = Vault.open(data_dir, create=True)
    store = RecordStore(data_dir, vault=vault)
    try:
        ensure_ops_tables(store)
        keys = StationKeys.create(data_dir)  # the one station key: packets, requests, audit, exports
        write_first_account(accounts, user, role, password)
        fingerprint = hashlib.sha256(public_pem(keys.public)).hexdigest()[:16]
        store.log_action(user, "provision", params={"role": role, "station_key": fingerprint})
        checkpoint(store, keys.signing)
    finally:
        store.close()
    priv, pub = StationKeys.paths(data_dir)
    return Provisioned(data_dir, store.path, data_dir / "keys" / "data.key", priv, pub, accounts, fingerprint)
