"""Birth dates are checked against the station's day, not the machine's (issue: a WIB station on a
UTC machine refused a baby born "today" between local midnight and 07:00)."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator

import pytest

import kiosk.i18n
import kiosk.identity
import kiosk.nik
from kiosk.i18n import set_time_zone, station_zone
from kiosk.nik import make_nik, parse_nik
from tests.conftest import resident

#: 00:30 on 2 December in Jakarta (UTC+7) is still 1 December on a machine kept at UTC
NOW_UTC = dt.datetime(2026, 12, 1, 17, 30, tzinfo=dt.timezone.utc)
JAKARTA_DAY = dt.date(2026, 12, 2)


class MachineDate(dt.date):
    @classmethod
    def today(cls) -> "MachineDate":
        return cls(NOW_UTC.year, NOW_UTC.month, NOW_UTC.day)  # the machine's zone is UTC


class MachineDatetime(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> "MachineDatetime":  # type: ignore[override]
        when = NOW_UTC if tz is None else NOW_UTC.astimezone(tz)
        return cls.fromtimestamp(when.timestamp(), tz)


@pytest.fixture
def utc_machine_in_jakarta(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    clock = types.SimpleNamespace(date=MachineDate, datetime=MachineDatetime, timezone=dt.timezone,
                                  timedelta=dt.timedelta, tzinfo=dt.tzinfo)
    for module in (kiosk.nik, kiosk.identity, kiosk.i18n):
        monkeypatch.setattr(module, "dt", clock)
    previous = station_zone()
    set_time_zone("Asia/Jakarta")
    yield
    monkeypatch.setattr(kiosk.i18n, "_zone", previous)


def test_a_nik_born_today_in_jakarta_is_accepted_on_a_utc_machine(utc_machine_in_jakarta: None) -> None:
    nik = make_nik("320101", JAKARTA_DAY, "F", 7)
    assert parse_nik(nik).birth_date == JAKARTA_DAY


def test_a_nik_born_tomorrow_in_jakarta_is_still_refused(utc_machine_in_jakarta: None) -> None:
    from kiosk.nik import NikError

    with pytest.raises(NikError):
        parse_nik(make_nik("320101", JAKARTA_DAY + dt.timedelta(days=1), "F", 7))


def test_an_identity_born_today_in_jakarta_has_no_future_date_problem(utc_machine_in_jakarta: None) -> None:
    ident = resident(8, born=JAKARTA_DAY, sex="F")
    assert ident.problems() == []
