"""A flood up to and past the connection cap, with the services' images (built from the
repository's Dockerfile) run under `docker run --memory` at the manifests' memory limit and no
`MAX_CONNECTIONS`: the cap comes from the memory limit (docs/configuration.md, "The connection
cap fits the memory limit").

The flood holds the costliest connections a client can hold, a third of each kind: answered
once and idle, a slow head, pipelining without reading (every deadline at a minute, so that they
stay for the whole flood); `EXTRA` more connections than the cap wait in the kernel's backlog.

Expected: the service logs the cap it derived from the limit; it is not OOM-killed (`docker
inspect`: `OOMKilled` false, still running); a normal client on a keep-alive connection opened
before the flood (as the ingress's pool is) is answered within 1 s throughout; the connections
beyond the cap are accepted once the flood ends, and a new client is answered within 1 s; the
resident memory comes back within 10 % (or 1 MiB) of its level before the flood; SIGTERM exits 0.
"""

from __future__ import annotations

import http.client
import os
import re
import time
from contextlib import ExitStack

from harness import containers, httpclient, prometheus
from harness.containers import Container
from harness.deaf import DeafClients
from harness.floods import Flood
from harness.probe import Prober
from harness.services import SERVICE_A_BASE_PATH, SERVICE_B_BASE_PATH
from harness.waiting import eventually

from .report import Context, Row, mib

HOLD = 60
ENV = {
    "LOG_FORMAT": "json",
    "HEADER_TIMEOUT": f"{HOLD}s",
    "IDLE_TIMEOUT": f"{HOLD}s",
    "WRITE_TIMEOUT": f"{HOLD}s",
    "TCP_USER_TIMEOUT": f"{HOLD}s",
}
EXTRA = 500
ANSWER_WITHIN = 1.0
MEMORY_TOLERANCE = 0.10
MEMORY_FLOOR_KIB = 1024
CAP_LOG = re.compile(r"at most (\d+) connections at once \(the memory limit of (\d+) MiB")
# (image target, container in the manifests, base path, route a normal client asks)
SERVICES = [
    ("api-b", "api-b", SERVICE_B_BASE_PATH, f"{SERVICE_B_BASE_PATH}/"),
    ("api-a", "api-a", SERVICE_A_BASE_PATH, f"{SERVICE_A_BASE_PATH}/openapi.json"),
]


def run(context: Context) -> Row:
    row = Row("connection-cap", injected="")
    held_for = 20.0 if context.long else 6.0
    recoveries, memories, injected = [], [], []
    # Both images first, from one state of the sources.
    images = {target: containers.build(target) for target, *_ in SERVICES}
    for target, manifest_container, base, normal in SERVICES:
        limit = containers.memory_limit(manifest_container)
        image = images[target]
        name = f"btc-drill-{target}-{os.getpid()}"
        with Container(name, image, {**ENV, "BASE_PATH": base}, containers.docker_memory(limit)) as container:
            recovery, memory, flooded = flood_one(container, target, limit, base, normal, held_for, row)
        recoveries.append(recovery)
        memories.append(memory)
        injected.append(flooded)
    row.injected = "; ".join(injected) + f", each held {held_for:g} s"
    row.recovery = "; ".join(recoveries)
    row.memory = ", ".join(memories)
    return row


