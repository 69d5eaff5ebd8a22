"""MOSIP SBI (Secure Biometric Interface, formerly MDS) fingerprint client.

An SBI-certified scanner runs a *device service* on the station that listens on one port of
127.0.0.1:4501-4600 and answers custom HTTP verbs with JSON:

- ``MOSIPDISC /device``  discovery: ``{"type": "Finger"}`` -> ``[{deviceId, deviceStatus,
  deviceSubId, digitalId (unsigned base64url JSON), specVersion, purpose, error}, ...]``
- ``MOSIPDINFO /info``   device info: ``[{deviceInfo: JWS, error}]``; the JWS payload holds
  ``deviceStatus``, ``firmware``, ``serviceVersion`` and a signed ``digitalId`` (make, model, serialNo)
- ``RCAPTURE /capture``  registration capture (request below) -> ``{"biometrics": [{specVersion,
  data: JWS, hash, error: {errorCode, errorInfo}}]}``; the ``data`` payload holds ``bioSubType``,
  ``bioValue`` (base64url ISO/IEC 19794-4:2011 record), ``qualityScore``, ``transactionId``...
- ``STREAM /stream``     live preview as ``multipart/x-mixed-replace`` JPEG frames

Every signed field is a compact JWS whose header carries the device certificate (``x5c``); the
driver accepts it only if that certificate is pinned in ``trusted_cert`` or issued by a CA pinned
there. Each biometric carries ``hash = HEX(SHA256(prev + SHA256(bioValue bytes)))`` where
``prev`` is the previous biometric's hash decoded from hex, or SHA256 of the empty string for the
first one (the request's ``previousHash`` when chaining captures), as the SBI specification and
MOSIP's reference device service (mosip-mock-sbi) compute it.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import httpx
import numpy as np

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult
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
from kiosk.devices.iso19794_4 import IsoRecordError, parse_record
from kiosk.devices.jws import JwsError, b64url_decode, decode_unverified, load_trusted, verify
from kiosk.devices.protocols import FingerImage, FingerprintScanner
from kiosk.errors import ConfigError

#: ISO/ANSI finger position -> SBI bioSubType name
FINGER_SUBTYPES: dict[int, str] = {
    0: "UNKNOWN",
    1: "Right Thumb", 2: "Right IndexFinger", 3: "Right MiddleFinger", 4: "Right RingFinger",
    5: "Right LittleFinger",
    6: "Left Thumb", 7: "Left IndexFinger", 8: "Left MiddleFinger", 9: "Left RingFinger",
    10: "Left LittleFinger",
}
SUBTYPE_POSITIONS: dict[str, int] = {name: pos for pos, name in FINGER_SUBTYPES.items()}

#: slap scanners' deviceSubId: 1 left slap, 2 right slap, 3 two thumbs (SBI spec)
SLAP_SUB_ID: dict[int, int] = {1: 3, 6: 3, 2: 2, 3: 2, 4: 2, 5: 2, 7: 1, 8: 1, 9: 1, 10: 1}

#: deviceStatus value -> station state and reason code
STATUS_MAP: dict[str, tuple[DeviceState, str | None]] = {
    "Ready": (DeviceState.READY, None),
    "Busy": (DeviceState.BUSY, "device.busy"),
    "Not Ready": (DeviceState.ERROR, "device.fault.sbi_not_ready"),
    "Not Registered": (DeviceState.ERROR, "device.fault.sbi_not_registered"),
}

#: SBI errorCode -> DeviceFault reason. 100-111 are the SBI specification's device errors;
#: 501-504 are those of MOSIP's reference device service (mosip-mock-sbi DeviceErrorCodes).
ERROR_REASONS: dict[str, str] = {
    "100": "sbi_not_registered",
    "101": "no_finger",  # unable to detect a biometric object
    "102": "sbi_extraction_failed",
    "103": "sbi_tampered",
    "104": "sbi_management_server",
    "105": "sbi_orientation",
    "107": "sbi_key_expired",
    "108": "sbi_domain_key_missing",
    "109": "sbi_count_unsupported",
    "110": "sbi_not_ready",
    "501": "no_finger",  # capture timeout
    "502": "sbi_capture_failed",
    "503": "sbi_keys_missing",
    "504": "sbi_invalid_certificate",
}


def chain_hash(previous_hash: str, bio_value: bytes) -> str:
    """The SBI hash of one biometric: HEX(SHA256(prev || SHA256(bioValue))), upper case."""
    prev = hashlib.sha256(b"").digest() if not previous_hash.strip() else bytes.fromhex(previous_hash)
    return hashlib.sha256(prev + hashlib.sha256(bio_value).digest()).hexdigest().upper()


def sbi_error(code: str, info: str, *, device: str) -> DeviceError:
    """The typed error for an SBI ``errorCode`` (never called with "0")."""
    if code == "111":
        return DeviceBusy(device=device, sbi_code=code, sbi_info=info)
    if code == "106":
        return DeviceAbsent(device=device, sbi_code=code, sbi_info=info)
    reason = ERROR_REASONS.get(code)
    if reason is not None:
        return DeviceFault(reason, device=device, sbi_code=code, sbi_info=info)
    if code.startswith(("5", "8")) and len(code) == 3:
        # 5xx/8xx in the spec: the service refused our request's JSON
        return DeviceProtocolError("sbi.request_refused", device=device, sbi_code=code, sbi_info=info)
    return DeviceFault("sbi_error", device=device, sbi_code=code, sbi_info=info)


def _digital_id(value: Any) -> dict[str, Any]:
    """The JSON object in a base64url text or in a JWS payload, read WITHOUT verification
    (discovery's unsigned digitalId, or to pick an entry before verifying it)."""
    if not isinstance(value, str) or not value:
        return {}
    try:
        if value.count(".") == 2:
            payload = decode_unverified(value)[1]
        else:
            payload = b64url_decode(value)
        out = json.loads(payload)
    except (JwsError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


class SbiFingerprintDriver(FingerprintScanner):
    """Registration-capture client of an SBI 1.0/2.0 (spec 0.9.5) fingerprint device service."""

    @dataclass(frozen=True)
    class Params:
        #: PEM file of device certificates or device-provider CAs whose signatures are accepted
        trusted_cert: Path | None = None
        host: str = "127.0.0.1"
        #: the service's port; 0 scans port_first..port_last (MOSIPDISC on each)
        port: int = 0
        port_first: int = 4501
        port_last: int = 4600
        #: deviceId to use; empty picks the first device that captures fingers
        device_id: str = ""
        #: SBI env of the request: "Staging", "Developer", "Pre-Production" or "Production"
        env: str = "Staging"
        spec_version: str = "0.9.5"
        #: quality score (0..100) the device should reach before it answers
        requested_score: int = 40
        #: seconds for calls other than capture, and added to a capture's own timeout
        request_timeout_s: float = 3.0
        #: seconds each port of the scan may take to answer discovery
        discovery_timeout_s: float = 0.3

    kind: ClassVar[str] = "fingerprint"

    def __init__(self, name: str, params: Params) -> None:
        super().__init__(name, params)
        self.params: SbiFingerprintDriver.Params = params
        self._client: httpx.Client | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._trusted: tuple[Any, ...] = ()
        self._port = 0
        self._device: dict[str, Any] = {}
        self._capture_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------
    def _do_open(self) -> None:
        path = self.params.trusted_cert
        try:
            self._trusted = load_trusted(path)
        except OSError:
            raise ConfigError(file="config.toml", key=f"devices.{self.name}.trusted_cert",
                              expected="a readable PEM file", got=str(path)) from None
        except ValueError as exc:
            raise ConfigError(file="config.toml", key=f"devices.{self.name}.trusted_cert",
                              expected="PEM certificates", got=f"{path}: {str(exc)[:60]}") from None
        if not self._trusted:
            # without a pinned certificate no signature can be trusted: refuse to start, loudly
            raise ConfigError("config.missing_key", file="config.toml", key=f"devices.{self.name}.trusted_cert",
                              expected="a PEM file of the device's or its provider's certificate")
        self._client = httpx.Client(headers={"Content-Type": "application/json"})
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"sbi-{self.name}")
        try:
            self._port, self._device = self._discover()
        except BaseException:
            self._do_close()
            raise

    def _do_close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        self._device = {}
        self._port = 0

    @property
    def port(self) -> int:
        """The port of the device service in use (after open)."""
        return self._port

    @property
    def device_id(self) -> str:
        return str(self._device.get("deviceId", ""))

    # -- wire -------------------------------------------------------------------------------
    def _request(self, verb: str, path: str, body: dict[str, Any], *, port: int, timeout: float) -> Any:
        if self._client is None:
            raise DeviceNotOpen(device=self.name)
        data = json.dumps(body).encode()
        self.log.record("tx", f"{verb} :{port}{path} ".encode() + data)
        try:
            resp = self._client.request(verb, f"http://{self.params.host}:{port}{path}", content=data,
                                        timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)))
        except httpx.ConnectError:
            raise DeviceAbsent(device=self.name, port=port) from None
        except httpx.TimeoutException:
            raise DeviceTimeout(device=self.name, port=port, verb=verb, waited_s=round(timeout, 1)) from None
        except httpx.TransportError:
            # the service vanished mid-answer (closed connection): the device was unplugged
            raise DeviceAbsent(device=self.name, port=port) from None
        self.log.record("rx", f"{resp.status_code} ".encode() + resp.content)
        if resp.status_code != 200:
            raise DeviceProtocolError("sbi.http_status", device=self.name, verb=verb, status=resp.status_code)
        try:
            return resp.json()
        except ValueError:
            raise DeviceProtocolError("sbi.not_json", device=self.name, verb=verb) from None

    def _discover(self) -> tuple[int, dict[str, Any]]:
        p = self.params
        single = p.port != 0
        ports = [p.port] if single else list(range(p.port_first, p.port_last + 1))
        for port in ports:
            try:
                entries = self._request("MOSIPDISC", "/device", {"type": "Finger"}, port=port,
                                        timeout=p.request_timeout_s if single else p.discovery_timeout_s)
            except DeviceAbsent:
                continue
            except (DeviceTimeout, DeviceProtocolError):
                if single:
                    raise
                continue  # another program on that port: keep scanning
            entry = self._pick(entries)
            if entry is not None:
                return port, entry
        where = str(p.port) if single else f"{p.port_first}-{p.port_last}"
        raise DeviceAbsent(device=self.name, ports=where)

    def _pick(self, entries: Any) -> dict[str, Any] | None:
        if not isinstance(entries, list):
            return None
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("deviceId"), str):
                continue
            if self.params.device_id:
                if entry["deviceId"] == self.params.device_id:
                    return entry
            elif _digital_id(entry.get("digitalId")).get("type") == "Finger":
                return entry
        return None

    def _discovery_entry(self) -> dict[str, Any]:
        """Our device's current discovery entry (re-read: deviceStatus changes)."""
        self.require_open()
        entries = self._request("MOSIPDISC", "/device", {"type": "Finger"}, port=self._port,
                                timeout=self.params.request_timeout_s)
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and entry.get("deviceId") == self.device_id:
                    return entry
        raise DeviceAbsent(device=self.name, port=self._port, device_id=self.device_id)

    def _verify(self, token: Any, what: str) -> dict[str, Any]:
        if not isinstance(token, str):
            raise DeviceProtocolError("sbi.malformed", device=self.name, field=what)
        try:
            payload = verify(token, self._trusted).json()
        except JwsError as exc:
            if exc.reason == "untrusted":
                raise DeviceProtocolError("sbi.untrusted_cert", device=self.name, field=what,
                                          subject=exc.detail) from None
            if exc.reason == "bad_signature":
                raise DeviceProtocolError("sbi.bad_signature", device=self.name, field=what) from None
            raise DeviceProtocolError("sbi.malformed", device=self.name, field=what, detail=str(exc)) from None
        if not isinstance(payload, dict):
            raise DeviceProtocolError("sbi.malformed", device=self.name, field=what)
        return payload

    # -- what every device tells -------------------------------------------------------------
    def info(self) -> DeviceInfo:
        self.require_open()
        answer = self._request("MOSIPDINFO", "/info", {}, port=self._port, timeout=self.params.request_timeout_s)
        return self._read_device_info(answer)

    def _read_device_info(self, answer: Any) -> DeviceInfo:
        if not isinstance(answer, list):
            raise DeviceProtocolError("sbi.malformed", device=self.name, field="deviceInfo")
        for item in answer:
            if not isinstance(item, dict):
                continue
            err = item.get("error")
            err = err if isinstance(err, dict) else {}
            token = item.get("deviceInfo")
            if not isinstance(token, str) or not token:
                code = str(err.get("errorCode", ""))
                if code and code != "0":
                    raise sbi_error(code, str(err.get("errorInfo", "")), device=self.name)
                continue
            # pick our device's entry by its (unverified) deviceId, then verify that one
            if _digital_id(token).get("deviceId") != self.device_id:
                continue
            if token.count(".") == 2:
                info, signed = self._verify(token, "deviceInfo"), True
            else:  # a "Not Registered" device sends its info unsigned (base64url JSON)
                info, signed = _digital_id(token), False
            digital = (self._verify(info.get("digitalId"), "digitalId") if signed
                       else _digital_id(info.get("digitalId")))
            return DeviceInfo(
                vendor=str(digital.get("make") or digital.get("deviceProvider", "")),
                model=str(digital.get("model", "")),
                serial=str(digital.get("serialNo", "")),
                firmware=str(info.get("firmware", "")),
                extra={"port": self._port, "device_id": self.device_id, "signed": signed,
                       "device_status": info.get("deviceStatus"), "service_version": info.get("serviceVersion"),
                       "spec_version": info.get("specVersion"), "certification": info.get("certification"),
                       "device_sub_ids": info.get("deviceSubId"), "provider": digital.get("deviceProvider")},
            )
        # the service answers, but not for our device: it was unplugged (another may hold the port)
        raise DeviceAbsent(device=self.name, port=self._port, device_id=self.device_id)

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        try:
            entry = self._discovery_entry()
        except DeviceAbsent:
            return DeviceStatus(DeviceState.ABSENT, "device.absent", {"device": self.name})
        except DeviceError as exc:
            return DeviceStatus(DeviceState.ERROR, exc.code, dict(exc.params))
        state, reason = STATUS_MAP.get(str(entry.get("deviceStatus")),
                                       (DeviceState.ERROR, "device.fault.sbi_error"))
        return DeviceStatus(state, reason, {"device": self.name, "device_status": entry.get("deviceStatus")})

    def self_test(self) -> SelfTestResult:
        self.require_open()
        checks: list[tuple[str, bool, str]] = [("sbi.discovered", True, f"port {self._port} {self.device_id}")]
        st = self.status()
        checks.append(("sbi.device_status", st.state is DeviceState.READY, str(st.params.get("device_status"))))
        offered = self._device.get("specVersion")
        offered = offered if isinstance(offered, list) else []
        checks.append(("sbi.spec_version", self.params.spec_version in offered,
                       f"{self.params.spec_version} in {offered}"))
        try:
            info = self.info()
            checks.append(("sbi.device_info_signed", bool(info.extra["signed"]), f"{info.vendor} {info.model}"))
        except DeviceError as exc:
            checks.append(("sbi.device_info_signed", False, exc.code))
        return SelfTestResult(all(ok for _, ok, _ in checks), tuple(checks))

    # -- capture ----------------------------------------------------------------------------
    def capture(self, position: int = 0, *, timeout_s: float = 10.0,
                cancel: threading.Event | None = None) -> FingerImage:
        return self.capture_fingers([position], timeout_s=timeout_s, cancel=cancel)[0]

    def _sub_id(self, position: int) -> int:
        listed = self._device.get("deviceSubId")
        offered = [int(s) for s in listed if str(s).isdecimal()] if isinstance(listed, list) else []
        wanted = SLAP_SUB_ID.get(position)
        if wanted is not None and wanted in offered:
            return wanted
        return offered[0] if offered else 0

    def capture_fingers(self, positions: list[int], *, exceptions: tuple[int, ...] = (),
                        requested_score: int | None = None, timeout_s: float = 10.0,
                        cancel: threading.Event | None = None) -> list[FingerImage]:
        """Registration capture of ``positions`` (a slap at once where the device allows it).

        ``exceptions`` are fingers the resident does not have (amputated, bandaged): the device
        is told not to wait for them. Positions on different deviceSubIds (left slap, right
        slap, thumbs) are captured one after the other, their hashes chained.
        """
        self.require_open()
        known = [p for p in positions if p != 0]
        if not positions or len(set(known)) != len(known) or any(p not in FINGER_SUBTYPES for p in positions) or any(
                e not in FINGER_SUBTYPES or e == 0 or e in positions for e in exceptions):
            raise ValueError(f"bad finger positions {positions} / exceptions {exceptions}")
        if not self._capture_lock.acquire(blocking=False):
            raise DeviceBusy(device=self.name)
        try:
            entry = self._discovery_entry()
            status = str(entry.get("deviceStatus"))
            if status == "Busy":
                raise DeviceBusy(device=self.name, device_status=status)
            if status != "Ready":
                raise DeviceFault("sbi_not_registered" if status == "Not Registered" else "sbi_not_ready",
                                  device=self.name, device_status=status)
            groups: dict[int, list[int]] = {}
            for pos in positions:
                groups.setdefault(self._sub_id(pos), []).append(pos)
            images: list[FingerImage] = []
            previous = ""
            for sub_id, group in groups.items():
                excluded = [e for e in exceptions if self._sub_id(e) == sub_id]
                got, previous = self._rcapture(sub_id, group, excluded, requested_score, previous, timeout_s, cancel)
                images.extend(got)
            # A position 0 (UNKNOWN) request gets whichever finger the device reports.
            by_position = {img.position: img for img in images}
            unasked = [img for img in images if img.position not in positions]
            return [by_position[p] if p in by_position and p != 0 else unasked.pop(0) for p in positions]
        finally:
            self._capture_lock.release()

    def capture_request(self, sub_id: int, positions: list[int], exceptions: list[int], requested_score: int | None,
                        previous_hash: str, timeout_s: float, transaction_id: str) -> dict[str, Any]:
        """The RCAPTURE request body exactly as the SBI specification shapes it."""
        return {
            "env": self.params.env,
            "purpose": "Registration",
            "specVersion": self.params.spec_version,
            "timeout": int(timeout_s * 1000),
            "captureTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "transactionId": transaction_id,
            "bio": [{
                "type": "Finger",
                "count": len(positions),
                "bioSubType": [FINGER_SUBTYPES[p] for p in positions],
                "exception": [FINGER_SUBTYPES[e] for e in exceptions],
                "requestedScore": self.params.requested_score if requested_score is None else requested_score,
                "deviceId": self.device_id,
                "deviceSubId": sub_id,
                "previousHash": previous_hash,
            }],
            "customOpts": None,
        }

    def _rcapture(self, sub_id: int, positions: list[int], exceptions: list[int], requested_score: int | None,
                  previous_hash: str, timeout_s: float,
                  cancel: threading.Event | None) -> tuple[list[FingerImage], str]:
        txn = uuid.uuid4().hex
        body = self.capture_request(sub_id, positions, exceptions, requested_score, previous_hash, timeout_s, txn)
        assert self._pool is not None
        future = self._pool.submit(self._request, "RCAPTURE", "/capture", body, port=self._port,
                                   timeout=timeout_s + self.params.request_timeout_s)
        # The SBI has no cancel verb: an abandoned capture runs out on the device's own timeout.
        while True:
            try:
                answer = future.result(timeout=0.05)
                break
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    raise CaptureCancelled(device=self.name) from None
        return self._read_biometrics(answer, positions, txn, previous_hash)

    def _read_biometrics(self, answer: Any, positions: list[int], txn: str,
                         previous_hash: str) -> tuple[list[FingerImage], str]:
        if not isinstance(answer, dict):
            raise DeviceProtocolError("sbi.malformed", device=self.name, field="capture response")
        bios = answer.get("biometrics")
        if not isinstance(bios, list) or not bios:
            err = answer.get("error") or {}
            if isinstance(err, dict) and str(err.get("errorCode", "0")) != "0":
                raise sbi_error(str(err["errorCode"]), str(err.get("errorInfo", "")), device=self.name)
            raise DeviceProtocolError("sbi.malformed", device=self.name, field="biometrics")
        wanted = {FINGER_SUBTYPES[p] for p in positions}
        images: list[FingerImage] = []
        previous = previous_hash
        for bio in bios:
            if not isinstance(bio, dict):
                raise DeviceProtocolError("sbi.malformed", device=self.name, field="biometric")
            err = bio.get("error") or {}
            code = str(err.get("errorCode", "0")) if isinstance(err, dict) else "0"
            if code != "0":
                raise sbi_error(code, str(err.get("errorInfo", "")), device=self.name)
            data = self._verify(bio.get("data"), "data")
            if data.get("transactionId") != txn:
                raise DeviceProtocolError("sbi.wrong_transaction", device=self.name, expected=txn,
                                          got=str(data.get("transactionId")))
            subtype = data.get("bioSubType")
            if data.get("bioType") != "Finger" or subtype not in (
                    SUBTYPE_POSITIONS if "UNKNOWN" in wanted else wanted):
                raise DeviceProtocolError("sbi.unexpected_biometric", device=self.name,
                                          bio_type=str(data.get("bioType")), bio_sub_type=str(subtype))
            try:
                bio_value = b64url_decode(str(data.get("bioValue", "")))
            except JwsError:
                raise DeviceProtocolError("sbi.malformed", device=self.name, field="bioValue") from None
            expected = chain_hash(previous, bio_value)
            if str(bio.get("hash", "")).upper() != expected:
                raise DeviceProtocolError("sbi.hash_chain", device=self.name, bio_sub_type=str(subtype))
            previous = expected
            try:
                record = parse_record(bio_value)
                rep = record.representations[0]
                pixels = rep.decode()
            except IsoRecordError as exc:
                raise DeviceProtocolError("sbi.iso_record", device=self.name, detail=str(exc)) from None
            try:
                quality = float(data.get("qualityScore"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                quality = None
            images.append(FingerImage(
                pixels=pixels, ppi=rep.ppi, position=SUBTYPE_POSITIONS[str(subtype)], captured_at=time.time(),
                device_quality=quality,
                metadata={"bio_sub_type": subtype, "transaction_id": txn, "hash": expected,
                          "requested_score": data.get("requestedScore"), "device_code": data.get("deviceCode"),
                          "timestamp": data.get("timestamp"), "compression": rep.compression_name,
                          "iso_19794_4": bio_value},
            ))
        missing = wanted - {img.metadata["bio_sub_type"] for img in images} - {"UNKNOWN"}
        if missing or len(images) < len(positions):
            raise DeviceProtocolError("sbi.missing_biometric", device=self.name, missing=", ".join(sorted(missing)))
        return images, previous

    # -- live preview -----------------------------------------------------------------------
    def preview(self, position: int = 0, *, frames: int = 10, timeout_s: float = 5.0) -> Iterator[np.ndarray]:
        """Up to ``frames`` grey preview images from the STREAM verb (multipart JPEG)."""
        self.require_open()
        assert self._client is not None
        # Spec drafts name the device by deviceId or by serialNo here; send both.
        body = {"deviceId": self.device_id, "serialNo": str(_digital_id(self._device.get("digitalId")).get("serialNo", "")),
                "deviceSubId": self._sub_id(position), "timeout": int(timeout_s * 1000)}
        self.log.record("tx", f"STREAM :{self._port}/stream ".encode() + json.dumps(body).encode())
        try:
            with self._client.stream("STREAM", f"http://{self.params.host}:{self._port}/stream",
                                     content=json.dumps(body).encode(),
                                     timeout=httpx.Timeout(timeout_s, connect=1.0)) as resp:
                if resp.status_code != 200:
                    raise DeviceProtocolError("sbi.http_status", device=self.name, verb="STREAM",
                                              status=resp.status_code)
                ctype = resp.headers.get("content-type", "")
                boundary = ctype.partition("boundary=")[2].strip().strip('"')
                if not boundary:
                    raise DeviceProtocolError("sbi.malformed", device=self.name, field="stream boundary")
                count = 0
                for part in _multipart_parts(resp.iter_bytes(), boundary.encode()):
                    image = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_GRAYSCALE)
                    if image is None:
                        raise DeviceProtocolError("sbi.malformed", device=self.name, field="stream frame")
                    yield image
                    count += 1
                    if count >= frames:
                        return
        except httpx.ConnectError:
            raise DeviceAbsent(device=self.name, port=self._port) from None
        except httpx.TimeoutException:
            raise DeviceTimeout(device=self.name, port=self._port, verb="STREAM") from None
        except httpx.TransportError:
            raise DeviceAbsent(device=self.name, port=self._port) from None


def _multipart_parts(chunks: Iterator[bytes], boundary: bytes) -> Iterator[bytes]:
    """Bodies of a multipart/x-mixed-replace stream (each part may give Content-Length)."""
    buf = b""
    marker = b"--" + boundary
    for chunk in chunks:
        buf += chunk
        while True:
            start = buf.find(marker)
            if start < 0:
                break
            head_end = buf.find(b"\r\n\r\n", start)
            if head_end < 0:
                break
            headers = buf[start + len(marker):head_end].decode("latin-1").lower()
            length = None
            for line in headers.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1].strip())
            body_start = head_end + 4
            if length is not None:
                if len(buf) < body_start + length:
                    break
                yield buf[body_start:body_start + length]
                buf = buf[body_start + length:]
            else:
                nxt = buf.find(marker, body_start)
                if nxt < 0:
                    break
                yield buf[body_start:nxt].rstrip(b"\r\n")
                buf = buf[nxt:]
