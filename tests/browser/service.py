"""Service A as the browser meets it: a fake exchange, a real `redis-server`, the real poller
asking the exchange every `POLL_INTERVAL`, and two api-a's reading that Redis:

- `main`: the page as deployed (a 10-minute window), with a `STALE_AFTER` of a few poll
  intervals so the stale state comes quickly; the gateway (`gateway/nginx.conf`) routes
  `/service1` to it;
- `brief`: a window of a few seconds and the default `STALE_AFTER`, so an outage empties its
  window long before its price is stale ("no price within the window").

Every state is brought about for real: the exchange refusing connections (no new price), Redis
emptied (`FLUSHALL`, as a Redis restarted without its data) or killed, the main api-a killed
behind the gateway; each is undone by `recover`, which waits until both api-a's serve a fresh
price again.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

from harness import httpclient, services
from harness.binaries import Binaries
from harness.exchange import REFUSED, FakeExchange
from harness.gateway import Gateway
from harness.processes import free_port
from harness.redis import RedisServer
from harness.services import Service
from harness.waiting import eventually

POLL_INTERVAL = 1.0
FETCH_TIMEOUT = "800ms"
"""Most of the interval: on a busy machine the fake exchange may take a few hundred ms, and an
exchange timing out leaves fewer than the three the figures expect."""
"""Seconds between the poller's ticks (`POLL_INTERVAL`): short, so the test is quick."""
STALE_AFTER = 4.0
"""The main api-a's `STALE_AFTER`: a few missed ticks, never a slow one."""
BRIEF_WINDOW = 3
"""The brief api-a's `AVERAGE_WINDOW`, in seconds."""
PROVIDERS = ["coinbase", "kraken", "bitstamp"]
FIRST_PRICE = 97_123.45
WARM_UP_TICKS = 12
"""Samples of a seeded random walk stored before the tests start, so the chart has a shape."""
BASE_PATH = services.SERVICE_A_BASE_PATH


def seconds(value: float) -> str:
    return f"{int(value * 1000)}ms"


MAIN_ENV = {"STALE_AFTER": seconds(STALE_AFTER)}


class ServiceA:
    def __init__(self, binaries: Binaries, workdir: Path):
        self.binaries = binaries
        self.workdir = workdir
        self.exchange = FakeExchange(PROVIDERS, {p: FIRST_PRICE for p in PROVIDERS})
        self.redis = RedisServer(workdir)
        self.price = FIRST_PRICE
        self.poller: Service | None = None
        self.main: Service | None = None
        self.brief: Service | None = None
        self.gateway: Gateway | None = None
        self._stack = contextlib.ExitStack()

    def start(self) -> "ServiceA":
        try:
            self._stack.enter_context(self.exchange)
            self._stack.enter_context(self.redis.start())
            self.poller = self._stack.enter_context(
                services.start_poller(
                    self.binaries,
                    self.workdir,
                    self.redis.url,
                    self.exchange.env(),
                    env={"POLL_INTERVAL": seconds(POLL_INTERVAL), "FETCH_TIMEOUT": FETCH_TIMEOUT},
                )
            )
            self.main = self._stack.enter_context(self._api("api-a", MAIN_ENV))
            self.brief = self._stack.enter_context(self._api("api-a-brief", {"AVERAGE_WINDOW": f"{BRIEF_WINDOW}s"}))
            upstreams = {"service_a": [f"127.0.0.1:{self.main.port}"], "service_b": [f"127.0.0.1:{free_port()}"]}
            self.gateway = self._stack.enter_context(Gateway(self.workdir, upstreams).start())
        except BaseException:
            self._stack.close()
            raise
        return self

    def _api(self, name: str, env: dict[str, str], port: int | None = None) -> Service:
        return services.start_api_a(self.binaries, self.workdir, self.redis.url, name=name, env=env, port=port)

    def warm_up(self, ticks: int = WARM_UP_TICKS, seed: int = 14) -> None:
        """Stores `ticks` samples of a random walk (a few dollars a tick) ending at the current
        price, each awaited on the main api-a."""
        walk = random.Random(seed)
        prices = [self.price]
        for _ in range(ticks - 1):
            prices.append(round(prices[-1] + walk.uniform(-12, 12), 2))
        for price in reversed(prices):
            self.set_price(price)
            self.wait_for_price(price)

    # The page's URLs.

    def page_url(self, api: str = "main", slash: bool = True) -> str:
        """The page of the `main` or `brief` api-a, or of the main one through the `gateway`."""
        host = self.gateway.url() if api == "gateway" else self._service(api).url()
        return f"{host}{BASE_PATH}{'/' if slash else ''}"

    def route(self, name: str, api: str = "main") -> httpclient.Response:
        """`GET {BASE_PATH}/<name>` (e.g. `current`, `history?max_points=500`) on that api-a."""
        return httpclient.get(f"{self._service(api).url()}{BASE_PATH}/{name}", timeout=3.0)

    def _service(self, api: str) -> Service:
        service = {"main": self.main, "brief": self.brief}[api]
        assert service is not None, "the service is not started"
        return service

    # The fake upstream.

    def set_price(self, price: float) -> None:
        """Every provider answers `price` from its next request on."""
        self.price = price
        for provider in PROVIDERS:
            self.exchange.answer_ok(provider, price)

    def wait_for_price(self, price: float, api: str = "main", timeout: float = 5 * POLL_INTERVAL) -> dict:
        def served() -> dict | None:
            current = self.route("current", api)
            return current.status == 200 and abs(current.json()["price"] - price) < 0.005 and current.json()

        return eventually(served, timeout, f"{api} serves {price}")

    def upstream_outage(self) -> None:
        """Every provider refuses connections: the poller stores nothing any more."""
        for provider in PROVIDERS:
            self.exchange.inject(provider, REFUSED)

    # Redis.

    def empty_redis(self) -> None:
        """Redis loses every sample, as one restarted without its data; with the upstream down,
        nothing is stored again."""
        self.upstream_outage()
        self.redis.command("FLUSHALL")

    def kill_redis(self) -> None:
        self.redis.kill()

    # The main api-a.

    def stop_api(self) -> None:
        """The main api-a is gone (killed): the gateway answers 502 in its place."""
        self.main.process.kill()

    def recover(self) -> None:
        """Undoes any state: Redis up, the main api-a running on its port, the exchange answering
        the last price, and both api-a's serving it again."""
        if not self.redis.process.running():
            self.redis.start()
        if not self.main.process.running():
            self.main = self._stack.enter_context(self._api("api-a", MAIN_ENV, port=self.main.port))
        self.set_price(self.price)
        timeout = 10 * POLL_INTERVAL
        first = self.wait_for_price(self.price, "main", timeout)["as_of"]
        # A second sample: a page needs two to tell the samples' spacing, its refresh period.
        eventually(lambda: self.route("current").json()["as_of"] != first, timeout, "a second sample")
        self.wait_for_price(self.price, "brief", timeout)
        eventually(lambda: self.route("average", "brief").status == 200, timeout, "the brief window holds a price")

    def __enter__(self) -> "ServiceA":
        return self

    def __exit__(self, *_exc) -> None:
        self._stack.close()
