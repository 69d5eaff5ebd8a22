"""The NIK step's question to the central (GET /v1/residents/{nik}): signed answers, where
and when; offline or untrusted answers come back as "unknown" without raising."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.dedup.nik_lookup import LookupState, lookup_nik, verify_answer
from kiosk.i18n import translate
from kiosk.sync.client import CentralClient
from tests.central.conftest import enroll
from tests.conftest import resident


def test_a_recorded_nik_is_answered_with_where_and_when(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A", region="320101"), make_station("ST-B", region="320102")
    person = resident(61)
    key = central.registry.keys.signing_public
    assert lookup_nik(b.client, person.nik, central_key=key).state is LookupState.NOT_RECORDED
    enroll(a.store, person)
    a.worker.run_once()
    found = lookup_nik(b.client, person.nik, central_key=key)
    assert found.state is LookupState.RECORDED
    (earlier,) = found.records
    assert (earlier.station_id, earlier.region, earlier.state) == ("ST-A", "320101", "approved")
    assert earlier.recorded_at[:10] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    code, params = found.message()
    assert "ST-A" in translate(code, "id", **params) and "ST-A" in translate(code, "en", **params)


def test_offline_is_unknown_and_does_not_raise(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    dead = CentralClient("http://127.0.0.1:9", "ST-A", st.keys.signing, timeout_s=0.5)
    try:
        got = lookup_nik(dead, resident(62).nik, central_key=Ed25519PrivateKey.generate().public_key())
    finally:
        dead.close()
    assert got.state is LookupState.OFFLINE and not got.known


def test_an_answer_signed_by_another_key_is_not_trusted(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    stranger = Ed25519PrivateKey.generate().public_key()
    assert lookup_nik(st.client, resident(63).nik, central_key=stranger).state is LookupState.UNTRUSTED


def test_an_answer_for_another_station_or_nik_or_too_old_is_refused(central) -> None:  # type: ignore[no-untyped-def]
    nik = resident(64).nik
    answer = central.registry.nik_status("ST-A", nik)
    key = central.registry.keys.signing_public
    assert verify_answer(answer, key, station_id="ST-A", nik=nik).state is LookupState.NOT_RECORDED
    for kwargs in ({"station_id": "ST-B", "nik": nik}, {"station_id": "ST-A", "nik": resident(65).nik}):
        try:
            verify_answer(answer, key, **kwargs)
        except ValueError as exc:
            assert str(exc) == "addressed elsewhere"
        else:
            raise AssertionError("accepted an answer addressed elsewhere")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    try:
        verify_answer(answer, key, station_id="ST-A", nik=nik, now=later)
    except ValueError as exc:
        assert str(exc) == "stale"
    else:
        raise AssertionError("accepted a stale answer")
    forged = {**answer, "recorded": True}
    try:
        verify_answer(forged, key, station_id="ST-A", nik=nik)
    except ValueError as exc:
        assert str(exc) == "signature"
    else:
        raise AssertionError("accepted a changed answer")
