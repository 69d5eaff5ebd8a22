"""The resident's receipt: content (masked NIK, station, date, next steps), a PDF whose QR
code decodes back to the record reference (OpenCV's QRCodeDetector), printed through a REAL
cupsd (the fixture of test_cups.py), and the ``kiosk receipt`` command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config import PolicyConfig
from kiosk.errors import InputError
from kiosk.receipt.content import mask_nik, receipt_for
from kiosk.receipt.pdf import qr_png, render_pdf
from kiosk.receipt.printing import print_receipt
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from tests.conftest import resident
from tests.printer.test_cups import cupsd  # noqa: F401 - the real cupsd fixture

PAGE_TEXT = ("BUDI", "320101", "ST-01")


def decode_qr(image: np.ndarray) -> str:
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return text


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[RecordStore, str]:
    store = RecordStore(tmp_path / "st", policy=PolicyConfig(required_fingers=(), require_face=False,
                                                              require_signature=False))
    rec = store.create_draft(resident(7, full_name="BUDI SANTOSO"), actor="op")
    store.transition(rec.id, S.CAPTURED, actor="op")
    store.transition(rec.id, S.QUEUED, actor="op")
    yield store, rec.id
    store.close()


def test_the_nik_is_masked_but_district_and_serial_stay_readable() -> None:
    nik = resident(7).nik
    masked = mask_nik(nik)
    assert masked.startswith(nik[:6]) and masked.endswith(nik[-4:]) and nik[6:12] not in masked


def test_qr_code_decodes_back_to_the_record_reference() -> None:
    png = cv2.imdecode(np.frombuffer(qr_png("KTPEL-REC:1:ST-01:abc"), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert decode_qr(png) == "KTPEL-REC:1:ST-01:abc"


def test_receipt_pdf_carries_the_fields_and_a_readable_qr(recorded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, rid = recorded
    receipt = receipt_for(store, rid[:8], station_id="ST-01", station_name="Kantor Kecamatan Cibinong")
    assert receipt.reference.endswith(f":ST-01:{rid}") and receipt.full_name == "BUDI SANTOSO"
    pdf = render_pdf(receipt, "id")
    assert pdf.startswith(b"%PDF-")
    if not shutil.which("pdftoppm") or not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed: apt-get install poppler-utils")
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Tanda Terima Perekaman" in text and receipt.masked_nik in text and "BUDI SANTOSO" in text
    assert "Langkah selanjutnya" in text and "ST-01" in text
    assert resident(7).nik not in text  # the whole NIK never appears
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(tmp_path / "r.pdf"), str(tmp_path / "r")],
                   check=True)
    page = cv2.imread(str(tmp_path / "r.png"), cv2.IMREAD_GRAYSCALE)
    assert decode_qr(page) == receipt.reference


def test_a_record_still_being_captured_has_no_receipt(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "st", policy=PolicyConfig(required_fingers=()))
    try:
        rec = store.create_draft(resident(8), actor="op")
        with pytest.raises(InputError) as err:
            receipt_for(store, rec.id, station_id="ST-01", station_name="X")
        assert err.value.code == "receipt.not_recorded"
    finally:
        store.close()


def test_receipt_prints_through_cups(recorded, cupsd) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    store, rid = recorded
    out = Path(str(cupsd["out"]))
    # a PDF job may reach the file: device without a filter process, and then the (non-root)
    # scheduler opens the file itself; it may write an existing world-writable file but not
    # create one in the sticky folder ("could not open the output file" in error_log)
    out.touch()
    out.chmod(0o666)
    pdf = render_pdf(receipt_for(store, rid, station_id="ST-01", station_name="Kantor"), "en")
    job = print_receipt(pdf, queue="card", server=str(cupsd["server"]), job_timeout_s=30, poll_interval_s=0.1)
    assert job.startswith("cups:card-")
    if cupsd["pdf"]:
        assert b"%PDF-" in out.read_bytes()
