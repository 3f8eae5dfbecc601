"""Clients that hold a connection without being slow to send: against api-a and api-b directly,
1 000 connections that send nothing, clients that never read (pipelined requests, and one large
answer each), and SIGTERM while such a client is connected.

Expected (docs/configuration.md, "Connections and shutdown"), with `HEADER_TIMEOUT=1s` and `IDLE_TIMEOUT=30s`
as in the report that found them:
- a silent connection is closed within `HEADER_TIMEOUT` (+1 s) of its accept, not after the
  idle timeout;
- a client that does not read has its connection closed within `WRITE_TIMEOUT` (+1 s) of when
  it stopped sending (its answers wait in the service's buffers), or `TCP_USER_TIMEOUT` (+1 s)
  when they all went to the kernel's, and `http_connections_open` is back to its base;
- a normal client is answered within 100 ms meanwhile;
- after SIGTERM with such a client connected (and write deadlines longer than the drain), the
  process exits 0 within `SHUTDOWN_DELAY` + `DRAIN_TIMEOUT` (+1 s), and counts the connection it
  closed.
"""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack

from harness import prometheus, services
from harness.deaf import DeafClients
from harness.floods import Flood
from harness.pod import ServiceAPod
from harness.probe import Prober
from harness.services import Service
from harness.waiting import NotInTime, eventually

from .report import Context, Row, mib

HEADER_TIMEOUT = 1.0
WRITE_TIMEOUT = 2.0
TCP_USER_TIMEOUT = 2.0
ENV = {
    "HEADER_TIMEOUT": f"{HEADER_TIMEOUT:g}s",
    "IDLE_TIMEOUT": "30s",
    "WRITE_TIMEOUT": f"{WRITE_TIMEOUT:g}s",
    "TCP_USER_TIMEOUT": f"{TCP_USER_TIMEOUT:g}s",
}
SHUTDOWN_DELAY = 1.0
DRAIN_TIMEOUT = 2.0
SHUTDOWN_ENV = {
    "SHUTDOWN_DELAY": f"{SHUTDOWN_DELAY:g}s",
    "DRAIN_TIMEOUT": f"{DRAIN_TIMEOUT:g}s",
    # Longer than the drain, so that only the drain can end the stuck client's connection.
    "WRITE_TIMEOUT": "60s",
    "TCP_USER_TIMEOUT": "60s",
}
SLACK = 1.0
NORMAL_ANSWER_WITHIN = 0.100
SILENT = 1000
DEAF = 20


def run(context: Context) -> Row:
    row = Row(
        "stuck-clients",
        injected=f"{SILENT} silent connections, {DEAF} non-reading clients pipelining, {DEAF} asking for a large "
        "answer; SIGTERM with one connected; against api-a and api-b",
    )
    recoveries, memories = [], []
    with ExitStack() as stack:
        pod = stack.enter_context(ServiceAPod(context.binaries, context.workdir, {"kraken": 80_000.0}, api_env=ENV))
        pod.start()
        api_b = stack.enter_context(services.start_api_b(context.binaries, context.workdir, env=ENV))
        for service, base in ((pod.api, services.SERVICE_A_BASE_PATH), (api_b, services.SERVICE_B_BASE_PATH)):
            before = service.process.rss_kib()
            normal = f"{base}/" if base == services.SERVICE_B_BASE_PATH else f"{base}/current"
            with Prober(service.url(normal), every=0.1, timeout=2.0) as prober:
                phases = [("silent", time.monotonic())]
                silent = silent_connections(service, row)
                phases.append(("pipelining", time.monotonic()))
                pipelining = deaf_clients(service, f"{base}/openapi.json", True, row)
                phases.append(("large answer", time.monotonic()))
                large = deaf_clients(service, f"{base}/openapi.json", False, row)
                prober.stop()
            worst = normal_answers(service, prober, phases, row)
            recoveries.append(f"{service.name}: silent closed ≤ {silent:.1f} s, not reading ≤ "
                              f"{max(pipelining, large):.1f} s, normal ≤ {worst * 1000:.0f} ms")  # fmt: skip
            memories.append(f"{service.name} {mib(before)} → {mib(service.process.rss_kib())} MiB")
        stops = [
            sigterm_with_a_stuck_client(pod.start_api("api-a-stopping", env=SHUTDOWN_ENV), services.SERVICE_A_BASE_PATH, row),
            sigterm_with_a_stuck_client(
                services.start_api_b(context.binaries, context.workdir, name="api-b-stopping", env=SHUTDOWN_ENV),
                services.SERVICE_B_BASE_PATH,
                row,
            ),
        ]  # fmt: skip
    row.recovery = "; ".join(recoveries) + "; SIGTERM with a stuck client: exit 0 after " + ", ".join(stops)
    row.memory = ", ".join(memories)
    return row


