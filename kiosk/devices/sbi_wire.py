"""MOSIP SBI wire vocabulary shared by the SBI drivers: names, request shapes, error codes,
the hash chain and the STREAM multipart reader. No I/O here.

References:

- SBI specification (mosip/documentation ``docs/biometrics/mds-specification.md``, spec
  0.9.5) and its JSON schemas (``api/sbi/common.yaml``): bioSubType names, deviceSubId
  1 left slap/iris, 2 right slap/iris, 3 two thumbs/both irises, error codes 0 and 100-112,
  "5xx custom errors (the device provider is free to choose)", the first ``previousHash`` is
  the SHA-256 of the empty UTF-8 string.
- MOSIP's registration client (mosip/registration-client, ``spec_0_9_5`` ``RCaptureRequestDTO``,
  ``RCaptureRequestBioDTO``, ``StreamRequestDTO`` and ``MosipDeviceSpecification_095_ProviderImpl``):
  what a real client sends. Every field is a JSON *string*: ``timeout``, ``count``,
  ``requestedScore`` and ``deviceSubId`` included; a slap is asked with
  ``count = default count - exceptions`` and no bioSubType; STREAM is read by finding
  ``Content-Length`` and then the JPEG start marker (0xFF), not by the boundary.
- MOSIP's reference device service (mosip/mosip-mock-services, MockMDS
  ``SBIServiceResponse.java``, ``IntegerDeserializer.java``, ``application.properties``): it
  refuses a number where it wants a string with error 123, answers 109 unless a slap's
  ``count + exceptions`` is 4 (2 for thumbs), adds its own codes 113-123 (request
  validation), 601-610 (stream), 700-710 (registration capture), 800-810 (auth capture) and
  999, and declares ``boundary=--BoundaryString`` while writing ``--BoundaryString`` lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceError, DeviceFault, DeviceProtocolError
from kiosk.devices.jws import JwsError, b64url_decode, decode_unverified

#: ISO/ANSI finger position -> SBI bioSubType name
FINGER_SUBTYPES: dict[int, str] = {
    0: "UNKNOWN",
    1: "Right Thumb", 2: "Right IndexFinger", 3: "Right MiddleFinger", 4: "Right RingFinger",
    5: "Right LittleFinger",
    6: "Left Thumb", 7: "Left IndexFinger", 8: "Left MiddleFinger", 9: "Left RingFinger",
    10: "Left LittleFinger",
}
SUBTYPE_POSITIONS: dict[str, int] = {name: pos for pos, name in FINGER_SUBTYPES.items()}

#: deviceSubId of a slap scanner -> the finger positions it captures together
SLAP_LEFT, SLAP_RIGHT, SLAP_THUMBS = 1, 2, 3
SLAPS: dict[int, tuple[int, ...]] = {SLAP_LEFT: (7, 8, 9, 10), SLAP_RIGHT: (2, 3, 4, 5), SLAP_THUMBS: (6, 1)}
SLAP_OF: dict[int, int] = {pos: slap for slap, positions in SLAPS.items() for pos in positions}

#: ISO/IEC 19794-6 eye label -> SBI iris bioSubType, and the iris deviceSubIds
EYE_RIGHT, EYE_LEFT = 1, 2
IRIS_SUBTYPES: dict[int, str] = {EYE_RIGHT: "Right", EYE_LEFT: "Left"}
IRIS_SUBTYPE_EYES: dict[str, int] = {name: eye for eye, name in IRIS_SUBTYPES.items()}
IRIS_SUB_ID: dict[tuple[int, ...], int] = {(EYE_LEFT,): 1, (EYE_RIGHT,): 2, (EYE_LEFT, EYE_RIGHT): 3}

#: The first capture's previousHash: SHA-256 of the empty UTF-8 string, in hex (spec, bio.previousHash)
FIRST_PREVIOUS_HASH = hashlib.sha256(b"").hexdigest().upper()

#: errorCode -> DeviceFault reason, for codes where the operator can act on the device
FAULT_REASONS: dict[str, str] = {
    "100": "sbi_not_registered",
    "102": "sbi_extraction_failed",
    "103": "sbi_tampered",
    "104": "sbi_management_server",
    "105": "sbi_orientation",
    "107": "sbi_key_expired",
    "108": "sbi_domain_key_missing",
    "109": "sbi_count_unsupported",
    "110": "sbi_not_ready",
    # MockMDS: 700 live stream stopped during the capture, 707/708 no biometric for the subtype
    "700": "sbi_capture_failed",
    "707": "sbi_no_biometric",
    "708": "sbi_no_biometric",
}
#: errorCodes that say *our request* was refused (a driver or config fault, not the resident's):
#: 112 Invalid Transaction ID (spec); MockMDS 113-123 request validation (123: JSON it cannot
#: read, e.g. a number where it wants a string), 604/606 and 702/704/706/709 request content,
#: 8xx auth-capture refusals.
REFUSED = {"112", *(str(c) for c in range(113, 124)), "601", "604", "606", "702", "704", "706", "709",
           *(str(c) for c in range(800, 811))}


def chain_hash(previous_hash: str, bio_value: bytes) -> str:
    """The SBI hash of one biometric: HEX(SHA256(prev || SHA256(bioValue))), upper case, where
    ``prev`` is the previous hash decoded from hex, SHA256("") for the first."""
    prev = hashlib.sha256(b"").digest() if not previous_hash.strip() else bytes.fromhex(previous_hash)
    return hashlib.sha256(prev + hashlib.sha256(bio_value).digest()).hexdigest().upper()


def no_object_reason(bio_type: str) -> str:
    return "no_iris" if bio_type == "Iris" else "no_finger"


def sbi_error(code: str, info: str, *, device: str, bio_type: str = "Finger") -> DeviceError:
    """The typed error for an SBI ``errorCode`` (never called with "0")."""
    if code in ("111", "703"):  # busy (spec); capture already in progress (MockMDS)
        return DeviceBusy(device=device, sbi_code=code, sbi_info=info)
    if code in ("106", "605", "705"):  # device not found / not connected
        return DeviceAbsent(device=device, sbi_code=code, sbi_info=info)
    if code in ("101", "701", "609"):  # no object detected; capture / stream timed out
        return DeviceFault(no_object_reason(bio_type), device=device, sbi_code=code, sbi_info=info)
    if code in FAULT_REASONS:
        return DeviceFault(FAULT_REASONS[code], device=device, sbi_code=code, sbi_info=info)
    if code == "112":
        return DeviceProtocolError("sbi.invalid_transaction", device=device, sbi_code=code, sbi_info=info)
    if code in REFUSED:
        return DeviceProtocolError("sbi.request_refused", device=device, sbi_code=code, sbi_info=info)
    if len(code) == 3 and code.startswith("5"):
        # "5xx: custom errors; the device provider is free to choose his codes and messages"
        return DeviceFault("sbi_vendor_error", device=device, sbi_code=code, sbi_info=info)
    return DeviceFault("sbi_error", device=device, sbi_code=code, sbi_info=info)


def error_of(entry: Any) -> tuple[str, str] | None:
    """(errorCode, errorInfo) of an answer entry whose error is not 0, else None."""
    if not isinstance(entry, dict):
        return None
    # an answer entry carries {"error": {...}}; MockMDS answers a refused STREAM with the bare
    # {"errorCode", "errorInfo"} object
    err = entry.get("error") if "errorCode" not in entry else entry
    if not isinstance(err, dict):
        return None
    code = str(err.get("errorCode", "0")).strip()
    if code in ("", "0"):
        return None
    return code, str(err.get("errorInfo", ""))


def digital_id(value: Any) -> dict[str, Any]:
    """The JSON object in a base64url text or in a JWS payload, read WITHOUT verification
    (discovery's unsigned digitalId, or to pick an entry before verifying it)."""
    if not isinstance(value, str) or not value:
        return {}
    try:
        payload = decode_unverified(value)[1] if value.count(".") == 2 else b64url_decode(value)
        out = json.loads(payload)
    except (JwsError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def capture_request(*, env: str, spec_version: str, timeout_ms: int, capture_time: str, transaction_id: str,
                    bio_type: str, count: int, bio_sub_types: list[str] | None, exceptions: list[str],
                    requested_score: int, device_id: str, device_sub_id: int, previous_hash: str) -> dict[str, Any]:
    """An RCAPTURE body as the registration client sends it: every value a string,
    ``bioSubType`` null for a slap (the device answers every finger of it)."""
    return {
        "env": env,
        "purpose": "Registration",
        "specVersion": spec_version,
        "timeout": str(timeout_ms),
        "captureTime": capture_time,
        "transactionId": transaction_id,
        "bio": [{
            "type": bio_type,
            "count": str(count),
            "bioSubType": bio_sub_types,
            "exception": exceptions,
            "requestedScore": str(requested_score),
            "deviceId": device_id,
            "deviceSubId": str(device_sub_id),
            "previousHash": previous_hash,
        }],
        "customOpts": None,
    }


def stream_request(*, device_id: str, device_sub_id: int, timeout_ms: int) -> dict[str, Any]:
    """A STREAM body as the registration client's StreamRequestDTO: strings."""
    return {"deviceId": device_id, "deviceSubId": str(device_sub_id), "timeout": str(timeout_ms)}


JPEG_START = b"\xff\xd8"


def multipart_frames(chunks: Iterator[bytes], boundary: bytes) -> Iterator[bytes]:
    """JPEG frames of a multipart/x-mixed-replace STREAM answer.

    As tolerant as the registration client: a part starts at a boundary line that may or may
    not carry the RFC 2046 "--" prefix (MockMDS declares ``boundary=--BoundaryString`` and
    writes ``--BoundaryString``); with a ``Content-Length`` header the frame is that many bytes
    from the JPEG start marker, without one it runs to the next boundary line.
    """
    buf = b""
    bare = boundary[2:] if boundary.startswith(b"--") else boundary
    marker = b"--" + bare  # matches "--X" and, inside it, "----X"
    for chunk in chunks:
        buf += chunk
        while True:
            start = buf.find(marker)
            if start < 0:
                buf = buf[-(len(marker) + 2):]  # keep a possible marker split across chunks
                break
            head_end = buf.find(b"\r\n\r\n", start)
            if head_end < 0:
                break
            length = None
            for line in buf[start + len(marker):head_end].decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        length = None
            body_start = buf.find(JPEG_START, head_end + 4)
            if body_start < 0:
                if len(buf) - head_end > 64 * 1024 * 1024:
                    raise ValueError("no JPEG start marker in a stream part")
                break
            if length is not None and length >= 0:
                if len(buf) < body_start + length:
                    break
                yield buf[body_start:body_start + length]
                buf = buf[body_start + length:]
            else:
                nxt = buf.find(marker, body_start)
                if nxt < 0:
                    break
                # a "----X" line was found at its inner "--X": drop the extra dashes too
                yield buf[body_start:nxt].rstrip(b"-").rstrip(b"\r\n")
                buf = buf[nxt:]
