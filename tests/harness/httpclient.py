"""A tiny HTTP/1.1 client for probing services: each call on a new connection, timed.

`get` is what a normal client does; `send_raw` writes exact bytes (for requests no well-behaved
client library would send) and reads the answer until the server closes the connection.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    status: int
    body: bytes
    elapsed: float
    """Seconds from opening the connection to the end of the body."""
    headers: dict[str, str] = field(default_factory=dict)
    """Header names in lower case."""

    def json(self) -> Any:
        return json.loads(self.body)


def get(
    url: str, timeout: float = 5.0, method: str = "GET", headers: dict | None = None, source: str | None = None
) -> Response:
    """One request on a new connection (from the local address `source`, e.g. another loopback
    address to be another client); raises `OSError` (a timeout included) on failure."""
    scheme, _, rest = url.partition("://")
    if scheme != "http":
        raise ValueError(f"only http:// URLs: {url}")
    hostport, slash, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    started = time.monotonic()
    source_address = (source, 0) if source else None
    connection = http.client.HTTPConnection(host, int(port or 80), timeout=timeout, source_address=source_address)
    try:
        connection.request(method, slash + path, headers=headers or {})
        answer = connection.getresponse()
        body = answer.read()
        return Response(
            status=answer.status,
            body=body,
            elapsed=time.monotonic() - started,
            headers={name.lower(): value for name, value in answer.getheaders()},
        )
    finally:
        connection.close()


def status_of(url: str, timeout: float = 2.0) -> int | None:
    """The status `url` answers with, or None when it cannot be reached."""
    try:
        return get(url, timeout=timeout).status
    except OSError:
        return None


@dataclass
class RawAnswer:
    status: int | None
    """None when the server closed the connection without a status line."""
    head: bytes
    body: bytes
    elapsed: float


def send_raw(
    port: int, request: bytes, timeout: float = 5.0, host: str = "127.0.0.1", head: bool = False
) -> RawAnswer:
    """Writes `request` as it is and reads one answer: its head, then as many body bytes as its
    `Content-Length` says (none for a HEAD request, `head=True`), or until the server closes.
    The write side stays open: a server may close a half-closed connection without answering.
    """
    started = time.monotonic()
    data = b""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except OSError:
            pass  # the server may answer and close before reading everything (e.g. 431)
        try:
            while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
                data += chunk
            response_head, _, body = data.partition(b"\r\n\r\n")
            length = 0 if head else content_length(response_head)
            while (length is None or len(body) < length) and (chunk := sock.recv(65536)):
                body += chunk
        except ConnectionResetError:
            response_head, _, body = data.partition(b"\r\n\r\n")
    return RawAnswer(
        status=parse_status(response_head),
        head=response_head,
        body=body,
        elapsed=time.monotonic() - started,
    )


def content_length(head: bytes) -> int | None:
    """The `Content-Length` of a response head, None when it has none."""
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    return int(match.group(1)) if match else None


def parse_status(data: bytes) -> int | None:
    """The status code of the HTTP/1.x status line `data` starts with."""
    line = data.split(b"\r\n", 1)[0].split(b" ")
    if len(line) >= 2 and line[0].startswith(b"HTTP/1.") and line[1].isdigit():
        return int(line[1])
    return None


class KeptConnection:
    """One keep-alive connection to `host:port`, opened at once and used for every request: to
    reach a server whose connection slots are all taken (a new connection would wait)."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self._connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self._connection.connect()

    def get(self, path: str) -> Response:
        started = time.monotonic()
        self._connection.request("GET", path)
        answer = self._connection.getresponse()
        body = answer.read()
        headers = {name.lower(): value for name, value in answer.getheaders()}
        return Response(answer.status, body, time.monotonic() - started, headers)

    def close(self) -> None:
        self._connection.close()
