"""The Evolis driver and mock against the public references, not against each other.

References: Evolis Programming Guide A5013 rev. D2/E (PDFs in dpavlin/Printer-EVOLIS ``docs/``)
and that repository's scripts, which were run on a Dualys 3 (Artistic License / GPL, as Perl;
we copy only command strings and byte counts from them, not code):

- ``scripts/evolis-driver.pl``: ``Pr;k``, ``Pmi;F;s``, ``Pc;k;=;10``, ``Ss``, ``Sr``,
  ``Db;k;2;`` + 648 * 1016 / 8 bytes, ``Sv``, ``Se``, then 64 NUL bytes;
- ``scripts/evolis-command.pl``: ``Rtp``, ``Rsn``, ``Rkn``, ``Rfv``, ``Rco;p``, ``Rco;c``,
  ``Rco;a``, ``Rco;m``, ``Rco;n``, ``Rco;l``;
- ``lib/Printer/EVOLIS/Parallel.pm``: an answer on ``/dev/usb/lp0`` ends with a NUL byte.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.evolis import EvolisMock, PtyServer, usb_connection
from kiosk.devices.errors import DeviceError, DeviceFault, DeviceProtocolError
from kiosk.printer.connections import DummyConnection, SerialConnection
from kiosk.printer.evolis import MAX_PANEL_BYTES, EvolisPrinterDriver
from kiosk.printer.evolis_panels import command, panel_command
from kiosk.printer.evolis_replies import ReplyKind, parse_count, parse_reply
from tests.conftest import ROOT

ESC, CR = b"\x1b", b"\r"

# ---- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw,kind,reason", [
    (b"OK\r", ReplyKind.OK, ""),
    (b"ERROR CDE\r", ReplyKind.REFUSED, "command"),
    (b"ERROR PARAMETRES\r", ReplyKind.REFUSED, "parameters"),
    (b"FEEDER EMPTY\r", ReplyKind.FAULT, "no_card"),
    (b"COVER OPEN\r", ReplyKind.FAULT, "cover_open"),
    (b"CARD JAM\r", ReplyKind.FAULT, "jam"),
    (b"ERROR RIBBON\r", ReplyKind.FAULT, "ribbon_out"),
    (b"HOPPER FULL\r", ReplyKind.FAULT, "output_full"),
    (b"NEED CLEANING\r", ReplyKind.FAULT, "needs_cleaning"),
    # guide A5013, Rlr;p and Rlr;r
    (b"ERR CARD\r", ReplyKind.FAULT, "jam"),
    (b"ERR NEED CLEANING\r", ReplyKind.FAULT, "needs_cleaning"),
    (b"NO CARD\r", ReplyKind.DATA, ""),
    # public code reading Rrt;count on a printer without a ribbon
    (b"ERR RIB DETECTION\r", ReplyKind.FAULT, "ribbon_missing"),
    # an error we have no row for is still an error
    (b"ERROR SOMETHING NEW\r", ReplyKind.FAULT, "printer_error"),
    # Parallel.pm: usblp answers end with NUL
    (b"OK\x00", ReplyKind.OK, ""),
    (b"FEEDER EMPTY\x00", ReplyKind.FAULT, "no_card"),
])
def test_answers_from_the_references_are_classified(raw, kind, reason):
    reply = parse_reply(raw, device="printer")
    assert (reply.kind, reply.reason) == (kind, reason)


def test_error_cde_is_kept_whole():
    assert parse_reply(b"ERROR CDE\r", device="printer").text == "ERROR CDE"


@pytest.mark.parametrize("text", ["FEEDER EMPTY", "COVER OPEN", "CARD JAM", "ERROR RIBBON", "HOPPER FULL",
                                  "NEED CLEANING", "ERROR CDE", "ERROR PARAMETRES"])
def test_no_failure_answer_is_ok(text):
    assert not parse_reply(text.encode() + CR, device="printer").ok


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40))
def test_only_ok_is_ok(text):
    try:
        reply = parse_reply(text.encode() + CR, device="printer")
    except DeviceProtocolError:
        return
    assert reply.ok == (" ".join(text.upper().split()) == "OK")


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=60), st.integers(0, 10 ** 15).map(str),
                     st.integers(4_000, 6_000).map(lambda n: "9" * n)))
def test_counter_answers_are_ints_or_typed_errors(text):
    try:
        value = parse_count(text, device="printer")
    except DeviceProtocolError:
        return
    assert value == int(text.strip()) and len(text.strip()) <= 12


def test_counter_answer_of_5000_digits_without_cr_is_a_typed_error():
    conn = DummyConnection("printer", answer=lambda data: b"9" * 5000 if b"Rco" in data else b"X\r")
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.05, reset_timeout_s=0.1),
                              connection=conn)
    drv.open()
    with pytest.raises(DeviceProtocolError):
        drv.counter()


# ---- requests ------------------------------------------------------------------------------


def test_panel_downloads_have_the_guides_byte_counts():
    """Guide A5013: ``Nb = 648 * 1016 * bits / 8``. (Its table prints 84,624 and 592,368, which
    are 676,992 dots, not the 658,368 of 648 x 1016; evolis-driver.pl, run on a Dualys 3, pads
    a 2-level panel to ``648 * 1016 / 8`` = 82,296 bytes: the formula is what printers take.)"""
    plane = np.zeros((648, 1016), np.uint8)
    for levels, size in ((2, 648 * 1016 // 8), (128, 648 * 1016 * 7 // 8)):
        panel = b"k" if levels == 2 else b"y"
        cmd = panel_command(panel.decode(), plane, levels)
        header = ESC + b"Db;" + panel + b";" + str(levels).encode() + b";"
        assert cmd.startswith(header) and cmd.endswith(CR)
        assert len(cmd) - len(header) - 1 == size


def test_driver_sends_read_commands_with_their_parameters(tmp_path):
    mock = EvolisMock(tmp_path / "evolis")
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5), connection=usb_connection(mock))
    with drv:
        drv.status()
        drv.supplies()
        drv.self_test()
        drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
    reads = [r for r in mock.requests if r.startswith("R")]
    # the guide's read commands that need a parameter always carry one
    assert all(";" in r for r in reads if r.split(";")[0] in ("Rco", "Rse", "Rrt"))
    assert {r.split(";")[0] for r in reads} <= {"Rsn", "Rtp", "Rfv", "Rlr", "Rco", "Rr", "Rrt", "Rse"}
    assert "Rco;c" in reads and "Rrt;count" in reads and "Rlr" in reads
    assert mock.printed_cards()


@pytest.mark.parametrize("bare", ["Rco", "Rse", "Rrt"])
def test_mock_refuses_read_commands_without_their_parameter(tmp_path, bare):
    mock = EvolisMock(tmp_path / "evolis")
    assert mock.feed(command(bare)) == b"ERROR PARAMETRES\r"


def test_evolis_command_pl_queries_all_get_values(tmp_path):
    mock = EvolisMock(tmp_path / "evolis")
    for query in ("Rtp", "Rsn", "Rkn", "Rfv", "Rco;p", "Rco;c", "Rco;a", "Rco;m", "Rco;n", "Rco;l"):
        reply = parse_reply(mock.feed(ESC + query.encode() + CR), device="printer")
        assert reply.kind is ReplyKind.DATA, (query, reply)


def evolis_driver_pl_stream(front: bytes, back: bytes | None) -> bytes:
    """The bytes ``scripts/evolis-driver.pl front.pbm [back.pbm]`` writes."""
    out = ESC + b"Pr;k" + CR + ESC + b"Pmi;F;s" + CR + ESC + b"Pc;k;=;10" + CR + ESC + b"Ss" + CR + ESC + b"Sr" + CR
    out += ESC + b"Db;k;2;" + front + CR
    if back is not None:
        out += ESC + b"Sv" + CR + ESC + b"Pc;k;=;10" + CR + ESC + b"Db;k;2;" + back + CR
    return out + ESC + b"Se" + CR + b"\x00" * 64


def test_mock_prints_the_stream_of_evolis_driver_pl(tmp_path):
    front = bytes([0xFF] * 81) * 1016  # all black, 81 bytes per 648-dot line
    back = bytes(648 * 1016 // 8)
    mock = EvolisMock(tmp_path / "evolis", ribbon="K")
    stream = evolis_driver_pl_stream(front, back)
    answers = b"".join(mock.feed(stream[i:i + 4096]) for i in range(0, len(stream), 4096))
    assert answers.split(CR)[:-1] == [b"OK"] * 10
    (card,) = mock.printed_cards()
    assert {p.name for p in card.iterdir()} >= {"front-k.png", "back-k.png", "front.png", "back.png"}
    assert mock.state.counter == 1


# ---- a panel cut off half-way --------------------------------------------------------------


def half_sent_panel() -> bytes:
    plane = np.full((648, 1016), 128, np.uint8)
    full = panel_command("y", plane, 128)
    return command("Pem", 2) + command("Pr", "ymcko") + command("Ss") + command("Sr") + full[: len(full) // 2]


def test_mock_keeps_reading_pixels_after_a_half_sent_panel(tmp_path):
    """Guide A5013: the panel is always 648 x 1016 dots; the printer counts the bytes."""
    mock = EvolisMock(tmp_path / "evolis")
    mock.feed(half_sent_panel())
    assert mock.feed(command("Rsn")) == b""  # swallowed as panel data
    mock.feed(b"\x00" * MAX_PANEL_BYTES + CR)  # the rest of the panel, and more
    assert mock.feed(command("Srs")) == b"OK\r"  # Srs: reset like a restart
    assert mock.job is None
    assert mock.feed(command("Rsn")) == mock.serial.encode() + CR


@pytest.mark.parametrize("wire", ["usb", "pty"])
def test_driver_reopened_after_a_kill_mid_panel_recovers_the_link_and_prints(tmp_path, wire):
    mock = EvolisMock(tmp_path / "evolis")
    server = PtyServer(mock) if wire == "pty" else None
    try:
        # the killed station: it wrote half a colour panel and vanished
        dead = SerialConnection("printer", url=server.path) if server else usb_connection(mock)
        dead.open()
        dead._write(half_sent_panel())
        dead.close()
        conn = SerialConnection("printer", url=server.path) if server else usb_connection(mock)
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5, print_timeout_s=2.0),
                                  connection=conn)
        with drv:
            assert "Srs" in mock.commands
            assert drv.info().serial == mock.serial
            drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
        assert len(mock.printed_cards()) == 1
    finally:
        if server is not None:
            server.close()


def test_timeout_mid_panel_resyncs_before_the_next_command(tmp_path):
    mock = EvolisMock(tmp_path / "evolis")
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3, print_timeout_s=1.0),
                              connection=usb_connection(mock))
    real = mock._execute

    def silent_during_panels(name, params, payload):
        if name == "Db":
            mock.faults.add("silence")
        return real(name, params, payload)

    with drv:
        mock._execute = silent_during_panels  # type: ignore[method-assign]
        with pytest.raises(DeviceError):
            drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
        mock._execute = real  # type: ignore[method-assign]
        mock.faults.discard("silence")
        assert drv.counter() == 0  # answered after the resync
        assert "Srs" in mock.commands


def test_refused_command_mid_job_is_a_protocol_error_with_the_whole_answer(tmp_path):
    mock = EvolisMock(tmp_path / "evolis")
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3), connection=usb_connection(mock))
    real = mock._execute
    mock._execute = lambda name, params, payload: "ERROR CDE" if name == "Sr" else real(name, params, payload)
    with drv:
        with pytest.raises(DeviceProtocolError) as info:
            drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
    assert info.value.params["reply"] == "ERROR CDE" and info.value.params["card_fed"] is False


def test_feeder_empty_answer_to_se_is_never_booked_as_printed(tmp_path):
    mock = EvolisMock(tmp_path / "evolis", cards=0)
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3), connection=usb_connection(mock))
    with drv:
        with pytest.raises(DeviceFault) as info:
            drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
    assert info.value.reason == "no_card" and info.value.params["card_fed"] is False
    assert mock.printed_cards() == []


def test_sigkill_mid_panel_then_a_new_process_prints(tmp_path):
    """The whole story across processes: the printer (mock) runs alone on a pty; a station
    process writes half a colour panel and is SIGKILLed; the next station process opens the
    printer, brings the link back (NULs + Srs) and prints a card."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workdir = tmp_path / "printer"
    printer = subprocess.Popen([sys.executable, "-m", "device_mocks.evolis", "--workdir", str(workdir)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        port = printer.stdout.readline().strip() if printer.stdout else ""
        station = subprocess.Popen([sys.executable, "-c", KILLED_STATION, port], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, text=True)
        assert station.stdout is not None and station.stdout.readline().strip() == "half a panel sent"
        station.send_signal(signal.SIGKILL)
        station.wait()
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(connection="serial", port=port,
                                                                        timeout_s=1.0, print_timeout_s=5.0))
        with drv:
            drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
        assert len(list((workdir / "cards").glob("*/front.png"))) == 1
    finally:
        printer.terminate()
        printer.wait(timeout=10)


KILLED_STATION = """
import sys, time
import numpy as np
from kiosk.printer.connections import SerialConnection
from kiosk.printer.evolis_panels import command, panel_command
conn = SerialConnection("printer", url=sys.argv[1])
conn.open()
full = panel_command("y", np.full((648, 1016), 128, np.uint8), 128)
conn._write(command("Pem", 2) + command("Pr", "ymcko") + command("Ss") + command("Sr") + full[: len(full) // 2])
print("half a panel sent", flush=True)
time.sleep(600)
"""


def test_sensors_are_read_with_rse_and_their_parameter(tmp_path):
    mock = EvolisMock(tmp_path / "evolis", cards=0)
    with EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5),
                             connection=usb_connection(mock)) as drv:
        sensors = drv.sensors()
    assert set(sensors) == {"c", "m", "o", "p", "r"} and sensors["m"] == "4.10"  # feeder stop: no card
    assert "Rse" in mock.commands


