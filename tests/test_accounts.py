"""Station accounts: scrypt hashes, roles, lockout, demo operator, and the `kiosk users` CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kiosk.accounts import (DEMO_NAME, DEMO_PASSWORD, AccountInputError, AccountLocked, AccountStore, LoginFailed,
                            Role, hash_password, verify_password)
from kiosk.config import AccountsConfig
from tests.conftest import run_kiosk


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(tmp_path: Path, clock: Clock) -> AccountStore:
    # password_cost 14 keeps these tests fast; the default (17) is tested in test_accounts_files.py
    return AccountStore(AccountsConfig(file=tmp_path / "acc.toml", max_failures=3, lockout_s=60, password_cost=14),
                        clock=clock)


def test_password_hash_is_scrypt_and_verifies_only_the_right_password() -> None:
    stored = hash_password("rahasia123", n=2**14)
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("rahasia123", stored)
    assert not verify_password("rahasia124", stored)
    assert hash_password("rahasia123", n=2**14) != stored  # salted


def test_file_holds_no_password_and_is_private(accounts: AccountStore) -> None:
    accounts.add("siti", Role.OPERATOR, "rahasia123")
    text = accounts.path.read_text()
    assert "rahasia123" not in text
    assert tomllib.loads(text)["accounts"]["siti"]["role"] == "operator"
    assert accounts.path.stat().st_mode & 0o077 == 0


def test_bad_names_roles_short_passwords_and_duplicates_are_refused(accounts: AccountStore) -> None:
    with pytest.raises(AccountInputError) as e:
        accounts.add("Siti Aminah", Role.OPERATOR, "rahasia123")
    assert e.value.code == "accounts.bad_name"
    with pytest.raises(AccountInputError) as e:
        accounts.add("siti", "admin", "rahasia123")
    assert e.value.code == "accounts.bad_role"
    with pytest.raises(AccountInputError) as e:
        accounts.add("siti", Role.OPERATOR, "short")
    assert e.value.code == "accounts.password_short"
    accounts.add("siti", Role.OPERATOR, "rahasia123")
    with pytest.raises(AccountInputError) as e:
        accounts.add("siti", Role.SUPERVISOR, "rahasia123")
    assert e.value.code == "accounts.exists"


def test_lockout_after_max_failures_until_lockout_s_passes(accounts: AccountStore, clock: Clock) -> None:
    accounts.add("siti", Role.OPERATOR, "rahasia123")
    for _ in (2, 1):
        with pytest.raises(LoginFailed) as e:
            accounts.authenticate("siti", "wrong-password")
        assert "left" not in e.value.params  # no count that tells a real name from an unknown one
    with pytest.raises(AccountLocked):
        accounts.authenticate("siti", "wrong-password")
    with pytest.raises(AccountLocked) as locked:  # even the right password is refused while locked
        accounts.authenticate("siti", "rahasia123")
    assert locked.value.params["seconds"] == 60
    clock.t += 61
    assert accounts.authenticate("siti", "rahasia123").role is Role.OPERATOR


def test_lockout_survives_a_restart(accounts: AccountStore, clock: Clock) -> None:
    accounts.add("siti", Role.OPERATOR, "rahasia123")
    for _ in range(3):
        with pytest.raises((LoginFailed, AccountLocked)):
            accounts.authenticate("siti", "x" * 8)
    again = AccountStore(accounts.cfg, clock=clock)
    with pytest.raises(AccountLocked):
        again.authenticate("siti", "rahasia123")


def test_unknown_user_fails_like_a_wrong_password(accounts: AccountStore) -> None:
    with pytest.raises(LoginFailed) as e:
        accounts.authenticate("nobody", "whatever1")
    assert e.value.code == "accounts.login_failed"


def test_demo_operator_only_on_a_simulated_station(accounts: AccountStore) -> None:
    assert accounts.ensure_demo(False) is None
    assert accounts.list() == []
    assert accounts.ensure_demo(True) == (DEMO_NAME, DEMO_PASSWORD)
    assert accounts.authenticate(DEMO_NAME, DEMO_PASSWORD).role is Role.OPERATOR
    assert accounts.ensure_demo(True) == (DEMO_NAME, DEMO_PASSWORD)  # idempotent


def test_roles_decide_screens() -> None:
    from kiosk.accounts import ROLE_SCREENS

    assert "diagnostics" not in ROLE_SCREENS[Role.OPERATOR]
    assert ROLE_SCREENS[Role.TECHNICIAN] == {"home", "diagnostics"}
    assert "approve_exceptions" in ROLE_SCREENS[Role.SUPERVISOR]


def test_cli_users_add_reads_password_twice_from_stdin_and_lists(config_file: Path) -> None:
    r = run_kiosk("--config", str(config_file), "users", "add", "siti", "--role", "supervisor",
                  input="rahasia123\nrahasia123\n")
    assert r.returncode == 0, r.stderr
    assert "siti" in r.stdout
    r = run_kiosk("--config", str(config_file), "users", "list", "--json")
    assert '"role": "supervisor"' in r.stdout
    r = run_kiosk("--config", str(config_file), "users", "add", "ani", "--role", "operator",
                  input="rahasia123\nrahasia999\n")
    assert r.returncode == 2 and "differ" in r.stderr
    r = run_kiosk("--config", str(config_file), "users", "add", "siti", "--role", "operator", input="")
    assert r.returncode == 2 and "already exists" in r.stderr
