"""Every fingerprint driver + mock pair of contract_fingerprint.RIGS passes the same contract."""

from tests.devices.contract_fingerprint import FingerprintContract, rig  # noqa: F401 (fixture)


class TestFingerprintContract(FingerprintContract):
    pass
