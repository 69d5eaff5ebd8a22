"""The station's own check before upload: the same fingers under another NIK, among the
records made here in the last ``[dedup] window_days`` days.

The check uses the central's reference ABIS index (kiosk.central.abis.index: pair-histogram
coarse stage + bozorth3) on a small durable gallery of this station's records
(``<data_dir>/dedup/abis.db``): each record joins it once, when it is checked, and records
older than the window are masked out, so a check costs one search, not a pass over every
record. A match stops the record for a supervisor's decision; the UI shows both records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from kiosk.central.abis.index import AbisError, FingerIndex, template_points
from kiosk.store import RecordState, RecordStore


@dataclass(frozen=True)
class LocalMatch:
    record_id: str
    score: int
    #: ISO position -> bozorth3 score of the fingers compared
    fingers: dict[int, int]


def record_templates(store: RecordStore, record_id: str) -> dict[int, bytes]:
    out = {}
    for meta in store.samples(record_id):
        if meta.kind == "finger_template" and 1 <= meta.position <= 10:
            data = store.sample_data(record_id, "finger_template", meta.position)
            try:
                template_points(data)
            except AbisError:
                continue  # an unreadable template is no evidence either way
            out[meta.position] = data
    return out


class LocalMatcher:
    def __init__(self, store: RecordStore, data_dir: Path, *, window_days: int = 90, threshold: int = 150) -> None:
        self.store = store
        self.window = dt.timedelta(days=window_days)
        self.threshold = threshold
        self.index = FingerIndex(Path(data_dir) / "dedup")
        #: records already looked at by this matcher (indexed, or without usable templates): a
        #: check before every upload must not read every record's samples again
        self._seen: set[str] = set()

    def close(self) -> None:
        self.index.close()

    def _since(self, now: dt.datetime) -> str:
        return (now - self.window).isoformat(timespec="milliseconds")

    def _add(self, record_id: str, created_at: str) -> None:
        templates = record_templates(self.store, record_id)
        if templates:
            # the record's creation time goes in as the encounter id: the window is about when
            # the resident was recorded, not when the check ran
            self.index.insert_many([(record_id, created_at, templates)], gallery="station")

    def refresh(self, now: dt.datetime | None = None) -> None:
        """Add this station's records of the window not yet indexed; mask those that left it."""
        since = self._since(now or dt.datetime.now(dt.timezone.utc))
        for rec in self.store.list():
            if rec.state in (RecordState.DRAFT, RecordState.CANCELLED) or rec.created_at < since:
                continue
            if rec.id in self._seen:
                continue
            if self.index.row_of(rec.id) is None:
                self._add(rec.id, rec.created_at)
            self._seen.add(rec.id)
        for sid, created in list(self.index.subjects):
            if sid and created < since:
                self.index.delete(sid)
            elif sid and self.store_state(sid) is RecordState.CANCELLED:
                self.index.delete(sid)

    def store_state(self, record_id: str) -> RecordState | None:
        try:
            return self.store.get(record_id).state
        except Exception:  # noqa: BLE001 - purged or unknown: it no longer counts
            return None

    def check(self, record_id: str, *, now: dt.datetime | None = None) -> list[LocalMatch]:
        """Other records of the window holding the same fingers under another NIK, best first."""
        self.refresh(now)
        probe = record_templates(self.store, record_id)
        if not probe:
            return []
        mine = self.store.get(record_id).nik_hash
        out = []
        for cand in self.index.search(probe, threshold=self.threshold, exclude=(record_id,)):
            other = self.store_state(cand.subject_id)
            if other is None or other is RecordState.CANCELLED:
                continue
            if other is RecordState.DELETED:
                continue  # deleted at the central: the resident no longer holds it
            if self.store.get(cand.subject_id).nik_hash == mine:
                continue  # the same NIK: the store's own NIK check speaks for it
            out.append(LocalMatch(cand.subject_id, cand.score, cand.fingers))
        return out
