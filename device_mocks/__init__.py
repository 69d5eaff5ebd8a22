"""Device mocks that emulate hardware at the wire (pty, pyusb backend, video, HTTP)."""
