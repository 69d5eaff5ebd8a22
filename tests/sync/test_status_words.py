"""The last sync errors read whole: a kept error carries the parameters its sentence names, so
``kiosk queue`` and the technician's central check print "(ReadTimeout)" and not "({kind})"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.i18n import current_language, set_language
from kiosk.sync.status import NetworkMonitor, last_errors
from kiosk.sync.status_words import status_lines


@pytest.fixture(autouse=True)
def language_kept() -> Iterator[None]:
    before = current_language()
    yield
    set_language(before)


def status_with(monitor: NetworkMonitor) -> dict:
    network = monitor.status().to_dict()
    return {"counts": {"queued": 2}, "oldest_waiting": None, "pending_bytes": 1_500_000, "refused": 0,
            "deletions_pending": 0, "quarantined": 0, "network": network, "last_errors": last_errors(network, [])}


def test_a_kept_error_reads_with_its_parameters() -> None:
    set_language("id")
    monitor = NetworkMonitor(offline_after=5)
    monitor.fail("sync.timeout", "upload", {"kind": "ReadTimeout"})
    lines = status_lines(status_with(monitor))
    assert any(line.endswith("Pusat tidak menjawab tepat waktu (ReadTimeout).") for line in lines)
    assert not any("{" in line for line in lines)


def test_the_status_lines_use_the_languages_numbers() -> None:
    set_language("id")
    lines = status_lines(status_with(NetworkMonitor(offline_after=5)))
    assert "Data menunggu dikirim: 1,50 MB" in lines
    set_language("en")
    assert "Data waiting to be sent: 1.50 MB" in status_lines(status_with(NetworkMonitor(offline_after=5)))
