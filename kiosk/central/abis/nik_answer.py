"""The central's answer to "is this NIK recorded already?" (``GET /v1/residents/{nik}``).

Only where and when (station, district, date, state): enough for the operator to tell the
resident, nothing more of the earlier record. The answer is signed with the central's
Ed25519 key over its canonical JSON without the ``signature`` field, like a print permit.
"""

from __future__ import annotations

import base64
import sqlite3
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.central.permit import canonical_json

ANSWER_FORMAT = "kiosk-nik-status/1"


def nik_answer(conn: sqlite3.Connection, key: Ed25519PrivateKey, station_id: str, nik: str, *,
               asked_at: str) -> dict[str, Any]:
    holder = conn.execute("SELECT record_id FROM persons WHERE nik=?", (nik,)).fetchone()
    rows = conn.execute("SELECT record_id, station_id, region, received_at, status FROM records"
                        " WHERE nik=? AND status != 'deleted' ORDER BY received_at", (nik,)).fetchall()
    records = [{"station_id": r["station_id"], "region": r["region"], "recorded_at": r["received_at"],
                "state": "approved" if holder is not None and holder[0] == r["record_id"] else r["status"]}
               for r in rows]
    body = {"format": ANSWER_FORMAT, "nik": nik, "recorded": bool(records), "records": records,
            "asked_by": station_id, "asked_at": asked_at}
    return {**body, "signature": base64.b64encode(key.sign(canonical_json(body))).decode()}
