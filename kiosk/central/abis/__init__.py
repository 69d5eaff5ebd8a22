"""The central's ABIS (automated biometric identification): OSIA-shaped boundary
(:mod:`.service`), the indexed gallery (:mod:`.index`, :mod:`.features`) and what the central
decides from it (:mod:`.dedup`)."""
