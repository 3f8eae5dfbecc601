"""Request bodies at the gateway (gateway/nginx.conf, run for real by the machine's nginx, in front of
two api-b release binaries as one upstream): no route takes a body, so a request that declares one
(a Content-Length other than 0, or any Transfer-Encoding) is refused with the
`request-body-too-large` problem before nginx reads it and before any service sees it. A service
answering a request whose body it never reads would make nginx's write fail and count the server
down, for every client; none does: another client is answered right after. A client still sending
its body after the refusal, a byte at a time or not at all, is closed within nginx's lingering
time (+1 s: nginx counts it in whole seconds) of the refusal."""

from __future__ import annotations

import json
import re
import select
import shutil
import socket
import time

import pytest

from harness import httpclient
from harness.gateway import seconds_setting

BODY_TOO_LARGE = "tag:btc-price-services,2026:request-body-too-large"
OPERATIONAL = ("/metrics", "/readyz", "/healthz")
MIB = 1 << 20

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


@pytest.fixture(scope="module")
def two_servers(start_api_b, start_gateway):
    """Two api-b behind /service2 (api-a's routes lead nowhere: a request reaching them would be
    service-unreachable, not the refusal); the gateway and the two services."""
    one, two = start_api_b(name="api-b-bodies-one"), start_api_b(name="api-b-bodies-two")
    gateway = start_gateway(service_b=[f"127.0.0.1:{one.port}", f"127.0.0.1:{two.port}"], name="gateway-bodies")
    return gateway, (one, two)


def requests_served(services) -> int:
    """The requests the services served on their routes (their operational ones not counted)."""
    total = 0
    for service in services:
        for line in httpclient.get(service.url("/metrics")).body.decode().splitlines():
            found = re.match(r'http_requests_total\{.*route="([^"]*)".*\} (\d+)$', line)
            if found and not found.group(1).startswith(OPERATIONAL):
                total += int(found.group(2))
    return total


def chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


BODIES = {
    "1 MiB by Content-Length": (b"Content-Length: %d\r\n" % MIB, b"a" * MIB),
    "1 MiB chunked": (b"Transfer-Encoding: chunked\r\n", chunked(b"a" * MIB)),
    "one byte": (b"Content-Length: 1\r\n", b"a"),
    "an empty chunked one": (b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
}


@pytest.mark.parametrize("what", BODIES)
def test_a_request_that_declares_a_body_is_refused_before_any_service_sees_it(two_servers, what):
    gateway, services = two_servers
    fields, body = BODIES[what]
    before = requests_served(services)
    for path in ("/service2/", "/service1/history", "/service1/"):
        request = b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n%s" % (path.encode(), fields, body)
        answer = httpclient.send_raw(gateway.port, request)
        assert answer.status == 413, f"{what} to {path}: {answer.status} {answer.body[:200]!r}"
        assert b"content-type: application/problem+json" in answer.head.lower()
        assert json.loads(answer.body)["type"] == BODY_TOO_LARGE
        # Two servers in the upstream: a failed write to either would have counted it down.
        after = httpclient.get(gateway.url("/service2/"), source="127.0.0.31")
        assert after.status == 200, f"another client after {what} to {path}: {after.status} {after.body[:200]!r}"
    assert requests_served(services) == before + 3, "a request with a body reached a service"


@pytest.mark.parametrize("drip_every", [0.5, None], ids=["a byte every 0.5 s", "silent"])
def test_a_client_still_sending_its_body_is_closed_within_the_lingering_time(two_servers, drip_every):
    gateway, _ = two_servers
    bound = seconds_setting("lingering_time", 30.0) + 1
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as conn:
        conn.sendall(b"GET /service2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        answer, answered, closed = b"", None, None
        deadline = time.monotonic() + bound + 5
        while closed is None and time.monotonic() < deadline:
            try:
                if drip_every:
                    conn.sendall(b"a")
                readable, _, _ = select.select([conn], [], [], drip_every or 0.5)
                if readable:
                    chunk = conn.recv(65536)
                    if not chunk:
                        closed = time.monotonic()
                    elif answered is None:
                        answered = time.monotonic()
                    answer += chunk
            except OSError:
                closed = time.monotonic()
    assert answer.startswith(b"HTTP/1.1 413 ") and BODY_TOO_LARGE.encode() in answer, answer[:300]
    assert closed is not None, f"still open {bound + 5:.0f} s after the refusal"
    assert closed - answered <= bound, f"closed {closed - answered:.1f} s after the refusal"
