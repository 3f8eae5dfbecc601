"""Price integrity: exchanges that fail and lie, replayed on the real binaries with a real Redis
while a client keeps asking api-a for `/current` (docs/price-integrity.md, its threat model).

1. Steady: all six exchanges answer the honest price; a quorum confirms it.
2. Five go down (HTTP 503) and the sixth answers in cents (100×): no published price may be
   above 1.5× the honest one at any moment, and the 60 s average stays within 1 % of it.
3. Two answer, one honest and one 3 % off: the published price moves less than 1 %, or the
   answer reports the disagreement.
4. The only one left serves a quote its exchange stamped two hours ago: `/current` does not
   present it as just fetched.

Each state lasts a few ticks, and the poller says so in its log once per change, not per tick.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from harness import fixtures, httpclient, prometheus
from harness.exchange import Fault, Reply, server_error
from harness.pod import ServiceAPod
from harness.probe import Answer, Prober
from harness.waiting import eventually

from .report import Context, Memory, Row

HONEST = 90_000.0
PRICES = {p: HONEST for p in fixtures.PROVIDERS}
LIAR = "coinbase"
"""The exchange left answering: one that stamps its quotes, for the last phase."""
SECOND = "kraken"
INTERVAL = 0.5
"""Short: the phases are counted in ticks."""
WINDOW = 60
STALE_AFTER = 5 * INTERVAL
PHASE = 12 * INTERVAL
"""Seconds each failing phase lasts: a dozen ticks."""
FROZEN_PRICE = 95_000.0
TWO_HOURS = 7_200


def in_cents(provider: str, price: float) -> Reply:
    return Reply(body=fixtures.ok_body(provider, price * 100))


def three_percent_off(provider: str, price: float) -> Reply:
    return Reply(body=fixtures.ok_body(provider, price * 1.03))


def stamped_two_hours_ago(provider: str, _price: float) -> Reply:
    return Reply(body=fixtures.ok_body(provider, FROZEN_PRICE, at=time.time() - TWO_HOURS))


def run(context: Context) -> Row:
    row = Row(
        "price-integrity",
        injected="5 of 6 down + the 6th in cents; 1 honest + 1 3 % off; the last stamped 2 h ago",
    )
    pod = ServiceAPod(
        context.binaries,
        context.workdir,
        PRICES,
        poll_interval=f"{INTERVAL:g}s",
        poller_env={"AVERAGE_WINDOW": f"{WINDOW}s"},
        api_env={"AVERAGE_WINDOW": f"{WINDOW}s", "STALE_AFTER": f"{STALE_AFTER:g}s"},
    )
    with pod.start(), Prober(pod.api.url("/service1/current"), every=0.1, timeout=2.0) as prober:
        memory = Memory([pod.api, pod.poller])
        steady = eventually(lambda: confirmed(pod), 10 * INTERVAL, "a confirmed honest price")
        row.expect(steady["providers"]["agreeing"] == 6, f"steady: {steady['providers']}")

        down = Fault("503", server_error, True)
        for provider in PRICES:
            if provider != LIAR:
                pod.exchange.inject(provider, down)
        cents_start = time.monotonic()
        pod.exchange.inject(LIAR, Fault("cents", in_cents, False))
        time.sleep(PHASE)
        check_cents(row, prober.between(cents_start), pod)

        apart_start = time.monotonic()
        pod.exchange.answer_ok(LIAR, HONEST)
        pod.exchange.inject(SECOND, Fault("3 % off", three_percent_off, False))
        time.sleep(PHASE)
        check_apart(row, prober.between(apart_start + INTERVAL))

        frozen_start, frozen_wall = time.monotonic(), time.time()
        pod.exchange.inject(SECOND, down)
        pod.exchange.inject(LIAR, Fault("stamped 2 h ago", stamped_two_hours_ago, False))
        time.sleep(STALE_AFTER + 2 * INTERVAL)
        check_frozen(row, prober.between(frozen_start + INTERVAL), frozen_wall, pod)

        answers = prober.stop()
        memory.measure_after()
        check_log(row, pod)
        pod.exchange.save_requests(context.workdir / "exchange-requests.json")
    row.requests = len(answers)
    row.failures = sum(1 for a in answers if a.status != 200)
    row.memory = memory.text()
    return row


def current(answer: Answer) -> dict | None:
    return json.loads(answer.body) if answer.status == 200 else None


def confirmed(pod: ServiceAPod) -> dict | bool:
    answer = pod.current()
    body = answer.status == 200 and answer.json()
    return bool(body) and body["price"] == HONEST and body["basis"] == "quorum" and body


def poller_metric(pod: ServiceAPod, name: str, **labels: str) -> float:
    return prometheus.total(pod.poller.url("/metrics"), name, **labels)


def check_cents(row: Row, answers: list[Answer], pod: ServiceAPod) -> None:
    prices = [body["price"] for a in answers if (body := current(a))]
    highest = max(prices, default=0.0)
    row.expect(bool(prices), "one in cents: no /current answered 200")
    row.expect(highest <= 1.5 * HONEST, f"one in cents: /current served {highest} (honest {HONEST})")
    body = average_body(pod)
    row.expect(
        body is not None and abs(body["average"] - HONEST) <= 0.01 * HONEST,
        f"one in cents: the {WINDOW} s average is {body and body['average']} (honest {HONEST})",
    )
    # Disputed while the others' last answers are recent (two minutes), outside the band after.
    withheld = sum(poller_metric(pod, "poller_ticks_total", result=r) for r in ("outside_band", "disputed"))
    row.expect(withheld >= PHASE / INTERVAL / 2, f"one in cents: only {withheld:g} ticks withheld")


def average_body(pod: ServiceAPod) -> dict | None:
    answer = httpclient.get(pod.api.url("/service1/average"), timeout=2.0)
    return answer.json() if answer.status == 200 else None


def check_apart(row: Row, answers: list[Answer]) -> None:
    for answer in answers:
        body = current(answer)
        if body is None:
            row.problems.append(f"one honest, one 3 % off: /current answered {answer.status}")
            return
        moved = abs(body["price"] - HONEST) / HONEST
        reported = body["spread_percent"] >= 2.9 and len(body["quotes"]) == 2
        if moved >= 0.01 and not reported:
            row.problems.append(f"one honest, one 3 % off: {body['price']} served without the disagreement: {body}")
            return


def check_frozen(row: Row, answers: list[Answer], frozen_wall: float, pod: ServiceAPod) -> None:
    for answer in answers:
        body = current(answer)
        if body is None:
            row.problems.append(f"stamped 2 h ago: /current answered {answer.status}")
            return
        as_of = unix_time(body["as_of"])
        if body["price"] == FROZEN_PRICE or as_of > frozen_wall + INTERVAL:
            row.problems.append(f"stamped 2 h ago: presented as just fetched: {body}")
            return
    last = current(answers[-1]) if answers else None
    row.expect(last is not None and last["stale"], f"stamped 2 h ago: the last answer is not stale: {last}")
    stale = poller_metric(pod, "poller_fetches_total", provider=LIAR, outcome="stale_quote")
    row.expect(stale >= 3, f"stamped 2 h ago: {stale:g} answers counted as stale quotes")


def unix_time(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def check_log(row: Row, pod: ServiceAPod) -> None:
    """One WARN per change of the poller's state, not one per tick."""
    changes = [
        line["message"]
        for line in pod.poller.process.log_lines()
        if line.get("level") == "WARN" and line.get("message", "").startswith(("publishing no price", "only "))
    ]
    ticks = poller_metric(pod, "poller_ticks_total")
    row.expect(2 <= len(changes) <= 6, f"{len(changes)} state changes logged in {ticks:g} ticks: {changes}")
