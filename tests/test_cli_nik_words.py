"""`kiosk nik` speaks the operator's language (issue 15 leftover): in Indonesian mode every label
comes from the Indonesian catalog, none is the former English key ("province_code")."""

from __future__ import annotations

from kiosk.i18n import catalog
from tests.conftest import resident, run_kiosk

NIK = resident(3).nik
#: what `kiosk nik` printed before its labels came from the catalogs
OLD_LABELS = ("province_code", "regency_code", "district_code", "birth_date", "sex ", "serial")


def labels(language: str) -> set[str]:
    return {v for k, v in catalog(language).items() if k.startswith(("nik.label.", "nik.sex."))}


def test_kiosk_nik_in_indonesian_has_no_english_label() -> None:
    proc = run_kiosk("--lang", "id", "nik", NIK)
    assert proc.returncode == 0, proc.stderr
    english = labels("en") - labels("id")  # "NIK" is the same word in both
    assert not [w for w in english if w in proc.stdout], proc.stdout
    assert not [w for w in OLD_LABELS if w in proc.stdout], proc.stdout
    lines = dict(line.split("  ", 1) for line in proc.stdout.splitlines())
    assert lines["Tanggal lahir"].strip() == "17-05-1990" and lines["Jenis kelamin"].strip() == "laki-laki"
    assert lines["Kecamatan"].strip() == "Cibinong"


def test_kiosk_nik_in_english_uses_the_english_labels() -> None:
    proc = run_kiosk("--lang", "en", "nik", NIK)
    assert proc.returncode == 0, proc.stderr
    assert "Date of birth" in proc.stdout and "male" in proc.stdout and "province_code" not in proc.stdout
