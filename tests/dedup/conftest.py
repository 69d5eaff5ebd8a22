"""The central and station fixtures of tests/central, for the station-side deletion tests."""

from tests.central.conftest import central, make_station  # noqa: F401 - fixtures
