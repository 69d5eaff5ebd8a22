"""Issue 15, "Accounts and files": same answer for unknown names, the demo account only while
simulated, scrypt at OWASP's cost with rehash on login, private data from the first write,
lock expiry in `users list`, `init --data` and accounts.file, damaged accounts files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from kiosk.accounts import (DEMO_NAME, DEMO_PASSWORD, AccountLocked, AccountsFileDamaged, AccountStore, LoginFailed,
                            Role, hash_cost, hash_password)
from kiosk.config import AccountsConfig
from kiosk.i18n import describe
from tests.conftest import BASE_CONFIG, run_kiosk


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def fast_store(path: Path, clock: Clock | None = None, **kw: int) -> AccountStore:
    cfg = AccountsConfig(file=path, max_failures=3, lockout_s=60, password_cost=kw.pop("password_cost", 14), **kw)
    return AccountStore(cfg, clock=clock or Clock())


def _answers(store: AccountStore, name: str) -> list[tuple[str, dict[str, object], str]]:
    out = []
    for _ in range(4):
        with pytest.raises((LoginFailed, AccountLocked)) as e:
            store.authenticate(name, "wrong-password")
        params = {k: v for k, v in e.value.params.items() if k != "name"}
        out.append((e.value.code, params, describe(e.value, "en").replace(name, "NAME")))
    return out


def test_unknown_name_and_wrong_password_get_the_same_answers(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "acc.toml")
    store.add("siti", Role.OPERATOR, "rahasia123")
    assert _answers(store, "siti") == _answers(store, "nobody")


def test_demo_account_is_removed_when_the_station_is_no_longer_simulated(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "acc.toml")
    store.add("siti", Role.OPERATOR, "rahasia123")
    assert store.ensure_demo(True) == (DEMO_NAME, DEMO_PASSWORD)
    assert store.ensure_demo(False) is None
    assert [a.name for a in store.list()] == ["siti"]
    with pytest.raises(LoginFailed):
        store.authenticate(DEMO_NAME, DEMO_PASSWORD)


def test_cli_users_list_on_a_real_station_shows_no_demo(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG)  # simulated = false
    fast_store(tmp_path / "data" / "accounts.toml").ensure_demo(True)
    proc = run_kiosk("--config", str(cfg), "users", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_default_cost_is_owasp_n_2_17() -> None:
    assert AccountsConfig(file=Path("x")).password_cost == 17
    assert hash_cost(hash_password("rahasia123", n=2**17)) == 2**17


def test_a_weaker_hash_is_replaced_at_login(tmp_path: Path) -> None:
    old = fast_store(tmp_path / "acc.toml", password_cost=14)
    old.add("siti", Role.OPERATOR, "rahasia123")
    assert hash_cost(old.get("siti").hash) == 2**14  # type: ignore[union-attr]
    new = fast_store(tmp_path / "acc.toml", password_cost=15)
    new.authenticate("siti", "rahasia123")
    assert hash_cost(new.get("siti").hash) == 2**15  # type: ignore[union-attr]
    assert new.authenticate("siti", "rahasia123").name == "siti"


def test_a_damaged_hash_is_a_refused_login_not_a_crash(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "acc.toml")
    store.add("siti", Role.OPERATOR, "rahasia123")
    text = (tmp_path / "acc.toml").read_text()
    for damaged in ("scrypt$abc$8$1$xx$yy", "scrypt$3$8$1$c2FsdA==$a2V5", "md5$x", "scrypt$16384$8$1$!!$??"):
        start = text.index('hash = "') + len('hash = "')
        (tmp_path / "acc.toml").write_text(text[:start] + damaged + text[text.index('"', start):])
        with pytest.raises(LoginFailed):
            store.authenticate("siti", "rahasia123")


@pytest.mark.parametrize("content", ['[accounts.siti]\nrole = "operator"\n', "[accounts\n",
                                     '[accounts.siti]\nrole = "king"\nhash = "x"\n'])
def test_a_damaged_accounts_file_is_one_plain_line(tmp_path: Path, content: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "accounts.toml").write_text(content)
    with pytest.raises(AccountsFileDamaged):
        fast_store(tmp_path / "data" / "accounts.toml").list()
    proc = run_kiosk("--config", str(cfg), "--lang", "en", "users", "list")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "accounts file" in proc.stderr and "Unexpected" not in proc.stderr


def test_users_list_shows_an_expired_lock_as_unlocked(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG)
    store = fast_store(tmp_path / "data" / "accounts.toml")
    store.add("siti", Role.OPERATOR, "rahasia123")
    store.add("ani", Role.OPERATOR, "rahasia123")
    text = (tmp_path / "data" / "accounts.toml").read_text()
    text = text.replace("locked_until = 0.0", "locked_until = 1.0", 1)  # ani: locked long ago
    text = text.replace("locked_until = 0.0", "locked_until = 99999999999.0", 1)  # siti: locked now
    (tmp_path / "data" / "accounts.toml").write_text(text)
    proc = run_kiosk("--config", str(cfg), "users", "list", "--json")
    assert {a["name"]: a["locked"] for a in json.loads(proc.stdout)} == {"ani": False, "siti": True}


def test_init_data_writes_the_accounts_file_the_config_reads(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG.replace('file = "data/accounts.toml"', 'file = "etc/accounts.toml"'))
    proc = run_kiosk("--config", str(cfg), "init", "--data", str(tmp_path / "data"), "--user", "kepala",
                     input="rahasia123\nrahasia123\n", timeout=120)
    assert proc.returncode == 0, proc.stderr
    listing = run_kiosk("--config", str(cfg), "users", "list", "--json")
    assert [a["name"] for a in json.loads(listing.stdout)] == ["kepala"]


def test_first_command_before_init_leaves_a_private_folder_and_database(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG.replace('data_dir = "data"', 'data_dir = "new/station/data"'))
    proc = run_kiosk("--config", str(cfg), "records", "list")
    assert proc.returncode == 0, proc.stderr
    for folder in (tmp_path / "new", tmp_path / "new/station", tmp_path / "new/station/data"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for f in (tmp_path / "new/station/data").rglob("*"):
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f


@pytest.mark.parametrize("where", ["file", "proc"])
def test_a_data_dir_that_cannot_be_a_folder_is_one_plain_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "afile").write_text("x")
    target = str(tmp_path / "afile") if where == "file" else "/proc/kiosk-station"
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG.replace('data_dir = "data"', f'data_dir = "{target}"'))
    proc = run_kiosk("--config", str(cfg), "--lang", "en", "records", "list")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Unexpected" not in proc.stderr


def test_init_data_onto_an_existing_file_is_one_plain_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    proc = run_kiosk("--lang", "en", "init", "--data", str(tmp_path / "afile"), input="rahasia123\nrahasia123\n",
                     cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "is a file" in proc.stderr and proc.stderr.count("\n") == 1
