"""Hostile clients against each service directly (as when reached without the ingress):
1 000 slow-header connections and 1 000 idle keep-alive connections at once, oversized request
heads, and a bounded fuzz.

Expected (docs/configuration.md): a normal client is answered within 100 ms
meanwhile; slow heads are closed within `HEADER_TIMEOUT` of their first byte and idle
connections within `IDLE_TIMEOUT`; a head over 16 KiB gets 431; the fuzz gets no 5xx but the
documented 503s; resident memory is back within 10 % of its idle level afterwards.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

from harness import fuzz, httpclient, services
from harness.floods import Flood
from harness.pod import ServiceAPod
from harness.probe import Prober
from harness.services import Service
from harness.waiting import eventually

from .report import Context, Row, mib

HEADER_TIMEOUT = 2.0
IDLE_TIMEOUT = 4.0
TIMEOUT_ENV = {"HEADER_TIMEOUT": f"{HEADER_TIMEOUT:g}s", "IDLE_TIMEOUT": f"{IDLE_TIMEOUT:g}s"}
CLOSE_SLACK = 1.0
"""How late after its timeout a connection may be seen closed (scheduling on a busy machine)."""
NORMAL_ANSWER_WITHIN = 0.100
MEMORY_TOLERANCE = 0.10
MEMORY_RELEASE_EVERY = 2.0
"""How often a service looks for freed memory to give back (`service-kit/src/memory.rs`)."""
HEAD_LIMIT = 16 * 1024
DOCUMENTED_503 = [
    {"type": f"tag:btc-price-services,2026:{code}"}
    for code in ("no-price-yet", "no-price-in-window", "store-unavailable")
] + [{"status": "not ready"}, {"status": "shutting down"}]


def run(context: Context) -> Row:
    connections = 1000
    fuzz_count = 3000 if context.long else 400
    row = Row(
        "hostile-clients",
        injected=f"{connections} slow-header + {connections} idle keep-alive connections, heads over 16 KiB, "
        f"{fuzz_count} fuzzed requests; against each service",
    )
    memories, closings = [], []
    with ExitStack() as stack:
        pod = stack.enter_context(
            ServiceAPod(context.binaries, context.workdir, {"kraken": 80_000.0}, api_env=TIMEOUT_ENV, poller_env=TIMEOUT_ENV)
        )
        pod.start()
        api_b = stack.enter_context(services.start_api_b(context.binaries, context.workdir, env=TIMEOUT_ENV))
        targets = [
            (pod.api, "/service1/current", ["/service1", "/service1/current", "/"]),
            (api_b, "/service2/", ["/service2", "/service2/", "/"]),
            (pod.poller, "/readyz", ["/", "/readyz", "/metrics"]),
        ]
        for service, path, fuzz_bases in targets:
            idle = warm_up(service, path, fuzz_bases, fuzz_count)
            closings.append(flood(service, path, connections, row))
            oversized_heads(service, path, row)
            fuzz_it(service, fuzz_bases, fuzz_count, row)
            memories.append(memory_settles(service, idle, row))
            row.expect(httpclient.status_of(service.url("/healthz")) == 200, f"{service.name}: not live afterwards")
    row.recovery = "; ".join(closings)
    row.memory = ", ".join(memories)
    return row


def warm_up(service: Service, path: str, fuzz_bases: list[str], fuzz_count: int) -> int:
    """A few ordinary requests, the oversized heads and the fuzz once each, then the idle
    resident memory in KiB, once the service has given back what they freed.

    The heads and the fuzz create the metric series of their routes and statuses (a bounded
    set, made once per process); made during the floods instead, those small lasting blocks
    would sit among the flood's freed memory and keep a few hundred KiB of it resident, which is
    not what this drill asks about: whether the flood's memory comes back."""
    for _ in range(20):
        httpclient.get(service.url(path))
    warm = Row("warm-up", injected="")
    oversized_heads(service, path, warm)
    fuzz_it(service, fuzz_bases, fuzz_count, warm)
    time.sleep(MEMORY_RELEASE_EVERY + 0.5)
    return service.process.rss_kib()


