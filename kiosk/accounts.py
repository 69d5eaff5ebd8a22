"""Station accounts: operators, supervisors and technicians with scrypt-hashed passwords.

The accounts file (config ``[accounts].file``) is TOML, one table per account::

    [accounts.siti]
    role = "operator"
    hash = "scrypt$131072$8$1$<salt b64>$<key b64>"
    created_at = "2026-11-23T10:00:00+00:00"
    failures = 0
    locked_until = 0.0

Failed logins are counted in the same file so a lockout survives a restart. An unknown name and
a wrong password get the same answer (no tries-left count that would tell which names exist;
unknown names are locked out in memory after as many failures as a real account). A hash
weaker than ``[accounts] password_cost`` is replaced at the account's next login. The demo
operator exists only while the station is simulated. No Textual here: the CLI
(``kiosk users``) and the TUI both use this module.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from kiosk.config import AccountsConfig
from kiosk.datafolder import private_folder
from kiosk.errors import InputError, KioskError


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"


#: what each role may open in the UI; the TUI builds its screens from this table
ROLE_SCREENS: dict[Role, frozenset[str]] = {
    Role.OPERATOR: frozenset({"home", "enroll", "queue", "print", "progress"}),
    Role.SUPERVISOR: frozenset({"home", "enroll", "queue", "print", "progress", "approve_exceptions"}),
    Role.TECHNICIAN: frozenset({"home", "diagnostics"}),
}

#: the simulated station's demo operator (shown on its login screen; never on a real station)
DEMO_NAME = "demo"
DEMO_PASSWORD = "demo1234"
MIN_PASSWORD = 8
NAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")

# scrypt cost: N=2**17, r=8, p=1 (OWASP Password Storage Cheat Sheet, 128 MiB); the station's
# [accounts] password_cost sets log2(N)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
#: scrypt needs 128 * N * r bytes; room for N up to 2**20
SCRYPT_MAXMEM = 1200 * 1024 * 1024
log = logging.getLogger("kiosk.accounts")


class AccountError(KioskError):
    code = "accounts.error"


class AccountInputError(InputError):
    code = "accounts.invalid"


class LoginFailed(AccountError):
    """Unknown name or wrong password (deliberately the same message)."""

    code = "accounts.login_failed"


class AccountsFileDamaged(AccountError):
    """The accounts file is not TOML or an entry lacks its role or hash; ``params``: path, reason."""

    code = "accounts.file_damaged"


class AccountLocked(AccountError):
    """Too many failures; ``params['seconds']`` until the lock ends."""

    code = "accounts.locked"


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    hash: str
    created_at: str
    failures: int = 0
    locked_until: float = 0.0

    def may_open(self, screen: str) -> bool:
        return screen in ROLE_SCREENS[self.role]


def hash_password(password: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    salt = salt or secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), base64.b64encode(salt).decode(), base64.b64encode(key).decode()])


def hash_cost(stored: str) -> int:
    """scrypt's N of a stored hash (0 when the hash is damaged)."""
    parts = stored.split("$")
    return int(parts[1]) if len(parts) == 6 and parts[0] == "scrypt" and parts[1].isdigit() else 0


def verify_password(password: str, stored: str) -> bool:
    """True for the right password; False for a wrong one and for a damaged hash (logged: the
    technician must reset that account; the login only says the password is wrong)."""
    try:
        scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        if scheme != "scrypt":
            raise ValueError(f"unknown scheme {scheme[:20]!r}")
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(key_b64, validate=True)
        if not expected:
            raise ValueError("empty key")
        key = hashlib.scrypt(password.encode(), salt=salt, n=int(n), r=int(r), p=int(p),
                             maxmem=SCRYPT_MAXMEM, dklen=len(expected))
    except (ValueError, OverflowError, MemoryError) as exc:  # scrypt refuses bad n/r/p with ValueError
        log.error("damaged password hash in the accounts file", extra={"reason": str(exc)[:80]})
        return False
    return hmac.compare_digest(key, expected)


def _toml_str(value: str) -> str:
    # JSON strings are valid TOML basic strings for the characters we store (no control chars).
    return json.dumps(value, ensure_ascii=False)


