"""A drill's result row, the checks that decide it, and the table they make."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.binaries import Binaries
from harness.services import Service

COLUMNS = ("drill", "injected", "requests", "failures", "time to recover", "memory before → after", "result")


@dataclass(frozen=True)
class Context:
    """What every drill gets: the binaries, a work directory of its own, and the mode."""

    binaries: Binaries
    seed: Path
    """The example that writes a window of samples into a Redis (`api-a/examples/seed.rs`)."""
    workdir: Path
    long: bool
    """The longer local mode: every combination instead of a covering subset."""
    soak_seconds: int


@dataclass
class Row:
    drill: str
    injected: str = ""
    requests: int = 0
    """Requests sent to the services (by the drill's clients, not the poller's to the exchange)."""
    failures: int = 0
    """Requests that failed as a client sees it: a socket error, a hang or an unexpected status."""
    recovery: str = "-"
    memory: str = "-"
    problems: list[str] = field(default_factory=list)
    """Each broken expectation, in words; the drill passes when there is none."""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems

    def expect(self, condition: bool, problem: str) -> bool:
        """Records `problem` unless `condition` holds; returns `condition`."""
        if not condition:
            self.problems.append(problem)
        return condition

    def cells(self) -> tuple[str, ...]:
        result = "pass" if self.passed else "FAIL"
        return (self.drill, self.injected, str(self.requests), str(self.failures), self.recovery, self.memory, result)


class Memory:
    """Resident memory of some services, before and after."""

    def __init__(self, services: list[Service]):
        self.services = services
        self.before = {s.name: s.process.rss_kib() for s in services}
        self.after: dict[str, int] = {}

    def measure_after(self) -> dict[str, int]:
        self.after = {s.name: s.process.rss_kib() for s in self.services if s.process.running()}
        return self.after

    def text(self) -> str:
        return ", ".join(
            f"{name} {mib(kib)} → {mib(self.after[name]) if name in self.after else '?'}"
            for name, kib in self.before.items()
        ) + " MiB"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table, then each failed drill's problems."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows]
    for row in rows:
        for problem in row.problems:
            lines.append(f"- {row.drill}: {problem}")
    return "\n".join(lines)
