"""Every figure of one run, gathered in one place for the tables and the goals."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from harness.wrk import WrkResult

from .footprint import Image, Size, TickCost
from .targets import Target


@dataclass(frozen=True)
class Run:
    """One wrk run, and the CPU time the processes serving it used meanwhile."""

    wrk: WrkResult
    server_cpu_seconds: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_seconds * 1e6 / self.wrk.requests


@dataclass(frozen=True)
class Load:
    """One target's runs, one per round, and their medians."""

    target: Target
    runs: list[Run]

    @property
    def rate(self) -> float:
        return statistics.median(run.wrk.rate for run in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.wrk.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.wrk.p99_ms for run in self.runs)

    @property
    def cpu_us_per_request(self) -> float:
        return statistics.median(run.cpu_us_per_request for run in self.runs)

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest rate of a round."""
        rates = [run.wrk.rate for run in self.runs]
        return min(rates), max(rates)


@dataclass(frozen=True)
class WindowIdle:
    """One window's pod at rest (no request): CPU in % of one core, memory in KiB."""

    api_cpu_percent: float
    redis_cpu_percent: float
    api_rss_kib: int


@dataclass
class Figures:
    pinned: dict[str, Load] = field(default_factory=dict)
    """By target label: each server on one worker pinned to one core, wrk on the other."""
    load: dict[str, Load] = field(default_factory=dict)
    """By target label."""
    body_bytes: dict[str, int] = field(default_factory=dict)
    """By target label: the size of its answer's body."""
    rss_idle_kib: dict[str, int] = field(default_factory=dict)
    """By binary (api-a, api-b, poller), before any load."""
    rss_loaded_kib: dict[str, int] = field(default_factory=dict)
    """By binary, after the load (the poller: after its ticks)."""
    idle_connections: int = 0
    idle_connections_rss_kib: list[int] = field(default_factory=list)
    """api-a's resident memory at the end of each round with the idle connections open."""
    ready_ms: dict[str, list[float]] = field(default_factory=dict)
    """By binary (and window): exec to the first /readyz 200, one per start."""
    sizes: dict[str, Size] = field(default_factory=dict)
    tick: TickCost | None = None
    images: list[Image] | str = "not measured"
    windows: dict[str, WindowIdle] = field(default_factory=dict)
    """By window key."""
    window_rss_loaded_kib: dict[str, int] = field(default_factory=dict)
    """api-a's resident memory per window key after the load."""

    def rate(self, label: str) -> float | None:
        load = self.load.get(label)
        return load.rate if load else None

    def ratio(self, label: str) -> float | None:
        """The target's median rate over its yardstick's; None if either was not measured."""
        load = self.load.get(label)
        if load is None or load.target.versus is None:
            return None
        versus = self.rate(load.target.versus)
        return load.rate / versus if versus else None

    def p99_ms(self, label: str) -> float | None:
        load = self.load.get(label)
        return load.p99_ms if load else None

    def cpu_ratio(self, label: str) -> float | None:
        """The pinned target's median server CPU per request over its yardstick's (rounds'
        medians); None if either was not measured."""
        load = self.pinned.get(label)
        versus = self.pinned.get(load.target.versus) if load and load.target.versus else None
        return load.cpu_us_per_request / versus.cpu_us_per_request if load and versus else None

    def pinned_p99_ms(self, label: str) -> float | None:
        load = self.pinned.get(label)
        return load.p99_ms if load else None

    def ready_median_ms(self, name: str) -> float | None:
        runs = self.ready_ms.get(name)
        return statistics.median(runs) if runs else None

    def idle_connections_rss_peak_kib(self) -> int | None:
        return max(self.idle_connections_rss_kib, default=None)


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time over wall time, in % of one core."""
    return 100 * cpu_seconds / wall_seconds
