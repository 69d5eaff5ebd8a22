"""Capture quality: standard checks and live guidance for face, fingers and signature.

Plain functions and small objects over numpy arrays; no driver and no UI here. Every check
returns a :class:`~kiosk.capture.report.Check` with a message *code* (catalog
``kiosk/i18n/<lang>/capture.toml``) and parameters; the UI turns codes into words.
Thresholds come from the ``[quality]`` table of config.toml
(:func:`kiosk.capture.thresholds.quality_thresholds`).
"""
