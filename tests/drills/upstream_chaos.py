"""Upstream chaos: every failure of `harness.exchange.faults` injected into each provider alone,
then into all of them at once, while a client keeps asking api-a for `/current`.

Expected (docs/design.md, "How the poller decides on a price"):
- the served price is always the median of what the sane providers said (never a faulty
  provider's, never a made-up one);
- ticks keep their schedule (a fixed grid, none skipped, however slow a provider is), no
  provider is asked twice within an interval or before its `Retry-After` ran out; an unusable
  but quick answer is asked again at the next tick, an overloaded provider is backed off;
- during a total outage `/current` answers the last price with `stale: true` and a growing
  `age_seconds`; fresh prices are fetched within one interval of the providers returning, or of
  the first `Retry-After` running out when every provider is under one.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from harness import fixtures, prometheus
from harness.exchange import RETRY_AFTER_SECONDS, Fault, faults
from harness.pod import ServiceAPod
from harness.probe import Prober
from harness.waiting import eventually

from . import chaos_checks
from .report import Context, Memory, Row, seconds

# Distinct sane prices, within the 2 % tolerance of one another: a served price names its sources.
PRICES = {p: 80_000.0 + 10.0 * i + (0.5 if i % 2 else 0.0) for i, p in enumerate(fixtures.PROVIDERS)}
INTERVAL = 0.5
"""Short: the drill is mostly waits of a few intervals (half a second: 71 s instead of 126 s)."""
FETCH_TIMEOUT = 0.3
STALE_AFTER = 2 * INTERVAL
SLACK = 0.3
"""Seconds of slack on "within one interval": api-a's 250 ms reads and a busy machine."""
GRID_TOLERANCE = 0.15
"""How late a tick may be. The cadence checks count ticks: a gap is judged k ticks when it is
within half an interval of k of them, which a tick that late (under half an interval) keeps."""
MAX_BACKOFF = 60.0
"""The poller's longest back-off after failures."""


def run(context: Context) -> Row:
    alone_faults = faults(FETCH_TIMEOUT)
    everywhere_faults = faults(FETCH_TIMEOUT, everywhere=True)
    if context.long:
        plan = [(p, f) for p in fixtures.PROVIDERS for f in alone_faults]
    else:  # every fault once, the providers taking turns
        plan = [(fixtures.PROVIDERS[i % len(fixtures.PROVIDERS)], f) for i, f in enumerate(alone_faults)]
    row = Row(
        "upstream-chaos",
        injected=f"{len(alone_faults)} faults × {'each' if context.long else 'one'} provider alone, "
        f"then each fault on all {len(PRICES)} providers",
    )
    pod = ServiceAPod(
        context.binaries,
        context.workdir,
        PRICES,
        poll_interval=f"{INTERVAL:g}s",
        fetch_timeout=f"{FETCH_TIMEOUT * 1000:.0f}ms",
        api_env={"STALE_AFTER": f"{STALE_AFTER:g}s"},
    )
    with pod.start(), Prober(pod.api.url("/service1/current"), every=0.1, timeout=2.0) as prober:
        memory = Memory([pod.api, pod.poller])
        alone_start = time.monotonic()
        alone_times = [phase(row, alone, pod, provider, fault, row) for provider, fault in plan]
        alone_end = time.monotonic()
        together_times = [phase(row, together, pod, prober, fault, row) for fault in everywhere_faults]
        answers = prober.stop()
        memory.measure_after()
        pod.exchange.save_requests(context.workdir / "exchange-requests.json")

    served = chaos_checks.served_price_problems(answers, PRICES)
    row.requests = len(answers)
    row.failures = len(served)
    summarise(row, "served prices", served)
    all_times = [r.at for p in PRICES for r in pod.exchange.requests(p)]
    row.problems += chaos_checks.grid_problems(all_times, INTERVAL, GRID_TOLERANCE)
    row.problems += chaos_checks.tick_gap_problems(all_times, INTERVAL, alone_start + INTERVAL, alone_end)
    for provider in PRICES:
        summarise(row, provider, chaos_checks.cadence_problems(provider, pod.exchange.requests(provider), INTERVAL))
    row.recovery = (
        f"alone: back ≤ {seconds(max(filter(None, alone_times), default=0))}; "
        f"all: fresh ≤ {seconds(max(filter(None, together_times), default=0))} after they returned"
    )
    row.memory = memory.text()
    return row


def phase(row: Row, step, *args) -> float | None:
    """One step of the drill; a step whose awaited condition never comes is a problem of the
    row, and the drill goes on with the next step."""
    try:
        return step(*args)
    except AssertionError as err:
        row.problems.append(str(err))
        return None


def summarise(row: Row, what: str, problems: list[str]) -> None:
    """At most three problems of a kind, and how many there were."""
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        row.problems.append(f"{what}: {'; '.join(problems[:3])}{more}")


def meets_the_fault(pod: ServiceAPod, provider: str, fault: Fault, injected: float, row: Row) -> None:
    """Waits until the poller asked `provider` under `fault`; a quick unusable answer must be
    asked again at the next tick."""
    what = f"{provider} {fault.name}"
    exchange = pod.exchange
    if fault.reply is None:  # a refused connection leaves no trace at the exchange
        refused = fetches(pod, provider, outcome="transport")
        eventually(lambda: fetches(pod, provider, outcome="transport") > refused, 4 * INTERVAL, f"{what}: asked")
        return
    eventually(lambda: met(exchange, provider, fault, injected), 4 * INTERVAL, f"{what}: asked")
    if not fault.overload:
        first, second = eventually(
            lambda: len(m := met(exchange, provider, fault, injected)) >= 2 and m[:2], 4 * INTERVAL, f"{what}: asked again"
        )
        gap = second.at - first.at
        row.expect(
            gap <= 1.5 * INTERVAL,
            f"{what}: asked again {gap:.2f} s later, not at the next tick (a quick unusable answer must not back off)",
        )


