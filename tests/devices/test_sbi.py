"""SBI fingerprint driver against the SBI device service emulator, and the emulator against an
independent minimal client (plain httpx calls and cryptography checks written here)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from device_mocks.sbi import SbiDeviceService, synthetic_finger
from kiosk.config import load_config
from kiosk.devices.base import DeviceState
from kiosk.devices.errors import (
    CaptureCancelled,
    DeviceAbsent,
    DeviceBusy,
    DeviceError,
    DeviceFault,
    DeviceNotOpen,
    DeviceProtocolError,
    DeviceTimeout,
)
from kiosk.composition import device_set
from kiosk.devices.jws import b64url_decode
from kiosk.devices.sbi import SbiFingerprintDriver, chain_hash, sbi_error
from kiosk.devices.sbi_wire import FIRST_PREVIOUS_HASH, capture_request

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SbiDeviceService]:
    svc = SbiDeviceService(tmp_path / "sbi", seed=3)
    yield svc
    svc.close()


def make_driver(service: SbiDeviceService, **overrides: object) -> SbiFingerprintDriver:
    # pinned to this emulator's device: under pytest-xdist another worker's emulator may take over
    # the port of an unplugged one, and must then count as another device
    params = dict(trusted_cert=service.cert_path, port=service.port, request_timeout_s=2.0,
                  device_id=service.device_id)
    params.update(overrides)
    return SbiFingerprintDriver("finger-sbi", SbiFingerprintDriver.Params(**params))  # type: ignore[arg-type]


@pytest.fixture
def driver(service: SbiDeviceService) -> Iterator[SbiFingerprintDriver]:
    drv = make_driver(service)
    drv.open()
    yield drv
    drv.close()


def last_capture_body(service: SbiDeviceService) -> dict:
    return [body for verb, _, body in service.requests if verb == "RCAPTURE"][-1]


# -- contract points: open/close, info, status, self-test -----------------------------------------


def test_open_close_and_calls_out_of_state(service: SbiDeviceService) -> None:
    drv = make_driver(service)
    assert drv.status().state is DeviceState.CLOSED
    with drv:
        assert drv.is_open and drv.port == service.port and drv.device_id == service.device_id
    assert not drv.is_open
    assert drv.status().state is DeviceState.CLOSED
    with pytest.raises(DeviceNotOpen):
        drv.capture(2)
    with pytest.raises(DeviceNotOpen):
        drv.info()


def test_info_comes_from_the_signed_device_info(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    info = driver.info()
    assert (info.vendor, info.model, info.serial, info.firmware) == ("Kiosk Sim", "SLAP-4S", service.serial, "sim-1.4.2")
    assert info.extra["signed"] is True and info.extra["device_id"] == service.device_id


@pytest.mark.parametrize("fault, state, reason", [
    (None, DeviceState.READY, None),
    ("busy", DeviceState.BUSY, "device.busy"),
    ("not_ready", DeviceState.ERROR, "device.fault.sbi_not_ready"),
    ("not_registered", DeviceState.ERROR, "device.fault.sbi_not_registered"),
])
def test_status_follows_device_status(driver: SbiFingerprintDriver, service: SbiDeviceService, fault: str | None,
                                      state: DeviceState, reason: str | None) -> None:
    service.fault = fault
    st = driver.status()
    assert (st.state, st.reason) == (state, reason)


def test_self_test_passes_when_ready_and_fails_when_not(driver: SbiFingerprintDriver,
                                                        service: SbiDeviceService) -> None:
    assert driver.self_test().passed
    service.fault = "not_ready"
    result = driver.self_test()
    assert not result.passed
    assert ("sbi.device_status", False, "Not Ready") in result.checks


def test_info_of_unregistered_device_is_unsigned(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    service.fault = "not_registered"
    info = driver.info()
    assert info.extra["signed"] is False and info.serial == service.serial


# -- capture ---------------------------------------------------------------------------------------


def test_capture_decodes_the_iso_image_with_device_quality(driver: SbiFingerprintDriver) -> None:
    img = driver.capture(2, timeout_s=2)
    assert img.position == 2 and img.ppi == 500 and img.device_quality == 82.0
    assert img.pixels.dtype == np.uint8 and img.pixels.shape == (400, 320)
    # JPEG 2000 may be lossy: the decoded image must still be the emulator's finger, not noise
    expected = synthetic_finger(3 * 100 + 2).astype(np.int16)
    assert np.abs(img.pixels.astype(np.int16) - expected).mean() < 12
    assert img.metadata["iso_19794_4"][:8] == b"FIR\x00020\x00"
    assert img.metadata["compression"] == "jpeg2000"


def test_png_records_decode_losslessly(tmp_path: Path) -> None:
    svc = SbiDeviceService(tmp_path, seed=5, compression="png")
    try:
        with make_driver(svc) as drv:
            img = drv.capture(7)
        assert np.array_equal(img.pixels, synthetic_finger(5 * 100 + 7))
    finally:
        svc.close()


def test_capture_request_has_the_spec_shape(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    # The registration client's RCaptureRequestDTO / RCaptureRequestBioDTO (spec_0_9_5): every
    # field a string; a slap scanner is asked for the whole slap, count = 4 - exceptions, no bioSubType.
    driver.capture(3, timeout_s=4)
    body = last_capture_body(service)
    assert set(body) == {"env", "purpose", "specVersion", "timeout", "captureTime", "transactionId", "bio",
                         "customOpts"}
    assert body["purpose"] == "Registration" and body["timeout"] == "4000"
    (bio,) = body["bio"]
    assert bio == {"type": "Finger", "count": "4", "bioSubType": None, "exception": [],
                   "requestedScore": "40", "deviceId": service.device_id, "deviceSubId": "2",
                   "previousHash": FIRST_PREVIOUS_HASH}
    assert re.fullmatch(r"[A-Za-z0-9-]{4,50}", body["transactionId"])  # spec: 4-50 letters, digits, hyphens


def test_exceptions_and_requested_score_are_passed(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    images = driver.capture_fingers([7, 8, 9], exceptions=(10,), requested_score=60)
    assert [i.position for i in images] == [7, 8, 9]
    (bio,) = last_capture_body(service)["bio"]
    assert bio["count"] == "3" and bio["deviceSubId"] == "1"  # the left slap
    assert bio["bioSubType"] is None
    assert bio["exception"] == ["Left LittleFinger"] and bio["requestedScore"] == "60"


def test_hash_chain_links_captures_across_slaps(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    images = driver.capture_fingers([2, 3, 4, 5, 6, 1])  # right slap, then the thumbs
    bodies = [body for verb, _, body in service.requests if verb == "RCAPTURE"][-2:]
    assert bodies[0]["bio"][0]["previousHash"] == hashlib.sha256(b"").hexdigest().upper()
    assert bodies[1]["bio"][0]["previousHash"] == images[3].metadata["hash"]  # right little, last of its slap
    for before, after in zip(images[3:], images[4:]):  # left thumb, then right thumb (MockMDS's order)
        assert after.metadata["hash"] == chain_hash(before.metadata["hash"], after.metadata["iso_19794_4"])


def test_chain_hash_is_the_spec_formula() -> None:
    value = b"ISO record bytes"
    first = hashlib.sha256(hashlib.sha256(b"").digest() + hashlib.sha256(value).digest()).hexdigest().upper()
    assert chain_hash("", value) == first
    second = hashlib.sha256(bytes.fromhex(first) + hashlib.sha256(b"next").digest()).hexdigest().upper()
    assert chain_hash(first, b"next") == second


def test_no_finger_until_timeout_raises_no_finger(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    service.fault = "no_finger"
    with pytest.raises(DeviceFault) as err:
        driver.capture(2, timeout_s=0.2)
    assert err.value.reason == "no_finger" and err.value.device == "finger-sbi"


def test_silent_service_raises_timeout(service: SbiDeviceService) -> None:
    with make_driver(service, request_timeout_s=0.3) as drv:
        service.fault = "silence"
        with pytest.raises(DeviceTimeout):
            drv.capture(2, timeout_s=0.2)
        service.fault = None


def test_cancel_abandons_a_running_capture(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    service.fault = "no_finger"  # the emulated device waits out the timeout
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    with pytest.raises(CaptureCancelled):
        driver.capture(2, timeout_s=5, cancel=cancel)


@pytest.mark.parametrize("fault, error", [("busy", DeviceBusy), ("not_ready", DeviceFault),
                                          ("not_registered", DeviceFault)])
def test_device_not_ready_refuses_capture(driver: SbiFingerprintDriver, service: SbiDeviceService, fault: str,
                                          error: type) -> None:
    service.fault = fault
    with pytest.raises(error):
        driver.capture(2)


def test_capture_error_codes_map_to_typed_errors() -> None:
    assert isinstance(sbi_error("111", "busy", device="d"), DeviceBusy)
    assert isinstance(sbi_error("106", "not found", device="d"), DeviceAbsent)
    assert sbi_error("101", "no object", device="d").reason == "no_finger"  # type: ignore[attr-defined]
    assert sbi_error("110", "", device="d").reason == "sbi_not_ready"  # type: ignore[attr-defined]
    assert isinstance(sbi_error("502", "capture failed", device="d"), DeviceFault)
    assert isinstance(sbi_error("800", "bad json", device="d"), DeviceProtocolError)
    unknown = sbi_error("9999", "vendor specific", device="d")
    assert isinstance(unknown, DeviceFault) and unknown.params["sbi_code"] == "9999"


# -- security: signatures and hash chain --------------------------------------------------------------


@pytest.mark.parametrize("fault, code", [("bad_signature", "sbi.bad_signature"),
                                         ("untrusted", "sbi.untrusted_cert"),
                                         ("broken_hash", "sbi.hash_chain")])
def test_tampered_biometrics_are_refused(driver: SbiFingerprintDriver, service: SbiDeviceService, fault: str,
                                         code: str) -> None:
    service.fault = fault
    with pytest.raises(DeviceProtocolError) as err:
        driver.capture(2)
    assert err.value.code == code


def test_a_certificate_that_is_not_pinned_is_refused(service: SbiDeviceService, tmp_path: Path) -> None:
    other = SbiDeviceService(tmp_path / "other")
    try:
        with make_driver(service, trusted_cert=other.cert_path) as drv:
            with pytest.raises(DeviceProtocolError) as err:
                drv.capture(2)
            assert err.value.code == "sbi.untrusted_cert"
    finally:
        other.close()


def test_garbage_answer_is_a_protocol_error(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    service.fault = "garbage"
    with pytest.raises(DeviceProtocolError):
        driver.capture(2)


# -- discovery ----------------------------------------------------------------------------------------


class _NotSbi(http.server.BaseHTTPRequestHandler):
    """Some other program on a port of the range: answers every verb with an HTML 404."""

    def log_message(self, *args: object) -> None:
        pass

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(404)
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"not found")


def test_discovery_scans_the_port_range_past_other_programs(tmp_path: Path) -> None:
    # Two neighbouring ports of the SBI range, the stranger's and the device's: a wider range could
    # hold another SBI service (a simulated station's iris emulator started by a parallel test),
    # which answers "devices are not connected" for fingers: that, not "absent", is then reported.
    stranger, svc = None, None
    for port in range(4501, 4600):
        try:
            stranger = http.server.ThreadingHTTPServer(("127.0.0.1", port), _NotSbi)
        except OSError:
            continue
        try:
            svc = SbiDeviceService(tmp_path, port=port + 1)
            break
        except OSError:
            stranger.server_close()
            stranger = None
    assert stranger is not None and svc is not None
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    try:
        first, last = stranger.server_address[1], svc.port
        with make_driver(svc, port=0, port_first=first, port_last=last, device_id=svc.device_id) as drv:
            assert drv.port == svc.port
            assert drv.capture(2).position == 2
        with pytest.raises(DeviceAbsent) as err:
            make_driver(svc, port=0, port_first=first, port_last=last, device_id="no-such-device").open()
        assert err.value.params["ports"] == f"{first}-{last}"
    finally:
        stranger.shutdown()
        stranger.server_close()
        svc.close()


def test_discovery_without_device_id_picks_a_finger_device(service: SbiDeviceService) -> None:
    with make_driver(service, port=0, port_first=service.port, port_last=service.port, device_id="") as drv:
        assert drv.device_id == service.device_id


# -- unplug and reconnect ------------------------------------------------------------------------------


def test_unplug_raises_device_absent_naming_the_device_and_reopen_recovers(driver: SbiFingerprintDriver,
                                                                          service: SbiDeviceService) -> None:
    driver.capture(2)
    service.unplug()
    with pytest.raises(DeviceAbsent) as err:
        driver.capture(2)
    assert err.value.device == "finger-sbi"
    assert driver.status().state is DeviceState.ABSENT
    with pytest.raises(DeviceAbsent):
        driver.info()
    driver.close()
    with pytest.raises(DeviceAbsent):
        driver.open()
    service.plug()
    driver.open()
    assert driver.capture(4).position == 4


def test_open_when_service_is_gone_raises_absent(service: SbiDeviceService) -> None:
    service.unplug()
    with pytest.raises(DeviceAbsent):
        make_driver(service).open()


# -- live preview --------------------------------------------------------------------------------------


def test_stream_preview_yields_jpeg_frames(driver: SbiFingerprintDriver, service: SbiDeviceService) -> None:
    frames = list(driver.preview(2, frames=3, timeout_s=3))
    assert len(frames) == 3 and all(f.shape == (200, 160) for f in frames)
    body = [b for verb, _, b in service.requests if verb == "STREAM"][-1]
    assert body == {"deviceId": service.device_id, "deviceSubId": "2", "timeout": "3000"}  # StreamRequestDTO


# -- the emulator speaks the spec: an independent minimal client -----------------------------------------


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_jws(token: str, cert_pem: bytes) -> dict:
    """Verify an RS256 compact JWS with its x5c certificate, which must be the pinned one."""
    head, body, sig = token.split(".")
    header = json.loads(_b64url(head))
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert cert == x509.load_pem_x509_certificate(cert_pem)
    cert.public_key().verify(_b64url(sig), f"{head}.{body}".encode(), padding.PKCS1v15(),  # type: ignore[call-arg]
                             hashes.SHA256())
    return json.loads(_b64url(body))


def test_emulator_answers_the_spec_json_shapes(service: SbiDeviceService) -> None:
    pem = service.cert_path.read_bytes()
    with httpx.Client(base_url=service.url, timeout=5) as client:
        disc = client.request("MOSIPDISC", "/device", json={"type": "Biometric Device"}).json()
        (dev,) = disc
        assert {"deviceId", "deviceStatus", "certification", "serviceVersion", "deviceSubId", "callbackId",
                "digitalId", "deviceCode", "specVersion", "purpose", "error"} <= set(dev)
        assert dev["deviceStatus"] == "Ready" and dev["error"]["errorCode"] == "0"
        assert json.loads(_b64url(dev["digitalId"]))["type"] == "Finger"  # unsigned in discovery
        # no device of that type: MockMDS answers error 503 (reported by the driver, not dropped)
        (none,) = client.request("MOSIPDISC", "/device", json={"type": "Iris"}).json()
        assert none["error"]["errorCode"] == "503"

        (item,) = client.request("MOSIPDINFO", "/info").json()
        info = _check_jws(item["deviceInfo"], pem)
        assert info["deviceId"] == dev["deviceId"] and info["deviceStatus"] == "Ready"
        assert _check_jws(info["digitalId"], pem)["serialNo"] == service.serial

        # integers where api/sbi/common.yaml types the field as integer; requestedScore a string
        request = {"env": "Staging", "purpose": "Registration", "specVersion": "0.9.5", "timeout": 5000,
                   "captureTime": "2026-01-01T00:00:00Z", "transactionId": "txn-42",
                   "bio": [{"type": "Finger", "count": 3, "bioSubType": [], "exception": ["Right RingFinger"],
                            "requestedScore": "55", "deviceId": dev["deviceId"], "deviceSubId": 2,
                            "previousHash": ""}]}
        answer = client.request("RCAPTURE", "/capture", json=request).json()
    bios = answer["biometrics"]
    assert len(bios) == 3  # four fingers of the right slap minus the exception
    previous = hashlib.sha256(b"").digest()
    subtypes = []
    for bio in bios:
        assert set(bio) == {"specVersion", "data", "hash", "error"} and bio["error"]["errorCode"] == "0"
        data = _check_jws(bio["data"], pem)
        assert data["transactionId"] == "txn-42" and data["bioType"] == "Finger" and float(data["requestedScore"]) == 55
        record = _b64url(data["bioValue"])
        assert record[:8] == b"FIR\x00020\x00" and int.from_bytes(record[8:12], "big") == len(record)
        digest = hashlib.sha256(previous + hashlib.sha256(record).digest()).digest()
        assert bio["hash"] == digest.hex().upper()
        previous = digest
        subtypes.append(data["bioSubType"])
    assert subtypes == ["Right IndexFinger", "Right MiddleFinger", "Right LittleFinger"]


def test_emulator_runs_alone_and_prints_its_url(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "device_mocks.sbi", "--workdir", str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        cert_line = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:45") or url.startswith("http://127.0.0.1:46")
        assert Path(cert_line.removeprefix("cert: ")).exists()
        with httpx.Client(base_url=url, timeout=5) as client:
            assert client.request("MOSIPDISC", "/device", json={"type": "Finger"}).json()[0]["deviceStatus"] == "Ready"
            assert client.post("/mock/fault", json={"fault": "busy"}).status_code == 200
            assert client.request("MOSIPDISC", "/device", json={"type": "Finger"}).json()[0]["deviceStatus"] == "Busy"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- the simulated station: registry + mock ---------------------------------------------------------------


def test_station_config_starts_the_emulator_for_the_driver(tmp_path: Path) -> None:
    from tests.conftest import BASE_CONFIG

    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(BASE_CONFIG + '\n[devices.finger_sbi]\ndriver = "sbi"\nmock = "sbi"\nrequested_score = 50\n')
    cfg = load_config(cfg_file)
    with device_set(cfg) as devices:
        drv = devices.get("finger_sbi")
        assert isinstance(drv, SbiFingerprintDriver)
        with drv:
            assert drv.capture(1).position == 1


def test_capture_of_an_unknown_position_takes_the_finger_the_device_reports(driver: SbiFingerprintDriver,
                                                                           service: SbiDeviceService) -> None:
    img = driver.capture(0)  # a slap scanner: the left slap, its first finger
    assert img.position == 7 and img.metadata["bio_sub_type"] == "Left IndexFinger"
    assert last_capture_body(service)["bio"][0]["deviceSubId"] == "1"


def test_a_driver_without_a_pinned_certificate_refuses_to_open(service: SbiDeviceService) -> None:
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        make_driver(service, trusted_cert=None).open()
    assert err.value.params["key"] == "devices.finger-sbi.trusted_cert"


def test_self_test_checks_the_spec_version(service: SbiDeviceService) -> None:
    with make_driver(service, spec_version="9.9") as drv:
        result = drv.self_test()
    assert not result.passed and ("sbi.spec_version", False, "9.9 in ['0.9.5']") in result.checks


def test_self_test_details_read_in_the_station_language(service: SbiDeviceService) -> None:
    """The technician read "Ready" and "0.9.5 in ['0.9.5']" (a Python list) in Indonesian mode."""
    from kiosk.diagnostics.words import detail_words
    from kiosk.i18n import current_language, set_language

    service.fault = "not_ready"
    with make_driver(service, spec_version="9.9") as drv:
        result = drv.self_test()
    was = current_language()
    set_language("id")
    try:
        details = {name: detail_words(detail) for name, _, detail in result.checks}
    finally:
        set_language(was)
    assert details["sbi.device_status"] == "belum siap (SBI: Not Ready)"
    assert details["sbi.spec_version"] == "stasiun memakai 9.9; perangkat mendukung 0.9.5"
    assert details["sbi.discovered"].startswith(f"port {service.port}, perangkat ")


def test_unreadable_trusted_certificate_is_a_config_error(service: SbiDeviceService, tmp_path: Path) -> None:
    from kiosk.errors import ConfigError

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    for path in (tmp_path / "missing.pem", garbage):
        with pytest.raises(ConfigError) as err:
            make_driver(service, trusted_cert=path).open()
        assert str(path) in err.value.params["got"]


def test_bad_finger_requests_are_refused_before_the_wire(driver: SbiFingerprintDriver,
                                                         service: SbiDeviceService) -> None:
    sent = len(service.requests)
    for positions, exceptions in (([], ()), ([2, 2], ()), ([11], ()), ([2], (2,)), ([2], (0,))):
        with pytest.raises(ValueError):
            driver.capture_fingers(positions, exceptions=exceptions)
    assert len(service.requests) == sent


def test_last_exchange_shows_the_sbi_traffic(driver: SbiFingerprintDriver) -> None:
    driver.capture(2)
    dump = driver.last_exchange()
    assert " tx RCAPTURE :" in dump and " rx 200 " in dump  # text: SBI is HTTP and JSON


# -- robustness: whatever the service answers, only typed device errors ----------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                           max_size=3),
                           max_leaves=6)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SbiFingerprintDriver, dict, str]]:
    """A real capture answer and the (open) driver that asked for it."""
    svc = SbiDeviceService(tmp_path_factory.mktemp("sbi-fuzz"), seed=9, compression="png")
    drv = make_driver(svc)
    drv.open()
    txn = "fuzz-txn"
    body = capture_request(env="Staging", spec_version="0.9.5", timeout_ms=5000, capture_time="2026-01-01T00:00:00Z",
                           transaction_id=txn, bio_type="Finger", count=1, bio_sub_types=None,
                           exceptions=["Right MiddleFinger", "Right RingFinger", "Right LittleFinger"],
                           requested_score=40, device_id=drv.device_id, device_sub_id=2, previous_hash="")
    answer = httpx.request("RCAPTURE", f"{svc.url}/capture", json=body, timeout=10).json()
    yield drv, answer, txn
    drv.close()
    svc.close()


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from(["biometrics", 0, "data", "hash", "error", "errorCode", "specVersion"]),
                     min_size=1, max_size=3),
       value=json_values)
def test_mangled_capture_answers_raise_only_typed_errors(captured: tuple[SbiFingerprintDriver, dict, str],
                                                         path: list, value: object) -> None:
    drv, answer, txn = captured
    mangled = json.loads(json.dumps(answer))
    node = mangled
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    try:
        node[path[-1]] = value  # type: ignore[index]
    except (IndexError, TypeError):
        mangled = value
    try:
        (bio,) = drv._read_biometrics(mangled, {"Right IndexFinger"}, txn, "")
        image = drv._image(bio)
    except DeviceError:
        return
    assert image.position == 2  # survived mangling only where the answer stayed valid


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 10**6), st.integers(1, 255))
def test_flipped_bytes_in_the_signed_data_are_refused(captured: tuple[SbiFingerprintDriver, dict, str],
                                                      index: int, flip: int) -> None:
    drv, answer, txn = captured
    token = answer["biometrics"][0]["data"]
    i = index % len(token)
    mangled = json.loads(json.dumps(answer))
    mangled["biometrics"][0]["data"] = token[:i] + chr(ord(token[i]) ^ (flip & 0x1F) or 1) + token[i + 1:]
    try:
        drv._read_biometrics(mangled, {"Right IndexFinger"}, txn, "")
    except DeviceError:
        return
    # base64url can decode two texts to the same bytes (unused low bits of the last char): only then
    # may a changed token pass, and it must still be the device's own signed content
    head, payload, sig = mangled["biometrics"][0]["data"].split(".")
    assert (b64url_decode(head), b64url_decode(payload), b64url_decode(sig)) == tuple(
        b64url_decode(p) for p in token.split("."))


@pytest.fixture(scope="module")
def info_answer(captured: tuple[SbiFingerprintDriver, dict, str]) -> list:
    drv = captured[0]
    return httpx.request("MOSIPDINFO", f"http://127.0.0.1:{drv.port}/info", timeout=10).json()


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from([0, "deviceInfo", "error", "errorCode", "digitalId"]), min_size=1, max_size=3),
       value=json_values)
def test_mangled_device_info_raises_only_typed_errors(captured: tuple[SbiFingerprintDriver, dict, str],
                                                      info_answer: list, path: list, value: object) -> None:
    drv = captured[0]
    mangled = json.loads(json.dumps(info_answer))
    node = mangled
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    try:
        node[path[-1]] = value  # type: ignore[index]
    except (IndexError, TypeError):
        mangled = value
    try:
        info = drv._read_device_info(mangled)
    except DeviceError:
        return
    assert info.serial  # still the device's own (signed) identity


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None)
@given(json_values)
def test_any_discovery_answer_is_picked_or_skipped(entries: object) -> None:
    drv = SbiFingerprintDriver("d", SbiFingerprintDriver.Params())
    picked = drv._pick(entries if not isinstance(entries, dict) else [entries])
    assert picked is None or isinstance(picked.get("deviceId"), str)


def test_another_device_on_our_port_counts_as_ours_being_absent(driver: SbiFingerprintDriver,
                                                               service: SbiDeviceService, tmp_path: Path) -> None:
    port = service.port
    service.unplug()
    other = SbiDeviceService(tmp_path / "other", port=port)
    try:
        for call in (lambda: driver.capture(2), driver.info):
            with pytest.raises(DeviceAbsent) as err:
                call()
            assert err.value.params["device_id"] == service.device_id
        assert driver.status().state is DeviceState.ABSENT
    finally:
        other.close()


def test_the_protocol_log_shows_sbi_traffic_as_text(driver: SbiFingerprintDriver) -> None:
    """SBI is HTTP and JSON: the technician's log showed it as hex bytes (seen in tmux)."""
    driver.status()
    lines = driver.log.hexdump().splitlines()
    assert any(' tx MOSIPDISC :' in line and '/device {"type": "Finger"}' in line for line in lines), lines
    assert any(' rx 200 [{"deviceId": ' in line for line in lines), lines
