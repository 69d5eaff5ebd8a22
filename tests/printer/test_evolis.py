"""The Evolis driver against the wire-level mock (pyusb backend and pty), faults, and fuzzed replies."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from device_mocks.evolis import EvolisMock, usb_connection, PtyServer, card_plane, unpack_levels
from kiosk.devices.base import DeviceState
from kiosk.devices.errors import DeviceAbsent, DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.printer.connections import DummyConnection
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.evolis_panels import command, panel_command
from kiosk.printer.evolis_replies import parse_reply
from tests.conftest import ROOT


def card_image() -> np.ndarray:
    img = np.full((648, 1016, 3), 255, np.uint8)
    img[100:200, 100:500] = (200, 40, 30)  # a red block (dye)
    img[300:330, 100:900] = 0  # black text band (resin K)
    img[400:600, 700:900] = (40, 90, 200)
    return img


def test_identifies_over_either_wire(wire_printer, mock):
    printer = wire_printer
    info = printer.info()
    assert (info.vendor, info.model, info.serial, info.firmware) == ("Evolis", mock.model, mock.serial, mock.firmware)
    assert printer.status().state is DeviceState.READY


def test_prints_card_and_mock_saves_panels(wire_printer, mock):
    printer = wire_printer
    steps: list[str] = []
    job = printer.print_card(card_image(), progress=lambda done, total, stage: steps.append(stage))
    assert job == f"evolis:{mock.serial}:1"
    assert steps[:2] == ["errors", "ribbon"] and steps[-1] == "done" and "front-y" in steps
    (folder,) = mock.printed_cards()
    assert {p.name for p in folder.iterdir()} == {"front.png", "front-y.png", "front-m.png", "front-c.png",
                                                  "front-k.png", "front-o.png"}
    out = np.asarray(Image.open(folder / "front.png")).astype(int)
    assert np.abs(out - card_image().astype(int)).max() <= 3  # 7-bit dye levels round-trip
    sup = printer.supplies()
    assert (sup.ribbon_panels_left, sup.total_printed, sup.ribbon_type) == (149, 1, "YMCKO")
    assert mock.state.cards == 19


def test_prints_over_pty(tmp_path):
    mock = EvolisMock(tmp_path / "evolis")
    server = PtyServer(mock)
    try:
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(connection="serial", port=server.path,
                                                                        timeout_s=1.0))
        with drv:
            assert drv.info().serial == mock.serial
            drv.print_card(card_image())
        assert len(mock.printed_cards()) == 1
    finally:
        server.close()


def test_back_side_needs_a_ribbon_with_a_back_panel(printer, mock):
    with pytest.raises(DeviceFault) as info:
        printer.print_card(card_image(), card_image())
    assert info.value.reason == "ribbon_no_back" and info.value.params["card_fed"] is False
    assert "Ss" not in mock.commands


def test_prints_back_with_ymckok_ribbon(tmp_path):
    mock = EvolisMock(tmp_path / "evolis", ribbon="YMCKOK")
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(ribbon="YMCKOK", timeout_s=0.3),
                              connection=usb_connection(mock))
    with drv:
        drv.print_card(card_image(), card_image())
    (folder,) = mock.printed_cards()
    assert (folder / "back-k.png").exists() and (folder / "back.png").exists()


@pytest.mark.parametrize("fault,reason,fed", [
    ("no_card", "no_card", False),
    ("ribbon_out", "ribbon_out", False),
    ("cover_open", "cover_open", False),
    ("jam", "jam", True),
])
def test_printer_faults_become_typed_errors(wire_printer, mock, fault, reason, fed):
    printer = wire_printer
    mock.faults.add(fault)
    with pytest.raises(DeviceFault) as info:
        printer.print_card(card_image())
    assert info.value.reason == reason
    assert info.value.code == f"device.fault.{reason}"
    assert info.value.params["card_fed"] is fed
    assert mock.printed_cards() == []
    # Rlr (read last reply) keeps the failure: the status names it until the next command
    assert printer.status().reason == f"device.fault.{reason}"


def test_fault_appearing_mid_job_is_reported_with_card_not_fed(printer, mock):
    real = mock._print

    def cover_opened_during_download():  # the operator opens the cover while panels download
        mock.faults.add("cover_open")
        return real()

    mock._print = cover_opened_during_download  # type: ignore[method-assign]
    with pytest.raises(DeviceFault) as info:
        printer.print_card(card_image())
    assert info.value.reason == "cover_open" and info.value.params["card_fed"] is False


def test_silent_printer_times_out_before_the_job(wire_printer, mock):
    printer = wire_printer
    mock.faults.add("silence")
    with pytest.raises(DeviceTimeout) as info:
        printer.print_card(card_image())
    assert info.value.params["card_fed"] is False  # silent before any job command: nothing moved
    assert printer.status().state is DeviceState.ABSENT


def test_printer_falling_silent_mid_job_leaves_card_fate_unknown(printer, mock):
    real = mock._execute

    def silent_after_start(name, params, payload):  # answers until the job starts, then nothing
        if name == "Ss":
            mock.faults.add("silence")
        return real(name, params, payload)

    mock._execute = silent_after_start  # type: ignore[method-assign]
    with pytest.raises(DeviceTimeout) as info:
        printer.print_card(card_image())
    assert info.value.params["card_fed"] is None


def test_garbage_replies_are_protocol_errors(wire_printer, mock):
    printer = wire_printer
    mock.faults.add("garbage")
    with pytest.raises(DeviceProtocolError):
        printer.print_card(card_image())


def test_unplugged_printer_is_absent(tmp_path):
    mock = EvolisMock(tmp_path / "evolis", faults={"unplugged"})
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.2),
                              connection=usb_connection(mock))
    with pytest.raises(DeviceAbsent):
        drv.open()


def test_self_test_passes_on_ready_printer(printer):
    result = printer.self_test()
    assert result.passed, result.checks


def test_panel_packing_round_trips_through_mock_unpacking():
    rng = np.random.default_rng(7)
    plane = rng.integers(0, 256, size=(648, 1016), dtype=np.uint8)
    for levels, bits, tol in ((128, 7, 2), (2, 1, 255)):
        cmd = panel_command("y", plane, levels)
        header = f"\x1bDb;y;{levels};".encode()
        assert cmd.startswith(header) and cmd.endswith(b"\r")
        assert len(cmd) == len(header) + 1016 * 648 * bits // 8 + 1
        back = card_plane(unpack_levels(cmd[len(header):-1], bits))
        if bits == 7:
            assert np.abs(back.astype(int) - plane.astype(int)).max() <= tol
        else:
            assert np.array_equal(back > 127, plane >= 128)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=200_000), min_size=0, max_size=8))
def test_mock_parses_stream_split_anywhere(tmp_path, cuts):
    mock = EvolisMock(tmp_path / "split")
    plane = np.zeros((648, 1016), np.uint8)
    plane[:, ::13] = 0x0D  # payload bytes equal to CR must not end the command
    stream = command("Ss") + panel_command("y", plane, 128) + command("Rfv")
    replies = b""
    pos = 0
    for cut in sorted(set(c for c in cuts if c < len(stream))):
        replies += mock.feed(stream[pos:cut])
        pos = cut
    replies += mock.feed(stream[pos:])
    assert replies == b"OK\rOK\r" + mock.firmware.encode() + b"\r"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.one_of(st.binary(max_size=40), st.sampled_from(
    [b"\x1b", b"\r", b"Db;", b"Db;y;128;", b"Db;k;2;", b"Db;q;7;", b"Ss", b"Se", b"Rse", b";"])), max_size=30))
def test_mock_survives_any_command_stream(tmp_path, chunks):
    mock = EvolisMock(tmp_path / "fuzz")
    for chunk in chunks:
        assert isinstance(mock.feed(chunk), bytes)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(min_size=0, max_size=64))
def test_random_replies_parse_or_raise_typed_errors(raw):
    try:
        parse_reply(raw, device="printer")
    except DeviceError:
        pass


@settings(max_examples=60, deadline=None)
@given(replies=st.lists(st.binary(min_size=0, max_size=24), min_size=1, max_size=12))
def test_driver_with_corrupted_printer_replies_raises_typed_errors_only(replies):
    it = iter(replies)
    conn = DummyConnection("printer", answer=lambda data: next(it, b""))
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.01, print_timeout_s=0.01,
                                                                    reset_timeout_s=0.05), connection=conn)
    try:
        drv.open()
        drv.supplies()
        drv.status()
        drv.print_card(np.zeros((648, 1016, 3), np.uint8))
    except DeviceError:
        pass


def test_mock_runs_alone_on_a_pty(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "device_mocks.evolis", "--workdir", str(tmp_path / "m")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip() if proc.stdout else ""
        assert path.startswith("/dev/pts/")
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(connection="serial", port=path, timeout_s=2.0))
        with drv:
            assert drv.info().vendor == "Evolis"
            assert drv.status().state is DeviceState.READY
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_prints_through_kernel_lp_style_device_file(tmp_path):
    # /dev/usb/lpN is a character device read and written as a file; a pty stands in for it here
    mock = EvolisMock(tmp_path / "evolis")
    server = PtyServer(mock)
    try:
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(connection="lp", device=server.path,
                                                                        timeout_s=1.0))
        with drv:
            assert drv.info().extra["connection"] == server.path
            drv.print_card(card_image())
        assert len(mock.printed_cards()) == 1
    finally:
        server.close()


def test_missing_lp_device_is_absent(tmp_path):
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(connection="lp", device=str(tmp_path / "lp9")))
    with pytest.raises(DeviceAbsent):
        drv.open()


@pytest.mark.parametrize("serial,found", [("EVM0000001", True), ("OTHER", False)])
def test_usb_printer_is_picked_by_serial_number(tmp_path, serial, found):
    mock = EvolisMock(tmp_path / "evolis")
    conn = usb_connection(mock, serial=serial)
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3), connection=conn)
    if found:
        with drv:
            assert drv.info().serial == serial
    else:
        with pytest.raises(DeviceAbsent):
            drv.open()


def test_usb_printer_of_another_vendor_is_not_taken(tmp_path):
    mock = EvolisMock(tmp_path / "evolis")
    conn = usb_connection(mock, vendor_id=0x1234)
    with pytest.raises(DeviceAbsent):
        EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(), connection=conn).open()


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, 255), min_size=1, max_size=40), bits=st.sampled_from([1, 5, 6, 7, 8]))
def test_panel_packing_matches_bit_by_bit_definition(values, bits):
    from kiosk.printer.evolis_panels import pack_levels

    stream = "".join(format(v >> (8 - bits), f"0{bits}b") for v in values)
    stream += "0" * ((-len(stream)) % 8)
    expected = bytes(int(stream[i:i + 8], 2) for i in range(0, len(stream), 8))
    assert pack_levels(np.array(values, np.uint8), bits) == expected
