"""The central and station fixtures of tests/central, shared with the sync tests."""

from tests.central.conftest import central, make_station  # noqa: F401  (pytest fixtures)
