"""Request heads the services' HTTP layer refuses but nginx lets through (gateway/nginx.conf, run for
real by the machine's nginx, in front of the release binaries): more header fields than hyper's
100, a head over the services' 16 KiB made of lines within nginx's own limits, a control character
in a header value. Asked directly, a service answers them bare (hyper's own 431 or 400: no body,
none of the services' headers); through the gateway each is a problem like the services' errors,
on every route, /service1/history (however its path is spelled) too, and a 400 of a service itself
(api-a's invalid-max-points) still reaches the client as the service gave it."""

from __future__ import annotations

import json
import shutil

import pytest

from harness import httpclient

PREFIX = "tag:btc-price-services,2026:"
ROUTES = ("/service1/current", "/service1/", "/service1/history", "/service2/")
# /service1/history, whose service answers 400 problems of its own, under the spellings nginx
# reads as that path.
HISTORY = ("/service1/history?max_points=3", "/service1/%68istory", "/service1//history")
# What each head is: its header fields, the problem the gateway answers it with, and the routes
# where it is tried.
HEADS = {
    "150 header fields": ([(f"X-Many-{i}", "a") for i in range(150)], 431, "request-head-too-large", ROUTES),
    "four header fields of 15 KiB": ([(f"X-Big-{i}", "b" * 15 * 1024) for i in range(4)], 431, "request-head-too-large",
                                     ROUTES),
    "a control character in a header value": ([("X-Odd", "a\x01b")], 400, "malformed-request", ROUTES + HISTORY),
}  # fmt: skip

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


@pytest.fixture(scope="module")
def services(behind_the_gateway):
    """The port of each service by its prefix, and the gateway's."""
    them = behind_the_gateway
    return {"/service1": them.api_a_port, "/service2": them.api_b_port, "gateway": them.gateway.port}


def request(path: str, headers: list[tuple[str, str]]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{lines}\r\n".encode("latin-1")


def headers_of(answer: httpclient.RawAnswer) -> dict[str, str]:
    lines = answer.head.decode("latin-1").split("\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}


@pytest.mark.parametrize("what", HEADS)
def test_a_head_a_service_refuses_bare_is_a_problem_through_the_gateway(services, what):
    fields, status, code, paths = HEADS[what]
    for path in paths:
        direct = httpclient.send_raw(services[path[:9]], request(path, fields))
        assert (direct.status, direct.body) == (status, b""), f"{what} to {path}, directly: not hyper's bare {status}"
        assert "content-type" not in headers_of(direct)

        answer = httpclient.send_raw(services["gateway"], request(path, fields))
        headers = headers_of(answer)
        assert answer.status == status, f"{what} to {path}: {answer.status} {answer.body[:200]!r}"
        assert headers["content-type"] == "application/problem+json", f"{what} to {path}: {headers}"
        problem = json.loads(answer.body)
        assert (problem["type"], problem["status"]) == (PREFIX + code, status)
        assert problem["title"] and problem["detail"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-request-id"]


def test_a_services_own_bad_request_reaches_the_client_as_the_service_gave_it(services):
    path = "/service1/history?max_points=1"
    direct = httpclient.get(f"http://127.0.0.1:{services['/service1']}{path}")
    answer = httpclient.get(f"http://127.0.0.1:{services['gateway']}{path}")
    assert (answer.status, answer.body) == (direct.status, direct.body) == (400, direct.body)
    assert json.loads(answer.body)["type"] == PREFIX + "invalid-max-points"
    for name in ("content-type", "cache-control", "content-security-policy", "x-content-type-options"):
        assert answer.headers.get(name) == direct.headers.get(name), name
    assert answer.headers["x-request-id"]


# What a service receives through the gateway is the client's head less its Connection header
# (and its X-Request-ID, replaced) plus what nginx adds: X-Request-ID (32 hex digits), X-Real-IP,
# X-Forwarded-For and X-Forwarded-Proto, four fields and 123 bytes from 127.0.0.1. So hyper's 100
# fields and 16 KiB are, for the client, 96 fields (Host included) and 16 384 - 123 bytes.
MOST_FIELDS = 100 - 4
MOST_BYTES = 16 * 1024 - 123


def head_of(size: int, fields: int = 2) -> bytes:
    """A GET of /service2/ of exactly `size` bytes: Host and `fields - 1` other fields, the last
    one padded; no Connection header (the gateway drops it)."""
    lines = [b"GET /service2/ HTTP/1.1", b"Host: localhost"] + [b"X-Many-%d: a" % i for i in range(fields - 2)]
    start = b"\r\n".join(lines) + b"\r\nX-Pad: "
    return start + b"p" * (size - len(start) - 4) + b"\r\n\r\n"


def test_the_gateway_passes_heads_up_to_the_limits_docs_api_md_states(services):
    gateway = services["gateway"]
    statuses = {
        "most fields": httpclient.send_raw(gateway, head_of(2000, MOST_FIELDS)).status,
        "one field more": httpclient.send_raw(gateway, head_of(2000, MOST_FIELDS + 1)).status,
        "most bytes": httpclient.send_raw(gateway, head_of(MOST_BYTES)).status,
        "one byte more": httpclient.send_raw(gateway, head_of(MOST_BYTES + 1)).status,
    }
    assert statuses == {"most fields": 200, "one field more": 431, "most bytes": 200, "one byte more": 431}
