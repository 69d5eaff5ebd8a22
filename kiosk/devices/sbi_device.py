"""The part of a MOSIP SBI client every biometric kind shares: finding the device service,
signed device info, status, self-test, and one verified registration capture (RCAPTURE).

An SBI-certified device runs a *device service* on the station that listens on one port of
127.0.0.1:4501-4600 and answers custom HTTP verbs with JSON (SBI specification 0.9.5,
mosip/documentation ``docs/biometrics/mds-specification.md``):

- ``MOSIPDISC /device``  discovery: ``{"type": "Finger"}`` -> ``[{deviceId, deviceStatus,
  deviceSubId, digitalId (unsigned base64url JSON), specVersion, purpose, error}, ...]``
- ``MOSIPDINFO /info``   device info: ``[{deviceInfo: JWS, error}]``
- ``RCAPTURE /capture``  registration capture -> ``{"biometrics": [{specVersion, data: JWS, hash,
  error: {errorCode, errorInfo}}]}``
- ``STREAM /stream``     live preview as ``multipart/x-mixed-replace`` JPEG frames

Every signed field is a compact JWS whose header carries the device certificate (``x5c``); it is
accepted only if that certificate is pinned in ``trusted_cert`` or issued by a CA pinned there.
Requests are shaped as MOSIP's registration client shapes them (:mod:`kiosk.devices.sbi_wire`).
The drivers: :mod:`kiosk.devices.sbi` (fingers, slaps) and :mod:`kiosk.devices.sbi_iris`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from kiosk.devices.base import Device, DeviceInfo, DeviceState, DeviceStatus, SelfTestResult, Worded
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
from kiosk.devices.jws import JwsError, b64url_decode, load_trusted, verify
from kiosk.devices.sbi_wire import (
    FIRST_PREVIOUS_HASH,
    capture_request,
    chain_hash,
    digital_id,
    error_of,
    sbi_error,
)
from kiosk.errors import ConfigError

#: deviceStatus value -> station state and reason code
#: the SBI deviceStatus values (SBI 0.9.5 "Device Discovery") in the technician's words
STATUS_WORDS: dict[str, str] = {"Ready": "sbi.detail.status_ready", "Busy": "sbi.detail.status_busy",
                                "Not Ready": "sbi.detail.status_not_ready",
                                "Not Registered": "sbi.detail.status_not_registered"}
STATUS_MAP: dict[str, tuple[DeviceState, str | None]] = {
    "Ready": (DeviceState.READY, None),
    "Busy": (DeviceState.BUSY, "device.busy"),
    "Not Ready": (DeviceState.ERROR, "device.fault.sbi_not_ready"),
    "Not Registered": (DeviceState.ERROR, "device.fault.sbi_not_registered"),
}


@dataclass(frozen=True)
class SbiParams:
    #: PEM file of device certificates or device-provider CAs whose signatures are accepted
    trusted_cert: Path | None = None
    host: str = "127.0.0.1"
    #: the service's port; 0 scans port_first..port_last (MOSIPDISC on each)
    port: int = 0
    port_first: int = 4501
    port_last: int = 4600
    #: deviceId to use; empty picks the first device of the driver's biometric type
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


@dataclass(frozen=True)
class VerifiedBiometric:
    """One biometric of an RCAPTURE answer after its signature, transaction and hash checked."""

    bio_sub_type: str
    bio_value: bytes
    quality: float | None
    hash: str
    data: dict[str, Any]


class SbiDevice(Device):
    """Shared SBI client; subclasses set :attr:`bio_type` and turn biometrics into images."""

    bio_type: ClassVar[str] = "Finger"

    def __init__(self, name: str, params: SbiParams) -> None:
        super().__init__(name, params)
        self.params: SbiParams = params
        self._client: httpx.Client | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._trusted: tuple[Any, ...] = ()
        self._port = 0
        self._device: dict[str, Any] = {}
        self._capture_lock = threading.Lock()
        #: monotonic time until which a capture we cancelled may still run in the device
        self._abandoned_until = 0.0
        self.log.text = True  # HTTP and JSON: the protocol log shows the text, not hex bytes

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

    @property
    def device_sub_type(self) -> str:
        """digitalId.deviceSubType from discovery: "Slap", "Single", "Touchless" (finger),
        "Single", "Double" (iris)."""
        return str(digital_id(self._device.get("digitalId")).get("deviceSubType", ""))

    def offered_sub_ids(self) -> list[int]:
        listed = self._device.get("deviceSubId")
        return [int(s) for s in listed if str(s).strip().isdecimal()] if isinstance(listed, list) else []

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
        reported: DeviceError | None = None
        for port in ports:
            try:
                entries = self._request("MOSIPDISC", "/device", {"type": self.bio_type}, port=port,
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
            # A service that answers with error entries (e.g. MockMDS 503 "devices are not
            # connected") has told us why there is no device: report that, not "absent".
            for item in entries if isinstance(entries, list) else [entries]:
                err = error_of(item)
                if err is not None and reported is None:
                    reported = sbi_error(err[0], err[1], device=self.name, bio_type=self.bio_type)
                    reported.params["port"] = port
        if reported is not None:
            raise reported
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
            elif digital_id(entry.get("digitalId")).get("type") == self.bio_type:
                return entry
        return None

    def _discovery_entry(self) -> dict[str, Any]:
        """Our device's current discovery entry (re-read: deviceStatus changes)."""
        self.require_open()
        entries = self._request("MOSIPDISC", "/device", {"type": self.bio_type}, port=self._port,
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
            token = item.get("deviceInfo")
            if not isinstance(token, str) or not token:
                err = error_of(item)
                if err is not None:
                    raise sbi_error(err[0], err[1], device=self.name, bio_type=self.bio_type)
                continue
            # pick our device's entry by its (unverified) deviceId, then verify that one
            if digital_id(token).get("deviceId") != self.device_id:
                continue
            if token.count(".") == 2:
                info, signed = self._verify(token, "deviceInfo"), True
            else:  # a "Not Registered" device sends its info unsigned (base64url JSON)
                info, signed = digital_id(token), False
            digital = (self._verify(info.get("digitalId"), "digitalId") if signed
                       else digital_id(info.get("digitalId")))
            return DeviceInfo(
                vendor=str(digital.get("make") or digital.get("deviceProvider", "")),
                model=str(digital.get("model", "")),
                serial=str(digital.get("serialNo", "")),
                firmware=str(info.get("firmware", "")),
                extra={"port": self._port, "device_id": self.device_id, "signed": signed,
                       "device_status": info.get("deviceStatus"), "service_version": info.get("serviceVersion"),
                       "spec_version": info.get("specVersion"), "certification": info.get("certification"),
                       "device_sub_ids": info.get("deviceSubId"), "provider": digital.get("deviceProvider"),
                       "device_sub_type": digital.get("deviceSubType")},
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
        checks: list[tuple[str, bool, str]] = [
            ("sbi.discovered", True, Worded("sbi.detail.discovered", f"port {self._port} {self.device_id}",
                                            port=self._port, device_id=self.device_id))]
        st = self.status()
        raw = str(st.params.get("device_status"))  # the SBI status word, kept as the device said it
        checks.append(("sbi.device_status", st.state is DeviceState.READY,
                       Worded(STATUS_WORDS.get(raw, "sbi.detail.status_other"), raw, status=raw)))
        offered = self._device.get("specVersion")
        offered = [str(v) for v in offered] if isinstance(offered, list) else []
        checks.append(("sbi.spec_version", self.params.spec_version in offered,
                       Worded("sbi.detail.spec_version", f"{self.params.spec_version} in {offered}",
                              wanted=self.params.spec_version, offered=", ".join(offered) or "-")))
        try:
            info = self.info()
            checks.append(("sbi.device_info_signed", bool(info.extra["signed"]), f"{info.vendor} {info.model}"))
        except DeviceError as exc:
            checks.append(("sbi.device_info_signed", False, exc.code))
        return SelfTestResult(all(ok for _, ok, _ in checks), tuple(checks))

    # -- capture ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive_capture(self) -> Iterator[None]:
        """One capture at a time per driver: a second one is refused as busy, never queued."""
        if not self._capture_lock.acquire(blocking=False):
            raise DeviceBusy(device=self.name)
        try:
            yield
        finally:
            self._capture_lock.release()

    def _require_ready(self) -> None:
        entry = self._discovery_entry()
        status = str(entry.get("deviceStatus"))
        if status == "Busy":
            raise DeviceBusy(device=self.name, device_status=status)
        if status != "Ready":
            raise DeviceFault("sbi_not_registered" if status == "Not Registered" else "sbi_not_ready",
                              device=self.name, device_status=status)

    def rcapture(self, *, sub_id: int, count: int, bio_sub_types: list[str] | None, exceptions: list[str],
                 wanted: set[str], requested_score: int | None, previous_hash: str, timeout_s: float,
                 cancel: threading.Event | None) -> list[VerifiedBiometric]:
        """One RCAPTURE; returns its biometrics, each verified (signature, transaction, hash
        chained from ``previous_hash``), with bioSubType in ``wanted``."""
        txn = str(uuid.uuid4())  # spec: 4-50 of letters, digits and hyphens
        body = capture_request(
            env=self.params.env, spec_version=self.params.spec_version, timeout_ms=int(timeout_s * 1000),
            capture_time=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), transaction_id=txn,
            bio_type=self.bio_type, count=count, bio_sub_types=bio_sub_types, exceptions=exceptions,
            requested_score=self.params.requested_score if requested_score is None else requested_score,
            device_id=self.device_id, device_sub_id=sub_id, previous_hash=previous_hash or FIRST_PREVIOUS_HASH)
        assert self._pool is not None
        while True:
            future = self._pool.submit(self._request, "RCAPTURE", "/capture", body, port=self._port,
                                       timeout=timeout_s + self.params.request_timeout_s)
            while True:
                try:
                    answer = future.result(timeout=0.05)
                    break
                except concurrent.futures.TimeoutError:
                    if cancel is not None and cancel.is_set():
                        # The SBI has no cancel verb: the abandoned capture runs on in the device
                        # until a finger comes or its own timeout passes.
                        self._abandoned_until = time.monotonic() + timeout_s
                        raise CaptureCancelled(device=self.name) from None
            # Our own abandoned capture still holds the device (MockMDS 703, "capture in
            # progress"): wait for it to end, never longer than its timeout, then ask again.
            if _busy_answer(answer) and time.monotonic() < self._abandoned_until:
                if cancel is not None and cancel.wait(0.05):
                    raise CaptureCancelled(device=self.name)
                time.sleep(0.05)
                continue
            return self._read_biometrics(answer, wanted, txn, previous_hash)

    def _read_biometrics(self, answer: Any, wanted: set[str], txn: str,
                         previous_hash: str) -> list[VerifiedBiometric]:
        if not isinstance(answer, dict):
            raise DeviceProtocolError("sbi.malformed", device=self.name, field="capture response")
        bios = answer.get("biometrics")
        if not isinstance(bios, list) or not bios:
            err = error_of(answer)
            if err is not None:
                raise sbi_error(err[0], err[1], device=self.name, bio_type=self.bio_type)
            raise DeviceProtocolError("sbi.malformed", device=self.name, field="biometrics")
        out: list[VerifiedBiometric] = []
        previous = previous_hash
        for bio in bios:
            if not isinstance(bio, dict):
                raise DeviceProtocolError("sbi.malformed", device=self.name, field="biometric")
            err = error_of(bio)
            if err is not None:
                raise sbi_error(err[0], err[1], device=self.name, bio_type=self.bio_type)
            data = self._verify(bio.get("data"), "data")
            if data.get("transactionId") != txn:
                raise DeviceProtocolError("sbi.wrong_transaction", device=self.name, expected=txn,
                                          got=str(data.get("transactionId")))
            subtype = data.get("bioSubType")
            if data.get("bioType") != self.bio_type or subtype not in wanted:
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
                quality: float | None = float(data.get("qualityScore"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                quality = None
            out.append(VerifiedBiometric(str(subtype), bio_value, quality, expected, data))
        return out


def _busy_answer(answer: Any) -> bool:
    """An RCAPTURE answer saying a capture is already running (MockMDS 703)."""
    bios = answer.get("biometrics") if isinstance(answer, dict) else None
    first = bios[0] if isinstance(bios, list) and bios else None
    err = error_of(first)
    return err is not None and err[0] == "703"
