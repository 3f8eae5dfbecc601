"""Many hostile connections at once, and when the server closed each one.

- `silent`: each connection sends nothing at all;
- `slow_headers`: each connection sends the start of a request head and then one more header
  line every `drip_every` seconds, never the blank line that ends it (slowloris).
- `unfinished-heads`: the same, but each connection sends the start of its head as soon as it is
  connected, before the next one opens (nginx closes a connection that has sent nothing yet when
  it runs out of room, "reusing connections"; one with a head begun it must keep).
- `idle_keepalive`: each connection sends one complete request, reads the answer, and then sends
  nothing, holding the keep-alive connection open.

A flood runs in a child process (`Flood`), so that its thousands of sockets never slow down the
caller's own measurements (a normal client timing its answers meanwhile).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HARNESS_PARENT = Path(__file__).resolve().parents[1]
BATCH = 100
"""Connections opened at once: more would overflow the server's listen backlog in one burst."""


@dataclass
class FloodResult:
    opened: int = 0
    failed_to_open: int = 0
    closed_after: list[float] = field(default_factory=list)
    """Per connection the server closed: seconds from the moment the clock started (the connect
    for silent connections, the first byte of the head, or the end of the answer for idle
    connections) to the close."""
    still_open: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    """Statuses the server answered with (e.g. 408 before closing a slow head)."""

    @property
    def max_closed_after(self) -> float:
        return max(self.closed_after, default=0.0)


async def _connect(
    host: str, port: int, first: bytes, source: str | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0) if source else None)
    if first:
        writer.write(first)
        await writer.drain()
    return reader, writer


def _head_start(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode()


async def _open(
    host: str, port: int, count: int, result: FloodResult, first: bytes = b"", source: str | None = None
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]:
    connections = []
    for start in range(0, count, BATCH):
        batch = range(start, min(count, start + BATCH))
        opened = await asyncio.gather(*(_connect(host, port, first, source) for _ in batch), return_exceptions=True)
        opened_at = time.monotonic()
        for item in opened:
            if isinstance(item, BaseException):
                result.failed_to_open += 1
            else:
                connections.append((*item, opened_at))
    result.opened = len(connections)
    return connections


def _record_status(data: bytes, result: FloodResult) -> None:
    if data.startswith(b"HTTP/1."):
        status = int(data.split(b" ", 2)[1])
        result.statuses[status] = result.statuses.get(status, 0) + 1


async def _slow_head(
    reader, writer, path: str, drip_every: float, hold_for: float, result: FloodResult, begun_at: float | None = None
) -> None:
    """`begun_at`: when the head's start was sent already (with the connect), else now."""
    started = begun_at or time.monotonic()
    try:
        if begun_at is None:
            writer.write(_head_start(path))
            await writer.drain()
        line = 0
        while time.monotonic() - started < hold_for:
            try:
                data = await asyncio.wait_for(reader.read(4096), drip_every)
            except asyncio.TimeoutError:
                line += 1
                writer.write(f"X-Slow-{line}: still typing\r\n".encode())
                await writer.drain()
                continue
            if not data:
                break
            _record_status(data, result)
        else:
            result.still_open += 1
            return
    except OSError:
        pass  # a reset or a refused write: the server closed it
    result.closed_after.append(time.monotonic() - started)
    writer.close()


async def _idle(reader, writer, path: str, hold_for: float, result: FloodResult) -> None:
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        _record_status(head, result)
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
            0,
        )
        await reader.readexactly(length)
        idle_since = time.monotonic()
        try:
            data = await asyncio.wait_for(reader.read(1), hold_for)
        except asyncio.TimeoutError:
            result.still_open += 1
            return
        if data:
            raise ConnectionError("unexpected data on an idle connection")
    except (OSError, asyncio.IncompleteReadError):
        idle_since = time.monotonic()  # closed before or while answering
    result.closed_after.append(time.monotonic() - idle_since)
    writer.close()


async def _silent(reader, writer, opened_at: float, hold_for: float, result: FloodResult) -> None:
    try:
        data = await asyncio.wait_for(reader.read(4096), hold_for - (time.monotonic() - opened_at))
    except asyncio.TimeoutError:
        result.still_open += 1
        return
    except OSError:
        data = b""
    _record_status(data, result)
    result.closed_after.append(time.monotonic() - opened_at)
    writer.close()


async def _flood(
    kind: str, host: str, port: int, count: int, path: str, hold_for: float, drip_every: float, source: str | None
) -> FloodResult:
    result = FloodResult()
    first = _head_start(path) if kind == "unfinished-heads" else b""
    connections = await _open(host, port, count, result, first, source)
    if kind == "silent":
        # Opened in batches: each connection's clock starts when the connects of its batch had
        # completed (a few milliseconds after its own).
        tasks = [_silent(r, w, opened_at, hold_for, result) for r, w, opened_at in connections]
    elif kind == "slow-headers":
        tasks = [_slow_head(r, w, path, drip_every, hold_for, result) for r, w, _ in connections]
    elif kind == "unfinished-heads":
        # Each clock starts when the connects (and first writes) of its batch had completed.
        tasks = [_slow_head(r, w, path, drip_every, hold_for, result, opened_at) for r, w, opened_at in connections]
    else:
        tasks = [_idle(r, w, path, hold_for, result) for r, w, _ in connections]
    await asyncio.gather(*tasks)
    for _, writer, _ in connections:
        writer.close()
    return result


def established(port: int) -> int:
    """Connections to `port` on loopback the kernel holds established (the server's ends)."""
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "01" for line in lines)


class Flood:
    """A flood running in a child Python process (`python3 -m harness.floods`); `result()`
    waits for it and reads the JSON it prints. `source`: the local address its connections come
    from (another loopback address is another client to a server that counts per address)."""

    def __init__(
        self,
        kind: str,
        port: int,
        count: int,
        path: str,
        hold_for: float,
        drip_every: float = 1.0,
        host: str = "127.0.0.1",
        source: str = "",
    ):
        assert kind in ("silent", "slow-headers", "unfinished-heads", "idle-keepalive"), kind
        self.hold_for = hold_for
        argv = [sys.executable, "-m", "harness.floods", kind, host, str(port), str(count), path, str(hold_for)]
        argv += [str(drip_every), source]
        self._process = subprocess.Popen(
            argv, cwd=HARNESS_PARENT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )

    def result(self) -> FloodResult:
        output, _ = self._process.communicate(timeout=self.hold_for + 60)
        if self._process.returncode != 0:
            raise RuntimeError(f"the flood failed with status {self._process.returncode}")
        data = json.loads(output)
        data["statuses"] = {int(status): count for status, count in data["statuses"].items()}
        return FloodResult(**data)

    def __enter__(self) -> "Flood":
        return self

    def __exit__(self, *_exc) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def main() -> None:
    from .processes import raise_open_files_limit

    kind, host, port, count, path, hold_for, drip_every, source = sys.argv[1:]
    raise_open_files_limit()
    flood = _flood(kind, host, int(port), int(count), path, float(hold_for), float(drip_every), source or None)
    result = asyncio.run(flood)
    print(json.dumps(dataclasses.asdict(result)))


if __name__ == "__main__":
    main()
