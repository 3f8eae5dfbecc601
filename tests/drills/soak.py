"""Soak: mixed load on every route through the gateway for `SOAK_SECONDS` (30 in CI, 60 in the long
mode) while the poller ticks every second. Expected: zero errors, resident memory flat, the poller
on schedule.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack

from harness import httpclient, prometheus, services
from harness.gateway import Gateway
from harness.pod import ServiceAPod
from harness.waiting import eventually
from harness.wrk import Wrk, run as run_wrk

from .report import Context, Memory, Row

PATHS = ["/service1/current", "/service1/average", "/service2/", "/service2"]
PRICES = {"kraken": 80_000.0, "gemini": 80_010.0, "bitfinex": 80_020.0}
GROWTH_ALLOWED = 0.10
GROWTH_FLOOR_KIB = 1024
"""Growth always allowed, whatever the percentage: allocator noise on a process of a few MiB."""
TICKS_KEPT = 0.9


def run(context: Context) -> Row:
    duration = context.soak_seconds
    row = Row("soak", injected=f"wrk on {len(PATHS)} gateway routes for {duration} s, poller ticking at 1 s")
    with ExitStack() as stack:
        pod = stack.enter_context(ServiceAPod(context.binaries, context.workdir, PRICES, poll_interval="1s"))
        pod.start()
        api_b = stack.enter_context(services.start_api_b(context.binaries, context.workdir))
        # wrk is one client at tens of thousands of requests a second: without the per-client
        # rate limits (the rate-limit drill drills them), so that the soak loads the services.
        gateway = stack.enter_context(
            Gateway(
                context.workdir,
                {"service_a": [f"127.0.0.1:{pod.api.port}"], "service_b": [f"127.0.0.1:{api_b.port}"]},
                per_client_limits=False,
            )
        )
        gateway.start()
        for path in PATHS:
            eventually(lambda: httpclient.status_of(gateway.url(path)) == 200, 10, f"the gateway serves {path}")
        # Warm up first: buffers, connection pools and the allocator's arenas reach their working size.
        run_wrk(context.workdir, gateway.url(), PATHS, seconds=3, name="warm-up")
        watched = [pod.api, api_b, pod.poller]
        memory = Memory(watched)
        peaks = dict(memory.before)
        stored = lambda: prometheus.total(pod.poller.url("/metrics"), "poller_ticks_total", result="stored")  # noqa: E731
        stored_before = stored()
        load = stack.enter_context(Wrk(context.workdir, gateway.url(), PATHS, seconds=duration, connections=32))
        load.start()
        finished = threading.Event()
        while not finished.wait(2.0):
            for service in watched:
                peaks[service.name] = max(peaks[service.name], service.process.rss_kib())
            if not load.process.running():
                finished.set()
        result = load.result()
        stored_during = stored() - stored_before
        memory.measure_after()
        row.requests = result.requests
        row.failures = result.failures
        row.expect(result.failures == 0, f"{result.failures} failed requests ({result.describe_failures()})")
        for name, before in memory.before.items():
            limit = max(before * (1 + GROWTH_ALLOWED), before + GROWTH_FLOOR_KIB)
            row.expect(
                peaks[name] <= limit,
                f"{name}: resident memory grew from {before} KiB to {peaks[name]} KiB (limit {limit:.0f} KiB)",
            )
        row.expect(
            stored_during >= TICKS_KEPT * result.seconds - 1,
            f"the poller stored {stored_during:g} prices in {result.seconds:.0f} s of 1 s ticks",
        )
        current = httpclient.get(gateway.url("/service1/current")).json()
        row.expect(current.get("stale") is False, f"/current is stale after the soak: {current}")
        row.recovery = f"{result.rate:.0f} req/s, p99 {result.p99_ms:.1f} ms"
        row.memory = memory.text()
    return row
