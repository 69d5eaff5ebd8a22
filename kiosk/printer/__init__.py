"""Card production: printer drivers (Evolis, CUPS), the e-KTP layout, consumables and the print gate."""
