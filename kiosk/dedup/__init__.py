"""Duplicates seen from the station, before upload: the NIK asked at the central
(:mod:`.nik_lookup`), the NIK's district against the station's (:mod:`.district`) and the
new record's fingers against the station's own recent records (:mod:`.local`)."""
