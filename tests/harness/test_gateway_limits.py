"""The gateway's per-client rate limits (gateway/nginx.conf, run for real by the machine's nginx, in
front of the release binaries), as docs/configuration.md, "What one client may ask", says them: a
client is counted per service, so using up its share of one leaves it the other's; api-a's dear
routes (the page and /history) share one tighter count, which leaves its cheap routes alone. Each
test is a client of its own (its own loopback address), so no test spends another's share."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from harness import httpclient

TOO_MANY_REQUESTS = "tag:btc-price-services,2026:too-many-requests"
DEAR_RATE, DEAR_BURST = 5, 20
GENERAL_RATE, GENERAL_BURST = 20, 40

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")


@pytest.fixture(scope="module")
def gateway(behind_the_gateway):
    return behind_the_gateway.gateway


def until_refused(url: str, source: str, most: int) -> tuple[int, httpclient.Response | None, float]:
    """Asks `url` from `source` until it is refused (at most `most` times): the requests
    answered 200 before, the refusal (None if none) and the seconds it took."""
    started, admitted = time.monotonic(), 0
    for _ in range(most):
        answer = httpclient.get(url, source=source)
        if answer.status == 429:
            return admitted, answer, time.monotonic() - started
        assert answer.status == 200, f"{url}: {answer.status} {answer.body[:200]!r}"
        admitted += 1
    return admitted, None, time.monotonic() - started


def assert_too_many_requests(answer: httpclient.Response | None) -> None:
    assert answer is not None, "never refused"
    assert answer.headers["content-type"] == "application/problem+json"
    assert json.loads(answer.body)["type"] == TOO_MANY_REQUESTS
    assert answer.headers["retry-after"] == "1"


def test_a_client_that_used_up_one_services_share_still_gets_the_other(gateway):
    client = "127.0.0.21"
    _, refusal, _ = until_refused(gateway.url("/service2/"), client, GENERAL_BURST * 5)
    assert_too_many_requests(refusal)
    for path in ("/service1/current", "/service1/"):
        answer = httpclient.get(gateway.url(path), source=client)
        assert answer.status == 200, f"{path} after /service2/ was used up: {answer.status}"


def test_the_page_and_history_share_one_tighter_count_that_leaves_the_cheap_routes_alone(gateway):
    client = "127.0.0.22"
    admitted, refusal, seconds = until_refused(gateway.url("/service1/"), client, GENERAL_BURST * 5)
    assert_too_many_requests(refusal)
    assert admitted <= DEAR_BURST + DEAR_RATE * seconds + 1, f"{admitted} pages in {seconds:.2f} s"
    # A count of its own would admit a burst of them at once; the one count admits what its rate
    # gave back meanwhile.
    for path in ("/service1", "/service1/history", "/service1/history?max_points=5000"):
        started = time.monotonic()
        admitted = sum(httpclient.get(gateway.url(path), source=client).status == 200 for _ in range(DEAR_BURST // 2))
        assert admitted <= DEAR_RATE * (time.monotonic() - started) + 1, f"{path}: {admitted} admitted, counted apart"
    for path in ("/service1/current", "/service1/average", "/service1/openapi.json", "/service2/"):
        assert httpclient.get(gateway.url(path), source=client).status == 200, f"{path} is held to the dear count"


def test_a_cheap_route_keeps_its_burst_of_40(gateway):
    client = "127.0.0.23"
    statuses = [httpclient.get(gateway.url("/service1/average"), source=client).status for _ in range(GENERAL_BURST)]
    assert statuses == [200] * GENERAL_BURST


def test_a_path_that_only_ends_like_a_cheap_route_is_held_to_the_dear_count(gateway):
    # A final %0A: PCRE's $ matches before a final newline, \z does not. api-a knows none of them.
    client = "127.0.0.24"
    paths = ("/service1/current%0A", "/service1/average%0A", "/service1/openapi.json%0A")
    started, admitted, refused = time.monotonic(), 0, None
    for i in range(GENERAL_BURST + 5):
        answer = httpclient.get(gateway.url(paths[i % len(paths)]), source=client)
        if answer.status == 429:
            refused = answer
            break
        assert answer.status == 404, f"{paths[i % len(paths)]}: {answer.status} {answer.body[:200]!r}"
        admitted += 1
    assert_too_many_requests(refused)
    seconds = time.monotonic() - started
    assert admitted <= DEAR_BURST + DEAR_RATE * seconds + 1, f"{admitted} admitted in {seconds:.2f} s"


def test_paths_with_no_route_have_a_count_of_their_own_that_leaves_the_services_and_other_clients_alone(gateway):
    # The gateway's own internal pages asked for from outside are paths with no route too.
    client, other = "127.0.0.25", "127.0.0.26"
    paths = ("/nope", "/service3/", "/no-route", "/head-too-large", "/malformed-request", "/internal-error")
    started, admitted, refused = time.monotonic(), 0, None
    for i in range(GENERAL_BURST * 5):
        answer = httpclient.get(gateway.url(paths[i % len(paths)]), source=client)
        if answer.status == 429:
            refused = answer
            break
        assert answer.status == 404, f"{paths[i % len(paths)]}: {answer.status} {answer.body[:200]!r}"
        assert json.loads(answer.body)["type"] == "tag:btc-price-services,2026:not-found"
        admitted += 1
    assert_too_many_requests(refused)
    seconds = time.monotonic() - started
    assert GENERAL_BURST <= admitted <= GENERAL_BURST + GENERAL_RATE * seconds + 1, f"{admitted} in {seconds:.2f} s"
    assert refused.headers["connection"] == "close"
    assert httpclient.get(gateway.url("/nope"), source=other).status == 404, "another client was refused"
    for path in ("/service1/current", "/service1/", "/service2/"):
        assert httpclient.get(gateway.url(path), source=client).status == 200, f"{path} is held to the unrouted count"


def test_a_routes_percent_encoded_spelling_is_counted_as_the_route_and_reaches_the_service_as_spelled(gateway):
    # nginx matches and counts the decoded path ($uri) and passes the path as the client spelled
    # it; api-a routes the path as it comes: no route of its own at that spelling.
    client = "127.0.0.27"
    answer = httpclient.get(gateway.url("/service1/%68istory"), source=client)
    assert answer.status == 404, answer
    assert json.loads(answer.body)["type"] == "tag:btc-price-services,2026:not-found"
    assert "x-request-id" in answer.headers
    admitted, refused = 1, None
    started = time.monotonic()
    for _ in range(GENERAL_BURST):
        answer = httpclient.get(gateway.url("/service1/%68istory"), source=client)
        if answer.status == 429:
            refused = answer
            break
        assert answer.status == 404, answer
        admitted += 1
    assert_too_many_requests(refused)
    seconds = time.monotonic() - started
    assert admitted <= DEAR_BURST + DEAR_RATE * seconds + 1, f"{admitted} admitted in {seconds:.2f} s: not the dear count"
    # A cheap route's spelling is counted with the cheap ones (the dear count is used up).
    assert httpclient.get(gateway.url("/service1/%63urrent"), source=client).status == 404
