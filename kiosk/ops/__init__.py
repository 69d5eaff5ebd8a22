"""Station operations: provisioning, the signed audit chain, retention, logs, offline export.

Nothing here imports textual: these run under ``kiosk init``, ``kiosk audit``, ``kiosk purge``,
``kiosk export`` and inside the sync service.
"""
