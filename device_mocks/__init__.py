"""Device mocks: each emulates one device at the wire and runs alone (``python -m device_mocks.X``)."""
