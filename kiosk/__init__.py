"""Biometric enrollment kiosk controller for civil-registration stations."""

__version__ = "0.1.0"
