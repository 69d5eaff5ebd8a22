"""The diagnostics screen on a real ZFM sensor (driver + pty emulator): the Port list shows the
configured port, a pulled cable shows the technician line (port, OS error), the exchange log has
readable times and decoded packets, and Indonesian mode shows no raw codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from device_mocks.zfm import ZfmEmulator, ZfmMock
from kiosk.devices.zfm import ZfmFingerprintDriver
from kiosk.i18n import set_language
from tests.tui.fakes import FakeCamera, FakeDeviceSet, FakePad
from tests.tui.test_flow import login, wait_for


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=12), tmp_path / "mock", control=False)
    yield m
    m.close()


def devices(port: str) -> FakeDeviceSet:
    jari = ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port=port, timeout_s=2.0, poll_interval_s=0.01))
    return FakeDeviceSet({"camera": FakeCamera(), "jari": jari, "pad": FakePad()})


async def test_port_list_log_and_self_test_in_indonesian(make_app: Any, accounts: Any, mock: ZfmMock) -> None:
    app = make_app(devices=devices(mock.server.port))
    async with app.run_test(size=(120, 40)) as pilot:
        set_language("id")
        await login(pilot, "teknisi", "rahasia789")
        await pilot.press("d")
        await wait_for(pilot, lambda: len(getattr(app.screen, "reports", {})) == 3, tries=200)
        # the device list names devices in Indonesian, not by their config.toml keys (tmux look)
        table = app.screen.query_one("#diag-devices")
        await wait_for(pilot, lambda: str(table.get_row("jari")[0]) == "Pemindai sidik jari", tries=200)
        await pilot.press("s")
        await wait_for(pilot, lambda: "Port di konfigurasi" in app.screen.output, tries=200)
        assert re.search(rf"jari: {re.escape(mock.server.port)} -> /dev/pts/\d+", app.screen.output)
        await pilot.press("down", "t")  # self-test of the sensor
        await wait_for(pilot, lambda: "Jabat tangan" in app.screen.output, tries=400)
        assert app.screen.output.startswith("[b]Pemindai sidik jari (jari): ")
        assert "zfm.check" not in app.screen.output and "templates" not in app.screen.output
        await pilot.press("l")
        await wait_for(pilot, lambda: "command TemplateNum(0x1d)" in app.screen.output, tries=200)
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} tx ef 01", app.screen.output)


async def test_a_pulled_cable_shows_the_port_and_the_os_error(make_app: Any, accounts: Any, tmp_path: Path) -> None:
    port = str(tmp_path / "ttyUSB3")
    app = make_app(devices=devices(port))
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "teknisi", "rahasia789")
        await pilot.press("d")
        await wait_for(pilot, lambda: len(getattr(app.screen, "reports", {})) == 3, tries=200)
        await pilot.press("down", "o")
        await wait_for(pilot, lambda: "technical:" in app.screen.output, tries=200)
        assert f"jari @ {port}: device.absent" in app.screen.output
        assert "ENOENT: No such file or directory" in app.screen.output
        await pilot.press("s")
        await wait_for(pilot, lambda: "NOT FOUND" in app.screen.output, tries=200)
        assert f"jari: {port} NOT FOUND (ENOENT: No such file or directory)" in app.screen.output


class AnsweringCentral:
    """What the diagnostics screen asks of the station's sync: whether the central answers."""

    def reachable(self) -> bool:
        return True

    def close(self) -> None:
        pass


async def test_the_central_check_shows_the_round_trip_and_the_last_sync_errors(make_app: Any, accounts: Any,
                                                                              mock: ZfmMock) -> None:
    """tmux look: the technician's central check said only "Pusat menjawab.", while the last sync
    errors (issue 13 §4) were shown by ``kiosk queue`` alone."""
    import json

    from kiosk.sync.schema import ensure_schema, set_state
    from kiosk.sync.status import NetworkStatus

    app = make_app(devices=devices(mock.server.port))
    ensure_schema(app.store)
    network = NetworkStatus("degraded", "2026-12-02T05:00:00.000+00:00", "sync.timeout", 1, "2026-12-02T05:01:00.000+00:00",
                            ({"at": "2026-12-02T05:01:00.000+00:00", "code": "sync.timeout", "where": "upload",
                              "params": {"kind": "ReadTimeout"}},))
    with app.store.transaction() as conn:
        set_state(conn, "network", json.dumps(network.to_dict()))
    async with app.run_test(size=(120, 40)) as pilot:
        set_language("id")
        await login(pilot, "teknisi", "rahasia789")
        app.sync = AnsweringCentral()
        await pilot.press("d")
        await wait_for(pilot, lambda: len(getattr(app.screen, "reports", {})) == 3, tries=200)
        await pilot.press("n")
        await wait_for(pilot, lambda: "Pusat menjawab dalam" in app.screen.output, tries=200)
        output = app.screen.output
        assert re.search(r"Pusat menjawab dalam [\d.]+ ms\.", output)
        assert "Kontak terakhir: 2026-12-02 12:00:00" in output  # 05:00 UTC in the station's WIB
        assert "Kesalahan sinkronisasi terakhir:" in output
        assert "sync.timeout" in output and "Pusat tidak menjawab tepat waktu (ReadTimeout)." in output
