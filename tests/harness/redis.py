"""A real `redis-server` on a free loopback port, started as the pod starts it (see the `redis`
service of `docker-compose.yml`: append-only file, `everysec` fsync, no RDB snapshots), and
killable, freezable and restartable on the same port with the same data directory.
"""

from __future__ import annotations

import socket
from pathlib import Path

from .processes import Process, free_port
from .waiting import eventually


class RedisServer:
    def __init__(self, workdir: Path, appendonly: bool = True, port: int | None = None, maxmemory: str = "32mb"):
        """`maxmemory`: the compose file's by default."""
        self.workdir = workdir
        self.data_dir = workdir / "redis-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.appendonly = appendonly
        self.maxmemory = maxmemory
        self.port = port or free_port()
        self.process: Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "RedisServer":
        """Starts (or restarts) the server and waits until it answers PING with its data loaded."""
        self.starts += 1
        argv = [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--dir", str(self.data_dir),
            "--maxmemory", self.maxmemory,
            "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        self.process = Process(f"redis-{self.starts}", argv, self.workdir).start()
        eventually(lambda: self.command("PING") == "PONG", 10, f"redis on port {self.port} answers PING")
        return self

    def kill(self) -> None:
        """SIGKILL: gone at once, no shutdown work (an append-only file keeps what was
        fsynced, i.e. all but at most the last second)."""
        assert self.process is not None
        self.process.kill()

    def pause(self) -> None:
        """SIGSTOP: the port stays open and connections hang."""
        assert self.process is not None
        self.process.pause()

    def resume(self) -> None:
        assert self.process is not None
        self.process.resume()

    def command(self, *args: str, timeout: float = 1.0):
        """One command on a new connection; the reply decoded (simple types and arrays)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(encode(args))
            reader = sock.makefile("rb")
            return decode(reader)

    def __enter__(self) -> "RedisServer":
        return self

    def __exit__(self, *_exc) -> None:
        if self.process is not None:
            self.process.kill()


def encode(args: tuple[str, ...]) -> bytes:
    """A command in RESP: an array of bulk strings."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(parts)


def decode(reader):
    """One RESP reply from a binary file-like object."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed mid-reply")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(f"redis error: {rest}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        return None if length < 0 else reader.read(length + 2)[:-2].decode()
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [decode(reader) for _ in range(count)]
    raise ConnectionError(f"unexpected reply {line!r}")
