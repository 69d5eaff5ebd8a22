"""The station's own duplicate checks: the NIK's district against the station's, and the
new record's fingers against the station's recent records (kiosk.dedup.local)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kiosk.config import PolicyConfig
from kiosk.dedup.district import district_check
from kiosk.dedup.local import LocalMatcher
from kiosk.i18n import translate
from kiosk.nik import NikError
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.sync.synthetic import _put_samples
from tests.conftest import resident

PERSON = 8_200_000


def test_a_nik_from_the_station_district_gives_no_warning() -> None:
    check = district_check(resident(1, district="320101").nik, "320101")
    assert check.same_district and check.message() is None


def test_another_district_of_the_same_regency_and_another_regency_are_told_apart() -> None:
    near = district_check(resident(1, district="320102").nik, "320101")
    far = district_check(resident(1, district="327101").nik, "320101")
    assert near.message()[0] == "dedup.district.other_district"  # type: ignore[index]
    assert far.message()[0] == "dedup.district.other_regency"  # type: ignore[index]
    code, params = far.message()  # type: ignore[misc]
    for lang in ("id", "en"):
        line = translate(code, lang, **params)
        assert params["district"] in line and "{" not in line


def test_a_malformed_nik_is_refused_with_the_nik_rules() -> None:
    with pytest.raises(NikError):
        district_check("12345", "320101")


def _record(store: RecordStore, serial: int, person: int, impression: int = 0) -> str:
    rec = store.create_draft(resident(serial), actor="op")
    _put_samples(store, rec.id, PERSON + person, impression, "op")
    store.transition(rec.id, S.CAPTURED, actor="op")
    store.transition(rec.id, S.QUEUED, actor="op")
    return rec.id


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = RecordStore(tmp_path / "station", policy=PolicyConfig(required_fingers=(1, 6)))
    yield s
    s.close()


def test_the_same_fingers_under_another_nik_name_the_earlier_record(store: RecordStore, tmp_path: Path) -> None:
    first = _record(store, 1, person=1)
    other = _record(store, 2, person=2)
    again = _record(store, 3, person=1, impression=1)
    matcher = LocalMatcher(store, tmp_path / "station", window_days=90)
    try:
        matches = matcher.check(again)
        assert [m.record_id for m in matches] == [first]
        assert matches[0].score >= 150 and set(matches[0].fingers) <= {1, 6}
        assert matcher.check(other) == []
    finally:
        matcher.close()


def test_records_older_than_the_window_are_not_matched(store: RecordStore, tmp_path: Path) -> None:
    _record(store, 1, person=3)
    again = _record(store, 2, person=3, impression=1)
    matcher = LocalMatcher(store, tmp_path / "station", window_days=30)
    try:
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)
        assert matcher.check(again, now=later) == []
    finally:
        matcher.close()
