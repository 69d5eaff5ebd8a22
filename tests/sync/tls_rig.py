"""What the TLS tests of the sync client share: a TCP relay that can cut its connections, watch
the bytes the station sends, and be pointed at another server (certificates:
:func:`kiosk.central.tls.self_signed_certificate`)."""

from __future__ import annotations

import socket
import threading



class Forwarder:
    """A TCP relay on 127.0.0.1 that can cut every connection (RST) and be pointed at another
    server: the station keeps one address while what answers there changes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        #: every byte the station sent through the relay, in order (one connection at a time)
        self.uplink = bytearray()
        #: cut every connection once this many uplink bytes have been relayed (None: never)
        self.cut_after: int | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.accepted += 1
                self._open += [client, server]
            for a, b, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(a, b, up), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while data := src.recv(65536):
                if up:
                    if self.cut_after is not None and len(self.uplink) + len(data) >= self.cut_after:
                        data = data[:self.cut_after - len(self.uplink)]
                        self.uplink += data
                        dst.sendall(data)
                        self.cut_after = None
                        self.cut()
                        return
                    self.uplink += data
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> None:
        with self._lock:
            for s in self._open:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._open.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


