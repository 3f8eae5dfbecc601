"""Service A's pod on one machine: a Redis with the pod's persistence, the poller asking a fake
exchange, and api-a reading what the poller stored; started in that order, stopped together."""

from __future__ import annotations

import contextlib
from pathlib import Path

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
    ):
        self.binaries = binaries
        self.workdir = workdir
        self.exchange = FakeExchange(list(prices), prices)
        self.redis = RedisServer(workdir)
        self.poll_interval = poll_interval
        self.fetch_timeout = fetch_timeout
        self.api_env = api_env or {}
        self.poller_env = poller_env or {}
        self.poller: Service | None = None
        self.api: Service | None = None
        self._stack = contextlib.ExitStack()

    def start(self) -> "ServiceAPod":
        """Everything up, and api-a ready: the poller stored a first price and api-a read it."""
        try:
            self._stack.enter_context(self.exchange)
            self._stack.enter_context(self.redis.start())
            self.poller = self._stack.enter_context(
                services.start_poller(
                    self.binaries,
                    self.workdir,
                    self.redis.url,
                    self.exchange.env(),
                    env={"POLL_INTERVAL": self.poll_interval, "FETCH_TIMEOUT": self.fetch_timeout, **self.poller_env},
                )
            )
            self.api = self._stack.enter_context(self.start_api("api-a"))
        except BaseException:
            self._stack.close()
            raise
        return self

    def start_api(self, name: str, **kwargs) -> Service:
        """One more api-a on this pod's Redis (e.g. a replacement), awaited until ready."""
        env = {**self.api_env, **kwargs.pop("env", {})}
        return services.start_api_a(self.binaries, self.workdir, self.redis.url, name=name, env=env, **kwargs)

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
