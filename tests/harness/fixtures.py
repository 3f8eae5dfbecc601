"""The providers' real response bodies (`poller/tests/fixtures/providers/`, copied from the
shared fixtures; see their README and manifest.json), with any price put in their place, stamped
with the time of the answer where the exchange stamps its quotes (the poller takes a quote stamped
over two minutes before it arrived for a stale one).

A body with a substituted price keeps the fixture's exact bytes otherwise: the fixture is
parsed, the price replaced by a placeholder, serialised with the fixture's own separators (each
ok fixture round-trips byte for byte: `test_fixtures` checks it), and the placeholder replaced by
the price's text, so a price can also be text no JSON encoder writes (`1e999`, `"NaN"`).
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from .binaries import REPO_ROOT

FIXTURES = REPO_ROOT / "poller" / "tests" / "fixtures" / "providers"
PLACEHOLDER = "\u0000price\u0000"


def fixture(name: str) -> bytes:
    """A fixture body as it is on disk (no trailing newline)."""
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True)
class Format:
    """How one provider answers: where its price is and what its failures look like."""

    path: str
    """The request path of the real API (the fake serves any path; this keeps URLs realistic)."""
    ok: str
    """The fixture whose shape carries the price."""
    price_at: tuple[str | int, ...]
    decimals: int | None
    """The price is a decimal string with this many places; None: a JSON number."""
    separators: tuple[str, str]
    rate_limited: bytes
    """The body of its 429."""
    server_error: tuple[int, bytes]
    error_with_200: bytes
    """An error body this provider sends with HTTP 200."""
    other_market: Callable[[Any], Any] | None
    """Turns an ok answer into the ETH/USD one, for a provider whose answer names its market."""
    stamp_at: tuple[str, ...] | None = None
    """Where the ok answer holds the exchange's time of the quote; None: it holds none."""
    stamp: Callable[[float], Any] | None = None
    """A Unix time as the exchange writes it there."""


def _rfc3339_micros(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rename_key(parent: tuple, old: str, new: str) -> Callable[[Any], Any]:
    def rename(value: Any) -> Any:
        holder = value
        for step in parent:
            holder = holder[step]
        holder[new] = holder.pop(old)
        return value

    return rename


FORMATS: dict[str, Format] = {
    "coinbase": Format(
        path="/products/BTC-USD/ticker",
        ok="coinbase/ok.json",
        price_at=("price",),
        decimals=2,
        separators=(",", ":"),
        rate_limited=fixture("coinbase/error-429.json"),
        server_error=(503, b'{"message":"Service Unavailable"}'),
        error_with_200=fixture("coinbase/error-404-notfound.json"),
        other_market=None,
        stamp_at=("time",),
        stamp=_rfc3339_micros,
    ),
    "kraken": Format(
        path="/0/public/Ticker",
        ok="kraken/ok-2026-09-trimmed.json",
        price_at=("result", "XXBTZUSD", "c", 0),
        decimals=5,
        separators=(",", ":"),
        # Kraken says "too many requests" in an HTTP 200 body; here it comes with a 429.
        rate_limited=fixture("kraken/rate-limit-200.json"),
        server_error=(503, fixture("kraken/unavailable.json")),
        error_with_200=fixture("kraken/busy.json"),
        other_market=_rename_key(("result",), "XXBTZUSD", "XETHZUSD"),
    ),
    "bitstamp": Format(
        path="/api/v2/ticker/btcusd/",
        ok="bitstamp/ok.json",
        price_at=("last",),
        decimals=2,
        separators=(", ", ": "),
        rate_limited=fixture("bitstamp/error-rate-limit.json"),
        server_error=(503, fixture("bitstamp/maintenance.json")),
        error_with_200=fixture("bitstamp/maintenance.json"),
        other_market=None,
        stamp_at=("timestamp",),
        stamp=lambda at: str(int(at)),
    ),
    "gemini": Format(
        path="/v1/pubticker/btcusd",
        ok="gemini/ok.json",
        price_at=("last",),
        decimals=5,
        separators=(",", ":"),
        rate_limited=fixture("gemini/error-429.json"),
        server_error=(503, b'{"result":"error","reason":"Maintenance","message":"Down for maintenance"}'),
        error_with_200=fixture("gemini/error-400-invalid-symbol.json"),
        other_market=_rename_key(("volume",), "BTC", "ETH"),
        stamp_at=("volume", "timestamp"),
        stamp=lambda at: int(at) // 60 * 60_000,  # milliseconds, aligned to the minute
    ),
    "bitfinex": Format(
        path="/v2/ticker/tBTCUSD",
        ok="bitfinex/ok.json",
        price_at=(6,),
        decimals=None,
        separators=(",", ":"),
        rate_limited=fixture("bitfinex/error-429-ratelimit.json"),
        server_error=(500, fixture("bitfinex/error-maintenance.json")),
        error_with_200=fixture("bitfinex/error-500-symbol-invalid.json"),
        other_market=None,
    ),
    "coingecko": Format(
        path="/api/v3/simple/price",
        ok="coingecko/ok-last-updated.json",
        price_at=("bitcoin", "usd"),
        decimals=None,
        separators=(",", ":"),
        rate_limited=fixture("coingecko/error-429.json"),
        server_error=(503, b'{"status":{"error_code":503,"error_message":"Service Unavailable"}}'),
        error_with_200=fixture("coingecko/error-401-missing-key.json"),
        other_market=_rename_key((), "bitcoin", "ethereum"),
        stamp_at=("bitcoin", "last_updated_at"),
        stamp=int,
    ),
}

PROVIDERS = tuple(FORMATS)
"""Every provider the poller knows, in its default order."""

# What a CDN in front of an exchange answers when the exchange behind it is down.
CDN_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n"
)


