"""A bounded, seeded fuzz of HTTP requests: odd paths, percent-encodings, methods, query strings,
headers and bodies, mostly well-formed and some not. The same seed gives the same requests, so
a failure can be replayed. Every request asks the server to close the connection after it.
"""

from __future__ import annotations

import random

METHODS = ["GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW", "get", "G\x01T"]
SEGMENTS = [
    "", ".", "..", "current", "average", "readyz", "healthz", "metrics", "service1", "service2",
    "%2e%2e", "%2F", "%00", "%zz", "%", "%e2%82%ac", "%ff%fe", "%C0%AE", "a%20b", "~user",
    "index.html", "..;", "\u00e9", ";jsessionid=1", "*", "x" * 300, "y" * 5000,
]  # fmt: skip
QUERIES = [
    "", "?", "?a=1", "?a=1&a=2", "?%zz=%zz", "?q=" + "z" * 2000, "?x[]=1&x[]=2", "?&&&", "?a=%00", "#frag",
]  # fmt: skip
BODIES = [b"", b"{}", b'{"price": 1}', b"\x00\xff" * 64, b"a" * 20000]


def path_for(rng: random.Random, base_paths: list[str]) -> str:
    base = rng.choice(base_paths)
    segments = [rng.choice(SEGMENTS) for _ in range(rng.randint(0, 3))]
    path = "/".join([base.rstrip("/"), *segments]) if segments else base
    if rng.random() < 0.1:
        path = path.replace("/", "//", 1)
    return (path or "/") + rng.choice(QUERIES)


def request(rng: random.Random, base_paths: list[str]) -> tuple[str, bytes]:
    """One request: its method and its bytes."""
    method = rng.choice(METHODS)
    target = path_for(rng, base_paths)
    headers = ["Host: localhost", "Connection: close"]
    body = rng.choice(BODIES) if method not in ("GET", "HEAD") or rng.random() < 0.2 else b""
    framing = rng.random()
    if body and framing < 0.7:
        headers.append(f"Content-Length: {len(body)}")
        payload = body
    elif body:
        headers.append("Transfer-Encoding: chunked")
        payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        payload = b""
    if rng.random() < 0.2:
        headers.append(rng.choice(["Accept: */*", "Content-Type: application/json", "X-Forwarded-For: 1.2.3.4",
                                   "Accept-Encoding: gzip", "Expect: 100-continue", "Range: bytes=0-1"]))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    return method, head.encode("utf-8", errors="surrogateescape") + payload


def requests(seed: int, count: int, base_paths: list[str]) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [request(rng, base_paths) for _ in range(count)]
