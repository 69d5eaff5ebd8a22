"""Random sequences of approvals, permits (good and bad), printer faults and prints: the gate
never prints a card without a permit, never prints twice on one permit, never leaves a record
in ``printing``."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk.central.permit import PermitError
from kiosk.config import PolicyConfig
from kiosk.devices.errors import DeviceError
from kiosk.printer import ledger
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate, PrintRefused
from kiosk.store import RecordStore
from kiosk.store.states import RecordState
from tests.printer.conftest import STATION, approved_record, issue

pytestmark = pytest.mark.slow
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ROGUE = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


class GateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="gate-sm-"))
        self.store = RecordStore(self.tmp / "station", policy=PolicyConfig(required_fingers=(), require_face=False,
                                                                           require_signature=False))
        self.mock = EvolisMock(self.tmp / "evolis", cards=1000)
        self.printer = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3, print_timeout_s=1.0),
                                           connection=usb_connection(self.mock))
        self.printer.open()
        self.gate = PrintGate(self.store, central_key=KEY.public_key(), station_id=STATION)
        self.records: list[str] = []
        self.good: set[str] = set()  # ids of the permits a correct gate may accept
        self.serial = 0

    def teardown(self) -> None:
        self.printer.close()
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @initialize()
    def two_approved_records_with_permits(self) -> None:
        for _ in range(2):
            self.approve_record()
            self.central_sends_permit(len(self.records) - 1, "good")

    @rule()
    def approve_record(self) -> None:
        self.serial += 1
        self.records.append(approved_record(self.store, self.serial))

    @precondition(lambda self: self.records)
    @rule(i=st.integers(min_value=0), kind=st.sampled_from(["good", "good", "good", "expired", "station", "rogue"]))
    def central_sends_permit(self, i: int, kind: str) -> None:
        rid = self.records[i % len(self.records)]
        if kind == "good":
            permit = issue(KEY, self.store, rid)
            self.good.add(permit.permit_id)
        elif kind == "expired":
            permit = issue(KEY, self.store, rid, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60))
        elif kind == "station":
            permit = issue(KEY, self.store, rid, station="ELSEWHERE")
        else:
            permit = issue(ROGUE, self.store, rid)
        ledger.store_permit(self.store, rid, permit)

    @rule(fault=st.sampled_from([None, "jam", None, "cover_open", "no_card"]))
    def printer_condition(self, fault: str | None) -> None:
        self.mock.faults.clear()
        if fault:
            self.mock.faults.add(fault)

    @precondition(lambda self: self.records)
    @rule(i=st.integers(min_value=0))
    def operator_prints(self, i: int) -> None:
        rid = self.records[i % len(self.records)]
        try:
            self.gate.print_record(rid, self.printer, actor="op")
        except (PrintRefused, PermitError, DeviceError):
            pass

    @invariant()
    def every_card_out_has_exactly_one_spent_permit(self) -> None:
        spent: dict[str, int] = {}
        for rid in self.records:
            for row in ledger.permits_for(self.store, rid):
                if row.status == "spent":
                    spent[rid] = spent.get(rid, 0) + 1
        assert len(self.mock.printed_cards()) == sum(spent.values())
        assert all(n == 1 for n in spent.values())
        used = {r.permit_id for rid in self.records for r in ledger.permits_for(self.store, rid)
                if r.status in ("spent", "spoiled")}
        assert used <= self.good, "a bad permit (expired, other station, other key) was used"
        # every card that left the hopper (printed or jammed) consumed exactly one permit
        assert self.mock.state.counter == len(used)
        for rid in self.records:
            assert (self.store.get(rid).state is RecordState.PRINTED) == (rid in spent)

    @invariant()
    def nothing_left_half_done(self) -> None:
        assert self.store.list(RecordState.PRINTING) == []
        for rid in self.records:
            assert all(r.status != "in_use" for r in ledger.permits_for(self.store, rid))


TestGateMachine = GateMachine.TestCase
TestGateMachine.settings = settings(max_examples=20, stateful_step_count=20, deadline=None, derandomize=True,
                                    suppress_health_check=[HealthCheck.too_slow])
