"""What the harness's gateway tests share: api-a (with a price) and api-b, the release binaries,
behind one real nginx running gateway/nginx.conf, started once for the session (one pod: two
would share a Redis folder)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.gateway import Gateway


@dataclass(frozen=True)
class BehindTheGateway:
    gateway: Gateway
    api_a_port: int
    api_b_port: int


@pytest.fixture(scope="session")
def behind_the_gateway(start_pod, start_api_b, start_gateway) -> BehindTheGateway:
    pod = start_pod({"kraken": 80_000.0})
    api_b = start_api_b()
    gateway = start_gateway(service_a=[f"127.0.0.1:{pod.api.port}"], service_b=[f"127.0.0.1:{api_b.port}"])
    return BehindTheGateway(gateway, pod.api.port, api_b.port)
