"""Clients that never read what the server answers, each on its own connection with a small
receive buffer (as a client that wants to stall the server's writes asks the kernel for):

- pipelined: writes request after request, as many as the server takes (up to `BUDGET` bytes,
  far more answers than the kernel buffers), then stops sending, and never reads;
- not pipelined: sends its request once (for a large answer), and never reads.

The client cannot see when the server gives up (it reads nothing), so the server's own gauge
says when the connections are gone (see the drills). `DeafClients` holds them in a child Python
process (`python3 -m harness.deaf`), so that its busy sending never delays the caller's own
measurements; the child reports when it stopped sending and holds the sockets until told to go.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

HARNESS_PARENT = Path(__file__).resolve().parents[1]
RECEIVE_BUFFER = 4096
BUDGET = 256 << 10
STALLED_FOR = 0.2
"""No connection took a byte for this long: the server stopped reading them all."""


class DeafClients:
    """`count` clients on `port`, each sending `request` (pipelined: again and again) and never
    reading, from when the context is entered until it is left."""

    def __init__(self, port: int, count: int, request: bytes, pipelined: bool, host: str = "127.0.0.1"):
        self.argv = [sys.executable, "-m", "harness.deaf", host, str(port), str(count), request.decode(), str(int(pipelined))]
        self.sent_bytes = 0
        self.stopped_sending = 0.0
        """time.monotonic() (one clock for every process) when the clients stopped sending: from
        then on, only the server's deadlines can free the connections."""
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "DeafClients":
        self._process = subprocess.Popen(
            self.argv, cwd=HARNESS_PARENT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            raise RuntimeError(f"the deaf clients failed with status {self._process.returncode}")
        report = json.loads(line)
        self.sent_bytes, self.stopped_sending = report["sent_bytes"], report["stopped_sending"]
        return self

    def __exit__(self, *_exc) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connecting, so the window the client offers stays small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.connect((host, port))
    sock.setblocking(False)
    return sock


def _pipeline(sockets: list[socket.socket], request: bytes) -> int:
    """Sends requests on every connection in turn until the server stops taking them on all
    (or `BUDGET` bytes each), so that all of them stall at about the same time."""
    stream = request * 64
    sent = {sock: 0 for sock in sockets}
    stalled_since: float | None = None
    while stalled_since is None or time.monotonic() - stalled_since < STALLED_FOR:
        progress = False
        for sock in sockets:
            if sent[sock] >= BUDGET:
                continue
            try:
                sent[sock] += sock.send(stream)
                progress = True
            except BlockingIOError:
                pass
            except OSError:
                sent[sock] = BUDGET  # the server already gave up on it
        if progress:
            stalled_since = None
        else:
            stalled_since = stalled_since or time.monotonic()
            time.sleep(0.01)
    return sum(sent.values())


def _send_once(sockets: list[socket.socket], request: bytes) -> int:
    """Sends `request` on each connection (the server takes it at once)."""
    for sock in sockets:
        sock.setblocking(True)
        sock.sendall(request)
        sock.setblocking(False)
    return len(request) * len(sockets)


def main() -> None:
    from .processes import raise_open_files_limit

    host, port, count, request, pipelined = sys.argv[1:]
    raise_open_files_limit()
    sockets = [_connect(host, int(port)) for _ in range(int(count))]
    send = _pipeline if pipelined == "1" else _send_once
    sent = send(sockets, request.encode())
    print(json.dumps({"sent_bytes": sent, "stopped_sending": time.monotonic()}), flush=True)
    sys.stdin.read()  # holds the sockets, unread, until the caller is done


if __name__ == "__main__":
    main()
