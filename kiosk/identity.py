"""The resident's identity record: the fields printed on an e-KTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from kiosk.i18n import station_today
from kiosk.nik import NikError, Sex, check_nik_matches, parse_nik

# Closed lists as printed on the card (Permendagri forms); the UI offers them as selects.
SEXES: tuple[str, ...] = ("M", "F")
BLOOD_TYPES: tuple[str, ...] = ("A", "B", "AB", "O", "-")
RELIGIONS: tuple[str, ...] = ("ISLAM", "KRISTEN", "KATOLIK", "HINDU", "BUDDHA", "KONGHUCU", "KEPERCAYAAN")
MARITAL: tuple[str, ...] = ("BELUM KAWIN", "KAWIN", "CERAI HIDUP", "CERAI MATI")
CITIZENSHIP: tuple[str, ...] = ("WNI", "WNA")


@dataclass(frozen=True)
class Identity:
    nik: str
    full_name: str
    birth_place: str
    birth_date: dt.date
    sex: Sex
    blood_type: str = "-"
    address: str = ""
    rt: str = ""
    rw: str = ""
    village: str = ""
    district: str = ""
    regency: str = ""
    province: str = ""
    religion: str = "ISLAM"
    marital_status: str = "BELUM KAWIN"
    occupation: str = ""
    citizenship: str = "WNI"

    REQUIRED = ("nik", "full_name", "birth_place", "address", "rt", "rw", "village", "occupation")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["birth_date"] = self.birth_date.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Identity":
        d = dict(d)
        d["birth_date"] = dt.date.fromisoformat(d["birth_date"])
        return cls(**d)

    def with_region_names(self) -> "Identity":
        """Fill province/regency/district from the NIK's region code."""
        p = parse_nik(self.nik)
        return dataclasses.replace(self, province=p.province, regency=p.regency, district=p.district)

    def problems(self, today: dt.date | None = None) -> list[tuple[str, str, dict[str, Any]]]:
        """Every field problem as (field, message code, params); empty when the record is valid.
        "Future" is after ``today``, the station's day by default (not the machine's: its zone is
        often UTC while the station is in WIB, WITA or WIT)."""
        today = today or station_today()
        out: list[tuple[str, str, dict[str, Any]]] = []
        try:
            check_nik_matches(parse_nik(self.nik, today=today), self.birth_date, self.sex)
        except NikError as exc:
            out.append(("nik", exc.code, exc.params))
        for name in self.REQUIRED:
            if not str(getattr(self, name)).strip():
                out.append((name, "identity.required", {"field": name}))
        for name, allowed in (("sex", SEXES), ("blood_type", BLOOD_TYPES), ("religion", RELIGIONS),
                              ("marital_status", MARITAL), ("citizenship", CITIZENSHIP)):
            if getattr(self, name) not in allowed:
                out.append((name, "identity.choice", {"field": name, "allowed": ", ".join(allowed)}))
        for name in ("rt", "rw"):
            value = getattr(self, name)
            if value and not (value.isdigit() and len(value) <= 3):
                out.append((name, "identity.rt_rw", {"field": name}))
        if self.birth_date > today:
            out.append(("birth_date", "identity.future_date", {}))
        return out
