"""The resident's receipt (tanda terima perekaman): what is on it (:mod:`.content`), the PDF
with its QR code (:mod:`.pdf`), printed through CUPS (kiosk.printer.cups)."""
