"""Forward-only schema migrations, versioned per component.

Each component (``records``, and later ``sync``, ``printer`` ...) owns its tables and a list
of migration steps; ``schema_versions`` remembers how far each has gone. A step runs inside
the same transaction as its version bump, so a crash mid-migration leaves the old version.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Sequence

Step = Callable[[sqlite3.Connection], None] | str


def _run(conn: sqlite3.Connection, step: Step) -> None:
    if isinstance(step, str):
        for stmt in step.split(";"):
            if stmt.strip():
                conn.execute(stmt)
    else:
        step(conn)


def current_version(conn: sqlite3.Connection, component: str) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, component: str, steps: Sequence[Step], *, target: int | None = None) -> int:
    """Bring ``component`` up to ``target`` (default: latest). Returns the version reached."""
    target = len(steps) if target is None else target
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn, component)
        if version > len(steps):
            raise RuntimeError(f"database {component} schema v{version} is newer than this kiosk (v{len(steps)})")
        for number in range(version + 1, target + 1):
            _run(conn, steps[number - 1])
            conn.execute(
                "INSERT INTO schema_versions(component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, number),
            )
            version = number
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version
