"""Conformance of the SBI driver and mock with the public references (issue 12, MOSIP SBI).

Fixtures: ``tests/fixtures/mosip_mockmds/*.iso`` are unmodified copies of the sample records
of MOSIP's reference device service (github.com/mosip/mosip-mock-services,
``MockMDS/Profile/Default/Registration/``, commit f88d19e9), used under the Mozilla Public
License 2.0 (see that folder's README). Request shapes follow mosip/registration-client
(spec_0_9_5 RCaptureRequestDTO / RCaptureRequestBioDTO / StreamRequestDTO); refusals follow
MockMDS's SBIServiceResponse.processRCaptureInfo and IntegerDeserializer.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.sbi import SbiDeviceService
from device_mocks.sbi_records import iso_finger_record
from kiosk.capture.iris import assess_iris, iris_sample
from kiosk.capture.slap import slap_plan
from kiosk.capture.storage import store_iris
from kiosk.central.packet import build_content, read_framed_content
from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceFault, DeviceProtocolError
from kiosk.devices.iso19794_4 import IsoRecordError, parse_record
from kiosk.devices.iso19794_6 import IrisRecordError, parse_iris_record
from kiosk.devices.sbi import SbiFingerprintDriver
from kiosk.devices.sbi_iris import SbiIrisDriver
from kiosk.devices.sbi_wire import FIRST_PREVIOUS_HASH, capture_request, sbi_error
from kiosk.store import RecordStore
from tests.conftest import resident

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mosip_mockmds"
LEFT_INDEX = (FIXTURES / "Left_Index.iso").read_bytes()
RIGHT_LITTLE = (FIXTURES / "Right_Little.iso").read_bytes()
LEFT_IRIS = (FIXTURES / "Left_Iris.iso").read_bytes()
RIGHT_IRIS = (FIXTURES / "Right_Iris.iso").read_bytes()


# -- ISO/IEC 19794-4 records as MockMDS sends them -------------------------------------------------------


def test_mockmds_finger_records_with_certification_and_extended_data_parse() -> None:
    (rep,) = parse_record(LEFT_INDEX).representations
    assert (rep.position, rep.quality, rep.ppi, rep.compression_name) == (7, 57, 500, "jpeg2000-lossless")
    assert rep.certifications == ((0x40, 2), (0x40, 2))
    assert [b.name for b in rep.extended_data] == ["segmentation", "annotation", "comment"]
    assert rep.comment == "This is of Finger (7)"
    assert rep.decode().shape == (rep.height, rep.width) == (448, 280)
    (little,) = parse_record(RIGHT_LITTLE).representations
    assert little.position == 5 and little.comment == "This is of Finger (5)"


def test_mock_finger_records_carry_what_mockmds_records_carry() -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (40, 30), dtype=np.uint8)
    (ours,) = parse_record(iso_finger_record(pixels, 7, 57, compression="png")).representations
    (theirs,) = parse_record(LEFT_INDEX).representations
    assert ours.certifications == theirs.certifications
    assert [(b.type, len(b.data)) for b in ours.extended_data] == [(b.type, len(b.data)) for b in theirs.extended_data]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 0xFFFF), st.binary(max_size=40)), max_size=5))
def test_any_extended_data_blocks_are_read_back(blocks: list[tuple[int, bytes]]) -> None:
    record = iso_finger_record(np.zeros((8, 8), np.uint8), 3, 50, compression="raw", extended=False)
    extra = b"".join(struct.pack(">HH", t, len(d) + 4) + d for t, d in blocks)
    rep_len = struct.unpack_from(">I", record, 16)[0] + len(extra)
    record = record[:8] + struct.pack(">I", len(record) + len(extra)) + record[12:16] + struct.pack(
        ">I", rep_len) + record[20:] + extra
    (rep,) = parse_record(record).representations
    assert [(b.type, b.data) for b in rep.extended_data] == blocks


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 400), st.integers(1, 255), st.booleans())
def test_corrupted_mockmds_finger_headers_give_only_record_errors(index: int, flip: int, truncate: bool) -> None:
    data = LEFT_INDEX[:index] if truncate else LEFT_INDEX[:index] + bytes([LEFT_INDEX[index] ^ flip]) + \
        LEFT_INDEX[index + 1:]
    try:
        for rep in parse_record(data).representations:
            assert rep.decode().shape == (rep.height, rep.width)
    except IsoRecordError:
        pass


# -- ISO/IEC 19794-6 iris records ---------------------------------------------------------------------------


def test_mockmds_iris_records_parse() -> None:
    (left,) = parse_iris_record(LEFT_IRIS).representations
    (right,) = parse_iris_record(RIGHT_IRIS).representations
    assert (left.eye_name, left.quality, left.format_name) == ("left", 96, "jpeg2000")
    assert (right.eye_name, right.quality) == ("right", 97)
    assert left.decode().shape == (313, 417) and right.decode().shape == (317, 423)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_random_iris_records_give_only_record_errors(data: bytes, certified: bool) -> None:
    record = struct.pack(">4s4sIHBB", b"IIR\x00", b"020\x00", 16 + len(data), 1, int(certified), 1) + data
    for candidate in (record, data):
        try:
            for rep in parse_iris_record(candidate).representations:
                rep.decode()
        except IrisRecordError:
            pass


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 120), st.integers(1, 255), st.booleans())
def test_corrupted_mockmds_iris_headers_give_only_record_errors(index: int, flip: int, truncate: bool) -> None:
    data = LEFT_IRIS[:index] if truncate else LEFT_IRIS[:index] + bytes([LEFT_IRIS[index] ^ flip]) + LEFT_IRIS[index + 1:]
    try:
        for rep in parse_iris_record(data).representations:
            assert rep.decode().shape == (rep.height, rep.width)
    except IrisRecordError:
        pass


# -- the mock refuses like MockMDS --------------------------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SbiDeviceService]:
    svc = SbiDeviceService(tmp_path / "sbi", seed=4, compression="png")
    yield svc
    svc.close()


def _body(service: SbiDeviceService, **changes: object) -> dict:
    body = capture_request(env="Staging", spec_version="0.9.5", timeout_ms=3000, capture_time="2026-01-01T00:00:00",
                           transaction_id="abc-123", bio_type="Finger", count=4, bio_sub_types=None, exceptions=[],
                           requested_score=40, device_id=service.device_id, device_sub_id=1, previous_hash="")
    for key, value in changes.items():
        target = body["bio"][0] if key in body["bio"][0] else body
        target[key] = value
    return body


def _code(service: SbiDeviceService, body: dict) -> str:
    answer = httpx.request("RCAPTURE", f"{service.url}/capture", json=body, timeout=10).json()
    return answer["biometrics"][0]["error"]["errorCode"]


@pytest.mark.parametrize("changes, code", [
    ({}, "0"),  # the registration client's shape: strings
    ({"count": 4, "timeout": 3000, "deviceSubId": 1}, "0"),  # integers where common.yaml says integer
    ({"requestedScore": 40}, "123"),  # a string in common.yaml: a number is refused (IntegerDeserializer)
    ({"count": None}, "123"), ({"timeout": ""}, "123"), ({"deviceSubId": "one"}, "123"),
    ({"env": "Test"}, "115"), ({"purpose": "Auth"}, "121"), ({"deviceId": ""}, "704"),
    ({"type": "Palm"}, "114"), ({"deviceId": "someone-else"}, "705"), ({"type": "Iris"}, "120"),
    ({"transactionId": "a!"}, "112"), ({"exception": ["Left Toe"]}, "122"),
    ({"count": "1"}, "109"),  # one finger on a slap sub-id: MockMDS wants count + exceptions = 4
    ({"count": "2", "deviceSubId": "3"}, "0"), ({"count": "3", "deviceSubId": "3"}, "109"),
])
def test_capture_requests_are_refused_as_mockmds_refuses_them(service: SbiDeviceService, changes: dict,
                                                              code: str) -> None:
    assert _code(service, _body(service, **changes)) == code


def test_a_second_capture_while_one_runs_is_703(service: SbiDeviceService) -> None:
    service.fault = "no_finger"
    first = threading.Thread(target=_code, args=(service, _body(service, timeout="1500")))
    first.start()
    try:
        deadline = 50
        while service._capturing.acquire(blocking=False):  # wait for the first to hold the device
            service._capturing.release()
            deadline -= 1
            assert deadline > 0
            threading.Event().wait(0.02)
        assert _code(service, _body(service)) == "703"
    finally:
        first.join()
    assert _code(service, _body(service, timeout="100")) == "701"


# -- the driver: slaps, strings, codes ------------------------------------------------------------------


def _driver(service: SbiDeviceService, cls: type = SbiFingerprintDriver, **extra: object):  # type: ignore[no-untyped-def]
    return cls("dev", cls.Params(trusted_cert=service.cert_path, port=service.port, request_timeout_s=2.0,
                                 device_id=service.device_id, **extra))


def test_slap_capture_answers_every_finger_of_the_slap(service: SbiDeviceService) -> None:
    with _driver(service) as drv:
        assert drv.supports_slap
        images = drv.capture_slap(1, (10,), timeout_s=3)
    assert [i.position for i in images] == [7, 8, 9]
    (bio,) = [b for v, _, b in service.requests if v == "RCAPTURE"][-1]["bio"]
    assert (bio["count"], bio["bioSubType"], bio["exception"], bio["deviceSubId"]) == (
        "3", None, ["Left LittleFinger"], "1")
    assert bio["previousHash"] == FIRST_PREVIOUS_HASH


def test_single_finger_sensor_is_asked_one_named_finger(tmp_path: Path) -> None:
    svc = SbiDeviceService(tmp_path, finger_mode="single", compression="png")
    try:
        with _driver(svc) as drv:
            assert not drv.supports_slap
            assert drv.capture(8, timeout_s=3).position == 8
            with pytest.raises(DeviceFault) as err:
                drv.capture_slap(1)
            assert err.value.reason == "slap_unsupported"
        (bio,) = [b for v, _, b in svc.requests if v == "RCAPTURE"][-1]["bio"]
        assert (bio["count"], bio["bioSubType"], bio["deviceSubId"]) == ("1", ["Left MiddleFinger"], "0")
    finally:
        svc.close()


def test_discovery_error_entries_are_reported_not_dropped(tmp_path: Path) -> None:
    iris_only = SbiDeviceService(tmp_path, bio_type="Iris")
    try:
        drv = SbiFingerprintDriver("finger", SbiFingerprintDriver.Params(trusted_cert=iris_only.cert_path,
                                                                         port=iris_only.port))
        with pytest.raises(DeviceFault) as err:
            drv.open()
        assert err.value.params["sbi_code"] == "503" and "not Connected" in err.value.params["sbi_info"]
    finally:
        iris_only.close()


@pytest.mark.parametrize("code, kind, detail", [
    ("112", DeviceProtocolError, "sbi.invalid_transaction"), ("123", DeviceProtocolError, "sbi.request_refused"),
    ("115", DeviceProtocolError, "sbi.request_refused"), ("501", DeviceFault, "device.fault.sbi_vendor_error"),
    ("599", DeviceFault, "device.fault.sbi_vendor_error"), ("701", DeviceFault, "device.fault.no_finger"),
    ("703", DeviceBusy, "device.busy"), ("705", DeviceAbsent, "device.absent"),
    ("708", DeviceFault, "device.fault.sbi_no_biometric"), ("109", DeviceFault, "device.fault.sbi_count_unsupported"),
])
def test_error_codes_of_the_spec_and_of_mockmds_are_typed(code: str, kind: type, detail: str) -> None:
    err = sbi_error(code, "info", device="d")
    assert isinstance(err, kind) and err.code == detail


def test_iris_timeout_is_no_iris() -> None:
    assert sbi_error("701", "", device="d", bio_type="Iris").code == "device.fault.no_iris"


def test_stream_reads_mockmds_boundary_lines(service: SbiDeviceService) -> None:
    with _driver(service) as drv:
        frames = list(drv.preview(7, frames=2, timeout_s=3))
    assert len(frames) == 2 and frames[0].shape == (200, 160)


def test_slap_plan_is_4_4_2_minus_exceptions() -> None:
    assert slap_plan(range(1, 11)) == [(1, ()), (2, ()), (3, ())]
    assert slap_plan(range(1, 11), exceptions=(10, 1)) == [(1, (10,)), (2, ()), (3, (1,))]
    assert slap_plan([2, 7]) == [(1, (8, 9, 10)), (2, (3, 4, 5))]


# -- iris end to end: device, threshold, record, packet ------------------------------------------------------


def test_iris_capture_checks_each_eye_and_lands_in_the_packet(tmp_path: Path, store: RecordStore) -> None:
    svc = SbiDeviceService(tmp_path / "iris", bio_type="Iris", compression="png", quality=88)
    svc.quality_of["Left"] = 35
    try:
        with _driver(svc, SbiIrisDriver) as drv:
            right, left = drv.capture_irises(timeout_s=3)
    finally:
        svc.close()
    (bio,) = [b for v, _, b in svc.requests if v == "RCAPTURE"][-1]["bio"]
    assert (bio["type"], bio["count"], bio["deviceSubId"], bio["exception"]) == ("Iris", "2", "3", [])
    assert (right.eye, left.eye) == (1, 2) and right.pixels.shape == (480, 640)
    assert assess_iris(right).passed and not assess_iris(left).passed
    assert assess_iris(left, min_quality=30).passed  # a device's own min_quality wins
    rec = store.create_draft(resident(), actor="op")
    for eye in (right, left):
        store_iris(store, rec.id, iris_sample(eye, assess_iris(eye)), actor="op")
    content = read_framed_content(build_content(store, rec.id, "SIM-1"))
    irises = [s for s in content["samples"] if s["kind"] == "iris"]
    assert [s["position"] for s in irises] == [1, 2]
    assert [s["data"] for s in irises] == [store.sample_data(rec.id, "iris", 1), store.sample_data(rec.id, "iris", 2)]
    assert parse_iris_record(store.sample_data(rec.id, "iris", 2)).representations[0].eye_name == "left"