def test_older_firmware_without_rrt_reads_the_ribbon_with_rco_l(tmp_path):
    mock = EvolisMock(tmp_path / "evolis", ribbon_left=42)
    real = mock._read
    mock._read = lambda name, params: "ERROR CDE" if name == "Rrt" else real(name, params)
    with EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5),
                             connection=usb_connection(mock)) as drv:
        assert drv.supplies().ribbon_panels_left == 42
    assert "Rco;l" in mock.requests


@settings(max_examples=12, deadline=None)
@given(cut=st.floats(0.0, 1.0))
def test_a_job_cut_off_anywhere_is_recovered_by_the_next_driver(tmp_path_factory, cut):
    """Property: whatever prefix of a card job reached the printer before the station died,
    the next driver brings the link back and prints exactly one more card."""
    mock = EvolisMock(tmp_path_factory.mktemp("cut"))
    job = b"".join(data for _, data in EvolisPrinterDriver(
        "printer", EvolisPrinterDriver.Params(), connection=DummyConnection()).build_job(
            np.full((648, 1016, 3), 200, np.uint8)))
    mock.feed(job[: int(len(job) * cut)])
    before = len(mock.printed_cards())
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.05, reset_timeout_s=1.0),
                              connection=DummyConnection("printer", answer=mock.feed))
    with drv:
        drv.print_card(np.full((648, 1016, 3), 255, np.uint8))
    assert len(mock.printed_cards()) == before + 1
