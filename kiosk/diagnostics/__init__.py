"""Technician diagnostics, one implementation for ``kiosk devices`` / ``kiosk diag``, the TUI's
diagnostics screen and the running kiosk's control socket.

- :mod:`.words`: a device error in the technician's terms (device, port or USB id, OS error) next
  to the operator's short sentence; self-test details in the station's language.
- :mod:`.runner`: the procedure (open, info, self-test, one test capture, close), each step timed,
  and the status listing.
- :mod:`.ports`: the configured ports next to the machine's real serial ports.
- :mod:`.bundle`: the exported bundle (versions, config without secrets, devices, last exchanges,
  last log lines, queue counts; no personal data).
- :mod:`.control`: the running kiosk answers ``kiosk devices`` / ``kiosk diag`` on a local socket.
"""
