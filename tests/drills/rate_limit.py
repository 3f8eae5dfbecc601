"""One client looping on api-a's dear routes through the gateway (the repository's
`gateway/nginx.conf`, its per-client rate limits included), api-a holding a day of samples at
2 s (43 200 samples, 14 MB: what the local stack's Redis, capped at 32 MB, holds with room; a day
at 1 s, 28 MB, does not fit beside the append-only file's rewrite): `GET /service1/history` with
`max_points` from 5 000 down to 4 991 in turn (each asked less often than api-a keeps a body, so
each is made anew: its costliest request) and the page, with `wrk` from 127.0.0.1; meanwhile a
second client, from 127.0.0.2, asks `/service1/current` every 50 ms.

Expected (docs/configuration.md, "What one client may ask"): the looping client gets 429s, and no
more of its requests reach api-a than the dear routes' one count allows (rate and burst, plus
10 %), so api-a's CPU stays what those cost (at most twice, plus 5 % of a core for its own work);
every 429 is a problem (`application/problem+json`) of type `too-many-requests` with
`Retry-After`; the second client is answered 200 within 100 ms throughout, its 95th percentile
reported before and during. (Here the looping client and the gateway answering its 429s share the
machine's two cores with the second client, so its latency moves with them: the bound is
absolute, as in the other drills. Without the limits, api-a takes some 400 of these requests a
second, a third of a core here, and would pin a replica at its 500m limit.)
"""

from __future__ import annotations

import json
import subprocess
import time
from contextlib import ExitStack

from harness import httpclient
from harness.gateway import Gateway
from harness.pod import ServiceAPod
from harness.probe import Answer, Prober
from harness.waiting import eventually
from harness.wrk import Wrk

from .report import Context, Row, mib

HISTORY = "/service1/history?max_points=5000"
DEAR = [f"/service1/history?max_points={points}" for points in range(5000, 4990, -1)] + ["/service1/"]
"""The looping client's requests, in turn: more `max_points` than api-a keeps bodies of."""
SAMPLES = 43_200
INTERVAL = "2s"
WINDOW = {"AVERAGE_WINDOW": "24h"}
DEAR_RATE = 5.0
"""Requests a second to api-a's dear routes one client is allowed, all in one count
(`gateway/nginx.conf`)..."""
DEAR_BURST = 20
"""...and its burst."""
SECOND_CLIENT = "127.0.0.2"
ANOTHER_CLIENT = "127.0.0.3"
TOO_MANY_REQUESTS = "tag:btc-price-services,2026:too-many-requests"
NORMAL_WITHIN = 0.100
BEFORE_SECONDS = 3.0


