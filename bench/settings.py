"""The benchmark's knobs: every one read here, once, from the environment, with its full-run
and smoke-run defaults side by side."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.binaries import REPO_ROOT

# name: (full run, smoke run, meaning)
KNOBS: dict[str, tuple[str, str, str]] = {
    "ROUNDS": ("5", "1", "rounds; each runs every target once, alternating the order"),
    "DURATION": ("10", "1", "seconds of wrk per target per round"),
    "CONNECTIONS": ("64", "64", "wrk's active connections"),
    "THREADS": ("2", "2", "wrk's threads"),
    "IDLE_CONNECTIONS": ("10000", "10000", "idle keep-alive connections held open against api-a"),
    "IDLE_CPU_SECONDS": ("30", "3", "seconds over which idle CPU is read from /proc/PID/stat"),
    "TICK_SECONDS": ("30", "3", "seconds of 100 ms ticks over which the poller's CPU per tick is read"),
    "READY_RUNS": ("7", "3", "starts per binary for the exec-to-ready median"),
    "BINARY_DIR": ("", "", "benchmark the binaries in this directory instead of building them"),
    "RESULTS": ("bench/RESULTS.md", "target/bench/RESULTS.md", "where the report is written"),
}

DURATIONS = ("DURATION", "IDLE_CPU_SECONDS", "TICK_SECONDS")


@dataclass(frozen=True)
class Settings:
    smoke: bool
    rounds: int
    duration: int
    connections: int
    threads: int
    idle_connections: int
    idle_cpu_seconds: float
    tick_seconds: float
    ready_runs: int
    binary_dir: Path | None
    results: Path
    overridden: dict[str, str]
    """The knobs set in the environment, for the exact command in the report."""

    @property
    def command(self) -> str:
        """The command that reproduces this run."""
        assignments = [f"{name}={value}" for name, value in self.overridden.items()]
        return " ".join([*assignments, "bench/run", *(["--smoke"] if self.smoke else [])])


def read(smoke: bool, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ) if environ is None else environ
    overridden = {name: environ[name] for name in KNOBS if environ.get(name, "") != ""}

    def value(name: str) -> str:
        full, short, _ = KNOBS[name]
        return overridden.get(name, short if smoke else full)

    def number(name: str, kind=int, minimum: float = 1):
        """The knob's number; a duration may end in "s" (`DURATION=10s`)."""
        raw = value(name)
        try:
            parsed = kind(raw.removesuffix("s") if name in DURATIONS else raw)
        except ValueError:
            raise SystemExit(f"bench: {name}={raw!r} is not a number") from None
        if parsed < minimum:
            raise SystemExit(f"bench: {name}={raw!r} must be at least {minimum}")
        return parsed

    binary_dir = value("BINARY_DIR")
    results = Path(value("RESULTS"))
    return Settings(
        smoke=smoke,
        rounds=number("ROUNDS"),
        duration=number("DURATION"),
        connections=number("CONNECTIONS"),
        threads=number("THREADS"),
        idle_connections=number("IDLE_CONNECTIONS"),
        idle_cpu_seconds=number("IDLE_CPU_SECONDS", float),
        tick_seconds=number("TICK_SECONDS", float),
        ready_runs=number("READY_RUNS"),
        binary_dir=Path(binary_dir) if binary_dir else None,
        results=results if results.is_absolute() else REPO_ROOT / results,
        overridden=overridden,
    )


def usage() -> str:
    lines = ["Knobs (environment variables; full run / --smoke defaults):"]
    for name, (full, short, meaning) in KNOBS.items():
        lines.append(f"  {name:<17} {full or '-':>16} / {short or '-':<24} {meaning}")
    return "\n".join(lines)
