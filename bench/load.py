"""The targets under wrk, round after round, each measured alone; the idle connections of a
target are opened before its wrk run and checked to be still open after it.

A target that answers with errors fails the benchmark: its figures would mean nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import httpclient, prometheus, wrk
from harness.floods import Flood
from harness.processes import Process
from harness.waiting import NotInTime, eventually

from . import profile
from .figures import Run
from .settings import Settings
from .stack import CLIENT_CPU, Stack
from .targets import Target, round_order

# How long the idle connections may take to open before the wrk run starts; they are held for
# this plus the run.
IDLE_OPENING_ALLOWANCE = 15


class BenchError(RuntimeError):
    """A measurement that cannot be trusted: errors under load, connections not held."""


@dataclass
class IdleFigures:
    """What the idle connections did in each round of their target."""

    held: list[int] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)


def idle_hold_seconds(settings: Settings) -> int:
    """How long each idle connection is held open after its answer."""
    return IDLE_OPENING_ALLOWANCE + settings.duration


def open_connections(base_url: str) -> float:
    return prometheus.total(base_url + "/metrics", "http_connections_open")


def run_wrk(settings: Settings, workdir: Path, url: str, target: Target, name: str, pinned: bool) -> wrk.WrkResult:
    """One wrk run (its files in `workdir` under `name`); fails on any error. Against a pinned
    stack, wrk runs one thread on the core the servers leave free."""
    result = wrk.run(
        workdir,
        url,
        [target.path],
        settings.duration,
        connections=settings.connections,
        threads=1 if pinned else settings.threads,
        name=name,
        cpu=CLIENT_CPU if pinned else None,
    )
    if result.failures or result.requests == 0:
        raise BenchError(
            f"{target.label} ({url}{target.path}): {result.requests} requests, failures: "
            f"{result.describe_failures()}"
        )
    return result


def answered(base_url: str, path: str) -> float:
    return prometheus.total(base_url + "/metrics", "http_requests_total", route=path)


def with_idle_connections(
    settings: Settings, target: Target, base_url: str, process: Process, measure: Callable[[], Run]
) -> tuple[Run, int, int]:
    """`measure()` while `settings.idle_connections` keep-alive connections, each after one
    answered request, sit idle against the server; returns its result, the connections the
    server still held after it, and the server's resident memory then."""
    count = settings.idle_connections
    port = int(base_url.rsplit(":", 1)[1])
    answered_before = answered(base_url, target.path)
    started = time.monotonic()
    with Flood("idle-keepalive", port, count, target.path, hold_for=idle_hold_seconds(settings)) as flood:
        # Opened is not enough: each connection's request must be answered too, or wrk would
        # measure the flood's requests along with its own.
        def all_idle() -> bool:
            return open_connections(base_url) > count and answered(base_url, target.path) >= answered_before + count

        try:
            eventually(all_idle, IDLE_OPENING_ALLOWANCE, f"{count} connections open, each answered once")
        except NotInTime as err:
            raise BenchError(f"{err} ({open_connections(base_url):.0f} open)") from None
        print(f"{count} idle connections open and answered in {time.monotonic() - started:.1f} s", flush=True)
        result = measure()
        # The scrape's own connection is open while it is counted.
        held = int(open_connections(base_url)) - 1
        rss = process.rss_kib()
        flood_result = flood.result()
    if flood_result.failed_to_open or flood_result.still_open != count or flood_result.statuses != {200: count}:
        raise BenchError(
            f"idle connections: {flood_result.failed_to_open} failed to open, {flood_result.still_open} of "
            f"{count} held to the end, answers {flood_result.statuses}"
        )
    if held < count:
        raise BenchError(f"idle connections: only {held} of {count} were still open after the wrk run")
    return result, held, rss


def body_sizes(stack: Stack, targets: list[Target]) -> dict[str, int]:
    """Each target's body size, asked once; a target that does not answer 200 fails the run."""
    sizes = {}
    for target in targets:
        answer = httpclient.get(stack.base_url(target.server) + target.path)
        if answer.status != 200:
            raise BenchError(f"{target.label}: {target.path} answers {answer.status}: {answer.body[:200]!r}")
        sizes[target.label] = len(answer.body)
    return sizes


def run_rounds(
    stack: Stack, targets: list[Target], settings: Settings, workdir: Path, profiles: Path | None = None
) -> tuple[dict[str, list[Run]], IdleFigures]:
    """Every target once per round, `settings.rounds` rounds; the runs per target label. With
    `profiles`, each target's server is recorded by perf during its first round (see `profile`),
    a summary printed and its flame graph written there."""
    runs: dict[str, list[Run]] = {target.label: [] for target in targets}
    idle = IdleFigures()
    for round_index in range(settings.rounds):
        print(f"\n--- round {round_index + 1} of {settings.rounds}", flush=True)
        for number, target in enumerate(round_order(targets, round_index)):
            url = stack.base_url(target.server)
            name = f"r{round_index + 1}-{number:02d}"

            def measure(target=target, url=url, name=name) -> Run:
                cpu_before = stack.cpu_seconds(target.server)
                result = run_wrk(settings, workdir, url, target, name, stack.pinned)
                return Run(result, stack.cpu_seconds(target.server) - cpu_before)

            if profiles is not None and round_index == 0:
                with profile.Recording(workdir / "perf", target.label, stack.server_pids(target.server)) as recording:
                    run = measure()
                runs[target.label].append(run)
                print(profile.summary(recording, profiles), flush=True)
                continue

            if target.idle_connections:
                run, held, rss = with_idle_connections(settings, target, url, stack.processes[target.server], measure)
                idle.held.append(held)
                idle.rss_kib.append(rss)
            else:
                run = measure()
            runs[target.label].append(run)
            print(
                f"{target.label:<34} {run.wrk.rate:>9.0f} req/s  p50 {run.wrk.p50_ms:6.2f} ms  "
                f"p99 {run.wrk.p99_ms:6.2f} ms  {run.cpu_us_per_request:5.1f} µs CPU/req",
                flush=True,
            )
    return runs, idle
