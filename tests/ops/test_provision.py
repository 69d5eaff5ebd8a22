"""`kiosk init`: a new station with safe permissions, keys and the first supervisor."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from kiosk.accounts import AccountStore, LoginFailed, Role
from kiosk.central.keys import KeyFileError, StationKeys, public_pem
from kiosk.config import AccountsConfig
from kiosk.store.vault import Vault, VaultError
from tests.conftest import run_kiosk

PW = "rahasia-supervisor"


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def init(data: Path, *extra: str, stdin: str = f"{PW}\n{PW}\n", config: Path | None = None):  # type: ignore[no-untyped-def]
    args = ["--lang", "en", *(["--config", str(config)] if config else []), "init", "--data", str(data), *extra]
    return run_kiosk(*args, input=stdin)


def test_init_creates_a_private_station(tmp_path: Path) -> None:
    data = tmp_path / "st"
    out = init(data, "--user", "kepala")
    assert out.returncode == 0, out.stderr
    assert mode(data) == 0o700
    assert mode(data / "keys" / "data.key") == 0o600
    assert mode(data / "keys" / "station_ed25519.pem") == 0o600
    assert mode(data / "accounts.toml") == 0o600
    assert (data / "station.db").is_file() and (data / "keys" / "station_ed25519.pub.pem").is_file()
    assert "station_ed25519.pub.pem" in out.stdout and PW not in out.stdout + out.stderr
    # the login screen's own account store reads the supervisor kiosk init wrote
    accounts = AccountStore(AccountsConfig(file=data / "accounts.toml"))
    assert accounts.authenticate("kepala", PW).role is Role.SUPERVISOR
    with pytest.raises(LoginFailed):
        accounts.authenticate("kepala", "salah-sandi")
    # the public key on disk belongs to the private key
    assert public_pem(StationKeys.load(data).public) == (data / "keys" / "station_ed25519.pub.pem").read_bytes()


def test_init_key_is_the_key_sync_signs_with(tmp_path: Path) -> None:
    """One station key: what `kiosk init` creates is what the sync worker and `kiosk keys init` use."""
    data = tmp_path / "st"
    assert init(data).returncode == 0
    again = StationKeys.init(data)
    assert not again.created
    assert public_pem(again.public) == (data / "keys" / "station_ed25519.pub.pem").read_bytes()
    assert sorted(p.name for p in (data / "keys").iterdir()) == ["data.key", "station_ed25519.pem",
                                                                 "station_ed25519.pub.pem"]


def test_init_leaves_a_signed_verifiable_audit_log(tmp_path: Path, config_file: Path) -> None:
    assert init(tmp_path / "data").returncode == 0  # the conftest config's data dir
    out = run_kiosk("--config", str(config_file), "audit", "verify")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 entries, 1 signed" in out.stdout


def test_init_refuses_an_existing_station_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "st"
    assert init(data).returncode == 0
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and "logs" not in p.parts}
    again = init(data, stdin="another-password\nanother-password\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and "logs" not in p.parts} == before


def test_init_refuses_mismatched_passwords_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "st"
    out = init(data, stdin=f"{PW}\n{PW}x\n")
    assert out.returncode == 2 and "differ" in out.stderr
    assert not data.exists()


@pytest.mark.parametrize("stdin, words", [(f"{PW}\n", "twice"), ("short\nshort\n", "too short")])
def test_init_refuses_a_missing_or_weak_password(tmp_path: Path, stdin: str, words: str) -> None:
    out = init(tmp_path / "st", stdin=stdin)
    assert out.returncode == 2 and words in out.stderr
    assert not (tmp_path / "st" / "station.db").exists()


def test_init_never_takes_the_password_as_an_argument(tmp_path: Path) -> None:
    out = run_kiosk("init", "--data", str(tmp_path / "st"), "--password", PW)
    assert out.returncode == 2 and not (tmp_path / "st").exists()


def test_init_tightens_an_existing_empty_folder(tmp_path: Path) -> None:
    data = tmp_path / "st"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    assert init(data).returncode == 0 and mode(data) == 0o700


def test_station_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    StationKeys.create(tmp_path)
    (tmp_path / "keys" / "station_ed25519.pem").chmod(0o644)
    with pytest.raises(KeyFileError) as err:
        StationKeys.load(tmp_path)
    assert err.value.code == "keys.permissions"


def test_create_never_replaces_a_station_key(tmp_path: Path) -> None:
    first = StationKeys.create(tmp_path)
    with pytest.raises(KeyFileError) as err:
        StationKeys.create(tmp_path)
    assert err.value.code == "keys.exists"
    assert public_pem(StationKeys.load(tmp_path).public) == public_pem(first.public)


def test_data_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    Vault.open(tmp_path)
    (tmp_path / "keys" / "data.key").chmod(0o640)
    with pytest.raises(VaultError):
        Vault.open(tmp_path)


def test_load_or_create_returns_the_same_key(tmp_path: Path) -> None:
    a = StationKeys.init(tmp_path)
    b = StationKeys.init(tmp_path)
    assert a.created and not b.created and public_pem(a.public) == public_pem(b.public)


def test_init_without_data_uses_the_config(tmp_path: Path, config_file: Path) -> None:
    out = run_kiosk("--config", str(config_file), "init", "--user", "kepala", "--json", input=f"{PW}\n{PW}\n")
    assert out.returncode == 0, out.stderr
    assert Path(json.loads(out.stdout)["data_dir"]) == tmp_path / "data"
    assert (tmp_path / "data" / "accounts.toml").is_file()  # the config's [accounts] file
