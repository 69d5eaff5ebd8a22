"""Ask the central whether a NIK is recorded already (``GET /v1/residents/{nik}``,
docs/central-api.yaml), at the NIK step, before any capture.

Never raises: offline, refused or unverifiable answers come back as a state the
UI shows as such ("the central decides later"), and enrollment goes on. An answer counts
only when its Ed25519 signature verifies with the pinned central key, it names this
station and this NIK, and it is fresh (asked_at within ``max_age_s``).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.permit import canonical_json

log = logging.getLogger(__name__)
ANSWER_FORMAT = "kiosk-nik-status/1"


class LookupState(enum.StrEnum):
    RECORDED = "recorded"
    NOT_RECORDED = "not_recorded"
    #: no answer: offline, timed out, the central is down
    OFFLINE = "offline"
    #: an answer that did not verify: treated as no answer (and logged)
    UNTRUSTED = "untrusted"
    #: the central refused the question (this station unknown to it, a bad request): no answer either
    REFUSED = "refused"


@dataclass(frozen=True)
class EarlierRecord:
    station_id: str
    region: str
    recorded_at: str
    state: str


@dataclass(frozen=True)
class NikLookup:
    state: LookupState
    records: tuple[EarlierRecord, ...] = ()

    @property
    def known(self) -> bool:
        return self.state in (LookupState.RECORDED, LookupState.NOT_RECORDED)

    def message(self) -> tuple[str, dict[str, str]]:
        """The operator's line (catalog code, parameters)."""
        if self.state is LookupState.RECORDED:
            last = self.records[-1]
            return "dedup.nik.recorded", {"station": last.station_id, "region": last.region,
                                          "date": last.recorded_at[:10], "count": str(len(self.records))}
        return f"dedup.nik.{self.state.value}", {}


def verify_answer(answer: dict[str, Any], central_key: Ed25519PublicKey, *, station_id: str, nik: str,
                  max_age_s: float = 300.0, now: dt.datetime | None = None) -> NikLookup:
    """Check one answer; raises ValueError naming what is wrong."""
    body = {k: v for k, v in answer.items() if k != "signature"}
    try:
        central_key.verify(base64.b64decode(answer["signature"], validate=True), canonical_json(body))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        raise ValueError("signature") from None
    if body.get("format") != ANSWER_FORMAT or body.get("nik") != nik or body.get("asked_by") != station_id:
        raise ValueError("addressed elsewhere")
    asked = dt.datetime.fromisoformat(str(body.get("asked_at")))
    age = ((now or dt.datetime.now(dt.timezone.utc)) - asked).total_seconds()
    if not -60 <= age <= max_age_s:
        raise ValueError("stale")
    records = tuple(EarlierRecord(str(r["station_id"]), str(r["region"]), str(r["recorded_at"]), str(r["state"]))
                    for r in body.get("records", []))
    if bool(body.get("recorded")) != bool(records):
        raise ValueError("inconsistent")
    return NikLookup(LookupState.RECORDED if records else LookupState.NOT_RECORDED, records)


def lookup_nik(client: Any, nik: str, *, central_key: Ed25519PublicKey, max_age_s: float = 300.0) -> NikLookup:
    """``client`` is a kiosk.sync.client.CentralClient (its signed request and station id)."""
    from kiosk.sync.client import CentralRefused, CentralUnavailable

    try:
        response = client.request("GET", f"/v1/residents/{nik}")
    except CentralUnavailable as exc:
        log.info("NIK lookup: central unreachable (%s)", exc.code)
        return NikLookup(LookupState.OFFLINE)
    try:
        if response.status_code != 200:
            raise client.refused(response)
        return verify_answer(response.json(), central_key, station_id=client.station_id, nik=nik,
                             max_age_s=max_age_s)
    except CentralRefused as exc:
        log.warning("NIK lookup refused by the central: %s", exc.code)
        return NikLookup(LookupState.REFUSED)
    except ValueError as exc:  # includes a body that is not JSON
        log.warning("NIK lookup answer not trusted: %s", exc)
    return NikLookup(LookupState.UNTRUSTED)
