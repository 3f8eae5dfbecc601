"""The request id through the gateway (gateway/nginx.conf, run for real by the machine's nginx, in
front of the api-b release binary): a client's X-Request-ID is kept only when it is one the
services keep (1 to 128 visible ASCII characters), else nginx's own `$request_id` stands in for it;
either way the gateway's access log, the id it passes to the service (the service's log) and the
one it returns are the same, so one request can be followed from one log to the other."""

from __future__ import annotations

import re
import shutil

import pytest

from harness import httpclient
from harness.waiting import eventually

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")

# The access log writes `"` and `\` escaped (\x22, \x5C): the punctuation here is the rest.
KEPT = ["a", "client-7f3a.req_42:/x?y=z", "~" * 128, "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"]
REPLACED = ["two words", "x" * 129, "tab\there", ""]
NGINX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def logged(start_api_b, start_gateway):
    """api-b logging every request (its access log is at debug level) behind a gateway whose
    access log is kept."""
    api_b = start_api_b(name="api-b-request-ids", env={"LOG_LEVEL": "debug"})
    gateway = start_gateway(service_b=[f"127.0.0.1:{api_b.port}"], name="gateway-request-ids", access_log=True)
    return api_b, gateway


def followed(logged, sent: str) -> tuple[str, list[str], list[str]]:
    """Asks the gateway for api-b's root with `sent` as X-Request-ID: the id it returned, the
    gateway's access log fields and api-b's log ids of that request."""
    api_b, gateway = logged
    answer = httpclient.get(gateway.url("/service2/"), headers={"X-Request-ID": sent})
    assert answer.status == 200, answer.status
    returned = answer.headers["x-request-id"]

    def both_logged():
        fields = [line.rsplit(" request_id=", 1)[-1] for line in gateway.access_log()]
        at_gateway = [field for field in fields if field == returned]
        at_service = [
            line.get("request_id") for line in api_b.process.log_lines() if line.get("request_id") == returned
        ]
        return (at_gateway, at_service) if at_gateway and at_service else None

    at_gateway, at_service = eventually(both_logged, 5, f"request id {returned!r} in both logs")
    return returned, at_gateway, at_service


@pytest.mark.parametrize("sent", KEPT, ids=lambda sent: f"{len(sent)} characters")
def test_a_client_id_the_services_keep_is_logged_passed_on_and_returned_as_sent(logged, sent):
    returned, at_gateway, at_service = followed(logged, sent)
    assert returned == sent
    assert at_gateway == [sent]
    assert at_service == [sent]


@pytest.mark.parametrize("sent", REPLACED, ids=["a space", "129 characters", "a tab", "empty"])
def test_a_client_id_the_services_would_replace_is_nginx_s_own_in_both_logs_and_the_answer(logged, sent):
    returned, at_gateway, at_service = followed(logged, sent)
    assert NGINX_ID.fullmatch(returned), returned
    assert at_gateway == [returned]
    assert at_service == [returned]
