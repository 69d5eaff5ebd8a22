"""The record queue: owns the station's SQLite database (WAL, synchronous=FULL)."""

from kiosk.store.queue import DuplicateNik, IllegalTransition, Record, RecordStore, SampleMeta, StoreError
from kiosk.store.states import TRANSITIONS, RecordState

__all__ = ["DuplicateNik", "IllegalTransition", "Record", "RecordState", "RecordStore", "SampleMeta",
           "StoreError", "TRANSITIONS"]
