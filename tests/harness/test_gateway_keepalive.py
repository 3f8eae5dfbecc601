"""Idle keep-alive connections at the gateway (gateway/nginx.conf, run for real by the machine's
nginx, in front of the release binaries), as docs/configuration.md, "Clients that hold connections
at the gateway", says them: after an answer the gateway keeps a connection open for the client's
next request for its `keepalive_timeout` (a few seconds, not nginx's default 75 s) and then closes
it; a request over the client's share is refused and its connection closed at once. So one address
that opens many connections, sends one request on each and then holds them idle, on a path with no
route as on a route, holds none of them past the timeout (+1 s), and holds idle no more than its
answered requests, while another client is answered meanwhile. Each test is a client of its own (its
own loopback address), so no test spends another's share."""

from __future__ import annotations

import shutil

import pytest

from harness import httpclient
from harness.floods import Flood, established
from harness.gateway import seconds_setting
from harness.waiting import eventually

CONNECTIONS = 200
"""More than a client's burst (40) and what its rate gives back while they open: some are refused."""
BURST = 40
NGINX_DEFAULT = 75.0

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


@pytest.mark.parametrize(
    "path, source, other",
    [("/no-such-path", "127.0.0.31", "127.0.0.32"), ("/service2/", "127.0.0.33", "127.0.0.34")],
    ids=["unrouted", "routed"],
)
def test_one_address_holding_idle_connections_holds_each_for_the_keepalive_timeout_at_most(
    behind_the_gateway, path, source, other
):
    gateway = behind_the_gateway.gateway
    timeout = seconds_setting("keepalive_timeout", NGINX_DEFAULT)
    assert timeout <= 10, f"keepalive_timeout {timeout} s: an idle connection is held seconds, not a minute"
    with Flood("idle-keepalive", gateway.port, CONNECTIONS, path, hold_for=timeout + 3, source=source) as flood:
        eventually(lambda: established(gateway.port) >= BURST, 4.0, "the flood's answered connections held")
        for asked, expected in (("/service2/", 200), ("/no-such-path", 404)):
            answer = httpclient.get(gateway.url(asked), timeout=1.0, source=other)
            assert (answer.status, answer.elapsed <= 1.0) == (expected, True), f"another client: {asked} {answer}"
        result = flood.result()
    assert (result.opened, result.failed_to_open, result.still_open) == (CONNECTIONS, 0, 0), result
    assert set(result.statuses) <= {200, 404, 429}, result.statuses
    answered = sum(count for status, count in result.statuses.items() if status != 429)
    refused = result.statuses.get(429, 0)
    assert answered >= BURST and refused > 0, f"the share was not applied: {result.statuses}"
    # Measured from the end of each answer: an answered connection kept for the next request (a
    # client gains from it), then closed; a refused one closed at once.
    closed = sorted(result.closed_after)
    assert closed[-1] <= timeout + 1, f"an idle connection closed {closed[-1]:.1f} s after its answer"
    held = [seconds for seconds in closed if seconds >= timeout - 0.5]
    assert len(held) == answered, f"{answered} answered, {len(held)} held about {timeout} s: {closed[:5]}..."
    assert closed[refused - 1] <= 0.5, f"a refused connection stayed {closed[refused - 1]:.1f} s"
