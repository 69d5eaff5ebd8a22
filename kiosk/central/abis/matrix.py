"""The gallery's coarse vectors in memory, with an append-only file so a restart loads them at once.

The SQLite database (:mod:`kiosk.central.abis.index`) is the one durable truth: every finger's
vector is stored there in the insert's transaction. Reading a million vectors back row by row
costs tens of seconds, so this matrix also appends each committed row to a flat float32 file
(``coarse-<instance>-<model>.f32``, rows x 10 positions x DIM) and a restart reads that file
with one ``numpy.fromfile``. The file is only a copy: it is named after the database instance
and the model, holds only whole rows, is read no further than the rows the database has
(a longer file, e.g. after a restore from backup, is cut back), and rows it lacks are read
from the database and appended. Rows never change once written (a deletion masks the
subject, it does not touch its vectors), so a row in the file is never stale.

Search reads the matrix in one pass for all the probe's fingers (see ``FingerIndex.coarse``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np

from kiosk.central.abis.features import DIM

POSITIONS = tuple(range(1, 11))
_ROW_BYTES = len(POSITIONS) * DIM * 4


class CoarseMatrix:
    """(rows, 10, DIM) float32 vectors and a (rows, 10) presence mask, grown by appending."""

    def __init__(self, cache_file: Path) -> None:
        self.file = cache_file
        self.vectors = np.zeros((0, len(POSITIONS), DIM), dtype=np.float32)
        self.present = np.zeros((0, len(POSITIONS)), dtype=bool)
        self.rows = 0

    def _ensure(self, rows: int) -> None:
        if rows <= len(self.vectors):
            return
        cap = max(rows, 2 * len(self.vectors), 1024)
        grown = np.zeros((cap, len(POSITIONS), DIM), dtype=np.float32)
        grown[:self.rows] = self.vectors[:self.rows]
        mask = np.zeros((cap, len(POSITIONS)), dtype=bool)
        mask[:self.rows] = self.present[:self.rows]
        self.vectors, self.present = grown, mask

    def load(self, rows: int, read_rows: RowReader) -> None:
        """Fill rows 0..rows-1: from the cache file as far as it goes, the rest from the database."""
        cached = 0
        if self.file.exists():
            cached = min(self.file.stat().st_size // _ROW_BYTES, rows)
        self._ensure(rows)
        if cached:
            block = np.fromfile(self.file, dtype=np.float32, count=cached * len(POSITIONS) * DIM)
            self.vectors[:cached] = block.reshape(cached, len(POSITIONS), DIM)
            self.present[:cached] = self.vectors[:cached].any(axis=2)
        self.rows = cached
        with open(self.file, "r+b" if self.file.exists() else "wb") as f:
            f.truncate(cached * _ROW_BYTES)  # a torn last row or rows the database does not have
        if cached < rows:
            fresh = np.zeros((rows - cached, len(POSITIONS), DIM), dtype=np.float32)
            for row, position, vector in read_rows(cached):
                fresh[row - cached, position - 1] = vector
            self.append(fresh)

    def append(self, block: np.ndarray) -> None:
        """Rows already committed to the database: into memory, then onto the cache file."""
        block = np.ascontiguousarray(block, dtype=np.float32).reshape(-1, len(POSITIONS), DIM)
        first = self.rows
        self._ensure(first + len(block))
        self.vectors[first:first + len(block)] = block
        self.present[first:first + len(block)] = block.any(axis=2)
        self.rows = first + len(block)
        with open(self.file, "ab") as f:
            f.write(block.tobytes())
            f.flush()
            os.fsync(f.fileno())


class RowReader(Protocol):
    """Reads (row, position, vector) of every finger from ``first_row`` on, from the database."""

    def __call__(self, first_row: int) -> Iterable[tuple[int, int, np.ndarray]]: ...
