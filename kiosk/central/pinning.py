"""Which central key a station trusts for print permits, resolved from its config.

ONE resolution for everyone who checks a permit (the sync worker when a decision arrives, the
print gate before a card is printed):

- ``[central] url = "local"``: the simulated station's local central, whose signing public key
  lives in ``[central.local] data_dir/keys/`` (:data:`kiosk.central.keys.CENTRAL_SIGNING_PUB`,
  written when the local central first starts);
- otherwise ``[central] public_key``, the PEM file the station pins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.keys import CENTRAL_SIGNING_PUB, load_ed25519_public
from kiosk.errors import ConfigError


def permit_key_path(cfg: Any) -> Path:
    """The PEM file of the central's permit-signing public key for this station config."""
    c = cfg.central
    if c.url == "local":
        return Path(c.local.data_dir) / "keys" / CENTRAL_SIGNING_PUB
    if c.public_key is None:
        raise ConfigError("config.missing_key", file=str(cfg.path), key="central.public_key",
                          expected="PEM file of the central's Ed25519 permit key")
    return Path(c.public_key)


def pinned_permit_key(cfg: Any) -> Ed25519PublicKey:
    """The central's permit-signing public key (raises KeyFileError when missing or not Ed25519)."""
    return load_ed25519_public(permit_key_path(cfg))