class AccountStore:
    """The accounts file. Thread-safe; every change rewrites the file atomically (0600)."""

    def __init__(self, cfg: AccountsConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.path = Path(cfg.file)
        self.clock = clock
        self._lock = threading.Lock()
        self.cost = 2 ** cfg.password_cost
        # a real hash to compare against for unknown names, so both failures cost the same time
        self._dummy: str | None = None
        #: failures and lock ends of names that have no account, so they lock like real ones
        self._unknown: dict[str, Account] = {}

    # -- file ------------------------------------------------------------------------------------
    def _load(self) -> dict[str, Account]:
        try:
            raw = tomllib.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise AccountsFileDamaged(path=str(self.path), reason=getattr(exc, "strerror", None) or str(exc)) from None
        out = {}
        try:
            for name, t in raw.get("accounts", {}).items():
                out[name] = Account(name=name, role=Role(t["role"]), hash=str(t["hash"]),
                                    created_at=str(t.get("created_at", "")), failures=int(t.get("failures", 0)),
                                    locked_until=float(t.get("locked_until", 0.0)))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise AccountsFileDamaged(path=str(self.path), reason=f"{type(exc).__name__}: {exc}"[:80]) from None
        return out

    def _save(self, accounts: dict[str, Account]) -> None:
        lines = ["# Station accounts (kiosk users add NAME --role ROLE). Passwords are scrypt hashes.", ""]
        for a in sorted(accounts.values(), key=lambda a: a.name):
            lines += [f"[accounts.{_toml_str(a.name)}]", f"role = {_toml_str(a.role.value)}", f"hash = {_toml_str(a.hash)}",
                      f"created_at = {_toml_str(a.created_at)}", f"failures = {a.failures}",
                      f"locked_until = {float(a.locked_until)!r}", ""]
        private_folder(self.path.parent)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    # -- management ---------------------------------------------------------------------------------
    def list(self) -> list[Account]:
        with self._lock:
            return sorted(self._load().values(), key=lambda a: a.name)

    def get(self, name: str) -> Account | None:
        with self._lock:
            return self._load().get(name)

    def add(self, name: str, role: Role | str, password: str) -> Account:
        if not NAME_RE.match(name):
            raise AccountInputError("accounts.bad_name", name=name)
        try:
            role = Role(role)
        except ValueError:
            raise AccountInputError("accounts.bad_role", role=role, allowed=", ".join(r.value for r in Role)) from None
        if len(password) < MIN_PASSWORD:
            raise AccountInputError("accounts.password_short", minimum=MIN_PASSWORD)
        with self._lock:
            accounts = self._load()
            if name in accounts:
                raise AccountInputError("accounts.exists", name=name)
            acct = Account(name, role, hash_password(password, n=self.cost),
                           dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
            accounts[name] = acct
            self._save(accounts)
            return acct

    def is_locked(self, account: Account) -> bool:
        """Locked now (a lock whose time has passed is over, even before the next login clears it)."""
        return account.locked_until > self.clock()

    def ensure_demo(self, simulated: bool) -> tuple[str, str] | None:
        """The simulated station's demo operator (created on first start); None on a real
        station, where a demo account left from a simulated start is removed."""
        if not simulated:
            with self._lock:
                accounts = self._load()
                if accounts.pop(DEMO_NAME, None) is not None:
                    self._save(accounts)
                    log.warning("demo account removed: the station is no longer simulated")
            return None
        if self.get(DEMO_NAME) is None:
            try:
                self.add(DEMO_NAME, Role.OPERATOR, DEMO_PASSWORD)
            except AccountInputError:  # created concurrently by another process
                pass
        return DEMO_NAME, DEMO_PASSWORD

    # -- login --------------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> Account:
        """The account if the password is right. Raises AccountLocked / LoginFailed."""
        with self._lock:
            accounts = self._load()
            acct = accounts.get(name)
            now = self.clock()
            if acct is None:
                # same work, same answers as a wrong password: names cannot be told apart
                self._dummy = self._dummy or hash_password(secrets.token_hex(8), n=self.cost)
                verify_password(password, self._dummy)
                if len(self._unknown) > 1000:  # bounded: typing many names must not grow memory
                    self._unknown.clear()
                ghost = self._unknown.get(name) or Account(name, Role.OPERATOR, "", "")
                if ghost.locked_until <= now:
                    self._unknown[name] = ghost = self._failed(ghost, now)
                log.info("login refused", extra={"reason": "locked" if ghost.locked_until > now else "failed"})
                self._raise_refusal(ghost, now)
            if acct.locked_until > now:
                log.info("login refused", extra={"reason": "locked"})
                raise AccountLocked(name=name, seconds=int(acct.locked_until - now + 0.999))
            if verify_password(password, acct.hash):
                if acct.failures or acct.locked_until or hash_cost(acct.hash) < self.cost:
                    new_hash = hash_password(password, n=self.cost) if hash_cost(acct.hash) < self.cost else acct.hash
                    accounts[name] = acct = replace(acct, hash=new_hash, failures=0, locked_until=0.0)
                    self._save(accounts)
                log.info("login", extra={"role": acct.role.value})
                return acct
            accounts[name] = acct = self._failed(acct, now)
            self._save(accounts)
            log.info("login refused", extra={"reason": "locked" if acct.locked_until > now else "failed"})
            self._raise_refusal(acct, now)
            raise AssertionError("unreachable")

    def _failed(self, acct: Account, now: float) -> Account:
        failures = acct.failures + 1
        if failures >= self.cfg.max_failures:
            return replace(acct, failures=0, locked_until=now + self.cfg.lockout_s)
        return replace(acct, failures=failures, locked_until=0.0)

    @staticmethod
    def _raise_refusal(acct: Account, now: float) -> None:
        if acct.locked_until > now:
            raise AccountLocked(name=acct.name, seconds=int(acct.locked_until - now + 0.999))
        raise LoginFailed()