def flood(service: Service, path: str, connections: int, row: Row) -> str:
    """Both floods at once while a normal client keeps asking; returns how long closing took."""
    name = service.name
    slow = Flood("slow-headers", service.port, connections, path, hold_for=HEADER_TIMEOUT + 6, drip_every=0.5)
    idle = Flood("idle-keepalive", service.port, connections, path, hold_for=IDLE_TIMEOUT + 6)
    with slow, idle, Prober(service.url(path), every=0.1, timeout=2.0) as prober:
        slow_result, idle_result = slow.result(), idle.result()
        answers = prober.stop()
    row.requests += len(answers) + 2 * connections
    bad = [a for a in answers if a.status != 200 or a.elapsed > NORMAL_ANSWER_WITHIN]
    row.failures += len(bad)
    worst = max((a.elapsed for a in answers), default=0.0)
    row.expect(
        not bad,
        f"{name}: {len(bad)} of {len(answers)} normal requests failed or took over "
        f"{NORMAL_ANSWER_WITHIN * 1000:.0f} ms during the floods (slowest {worst * 1000:.0f} ms)",
    )
    for kind, result, timeout in (("slow-header", slow_result, HEADER_TIMEOUT), ("idle", idle_result, IDLE_TIMEOUT)):
        row.expect(result.failed_to_open == 0, f"{name}: {result.failed_to_open} {kind} connections could not connect")
        late = [t for t in result.closed_after if t > timeout + CLOSE_SLACK]
        row.failures += result.still_open + len(late)
        row.expect(
            result.still_open == 0 and not late,
            f"{name}: of {result.opened} {kind} connections {result.still_open} were still open after "
            f"{result.max_closed_after if not result.still_open else (timeout + 6):.0f} s and {len(late)} closed later "
            f"than {timeout:g} s + {CLOSE_SLACK:g} s",
        )
    return (
        f"{name}: slow heads closed ≤ {slow_result.max_closed_after:.1f} s, "
        f"idle ≤ {idle_result.max_closed_after:.1f} s, normal ≤ {worst * 1000:.0f} ms"
    )


def oversized_heads(service: Service, path: str, row: Row) -> None:
    """One huge header, many headers over the limit, and a large head under it."""
    cases = [
        ("one 64 KiB header", [("X-Big", "a" * 65536)], 431),
        ("20 headers of 1 KiB", [(f"X-Many-{i}", "b" * 1024) for i in range(20)], 431),
        ("a 12 KiB head", [(f"X-Fits-{i}", "c" * 1024) for i in range(12)], 200),
    ]
    for what, headers, expected in cases:
        head = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        assert (len(head) > HEAD_LIMIT) == (expected == 431), what
        answer = httpclient.send_raw(service.port, head.encode(), timeout=5)
        row.requests += 1
        if not row.expect(answer.status == expected, f"{service.name}: {what}: got {answer.status}, expected {expected}"):
            row.failures += 1


def fuzz_it(service: Service, bases: list[str], count: int, row: Row) -> None:
    """No 5xx except a documented 503, and an answer to every request."""
    seed = 12
    unanswered, errors = 0, []
    for index, (method, request) in enumerate(fuzz.requests(seed, count, bases)):
        try:
            answer = httpclient.send_raw(service.port, request, timeout=5, head=method == "HEAD")
        except OSError:
            unanswered += 1
            continue
        row.requests += 1
        if answer.status is None:
            unanswered += 1
        elif answer.status >= 500 and not documented_503(answer.status, answer.body):
            errors.append(f"#{index} {request[:80]!r} -> {answer.status}")
    row.failures += unanswered + len(errors)
    row.expect(not errors, f"{service.name}: fuzz (seed {seed}) got {len(errors)} 5xx: {'; '.join(errors[:3])}")
    row.expect(unanswered == 0, f"{service.name}: fuzz (seed {seed}): {unanswered} requests got no answer")


def documented_503(status: int, body: bytes) -> bool:
    try:
        answer = json.loads(body)
        return status == 503 and any(documented.items() <= answer.items() for documented in DOCUMENTED_503)
    except ValueError:
        return False


def memory_settles(service: Service, idle_kib: int, row: Row) -> str:
    limit = idle_kib * (1 + MEMORY_TOLERANCE)
    try:
        eventually(lambda: service.process.rss_kib() <= limit, 5, "resident memory back")
    except AssertionError:
        row.problems.append(
            f"{service.name}: resident memory {mib(service.process.rss_kib())} MiB, more than 10 % over "
            f"its idle {mib(idle_kib)} MiB"
        )
    return f"{service.name} {mib(idle_kib)} → {mib(service.process.rss_kib())} MiB"
