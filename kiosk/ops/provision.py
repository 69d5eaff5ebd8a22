"""``kiosk init``: turn an empty folder into a station.

Creates, in this order (each step refuses to overwrite): the data directory (0700), the data
key (``keys/data.key`` 0600, via :class:`kiosk.store.vault.Vault`), the database with every
migration, the station's Ed25519 key pair (:class:`kiosk.central.keys.StationKeys`), the accounts file (0600) with the first supervisor,
then one audit entry ``provision`` and a first signed checkpoint.

The first account is written by :class:`kiosk.accounts.AccountStore`, the same code the login
screen reads accounts with.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.accounts import MIN_PASSWORD, NAME_RE, AccountStore, Role
from kiosk.config import AccountsConfig
from kiosk.datafolder import private_folder
from kiosk.errors import InputError, KioskError
from kiosk.central.keys import StationKeys, public_pem
from kiosk.ops.audit import checkpoint
from kiosk.ops.tables import ensure_ops_tables
from kiosk.store import RecordStore
from kiosk.store.vault import Vault

ROLES = tuple(r.value for r in Role)


class ProvisionError(KioskError):
    code = "ops.provision_failed"


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError("ops.password_short", minimum=MIN_PASSWORD)


def write_first_account(path: Path, user: str, role: str, password: str) -> None:
    """Create the accounts file with its first account (the UI's own format). Refuses if it exists."""
    if path.exists():
        raise ProvisionError("ops.station_exists", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    AccountStore(AccountsConfig(file=path)).add(user, role, password)


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
    if not NAME_RE.match(user):
        raise InputError("ops.bad_user_name", user=user)
    if role not in ROLES:
        raise InputError("ops.bad_role", role=role, allowed=", ".join(ROLES))
    check_new_password(password)
    private_folder(data_dir)
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
