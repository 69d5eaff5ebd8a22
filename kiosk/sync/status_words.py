"""The sync status in the operator's language, line by line: what ``kiosk queue`` prints and what
the technician's central check on the diagnostics screen shows, from one reading
(:func:`kiosk.sync.status.queue_status`)."""

from __future__ import annotations

from typing import Any

from kiosk.i18n import local_time, number, translate


def status_lines(status: dict[str, Any]) -> list[str]:
    """Counts per state, the oldest waiting record, bytes waiting, the network, the last contact,
    refused packets, deletions in progress, set-aside answers and the last sync errors."""
    lines = [f"  {translate('state.' + state):14} {n}" for state, n in status["counts"].items() if n]
    net = status["network"]
    lines += [f"{translate('queue.oldest')}: {local_time(status['oldest_waiting']) or '-'}",
              f"{translate('queue.pending_bytes')}: {number(status['pending_bytes'] / 1e6, 2)} MB",
              f"{translate('queue.network')}: {translate('network.' + net['state'])}",
              f"{translate('queue.last_success')}: {local_time(net['last_success']) or translate('queue.never')}"]
    if status["refused"]:
        lines.append(f"{translate('queue.refused')}: {status['refused']}")
    if status["deletions_pending"]:
        lines.append(f"{translate('queue.deletions')}: {status['deletions_pending']}")
    if status["quarantined"]:
        lines.append(f"{translate('queue.quarantined')}: {status['quarantined']}")
    if status["last_errors"]:
        lines.append(f"{translate('queue.last_errors')}:")
        lines += [f"  {local_time(e['at'])}  {e['code']:24} {translate(e['code'], **e.get('params', {}))}"
                  for e in status["last_errors"]]
    return lines
