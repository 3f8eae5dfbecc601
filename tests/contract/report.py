"""The tables the suite prints: one row per Schemathesis run with a total, and one per tampered
document; and the details of whatever failed."""

from __future__ import annotations

from pathlib import Path

from .runs import Outcome
from .tampering import Tampering

RUN_COLUMNS = ("service", "state", "path", "operations", "requests", "service answered", "failures", "seconds", "result")
TAMPERING_COLUMNS = (
    "tampered document", "promise api-a does not keep", "check expected to fail", "requests", "failed checks", "result"
)  # fmt: skip


def markdown(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows)]

    def line(cells) -> str:
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)) + " |"

    return "\n".join([line(columns), line("-" * width for width in widths), *(line(row) for row in rows)])


def runs_table(outcomes: list[Outcome]) -> str:
    rows = [
        (
            o.run.service,
            o.run.state,
            o.run.route,
            str(len(o.summary.operations)),
            str(o.requests),
            "-" if o.service_answered is None else str(o.service_answered),
            str(len(o.summary.failures) + len(o.summary.errors)),
            f"{o.seconds:.1f}",
            "FAIL" if o.failed else "pass",
        )
        for o in outcomes
    ]
    total = (
        "total",
        f"{len(outcomes)} runs",
        "",
        str(sum(len(o.summary.operations) for o in outcomes)),
        str(sum(o.requests for o in outcomes)),
        str(sum(o.service_answered or 0 for o in outcomes)),
        str(sum(len(o.summary.findings) for o in outcomes)),
        f"{sum(o.seconds for o in outcomes):.1f}",
        "FAIL" if any(o.failed for o in outcomes) else "pass",
    )
    return markdown(RUN_COLUMNS, [*rows, total])


def caught(tampering: Tampering, outcome: Outcome) -> bool:
    """Whether Schemathesis failed the check the tampering must fail."""
    return tampering.expected_check in failed_checks(outcome)


def failed_checks(outcome: Outcome) -> list[str]:
    return sorted({f.kind for f in outcome.summary.failures})


def tamperings_table(results: list[tuple[Tampering, Outcome]]) -> str:
    rows = [
        (
            t.name,
            t.promise,
            t.expected_check,
            str(o.requests),
            ", ".join(failed_checks(o)) or "none",
            "caught" if caught(t, o) else "NOT CAUGHT",
        )
        for t, o in results
    ]
    return markdown(TAMPERING_COLUMNS, rows)


def details(outcome: Outcome) -> str:
    """What went wrong in a failed run: each finding and problem, and where its log is (with
    the requests and answers Schemathesis printed, and how to replay them)."""
    lines = [f"{outcome.run.service}, {outcome.run.state}, {outcome.run.route} (seed {outcome.summary.seed}):"]
    lines += [f"  - {finding}" for finding in outcome.summary.findings]
    lines += [f"  - {problem}" for problem in outcome.problems]
    lines += [f"    {line}" for line in failures_section(outcome.log)]
    lines.append(f"  log: {outcome.log}")
    return "\n".join(lines)


def failures_section(log: Path, max_lines: int = 80, max_width: int = 300) -> list[str]:
    """What Schemathesis printed before its summary about failures, errors and warnings (each
    request, answer and how to replay it), cut to a readable size."""
    text = log.read_text(errors="replace") if log.exists() else ""
    starts = [text.find(f"= {title} =") for title in ("FAILURES", "ERRORS", "WARNINGS")]
    start = min((index for index in starts if index >= 0), default=-1)
    section = "" if start < 0 else text[start:].partition("= SUMMARY =")[0].partition("\n")[2]
    lines = [line if len(line) <= max_width else line[:max_width] + " [...]" for line in section.splitlines()]
    return lines[:max_lines] + (["[...]"] if len(lines) > max_lines else [])
