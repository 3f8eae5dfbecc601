"""Schemathesis's NDJSON event report (`st run --report ndjson`) read into what the suite prints
and decides on: the operations that were sent requests, how many requests were sent, and every
failed check and error.

One line is one event, `{"EventName": {...}}`. The ones read here:
- `Initialize`: the run's seed;
- `PhaseFinished` of the `probing` phase: the probes sent before the tests (one request each);
- `ScenarioFinished`: one scenario of one operation in one phase; its `recorder` holds every
  request sent (`interactions`) and every check's verdict (`checks`);
- `NonFatalError` and `FatalError`: a request that got no answer, or a run that could not go on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    """One failed check, or one error, on one operation."""

    operation: str
    """`GET /service1/current`, or `-` for an error outside any operation."""
    kind: str
    """The check that failed (`status_code_conformance`), or the error's type (`ConnectionError`)."""
    code: str
    """Schemathesis's code (`ST103`), or `error`."""
    message: str

    def __str__(self) -> str:
        first_line = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.operation}: {self.code} {self.kind}: {first_line}"


@dataclass
class Summary:
    seed: str | None = None
    operations: set[str] = field(default_factory=set)
    """The operations that were sent at least one request."""
    interactions: int = 0
    """Requests sent by the tests themselves (every phase, every check)."""
    probes: int = 0
    """Requests sent before the tests to learn what the server accepts."""
    findings: list[Finding] = field(default_factory=list)
    """Each distinct failure or error, in the order found."""
    statuses: dict[int, int] = field(default_factory=dict)
    """How many answers had each status."""

    @property
    def requests(self) -> int:
        """Every request the run sent to the server, the document's own download excepted."""
        return self.interactions + self.probes

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.code != "error"]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.code == "error"]


def read(path: Path) -> Summary:
    return summarize(path.read_text().splitlines())


def summarize(lines: list[str]) -> Summary:
    summary = Summary()
    seen: set[Finding] = set()

    def add(finding: Finding) -> None:
        if finding not in seen:
            seen.add(finding)
            summary.findings.append(finding)

    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        (name, body), = event.items()
        if name == "Initialize":
            summary.seed = str(body.get("seed"))
        elif name == "PhaseFinished" and body["phase"]["name"] == "probing":
            summary.probes += len((body.get("payload") or {}).get("probes", []))
        elif name == "ScenarioFinished":
            read_scenario(body["recorder"], summary, add)
        elif name in ("NonFatalError", "FatalError"):
            value = body.get("value") or {}
            add(Finding(body.get("label") or "-", value.get("type", name), "error", value.get("message", "")))
    return summary


def read_scenario(recorder: dict, summary: Summary, add) -> None:
    interactions = recorder.get("interactions", {})
    if interactions:
        summary.operations.add(recorder["label"])
    summary.interactions += len(interactions)
    for interaction in interactions.values():
        response = interaction.get("response")
        if response is not None:
            status = response["status_code"]
            summary.statuses[status] = summary.statuses.get(status, 0) + 1
    for checks in recorder.get("checks", {}).values():
        for check in checks:
            if check["status"] != "failure":
                continue
            failure = (check.get("failure_info") or {}).get("failure") or {}
            add(
                Finding(
                    failure.get("operation") or recorder["label"],
                    check["name"],
                    failure.get("code") or "?",
                    ": ".join(part for part in (failure.get("title"), failure.get("message")) if part),
                )
            )