def price_text(provider: str, price: float) -> str:
    """`price` as the provider writes it: a quoted decimal or a JSON number."""
    decimals = FORMATS[provider].decimals
    if decimals is not None:
        return f'"{price:.{decimals}f}"'
    return str(int(price)) if float(price).is_integer() else repr(float(price))


ORIGINAL_TIME = object()
"""`body_with_price`'s `at` that keeps the fixture's own time."""


def body_with_price(provider: str, text: str, market: str = "BTC/USD", at: Any = None) -> bytes:
    """The provider's ok answer with `text` (raw JSON, e.g. from `price_text`) as its price,
    stamped `at` (a Unix time; None: now; `ORIGINAL_TIME`: the fixture's) where the exchange
    stamps its quotes; for `market="ETH/USD"` the answer names that market where the provider's
    answers name one."""
    form = FORMATS[provider]
    value = json.loads(fixture(form.ok))
    _set(value, form.price_at, PLACEHOLDER)
    if form.stamp_at is not None and at is not ORIGINAL_TIME:
        _set(value, form.stamp_at, form.stamp(time.time() if at is None else at))
    if market != "BTC/USD":
        if form.other_market is None:
            raise ValueError(f"{provider}'s answers do not name their market")
        value = form.other_market(value)
    encoded = json.dumps(value, separators=form.separators, ensure_ascii=False)
    return encoded.replace(json.dumps(PLACEHOLDER), text).encode()


def _set(value: Any, path: tuple, new: Any) -> None:
    holder = value
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new


def ok_body(provider: str, price: float, at: float | None = None) -> bytes:
    """The provider's ok answer with `price`, stamped `at` (None: now)."""
    return body_with_price(provider, price_text(provider, price), at=at)


def stamps(provider: str) -> bool:
    """Whether the provider stamps its quotes with a time."""
    return FORMATS[provider].stamp_at is not None


def non_finite_text(provider: str) -> str:
    """A non-finite price in the provider's own type: `"NaN"` where prices are strings, a
    number too large for a double where they are numbers."""
    return '"NaN"' if FORMATS[provider].decimals is not None else "1e999"


def original_price(provider: str) -> float:
    """The price in the provider's ok fixture."""
    value = json.loads(fixture(FORMATS[provider].ok))
    for step in FORMATS[provider].price_at:
        value = value[step]
    return float(value)
