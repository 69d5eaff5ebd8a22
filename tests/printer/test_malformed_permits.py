"""Malformed permit documents are typed refusals, never a TypeError (issue 13 §1, third bullet):
wrong JSON types (signature int or null, issued_at int), timestamps without a UTC offset ...
each gives ``print_refused`` in the audit trail, and ``kiosk print --approved`` goes on."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import permits as station_permits
from kiosk.central.permit import PermitError, PrintPermit
from kiosk.permits.parse import FIELDS, MalformedPermit, parse_permit
from kiosk.printer.gate import PrintGate
from kiosk.store.queue import now_iso
from tests.conftest import run_kiosk
from tests.printer.conftest import STATION, approved_record, issue
from tests.printer.test_cli_printing import station as cli_station  # noqa: F401 - fixture

VALID: dict[str, Any] = {
    "permit_id": "7f1c2e1e-2a55-4d0e-9a43-1f2f0f7c9b10", "record_id": "rec-1", "station_id": STATION,
    "card_hash": "ab" * 32, "issued_at": "2026-11-30T08:00:00+00:00", "expires_at": "2026-12-30T08:00:00+00:00",
    "signature": "A" * 86 + "==", "version": 1,
}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=5)
NAIVE = st.datetimes().map(lambda d: d.isoformat())


def test_a_valid_document_parses() -> None:
    assert parse_permit(VALID) == PrintPermit(**VALID)


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON | NAIVE, min_size=1, max_size=4),
       dropped=st.sets(st.sampled_from(FIELDS), max_size=2))
def test_any_malformed_document_is_a_typed_refusal(changes: dict[str, Any], dropped: set[str]) -> None:
    doc = {**VALID, **changes}
    for name in dropped:
        doc.pop(name)
    try:
        permit = parse_permit(doc)
    except PermitError as exc:  # the only way to fail: typed, with a catalog code
        assert exc.code.startswith("permit.")
        return
    assert isinstance(permit.signature, str) and type(permit.version) is int
    assert dt.datetime.fromisoformat(permit.issued_at).tzinfo is not None  # never a naive time


@given(doc=JSON)
def test_any_json_value_is_refused_or_parsed_never_crashes(doc: Any) -> None:
    with pytest.raises(PermitError):
        parse_permit(doc)


@pytest.mark.parametrize(("field", "value", "code"), [
    ("signature", 5, "permit.bad.not_text"),
    ("signature", None, "permit.bad.not_text"),
    ("issued_at", 1764489600, "permit.bad.not_text"),
    ("issued_at", "2026-11-30T08:00:00", "permit.bad.no_utc_offset"),
    ("expires_at", "2026-12-30 08:00", "permit.bad.no_utc_offset"),
    ("version", True, "permit.bad.not_integer"),
    ("card_hash", "x" * 64, "permit.bad.not_sha256"),
])
def test_the_field_reports_each_give_their_own_code(field: str, value: Any, code: str) -> None:
    with pytest.raises(MalformedPermit) as info:
        parse_permit({**VALID, field: value})
    assert (info.value.code, info.value.params["field"]) == (code, field)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON, min_size=1, max_size=3))
def test_receive_stores_nothing_it_cannot_read(store, changes: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    doc = {**VALID, **changes, "permit_id": "p-hypo"}
    try:
        parse_permit(doc)
    except PermitError:
        with pytest.raises(PermitError):
            station_permits.store_permit(store, "rec-1", doc)
        assert station_permits.permit(store, "p-hypo") is None


def store_raw(store, rid: str, body: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """A permit row as an older station (or a forger) left it: not read through receive()."""
    station_permits.permits_for(store, rid)  # the tables exist
    with store.transaction() as conn:
        conn.execute("INSERT INTO print_permits(permit_id, record_id, body, received_at) VALUES (?,?,?,?)",
                     (str(body.get("permit_id", "raw")), rid, json.dumps(body), now_iso()))


@pytest.mark.parametrize(("field", "value"), [("signature", 5), ("signature", None), ("issued_at", 1764489600),
                                              ("issued_at", "2026-11-30T08:00:00")])
def test_gate_refuses_a_malformed_stored_permit_with_an_audit_row(store, central_key, printer, mock, field, value):  # type: ignore[no-untyped-def]
    rid = approved_record(store)
    body = {**issue(central_key, store, rid).to_dict(), field: value}
    store_raw(store, rid, body)
    gate = PrintGate(store, central_key=central_key.public_key(), station_id=STATION)
    with pytest.raises(MalformedPermit):
        gate.print_record(rid, printer, actor="op")
    last = store.audit(rid)[-1]
    assert last.action == "print_refused" and last.reason.startswith("permit.bad.")
    assert last.params["field"] == field
    assert mock.printed_cards() == []


def test_print_approved_goes_on_after_a_malformed_permit(cli_station, central_key) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    path, store = cli_station
    ids = [approved_record(store, n) for n in (1, 2, 3)]
    for rid in (ids[0], ids[2]):
        station_permits.store_permit(store, rid, issue(central_key, store, rid))
    store_raw(store, ids[1], {**issue(central_key, store, ids[1]).to_dict(), "signature": 5})
    assert run_kiosk("--config", str(path), "stock", "add", "10").returncode == 0
    result = run_kiosk("--config", str(path), "print", "--approved", "--json")
    assert "Unexpected" not in result.stderr and "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert [r["printed"] for r in data["results"]] == [True, False, True]
    assert data["results"][1]["code"] == "permit.bad.not_text"
    assert result.returncode == 1
    assert store.audit(ids[1])[-1].action == "print_refused"