def run(context: Context) -> Row:
    seconds = 30 if context.long else 10
    row = Row(
        "rate-limit",
        injected=f"one client looping on /service1/history (max_points 5000 to 4991 in turn) and the page through the "
        f"gateway for {seconds} s (wrk, 2 connections), "
        f"api-a holding {SAMPLES} samples (a day at 2 s); another client asking /service1/current every 50 ms",
    )
    with ExitStack() as stack:
        pod = stack.enter_context(
            ServiceAPod(context.binaries, context.workdir, {"kraken": 80_000.0}, api_env=WINDOW, poller_env=WINDOW)
        )
        pod.start()
        seeded = subprocess.run([str(context.seed), pod.redis.url, str(SAMPLES), INTERVAL], capture_output=True, text=True)
        if seeded.returncode != 0:
            raise RuntimeError(f"seeding failed: {seeded.stderr.strip()}")
        eventually(lambda: samples(pod) >= SAMPLES, 30, f"api-a holds the {SAMPLES} seeded samples")
        cost = cpu_per_request(pod)
        gateway = stack.enter_context(
            Gateway(context.workdir, {"service_a": [f"127.0.0.1:{pod.api.port}"], "service_b": ["127.0.0.1:9"]})
        )
        gateway.start()
        current = gateway.url("/service1/current")
        with Prober(current, every=0.05, timeout=2.0, source=SECOND_CLIENT) as before:
            time.sleep(BEFORE_SECONDS)
        rss_before = pod.api.process.rss_kib()
        cpu_before = pod.api.process.cpu_seconds()
        attacker = stack.enter_context(
            Wrk(context.workdir, gateway.url(), DEAR, seconds, connections=2, threads=1, name="attacker", statuses=True)
        )
        with Prober(current, every=0.05, timeout=2.0, source=SECOND_CLIENT) as during:
            result = attacker.start().result()
        api_cpu = pod.api.process.cpu_seconds() - cpu_before
        refusal = over_the_limit(gateway.url(HISTORY))
        row.memory = f"api-a {mib(rss_before)} → {mib(pod.api.process.rss_kib())} MiB"
    admitted, refused = result.statuses.get(200, 0), result.statuses.get(429, 0)
    allowed = DEAR_RATE * result.seconds + DEAR_BURST
    row.requests = result.requests + len(before.answers) + len(during.answers)
    row.expect(refused > 0, f"the looping client got no 429 in {result.requests} requests")
    row.expect(
        set(result.statuses) <= {200, 429} and result.failures == refused,
        f"the looping client got other answers or errors: {result.statuses}, {result.describe_failures()}",
    )
    row.expect(admitted <= allowed * 1.1, f"{admitted} dear requests reached api-a in {result.seconds:.0f} s, "
               f"over the {allowed:.0f} allowed")  # fmt: skip
    row.expect(refusal is None, f"a 429 as the services' errors are: {refusal}")
    row.failures = second_client(before.answers, during.answers, row)
    used = api_cpu / result.seconds
    row.expect(api_cpu <= admitted * cost * 2 + 0.05 * result.seconds,
               f"api-a used {used:.0%} of a core for {admitted} admitted requests of {cost * 1000:.2f} ms")  # fmt: skip
    row.recovery = (
        f"looping client: {result.requests} requests, {refused} answered 429, {admitted} reached api-a "
        f"({admitted / result.seconds:.1f}/s; each {cost * 1000:.2f} ms of CPU); api-a at {used:.1%} of a core; "
        f"other client: p95 {p95(before.answers) * 1000:.1f} ms before, {p95(during.answers) * 1000:.1f} ms during"
    )
    return row


def samples(pod: ServiceAPod) -> int:
    return httpclient.get(pod.api.url("/service1/average")).json()["samples"]


def cpu_per_request(pod: ServiceAPod, rounds: int = 5) -> float:
    """api-a's CPU seconds for one of the looping client's requests, on average, asked directly
    in the same turn."""
    started = pod.api.process.cpu_seconds()
    for _ in range(rounds):
        for path in DEAR:
            httpclient.get(pod.api.url(path))
    return (pod.api.process.cpu_seconds() - started) / (rounds * len(DEAR))


def over_the_limit(url: str) -> str | None:
    """A burst from a third client until it is refused: what is wrong with the 429, if anything."""
    for _ in range(DEAR_BURST * 3):
        answer = httpclient.get(url, source=ANOTHER_CLIENT)
        if answer.status == 429:
            break
    else:
        return "never refused"
    problems = []
    if answer.headers.get("retry-after") != "1":
        problems.append(f"Retry-After {answer.headers.get('retry-after')!r}")
    if answer.headers.get("content-type") != "application/problem+json":
        problems.append(f"content type {answer.headers.get('content-type')!r}")
    problem = json.loads(answer.body)
    if (problem.get("type"), problem.get("status")) != (TOO_MANY_REQUESTS, 429) or not problem.get("detail"):
        problems.append(f"body {answer.body!r}")
    if not answer.headers.get("x-request-id"):
        problems.append("no X-Request-ID")
    return "; ".join(problems) or None


def p95(answers: list[Answer]) -> float:
    times = sorted(a.elapsed for a in answers)
    return times[int(len(times) * 0.95)] if times else 0.0


def second_client(before: list[Answer], during: list[Answer], row: Row) -> int:
    """Checks the other client was answered in time; returns its failed or slow requests."""
    bad = [a for a in before + during if a.status != 200 or a.elapsed > NORMAL_WITHIN]
    row.expect(not bad, f"the other client: {len(bad)} of {len(before) + len(during)} requests failed or took "
               f"over {NORMAL_WITHIN * 1000:.0f} ms")  # fmt: skip
    return len(bad)
