"""Service A's states, the ones its contract must hold in, and one api-a taken through them in
the order a pod lives them: started on an empty Redis (no price yet), joined by the poller
asking a fake exchange (price available), then its Redis frozen (Redis hanging) and killed
(Redis down).

Each state is recognised by what api-a says, checked before and after the runs in it: the body
of `/service1/current` (a price, or which error) and whether `/readyz` says ready. Statuses are
not part of it: they are the contract Schemathesis judges.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from harness import httpclient, services
from harness.binaries import Binaries
from harness.exchange import FakeExchange
from harness.redis import RedisServer
from harness.services import Service
from harness.waiting import NotInTime, eventually

PRICES = {"coinbase": 80_000.0, "kraken": 80_010.0, "bitstamp": 80_020.0}
POLL_INTERVAL = "1s"
STATE_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class State:
    name: str
    problem: str | None
    """The code of the problem `/service1/current` answers (its `type`'s last part); None: it
    holds a price."""
    ready: bool
    """Whether `/readyz` answers 200."""


NO_PRICE_YET = State("no price yet", "no-price-yet", ready=False)
PRICE_AVAILABLE = State("price available", None, ready=True)
# Frozen (SIGSTOP): its port still accepts connections, which then hang.
REDIS_HANGING = State("Redis hanging", "store-unavailable", ready=False)
# Killed: connections are refused.
REDIS_DOWN = State("Redis down", "store-unavailable", ready=False)
STATES = (NO_PRICE_YET, PRICE_AVAILABLE, REDIS_HANGING, REDIS_DOWN)


class ServiceA:
    def __init__(self, binaries: Binaries, workdir: Path):
        self.binaries = binaries
        self.workdir = workdir
        # No append-only file: the Redis starts empty whatever an earlier run left in `workdir`.
        self.redis = RedisServer(workdir, appendonly=False)
        self.exchange = FakeExchange(list(PRICES), PRICES)
        self.api: Service | None = None
        self._stack = contextlib.ExitStack()

    def start(self) -> "ServiceA":
        """api-a on an empty Redis, alive (`/healthz`) but not ready: no price yet."""
        try:
            self._stack.enter_context(self.exchange)
            self._stack.enter_context(self.redis.start())
            self.api = self._stack.enter_context(
                services.start_api_a(self.binaries, self.workdir, self.redis.url, ready_path="/healthz")
            )
        except BaseException:
            self._stack.close()
            raise
        return self

    def enter(self, state: State) -> str | None:
        """Brings about `state` (each one from the one before it in `STATES`) and waits until
        api-a says so; returns what it says instead if it does not."""
        if state is PRICE_AVAILABLE:
            env = {"POLL_INTERVAL": POLL_INTERVAL, "FETCH_TIMEOUT": "300ms"}
            self._stack.enter_context(
                services.start_poller(self.binaries, self.workdir, self.redis.url, self.exchange.env(), env=env)
            )
        elif state is REDIS_HANGING:
            self.redis.pause()
        elif state is REDIS_DOWN:
            self.redis.kill()
        try:
            eventually(lambda: self.problem(state) is None, STATE_TIMEOUT_SECONDS, f"api-a: {state.name}")
        except NotInTime:
            return self.problem(state)
        return None

    def problem(self, state: State) -> str | None:
        """None while api-a says what `state` says; else what it says."""
        assert self.api is not None
        current = httpclient.get(self.api.url("/service1/current"), timeout=2.0)
        try:
            body = current.json()
        except ValueError:
            body = {}
        problem = None if "price" in body else problem_code(body) or current.body[:200].decode(errors="replace")
        readyz = httpclient.status_of(self.api.url("/readyz"))
        if problem == state.problem and (readyz == 200) == state.ready:
            return None
        return f"not {state.name}: /service1/current answers {current.status} {problem or 'a price'}, /readyz {readyz}"

    def __enter__(self) -> "ServiceA":
        return self

    def __exit__(self, *_exc) -> None:
        self._stack.close()


PROBLEM_TYPE_PREFIX = "tag:btc-price-services,2026:"


def problem_code(body: dict) -> str | None:
    """The code of a problem's `type`, or None for a body that is no problem of ours."""
    kind = body.get("type")
    return kind.removeprefix(PROBLEM_TYPE_PREFIX) if isinstance(kind, str) and kind.startswith(PROBLEM_TYPE_PREFIX) else None
