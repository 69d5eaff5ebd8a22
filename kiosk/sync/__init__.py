"""Station -> central sync: sealed packets up (resumable), decisions and permits down."""

from kiosk.sync.client import CentralClient, CentralRefused, CentralUnavailable
from kiosk.sync.worker import NetworkStatus, SyncProgress, SyncSettings, SyncWorker, queue_status, request_deletion

__all__ = ["CentralClient", "CentralRefused", "CentralUnavailable", "NetworkStatus", "SyncProgress",
           "SyncSettings", "SyncWorker", "queue_status", "request_deletion"]
