"""A fake exchange for the poller: one HTTP listener per provider (so "connection refused" is
one provider's listener closed), each answering in its provider's real format, and switchable at
run time to any failure of `faults()`. Every request is logged with its time and what it got.

Answers close the connection (`Connection: close`), so a provider switched to "refused" is
refused from its next request on, with no pooled connection left open to it.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from . import fixtures
from .processes import free_port


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""
    retry_until: float | None = None
    """Wall-clock time until which the answer asks not to be asked again (`Retry-After`)."""


@dataclass(frozen=True)
class Fault:
    """A way for a provider to fail; `reply` builds its answer at request time from the provider
    and its sane price. A fault with no `reply` refuses connections."""

    name: str
    reply: Callable[[str, float], Reply] | None
    overload: bool
    """Whether it is an overload signal (backed off) rather than an unusable quick answer."""


# How long a "slow" answer takes beyond the poller's deadline, and how long a 429 asks to wait.
SLOW_BEYOND_DEADLINE = 0.5
RETRY_AFTER_SECONDS = 2


def slow(fetch_timeout: float) -> Callable[[str, float], Reply]:
    return lambda p, price: Reply(body=fixtures.ok_body(p, price), delay=fetch_timeout + SLOW_BEYOND_DEADLINE)


def rate_limited_for_seconds(provider: str, _price: float) -> Reply:
    return Reply(
        status=429,
        body=fixtures.FORMATS[provider].rate_limited,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        retry_until=time.time() + RETRY_AFTER_SECONDS,
    )


def rate_limited_until_date(provider: str, _price: float) -> Reply:
    # An HTTP date has whole seconds: the wait ends at the second written, so it is one more
    # second ahead to wait at least RETRY_AFTER_SECONDS.
    until = int(time.time()) + RETRY_AFTER_SECONDS + 1
    return Reply(
        status=429,
        body=fixtures.FORMATS[provider].rate_limited,
        headers={"Retry-After": email.utils.formatdate(until, usegmt=True)},
        retry_until=float(until),
    )


def server_error(provider: str, _price: float) -> Reply:
    status, body = fixtures.FORMATS[provider].server_error
    return Reply(status=status, body=body)


def priced(text: Callable[[str, float], str], market: str = "BTC/USD") -> Callable[[str, float], Reply]:
    return lambda p, price: Reply(body=fixtures.body_with_price(p, text(p, price), market))


ETH_USD = 3_100.0
ETH_BTC = 0.0345


def wrong_market(everywhere: bool) -> Callable[[str, float], Reply]:
    """The ETH/USD answer where an answer names its market. Where it does not (Coinbase,
    Bitstamp, Bitfinex) only the price can give it away: ETH/USD's about 3 100 USD stands out
    against sane providers, but when every provider is wrong (`everywhere`) such providers would
    agree on it, as nothing can tell it from a crash of BTC; there they answer ETH/BTC, whose
    price no plausible BTC/USD price is."""

    def reply(provider: str, _price: float) -> Reply:
        if fixtures.FORMATS[provider].other_market is not None:
            return Reply(body=fixtures.body_with_price(provider, fixtures.price_text(provider, ETH_USD), "ETH/USD"))
        return Reply(body=fixtures.ok_body(provider, ETH_BTC if everywhere else ETH_USD))

    return reply


REFUSED = Fault("refused", None, True)


def faults(fetch_timeout: float, everywhere: bool = False) -> list[Fault]:
    """Every failure the drills inject, the overload signals (backed off) first, then the quick
    unusable answers; `everywhere`: the variant for all providers at once (see `wrong_market`)."""
    return [
        Fault("slow", slow(fetch_timeout), True),  # SLOW_BEYOND_DEADLINE after the deadline
        REFUSED,
        Fault("5xx", server_error, True),
        Fault("429-seconds", rate_limited_for_seconds, True),
        Fault("429-date", rate_limited_until_date, True),
        Fault("html", lambda p, _: Reply(502, fixtures.CDN_ERROR_PAGE), True),
        Fault("empty", lambda p, _: Reply(200, b""), False),
        Fault("truncated", lambda p, price: Reply(200, fixtures.ok_body(p, price)[:40]), False),
        Fault("error-200", lambda p, _: Reply(200, fixtures.FORMATS[p].error_with_200), False),
        Fault("wrong-market", wrong_market(everywhere), False),
        Fault("non-finite", priced(lambda p, _: fixtures.non_finite_text(p)), False),
        Fault("zero", priced(lambda p, _: fixtures.price_text(p, 0.0)), False),
        Fault("negative", priced(lambda p, price: fixtures.price_text(p, -price)), False),
        Fault("1000x", priced(lambda p, price: fixtures.price_text(p, price * 1000)), False),
    ]


@dataclass(frozen=True)
class Request:
    at: float
    """time.monotonic() when it arrived."""
    wall: float
    """time.time() when it arrived."""
    answered: str
    """The behaviour it met: "ok" or a fault's name."""
    retry_until: float | None


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        """Accepts a connection and notes when, before a thread is started for it: the time a
        request arrived should not include this process's own scheduling delays."""
        connection, address = super().get_request()
        connection_times[connection.fileno()] = (time.monotonic(), time.time())
        return connection, address


