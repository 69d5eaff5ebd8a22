"""Request checks of the SBI emulator, in MockMDS's order and with MockMDS's error codes.

After MOSIP's reference device service (mosip/mosip-mock-services MockMDS:
``SBIServiceResponse.processRCaptureInfo`` / ``processLiveStreamInfo``, the request DTOs
``CaptureRequestDto``, ``CaptureRequestDeviceDetailDto``, ``StreamingRequestDetail`` with their
``StringDeserializer`` / ``IntegerDeserializer``, and the messages of ``application.properties``),
departing from it only where it departs from the SBI schema (api/sbi/common.yaml types
``timeout``, ``count`` and ``deviceSubId`` as integers: both are accepted here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: bioSubType names by slap (deviceSubId 1 left slap, 2 right slap, 3 two thumbs), in the order
#: MockMDS answers them (SBIServiceResponse.getBioMetricsDtoList)
SLAPS: dict[int, tuple[str, ...]] = {
    1: ("Left IndexFinger", "Left MiddleFinger", "Left RingFinger", "Left LittleFinger"),
    2: ("Right IndexFinger", "Right MiddleFinger", "Right RingFinger", "Right LittleFinger"),
    3: ("Left Thumb", "Right Thumb"),
}
#: ISO 19794-4 finger position codes (1 right thumb .. 10 left little)
ISO_POSITIONS = {"Right Thumb": 1, "Right IndexFinger": 2, "Right MiddleFinger": 3, "Right RingFinger": 4,
                 "Right LittleFinger": 5, "Left Thumb": 6, "Left IndexFinger": 7, "Left MiddleFinger": 8,
                 "Left RingFinger": 9, "Left LittleFinger": 10}


ENVS = ("Staging", "Developer", "Pre-Production", "Production")
#: MockMDS application.properties messages of the codes this mock answers with
MESSAGES = {
    "0": "Success", "100": "Device not registered", "106": "Device not found",
    "109": "Requested number of biometric (Finger/IRIS) not supported", "110": "Device is not ready",
    "111": "Device is busy", "112": "Invalid Transaction ID",
    "114": "Device Type Mismatch('Finger', 'Iris', 'Face')",
    "115": "Env values Mismatch('Staging', 'Developer', 'Pre-Production', 'Production')",
    "120": "Device Type MisMatch for given deviceId",
    "121": "Purpose Value Mismatch('Registration', 'Auth')",
    "122": "BioSubType/Exception MisMatch for given Biometric Type", "123": "Invalid JSON",
    "502": "Biometric Type values Mismatch('Biometric Device', 'Finger', 'Face', 'Iris')",
    "503": "Devices are not Connected, please connect devices",
    "604": "Device Id value not present in Livestream request object",
    "605": "Device is not connected or not Registered for the deviceId given in Livestream request object",
    "609": "Live Stream timeout",
    "701": "RCapture Failed because Capture Timeout has happened",
    "703": "RCapture process already in progress, try after sometime",
    "704": "Device Id value not present in RCapture request object",
    "705": "Device is not connected or not Registered for the deviceId given in RCapture request object",
    "708": "No BioMetric information present for the given Biotype and BioSubType Id",
}
FINGER_NAMES = tuple(ISO_POSITIONS)
IRIS_NAMES = ("Left", "Right")


class RequestRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _text(body: dict[str, Any], key: str, *, number_ok: bool = False, empty_ok: bool = False) -> str:
    """A field MockMDS reads with its String/IntegerDeserializer: a JSON string (a number only
    where the SBI schema api/sbi/common.yaml types the field as integer), not null, not empty."""
    value = body.get(key)
    if isinstance(value, bool) or value is None:
        raise RequestRefused("123")
    if isinstance(value, int) and number_ok:
        return str(value)
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise RequestRefused("123")
    return value


def _int_text(body: dict[str, Any], key: str, *, number_ok: bool) -> int:
    text = _text(body, key, number_ok=number_ok)
    try:
        return int(text.strip())
    except ValueError:
        raise RequestRefused("123") from None


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestRefused("123")
    return value


@dataclass
class CaptureAsk:
    bio_type: str
    count: int
    sub_id: int
    sub_types: list[str]
    exceptions: list[str]
    timeout_s: float
    requested_score: float
    previous_hash: str
    transaction_id: str
    env: str


def read_capture_request(body: Any) -> CaptureAsk:
    """Check an RCAPTURE body like MockMDS; RequestRefused carries its error code.

    timeout, count and deviceSubId may be JSON strings (what the registration client sends and
    all MockMDS accepts) or integers (what api/sbi/common.yaml types them as); requestedScore is
    a string in both, so a number there is refused with 123 as MockMDS refuses it.
    """
    if not isinstance(body, dict) or not isinstance(body.get("bio"), list) or not body["bio"] or not all(
            isinstance(b, dict) for b in body["bio"]):
        raise RequestRefused("123")
    env = _text(body, "env")
    purpose = _text(body, "purpose")
    _text(body, "specVersion")
    _text(body, "captureTime")
    txn = _text(body, "transactionId", empty_ok=True)
    timeout_ms = _int_text(body, "timeout", number_ok=True)
    bio = body["bio"][0]
    bio_type = _text(bio, "type")
    count = _int_text(bio, "count", number_ok=True)
    score_text = _text(bio, "requestedScore")
    sub_id = _int_text(bio, "deviceSubId", number_ok=True)
    device_id = _text(bio, "deviceId", empty_ok=True)
    previous = bio.get("previousHash")
    if not isinstance(previous, str):
        raise RequestRefused("123")
    sub_types, exceptions = _names(bio.get("bioSubType")), _names(bio.get("exception"))
    try:
        score = float(score_text)
    except ValueError:
        raise RequestRefused("123") from None
    if env not in ENVS:
        raise RequestRefused("115")
    if purpose != "Registration":
        raise RequestRefused("121")
    if not device_id.strip():
        raise RequestRefused("704")
    if bio_type not in ("Finger", "Iris", "Face"):
        raise RequestRefused("114")
    if not re.fullmatch(r"[A-Za-z0-9-]{4,50}", txn):
        raise RequestRefused("112")
    return CaptureAsk(bio_type, count, sub_id, sub_types, exceptions, timeout_ms / 1000, score, previous, txn, env)


def expected_biometrics(ask: CaptureAsk, finger_mode: str) -> list[str]:
    """The bioSubTypes a device answers for a valid request; RequestRefused(109/122) otherwise."""
    names = FINGER_NAMES if ask.bio_type == "Finger" else IRIS_NAMES
    if any(s not in (*names, "UNKNOWN") for s in ask.sub_types) or any(e not in names for e in ask.exceptions):
        raise RequestRefused("122")
    if ask.bio_type == "Finger" and finger_mode == "slap":
        slap = SLAPS.get(ask.sub_id)
        if slap is None or ask.count + len(ask.exceptions) != len(slap) or any(e not in slap for e in ask.exceptions):
            raise RequestRefused("109")
        return [s for s in slap if s not in ask.exceptions]
    if ask.bio_type == "Finger":  # single-finger sensor: one named finger at a time
        if ask.count != 1 or len(ask.sub_types) != 1:
            raise RequestRefused("109")
        return ["Left IndexFinger" if ask.sub_types[0] == "UNKNOWN" else ask.sub_types[0]]
    eyes = {1: ["Left"], 2: ["Right"], 3: ["Left", "Right"]}.get(ask.sub_id)
    if eyes is None:
        raise RequestRefused("109")
    if ask.sub_id in (1, 2) and (ask.count != 1 or ask.exceptions):
        raise RequestRefused("109")
    if ask.sub_id == 3 and ask.count + len(ask.exceptions) != 2:
        raise RequestRefused("109")
    return [e for e in eyes if e not in ask.exceptions]


def read_stream_request(body: Any) -> tuple[str, float]:
    """deviceId and timeout (s) of a STREAM body as MockMDS's StreamingRequestDetail reads it."""
    if not isinstance(body, dict):
        raise RequestRefused("123")
    device_id = _text(body, "deviceId", empty_ok=True)
    _int_text(body, "deviceSubId", number_ok=True)
    timeout = body.get("timeout")
    if timeout is None or timeout == "":
        return device_id, 300.0  # spec: optional, five minutes by default
    text = _text(body, "timeout", number_ok=True)
    try:
        return device_id, int(text) / 1000
    except ValueError:
        raise RequestRefused("123") from None
