"""Device layer: what a kind of device can do (protocols), how each model is spoken to (drivers).

Nothing here imports the UI. Drivers are built from config.toml through
:mod:`kiosk.devices.registry`.
"""