connection_times: dict[int, tuple[float, float]] = {}
"""When each open connection to the exchange was accepted, by socket descriptor."""


class FakeExchange:
    """One listener per provider; each answers its sane price until told otherwise."""

    def __init__(self, providers: list[str], prices: dict[str, float]):
        self.providers = list(providers)
        self.ports = {p: free_port() for p in providers}
        self.prices = dict(prices)
        self._behaviour: dict[str, tuple[str, Callable[[str, float], Reply] | None]] = {}
        self._requests: dict[str, list[Request]] = {p: [] for p in providers}
        self._listeners: dict[str, _Listener] = {}
        self._lock = threading.Lock()
        for provider in providers:
            self.answer_ok(provider)

    def env(self) -> dict[str, str]:
        """`PROVIDERS` and each `<PROVIDER>_URL` for the poller."""
        env = {"PROVIDERS": ",".join(self.providers)}
        for provider in self.providers:
            path = fixtures.FORMATS[provider].path
            env[f"{provider.upper()}_URL"] = f"http://127.0.0.1:{self.ports[provider]}{path}"
        return env

    def answer_ok(self, provider: str, price: float | None = None) -> None:
        """Answers the sane price (`price` from now on, if given)."""
        with self._lock:
            if price is not None:
                self.prices[provider] = price
        self._set(provider, "ok", lambda p, sane: Reply(body=fixtures.ok_body(p, sane)))

    def inject(self, provider: str, fault: Fault) -> None:
        self._set(provider, fault.name, fault.reply)

    def requests(self, provider: str, since: float = 0.0) -> list[Request]:
        """The requests `provider` received since `since` (monotonic), oldest first."""
        with self._lock:
            return [r for r in self._requests[provider] if r.at >= since]

    def save_requests(self, path: Path) -> None:
        """Every request received, as JSON, for reading after a failed drill."""
        with self._lock:
            log = {p: [dataclasses.asdict(r) for r in requests] for p, requests in self._requests.items()}
        path.write_text(json.dumps(log, indent=1))

    def stop(self) -> None:
        for provider in self.providers:
            self._close(provider)

    def __enter__(self) -> "FakeExchange":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _set(self, provider: str, name: str, reply: Callable[[str, float], Reply] | None) -> None:
        with self._lock:
            self._behaviour[provider] = (name, reply)
        if reply is None:
            self._close(provider)
        elif provider not in self._listeners:
            self._open(provider)

    def _open(self, provider: str) -> None:
        exchange = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                exchange._answer(provider, self)

            def log_message(self, *_args) -> None:
                pass  # the request log is the exchange's own

        listener = _Listener(("127.0.0.1", self.ports[provider]), Handler)
        threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._listeners[provider] = listener

    def _close(self, provider: str) -> None:
        listener = self._listeners.pop(provider, None)
        if listener is not None:
            listener.shutdown()
            listener.server_close()

    def _answer(self, provider: str, handler: BaseHTTPRequestHandler) -> None:
        arrived, wall = connection_times.pop(handler.connection.fileno(), (time.monotonic(), time.time()))
        with self._lock:
            name, build = self._behaviour[provider]
            sane = self.prices[provider]
        reply = build(provider, sane) if build else Reply(503)
        with self._lock:
            self._requests[provider].append(Request(arrived, wall, name, reply.retry_until))
        if reply.delay:
            time.sleep(reply.delay)
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "text/html" if reply.body.startswith(b"<") else "application/json")
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.send_header("Connection", "close")
            for header, value in reply.headers.items():
                handler.send_header(header, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except OSError:
            pass  # the poller gave up waiting (a slow answer): nothing to do
        handler.close_connection = True
