"""Service A's pod on one machine: a Redis with the pod's persistence, the poller asking a fake
exchange, and api-a reading what the poller stored; started in that order, stopped together.

The one way the suites and the benchmark start Service A: the drills, the browser (a second
api-a with a brief window), the contract suite (api-a before any poller: no price yet), the
observability suite and the benchmark (one pod per window, seeded, sharing one exchange).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable

from . import httpclient, services
from .binaries import Binaries
from .exchange import FakeExchange
from .redis import RedisServer
from .services import Service
from .waiting import eventually


class ServiceAPod:
    def __init__(
        self,
        binaries: Binaries,
        workdir: Path,
        prices: dict[str, float],
        poll_interval: str = "1s",
        fetch_timeout: str = "300ms",
        api_env: dict[str, str] | None = None,
        poller_env: dict[str, str] | None = None,
        appendonly: bool = True,
        exchange: FakeExchange | None = None,
        redis_maxmemory: str = "32mb",
    ):
        """`prices`: each provider the poller asks and its sane price, on an exchange of the
        pod's own; or `exchange`, one the caller started and keeps (shared by several pods).
        `appendonly=False`: a Redis that starts empty whatever an earlier run left in `workdir`;
        `redis_maxmemory`: its memory limit (`RedisServer`)."""
        self.binaries = binaries
        self.workdir = workdir
        self.own_exchange = exchange is None
        self.exchange = exchange or FakeExchange(list(prices), prices)
        self.redis = RedisServer(workdir, appendonly=appendonly, maxmemory=redis_maxmemory)
        self.poll_interval = poll_interval
        self.fetch_timeout = fetch_timeout
        self.api_env = api_env or {}
        self.poller_env = poller_env or {}
        self.poller: Service | None = None
        self.api: Service | None = None
        self._stack = contextlib.ExitStack()

    def start(
        self,
        poller: bool = True,
        seed: Callable[[RedisServer], None] | None = None,
        api_ready_path: str = "/readyz",
        api_timeout: float = 15.0,
    ) -> "ServiceAPod":
        """Everything up: Redis (then `seed`, given it), the poller (unless `poller=False`: api-a
        then has no price yet and is awaited on `/healthz`), api-a awaited on `api_ready_path`
        (ready means the poller stored a first price and api-a read it)."""
        try:
            if self.own_exchange:
                self._stack.enter_context(self.exchange)
            self._stack.enter_context(self.redis.start())
            if seed is not None:
                seed(self.redis)
            if poller:
                self.start_poller()
            else:
                api_ready_path = "/healthz"
            self.api = self._stack.enter_context(self.start_api("api-a", ready_path=api_ready_path, timeout=api_timeout))
        except BaseException:
            self._stack.close()
            raise
        return self

    def start_poller(self) -> Service:
        """The poller, asking the exchange every `poll_interval`; stopped with the pod."""
        env = {"POLL_INTERVAL": self.poll_interval, "FETCH_TIMEOUT": self.fetch_timeout, **self.poller_env}
        self.poller = self._stack.enter_context(
            services.start_poller(self.binaries, self.workdir, self.redis.url, self.exchange.env(), env=env)
        )
        return self.poller

    def start_api(self, name: str, **kwargs) -> Service:
        """One more api-a on this pod's Redis (e.g. a replacement), awaited until ready; the
        caller stops it (`with`), or `keep` hands it to the pod."""
        env = {**self.api_env, **kwargs.pop("env", {})}
        return services.start_api_a(self.binaries, self.workdir, self.redis.url, name=name, env=env, **kwargs)

    def keep(self, service: Service) -> Service:
        """`service` stopped with the pod."""
        return self._stack.enter_context(service)

    def current(self, timeout: float = 2.0) -> httpclient.Response:
        assert self.api is not None
        return httpclient.get(self.api.url("/service1/current"), timeout=timeout)

    def wait_for_price(self, timeout: float = 10.0) -> dict:
        """The first `/current` that answers 200, as JSON."""
        return eventually(lambda: self.current().status == 200 and self.current().json(), timeout, "a price")

    def __enter__(self) -> "ServiceAPod":
        return self

    def __exit__(self, *_exc) -> None:
        self._stack.close()
