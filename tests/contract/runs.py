"""One Schemathesis run: which document, which of its operations, against which server; the
`st run` command line that does it with every check on; and its outcome, read from the run's
NDJSON report and checked against what the service itself counted."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import prometheus

from . import events

CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"
DIRECT, GATEWAY = "direct", "gateway"
# A request that takes longer fails the run as an error instead of holding it up.
REQUEST_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Run:
    service: str
    state: str
    route: str
    """`DIRECT` (the service's own port) or `GATEWAY` (nginx running gateway/nginx.conf)."""
    document: str
    """The document's URL, or the path of a document file (then `base_url` says where to send)."""
    selection: tuple[str, ...]
    """`st run` filter options choosing the operations."""
    expected_operations: frozenset[str]
    """Every operation the selection must test, e.g. `GET /service1/current`."""
    metrics_url: str | None = None
    """The service's `/metrics`: its own count of the requests it answered during the run."""
    base_url: str | None = None
    variant: str = ""
    """What tells this run from others of the same service, state and route (a tampering)."""

    @property
    def name(self) -> str:
        """A file name for its report and log."""
        words = [self.service, self.state, self.route, self.variant]
        return "-".join(word.replace(" ", "-") for word in words if word)


@dataclass
class Outcome:
    run: Run
    summary: events.Summary
    exit_status: int
    seconds: float
    log: Path
    service_answered: int | None = None
    """Requests the service counted in `http_requests_total` during the run (None: not asked)."""
    problems: list[str] = field(default_factory=list)
    """Everything wrong with the run besides Schemathesis's own findings."""

    @property
    def requests(self) -> int:
        """Every request sent, the document's download included when it came from the server."""
        return self.summary.requests + (1 if self.run.base_url is None else 0)

    @property
    def failed(self) -> bool:
        return bool(self.summary.findings or self.problems or self.exit_status != 0)


def command(run: Run, examples: int, report: Path, seed: int | None = None) -> list[str]:
    """`st run` with every check on, at most `examples` test cases per operation."""
    argv = ["st", "--config-file", str(CONFIG), "--no-color", "run", run.document]
    if run.base_url is not None:
        argv += ["--url", run.base_url]
    argv += [
        *run.selection,
        "--checks", "all",
        "--max-examples", str(examples),
        "--request-timeout", str(REQUEST_TIMEOUT_SECONDS),
        "--report", "ndjson",
        "--report-ndjson-path", str(report),
    ]  # fmt: skip
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv


def execute(run: Run, workdir: Path, examples: int, seed: int | None = None) -> Outcome:
    """Runs Schemathesis (from `workdir`, where it keeps its files) and reads its report."""
    workdir.mkdir(parents=True, exist_ok=True)
    report, log = workdir / f"{run.name}.ndjson", workdir / f"{run.name}.log"
    answered_before = answered(run.metrics_url)
    started = time.monotonic()
    with open(log, "wb") as output:
        status = subprocess.run(
            command(run, examples, report, seed), cwd=workdir, stdout=output, stderr=subprocess.STDOUT
        ).returncode
    seconds = time.monotonic() - started
    summary = events.read(report) if report.exists() else events.Summary()
    outcome = Outcome(run, summary, status, seconds, log)
    if run.metrics_url is not None:
        # Less one: the scrape before the run, counted once it was answered.
        outcome.service_answered = answered(run.metrics_url) - answered_before - 1
    judge(outcome)
    return outcome


def answered(metrics_url: str | None) -> int:
    return 0 if metrics_url is None else int(prometheus.total(metrics_url, "http_requests_total"))


def judge(outcome: Outcome) -> None:
    """What Schemathesis's exit status does not tell: every expected operation was tested, and
    the service counted no more requests than were sent, and directly every test's request (all
    but probes it refuses before routing, e.g. a NUL byte in a header, which its HTTP layer
    answers 400 and never counts; the gateway answers some requests itself). Through the gateway
    a 400 may have cost the service two: on /service1/history the gateway asks api-a again for
    its own 400 problem, the first one's body being lost to the interception (gateway/nginx.conf)."""
    run, summary = outcome.run, outcome.summary
    if not summary.interactions:
        outcome.problems.append(f"no request recorded (exit status {outcome.exit_status}; see {outcome.log})")
    missing = run.expected_operations - summary.operations
    if missing:
        outcome.problems.append(f"operations not tested: {', '.join(sorted(missing))}")
    extra = summary.operations - run.expected_operations
    if extra:
        outcome.problems.append(f"operations tested beyond the selection: {', '.join(sorted(extra))}")
    least = summary.interactions if run.route == DIRECT else 0
    most = outcome.requests + (summary.statuses.get(400, 0) if run.route == GATEWAY else 0)
    if outcome.service_answered is not None and not least <= outcome.service_answered <= most:
        outcome.problems.append(
            f"the service counted {outcome.service_answered} requests, Schemathesis sent "
            f"{outcome.requests} ({summary.interactions} tests)"
        )
    if outcome.exit_status != 0 and not summary.findings and not outcome.problems:
        outcome.problems.append(f"st exited {outcome.exit_status} (a warning?); see {outcome.log}")


def operations(document: dict, path_regex: str = "") -> frozenset[str]:
    """Every operation of an OpenAPI document whose path matches `path_regex` (as
    `--include-path-regex` matches it: anywhere in the path), labelled as Schemathesis labels
    them (`GET /service1/current`)."""
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return frozenset(
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        if re.search(path_regex, path)
        for method in item
        if method in methods
    )


def load(path: Path) -> dict:
    return json.loads(path.read_text())