def met(exchange, provider: str, fault: Fault, injected: float) -> list:
    """The requests of `provider` that met `fault`, injected at `injected`. A request is stamped
    when its connection was accepted, which can be just before the injection (and a 429 met then
    holds the provider for its `Retry-After`): from half a tick before."""
    return [r for r in exchange.requests(provider, since=injected - INTERVAL / 2) if r.answered == fault.name]


def fetches(pod: ServiceAPod, provider: str, **outcome: str) -> float:
    """The poller's requests to `provider` so far (with that `outcome`, if given)."""
    return prometheus.total(pod.poller.url("/metrics"), "poller_fetches_total", provider=provider, **outcome)


def alone(pod: ServiceAPod, provider: str, fault: Fault, row: Row) -> float:
    """One provider fails while the others answer; returns how long it took to be asked and
    answer again once mended."""
    exchange = pod.exchange
    what = f"{provider} {fault.name}"
    injected = time.monotonic()
    exchange.inject(provider, fault)
    try:
        meets_the_fault(pod, provider, fault, injected, row)
    finally:
        mended = time.monotonic()
        exchange.answer_ok(provider)

    def first_ok():
        return next((r for r in exchange.requests(provider, since=mended) if r.answered == "ok"), None)

    back = eventually(first_ok, 4 * INTERVAL + 2 * SLACK + 3, f"{what}: asked again once mended")
    if fault.overload and fault.reply is not None:
        gap = back.at - met(exchange, provider, fault, injected)[-1].at
        row.expect(gap >= 1.5 * INTERVAL, f"{what}: asked again {gap:.2f} s after an overload signal, at the next tick: not backed off")
    return back.at - mended


def current(pod: ServiceAPod) -> dict:
    response = pod.current()
    return response.json() if response.status == 200 else {}


def as_of(answer: dict) -> float:
    return datetime.fromisoformat(answer["as_of"]).timestamp()


def together(pod: ServiceAPod, prober: Prober, fault: Fault, row: Row) -> float:
    """Every provider fails the same way; returns the time from their return to a fresh price."""
    what = f"all {fault.name}"
    exchange = pod.exchange
    metrics = pod.poller.url("/metrics")
    # From a clean slate: no provider backed off from an earlier step.
    eventually(
        lambda: prometheus.total(metrics, "poller_provider_backed_off") == 0,
        MAX_BACKOFF + 2 * INTERVAL,
        f"{what}: no provider backed off before",
    )
    eventually(lambda: current(pod).get("stale") is False, 3 * INTERVAL, f"{what}: a fresh price before")
    started, started_wall = time.monotonic(), time.time()
    asked = {provider: fetches(pod, provider) for provider in PRICES}
    for provider in PRICES:
        exchange.inject(provider, fault)
    try:
        stale = outage(pod, fault, started_wall, asked, row)
    finally:
        mended, mended_wall = time.monotonic(), time.time()
        last_said = {p: exchange.requests(p)[-1] for p in PRICES}
        for provider in PRICES:
            exchange.answer_ok(provider)
    during = [a for a in prober.between(started + 1.5 * INTERVAL, mended) if a.status == 200]
    made_up = [a for a in during if as_of(json.loads(a.body)) > started_wall + 0.05]
    row.expect(not made_up, f"{what}: {len(made_up)} answers during the outage had a price fetched in it")
    # The providers may be asked once they returned, or, when every one of them asked to wait,
    # once the first wait ran out.
    waits = [r.retry_until for r in last_said.values()]
    earliest = mended_wall
    if all(w is not None and w > mended_wall for w in waits):
        earliest = min(waits)
    fresh = eventually(
        lambda: (c := current(pod)).get("stale") is False and as_of(c) > as_of(stale) and c,
        earliest - mended_wall + 3 * INTERVAL + MAX_BACKOFF,
        f"{what}: fresh again",
    )
    late = as_of(fresh) - earliest
    row.expect(
        late <= INTERVAL + SLACK,
        f"{what}: the first fresh price was fetched {late:.2f} s after the providers could be asked again "
        f"(limit one interval, {INTERVAL:g} s)",
    )
    return time.monotonic() - mended


def outage(pod: ServiceAPod, fault: Fault, started_wall: float, asked: dict[str, float], row: Row) -> dict:
    """While every provider fails: `/current` turns stale and keeps the last price with a
    growing age. Returns the stale answer once every provider failed twice, so that back-offs
    (2 intervals after one failure, 4 after two) reach past the providers' return."""
    what = f"all {fault.name}"
    stale = eventually(lambda: (c := current(pod)).get("stale") and c, STALE_AFTER + 3 * INTERVAL, f"{what}: stale")
    row.expect(as_of(stale) <= started_wall + 0.05, f"{what}: a price fetched during the outage was stored")
    try:
        eventually(
            lambda: (c := current(pod)).get("age_seconds", 0) > stale["age_seconds"] + 0.3
            and (c["price"], c["as_of"]) == (stale["price"], stale["as_of"]),
            2,
            f"{what}: the same stale price with a growing age",
        )
    except AssertionError as err:
        row.problems.append(str(err))
    eventually(
        lambda: all(fetches(pod, p) >= asked[p] + 2 for p in PRICES),
        4 * INTERVAL + 2 * SLACK + (RETRY_AFTER_SECONDS + 1 if fault.name.startswith("429") else 0),
        f"{what}: every provider failed twice",
    )
    return stale
