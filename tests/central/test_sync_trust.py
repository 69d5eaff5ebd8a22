"""Issue 13 §1: the station applies only answers signed with the central's pinned key; every
malformed or foreign answer is quarantined (audited, logged, shown) and the pass goes on.

A fake central sits in front of the real one (an httpx transport that forwards every request
but answers /v1/decisions itself), so uploads really happen while the decisions are poisoned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.central.answers import sign_answer
from kiosk.central.keys import StationKeys
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.sync.client import CentralClient
from kiosk.sync.status import queue_status, quarantined
from kiosk.sync.worker import SyncWorker
from tests.central.conftest import FAST, SMALL_POLICY, Central, enroll
from tests.conftest import resident

FOREIGN = Ed25519PrivateKey.generate()


class FakeCentral:
    """Forwards to the real central; answers GET /v1/decisions with ``poison`` while it is set."""

    def __init__(self, url: str) -> None:
        self.real = httpx.Client(base_url=url, timeout=10)
        self.poison: bytes | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.poison is not None and request.url.path == "/v1/decisions":
            return httpx.Response(200, content=self.poison, headers={"Content-Type": "application/json"})
        r = self.real.request(request.method, request.url.raw_path.decode(), content=request.content,
                              headers={k: v for k, v in request.headers.items() if k.lower() != "host"})
        return httpx.Response(r.status_code, headers={k: v for k, v in r.headers.items()
                                                      if k.lower() not in ("content-length", "transfer-encoding")},
                              content=r.content)


@pytest.fixture
def fake_station(tmp_path: Path, central: Central) -> Iterator[tuple[SyncWorker, FakeCentral]]:
    folder = tmp_path / "ST-01"
    store = RecordStore(folder, policy=SMALL_POLICY)
    keys = StationKeys.init(folder)
    central.registry.register_station("ST-01", keys.public, "320101")
    fake = FakeCentral(central.url)
    client = CentralClient("http://central.test", "ST-01", keys.signing, timeout_s=5,
                           transport=httpx.MockTransport(fake))
    worker = SyncWorker(store, client, station_id="ST-01", station_key=keys.signing,
                        sealing_key=central.registry.keys.sealing_public,
                        permit_key=central.registry.keys.signing_public, settings=FAST, seed=3)
    yield worker, fake
    worker.close()
    client.close()
    fake.real.close()
    store.close()


def decision(rid: str, seq: int = 1, **over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"seq": seq, "station_id": "ST-01", "record_id": rid, "submission": 1, "decision": "rejected",
                         "decided_at": "2026-12-01T00:00:00+00:00", "permit": None,
                         "reason": {"code": "central.reject.identity", "params": {}}, "duplicate_of": None}
    d.update(over)
    return d


def page(*items: Any) -> bytes:
    return json.dumps({"decisions": list(items), "cursor": 0, "more": False}).encode()


def without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


# every malformed answer the issue lists; ``real`` = the central's own key signed it (a central
# bug, not an attacker: the shape check must still hold)
POISONS: dict[str, Callable[[str, Ed25519PrivateKey], bytes]] = {
    "foreign_key_rejection": lambda rid, real: page(sign_answer(FOREIGN, "decision", decision(rid))),
    "unsigned_rejection": lambda rid, real: page(decision(rid)),
    "huge_seq_foreign_key": lambda rid, real: page(sign_answer(FOREIGN, "decision", decision(rid, seq=10 ** 12))),
    "permit_signature_5": lambda rid, real: page(sign_answer(real, "decision", decision(
        rid, decision="approved", reason=None, permit={"permit_id": "p", "record_id": rid, "station_id": "ST-01",
                                                       "card_hash": "0" * 64, "issued_at": "x", "expires_at": "y",
                                                       "signature": 5, "version": 1}))),
    "missing_seq": lambda rid, real: page(sign_answer(real, "decision", without(decision(rid), "seq"))),
    "not_json": lambda rid, real: b"<html>502 Bad Gateway</html>",
    "cut_body": lambda rid, real: page(sign_answer(real, "decision", decision(rid)))[:40],
    "decisions_null": lambda rid, real: b'{"decisions": null, "cursor": 0, "more": false}',
    "seq_abc": lambda rid, real: page(sign_answer(real, "decision", decision(rid, seq="abc"))),
    "reason_string": lambda rid, real: page(sign_answer(real, "decision", decision(rid, reason="bad photo"))),
    "seq_is_bool": lambda rid, real: page(sign_answer(real, "decision", decision(rid, seq=True))),
    "other_station": lambda rid, real: page(sign_answer(real, "decision", decision(rid, station_id="ST-99"))),
    "deletion_answer_as_decision": lambda rid, real: page(sign_answer(real, "deletion", decision(rid))),
}


@pytest.mark.parametrize("name", sorted(POISONS))
def test_a_poisoned_decision_answer_changes_nothing_and_stops_nothing(name: str, fake_station, central) -> None:  # type: ignore[no-untyped-def]
    worker, fake = fake_station
    central.registry.decision_delay_s = 3600  # the real decisions come after the poison
    first = enroll(worker.store, resident(1))
    worker.run_once()
    assert worker.store.get(first).state is S.SUBMITTED
    fake.poison = POISONS[name](first, central.registry.keys.signing)
    later = enroll(worker.store, resident(2))
    report = worker.run_once()  # must not raise

    # stops nothing: the new record still went up in the same pass
    assert report["confirmed"] == 1 and worker.store.get(later).state is S.SUBMITTED
    # changes nothing: no state moved, the cursor did not jump (a decision the central really
    # signed, whose permit is garbage, is a verified decision: the cursor passes it, seq 1)
    assert worker.store.get(first).state is S.SUBMITTED
    assert worker.cursor() == (1 if name == "permit_signature_5" else 0)
    # quarantined (or, for a signed decision whose permit is garbage, a typed permit refusal), audited, shown
    audit = [e.action for e in worker.store.audit()]
    if name == "permit_signature_5":
        assert "permit_refused" in audit
    else:
        assert quarantined(worker.store) and "sync_quarantined" in audit
        assert queue_status(worker.store)["last_errors"]

    # the real central's decisions still arrive afterwards
    fake.poison = None
    central.registry.decide_due(now=float("inf"))
    worker.run_once()
    assert worker.store.get(later).state is S.APPROVED and worker.cursor() == 2
    if name != "permit_signature_5":
        assert worker.store.get(first).state is S.APPROVED


def test_cursor_advances_only_over_verified_decisions(fake_station, central) -> None:  # type: ignore[no-untyped-def]
    worker, fake = fake_station
    central.registry.decision_delay_s = 3600
    a, b = enroll(worker.store, resident(3)), enroll(worker.store, resident(4))
    worker.run_once()
    real = central.registry.keys.signing
    fake.poison = page(sign_answer(FOREIGN, "decision", decision(a, seq=10 ** 12)),
                       sign_answer(real, "decision", decision(b, seq=7)))
    worker.run_once()
    assert worker.cursor() == 7
    assert worker.store.get(b).state is S.REJECTED and worker.store.get(a).state is S.SUBMITTED


def test_the_quarantine_holds_no_answer_content(fake_station, central) -> None:  # type: ignore[no-untyped-def]
    worker, fake = fake_station
    central.registry.decision_delay_s = 3600
    rid = enroll(worker.store, resident(5))
    worker.run_once()
    fake.poison = page(sign_answer(FOREIGN, "decision", decision(rid, reason={"code": "SITI RAHAYU", "params": {}})))
    worker.run_once()
    [row] = quarantined(worker.store)
    assert row["code"] == "answer.signature" and row["record_id"] == rid
    assert "SITI" not in json.dumps(row)


# -- hypothesis: poisoned decision lists ----------------------------------------------------------
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.text(max_size=8),
                      st.floats(allow_nan=False))
json_value = st.recursive(json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                         max_size=3), max_leaves=8)
FIELDS = ("seq", "station_id", "record_id", "submission", "decision", "decided_at", "permit", "reason",
          "duplicate_of", "kind", "v", "signature")


@st.composite
def poisoned_item(draw: st.DrawFn, rid: str) -> Any:
    kind = draw(st.sampled_from(["garbage", "mutated_foreign", "mutated_after_signing"]))
    if kind == "garbage":
        return draw(json_value)
    base = decision(rid, seq=draw(st.integers(1, 10 ** 15)),
                    decision=draw(st.sampled_from(["approved", "rejected", "duplicate"])))
    if kind == "mutated_foreign":  # well-formed, signed by someone else
        return sign_answer(FOREIGN, "decision", base)
    signed = sign_answer(Ed25519PrivateKey.generate(), "decision", base)
    signed[draw(st.sampled_from(FIELDS))] = draw(json_value)  # any field altered after signing
    return signed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_poisoned_decision_lists_change_no_record_and_never_move_the_cursor(make_station, data) -> None:  # type: ignore[no-untyped-def]
    station = make_station() if not hasattr(make_station, "cached") else make_station.cached
    make_station.cached = station
    store, worker = station.store, station.worker
    if not store.list():
        rid = enroll(store, resident(6))
        worker.session.client.decisions = lambda cursor, limit=200: ([], None, False)
        worker.run_once()
    rid = store.list()[0].id
    before = (store.get(rid).state, worker.cursor())
    items = data.draw(st.lists(poisoned_item(rid), max_size=6))
    more = data.draw(st.booleans())
    worker.session.client.decisions = lambda cursor, limit=200: (items, 10 ** 12, more)
    worker.pull_decisions()
    assert (store.get(rid).state, worker.cursor()) == before


def test_sync_failures_reach_the_station_log_and_the_technician(make_station, central, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.ops.logs import attach_station_log, detach_station_logs

    log_file = attach_station_log(tmp_path / "logs-station")
    try:
        st = make_station()
        enroll(st.store, resident(7, full_name="SITI RAHAYU"))
        central.faults.set(outage_s=3600)
        st.worker.run_once()
    finally:
        detach_station_logs()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    failures = [e for e in lines if "central unavailable" in e.get("msg", e.get("message", ""))]
    assert failures, lines
    assert "SITI" not in log_file.read_text()
    errors = queue_status(st.store)["last_errors"]
    assert errors and errors[0]["code"].startswith("sync.")