def normal_answers(service: Service, prober: Prober, phases: list[tuple[str, float]], row: Row) -> float:
    """Checks the normal client's answers during each phase; returns the slowest."""
    ends = [start for _, start in phases[1:]] + [float("inf")]
    for (phase, start), end in zip(phases, ends):
        answers = prober.between(start, end)
        slow = [a for a in answers if a.status != 200 or a.elapsed > NORMAL_ANSWER_WITHIN]
        row.requests += len(answers)
        row.failures += len(slow)
        if slow:
            row.problems.append(
                f"{service.name}: with the {phase} clients, {len(slow)} of {len(answers)} normal requests failed "
                f"or took over {NORMAL_ANSWER_WITHIN * 1000:.0f} ms (slowest "
                f"{max(a.elapsed for a in slow) * 1000:.0f} ms)"
            )
    return max((a.elapsed for a in prober.answers), default=0.0)


def open_connections(service: Service) -> float:
    return prometheus.total(service.url("/metrics"), "http_connections_open")


def closed(service: Service, reason: str) -> float:
    return prometheus.total(service.url("/metrics"), "http_connections_closed_total", reason=reason)


def silent_connections(service: Service, row: Row) -> float:
    """The silent flood; returns the longest time a connection stayed open."""
    flood = Flood("silent", service.port, SILENT, "/", hold_for=HEADER_TIMEOUT + 6)
    with flood:
        result = flood.result()
    row.requests += result.opened
    late = [t for t in result.closed_after if t > HEADER_TIMEOUT + SLACK]
    row.failures += result.still_open + len(late) + result.failed_to_open
    row.expect(result.failed_to_open == 0, f"{service.name}: {result.failed_to_open} silent connections could not connect")
    row.expect(
        result.still_open == 0 and not late,
        f"{service.name}: of {result.opened} silent connections {result.still_open} were still open after "
        f"{HEADER_TIMEOUT + 6:g} s and {len(late)} closed later than {HEADER_TIMEOUT:g} s + {SLACK:g} s",
    )
    return result.max_closed_after


def deaf_clients(service: Service, path: str, pipelined: bool, row: Row) -> float:
    """Clients that never read; returns how long after they stopped sending the gauge was back."""
    kind = "pipelining" if pipelined else "asking for a large answer"
    base = open_connections(service)
    deadline_closings = closed(service, "write_timeout") + closed(service, "tcp_user_timeout")
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    within = (WRITE_TIMEOUT if pipelined else max(WRITE_TIMEOUT, TCP_USER_TIMEOUT)) + SLACK
    with DeafClients(service.port, DEAF, request, pipelined) as clients:
        row.requests += DEAF
        row.expect(open_connections(service) >= base + DEAF * 0.9, f"{service.name}: the clients {kind} were not held")
        try:
            eventually(lambda: open_connections(service) <= base, within + 5, "back to base", every=0.1)
        except NotInTime:
            row.failures += DEAF
            row.problems.append(
                f"{service.name}: {open_connections(service) - base:.0f} of {DEAF} clients {kind} still held "
                f"{within + 5:g} s after they stopped sending"
            )
            return within + 5
        back = time.monotonic() - clients.stopped_sending
    counted = closed(service, "write_timeout") + closed(service, "tcp_user_timeout") - deadline_closings
    row.expect(back <= within, f"{service.name}: the clients {kind} were held {back:.1f} s, over {within:g} s")
    row.expect(counted >= DEAF, f"{service.name}: {counted:.0f} of {DEAF} closings counted for the clients {kind}")
    return back


def sigterm_with_a_stuck_client(service: Service, base: str, row: Row) -> str:
    """SIGTERM while one client pipelines and another awaits a large answer, neither reading."""
    request = f"GET {base}/openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    exit_within = SHUTDOWN_DELAY + DRAIN_TIMEOUT + SLACK
    with service, DeafClients(service.port, 1, request, pipelined=True), DeafClients(service.port, 1, request, False):
        eventually(lambda: open_connections(service) >= 3, 5, "the stuck clients are connected")
        signalled = time.monotonic()
        service.process.terminate()
        try:
            status = service.process.wait(exit_within + 10)
        except subprocess.TimeoutExpired:
            row.problems.append(f"{service.name}: still running {exit_within + 10:g} s after SIGTERM with a stuck client")
            return f"{service.name} never"
        took = time.monotonic() - signalled
    row.expect(status == 0, f"{service.name}: exit status {status} after SIGTERM, not 0")
    row.expect(took <= exit_within, f"{service.name}: exited {took:.1f} s after SIGTERM, over {exit_within:g} s")
    logged = any("still open after the drain timeout" in line.get("message", "") for line in service.process.log_lines())
    row.expect(logged, f"{service.name}: no log line for the connections closed at the end of the drain")
    return f"{service.name} {took:.1f} s"
