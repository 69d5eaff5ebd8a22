"""The central and station fixtures of tests/central, for the duplicate journey's tests."""

from tests.central.conftest import central, make_station  # noqa: F401 - pytest fixtures