def flood_one(container: Container, target: str, limit: str, base: str, normal: str, held_for: float, row: Row):
    """Floods one container; returns its recovery, memory and injected cells."""
    address = eventually(lambda: container.address, 10, f"{target}'s address")
    url = f"http://{address}:8080"
    eventually(lambda: httpclient.status_of(f"{url}/healthz") == 200, 15, f"{target} serves")
    cap, from_mib = eventually(lambda: derived_cap(container), 5, f"{target} logs the cap it derived")
    row.expect(from_mib == int(limit.removesuffix("Mi")), f"{target}: the cap came from a {from_mib} MiB limit, not {limit}")
    connections = cap + EXTRA
    third = connections // 3
    before = container.rss_kib()
    request = f"GET {base}/openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    # Opened before the flood: once every slot is taken, a new connection waits in the backlog.
    metrics = httpclient.KeptConnection(address, 8080)
    metric = lambda name: prometheus.total_in(metrics.get("/metrics").body.decode(), name)  # noqa: E731
    with Prober(url + normal, every=0.1, timeout=5.0, keep_alive=True) as prober, ExitStack() as flood:
        hold = held_for + 30
        flood.enter_context(Flood("idle-keepalive", 8080, third, normal, hold_for=hold, host=address))
        flood.enter_context(Flood("slow-headers", 8080, third, normal, hold_for=hold, drip_every=2.0, host=address))
        flood.enter_context(DeafClients(8080, connections - 2 * third, request, pipelined=True, host=address))
        if not reach_cap(container, lambda: metric("http_connections_open"), cap):
            row.problems.append(f"{target}: stopped before the flood reached the cap: {container.state()}")
            return f"{target}: killed", f"{target} {mib(before)} → killed (limit {limit})", f"{target}: {connections}"
        peak, deadline = container.rss_kib(), time.monotonic() + held_for
        while time.monotonic() < deadline:
            peak = max(peak, container.rss_kib())
            row.expect(not container.state()["OOMKilled"], f"{target}: OOM-killed during the flood")
            time.sleep(0.5)
        reached = metric("http_connection_limit_reached_total")
        during = prober.stop()
    metrics.close()
    row.requests += len(during) + connections
    slow = [a for a in during if a.status != 200 or a.elapsed > ANSWER_WITHIN]
    row.failures += len(slow)
    row.expect(not slow, f"{target}: {len(slow)} of {len(during)} normal requests failed or took over 1 s during the flood")
    row.expect(reached >= 1, f"{target}: the flood past the cap never reached it")
    state = container.state()
    row.expect(state["Running"] and not state["OOMKilled"], f"{target}: after the flood, {state}")
    with Prober(url + normal, every=0.1, timeout=5.0) as after:
        eventually(lambda: len(after.answers) >= 10, 10, "ten answers after the flood")
    late = [a for a in after.answers if a.status != 200 or a.elapsed > ANSWER_WITHIN]
    row.expect(not late, f"{target}: after the flood {len(late)} of {len(after.answers)} requests failed or took over 1 s")
    settled = memory_back(container, before)
    row.expect(settled is not None, f"{target}: resident memory {mib(container.rss_kib())} MiB after the flood, "
               f"not back to its {mib(before)} MiB")  # fmt: skip
    status = container.stop()
    row.expect(status == 0, f"{target}: exit status {status} after SIGTERM")
    worst = max((a.elapsed for a in during), default=0.0)
    return (
        f"{target}: cap {cap} from {limit}, normal ≤ {worst * 1000:.0f} ms during, a new client answered after",
        f"{target} {mib(before)} → peak {mib(peak)} → {mib(settled or container.rss_kib())} MiB (limit {limit})",
        f"{target}: {connections} connections (cap {cap} + {EXTRA})",
    )


def derived_cap(container: Container) -> tuple[int, int] | None:
    """The cap the service logged and the memory limit, in MiB, it came from."""
    for line in container.logs():
        if match := CAP_LOG.search(line.get("message", "")):
            return int(match.group(1)), int(match.group(2))
    return None


def reach_cap(container: Container, open_connections, cap: int) -> bool:
    """Waits until the service holds `cap` connections (True) or has stopped (False)."""

    def reached() -> str | None:
        if not container.state()["Running"]:
            return "stopped"
        try:
            return "cap" if open_connections() >= cap else None
        except (OSError, http.client.HTTPException):
            return None  # the kept connection broke: the service may be dying

    return eventually(reached, 30, "the flood reaches the cap") == "cap"


def memory_back(container: Container, before_kib: int) -> int | None:
    limit = max(before_kib * (1 + MEMORY_TOLERANCE), before_kib + MEMORY_FLOOR_KIB)
    try:
        return eventually(lambda: (rss := container.rss_kib()) <= limit and rss, 10, "memory back")
    except AssertionError:
        return None
