"""The longer local mode's faults (`OBSERVABILITY_LONG=1`): every other alert fired live, each by
what it names. CI fires these through `promtool test rules` only, to keep its run short."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Callable

from harness import services
from harness.binaries import Binaries
from harness.exchange import REFUSED
from harness.pod import ServiceAPod
from harness.services import Service
from harness.waiting import eventually

# A connection limit low enough to reach with a handful of sockets.
SMALL_CONNECTION_LIMIT = 8
# What a service logs when it reaches its connection limit (service-kit/src/server/connections.rs).
LIMIT_LOG = "connection limit reached"

Fault = tuple[str, list[str], Callable[[], None], Callable[[], None]]


def long_drills(pod: ServiceAPod, api_b: Service, built: Binaries, workdir: Path, stack: contextlib.ExitStack) -> list[Fault]:
    exchange = pod.exchange
    redis = pod.redis
    first = exchange.providers[0]
    sane = exchange.prices[first]
    current = {"api-b": api_b}

    def restart_api_b(**env: str) -> None:
        current["api-b"].process.kill()
        current["api-b"] = stack.enter_context(
            services.start_api_b(built, workdir, port=current["api-b"].port, env=env)
        )

    def flood_then_release_api_b() -> None:
        """api-b restarted with a small connection limit, more connections than that held until
        it says it reached the limit, then closed, so that Prometheus can scrape it again and see
        it."""
        restart_api_b(MAX_CONNECTIONS=str(SMALL_CONNECTION_LIMIT))
        service = current["api-b"]
        logged = len(service.process.log_lines())
        held = [socket.create_connection(("127.0.0.1", service.port)) for _ in range(SMALL_CONNECTION_LIMIT + 4)]
        try:
            eventually(
                lambda: any(LIMIT_LOG in line.get("message", "") for line in service.process.log_lines()[logged:]),
                10,
                "api-b at its connection limit",
            )
        finally:
            for connection in held:
                connection.close()

    return [
        (f"{first} refused", ["ProviderFailing"],
         lambda: exchange.inject(first, REFUSED), lambda: exchange.answer_ok(first)),
        (f"{first} 10x off", ["ProvidersDisagree"],
         lambda: exchange.answer_ok(first, sane * 10), lambda: exchange.answer_ok(first, sane)),
        ("Redis frozen (SIGSTOP) under traffic", ["PriceStoreUnavailable", "HighServerErrorRatio"],
         redis.pause, redis.resume),
        ("api-b killed", ["TargetDown"],
         lambda: current["api-b"].process.kill(), restart_api_b),
        (f"api-b held at MAX_CONNECTIONS={SMALL_CONNECTION_LIMIT}", ["ConnectionLimitReached"],
         flood_then_release_api_b, restart_api_b),
    ]  # fmt: skip
